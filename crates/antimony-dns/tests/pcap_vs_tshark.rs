//! Our pcap decoder against tshark, on every capture in `../shared/data/pcaps` and the
//! pcapng file in `tests/fixtures/pcapng` (six of those captures merged by mergecap, one
//! interface per link type).
//!
//! The fixtures in `tests/fixtures/tshark/DIR/NAME.tsv` were made by
//! `tests/fixtures/tshark/regenerate.sh` (TShark 4.0.17) with, for each capture:
//!
//! ```text
//! tshark -r FILE \
//!     -d tcp.port==8053,dns -d udp.port==8053,dns \
//!     -d tcp.port==5300-5304,dns -d udp.port==5300-5304,dns \
//!     -Y 'dns || mdns' \
//!     -T fields -e frame.number -e dns.id -e dns.flags.response -e dns.flags.rcode \
//!     -e dns.count.queries -e dns.qry.name -e dns.qry.type -E separator=/t
//! ```
//!
//! Each DNS message tshark shows becomes (frame number, first query name, its type, rcode
//! of a response, is-response), and so does each event we decode, with the number of the
//! packet it came from. The two lists must be equal, except for the differences listed per
//! file in [`KNOWN_DIFFERENCES`], each with its reason; a difference that is not listed, or
//! a listed one that no longer happens, fails the test.
//!
//! Comparison rules: names compare in lower case (we normalise names, tshark prints them as
//! sent), with tshark's `<Root>` as the empty name and bytes outside printable ASCII as
//! `\DDD` on both sides; the rcode compared is the 4-bit header rcode (tshark's
//! `dns.flags.rcode`; our events add the EDNS extended bits), and only for responses
//! (tshark prints none for queries); of several questions in a message only the first
//! counts (an event holds one).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use antimony_dns::DecodeOptions;
use antimony_dns::stream::BinaryFormat;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/pcaps");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tshark");

/// One DNS message as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Msg {
    frame: u64,
    qname: String,
    qtype: u16,
    rcode: Option<u16>,
    response: bool,
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame {} {} {:?} type {} rcode {:?}",
            self.frame,
            if self.response { "response" } else { "query" },
            self.qname,
            self.qtype,
            self.rcode
        )
    }
}

/// A difference we accept, with why. `tshark_only` and `ours_only` count the messages
/// each side has that the other lacks; `errors` lists the packets where we must report an
/// error (every other capture must decode without one).
struct Known {
    file: &'static str,
    tshark_only: usize,
    ours_only: usize,
    errors: &'static [u64],
    why: &'static str,
}

const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        file: "tcpdump/dns-badlabel",
        tshark_only: 1,
        ours_only: 0,
        errors: &[1],
        why: "a fuzzed response counting 64,259 questions in 63,165 bytes: tshark shows \
              `<Name too long>`, we refuse the impossible count before reading names",
    },
    Known {
        file: "tcpdump/dns_fwdptr",
        tshark_only: 1,
        ours_only: 0,
        errors: &[1],
        why: "the same fuzzed response with a forward compression pointer: tshark shows \
              `<Name too long>`, we refuse it",
    },
    Known {
        file: "zeek/dns__dns-invalid-names",
        tshark_only: 3,
        ours_only: 0,
        errors: &[1, 2, 3],
        why: "queries whose header counts a question the message does not hold (packets 1 \
              and 3) or whose name is a pointer to itself (packet 2): tshark shows the \
              header with no name, we refuse a message without a readable question",
    },
    Known {
        file: "zeek/ipv6-fragmented-dns",
        tshark_only: 0,
        ours_only: 0,
        errors: &[4],
        why: "packet 4 is the first fragment of a datagram whose other fragments are not in \
              the capture: tshark shows nothing for it either, we report it at the end",
    },
];

/// Escapes what is not printable ASCII as `\DDD`, like our presentation form.
fn escape(name: &str) -> String {
    let mut out = String::new();
    for &b in name.as_bytes() {
        if b.is_ascii_graphic() {
            out.push(char::from(b).to_ascii_lowercase());
        } else {
            out.push_str(&format!("\\{b:03}"));
        }
    }
    out
}

/// The messages of one fixture line, or why they cannot be told apart.
fn parse_line(line: &str) -> Result<Vec<Msg>, String> {
    let cols: Vec<&str> = line.split('\t').collect();
    let [frame, ids, responses, rcodes, counts, names, types] = cols[..] else {
        return Err(format!("{} columns", cols.len()));
    };
    let frame: u64 = frame.parse().map_err(|_| "frame number".to_owned())?;
    let list = |s: &str| -> Vec<String> {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split(',').map(str::to_owned).collect()
        }
    };
    let n = list(ids).len();
    let responses = list(responses);
    let rcodes = list(rcodes);
    let mut counts: Vec<usize> = list(counts)
        .iter()
        .map(|c| {
            c.parse()
                .map_err(|_| format!("frame {frame}: question count {c:?}"))
        })
        .collect::<Result<_, _>>()?;
    if n == 1 && counts.is_empty() {
        // UPDATE messages: tshark counts zones (dns.count.zones), not questions.
        counts.push(names.len());
    }
    let names = list(names);
    let types = list(types);
    if responses.len() != n || counts.len() != n {
        return Err(format!(
            "frame {frame}: {n} ids but {} flags",
            responses.len()
        ));
    }
    let mut total: usize = counts.iter().sum();
    if n == 1 && names.len() == types.len() && names.len() < total {
        // A malformed message: tshark shows the questions it could read.
        counts[0] = names.len();
        total = names.len();
    }
    if names.len() != total || types.len() != total {
        return Err(format!(
            "frame {frame}: {total} questions counted, {} names and {} types shown",
            names.len(),
            types.len()
        ));
    }
    let mut msgs = Vec::new();
    let (mut q, mut r) = (0, 0);
    for i in 0..n {
        let response = responses[i] == "1" || responses[i] == "True";
        let rcode = if response {
            r += 1;
            rcodes.get(r - 1).and_then(|c| c.parse().ok())
        } else {
            None
        };
        let (qname, qtype) = if counts[i] > 0 {
            let name = if names[q] == "<Root>" { "" } else { &names[q] };
            let qtype = types[q]
                .parse()
                .map_err(|_| format!("frame {frame}: type {:?}", types[q]))?;
            (escape(name), qtype)
        } else {
            (String::new(), 0)
        };
        q += counts[i];
        msgs.push(Msg {
            frame,
            qname,
            qtype,
            rcode,
            response,
        });
    }
    Ok(msgs)
}

