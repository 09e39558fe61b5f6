//! Hostile input: random bytes and random mutations of real lines never make a decoder panic,
//! and whatever a decoder accepts is a well-formed event.

use antimony_dns::DnsEvent;
use antimony_dns::domain::MAX_NAME_LEN;
use antimony_dns::formats::json_lines::FieldMap;
use antimony_dns::formats::{DateOrder, DecodeOptions, Format, LineDecoder, json_lines};
use antimony_dns::time::{parse_rfc3339, to_rfc3339};
use proptest::prelude::*;

const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/logs/");

/// A few hundred real lines of every format, read once.
fn real_lines() -> &'static [Vec<u8>] {
    static LINES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| {
        let mut lines = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(LOGS)
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for path in names {
            let data = std::fs::read(&path).unwrap_or_default();
            // Every line of the small files, about 100 of each big one.
            let count = data.split(|&b| b == b'\n').count();
            let step = (count / 100).max(1);
            lines.extend(data.split(|&b| b == b'\n').step_by(step).map(<[u8]>::to_vec));
        }
        let mut json = String::new();
        let mut decoder = Format::Bind9.decoder(&DecodeOptions::default());
        for line in lines.clone().iter().take(40) {
            if let Ok(Some(event)) = decoder.decode_line(line) {
                json.clear();
                json_lines::to_json_line(&event, &mut json);
                lines.push(json.clone().into_bytes());
            }
        }
        lines.push(
            br#"{"ts":"2017-08-12T09:35:32.5+02:00","client":"::1","qname":"a.b","qtype":"TXT","rcode":3,"flags":"0x8183","answers":[{"name":"a.b","rtype":"TXT","ttl":5,"data":"\"x\""}],"sensor":"s"}"#
                .to_vec(),
        );
        assert!(lines.len() > 100, "the sample logs are missing from {LOGS}");
        lines
    })
}

/// Every format's decoder, with options that exercise every code path, and a JSON decoder
/// with a field map.
fn decoders() -> Vec<antimony_dns::formats::Decoder> {
    let fields = FieldMap {
        ts: Some("@timestamp".into()),
        client: Some("id.orig_h".into()),
        qname: Some("dns.question.name".into()),
        qtype: Some("dns.rrtype".into()),
        answers: Some("dns.answers".into()),
        ..FieldMap::default()
    };
    let mut all = vec![json_lines::Decoder::with_fields(&DecodeOptions::default(), fields).into()];
    for &format in Format::all() {
        for date_order in [
            DateOrder::Auto,
            DateOrder::Mdy,
            DateOrder::Dmy,
            DateOrder::Ymd,
        ] {
            let options = DecodeOptions {
                date_order,
                utc_offset_minutes: -300,
                sensor: Some("sensor".into()),
                year: Some(2026),
            };
            all.push(format.decoder(&options));
        }
    }
    all
}

/// Decodes `line` with every decoder and checks what they accept.
fn decode_everywhere(line: &[u8]) -> Result<(), TestCaseError> {
    decode_sequence(&[line])
}

/// Decodes `lines` in order with one decoder of each kind (the stateful formats carry
/// state from line to line), then finishes, and checks what they accept.
fn decode_sequence(lines: &[&[u8]]) -> Result<(), TestCaseError> {
    for mut decoder in decoders() {
        for line in lines {
            if let Ok(Some(event)) = decoder.decode_line(line) {
                check_event(&event)?;
            }
        }
        if let Ok(Some(event)) = decoder.finish() {
            check_event(&event)?;
        }
    }
    Ok(())
}

/// An accepted event is normalised and survives a JSON round trip unchanged.
fn check_event(event: &DnsEvent) -> Result<(), TestCaseError> {
    prop_assert!(event.qname.len() <= MAX_NAME_LEN);
    prop_assert!(
        !event
            .qname
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b <= b' ')
    );
    prop_assert!(event.qname.ends_with(event.registered_domain()));
    let mut line = String::new();
    json_lines::to_json_line(event, &mut line);
    let mut decoder = Format::JsonLines.decoder(&DecodeOptions::default());
    let back = decoder.decode_line(line.as_bytes());
    prop_assert_eq!(back.as_ref(), Ok(&Some(event.clone())), "{}", line);
    Ok(())
}

