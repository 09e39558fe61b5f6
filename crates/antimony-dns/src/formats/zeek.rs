//! Zeek's `dns.log` in its native tab-separated form.
//!
//! ```text
//! #separator \x09
//! #set_separator  ,
//! #empty_field  (empty)
//! #unset_field  -
//! #fields  ts  uid  id.orig_h  id.orig_p  id.resp_h  id.resp_p  proto  trans_id  rtt  query  ...
//! #types  time  string  addr  port  addr  port  enum  count  interval  string  ...
//! 1547188415.857497  CAcJw21BbVedgFnYH3  192.168.86.167  38339  192.168.86.1  53  udp  15209  0.076967  example.com  ...
//! ```
//!
//! (Tabs are shown as two spaces.) The header decides how the data lines read: `#separator` (written escaped, `\x09`),
//! `#set_separator` (between the elements of `answers` and `TTLs`), `#empty_field` and
//! `#unset_field` (the markers of an empty set and an absent value), and `#fields` (the
//! column names). Columns are found by name, so any column order and any extra columns
//! (`opcode`, `rejected`, fields that scripts add) are read; `#types` and other headers are
//! not needed.
//!
//! **This format is stateful**: the decoder keeps the latest header, so a file must be
//! decoded by one decoder, in order, from its start ([`Format::is_stateful`] says so, and
//! the engine routes such a source to one worker). Before any header, the decoder assumes
//! the default `dns.log` columns of Zeek 3 and later and the default separators, which
//! reads a headerless log written with the defaults.
//!
//! Each data line is one DNS transaction as Zeek saw it: a **response** event when it has a
//! response code or answers, else a **query** event. The client is `id.orig_h`, the server
//! `id.resp_h`; the flags are QR (for a response) with `AA`, `TC`, `RD`, `RA` and the
//! response code. Zeek logs answer data without owner names or types: each answer gets the
//! question name, a type guessed from its data (an IPv4 address is A, an IPv6 address
//! AAAA, `TXT 12 text` is TXT, a name is of the question's type when that is a name type
//! such as PTR or NS, else CNAME) and the matching element of `TTLs`. Bytes Zeek escaped
//! (`\x41`) are unescaped in names and answers.
//!
//! A timestamp masked with `X`s, as Zeek's test baselines write it
//! (`XXXXXXXXXX.XXXXXX`), reads as 0 (1970-01-01): the record is still worth reading, and
//! the date makes the mask obvious.
//!
//! [`Format::is_stateful`]: super::Format::is_stateful

use std::sync::Arc;

use super::util::{
    AA, QR, RA, RD, TC, answer, checked_ts, parse_ip, parse_u64, rtype_of_data, set_qname, utf8,
};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::time::{MICROS_PER_SECOND, fraction_micros};
use crate::{Direction, DnsEvent, Transport};

/// The columns of Zeek's default `dns.log` (Zeek 3 and later), used before any header.
const DEFAULT_FIELDS: &[u8] = b"ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t\
    trans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\t\
    RD\tRA\tZ\tanswers\tTTLs\trejected";

/// Columns wider than this are not read as headers: a header line lists a few dozen names.
const MAX_COLUMNS: usize = 256;

/// What a column holds, of the columns this decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Ts,
    Client,
    Server,
    Proto,
    Id,
    Query,
    Qtype,
    QtypeName,
    Rcode,
    RcodeName,
    Aa,
    Tc,
    Rd,
    Ra,
    Answers,
    Ttls,
    Other,
}

fn role(name: &[u8]) -> Role {
    match name {
        b"ts" => Role::Ts,
        b"id.orig_h" => Role::Client,
        b"id.resp_h" => Role::Server,
        b"proto" => Role::Proto,
        b"trans_id" => Role::Id,
        b"query" => Role::Query,
        b"qtype" => Role::Qtype,
        b"qtype_name" => Role::QtypeName,
        b"rcode" => Role::Rcode,
        b"rcode_name" => Role::RcodeName,
        b"AA" => Role::Aa,
        b"TC" => Role::Tc,
        b"RD" => Role::Rd,
        b"RA" => Role::Ra,
        b"answers" => Role::Answers,
        b"TTLs" => Role::Ttls,
        _ => Role::Other,
    }
}