/// The messages of a fixture. A missing fixture is an error, not an empty list: a capture
/// without one would otherwise pass whenever we decode nothing from it.
fn tshark(fixture: &Path) -> Vec<Msg> {
    let text = std::fs::read_to_string(fixture).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (make it with tests/fixtures/tshark/regenerate.sh)",
            fixture.display()
        )
    });
    let mut msgs = Vec::new();
    for line in text.lines() {
        match parse_line(line) {
            Ok(m) => msgs.extend(m),
            Err(e) => panic!("{}: cannot read fixture line: {e}", fixture.display()),
        }
    }
    msgs
}

fn ours(pcap: &[u8]) -> (Vec<Msg>, Vec<(u64, String)>) {
    let mut decoder = BinaryFormat::Pcap.decoder(&DecodeOptions::default());
    let mut out = Vec::new();
    decoder.push_numbered(pcap, &mut out);
    decoder.finish_numbered(&mut out);
    let mut msgs = Vec::new();
    let mut errors = Vec::new();
    for (frame, item) in out {
        match item {
            Err(e) => errors.push((frame, e.to_string())),
            Ok(e) => msgs.push(Msg {
                frame,
                qname: e.qname.clone(),
                qtype: e.qtype,
                rcode: if e.is_response() {
                    e.rcode.map(|r| r & 0xf)
                } else {
                    None
                },
                response: e.is_response(),
            }),
        }
    }
    (msgs, errors)
}

/// Multiset difference `a - b`.
fn minus(a: &[Msg], b: &[Msg]) -> Vec<Msg> {
    let mut counts: BTreeMap<&Msg, usize> = BTreeMap::new();
    for m in b {
        *counts.entry(m).or_default() += 1;
    }
    a.iter()
        .filter(|m| match counts.get_mut(m) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

#[test]
fn every_pcap_matches_tshark() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut seen_known = Vec::new();
    let mut fixtures_used = Vec::new();
    let pcapng = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pcapng");
    let dirs = [
        (format!("{DATA}/tcpdump"), "tcpdump", "pcap"),
        (format!("{DATA}/zeek"), "zeek", "pcap"),
        (format!("{DATA}/lab"), "lab", "pcap"),
        (pcapng.to_owned(), "pcapng", "pcapng"),
    ];
    for (path, dir, ext) in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        files.sort();
        for path in files {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let file = format!("{dir}/{stem}");
            let fixture = Path::new(FIXTURES).join(format!("{file}.tsv"));
            let expected = tshark(&fixture);
            fixtures_used.push(fixture);
            let bytes = std::fs::read(&path).expect("read pcap");
            let (got, errors) = ours(&bytes);
            let tshark_only = minus(&expected, &got);
            let ours_only = minus(&got, &expected);
            compared += expected.len();
            let known = KNOWN_DIFFERENCES.iter().find(|k| k.file == file);
            if let Some(k) = known {
                seen_known.push(k.file);
            }
            let (allowed_t, allowed_o) = known.map_or((0, 0), |k| (k.tshark_only, k.ours_only));
            let error_packets: Vec<u64> = errors.iter().map(|(n, _)| *n).collect();
            let expected_errors = known.map_or(&[][..], |k| k.errors);
            if tshark_only.len() != allowed_t
                || ours_only.len() != allowed_o
                || error_packets != expected_errors
            {
                let mut report = format!(
                    "{file}: {} messages from tshark, {} from us; expected {allowed_t} only in \
                     tshark and {allowed_o} only in ours\n",
                    expected.len(),
                    got.len()
                );
                for m in tshark_only.iter().take(5) {
                    report.push_str(&format!("  tshark only: {m}\n"));
                }
                for m in ours_only.iter().take(5) {
                    report.push_str(&format!("  ours only:   {m}\n"));
                }
                for (_, e) in errors.iter().take(5) {
                    report.push_str(&format!("  our error:   {e}\n"));
                }
                failures.push(report);
            }
        }
    }
    for k in KNOWN_DIFFERENCES {
        assert!(
            seen_known.contains(&k.file),
            "{}: no such capture ({})",
            k.file,
            k.why
        );
    }
    // Every fixture has its capture: a capture that went missing is not silently skipped.
    let unused: Vec<_> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .flat_map(|dir| std::fs::read_dir(dir).expect("fixture directory"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv") && !fixtures_used.contains(p))
        .collect();
    assert!(
        unused.is_empty(),
        "fixtures without their capture: {unused:?}"
    );
    assert!(compared > 6000, "only {compared} messages compared");
    assert!(failures.is_empty(), "{}", failures.concat());
}
