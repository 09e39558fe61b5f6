//! `antimony import` on pyleus and Flux YAML: groupings, options and notes, and the result
//! read back as a topology.

use std::path::Path;

use antimony_components::import::import;
use antimony_engine::TopologyDecl;

fn check(yaml: &str, expected: &[&str], notes: &[&str]) -> String {
    let imported = import(yaml, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    for text in expected {
        assert!(
            imported.toml.contains(text),
            "{text} in:\n{}",
            imported.toml
        );
    }
    for note in notes {
        assert!(
            imported.notes.iter().any(|n| n.contains(note)),
            "a note on {note}: {:?}",
            imported.notes
        );
    }
    // The result is a topology file of the right shape.
    TopologyDecl::parse(&imported.toml, None).unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    imported.toml
}

#[test]
fn pyleus_groupings_map_one_to_one() {
    let yaml = r#"
name: groupings
max_shellbolt_pending: 7
topology:
  - spout: {name: src, module: pkg.src, output_fields: [a, b]}
  - bolt: {name: s, module: pkg.b, groupings: [{shuffle_grouping: src}]}
  - bolt: {name: l, module: pkg.b, groupings: [{local_or_shuffle_grouping: src}]}
  - bolt: {name: n, module: pkg.b, groupings: [{none_grouping: {component: src}}]}
  - bolt: {name: g, module: pkg.b, groupings: [{global_grouping: src}]}
  - bolt: {name: al, module: pkg.b, groupings: [{all_grouping: src}]}
  - bolt:
      name: f
      module: pkg.b
      tick_freq_secs: 3
      options: {path: out.txt}
      groupings: [{fields_grouping: {component: src, fields: [a], stream: other}}]
"#;
    check(
        yaml,
        &[
            "[bolts.s]\ntype = \"multilang\"\ninputs = [{ from = \"src\", grouping = \"shuffle\" }]",
            "[bolts.l]\ntype = \"multilang\"\ninputs = [{ from = \"src\", grouping = \"local\" }]",
            "[bolts.n]\ntype = \"multilang\"\ninputs = [{ from = \"src\", grouping = \"shuffle\" }]",
            "grouping = \"global\"",
            "grouping = \"all\"",
            "grouping = \"fields\", fields = [\"a\"]",
            "fields = [\"a\", \"b\"]",
            "tick_freq_secs = 3",
            "max_pending = 7",
            "args = [\"-m\", \"pkg.b\", \"--options\", '{\"path\":\"out.txt\"}']",
        ],
        &["reads stream `other`", "no OUTPUT_FIELDS found in pkg.b"],
    );
}

#[test]
fn pyleus_errors_say_what_is_wrong() {
    for (yaml, expected) in [
        ("topology: []", "name"),
        (
            "name: x\nserializer: msgpack\ntopology: []",
            "serializer: json",
        ),
        (
            "name: x\ntopology:\n  - bolt: {name: b, module: m}",
            "needs `groupings`",
        ),
        (
            "name: x\ntopology:\n  - bolt: {name: b, module: m, groupings: [{direct_grouping: a}]}",
            "unknown grouping",
        ),
        ("[1, 2", "not YAML"),
    ] {
        let error = import(yaml, Path::new(".")).err().unwrap_or_default();
        assert!(error.contains(expected), "{yaml}: {error}");
    }
}

#[test]
fn flux_shell_components_and_streams_are_imported_and_java_ones_noted() {
    // Storm's own flux-core test topology (shell_test.yaml), trimmed.
    let yaml = r#"
name: "shell-topology"
config:
  topology.workers: 1
spouts:
  - id: "sentence-spout"
    className: "org.apache.storm.flux.wrappers.spouts.FluxShellSpout"
    constructorArgs:
      - ["node", "randomsentence.js"]
      - ["word"]
    parallelism: 1
bolts:
  - id: "splitsentence"
    className: "org.apache.storm.flux.wrappers.bolts.FluxShellBolt"
    constructorArgs:
      - ["python3", "splitsentence.py"]
      - ["word"]
    parallelism: 1
  - id: "count"
    className: "org.apache.storm.testing.TestWordCounter"
    parallelism: 1
streams:
  - name: "spout --> split"
    from: "sentence-spout"
    to: "splitsentence"
    grouping:
      type: SHUFFLE
  - name: "split --> count"
    from: "splitsentence"
    to: "count"
    grouping:
      type: FIELDS
      args: ["word"]
"#;
    let toml = check(
        yaml,
        &[
            "name = \"shell-topology\"\nworkers = 1",
            "[spouts.sentence-spout]\ntype = \"multilang\"\ncommand = \"node\"\nargs = [\"randomsentence.js\"]\nfields = [\"word\"]",
            "[bolts.splitsentence]\ntype = \"multilang\"\ninputs = [{ from = \"sentence-spout\", grouping = \"shuffle\" }]\ncommand = \"python3\"",
        ],
        &[
            "TestWordCounter has no Antimony equivalent",
            "split",
            "parallelism 1",
        ],
    );
    assert!(!toml.contains("[bolts.count]"), "{toml}");
}
