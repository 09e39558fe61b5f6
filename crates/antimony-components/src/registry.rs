//! The built-in components a topology file may name, registered in one place, and the same
//! components as specs for topologies built in Rust.

use std::path::PathBuf;
use std::sync::Arc;

use antimony_core::ConfigError;
use antimony_detect::AlertFormat;
use antimony_engine::{BoltSpec, Options, Registry, SpoutSpec};
use antimony_io::sinks::json_lines::{JsonLinesConfig, JsonLinesSink, JsonOnly, LineRender};
use antimony_io::sinks::rotation::RotationPolicy;
use antimony_io::sources::file::{FileConfig, FileSpout};
use antimony_io::sources::frame_streams::{FrameStreamsConfig, FrameStreamsSpout};
use antimony_io::sources::nats::{NatsConfig, NatsSpout};
use antimony_io::sources::syslog::{SyslogConfig, SyslogSpout};

use crate::parse::sniff::DnsSniffer;
use crate::record::{ALERTS, CHUNKS, DNS_EVENTS, Tuple, alert_line_render};
use crate::{dedup, detect, multilang, parse, stateful};

/// Every built-in spout and bolt, by the `type` name topology files use.
pub fn registry() -> Registry<Tuple> {
    let mut registry = Registry::new();
    registry.spout(
        "file",
        "reads files (`path`: a file, a glob, `-` for standard input), text or binary; `follow = true` tails one file",
        |options| {
            let config: FileConfig = options.parse()?;
            config
                .check()
                .map_err(|e| options.error(e.option(), e.to_string()))?;
            // Whether the path names files is the spout's to say when it opens: an input that
            // cannot be read is an input error (exit code 4), not a configuration one.
            let path = options.resolve_path(&config.path);
            Ok(file_spout(path, config))
        },
    );
    registry.spout(
        "syslog",
        "receives syslog messages (`listen`: udp://HOST:PORT or tcp://HOST:PORT)",
        |options| {
            let config: SyslogConfig = options.parse()?;
            let listen = SyslogSpout::<Tuple>::new(&config)
                .map_err(|e| options.error("listen", e.to_string()))?
                .listen()
                .clone();
            Ok(SpoutSpec::new(CHUNKS, move |_| {
                SyslogSpout::<Tuple>::listening(listen.clone(), &config)
            }))
        },
    );
    registry.spout(
        "frame_streams",
        "receives Frame Streams (dnstap) connections (`listen`: unix:///PATH or tcp://HOST:PORT)",
        |options| {
            let mut config: FrameStreamsConfig = options.parse()?;
            config
                .content_type
                .get_or_insert_with(|| antimony_dns::dnstap::CONTENT_TYPE.to_owned());
            let listen = FrameStreamsSpout::<Tuple>::new(&config)
                .map_err(|e| options.error("listen", e.to_string()))?
                .listen()
                .clone();
            Ok(SpoutSpec::new(CHUNKS, move |_| {
                FrameStreamsSpout::<Tuple>::listening(listen.clone(), &config)
            }))
        },
    );
    registry.spout(
        "nats",
        "reads lines from a NATS JetStream `stream` through a durable pull consumer (`durable`); acknowledges what a committed checkpoint holds, so a restart counts each message once",
        |options| {
            let config: NatsConfig = options.parse()?;
            config
                .check()
                .map_err(|(option, e)| options.error(option, e))?;
            Ok(SpoutSpec::new(CHUNKS, move |_| {
                NatsSpout::<Tuple>::new(&config)
            }))
        },
    );
    #[cfg(feature = "kafka")]
    kafka::register(&mut registry);
    registry.spout("multilang", multilang::SPOUT_DESCRIPTION, multilang::spout);
    registry.bolt("multilang", multilang::BOLT_DESCRIPTION, multilang::bolt);
    registry.bolt(
        "values_file",
        "writes the tuples of multilang components as JSON lists, one per line, to `path` (`-` for standard output); rotates like alert_file",
        |options| {
            let config: JsonLinesConfig<JsonOnly> = options.parse()?;
            json_lines_sink(options, &config, antimony_io::multilang::VALUES_KIND, None)
        },
    );
    registry.bolt(
        "dns_parse",
        "decodes DNS logs, captures and dnstap into DNS events (`format`: auto or a format name)",
        |options| {
            let config: parse::ParseConfig = options.parse()?;
            dns_parse_bolt(config).map_err(|e| e.at(options.span_of("format")))
        },
    );
    registry.bolt(
        "dns_detect",
        "runs every stateless detector (lists, keywords, DGA, lookalikes, suspicious suffixes, long names) on each event; lists reload on change",
        |options| {
            let config: detect::DetectBoltConfig = options.parse()?;
            config
                .validate()
                .map_err(|e| e.at(options.span_of("reload_min_ratio")))?;
            let detectors = detect::build(&config, options.base_dir)?;
            Ok(BoltSpec::new(&[DNS_EVENTS.kind], Some(ALERTS), move |_| {
                detect::DetectBolt::new(Arc::clone(&detectors))
            })
            .streaming())
        },
    );
    registry.bolt(
        "dns_stateful",
        "detectors that need evidence over time, per key: tunnel, nxdomain_burst, beacon, new_domain, corroboration",
        |options| {
            let config: stateful::StatefulBoltConfig = options.parse()?;
            let key = config
                .key_fields()
                .map_err(|e| e.at(options.span_of("detectors")))?;
            let base_dir = options.base_dir.to_path_buf();
            Ok(BoltSpec::new(&[DNS_EVENTS.kind], Some(ALERTS), move |_| {
                stateful::StatefulBolt::new(&config, &base_dir)
            })
            .keyed_by(&key))
        },
    );
    registry.bolt(
        "alert_dedup",
        "keeps one alert per (detector, client, domain) per window",
        |options| {
            let config: antimony_detect::config::DedupConfig = options.parse()?;
            Ok(BoltSpec::new(&[ALERTS.kind], Some(ALERTS), move |_| {
                dedup::DedupBolt::new(&config)
            })
            .keyed_by(&["detector", "client", "domain"]))
        },
    );
    registry.bolt(
        "alert_file",
        "writes alerts as JSON lines to `path` (`-` for standard output); `format` = json, ecs or eve (see body formats); rotation: `rotate_bytes` (\"100MB\"), `rotate_secs`, `keep`, `compress` = gzip|zstd|none",
        |options| {
            let config: JsonLinesConfig<AlertFormat> = options.parse()?;
            if !config.format.is_json() {
                return Err(options.error(
                    "format",
                    format!(
                        "`{}` is not a JSON body: a JSON-lines file takes json, ecs or eve (CEF and LEEF go to syslog outputs)",
                        config.format
                    ),
                ));
            }
            let render = alert_line_render(config.format);
            json_lines_sink(options, &config, ALERTS.kind, render)
        },
    );
    crate::store_sink::register(&mut registry);
    crate::outputs::register(&mut registry);
    registry.bolt(
        "dns_file",
        "writes DNS events as JSON lines to `path` (`-` for standard output); rotates like alert_file",
        |options| {
            let config: JsonLinesConfig<JsonOnly> = options.parse()?;
            json_lines_sink(options, &config, DNS_EVENTS.kind, None)
        },
    );
    registry
}