/// Decoder for Zeek's TSV `dns.log`; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    sensor: Option<Arc<str>>,
    separator: u8,
    set_separator: u8,
    empty: Vec<u8>,
    unset: Vec<u8>,
    roles: Vec<Role>,
    /// Reused buffer for unescaped text.
    text: Vec<u8>,
}

impl Decoder {
    /// A decoder that assumes Zeek's default header until it reads one.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            sensor: options.sensor.clone(),
            separator: b'\t',
            set_separator: b',',
            empty: b"(empty)".to_vec(),
            unset: b"-".to_vec(),
            roles: DEFAULT_FIELDS.split(|&b| b == b'\t').map(role).collect(),
            text: Vec::with_capacity(256),
        }
    }

    /// Reads a `#` header line into the decoder's state.
    fn header(&mut self, line: &[u8]) -> Result<(), ParseError> {
        // `#separator` is followed by a space, the others by the separator itself.
        if let Some(value) = line.strip_prefix(b"#separator ") {
            self.separator = single_byte(value).ok_or(ParseError::invalid(
                "#separator",
                "one character, such as \\x09",
            ))?;
            return Ok(());
        }
        let Some(cut) = memchr::memchr(self.separator, line) else {
            return Ok(());
        };
        let (key, value) = (&line[..cut], &line[cut + 1..]);
        match key {
            b"#set_separator" => {
                self.set_separator = single_byte(value).ok_or(ParseError::invalid(
                    "#set_separator",
                    "one character, such as a comma",
                ))?;
            }
            b"#empty_field" => value.clone_into(&mut self.empty),
            b"#unset_field" => value.clone_into(&mut self.unset),
            b"#fields" => {
                let sep = self.separator;
                if value.split(|&b| b == sep).count() > MAX_COLUMNS {
                    return Err(ParseError::invalid("#fields", "at most 256 columns"));
                }
                self.roles.clear();
                self.roles.extend(value.split(|&b| b == sep).map(role));
            }
            _ => {}
        }
        Ok(())
    }

    /// The value of a field, `None` when it holds the unset marker.
    fn value<'a>(&self, field: &'a [u8]) -> Option<&'a [u8]> {
        (field != self.unset.as_slice()).then_some(field)
    }
}

/// A separator written as one character or escaped as `\xHH`.
fn single_byte(value: &[u8]) -> Option<u8> {
    match value {
        [b] => Some(*b),
        [b'\\', b'x', hi, lo] => Some(hex_digit(*hi)? << 4 | hex_digit(*lo)?),
        _ => None,
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `text` with Zeek's `\xHH` escapes undone, borrowed when it has none.
pub(crate) fn unescape<'a>(text: &'a [u8], buffer: &'a mut Vec<u8>) -> &'a [u8] {
    if memchr::memchr(b'\\', text).is_none() {
        return text;
    }
    buffer.clear();
    let mut i = 0;
    while i < text.len() {
        if let [b'\\', b'x', hi, lo, ..] = text[i..]
            && let (Some(hi), Some(lo)) = (hex_digit(hi), hex_digit(lo))
        {
            buffer.push(hi << 4 | lo);
            i += 4;
        } else {
            buffer.push(text[i]);
            i += 1;
        }
    }
    buffer
}

/// Zeek's `time` (`1547188415.857497` seconds) as microseconds; a masked time
/// (`XXXXXXXXXX.XXXXXX`) is 0.
pub(crate) fn epoch_seconds(text: &[u8]) -> Option<i64> {
    if !text.is_empty() && text.iter().all(|&b| b == b'X' || b == b'.') {
        return Some(0);
    }
    let (secs, frac) = match memchr::memchr(b'.', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b""[..]),
    };
    let (negative, secs) = match secs {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, secs),
    };
    let secs = i64::try_from(parse_u64(secs, 12)?).ok()?;
    if frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let micros = secs * MICROS_PER_SECOND + i64::from(fraction_micros(frac));
    Some(if negative { -micros } else { micros })
}

