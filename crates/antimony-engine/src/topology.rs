//! The topology model: a named DAG of spouts and bolts joined by grouped streams, built in Rust
//! with [`TopologyBuilder`] or declared in TOML (see [`crate::declare`]), and validated before
//! anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use antimony_core::{Bolt, Context, Record, Spout, StreamType};

use crate::error::TopologyError;

/// How a stream's records are spread over the instances of the consuming bolt
/// (Storm and Heron's groupings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// Round-robin over all instances: even load. Records that declare an affinity
    /// ([`Record::affinity`]) go to one instance per affinity key, in order.
    Shuffle,
    /// Records with equal values of these fields go to the same instance (keyed state).
    Fields(Vec<String>),
    /// Every instance gets every record.
    All,
    /// Every record goes to one instance (worker 0): for sinks and global aggregates.
    Global,
    /// Records stay on the worker that produced them (Storm's local-or-shuffle): no exchange,
    /// the cheapest grouping for stateless steps.
    Local,
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grouping::Shuffle => f.write_str("shuffle"),
            Grouping::Fields(fields) => write!(f, "fields({})", fields.join(", ")),
            Grouping::All => f.write_str("all"),
            Grouping::Global => f.write_str("global"),
            Grouping::Local => f.write_str("local"),
        }
    }
}

/// Builds one instance of a bolt on a worker.
pub type BoltFactory<R> = Arc<dyn Fn(&Context) -> Box<dyn Bolt<R>> + Send + Sync>;
/// Builds one instance of a spout on a worker.
pub type SpoutFactory<R> = Arc<dyn Fn(&Context) -> Box<dyn Spout<R>> + Send + Sync>;

/// A spout ready to be placed in a topology: how to build it and what it emits.
pub struct SpoutSpec<R> {
    pub(crate) factory: SpoutFactory<R>,
    pub(crate) output: StreamType,
    pub(crate) parallelism: Parallelism,
    pub(crate) type_name: String,
}

/// On how many workers a spout runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallelism {
    /// One instance, on worker 0 (a file, a socket).
    One,
    /// One instance per worker; each reads its own share (see [`Context::worker`]).
    All,
}

impl<R: Record> SpoutSpec<R> {
    /// A spout emitting records of `output`, built on each worker that runs it by `factory`.
    pub fn new<S, F>(output: StreamType, factory: F) -> Self
    where
        S: Spout<R>,
        F: Fn(&Context) -> S + Send + Sync + 'static,
    {
        SpoutSpec {
            factory: Arc::new(move |ctx| Box::new(factory(ctx)) as Box<dyn Spout<R>>),
            output,
            parallelism: Parallelism::One,
            type_name: std::any::type_name::<S>().to_owned(),
        }
    }

    /// Runs one instance per worker instead of one in all.
    pub fn parallel(mut self) -> Self {
        self.parallelism = Parallelism::All;
        self
    }

    /// Names the component type, for messages and statistics.
    pub fn type_name(mut self, name: impl Into<String>) -> Self {
        self.type_name = name.into();
        self
    }
}

/// A bolt ready to be placed in a topology: how to build it, what it accepts and emits.
pub struct BoltSpec<R> {
    pub(crate) factory: BoltFactory<R>,
    pub(crate) accepts: Vec<&'static str>,
    pub(crate) output: Option<StreamType>,
    pub(crate) type_name: String,
    pub(crate) global_only: bool,
    pub(crate) keyed_by: Option<Vec<&'static str>>,
    pub(crate) streaming: bool,
    pub(crate) tick: Option<std::time::Duration>,
}