/// One way of damaging a line.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Repeat { at: usize, len: usize, times: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (
            at,
            prop::sample::select(b" ()[]#:.-/\\\"{}0179AaZz\xff\xc3\x00".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (
            at,
            prop::sample::select(vec![
                b"99999999999999999999".to_vec(),
                b"(63)".to_vec(),
                b"(0)".to_vec(),
                b"(255)".to_vec(),
                b"1e999".to_vec(),
                b"-".to_vec(),
                b" PM".to_vec(),
                b"\\u0000".to_vec(),
                "é".as_bytes().to_vec(),
                b"\t".to_vec(),
            ])
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1..20usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (at, 1..40usize, 1..50usize).prop_map(|(at, len, times)| Mutation::Repeat {
            at,
            len,
            times
        }),
    ]
}

fn apply(line: &mut Vec<u8>, mutation: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match mutation {
        Mutation::Flip { at, byte } => {
            if !line.is_empty() {
                let i = at % line.len();
                line[i] = *byte;
            }
        }
        Mutation::Truncate { at } => line.truncate(pos(*at, line.len())),
        Mutation::Insert { at, bytes } => {
            let i = pos(*at, line.len());
            line.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let i = pos(*at, line.len());
            let end = (i + len).min(line.len());
            line.drain(i..end);
        }
        Mutation::Repeat { at, len, times } => {
            let i = pos(*at, line.len());
            let end = (i + len).min(line.len());
            let chunk = line[i..end].to_vec();
            for _ in 0..*times {
                line.splice(i..i, chunk.iter().copied());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..300)) {
        decode_everywhere(&line)?;
    }

    #[test]
    fn random_text_never_panics(line in "[ -~\t]{0,200}") {
        decode_everywhere(line.as_bytes())?;
    }

    #[test]
    fn mutated_real_lines_never_panic(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let lines = real_lines();
        let mut line = lines[index.index(lines.len())].clone();
        for m in &mutations {
            apply(&mut line, m);
        }
        decode_everywhere(&line)?;
    }

}

proptest! {
    // Each case decodes up to 40 lines with every decoder: fewer cases keep the run short.
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Runs of consecutive real lines (headers and multi-line records included), some
    /// damaged, through decoders that keep state from line to line.
    #[test]
    fn mutated_runs_of_real_lines_never_panic(
        start in any::<prop::sample::Index>(),
        len in 1..40usize,
        mutations in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 0..6),
    ) {
        let lines = real_lines();
        let start = start.index(lines.len());
        let mut run: Vec<Vec<u8>> = lines[start..(start + len).min(lines.len())].to_vec();
        for (which, m) in &mutations {
            let i = which.index(run.len());
            apply(&mut run[i], m);
        }
        let run: Vec<&[u8]> = run.iter().map(Vec::as_slice).collect();
        decode_sequence(&run)?;
    }
}

proptest! {
    #[test]
    fn rfc3339_round_trips(ts in -62_135_596_800_000_000i64..253_402_300_800_000_000) {
        prop_assert_eq!(parse_rfc3339(&to_rfc3339(ts)), Ok(ts));
    }
}

#[test]
fn every_real_line_is_accepted_well_formed() {
    for line in real_lines() {
        decode_everywhere(line)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
    }
}

/// How long a line may be is the framer's decision (`max_line_bytes`, taken once where the
/// input is cut into lines); a decoder given a huge line anyway reads it as any other.
#[test]
fn a_huge_line_is_no_record_and_no_panic() {
    let huge = vec![b'1'; 1 << 20];
    for mut decoder in decoders() {
        assert!(
            !matches!(decoder.decode_line(&huge), Ok(Some(_))),
            "a megabyte of digits is no DNS record"
        );
    }
}
