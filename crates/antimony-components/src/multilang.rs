//! The `multilang` bolt and spout as topology files name them: Storm components written in
//! another language, run as supervised subprocesses (see [`antimony_io::multilang`]).

use std::sync::Arc;

use antimony_core::{ConfigError, StreamType};
use antimony_engine::{BoltSpec, Options, SpoutSpec};
use antimony_io::multilang::{MultilangBolt, MultilangConfig, MultilangSpout, VALUES_KIND};

use crate::record::{ALERTS, CHUNKS, DNS_EVENTS, Tuple};

/// What the `multilang` bolt says in `antimony components`.
pub const BOLT_DESCRIPTION: &str = "runs a Storm multilang bolt (storm.py, pyleus, storm.js...) as a supervised subprocess: `command`, `args`, `cwd`, `fields` (output fields, default [\"value\"]), `conf`, `tick_freq_secs`, `heartbeat_timeout_secs` (30), `max_pending` (100), `max_attempts` (3), `max_message_bytes`; reads values, lines of text chunks, DNS events or alerts as JSON";
/// What the `multilang` spout says in `antimony components`.
pub const SPOUT_DESCRIPTION: &str = "runs a Storm multilang spout as a supervised subprocess: `command`, `args`, `cwd`, `fields`, `conf`, `heartbeat_timeout_secs` (30), `max_attempts` (3), `max_message_bytes`; ends when its process exits with status 0 or when the spout emits nothing for `idle_end_secs` if set";

/// The stream a multilang component emits: tuples of values with its declared fields.
///
/// Field names of a stream type are `&'static str` (the engine's topologies are mostly
/// declared in Rust): the few names a topology file declares are leaked once per build of
/// the topology, which is bounded (a run builds it once; `validate` once).
pub fn values_stream(fields: &[&str]) -> StreamType {
    let names: Vec<&'static str> = fields
        .iter()
        .map(|f| &*Box::leak(f.to_string().into_boxed_str()))
        .collect();
    StreamType::with_fields(VALUES_KIND, Box::leak(names.into_boxed_slice()))
}

fn config(options: &Options<'_>) -> Result<MultilangConfig, ConfigError> {
    let config: MultilangConfig = options.parse()?;
    config
        .check()
        .map_err(|(option, e)| options.error(option, e))?;
    config
        .check_files(options.base_dir)
        .map_err(|(option, e)| options.error(option, e))?;
    Ok(config)
}

/// The `multilang` bolt from a topology file's options.
pub fn bolt(options: &Options<'_>) -> Result<BoltSpec<Tuple>, ConfigError> {
    let config = config(options)?;
    let output = values_stream(&config.output_fields());
    let base_dir = options.base_dir.to_path_buf();
    let tick = config
        .tick_freq_secs
        .map(std::time::Duration::from_secs_f64);
    let config = Arc::new(config);
    let spec = BoltSpec::new(
        &[VALUES_KIND, CHUNKS.kind, DNS_EVENTS.kind, ALERTS.kind],
        Some(output),
        move |_| MultilangBolt::<Tuple>::new(Arc::clone(&config), &base_dir),
    );
    Ok(match tick {
        Some(every) => spec.tick_every(every),
        None => spec,
    })
}

/// The `multilang` spout from a topology file's options.
pub fn spout(options: &Options<'_>) -> Result<SpoutSpec<Tuple>, ConfigError> {
    let config = config(options)?;
    let output = values_stream(&config.output_fields());
    let base_dir = options.base_dir.to_path_buf();
    let config = Arc::new(config);
    Ok(SpoutSpec::new(output, move |_| {
        MultilangSpout::<Tuple>::new(Arc::clone(&config), &base_dir)
    }))
}