impl<R: Record> BoltSpec<R> {
    /// A bolt taking records of the kinds in `accepts` and emitting records of `output` (`None`
    /// for a sink), built on every worker by `factory`.
    pub fn new<B, F>(accepts: &[&'static str], output: Option<StreamType>, factory: F) -> Self
    where
        B: Bolt<R>,
        F: Fn(&Context) -> B + Send + Sync + 'static,
    {
        BoltSpec {
            factory: Arc::new(move |ctx| Box::new(factory(ctx)) as Box<dyn Bolt<R>>),
            accepts: accepts.to_vec(),
            output,
            type_name: std::any::type_name::<B>().to_owned(),
            global_only: false,
            keyed_by: None,
            streaming: false,
            tick: None,
        }
    }

    /// Calls the bolt's [`Bolt::on_tick`] every `every`, input or not (Storm's
    /// `topology.tick.tuple.freq.secs`).
    pub fn tick_every(mut self, every: std::time::Duration) -> Self {
        self.tick = Some(every);
        self
    }

    /// Declares that the bolt keeps state per key of these fields, so every record of a key
    /// must reach the same instance: each input must use a fields grouping on some of these
    /// fields (grouping by fewer is coarser, and still correct), or global grouping.
    pub fn keyed_by(mut self, fields: &[&'static str]) -> Self {
        self.keyed_by = Some(fields.to_vec());
        self
    }

    /// Requires every input to use global grouping: for a sink that writes one file or
    /// holds one global aggregate, which must not run as several instances.
    pub fn global_only(mut self) -> Self {
        self.global_only = true;
        self
    }

    /// Lets the bolt see records as they arrive, epochs interleaved, instead of each epoch
    /// whole and in order (the default; see [`Bolt`]). For a bolt whose output
    /// for a record depends on that record alone (a parser, a stateless detector): it starts
    /// work before its input epoch completes, which shortens latency. A bolt that buffers
    /// until `on_epoch_end` must not stream.
    pub fn streaming(mut self) -> Self {
        self.streaming = true;
        self
    }

    /// Names the component type, for messages and statistics.
    pub fn type_name(mut self, name: impl Into<String>) -> Self {
        self.type_name = name.into();
        self
    }
}

/// One input of a bolt: the component it reads and the grouping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The upstream component's name.
    pub from: String,
    /// How records are spread over this bolt's instances.
    pub grouping: Grouping,
}

pub(crate) enum Node<R> {
    Spout(SpoutSpec<R>),
    Bolt(BoltSpec<R>, Vec<Input>),
}

/// A component of a validated topology.
pub(crate) struct Component<R> {
    pub(crate) name: String,
    pub(crate) node: Node<R>,
}

impl<R> Component<R> {
    pub(crate) fn output(&self) -> Option<StreamType> {
        match &self.node {
            Node::Spout(spec) => Some(spec.output),
            Node::Bolt(spec, _) => spec.output,
        }
    }

    pub(crate) fn type_name(&self) -> &str {
        match &self.node {
            Node::Spout(spec) => &spec.type_name,
            Node::Bolt(spec, _) => &spec.type_name,
        }
    }
}

/// A validated topology: every input exists, kinds match, fields exist, and there is no cycle.
/// Components are kept in an order where each comes after its inputs.
pub struct Topology<R> {
    pub(crate) name: String,
    pub(crate) components: Vec<Component<R>>,
}

impl<R: Record> Topology<R> {
    /// The topology's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The components' names, each after its inputs.
    pub fn component_names(&self) -> impl Iterator<Item = &str> {
        self.components.iter().map(|c| c.name.as_str())
    }

    /// The logical plan, as data: each component with its type, role, inputs and groupings,
    /// the kind of records it emits, and where its instances run.
    pub fn plan(&self) -> Plan {
        Plan {
            name: self.name.clone(),
            components: self
                .components
                .iter()
                .map(|c| match &c.node {
                    Node::Spout(spec) => PlannedComponent {
                        name: c.name.clone(),
                        type_name: spec.type_name.clone(),
                        role: "spout",
                        inputs: Vec::new(),
                        emits: Some(spec.output.kind),
                        instances: match spec.parallelism {
                            Parallelism::One => "one",
                            Parallelism::All => "every worker",
                        },
                    },
                    Node::Bolt(spec, inputs) => PlannedComponent {
                        name: c.name.clone(),
                        type_name: spec.type_name.clone(),
                        role: "bolt",
                        inputs: inputs
                            .iter()
                            .map(|i| PlannedInput {
                                from: i.from.clone(),
                                grouping: i.grouping.to_string(),
                            })
                            .collect(),
                        emits: spec.output.map(|o| o.kind),
                        instances: match (
                            spec.global_only,
                            inputs.iter().all(|i| i.grouping == Grouping::Global),
                        ) {
                            (true, _) | (false, true) => "one",
                            _ => "every worker",
                        },
                    },
                })
                .collect(),
        }
    }

    /// A human-readable plan: one line per component with its type, inputs and groupings.
    pub fn describe(&self) -> String {
        let mut out = format!("topology {}\n", self.name);
        for component in &self.components {
            match &component.node {
                Node::Spout(spec) => {
                    out.push_str(&format!(
                        "  spout {} ({}) -> {}\n",
                        component.name, spec.type_name, spec.output.kind
                    ));
                }
                Node::Bolt(spec, inputs) => {
                    let inputs: Vec<String> = inputs
                        .iter()
                        .map(|i| format!("{} [{}]", i.from, i.grouping))
                        .collect();
                    let output = spec.output.map_or("nothing", |o| o.kind);
                    out.push_str(&format!(
                        "  bolt {} ({}) <- {} -> {}\n",
                        component.name,
                        spec.type_name,
                        inputs.join(", "),
                        output
                    ));
                }
            }
        }
        out
    }
}

/// A topology's logical plan, as data (for the Topology Master's `/api/topology`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// The topology's name.
    pub name: String,
    /// Its components, each after its inputs.
    pub components: Vec<PlannedComponent>,
}

/// One component of a [`Plan`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlannedComponent {
    /// Its name.
    pub name: String,
    /// Its type (`file`, `dns_parse`...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// `spout` or `bolt`.
    pub role: &'static str,
    /// What it reads, and how each input is grouped.
    pub inputs: Vec<PlannedInput>,
    /// The kind of records it emits (`None` for a sink).
    pub emits: Option<&'static str>,
    /// Where its instances run: `one` (worker 0) or `every worker`.
    pub instances: &'static str,
}

