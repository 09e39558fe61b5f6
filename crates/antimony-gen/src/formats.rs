//! Writing transactions as Windows DNS debug log lines, BIND query log lines or pcap packets.
//!
//! Every writer formats by hand into one reused buffer (no `format!`, no allocation per
//! record) and caches the text of the current second, so the generator stays several times
//! faster than the engine it feeds.

use antimony_dns::time::CivilDateTime;

use antimony_core::text::{push_int, push_int_padded};
use antimony_dns::codes::{rcode, rtype as qtype, rtype_name};

use crate::model::{SERVER, Transaction};

/// What the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Windows DNS Server debug log: a received query and the sent response per exchange,
    /// plus the server's own query upstream and its answer on a cache miss.
    WindowsDns,
    /// BIND 9 query log (`category queries`, `print-time yes`): one line per query.
    Bind,
    /// pcap (Ethernet, IPv4, UDP port 53): a query packet and its response per exchange.
    Pcap,
}

/// Names and aliases of the output formats, as the command line takes them.
const FORMAT_NAMES: &[(&str, OutputFormat)] = &[
    ("windows-dns", OutputFormat::WindowsDns),
    ("windows", OutputFormat::WindowsDns),
    ("bind", OutputFormat::Bind),
    ("bind9", OutputFormat::Bind),
    ("pcap", OutputFormat::Pcap),
];

/// An output format name that is not known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format `{0}` (formats: windows-dns, bind, pcap)")]
pub struct UnknownOutputFormat(pub String);

impl OutputFormat {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::WindowsDns => "windows-dns",
            OutputFormat::Bind => "bind",
            OutputFormat::Pcap => "pcap",
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = UnknownOutputFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FORMAT_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, format)| format)
            .ok_or_else(|| UnknownOutputFormat(name.to_owned()))
    }
}

/// Turns transactions into records of one format.
pub enum Writer {
    /// Windows DNS debug log.
    Windows(Windows),
    /// BIND query log.
    Bind(Bind),
    /// pcap.
    Pcap(Pcap),
}

impl Writer {
    /// A writer for `format`.
    pub fn new(format: OutputFormat) -> Self {
        match format {
            OutputFormat::WindowsDns => Writer::Windows(Windows::default()),
            OutputFormat::Bind => Writer::Bind(Bind::default()),
            OutputFormat::Pcap => Writer::Pcap(Pcap::default()),
        }
    }

    /// What goes before the first record (a log's banner, the pcap file header).
    pub fn header(&self, out: &mut Vec<u8>) {
        match self {
            Writer::Windows(_) => out.extend_from_slice(WINDOWS_BANNER.as_bytes()),
            Writer::Bind(_) => {}
            Writer::Pcap(_) => pcap_file_header(out),
        }
    }

    /// Appends the records of one transaction, at most `budget` of them (at least one);
    /// returns how many.
    #[inline]
    pub fn write(&mut self, tx: &Transaction, out: &mut Vec<u8>, budget: u64) -> u64 {
        match self {
            Writer::Windows(w) => w.write(tx, out, budget),
            Writer::Bind(w) => w.write(tx, out),
            Writer::Pcap(w) => w.write(tx, out, budget),
        }
    }
}

