//! Topologies declared in TOML.
//!
//! ```toml
//! [topology]
//! name = "dns-threats"
//!
//! [spouts.logs]
//! type = "file"
//! path = "dns.log"
//!
//! [bolts.parse]
//! type = "dns_parse"
//! inputs = ["logs"]                      # shuffle grouping
//!
//! [bolts.dedup]
//! type = "alert_dedup"
//! inputs = [{ from = "detect", grouping = "fields", fields = ["client", "domain"] }]
//! ```
//!
//! `type` names a component of the [`Registry`]; `inputs` lists what a bolt reads, as a name
//! (shuffle grouping) or a table with `from`, `grouping` (`shuffle`, `fields`, `all`,
//! `global`, `local`) and `fields`. Every other key is an option of the component. Relative
//! paths are resolved against the topology file's directory.
//!
//! Reading is in two steps so the command line can override options before the components are
//! built: [`TopologyDecl::parse`] checks the file's shape, [`TopologyDecl::resolve`] builds
//! the components and validates the graph. Every error names the file, the line (and the
//! column of an option's value) and the component.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use antimony_core::error::line_column;
use antimony_core::{ConfigError, Record};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Topology;
use crate::error::TopologyError;
use crate::registry::{OptionTable, Options, Registry};
use crate::topology::{Grouping, Input, TopologyBuilder};

/// Whether a declared component is a spout or a bolt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A source.
    Spout,
    /// A processing step or sink.
    Bolt,
}

/// One component as declared.
#[derive(Clone, Debug)]
pub struct ComponentDecl {
    /// Its name (the TOML table's key).
    pub name: String,
    /// Spout or bolt.
    pub role: Role,
    /// The registry type it names.
    pub type_name: String,
    /// What it reads (bolts only).
    pub inputs: Vec<Input>,
    /// Options set from outside the file (command-line overrides such as `--input`), by key.
    pub overrides: BTreeMap<String, String>,
    /// The line it is declared on.
    pub line: Option<usize>,
}

/// A topology as declared in a file, before its components are built.
#[derive(Clone, Debug)]
pub struct TopologyDecl {
    /// The file it came from.
    pub path: Option<PathBuf>,
    /// The topology's name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Worker threads, unless the command line says otherwise.
    pub workers: Option<usize>,
    /// Where set-aside records go, unless the command line says otherwise.
    pub dead_letter: Option<String>,
    /// The `[checkpoint]` table, if any.
    pub checkpoint: Option<CheckpointDecl>,
    /// Spouts then bolts, each group in name order.
    pub components: Vec<ComponentDecl>,
    /// The file's text: options are read from it, with their spans, when the components are
    /// built.
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDecl {
    topology: Header,
    #[serde(default)]
    checkpoint: Option<CheckpointDecl>,
    #[serde(default)]
    spouts: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    bolts: BTreeMap<String, Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    description: Option<String>,
    workers: Option<usize>,
    dead_letter: Option<String>,
}

/// The `[checkpoint]` table: where and how often the run checkpoints (see
/// [`CheckpointConfig`](crate::runtime::checkpoint::CheckpointConfig)).
///
/// ```toml
/// [checkpoint]
/// dir = "/var/lib/antimony/dns-threats"   # relative to the topology file
/// interval_secs = 10                      # at least this often
/// keep = 3                                # complete checkpoints kept
/// ```
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointDecl {
    /// The directory (`--checkpoint-dir` overrides it).
    pub dir: Option<String>,
    /// Seconds between checkpoints (default 10).
    pub interval_secs: Option<f64>,
    /// Epochs between checkpoints as well (default: the seconds decide).
    pub interval_epochs: Option<u64>,
    /// Complete checkpoints kept (default 3, at least 2).
    pub keep: Option<usize>,
}

impl CheckpointDecl {
    /// The run's checkpoint settings in `dir`, or why they cannot be used.
    pub fn config(
        &self,
        dir: PathBuf,
    ) -> Result<crate::runtime::checkpoint::CheckpointConfig, TopologyError> {
        let mut config = crate::runtime::checkpoint::CheckpointConfig::new(dir);
        if let Some(secs) = self.interval_secs {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(TopologyError::topology(format!(
                    "[checkpoint] interval_secs must be a positive number of seconds, not {secs}"
                )));
            }
            config.every = Some(std::time::Duration::from_secs_f64(secs));
        }
        if let Some(epochs) = self.interval_epochs {
            if epochs == 0 {
                return Err(TopologyError::topology(
                    "[checkpoint] interval_epochs must be at least 1",
                ));
            }
            config.every_epochs = Some(epochs);
        }
        if let Some(keep) = self.keep {
            if keep < 2 {
                return Err(TopologyError::topology(format!(
                    "[checkpoint] keep must be at least 2 (a checkpoint is replaced only once the next is complete), not {keep}"
                )));
            }
            config.keep = keep;
        }
        Ok(config)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum InputDecl {
    Name(String),
    Table(InputTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputTable {
    from: String,
    #[serde(default)]
    grouping: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

impl TopologyDecl {
    /// Reads and parses a topology file.
    pub fn from_path(path: &Path) -> Result<Self, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            TopologyError::topology(format!("cannot read the topology file: {e}"))
                .in_file(path, None)
        })?;
        Self::parse(&text, Some(path))
    }

    /// Parses a topology from TOML text; `path` is used in messages and to resolve relative paths.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, TopologyError> {
        let locate = |e: TopologyError, line: Option<usize>| match path {
            Some(path) => e.in_file(path, line),
            None => TopologyError { line, ..e },
        };
        let file: FileDecl = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            let error = locate(TopologyError::topology(e.message().trim().to_owned()), line);
            TopologyError { column, ..error }
        })?;
        let mut components = Vec::new();
        for (role, table) in [(Role::Spout, &file.spouts), (Role::Bolt, &file.bolts)] {
            for (name, spanned) in table {
                let line = Some(line_column(text, spanned.span().start).0);
                let component = component_decl(name, role, spanned.get_ref())
                    .map_err(|message| locate(TopologyError::at(name, message), line))?;
                components.push(ComponentDecl { line, ..component });
            }
        }
        Ok(TopologyDecl {
            path: path.map(Path::to_path_buf),
            name: file.topology.name,
            description: file.topology.description,
            workers: file.topology.workers,
            dead_letter: file.topology.dead_letter,
            checkpoint: file.checkpoint,
            components,
            text: text.to_owned(),
        })
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The names of the components of one type.
    pub fn components_of_type(&self, role: Role, type_name: &str) -> Vec<String> {
        self.components
            .iter()
            .filter(|c| c.role == role && c.type_name == type_name)
            .map(|c| c.name.clone())
            .collect()
    }

