//! Flux topologies (Storm's YAML): shell spouts and bolts (`FluxShellSpout`,
//! `FluxShellBolt`, whose first constructor argument is the command line and second the
//! output fields) and their streams. Java components have no equivalent: each is left out
//! with a note, with the streams that touch it.

use serde_norway::Value;

use super::{Component, Draft, Imported, Input, grouping, list, quote};

pub(super) fn import(yaml: &Value) -> Result<Imported, String> {
    let mut draft = Draft {
        name: text(yaml.get("name")).unwrap_or_else(|| "imported".to_owned()),
        ..Draft::default()
    };
    if let Some(config) = yaml.get("config").and_then(Value::as_mapping) {
        for (k, v) in config {
            let k = text(Some(k)).unwrap_or_default();
            match k.as_str() {
                "topology.workers" => draft.workers = v.as_u64(),
                _ => draft.notes.push(format!("config {k}: not carried over")),
            }
        }
    }
    for (list_key, spout) in [("spouts", true), ("bolts", false)] {
        for spec in yaml
            .get(list_key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let id = text(spec.get("id")).ok_or("a component without an `id`")?;
            let class = text(spec.get("className")).unwrap_or_default();
            if !(class.ends_with("ShellSpout") || class.ends_with("ShellBolt")) {
                draft.notes.push(format!(
                    "{id}: the Java class {class} has no Antimony equivalent: left out, with its streams"
                ));
                continue;
            }
            let args = spec.get("constructorArgs").and_then(Value::as_sequence);
            let strings = |i: usize| -> Vec<String> {
                args.and_then(|a| a.get(i))
                    .and_then(Value::as_sequence)
                    .map(|s| s.iter().filter_map(|v| text(Some(v))).collect())
                    .unwrap_or_default()
            };
            let command = strings(0);
            let Some((program, rest)) = command.split_first() else {
                return Err(format!(
                    "{id}: its first constructor argument must be the command line"
                ));
            };
            let mut component = Component {
                name: id.clone(),
                type_name: "multilang".to_owned(),
                ..Component::default()
            };
            component.option("command", quote(program));
            component.option("args", list(rest));
            let fields = strings(1);
            if !fields.is_empty() {
                component.option("fields", list(&fields));
            }
            if let Some(n) = spec.get("parallelism").and_then(Value::as_u64) {
                draft.notes.push(format!(
                    "{id}: parallelism {n}: Antimony runs one instance per worker"
                ));
            }
            if spec.get("configMethods").is_some() {
                draft
                    .notes
                    .push(format!("{id}: configMethods not carried over"));
            }
            if spout {
                draft.spouts.push(component);
            } else {
                draft.bolts.push(component);
            }
        }
    }
    for stream in yaml
        .get("streams")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let from = text(stream.get("from")).ok_or("a stream without `from`")?;
        let to = text(stream.get("to")).ok_or("a stream without `to`")?;
        let group = stream.get("grouping");
        let kind = text(group.and_then(|g| g.get("type"))).unwrap_or_else(|| "SHUFFLE".to_owned());
        let known = |name: &str| {
            draft
                .spouts
                .iter()
                .chain(&draft.bolts)
                .any(|c| c.name == name)
        };
        if !known(&from) || !known(&to) {
            draft.notes.push(format!(
                "stream {from} -> {to}: left out with its component"
            ));
            continue;
        }
        let Some(antimony) = grouping(&kind) else {
            return Err(format!(
                "stream {from} -> {to}: grouping {kind} has no equivalent"
            ));
        };
        let fields = group
            .and_then(|g| g.get("args"))
            .and_then(Value::as_sequence)
            .map(|f| f.iter().filter_map(|v| text(Some(v))).collect())
            .unwrap_or_default();
        if let Some(bolt) = draft.bolts.iter_mut().find(|b| b.name == to) {
            bolt.inputs.push(Input {
                from,
                grouping: antimony,
                fields,
            });
        }
    }
    let mut unread = Vec::new();
    draft.bolts.retain(|b| {
        let read = !b.inputs.is_empty();
        if !read {
            unread.push(format!(
                "{}: reads nothing once Java components are left out: left out too",
                b.name
            ));
        }
        read
    });
    draft.notes.extend(unread);
    Ok(draft.write("a Flux topology"))
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