/// The banner a Windows DNS server writes at the top of `dns.log`.
const WINDOWS_BANNER: &str = "DNS Server log file creation at 11/26/2026 12:00:00 AM\r
Log file wrap at 11/26/2026 12:00:00 AM\r
\r
Message logging key (for packets - other items use a subset of these fields):\r
\tField #  Information         Values\r
\t-------  -----------         ------\r
\t   1     Date\r
\t   2     Time\r
\t   3     Thread ID\r
\t   4     Context\r
\t   5     Internal packet identifier\r
\t   6     UDP/TCP indicator\r
\t   7     Send/Receive indicator\r
\t   8     Remote IP\r
\t   9     Xid (hex)\r
\t  10     Query/Response      R = Response\r
\t                             blank = Query\r
\t  11     Opcode              Q = Standard Query\r
\t  12     [ Flags (hex)\r
\t  13     Flags (char codes)  A = Authoritative Answer\r
\t                             T = Truncated Response\r
\t                             D = Recursion Desired\r
\t                             R = Recursion Available\r
\t  14     ResponseCode ]\r
\t  15     Question Type\r
\t  16     Question Name\r
\r
";

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn push_hex16(out: &mut Vec<u8>, n: u16, digits: &[u8; 16]) {
    out.extend_from_slice(&[
        digits[usize::from(n >> 12)],
        digits[usize::from(n >> 8 & 0xf)],
        digits[usize::from(n >> 4 & 0xf)],
        digits[usize::from(n & 0xf)],
    ]);
}

/// Appends the last two digits of `n`.
fn push_2(out: &mut Vec<u8>, n: u32) {
    push_int_padded(out, u64::from(n % 100), 2);
}

/// Appends a dotted IPv4 address; returns its length.
fn push_ipv4(out: &mut Vec<u8>, ip: u32) -> usize {
    let before = out.len();
    antimony_core::text::push_ipv4(out, ip.into());
    out.len() - before
}

/// The mnemonic the logs write for a record type the model asks.
fn qtype_name(code: u16) -> &'static str {
    rtype_name(code).unwrap_or("A")
}

/// Windows DNS debug log lines; see [`OutputFormat::WindowsDns`].
#[derive(Default)]
pub struct Windows {
    /// The second whose text is cached, and its text (`11/26/2026 9:35:32 AM `).
    second: i64,
    stamp: Vec<u8>,
    packets: u64,
}

impl Windows {
    fn stamp(&mut self, ts: i64) -> &[u8] {
        let second = ts.div_euclid(1_000_000);
        if self.stamp.is_empty() || second != self.second {
            self.second = second;
            self.stamp.clear();
            let t = CivilDateTime::from_micros(second * 1_000_000);
            push_int(&mut self.stamp, t.month);
            self.stamp.push(b'/');
            push_int(&mut self.stamp, t.day);
            self.stamp.push(b'/');
            push_int(&mut self.stamp, t.year as u32);
            self.stamp.push(b' ');
            let hour12 = match t.hour % 12 {
                0 => 12,
                h => h,
            };
            push_int(&mut self.stamp, hour12);
            self.stamp.push(b':');
            push_2(&mut self.stamp, t.minute);
            self.stamp.push(b':');
            push_2(&mut self.stamp, t.second);
            self.stamp
                .extend_from_slice(if t.hour < 12 { b" AM " } else { b" PM " });
        }
        &self.stamp
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        out: &mut Vec<u8>,
        ts: i64,
        packet: u64,
        sent: bool,
        peer: u32,
        xid: u16,
        response: bool,
        code: u8,
        tx: &Transaction,
    ) {
        out.reserve(160 + 2 * tx.name.len());
        out.extend_from_slice(self.stamp(ts));
        // Four worker threads, chosen by message id as a server's thread pool would.
        out.extend_from_slice([b"0490", b"0A5C", b"1F20", b"06B0"][usize::from(xid & 3)]);
        out.extend_from_slice(b" PACKET  0000002");
        // The packet's memory address: 9 more hex digits.
        let address = (0x1_6EFF_C910u64 + packet * 0x110) & 0xf_ffff_ffff;
        for shift in (0..9).rev() {
            out.push(HEX_UPPER[(address >> (shift * 4) & 0xf) as usize]);
        }
        out.extend_from_slice(if sent { b" UDP Snd " } else { b" UDP Rcv " });
        let len = push_ipv4(out, peer);
        out.extend_from_slice(&b"                "[..16 - len.min(15)]);
        push_hex16(out, xid, HEX_LOWER);
        // The flags word is printed byte-swapped; letters A, T, D, R; rcode right-aligned.
        let (flags, letters) = if response {
            (0x8180u16 | u16::from(code), b"  DR")
        } else {
            (0x0100, b"  D ")
        };
        out.extend_from_slice(if response { b" R Q [" } else { b"   Q [" });
        push_hex16(out, flags.swap_bytes(), HEX_LOWER);
        out.push(b' ');
        out.extend_from_slice(letters);
        out.extend_from_slice(match (response, code) {
            (true, rcode::NXDOMAIN) => b" NXDOMAIN] ",
            (true, rcode::SERVFAIL) => b" SERVFAIL] ",
            _ => b"  NOERROR] ",
        });
        let name = qtype_name(tx.qtype);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&b"       "[..7 - name.len()]);
        for label in tx.name.split(|&b| b == b'.') {
            out.push(b'(');
            push_int(out, label.len() as u32);
            out.push(b')');
            out.extend_from_slice(label);
        }
        out.extend_from_slice(b"(0)\r\n");
    }

    fn write(&mut self, tx: &Transaction, out: &mut Vec<u8>, budget: u64) -> u64 {
        self.packets += 1;
        let packet = self.packets;
        let answered = tx.ts + i64::from(tx.rtt);
        self.line(out, tx.ts, packet, false, tx.client, tx.id, false, 0, tx);
        let mut written = 1;
        if let Some((upstream, uid)) = tx.upstream {
            for (response, at) in [(false, tx.ts + 20), (true, answered - 30)] {
                if written == budget {
                    return written;
                }
                self.packets += 1;
                let packet = self.packets;
                self.line(
                    out, at, packet, !response, upstream, uid, response, tx.rcode, tx,
                );
                written += 1;
            }
        }
        if written < budget {
            self.line(
                out, answered, packet, true, tx.client, tx.id, true, tx.rcode, tx,
            );
            written += 1;
        }
        written
    }
}