/// The `file` spout for `path`, for topologies built in Rust. Each file's format is
/// recognised once, when it is opened ([`DnsSniffer`]); files in a format whose lines depend
/// on earlier ones (Zeek TSV, Windows details) keep their chunks in order.
pub fn file_spout(path: PathBuf, config: FileConfig) -> SpoutSpec<Tuple> {
    SpoutSpec::new(CHUNKS, move |_| {
        FileSpout::<Tuple>::new(path.clone(), &config).sniffer(Arc::new(DnsSniffer))
    })
}

/// The `file` spout reading `files` one after the other, for topologies built in Rust.
pub fn files_spout(files: Vec<PathBuf>, config: FileConfig) -> SpoutSpec<Tuple> {
    SpoutSpec::new(CHUNKS, move |_| {
        FileSpout::<Tuple>::files(files.clone(), &config).sniffer(Arc::new(DnsSniffer))
    })
}

/// The `dns_parse` bolt, for topologies built in Rust.
pub fn dns_parse_bolt(config: parse::ParseConfig) -> Result<BoltSpec<Tuple>, ConfigError> {
    config.check()?;
    // Streaming: a chunk's events depend on the chunk (and, for an ordered source, on the
    // chunks before it, which the parser orders itself by line number).
    Ok(BoltSpec::new(&[CHUNKS.kind], Some(DNS_EVENTS), move |_| {
        parse::ParseBolt::new(&config)
    })
    .streaming())
}

