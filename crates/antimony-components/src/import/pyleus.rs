//! pyleus topologies (`pyleus_topology.yaml`): Python modules run as `python -m MODULE
//! --options JSON`, as pyleus runs them.

use std::path::Path;

use serde_norway::Value;

use super::{Component, Draft, Imported, Input, grouping, list, quote};

/// Topology options with no equivalent, and why.
const UNMAPPED: &[(&str, &str)] = &[
    (
        "ackers",
        "Antimony tracks records by epochs and checkpoints, not ackers",
    ),
    (
        "message_timeout_secs",
        "no tuple timeout: a multilang process that hangs is restarted after `heartbeat_timeout_secs`",
    ),
    (
        "logging_config",
        "components' log commands and standard error go to Antimony's log (ANTIMONY_LOG)",
    ),
    (
        "requirements_filename",
        "install the requirements into the Python that `command` names",
    ),
    (
        "sleep_spout_wait_strategy_time_ms",
        "an idle spout is polled again by the engine",
    ),
];

pub(super) fn import(yaml: &Value, base_dir: &Path) -> Result<Imported, String> {
    let mut draft = Draft {
        name: text(yaml.get("name")).ok_or("a pyleus topology needs a `name`")?,
        ..Draft::default()
    };
    draft.workers = yaml.get("workers").and_then(Value::as_u64);
    if draft.workers.is_some() {
        draft.notes.push(
            "workers: Storm's worker processes became Antimony worker threads (`workers`); every bolt runs once per worker".to_owned(),
        );
    }
    for (option, why) in UNMAPPED {
        if yaml.get(*option).is_some() {
            draft
                .notes
                .push(format!("{option}: not carried over: {why}"));
        }
    }
    if let Some(serializer) = text(yaml.get("serializer"))
        && serializer != "json"
    {
        return Err(format!(
            "serializer `{serializer}`: Antimony speaks the JSON multilang protocol; set `serializer: json`"
        ));
    }
    let python = text(yaml.get("python_interpreter")).unwrap_or_else(|| "python3".to_owned());
    let spout_pending = yaml.get("max_spout_pending").and_then(Value::as_u64);
    let bolt_pending = yaml.get("max_shellbolt_pending").and_then(Value::as_u64);
    if let Some(n) = spout_pending {
        draft.notes.push(format!(
            "max_spout_pending {n}: not carried over: the engine bounds what is in flight itself (a spout waits while 32 of its epochs are unfinished)"
        ));
    }
    let items = yaml
        .get("topology")
        .and_then(Value::as_sequence)
        .ok_or("`topology` must be a list")?;
    for item in items {
        let (spec, spout) = match (item.get("spout"), item.get("bolt")) {
            (Some(spec), None) => (spec, true),
            (None, Some(spec)) => (spec, false),
            _ => return Err("each `topology` item is one `spout` or one `bolt`".to_owned()),
        };
        let name = text(spec.get("name")).ok_or("a component without a `name`")?;
        let mut component = Component {
            name: name.clone(),
            type_name: "multilang".to_owned(),
            ..Component::default()
        };
        match text(spec.get("type")).as_deref().unwrap_or("python") {
            "python" => {}
            "kafka" => {
                // pyleus's Kafka spout emits each message as one value, `message`: our
                // Kafka spout's chunks reach a multilang bolt as one tuple per line.
                component.type_name = "kafka".to_owned();
                let options = spec.get("options");
                component.option(
                    "topic",
                    quote(&text(options.and_then(|o| o.get("topic"))).unwrap_or_default()),
                );
                component.option(
                    "group",
                    quote(
                        &text(options.and_then(|o| o.get("consumer_id")))
                            .unwrap_or_else(|| name.clone()),
                    ),
                );
                component.option("brokers", quote("localhost:9092"));
                draft.notes.push(format!(
                    "{name}: pyleus's Kafka spout reads ZooKeeper (`zk_hosts`); set the Kafka `brokers` of the `kafka` spout"
                ));
                draft.spouts.push(component);
                continue;
            }
            other => return Err(format!("{name}: unknown component type `{other}`")),
        }
        let module = text(spec.get("module")).ok_or_else(|| format!("{name}: no `module`"))?;
        let mut args = vec!["-m".to_owned(), module.clone()];
        if let Some(options) = spec.get("options") {
            let json =
                serde_json::to_string(options).map_err(|e| format!("{name}: options: {e}"))?;
            args.extend(["--options".to_owned(), json]);
        }
        component.option("command", quote(&python));
        component.option("args", list(&args));
        let fields = output_fields(spec, &module, base_dir);
        match fields {
            Some(fields) => component.option("fields", list(&fields)),
            None => draft.notes.push(format!(
                "{name}: no OUTPUT_FIELDS found in {module}; its output field is `value`"
            )),
        }
        if let Some(tick) = spec.get("tick_freq_secs").and_then(Value::as_f64) {
            component.option("tick_freq_secs", tick.to_string());
        }
        if let Some(n) = bolt_pending.filter(|_| !spout) {
            // Storm's bound on tuples a shell bolt has not acknowledged: ours exactly.
            component.option("max_pending", n.to_string());
        }
        for hint in ["parallelism_hint", "tasks"] {
            if let Some(n) = spec.get(hint).and_then(Value::as_u64) {
                draft.notes.push(format!(
                    "{name}: {hint} {n}: Antimony runs one instance per worker (`workers`, or --workers)"
                ));
            }
        }
        if spout {
            draft.spouts.push(component);
            continue;
        }
        for group in spec
            .get("groupings")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let Some((kind, target)) = group.as_mapping().and_then(|m| m.iter().next()) else {
                return Err(format!(
                    "{name}: a grouping is one `TYPE_grouping: COMPONENT`"
                ));
            };
            let kind = text(Some(kind)).unwrap_or_default();
            let antimony =
                grouping(&kind).ok_or_else(|| format!("{name}: unknown grouping `{kind}`"))?;
            let from = text(Some(target))
                .or_else(|| text(target.get("component")))
                .ok_or_else(|| format!("{name}: {kind} names no component"))?;
            if let Some(stream) = text(target.get("stream")).filter(|s| s != "default") {
                draft.notes.push(format!(
                    "{name}: reads stream `{stream}` of {from}: Antimony delivers every stream of a component to its readers (the tuple's stream is kept)"
                ));
            }
            let fields = target
                .get("fields")
                .and_then(Value::as_sequence)
                .map(|f| f.iter().filter_map(|v| text(Some(v))).collect())
                .unwrap_or_default();
            component.inputs.push(Input {
                from,
                grouping: antimony,
                fields,
            });
        }
        if component.inputs.is_empty() {
            return Err(format!("{name}: a bolt needs `groupings`"));
        }
        draft.bolts.push(component);
    }
    Ok(draft.write("a pyleus topology"))
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The output fields: the YAML's `output_fields`, else the module's `OUTPUT_FIELDS = [...]`
/// (pyleus asks the module with `--describe`; reading the source needs no Python here).
fn output_fields(spec: &Value, module: &str, base_dir: &Path) -> Option<Vec<String>> {
    if let Some(fields) = spec.get("output_fields").and_then(Value::as_sequence) {
        return Some(fields.iter().filter_map(|v| text(Some(v))).collect());
    }
    let path = base_dir.join(format!("{}.py", module.replace('.', "/")));
    let source = std::fs::read_to_string(path).ok()?;
    let line = source
        .lines()
        .find(|l| l.trim_start().starts_with("OUTPUT_FIELDS"))?;
    let (_, list) = line.split_once('=')?;
    let list = list
        .trim()
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')', ',']);
    let fields: Vec<String> = list
        .split(',')
        .map(|f| f.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    (!fields.is_empty()).then_some(fields)
}
