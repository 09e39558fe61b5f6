//! `antimony parse`: the normalised events of files, as JSON lines, like `tshark -T json`.

use std::io::Read;
use std::path::Path;

use antimony_dns::Format;
use antimony_dns::formats::detect_format;
use antimony_engine::{RunConfig, SpoutSpec, TopologyBuilder};
use antimony_io::LineTarget;
use antimony_io::sources::file::{FileConfig, FileSpout};
use anyhow::{Context as _, bail};

use super::ParseArgs;
use crate::components::dns_parse::ParseConfig;
use crate::components::{dns_parse_bolt, json_lines_sink_ordered};
use crate::record::{CHUNKS, DNS_EVENTS, Tuple};

/// Lines looked at to name a text file's format.
const SAMPLE_LINES: usize = 64;

pub(super) fn parse(args: ParseArgs) -> anyhow::Result<()> {
    let args = &args;
    if args.list_formats {
        for format in Format::all() {
            println!("{:<14} {}", format.name(), format.description());
        }
        for format in crate::components::dns_parse::binary_formats() {
            println!("{:<14} {}", format.0, format.1);
        }
        return Ok(());
    }
    if let Some(name) = &args.format {
        ParseConfig {
            format: name.clone(),
            ..ParseConfig::default()
        }
        .check()?;
    }
    for file in &args.files {
        let format = match &args.format {
            Some(name) => name.clone(),
            None => recognise(file)?,
        };
        eprintln!("{}: {format}", file.display());
    }
    // With no --format, each file's decoder is chosen from its own content, as printed.
    let format = args.format.clone().unwrap_or_else(|| "auto".to_owned());
    let set_aside = parse_files(args, &format)?;
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

/// Names the format of a file from its first bytes.
fn recognise(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        return Ok("auto".to_owned());
    }
    let mut head = Vec::with_capacity(16 * 1024);
    std::fs::File::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(16 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(name) = crate::components::dns_parse::detect_binary(&head) {
        return Ok(name.to_owned());
    }
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').take(SAMPLE_LINES).collect();
    match detect_format(&lines) {
        Some(format) => Ok(format.name().to_owned()),
        None => bail!(
            "{}: the format was not recognised; name it with --format (see --list-formats)",
            path.display()
        ),
    }
}

/// Runs `files -> dns_parse -> events on stdout` on one worker (so events keep file order);
/// returns how many records were set aside.
fn parse_files(args: &ParseArgs, format: &str) -> anyhow::Result<u64> {
    let mut builder = TopologyBuilder::new("parse");
    let config = FileConfig::new("");
    let files = args.files.clone();
    builder.set_spout(
        "files",
        SpoutSpec::new(CHUNKS, move |_| {
            FileSpout::<Tuple>::files(files.clone(), &config)
                .ordered_if(crate::components::stateful_text_rule())
        }),
    );
    let parse = dns_parse_bolt(ParseConfig {
        format: format.to_owned(),
        ..ParseConfig::default()
    })?;
    builder.set_bolt("parse", parse).local_grouping("files");
    builder
        .set_bolt(
            "events",
            json_lines_sink_ordered("-".into(), DNS_EVENTS.kind, false),
        )
        .global_grouping("parse");
    let topology = builder.build()?;
    let config = RunConfig {
        workers: 1,
        dead_letter: args
            .dead_letter
            .as_ref()
            .map(|p| super::run::dead_letter_output(LineTarget::File(p.clone()))),
        ..RunConfig::default()
    };
    let report = antimony_engine::run(topology, config)?;
    Ok(report.dead_letters())
}
