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
//! the components and validates the graph. Every error names the file, the line and the
//! component.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::Topology;
use crate::error::TopologyError;
use crate::record::Record;
use crate::registry::{Options, Registry};
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
    /// Its options.
    pub options: toml::Table,
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
    /// Spouts then bolts, each group in name order.
    pub components: Vec<ComponentDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDecl {
    topology: Header,
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
            let line = e.span().map(|span| line_of(text, span.start));
            locate(TopologyError::topology(e.message().trim().to_owned()), line)
        })?;
        let mut components = Vec::new();
        for (role, table) in [(Role::Spout, &file.spouts), (Role::Bolt, &file.bolts)] {
            for (name, spanned) in table {
                let line = Some(line_of(text, spanned.span().start));
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
            components,
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

    /// Sets an option of a component (a command-line override such as `--input`).
    pub fn set_option(&mut self, component: &str, key: &str, value: toml::Value) -> bool {
        match self.components.iter_mut().find(|c| c.name == component) {
            Some(c) => {
                c.options.insert(key.to_owned(), value);
                true
            }
            None => false,
        }
    }

    /// Builds every component through `registry` and validates the graph.
    pub fn resolve<R: Record>(&self, registry: &Registry<R>) -> Result<Topology<R>, TopologyError> {
        let base_dir = self.base_dir();
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
            let options = Options {
                component: &component.name,
                table: &component.options,
                base_dir: &base_dir,
            };
            let fail = |message: String| locate(TopologyError::at(&component.name, message));
            match component.role {
                Role::Spout => {
                    let spec = registry
                        .build_spout(&component.type_name, &options)
                        .ok_or_else(|| {
                            let known: Vec<&str> = registry.spout_types().map(|(n, _)| n).collect();
                            fail(format!(
                                "has unknown spout type `{}` (known spout types: {})",
                                component.type_name,
                                known.join(", ")
                            ))
                        })?
                        .map_err(|m| fail(format!("({}): {m}", component.type_name)))?;
                    builder.set_spout(&component.name, spec);
                }
                Role::Bolt => {
                    let spec = registry
                        .build_bolt(&component.type_name, &options)
                        .ok_or_else(|| {
                            let known: Vec<&str> = registry.bolt_types().map(|(n, _)| n).collect();
                            fail(format!(
                                "has unknown bolt type `{}` (known bolt types: {})",
                                component.type_name,
                                known.join(", ")
                            ))
                        })?
                        .map_err(|m| fail(format!("({}): {m}", component.type_name)))?;
                    let mut declarer = builder.set_bolt(&component.name, spec);
                    for input in &component.inputs {
                        declarer = declarer.grouping(&input.from, input.grouping.clone());
                    }
                }
            }
        }
        builder.build().map_err(locate)
    }
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
        options,
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

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
