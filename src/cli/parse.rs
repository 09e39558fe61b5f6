//! `antimony parse`: the normalised events of files, as JSON lines, like `tshark -T json`.

use std::path::PathBuf;
use std::sync::Arc;

use antimony_components::Tuple;
use antimony_components::parse::ParseConfig;
use antimony_components::parse::config::formats;
use antimony_components::parse::sniff::DnsSniffer;
use antimony_components::record::{CHUNKS, DNS_EVENTS};
use antimony_components::registry::{dns_parse_bolt, json_lines_sink_ordered};
use antimony_engine::{RunConfig, SpoutSpec, TopologyBuilder};
use antimony_io::LineTarget;
use antimony_io::sources::file::{FileConfig, FileSpout};
use antimony_io::sources::sniff::{Sniff, SourceKind};
use anyhow::bail;

use super::ParseArgs;

pub(super) fn parse(args: ParseArgs) -> anyhow::Result<()> {
    if args.list_formats {
        for (name, description) in formats() {
            println!("{name:<14} {description}");
        }
        return Ok(());
    }
    let config = ParseConfig {
        format: args.format.clone().unwrap_or_else(|| "auto".to_owned()),
        ..ParseConfig::default()
    };
    config.check()?;
    let set_aside = parse_files(args.files, config, args.dead_letter.as_ref())?;
    if set_aside > 0 {
        match &args.dead_letter {
            Some(path) => eprintln!(
                "{set_aside} records could not be read; see {}",
                path.display()
            ),
            None => eprintln!(
                "{set_aside} records could not be read; add --dead-letter FILE to see them and why"
            ),
        }
        bail!("{set_aside} records could not be read");
    }
    Ok(())
}

/// Recognises each file as the topologies do, and says on standard error what it took the
/// file for: the format named with `--format`, or the one recognised.
struct Announce {
    named: Option<String>,
}

impl Sniff for Announce {
    fn sniff(&self, source: &str, head: &[u8]) -> SourceKind {
        let kind = DnsSniffer.sniff(source, head);
        match (&self.named, &kind.format) {
            (Some(name), _) => eprintln!("{source}: {name}"),
            (None, Some(format)) => eprintln!("{source}: {format}"),
            (None, None) => eprintln!(
                "{source}: the format was not recognised; name it with --format (see --list-formats)"
            ),
        }
        kind
    }
}

/// Runs `files -> dns_parse -> events on stdout` on one worker (so events keep file order);
/// returns how many records were set aside.
fn parse_files(
    files: Vec<PathBuf>,
    config: ParseConfig,
    dead_letter: Option<&PathBuf>,
) -> anyhow::Result<u64> {
    let named = (config.format != "auto").then(|| config.format.clone());
    let mut builder = TopologyBuilder::new("parse");
    let file_config = FileConfig::new("");
    builder.set_spout(
        "files",
        SpoutSpec::new(CHUNKS, move |_| {
            let announce = Announce {
                named: named.clone(),
            };
            FileSpout::<Tuple>::files(files.clone(), &file_config).sniffer(Arc::new(announce))
        }),
    );
    builder
        .set_bolt("parse", dns_parse_bolt(config)?)
        .local_grouping("files");
    builder
        .set_bolt(
            "events",
            json_lines_sink_ordered("-".into(), DNS_EVENTS.kind, false),
        )
        .global_grouping("parse");
    let topology = builder.build()?;
    let config = RunConfig {
        workers: 1,
        dead_letter: dead_letter
            .map(|p| super::run::dead_letter_output(LineTarget::File(p.clone()))),
        ..RunConfig::default()
    };
    let report = antimony_engine::run(topology, config)?;
    Ok(report.dead_letters())
}
