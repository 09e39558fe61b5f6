//! The component types a declared topology may name, in one place.
//!
//! Each entry maps a `type = "..."` name to a function that reads the component's options and
//! returns its spec. The built-in components are registered in one explicit function, so
//! the names a user writes in TOML map to code in one place.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use antimony_core::{ConfigError, Record};
use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::DeTable;

use crate::topology::{BoltSpec, SpoutSpec};

type BuildSpout<R> = Box<dyn Fn(&Options<'_>) -> Result<SpoutSpec<R>, ConfigError> + Send + Sync>;
type BuildBolt<R> = Box<dyn Fn(&Options<'_>) -> Result<BoltSpec<R>, ConfigError> + Send + Sync>;

struct Entry<B> {
    description: &'static str,
    build: B,
}

/// Component types by name.
pub struct Registry<R> {
    spouts: BTreeMap<&'static str, Entry<BuildSpout<R>>>,
    bolts: BTreeMap<&'static str, Entry<BuildBolt<R>>>,
}

impl<R: Record> Default for Registry<R> {
    fn default() -> Self {
        Registry {
            spouts: BTreeMap::new(),
            bolts: BTreeMap::new(),
        }
    }
}

/// A component's options as written: its TOML table minus `type` and `inputs`, with the
/// span of every key and value in the topology file, so an error points at the option.
pub type OptionTable<'a> = Spanned<DeTable<'a>>;

/// The options of one declared component.
pub struct Options<'a> {
    /// The component's name in the topology.
    pub component: &'a str,
    /// The options as written, with their spans.
    pub table: &'a OptionTable<'a>,
    /// The directory relative paths are resolved against (the topology file's).
    pub base_dir: &'a Path,
}

impl Options<'_> {
    /// Deserialises the options into a config type (use `#[serde(deny_unknown_fields)]` so a
    /// misspelt option is an error, not silently ignored). The error is located at the
    /// option at fault.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        T::deserialize(self.table.clone().into_deserializer()).map_err(|e| ConfigError {
            message: e.message().trim().to_owned(),
            option: None,
            span: e.span(),
        })
    }

    /// Where the value of option `key` is written, if it is.
    pub fn span_of(&self, key: &str) -> Option<Range<usize>> {
        self.table
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v.span())
    }

    /// An error about option `key`, located at its value.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::option(key, message).at(self.span_of(key))
    }

    /// Resolves a path relative to the topology file's directory; absolute paths and `-`
    /// (standard input or output) are kept as they are.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        resolve_path(self.base_dir, path)
    }
}

/// An option table parsed from TOML text on its own (spans into `text`): for building a
/// component from options outside a topology file, and for tests.
pub fn option_table(text: &str) -> Result<OptionTable<'_>, ConfigError> {
    DeTable::parse(text).map_err(|e| ConfigError {
        message: e.message().trim().to_owned(),
        option: None,
        span: e.span(),
    })
}

/// Resolves `path` against `base_dir` unless it is absolute or `-`.
pub fn resolve_path(base_dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if path == "-" || p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

impl<R: Record> Registry<R> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a spout type.
    pub fn spout<F>(&mut self, type_name: &'static str, description: &'static str, build: F)
    where
        F: Fn(&Options<'_>) -> Result<SpoutSpec<R>, ConfigError> + Send + Sync + 'static,
    {
        self.spouts.insert(
            type_name,
            Entry {
                description,
                build: Box::new(build),
            },
        );
    }

    /// Registers a bolt type.
    pub fn bolt<F>(&mut self, type_name: &'static str, description: &'static str, build: F)
    where
        F: Fn(&Options<'_>) -> Result<BoltSpec<R>, ConfigError> + Send + Sync + 'static,
    {
        self.bolts.insert(
            type_name,
            Entry {
                description,
                build: Box::new(build),
            },
        );
    }

    pub(crate) fn build_spout(
        &self,
        type_name: &str,
        options: &Options<'_>,
    ) -> Option<Result<SpoutSpec<R>, ConfigError>> {
        let entry = self.spouts.get(type_name)?;
        Some((entry.build)(options).map(|spec| spec.type_name(type_name)))
    }

    pub(crate) fn build_bolt(
        &self,
        type_name: &str,
        options: &Options<'_>,
    ) -> Option<Result<BoltSpec<R>, ConfigError>> {
        let entry = self.bolts.get(type_name)?;
        Some((entry.build)(options).map(|spec| spec.type_name(type_name)))
    }

    /// Spout types with their descriptions.
    pub fn spout_types(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.spouts.iter().map(|(name, e)| (*name, e.description))
    }

    /// Bolt types with their descriptions.
    pub fn bolt_types(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.bolts.iter().map(|(name, e)| (*name, e.description))
    }
}
