//! `dns_parse` driven by hand: a source's decoder outlives any number of other sources.

use std::sync::Arc;

use antimony_components::Tuple;
use antimony_components::parse::{ParseBolt, ParseConfig, SOURCES_EVICTED};
use antimony_core::{Bolt, Context, DeadLetter, Emitter};
use antimony_io::TextChunk;

const ZEEK_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n";

fn zeek_row(n: u32) -> String {
    format!(
        "1700000000.{n:06}\tC{n}\t10.0.0.1\t5353\t10.0.0.53\t53\tudp\t{n}\t-\thost{n}.example.com\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t-\t-\tF\n"
    )
}

fn chunk(source: &str, first_line: u64, text: &str, format: Option<&str>) -> Tuple {
    Tuple::Chunk(TextChunk {
        source: source.to_owned(),
        first_line,
        data: text.as_bytes().to_vec(),
        ordered: format == Some("zeek"),
        format: format.map(Arc::from),
        last: false,
    })
}

/// Feeds one record; returns (events, dead letters).
fn feed(bolt: &mut ParseBolt, mut record: Tuple) -> (usize, Vec<DeadLetter>) {
    let mut out = Vec::new();
    let mut dead = Vec::new();
    bolt.process(&mut record, &mut Emitter::new(&mut out, &mut dead, "parse"));
    (out.len(), dead)
}

/// Live sources come and go by the thousand (a syslog sender each); a Zeek log whose header
/// named its columns at the start keeps its decoder all along, and the idle sources that
/// made room are counted.
#[test]
fn a_busy_stateful_source_keeps_its_decoder_while_idle_ones_are_evicted() {
    let ctx = Context::new("parse", 0, 1);
    let mut bolt = ParseBolt::new(&ParseConfig::default());
    bolt.on_start(&ctx);
    let header = format!("{ZEEK_HEADER}{}", zeek_row(0));
    let (events, dead) = feed(&mut bolt, chunk("zeek.log", 1, &header, Some("zeek")));
    assert_eq!((events, dead.len()), (1, 0));
    let mut line = 10;
    for i in 0..10_000u32 {
        let bind = format!(
            "26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (a{i}.com): query: a{i}.com IN A +E(0)K (127.0.0.1)\n"
        );
        let (events, dead) = feed(&mut bolt, chunk(&format!("syslog {i}"), 1, &bind, None));
        assert_eq!((events, dead.len()), (1, 0), "source {i}");
        if i % 500 == 0 {
            // The Zeek log goes on: its columns are still known.
            let (events, dead) = feed(
                &mut bolt,
                chunk("zeek.log", line, &zeek_row(i), Some("zeek")),
            );
            assert_eq!(dead, [], "row {i}");
            assert_eq!(events, 1, "row {i}");
            line += 1;
        }
    }
    let evicted = ctx.metrics.total(SOURCES_EVICTED.name, &[]);
    assert!(evicted >= 10_000 - 4096, "{evicted} idle sources evicted");
}