/// A Zeek `interval` (`900.000000`) as whole seconds, for a TTL.
pub(crate) fn interval_seconds(text: &[u8]) -> Option<u32> {
    let whole = match memchr::memchr(b'.', text) {
        Some(i) => &text[..i],
        None => text,
    };
    u32::try_from(parse_u64(whole, 10)?).ok()
}

/// Header flags of a Zeek record.
pub(crate) fn flags(response: bool, rcode: Option<u16>, bits: [bool; 4]) -> u16 {
    let [aa, tc, rd, ra] = bits;
    let mut flags = if response { QR } else { 0 };
    for (set, bit) in [(aa, AA), (tc, TC), (rd, RD), (ra, RA)] {
        if set {
            flags |= bit;
        }
    }
    flags | (rcode.unwrap_or(0) & 0x000f)
}

/// A Zeek `bool` (`T` or `F`).
fn boolean(text: &[u8], field: &'static str) -> Result<bool, ParseError> {
    match text {
        b"T" => Ok(true),
        b"F" => Ok(false),
        _ => Err(ParseError::invalid(field, "T or F")),
    }
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        if line.is_empty() {
            return Ok(None);
        }
        if line[0] == b'#' {
            self.header(line)?;
            return Ok(None);
        }

        let mut ts = None;
        let (mut client, mut server, mut transport, mut id) =
            (None, None, Transport::Unknown, None);
        let (mut query, mut qtype, mut qtype_name) = (None, None, None);
        let (mut rcode, mut rcode_name) = (None, None);
        let mut bits = [false; 4];
        let (mut answers, mut ttls) = (None, None);
        let mut columns = 0;
        for (i, field) in line.split(|&b| b == self.separator).enumerate() {
            columns = i + 1;
            let Some(&role) = self.roles.get(i) else {
                continue;
            };
            let Some(field) = self.value(field) else {
                continue;
            };
            match role {
                Role::Ts => ts = Some(field),
                Role::Client => {
                    client = Some(
                        parse_ip(field).ok_or(ParseError::invalid("id.orig_h", "an IP address"))?,
                    );
                }
                Role::Server => {
                    server = Some(
                        parse_ip(field).ok_or(ParseError::invalid("id.resp_h", "an IP address"))?,
                    );
                }
                Role::Proto => {
                    transport = match field {
                        b"udp" => Transport::Udp,
                        b"tcp" => Transport::Tcp,
                        _ => Transport::Unknown,
                    }
                }
                Role::Id => {
                    id = Some(
                        parse_u64(field, 5)
                            .and_then(|n| u16::try_from(n).ok())
                            .ok_or(ParseError::invalid("trans_id", "a number from 0 to 65535"))?,
                    );
                }
                Role::Query => query = Some(field),
                Role::Qtype => qtype = Some(field),
                Role::QtypeName => qtype_name = Some(field),
                Role::Rcode => rcode = Some(field),
                Role::RcodeName => rcode_name = Some(field),
                Role::Aa => bits[0] = boolean(field, "AA")?,
                Role::Tc => bits[1] = boolean(field, "TC")?,
                Role::Rd => bits[2] = boolean(field, "RD")?,
                Role::Ra => bits[3] = boolean(field, "RA")?,
                Role::Answers => answers = Some(field),
                Role::Ttls => ttls = Some(field),
                Role::Other => {}
            }
        }
        if columns < self.roles.len() {
            return Err(ParseError::missing(
                "line",
                "as many tab-separated columns as the #fields header names",
            ));
        }

        const TS: &str = "seconds since 1970 such as 1547188415.857497";
        let ts = ts.ok_or(ParseError::missing("ts", TS))?;
        let ts = epoch_seconds(ts).ok_or(ParseError::invalid("ts", TS))?;
        let ts = checked_ts(ts, "ts")?;
        let rcode = match (rcode, rcode_name) {
            (Some(code), _) => Some(
                parse_u64(code, 4)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or(ParseError::invalid("rcode", "a response code number"))?,
            ),
            (None, Some(name)) => Some(
                rcode_code(utf8(name, "rcode_name")?)
                    .ok_or(ParseError::invalid("rcode_name", "a response code name"))?,
            ),
            (None, None) => None,
        };
        const QTYPE: &str = "a record type number";
        let qtype = match (qtype, qtype_name) {
            (Some(code), _) => parse_u64(code, 5)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or(ParseError::invalid("qtype", QTYPE))?,
            // `*` is how Zeek names ANY.
            (None, Some(name)) => rtype_code(utf8(name, "qtype_name")?)
                .ok_or(ParseError::invalid("qtype_name", QTYPE))?,
            (None, None) => 0,
        };
        let answers = answers.filter(|a| *a != self.empty.as_slice());
        let response = rcode.is_some() || answers.is_some();

        let mut event = DnsEvent {
            ts,
            client,
            server,
            transport,
            direction: if response {
                Direction::Response
            } else {
                Direction::Query
            },
            id,
            qtype,
            rcode,
            flags: flags(response, rcode, bits),
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        // Zeek leaves the query unset for messages without a question: the root name.
        let query = unescape(query.unwrap_or_default(), &mut self.text);
        set_qname(&mut event, query)?;
        if let Some(answers) = answers {
            let sep = self.set_separator;
            let mut ttls = ttls
                .filter(|t| *t != self.empty.as_slice())
                .map(|t| t.split(move |&b| b == sep));
            for data in answers.split(|&b| b == sep) {
                let ttl = ttls
                    .as_mut()
                    .and_then(Iterator::next)
                    .and_then(interval_seconds);
                let data = unescape(data, &mut self.text);
                let rtype = rtype_of_data(data, qtype);
                let mut record = answer(b"", rtype, ttl, data)?;
                record.name.clone_from(&event.qname);
                event.answers.push(record);
            }
        }
        Ok(Some(event))
    }

    /// Forgets the header: the next input starts from Zeek's defaults again.
    fn finish(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        let sensor = self.sensor.take();
        *self = Decoder::new(&DecodeOptions::default());
        self.sensor = sensor;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_lines::to_json_line;

    const HEADER: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool";

    /// Decodes the header, then `line`, and compares the event as JSON with `expected`.
    fn check(header: &str, line: &str, expected: &str) {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        for h in header.lines() {
            assert_eq!(decoder.decode_line(h.as_bytes()), Ok(None), "{h:?}");
        }
        let event = match decoder.decode_line(line.as_bytes()) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        let mut out = String::new();
        to_json_line(&event, &mut out);
        assert_eq!(out, expected, "{line:?}");
    }

    fn refused(line: &str, field: &str) {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        match decoder.decode_line(line.as_bytes()) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    #[test]
    fn transactions() {
        check(
            HEADER,
            "1547188415.857497\tCAcJw\t192.168.86.167\t38339\t192.168.86.1\t53\tudp\t15209\t0.076967\tdd62.us-west1.gcp.cloud.es.io\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tproxy.gcp.cloud.es.io,35.199.178.4\t119.000000,59.000000\tF",
            r#"{"ts":"2019-01-11T06:33:35.857497Z","client":"192.168.86.167","server":"192.168.86.1","transport":"udp","direction":"response","id":15209,"qname":"dd62.us-west1.gcp.cloud.es.io","registered_domain":"es.io","qtype":"A","rcode":"NOERROR","flags":33152,"answers":[{"name":"dd62.us-west1.gcp.cloud.es.io","rtype":"CNAME","ttl":119,"data":"proxy.gcp.cloud.es.io"},{"name":"dd62.us-west1.gcp.cloud.es.io","rtype":"A","ttl":59,"data":"35.199.178.4"}]}"#,
        );
        // No response seen, masked time (a test baseline), ANY written `*`.
        check(
            HEADER,
            "XXXXXXXXXX.XXXXXX\tCUM0\t66.59.111.190\t37675\t172.28.2.3\t53\tudp\t48554\t-\twww.gleeble.org\t1\tC_INTERNET\t255\t*\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF",
            r#"{"ts":"1970-01-01T00:00:00Z","client":"66.59.111.190","server":"172.28.2.3","transport":"udp","direction":"query","id":48554,"qname":"www.gleeble.org","registered_domain":"gleeble.org","qtype":"ANY","flags":256}"#,
        );
        // Another column order, a `|` separator, escapes, no header-less defaults needed.
        check(
            "#separator |\n#set_separator|;\n#fields|query|ts|rcode|answers|TTLs|qtype_name",
            "a\\x2eexample.com|1.5|3|(empty)|(empty)|TXT",
            r#"{"ts":"1970-01-01T00:00:01.500000Z","transport":"unknown","direction":"response","qname":"a.example.com","registered_domain":"example.com","qtype":"TXT","rcode":"NXDOMAIN","flags":32771}"#,
        );
        // Without a header: Zeek's default columns.
        check(
            "",
            "1.0\tC\t10.0.0.1\t5\t10.0.0.2\t53\ttcp\t1\t-\tx.com\t1\tC_INTERNET\t16\tTXT\t0\tNOERROR\tT\tF\tF\tF\t0\tTXT 3 a;b\t60.0\tF",
            r#"{"ts":"1970-01-01T00:00:01Z","client":"10.0.0.1","server":"10.0.0.2","transport":"tcp","direction":"response","id":1,"qname":"x.com","registered_domain":"x.com","qtype":"TXT","rcode":"NOERROR","flags":33792,"answers":[{"name":"x.com","rtype":"TXT","ttl":60,"data":"TXT 3 a;b"}]}"#,
        );
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "1.0\tC\t10.0.0.1\t5\t10.0.0.2\t53\ttcp\t1\t-\tx.com\t1\tC_INTERNET\t16\tTXT\t0\tNOERROR\tT\tF\tF\tF\t0\t-\t-\tF";
        let mut decoder = Decoder::new(&DecodeOptions::default());
        assert!(
            decoder
                .decode_line(good.as_bytes())
                .is_ok_and(|e| e.is_some())
        );
        refused(&good.replace("1.0\t", "yesterday\t"), "ts");
        refused(&good.replace("1.0\t", "-\t"), "ts");
        refused(&good.replace("10.0.0.1", "ten"), "id.orig_h");
        refused(&good.replace("10.0.0.2", "ten"), "id.resp_h");
        refused(&good.replace("tcp\t1\t", "tcp\t70000\t"), "trans_id");
        refused(&good.replace("\t16\t", "\tsixteen\t"), "qtype");
        refused(&good.replace("\t0\tNOERROR", "\tzero\tNOERROR"), "rcode");
        refused(&good.replace("\tT\tF", "\tyes\tF"), "AA");
        refused(&good.replace("x.com", "x..com"), "qname");
        refused(&good[..good.find("\tx.com").unwrap_or(0)], "line");
        refused("#separator tab", "#separator");
        refused("#set_separator\t,,", "#set_separator");
        let wide = format!("#fields{}", "\tx".repeat(300));
        refused(&wide, "#fields");
    }

    /// Found by fuzzing (`zeek` target): `444444444444` seconds (year 16053) was accepted,
    /// and its JSON line could not be read back.
    #[test]
    fn regression_fuzz_timestamp_after_year_9999() {
        let line = "444444444444\tC\t10.0.0.1\t5\t10.0.0.2\t53\ttcp\t1\t-\tx.com\t1\tC_INTERNET\t16\tTXT\t-\t-\tT\tF\tF\tF\t0\t-\t-\tF";
        refused(line, "ts");
        refused(&line.replace("444444444444", "-99999999999"), "ts");
    }

    #[test]
    fn helpers() {
        assert_eq!(
            epoch_seconds(b"1547188415.857497"),
            Some(1_547_188_415_857_497)
        );
        assert_eq!(epoch_seconds(b"-1.5"), Some(-1_500_000));
        assert_eq!(epoch_seconds(b"1.2.3"), None);
        assert_eq!(epoch_seconds(b""), None);
        assert_eq!(interval_seconds(b"900.000000"), Some(900));
        assert_eq!(interval_seconds(b"x"), None);
        let mut buffer = Vec::new();
        assert_eq!(unescape(b"a\\x41\\xZZ\\x4", &mut buffer), b"aA\\xZZ\\x4");
    }
}