/// BIND 9 query log lines; see [`OutputFormat::Bind`].
#[derive(Default)]
pub struct Bind {
    second: i64,
    stamp: Vec<u8>,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

impl Bind {
    fn write(&mut self, tx: &Transaction, out: &mut Vec<u8>) -> u64 {
        let second = tx.ts.div_euclid(1_000_000);
        if self.stamp.is_empty() || second != self.second {
            self.second = second;
            self.stamp.clear();
            let t = CivilDateTime::from_micros(second * 1_000_000);
            push_2(&mut self.stamp, t.day);
            self.stamp.push(b'-');
            self.stamp
                .extend_from_slice(MONTHS[(t.month as usize).clamp(1, 12) - 1]);
            self.stamp.push(b'-');
            push_int(&mut self.stamp, t.year as u32);
            self.stamp.push(b' ');
            push_2(&mut self.stamp, t.hour);
            self.stamp.push(b':');
            push_2(&mut self.stamp, t.minute);
            self.stamp.push(b':');
            push_2(&mut self.stamp, t.second);
            self.stamp.push(b'.');
        }
        out.extend_from_slice(&self.stamp);
        let millis = (tx.ts.rem_euclid(1_000_000) / 1000) as u32;
        out.extend_from_slice(&[
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ]);
        // BIND names the client object by its address in memory: stable per client.
        out.extend_from_slice(b" queries: info: client @0x7f17");
        let object = tx.client.wrapping_mul(0x9e37_79b9) >> 8;
        for shift in (0..6).rev() {
            out.push(HEX_LOWER[(object >> (shift * 4) & 0xf) as usize]);
        }
        out.extend_from_slice(b"98 ");
        push_ipv4(out, tx.client);
        out.push(b'#');
        push_int(out, u32::from(tx.port));
        out.extend_from_slice(b" (");
        out.extend_from_slice(&tx.name);
        out.extend_from_slice(b"): query: ");
        out.extend_from_slice(&tx.name);
        out.extend_from_slice(b" IN ");
        out.extend_from_slice(qtype_name(tx.qtype).as_bytes());
        out.extend_from_slice(match tx.answer_seed & 15 {
            0..=10 => b" +E(0)K (".as_slice(),
            11..=13 => b" +E(0) (",
            _ => b" + (",
        });
        push_ipv4(out, SERVER);
        out.extend_from_slice(b")\n");
        1
    }
}

/// pcap packets; see [`OutputFormat::Pcap`].
#[derive(Default)]
pub struct Pcap {
    ip_id: u16,
    dns: Vec<u8>,
}

/// The pcap global header: microsecond timestamps, version 2.4, Ethernet.
fn pcap_file_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
}