    /// Sets a text option of a component (a command-line override such as `--input`).
    /// Returns false when there is no such component.
    pub fn set_option(&mut self, component: &str, key: &str, value: &str) -> bool {
        match self.components.iter_mut().find(|c| c.name == component) {
            Some(c) => {
                c.overrides.insert(key.to_owned(), value.to_owned());
                true
            }
            None => false,
        }
    }

    /// A component's options: its table in the file minus `type` and `inputs`, with the
    /// overrides applied.
    fn options_of<'t>(&self, document: &DeTable<'t>, component: &ComponentDecl) -> OptionTable<'t> {
        let group = match component.role {
            Role::Spout => "spouts",
            Role::Bolt => "bolts",
        };
        let declared = get(document, group)
            .and_then(|v| v.get_ref().as_table())
            .and_then(|t| get(t, &component.name));
        let (span, mut table) = match declared {
            Some(value) => match value.get_ref() {
                DeValue::Table(table) => (value.span(), table.clone()),
                _ => (value.span(), DeTable::new()),
            },
            None => (0..0, DeTable::new()),
        };
        let set_here =
            |key: &str| matches!(key, "type" | "inputs") || component.overrides.contains_key(key);
        table = table
            .into_iter()
            .filter(|(key, _)| !set_here(key.get_ref()))
            .collect();
        for (key, value) in &component.overrides {
            table.insert(
                Spanned::new(OVERRIDDEN, Cow::Owned(key.clone())),
                Spanned::new(OVERRIDDEN, DeValue::String(Cow::Owned(value.clone()))),
            );
        }
        Spanned::new(span, table)
    }

    /// A component error, located: the option's line and column when the error has a span
    /// in the file, else the component's line.
    fn locate_config(&self, component: &ComponentDecl, error: ConfigError) -> TopologyError {
        let overridden = error
            .option
            .as_deref()
            .is_some_and(|o| component.overrides.contains_key(o))
            || error.span.as_ref().is_some_and(|s| *s == OVERRIDDEN);
        let message = match (&error.option, overridden) {
            (_, true) => format!(
                "({}): {error} (a value set on the command line)",
                component.type_name
            ),
            _ => format!("({}): {error}", component.type_name),
        };
        let mut located = TopologyError::at(&component.name, message);
        match error
            .span
            .filter(|s| !overridden && s.start < self.text.len())
        {
            Some(span) => {
                let (line, column) = line_column(&self.text, span.start);
                located.line = Some(line);
                located.column = Some(column);
            }
            None => located.line = component.line,
        }
        match &self.path {
            Some(path) => located.in_file(path, None),
            None => located,
        }
    }

    /// Builds every component through `registry` and validates the graph.
    pub fn resolve<R: Record>(&self, registry: &Registry<R>) -> Result<Topology<R>, TopologyError> {
        self.build(registry, false).map_err(|mut errors| {
            errors
                .drain(..)
                .next()
                .unwrap_or_else(|| TopologyError::topology("the topology is invalid"))
        })
    }

    /// Like [`TopologyDecl::resolve`], but goes on after a component that cannot be built,
    /// so that every component's error is said at once (`antimony validate`); the graph is
    /// checked once every component builds.
    pub fn validate<R: Record>(
        &self,
        registry: &Registry<R>,
    ) -> Result<Topology<R>, Vec<TopologyError>> {
        self.build(registry, true)
    }

    fn build<R: Record>(
        &self,
        registry: &Registry<R>,
        keep_going: bool,
    ) -> Result<Topology<R>, Vec<TopologyError>> {
        let base_dir = self.base_dir();
        // Parsed again here, for the spans: `parse` read this same text without error.
        let document = DeTable::parse(&self.text)
            .map_err(|e| vec![TopologyError::topology(e.message().trim().to_owned())])?;
        let mut errors = Vec::new();
        let mut builder = TopologyBuilder::new(self.name.clone());
        let locate = |error: TopologyError| {
            let line = error
                .component
                .as_deref()
                .and_then(|name| self.components.iter().find(|c| c.name == name))
                .and_then(|c| c.line);
            match &self.path {
                Some(path) => error.in_file(path, line),
                None => TopologyError { line, ..error },
            }
        };
        for component in &self.components {
            let table = self.options_of(document.get_ref(), component);
            let options = Options {
                component: &component.name,
                table: &table,
                base_dir: &base_dir,
            };
            let unknown = |role: &str, known: Vec<&str>| {
                locate(TopologyError::at(
                    &component.name,
                    format!(
                        "has unknown {role} type `{}` (known {role} types: {})",
                        component.type_name,
                        known.join(", ")
                    ),
                ))
            };
            let built = match component.role {
                Role::Spout => registry
                    .build_spout(&component.type_name, &options)
                    .ok_or_else(|| {
                        unknown("spout", registry.spout_types().map(|(n, _)| n).collect())
                    })
                    .and_then(|r| r.map_err(|e| self.locate_config(component, e)))
                    .map(|spec| builder.set_spout(&component.name, spec)),
                Role::Bolt => registry
                    .build_bolt(&component.type_name, &options)
                    .ok_or_else(|| unknown("bolt", registry.bolt_types().map(|(n, _)| n).collect()))
                    .and_then(|r| r.map_err(|e| self.locate_config(component, e)))
                    .map(|spec| {
                        let mut declarer = builder.set_bolt(&component.name, spec);
                        for input in &component.inputs {
                            declarer = declarer.grouping(&input.from, input.grouping.clone());
                        }
                    }),
            };
            if let Err(error) = built {
                errors.push(error);
                if !keep_going {
                    return Err(errors);
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        builder.build().map_err(|e| vec![locate(e)])
    }
}

/// The span given to options set from outside the file: none of the file's bytes.
const OVERRIDDEN: std::ops::Range<usize> = usize::MAX..usize::MAX;

fn get<'a, 't>(table: &'a DeTable<'t>, key: &str) -> Option<&'a Spanned<DeValue<'t>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn component_decl(name: &str, role: Role, table: &toml::Table) -> Result<ComponentDecl, String> {
    let mut options = table.clone();
    let type_name = match options.remove("type") {
        Some(toml::Value::String(t)) => t,
        Some(other) => return Err(format!("has `type = {other}`; it must be a string")),
        None => return Err("has no `type`; say which component type it is".to_owned()),
    };
    let inputs = match (role, options.remove("inputs")) {
        (Role::Spout, Some(_)) => return Err("is a spout and cannot have `inputs`".to_owned()),
        (Role::Spout, None) => Vec::new(),
        (Role::Bolt, None) => {
            return Err("has no `inputs`; say which component it reads".to_owned());
        }
        (Role::Bolt, Some(value)) => {
            let decls: Vec<InputDecl> = value.try_into().map_err(|e: toml::de::Error| {
                format!(
                    "has invalid `inputs` ({}); write a list of names or of tables like {{ from = \"parse\", grouping = \"fields\", fields = [\"client\"] }}",
                    e.message().trim()
                )
            })?;
            decls
                .into_iter()
                .map(input_from_decl)
                .collect::<Result<_, _>>()?
        }
    };
    Ok(ComponentDecl {
        name: name.to_owned(),
        role,
        type_name,
        inputs,
        overrides: BTreeMap::new(),
        line: None,
    })
}

fn input_from_decl(decl: InputDecl) -> Result<Input, String> {
    let (from, grouping, fields) = match decl {
        InputDecl::Name(from) => {
            return Ok(Input {
                from,
                grouping: Grouping::Shuffle,
            });
        }
        InputDecl::Table(t) => (t.from, t.grouping, t.fields),
    };
    let grouping = match grouping.as_deref().unwrap_or(if fields.is_empty() {
        "shuffle"
    } else {
        "fields"
    }) {
        "shuffle" => Grouping::Shuffle,
        "fields" | "key" => Grouping::Fields(fields.clone()),
        "all" => Grouping::All,
        "global" => Grouping::Global,
        "local" => Grouping::Local,
        other => {
            return Err(format!(
                "reads `{from}` with unknown grouping `{other}` (groupings: shuffle, fields, all, global, local)"
            ));
        }
    };
    if !fields.is_empty() && !matches!(grouping, Grouping::Fields(_)) {
        return Err(format!(
            "reads `{from}` with `fields`, which only a fields grouping uses"
        ));
    }
    Ok(Input { from, grouping })
}
