//! `antimony import`: Storm topologies written for pyleus or Flux, as Antimony TOML.
//!
//! Python and shell components become `multilang` components running the same modules and
//! commands; groupings map one to one (`none` is Storm's shuffle, `local_or_shuffle` our
//! `local`); every option with no equivalent is kept out of the file and said in a note.

mod flux;
mod pyleus;

use std::fmt::Write;
use std::path::Path;

/// An imported topology: the TOML text and a note per option that has no equivalent.
#[derive(Debug)]
pub struct Imported {
    /// The topology file's text.
    pub toml: String,
    /// What was not carried over, or changed meaning, for a person.
    pub notes: Vec<String>,
}

/// Why a YAML file cannot be imported.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ImportError {
    /// The YAML file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Imports a pyleus or Flux YAML file (Flux has `spouts`/`bolts` lists and `streams`;
/// pyleus a `topology` list). Paths in the result are relative to the YAML file's directory:
/// write the TOML file beside it.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let error = |message: String| ImportError {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    import(&text, base_dir).map_err(error)
}

/// Imports YAML text; `base_dir` is where pyleus modules are looked for (their output fields).
pub fn import(yaml: &str, base_dir: &Path) -> Result<Imported, String> {
    let value: serde_norway::Value =
        serde_norway::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
    if value
        .get("topology")
        .is_some_and(serde_norway::Value::is_sequence)
    {
        pyleus::import(&value, base_dir)
    } else if value.get("spouts").is_some() || value.get("streams").is_some() {
        flux::import(&value)
    } else {
        Err("neither a pyleus topology (a `topology` list) nor a Flux one (`spouts`, `bolts`, `streams`)".to_owned())
    }
}

/// A topology being written.
#[derive(Default)]
struct Draft {
    name: String,
    workers: Option<u64>,
    spouts: Vec<Component>,
    bolts: Vec<Component>,
    notes: Vec<String>,
}

#[derive(Default)]
struct Component {
    name: String,
    type_name: String,
    /// Options as `key = value` with the value already TOML.
    options: Vec<(String, String)>,
    inputs: Vec<Input>,
}

struct Input {
    from: String,
    grouping: &'static str,
    fields: Vec<String>,
}

impl Component {
    fn option(&mut self, key: &str, value: String) {
        self.options.push((key.to_owned(), value));
    }
}

/// A TOML string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A TOML list of strings.
fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A table key: bare when TOML allows it.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.to_owned() } else { quote(name) }
}

/// Storm's grouping names (pyleus's `*_grouping` keys, Flux's `type`) as ours.
fn grouping(storm: &str) -> Option<&'static str> {
    Some(
        match storm.to_ascii_lowercase().trim_end_matches("_grouping") {
            "shuffle" => "shuffle",
            // Storm's none grouping is a shuffle.
            "none" => "shuffle",
            // Storm's local-or-shuffle: the local instance when there is one; every Antimony
            // bolt has one on each worker.
            "local_or_shuffle" => "local",
            "fields" => "fields",
            "global" => "global",
            "all" => "all",
            _ => return None,
        },
    )
}

impl Draft {
    fn write(self, source: &str) -> Imported {
        let mut out = format!("# Imported from {source} by `antimony import`.\n");
        for note in &self.notes {
            let _ = writeln!(out, "# note: {note}");
        }
        let _ = writeln!(out, "\n[topology]\nname = {}", quote(&self.name));
        if let Some(workers) = self.workers {
            let _ = writeln!(out, "workers = {workers}");
        }
        for (group, components) in [("spouts", &self.spouts), ("bolts", &self.bolts)] {
            for c in components {
                let _ = writeln!(
                    out,
                    "\n[{group}.{}]\ntype = {}",
                    key(&c.name),
                    quote(&c.type_name)
                );
                if !c.inputs.is_empty() {
                    let inputs: Vec<String> = c
                        .inputs
                        .iter()
                        .map(|i| match i.grouping {
                            "fields" => format!(
                                "{{ from = {}, grouping = \"fields\", fields = {} }}",
                                quote(&i.from),
                                list(&i.fields)
                            ),
                            g => format!("{{ from = {}, grouping = \"{g}\" }}", quote(&i.from)),
                        })
                        .collect();
                    let _ = writeln!(out, "inputs = [{}]", inputs.join(", "));
                }
                for (k, v) in &c.options {
                    let _ = writeln!(out, "{} = {v}", key(k));
                }
            }
        }
        Imported {
            toml: out,
            notes: self.notes,
        }
    }
}