/// The one's-complement sum of 16-bit words (RFC 1071), not yet folded.
fn sum16(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Pcap {
    fn write(&mut self, tx: &Transaction, out: &mut Vec<u8>, budget: u64) -> u64 {
        self.query(tx);
        self.packet(out, tx.ts, tx.client, tx.port, SERVER, 53);
        if budget < 2 {
            return 1;
        }
        self.response(tx);
        self.packet(
            out,
            tx.ts + i64::from(tx.rtt),
            SERVER,
            53,
            tx.client,
            tx.port,
        );
        2
    }

    fn question(&mut self, tx: &Transaction) {
        for label in tx.name.split(|&b| b == b'.') {
            self.dns.push(label.len() as u8);
            self.dns.extend_from_slice(label);
        }
        self.dns.push(0);
        self.dns.extend_from_slice(&tx.qtype.to_be_bytes());
        self.dns.extend_from_slice(&1u16.to_be_bytes());
    }

    /// EDNS(0) OPT record: 1232-byte UDP payload, as resolvers advertise since DNS Flag Day 2020.
    fn opt(&mut self) {
        self.dns
            .extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }

    fn query(&mut self, tx: &Transaction) {
        self.dns.clear();
        self.dns.extend_from_slice(&tx.id.to_be_bytes());
        self.dns
            .extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
        self.question(tx);
        self.opt();
    }

    fn response(&mut self, tx: &Transaction) {
        self.dns.clear();
        self.dns.extend_from_slice(&tx.id.to_be_bytes());
        let answers: u16 = match (tx.rcode, tx.qtype) {
            (rcode::NOERROR, qtype::HTTPS) => 0,
            (rcode::NOERROR, qtype::A) => 1 + (tx.answer_seed >> 62) as u16,
            (rcode::NOERROR, _) => 1,
            _ => 0,
        };
        self.dns.extend_from_slice(&[0x81, 0x80 | tx.rcode, 0, 1]);
        self.dns.extend_from_slice(&answers.to_be_bytes());
        self.dns.extend_from_slice(&[0, 0, 0, 1]);
        self.question(tx);
        let seed = tx.answer_seed;
        for i in 0..answers {
            // The owner is the question name, by a compression pointer to offset 12.
            self.dns.extend_from_slice(&[0xc0, 0x0c]);
            self.dns.extend_from_slice(&tx.qtype.to_be_bytes());
            self.dns.extend_from_slice(&[0, 1, 0, 0, 0x01, 0x2c]);
            let at = self.dns.len();
            self.dns.extend_from_slice(&[0, 0]);
            match tx.qtype {
                qtype::A => {
                    let host = (seed >> 8) as u32 ^ u32::from(i);
                    self.dns.extend_from_slice(&[
                        104,
                        (host >> 16) as u8,
                        (host >> 8) as u8,
                        host as u8,
                    ]);
                }
                qtype::AAAA => {
                    self.dns.extend_from_slice(&[0x26, 0x06, 0x47, 0x00]);
                    self.dns.extend_from_slice(&seed.to_be_bytes());
                    self.dns.extend_from_slice(&[0, 0, 0, 1]);
                }
                qtype::TXT => {
                    // A tunnel's downstream data, base32 like its upstream.
                    self.dns.push(32);
                    for k in 0..32 {
                        self.dns.push(
                            b"abcdefghijklmnopqrstuvwxyz234567"
                                [(seed >> (k % 12 * 5) & 31) as usize],
                        );
                    }
                }
                qtype::MX => {
                    self.dns.extend_from_slice(&[0, 10, 4]);
                    self.dns.extend_from_slice(b"mail");
                    self.dns.extend_from_slice(&[0xc0, 0x0c]);
                }
                _ => {
                    // PTR: a host name in the organisation's zone.
                    self.dns.push(4);
                    self.dns.extend_from_slice(b"host");
                    self.dns.extend_from_slice(&[4]);
                    self.dns.extend_from_slice(b"corp");
                    self.dns.extend_from_slice(&[2]);
                    self.dns.extend_from_slice(b"qa");
                    self.dns.push(0);
                }
            }
            let len = (self.dns.len() - at - 2) as u16;
            self.dns[at..at + 2].copy_from_slice(&len.to_be_bytes());
        }
        self.opt();
    }

    /// Wraps `self.dns` in UDP, IPv4, Ethernet and a pcap record header.
    fn packet(&mut self, out: &mut Vec<u8>, ts: i64, src: u32, sport: u16, dst: u32, dport: u16) {
        let udp_len = 8 + self.dns.len();
        let ip_len = 20 + udp_len;
        let frame_len = 14 + ip_len;
        out.extend_from_slice(&(ts.div_euclid(1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(ts.rem_euclid(1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame_len as u32).to_le_bytes());
        out.extend_from_slice(&(frame_len as u32).to_le_bytes());
        // Ethernet: locally administered MACs made from the addresses.
        let [a, b, c, d] = dst.to_be_bytes();
        out.extend_from_slice(&[0x02, 0x00, a, b, c, d]);
        let [a, b, c, d] = src.to_be_bytes();
        out.extend_from_slice(&[0x02, 0x00, a, b, c, d]);
        out.extend_from_slice(&[0x08, 0x00]);
        // IPv4, don't fragment, TTL 64 (server) or 128 (Windows clients).
        self.ip_id = self.ip_id.wrapping_add(1);
        let ttl = if sport == 53 { 64 } else { 128 };
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        ip[6] = 0x40;
        ip[8] = ttl;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&src.to_be_bytes());
        ip[16..20].copy_from_slice(&dst.to_be_bytes());
        let checksum = fold(sum16(&ip, 0));
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        out.extend_from_slice(&ip);
        // UDP with its checksum over the pseudo-header.
        let mut udp = [0u8; 8];
        udp[0..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&dport.to_be_bytes());
        udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
        let mut sum = sum16(&ip[12..20], 17 + udp_len as u32);
        sum = sum16(&udp, sum);
        sum = sum16(&self.dns, sum);
        let checksum = match fold(sum) {
            0 => 0xffff,
            c => c,
        };
        udp[6..8].copy_from_slice(&checksum.to_be_bytes());
        out.extend_from_slice(&udp);
        out.extend_from_slice(&self.dns);
    }
}

/// Checksum checks for the tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{fold, sum16};

    /// Zero when an IPv4 header's checksum is right.
    pub fn ipv4_checksum(header: &[u8]) -> u16 {
        fold(sum16(header, 0))
    }

    /// Zero when a UDP datagram's checksum is right (IPv4 pseudo-header from `ip`).
    pub fn udp_checksum(ip: &[u8], udp: &[u8]) -> u16 {
        fold(sum16(udp, sum16(&ip[12..20], 17 + udp.len() as u32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify() {
        // RFC 1071's example words sum to 0xddf2 before complement.
        assert_eq!(
            fold(sum16(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)),
            !0xddf2
        );
    }
}
