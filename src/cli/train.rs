//! `antimony train dga`: retrains the shipped DGA model from the data, reproducibly.

use std::path::Path;

use antimony_lab::dga::{evaluate, train_shipped};
use antimony_lab::report::DgaData;
use anyhow::Context as _;

use super::{TrainArgs, TrainModel};

pub(super) fn train(args: TrainArgs) -> anyhow::Result<()> {
    match args.model {
        TrainModel::Dga => train_dga(&args.data, &args.out),
    }
}

fn train_dga(data: &Path, out: &Path) -> anyhow::Result<()> {
    let texts = DgaData::read(data)?;
    let benign = texts.benign();
    eprintln!("training the DGA model on {} ...", data.display());
    let model = train_shipped(&benign, &texts.dga);
    let text = model.to_text();
    if out == Path::new("-") {
        print!("{text}");
    } else {
        std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {} ({} bytes)", out.display(), text.len());
    }
    for t in [50, 70, 85, 90] {
        let e = evaluate(&model, t, benign.test.iter().copied(), std::iter::empty());
        eprintln!(
            "score {t:>3}: false-positive rate {:.5} on {} long-tail names never trained or \
             calibrated on",
            e.false_positive_rate(),
            benign.test.len()
        );
    }
    eprintln!(
        "the detector fires at {} (benign FPR 1e-3 on the long tail's calibration half)",
        model.threshold
    );
    Ok(())
}