/// A JSON-lines sink for `kind` records (`alert`, `dns`) at `path` (`-`: standard output),
/// each epoch sorted, for topologies built in Rust.
pub fn json_lines_sink_bolt(path: PathBuf, kind: &'static str) -> BoltSpec<Tuple> {
    json_lines_sink_ordered(path, kind, true)
}

/// A JSON-lines sink that sorts each epoch or keeps arrival order.
pub fn json_lines_sink_ordered(path: PathBuf, kind: &'static str, sort: bool) -> BoltSpec<Tuple> {
    json_lines_sink_with(path, kind, sort, None, RotationPolicy::default())
}

/// A JSON-lines sink writing records with `render` (`None`: their JSON form; see
/// [`alert_line_render`]) and rotating its file as `rotation` says, for topologies built
/// in Rust.
pub fn json_lines_sink_with(
    path: PathBuf,
    kind: &'static str,
    sort: bool,
    render: Option<LineRender<Tuple>>,
    rotation: RotationPolicy,
) -> BoltSpec<Tuple> {
    BoltSpec::new(&[kind], None, move |_| {
        let sink = JsonLinesSink::with_order(path.clone(), sort).rotating(rotation);
        match &render {
            Some(render) => sink.rendering(render.clone()),
            None => sink,
        }
    })
    .global_only()
}

fn json_lines_sink<F>(
    options: &Options<'_>,
    config: &JsonLinesConfig<F>,
    kind: &'static str,
    render: Option<LineRender<Tuple>>,
) -> Result<BoltSpec<Tuple>, ConfigError> {
    config
        .check()
        .map_err(|(option, e)| options.error(option, e))?;
    let path = options.resolve_path(&config.path);
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        return Err(options.error(
            "path",
            format!(
                "cannot write `{}`: directory {} does not exist",
                path.display(),
                dir.display()
            ),
        ));
    }
    Ok(json_lines_sink_with(
        path,
        kind,
        config.sort,
        render,
        config.rotation(),
    ))
}

/// The Kafka spout and sink (the `kafka` feature).
#[cfg(feature = "kafka")]
mod kafka {
    use antimony_engine::{BoltSpec, Registry, SpoutSpec};
    use antimony_io::sinks::kafka::{KafkaSink, KafkaSinkConfig};
    use antimony_io::sources::kafka::{KafkaConfig, KafkaSpout};

    use crate::record::{ALERTS, CHUNKS, Tuple};

    pub(super) fn register(registry: &mut Registry<Tuple>) {
        registry.spout(
            "kafka",
            "reads DNS log lines from a Kafka topic (`brokers`, `topic`, `group`); offsets go to the group at each checkpoint",
            |options| {
                let config: KafkaConfig = options.parse()?;
                config
                    .check()
                    .map_err(|e| options.error(e.option, e.reason))?;
                Ok(SpoutSpec::new(CHUNKS, move |_| {
                    KafkaSpout::<Tuple>::new(&config)
                }))
            },
        );
        registry.bolt(
            "alert_kafka",
            "produces alerts as JSON lines to a Kafka topic (`brokers`, `topic`), keyed by alert id, delivered before each checkpoint",
            |options| {
                let config: KafkaSinkConfig = options.parse()?;
                config
                    .check()
                    .map_err(|e| options.error(e.option, e.reason))?;
                Ok(
                    BoltSpec::new(&[ALERTS.kind], None, move |_| KafkaSink::new(&config))
                        .global_only(),
                )
            },
        );
    }
}