/// One input of a [`PlannedComponent`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlannedInput {
    /// The upstream component.
    pub from: String,
    /// Its grouping (`shuffle`, `fields(client)`, `global`...).
    pub grouping: String,
}

/// Builds a topology in Rust, in Storm's style:
///
/// ```
/// # use antimony_engine::{TopologyBuilder, Grouping};
/// # fn specs() -> (antimony_engine::SpoutSpec<antimony_engine::testing::Num>,
/// #     antimony_engine::BoltSpec<antimony_engine::testing::Num>) {
/// #     antimony_engine::testing::example_specs() }
/// let (numbers, double) = specs();
/// let mut builder = TopologyBuilder::new("doubling");
/// builder.set_spout("numbers", numbers);
/// builder.set_bolt("double", double).shuffle_grouping("numbers");
/// let topology = builder.build().expect("a valid topology");
/// assert_eq!(topology.component_names().collect::<Vec<_>>(), ["numbers", "double"]);
/// ```
pub struct TopologyBuilder<R> {
    name: String,
    nodes: BTreeMap<String, Node<R>>,
    order: Vec<String>,
    duplicates: Vec<String>,
}

/// Declares the inputs of a bolt just added with [`TopologyBuilder::set_bolt`].
pub struct BoltDeclarer<'a> {
    inputs: &'a mut Vec<Input>,
}

impl BoltDeclarer<'_> {
    /// Reads `from` with the given grouping.
    pub fn grouping(self, from: &str, grouping: Grouping) -> Self {
        self.inputs.push(Input {
            from: from.to_owned(),
            grouping,
        });
        self
    }

    /// Reads `from`, spreading records round-robin.
    pub fn shuffle_grouping(self, from: &str) -> Self {
        self.grouping(from, Grouping::Shuffle)
    }

    /// Reads `from`, sending equal values of `fields` to the same instance.
    pub fn fields_grouping(self, from: &str, fields: &[&str]) -> Self {
        let fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self.grouping(from, Grouping::Fields(fields))
    }

    /// Reads `from` on the worker that produced each record.
    pub fn local_grouping(self, from: &str) -> Self {
        self.grouping(from, Grouping::Local)
    }

    /// Reads every record of `from` on every instance.
    pub fn all_grouping(self, from: &str) -> Self {
        self.grouping(from, Grouping::All)
    }

    /// Reads every record of `from` on one instance.
    pub fn global_grouping(self, from: &str) -> Self {
        self.grouping(from, Grouping::Global)
    }
}

