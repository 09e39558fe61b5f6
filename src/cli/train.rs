//! `antimony train dga`: retrains the shipped DGA model from the data, reproducibly.

use std::path::Path;

use antimony_lab::dga::{evaluate, is_held_out, label_of, train_shipped};
use antimony_lab::report::read_data;
use anyhow::Context as _;

use super::{TrainArgs, TrainModel};

pub(super) fn train(args: TrainArgs) -> anyhow::Result<()> {
    match args.model {
        TrainModel::Dga => train_dga(&args.data, &args.out),
    }
}

fn train_dga(data: &Path, out: &Path) -> anyhow::Result<()> {
    let benign = read_data(data, "benign/benign_top.txt")?;
    let dga = read_data(data, "dga/dga_train.csv")?;
    eprintln!("training the DGA model on {} ...", data.display());
    let model = train_shipped(&benign, &dga);
    let text = model.to_text();
    if out == Path::new("-") {
        print!("{text}");
    } else {
        std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {} ({} bytes)", out.display(), text.len());
    }
    let held = |n: &&str| label_of(n).is_some_and(|l| is_held_out(&l));
    let lines = || antimony_lab::eval::lines(&benign);
    for t in [50, 70, 85, 90] {
        let e = evaluate(&model, t, lines().filter(held), std::iter::empty());
        eprintln!(
            "score {t:>3}: false-positive rate {:.5} on the held-out fifth of benign_top.txt",
            e.false_positive_rate()
        );
    }
    eprintln!(
        "the detector fires at {} (benign FPR 1e-3 on the held-out fifth)",
        model.threshold
    );
    Ok(())
}
