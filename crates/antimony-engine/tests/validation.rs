//! A bad topology is refused before anything runs, with a message that says what and where.

use antimony_core::StreamType;
use antimony_engine::testing::{Counter, Double, NUMBERS, Num};
use antimony_engine::{
    BoltSpec, Registry, SpoutSpec, TopologyBuilder, TopologyDecl, TopologyError,
};
use serde::Deserialize;

fn counter() -> SpoutSpec<Num> {
    SpoutSpec::new(NUMBERS, |_| Counter {
        next: 0,
        count: 1,
        batch: 1,
    })
}

fn double() -> BoltSpec<Num> {
    BoltSpec::new(&["number"], Some(NUMBERS), |_| Double)
}

fn built(builder: TopologyBuilder<Num>) -> TopologyError {
    match builder.build() {
        Ok(_) => panic!("the topology should be refused"),
        Err(e) => e,
    }
}

#[test]
fn builder_refuses_dangling_inputs_cycles_kinds_and_fields() {
    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("double", double()).shuffle_grouping("numbrs");
    let e = built(b);
    assert_eq!(e.component.as_deref(), Some("double"));
    assert!(
        e.to_string()
            .contains("reads `numbrs`, which is not a component"),
        "{e}"
    );

    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("a", double())
        .shuffle_grouping("numbers")
        .shuffle_grouping("c");
    b.set_bolt("b", double()).shuffle_grouping("a");
    b.set_bolt("c", double()).shuffle_grouping("b");
    let e = built(b);
    assert!(e.to_string().contains("cycle"), "{e}");
    assert!(e.to_string().contains("a -> b -> c -> a"), "{e}");

    const WORDS: StreamType = StreamType::new("word");
    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("words", BoltSpec::new(&["word"], Some(WORDS), |_| Double))
        .shuffle_grouping("numbers");
    let e = built(b);
    assert!(
        e.to_string()
            .contains("takes word records but its input `numbers` emits number records"),
        "{e}"
    );

    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("double", double())
        .fields_grouping("numbers", &["colour"]);
    let e = built(b);
    assert!(
        e.to_string().contains("no such field (fields: value)"),
        "{e}"
    );

    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_spout("numbers", counter());
    assert!(built(b).to_string().contains("declared twice"));

    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("sink", double().global_only())
        .shuffle_grouping("numbers");
    let e = built(b);
    assert!(
        e.to_string()
            .contains("must read `numbers` with global grouping"),
        "{e}"
    );

    // A keyed bolt needs its key's records together.
    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("count", double().keyed_by(&["value"]))
        .shuffle_grouping("numbers");
    let e = built(b);
    assert!(
        e.to_string().contains(
            "keeps state per value, so it must read `numbers` with grouping = \"fields\""
        ),
        "{e}"
    );
    let mut b = TopologyBuilder::new("t");
    b.set_spout("numbers", counter());
    b.set_bolt("count", double().keyed_by(&["value"]))
        .fields_grouping("numbers", &["value"]);
    assert!(b.build().is_ok());

    let mut b = TopologyBuilder::<Num>::new("t");
    b.set_bolt("double", double()).shuffle_grouping("double");
    assert!(built(b).to_string().contains("no spout"));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterConfig {
    count: u64,
}

fn registry() -> Registry<Num> {
    let mut registry = Registry::new();
    registry.spout("counter", "counts", |options| {
        let config: CounterConfig = options.parse()?;
        Ok(SpoutSpec::new(NUMBERS, move |_| Counter {
            next: 0,
            count: config.count,
            batch: 1,
        }))
    });
    registry.bolt("double", "doubles", |options| {
        let _: toml::Table = options.parse()?;
        Ok(double())
    });
    registry
}

fn refused(text: &str) -> String {
    let path = std::path::Path::new("topo.toml");
    let result = TopologyDecl::parse(text, Some(path)).and_then(|decl| decl.resolve(&registry()));
    match result {
        Ok(_) => panic!("should be refused:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn declared_topologies_name_the_file_line_column_and_component() {
    let good = "[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = 3\n[bolts.d]\ntype = \"double\"\ninputs = [\"n\"]\n";
    let decl = TopologyDecl::parse(good, None).expect("parses");
    let topology = decl.resolve(&registry()).expect("resolves");
    assert_eq!(topology.component_names().collect::<Vec<_>>(), ["n", "d"]);

    let e = refused("[topology]\nname = \"t\"\n[spouts.n]\ntype = \"countr\"\ncount = 3\n");
    assert!(e.starts_with("topo.toml:3: component `n` has unknown spout type `countr` (known spout types: counter)"), "{e}");

    let e = refused("[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncont = 3\n");
    // An option's error points at the option: line and column.
    assert!(
        e.starts_with("topo.toml:5:1: component `n` (counter): unknown field `cont`"),
        "{e}"
    );

    let e =
        refused("[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = \"three\"\n");
    assert!(
        e.starts_with(
            "topo.toml:5:9: component `n` (counter): invalid type: string \"three\", expected u64"
        ),
        "{e}"
    );

    // An option set on the command line is said to be, not given a place in the file.
    let mut decl = TopologyDecl::parse(
        "[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = 3\n",
        Some(std::path::Path::new("topo.toml")),
    )
    .expect("parses");
    assert!(decl.set_option("n", "count", "many"));
    let e = decl
        .resolve(&registry())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("topo.toml:3: component `n` (counter): "),
        "{e}"
    );
    assert!(e.contains("set on the command line"), "{e}");

    let e = refused(
        "[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = 1\n\n[bolts.d]\ntype = \"double\"\ninputs = [\"m\"]\n",
    );
    assert!(
        e.starts_with("topo.toml:7: component `d` reads `m`, which is not a component"),
        "{e}"
    );

    let e = refused(
        "[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = 1\n[bolts.d]\ntype = \"double\"\ninputs = [{ from = \"n\", grouping = \"random\" }]\n",
    );
    assert!(e.contains("unknown grouping `random`"), "{e}");

    let e = refused(
        "[topology]\nname = \"t\"\n[spouts.n]\ntype = \"counter\"\ncount = 1\n[bolts.d]\ntype = \"double\"\n",
    );
    assert!(e.contains("component `d` has no `inputs`"), "{e}");

    let e = refused("[topology]\nname = \"t\"\n[spouts.n\ntype = \"counter\"\n");
    assert!(e.starts_with("topo.toml:3:10: unclosed table"), "{e}");

    let e = refused("[topology]\nname = \"t\"\n[sprouts.n]\ntype = \"counter\"\n");
    assert!(e.contains("unknown field `sprouts`"), "{e}");
}