impl<R: Record> TopologyBuilder<R> {
    /// An empty topology called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        TopologyBuilder {
            name: name.into(),
            nodes: BTreeMap::new(),
            order: Vec::new(),
            duplicates: Vec::new(),
        }
    }

    /// Adds a spout.
    pub fn set_spout(&mut self, name: &str, spec: SpoutSpec<R>) {
        self.insert(name, Node::Spout(spec));
    }

    /// Adds a bolt; declare its inputs on the returned value.
    pub fn set_bolt(&mut self, name: &str, spec: BoltSpec<R>) -> BoltDeclarer<'_> {
        self.insert(name, Node::Bolt(spec, Vec::new()));
        match self.nodes.get_mut(name) {
            Some(Node::Bolt(_, inputs)) => BoltDeclarer { inputs },
            // `insert` just put a bolt under this name.
            _ => unreachable!("bolt {name} was just inserted"),
        }
    }

    fn insert(&mut self, name: &str, node: Node<R>) {
        if self.nodes.insert(name.to_owned(), node).is_some() {
            self.duplicates.push(name.to_owned());
        } else {
            self.order.push(name.to_owned());
        }
    }

    /// Validates the topology and returns it, or says what is wrong and where.
    pub fn build(mut self) -> Result<Topology<R>, TopologyError> {
        if let Some(name) = self.duplicates.first() {
            return Err(TopologyError::at(name, "is declared twice"));
        }
        if self.nodes.is_empty() {
            return Err(TopologyError::topology("the topology has no components"));
        }
        if !self.nodes.values().any(|n| matches!(n, Node::Spout(_))) {
            return Err(TopologyError::topology(
                "the topology has no spout, so nothing would ever flow",
            ));
        }
        self.check_inputs()?;
        let sorted = self.topological_order()?;
        let components = sorted
            .into_iter()
            .map(|name| {
                // Cannot fail: `topological_order` returns each key of `self.nodes` once.
                let node = self
                    .nodes
                    .remove(&name)
                    .expect("sorted names come from the map");
                Component { name, node }
            })
            .collect();
        Ok(Topology {
            name: self.name,
            components,
        })
    }

    fn check_inputs(&self) -> Result<(), TopologyError> {
        for name in &self.order {
            let Some(Node::Bolt(spec, inputs)) = self.nodes.get(name) else {
                continue;
            };
            if inputs.is_empty() {
                return Err(TopologyError::at(
                    name,
                    "has no inputs; say which component it reads",
                ));
            }
            for input in inputs {
                let upstream = self.nodes.get(&input.from).ok_or_else(|| {
                    let known: Vec<&str> = self.order.iter().map(String::as_str).collect();
                    TopologyError::at(
                        name,
                        format!(
                            "reads `{}`, which is not a component of this topology (components: {})",
                            input.from,
                            known.join(", ")
                        ),
                    )
                })?;
                let output = match upstream {
                    Node::Spout(spec) => Some(spec.output),
                    Node::Bolt(spec, _) => spec.output,
                };
                let Some(output) = output else {
                    return Err(TopologyError::at(
                        name,
                        format!("reads `{}`, which is a sink and emits nothing", input.from),
                    ));
                };
                if !spec.accepts.contains(&output.kind) {
                    return Err(TopologyError::at(
                        name,
                        format!(
                            "takes {} records but its input `{}` emits {} records",
                            spec.accepts.join(" or "),
                            input.from,
                            output.kind
                        ),
                    ));
                }
                if spec.global_only && input.grouping != Grouping::Global {
                    return Err(TopologyError::at(
                        name,
                        format!(
                            "must read `{}` with global grouping (it has one instance, on worker 0), not {}",
                            input.from, input.grouping
                        ),
                    ));
                }
                if let Some(key) = &spec.keyed_by {
                    let keeps_keys_together = match &input.grouping {
                        Grouping::Global => true,
                        Grouping::Fields(fields) => {
                            !fields.is_empty() && fields.iter().all(|f| key.contains(&f.as_str()))
                        }
                        _ => false,
                    };
                    if !keeps_keys_together {
                        let wanted: Vec<String> = key.iter().map(|f| format!("\"{f}\"")).collect();
                        return Err(TopologyError::at(
                            name,
                            format!(
                                "keeps state per {}, so it must read `{}` with grouping = \"fields\", fields = [{}] (or a subset of them), not {}",
                                key.join(" and "),
                                input.from,
                                wanted.join(", "),
                                input.grouping
                            ),
                        ));
                    }
                }
                if let Grouping::Fields(fields) = &input.grouping {
                    if fields.is_empty() {
                        return Err(TopologyError::at(
                            name,
                            format!("groups `{}` by fields but names none", input.from),
                        ));
                    }
                    for field in fields {
                        if output.field_index(field).is_none() {
                            return Err(TopologyError::at(
                                name,
                                format!(
                                    "groups `{}` by field `{field}`, but {} records have no such field (fields: {})",
                                    input.from,
                                    output.kind,
                                    output.fields.join(", ")
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Kahn's algorithm, visiting components in declaration order so the result is stable.
    fn topological_order(&self) -> Result<Vec<String>, TopologyError> {
        let mut placed: BTreeSet<&str> = BTreeSet::new();
        let mut sorted = Vec::with_capacity(self.order.len());
        while sorted.len() < self.order.len() {
            let before = sorted.len();
            for name in &self.order {
                if placed.contains(name.as_str()) {
                    continue;
                }
                let ready = match &self.nodes[name] {
                    Node::Spout(_) => true,
                    Node::Bolt(_, inputs) => {
                        inputs.iter().all(|i| placed.contains(i.from.as_str()))
                    }
                };
                if ready {
                    placed.insert(name);
                    sorted.push(name.clone());
                }
            }
            if sorted.len() == before {
                return Err(self.cycle_error(&placed));
            }
        }
        Ok(sorted)
    }
}

impl<R: Record> TopologyBuilder<R> {
    /// Names one cycle among the components that could not be placed: follow unplaced inputs
    /// from the first unplaced component until a name repeats.
    fn cycle_error(&self, placed: &BTreeSet<&str>) -> TopologyError {
        let Some(start) = self.order.iter().find(|n| !placed.contains(n.as_str())) else {
            return TopologyError::topology("the topology has a cycle");
        };
        let mut path: Vec<&str> = vec![start];
        loop {
            let current = path[path.len() - 1];
            let next = match self.nodes.get(current) {
                Some(Node::Bolt(_, inputs)) => inputs
                    .iter()
                    .map(|i| i.from.as_str())
                    .find(|from| !placed.contains(from)),
                _ => None,
            };
            let Some(next) = next else {
                return TopologyError::at(start, "is part of a cycle; a topology must be a DAG");
            };
            if let Some(pos) = path.iter().position(|n| *n == next) {
                // `path` follows inputs upstream; reversed, it reads in the direction data
                // flows, starting and ending at `next`.
                let mut cycle: Vec<&str> = vec![next];
                cycle.extend(path[pos + 1..].iter().rev());
                cycle.push(next);
                return TopologyError::at(
                    next,
                    format!(
                        "is part of a cycle ({}); a topology must be a DAG",
                        cycle.join(" -> ")
                    ),
                );
            }
            path.push(next);
        }
    }
}

/// Resolves a grouping's field names to indices of the upstream stream type.
pub(crate) fn field_indices(output: &StreamType, fields: &[String]) -> Vec<usize> {
    fields
        .iter()
        .filter_map(|f| output.field_index(f))
        .collect()
}
