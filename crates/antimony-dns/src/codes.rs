//! DNS code tables: resource record types and response codes, number <-> mnemonic.
//!
//! Lookups are `match` tables compiled into the binary: they never allocate. Names are read
//! without regard to case; types without a mnemonic use the RFC 3597 generic form `TYPE123`,
//! response codes without one `RCODE23`.
//!
//! ```
//! use antimony_dns::codes::{rcode_code, rtype_code, rtype_name, Rtype};
//! assert_eq!(rtype_code("aaaa"), Some(28));
//! assert_eq!(rtype_code("TYPE65"), Some(65));
//! assert_eq!(rtype_name(16), Some("TXT"));
//! assert_eq!(Rtype(65_280).to_string(), "TYPE65280");
//! assert_eq!(rcode_code("NXDOMAIN"), Some(3));
//! ```

use std::fmt;

/// Codes of the record types Antimony's detectors and generator name in code.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Null record (tunnels carry data in it).
    pub const NULL: u16 = 10;
    /// Pointer (reverse lookup).
    pub const PTR: u16 = 12;
    /// Mail exchanger.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service binding (browsers ask it beside A and AAAA).
    pub const HTTPS: u16 = 65;
    /// Any type (a query only).
    pub const ANY: u16 = 255;
}

/// Response codes Antimony's detectors and generator name in code.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// No such name.
    pub const NXDOMAIN: u8 = 3;
}

/// The longest mnemonic in either table (`NSEC3PARAM`, `OPENPGPKEY`, `DSOTYPENI`).
const MAX_MNEMONIC: usize = 10;

/// Upper-cases `name` into a stack buffer, or `None` when it is too long to be a mnemonic.
fn upper<'b>(name: &str, buf: &'b mut [u8; MAX_MNEMONIC]) -> Option<&'b str> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_MNEMONIC {
        return None;
    }
    for (dst, src) in buf.iter_mut().zip(b) {
        *dst = src.to_ascii_uppercase();
    }
    // Upper-casing only ASCII bytes keeps UTF-8 valid, and the whole name was copied.
    std::str::from_utf8(&buf[..b.len()]).ok()
}

/// Reads the digits of a generic form (`TYPE123` -> 123) into a `u16`.
fn generic(name: &str, prefix: &str) -> Option<u16> {
    let head = name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    parse_u16(&name[prefix.len()..])
}

/// A decimal `u16` with no sign, at most 5 digits.
pub(crate) fn parse_u16(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.parse().ok()
}

macro_rules! code_table {
    (
        $(#[$name_doc:meta])* fn $name_fn:ident;
        $(#[$code_doc:meta])* fn $code_fn:ident;
        aliases { $($alias:literal => $alias_code:literal,)* }
        $($code:literal => $mnemonic:literal,)*
    ) => {
        $(#[$name_doc])*
        pub fn $name_fn(code: u16) -> Option<&'static str> {
            match code {
                $($code => Some($mnemonic),)*
                _ => None,
            }
        }

        $(#[$code_doc])*
        fn $code_fn(upper: &str) -> Option<u16> {
            match upper {
                $($mnemonic => Some($code),)*
                $($alias => Some($alias_code),)*
                _ => None,
            }
        }
    };
}

code_table! {
    /// The mnemonic of a record type (`1` -> `"A"`), or `None` when it has none.
    fn rtype_name;
    /// Record type code of an upper-case mnemonic.
    fn rtype_mnemonic;
    aliases {
        // Windows and some tools call QTYPE 255 "ALL"; `*` is the RFC 1035 spelling.
        "ALL" => 255,
        "*" => 255,
    }
    1 => "A",
    2 => "NS",
    3 => "MD",
    4 => "MF",
    5 => "CNAME",
    6 => "SOA",
    7 => "MB",
    8 => "MG",
    9 => "MR",
    10 => "NULL",
    11 => "WKS",
    12 => "PTR",
    13 => "HINFO",
    14 => "MINFO",
    15 => "MX",
    16 => "TXT",
    17 => "RP",
    18 => "AFSDB",
    19 => "X25",
    20 => "ISDN",
    21 => "RT",
    22 => "NSAP",
    23 => "NSAP-PTR",
    24 => "SIG",
    25 => "KEY",
    26 => "PX",
    27 => "GPOS",
    28 => "AAAA",
    29 => "LOC",
    30 => "NXT",
    31 => "EID",
    32 => "NIMLOC",
    33 => "SRV",
    34 => "ATMA",
    35 => "NAPTR",
    36 => "KX",
    37 => "CERT",
    38 => "A6",
    39 => "DNAME",
    40 => "SINK",
    41 => "OPT",
    42 => "APL",
    43 => "DS",
    44 => "SSHFP",
    45 => "IPSECKEY",
    46 => "RRSIG",
    47 => "NSEC",
    48 => "DNSKEY",
    49 => "DHCID",
    50 => "NSEC3",
    51 => "NSEC3PARAM",
    52 => "TLSA",
    53 => "SMIMEA",
    55 => "HIP",
    56 => "NINFO",
    57 => "RKEY",
    58 => "TALINK",
    59 => "CDS",
    60 => "CDNSKEY",
    61 => "OPENPGPKEY",
    62 => "CSYNC",
    63 => "ZONEMD",
    64 => "SVCB",
    65 => "HTTPS",
    66 => "DSYNC",
    99 => "SPF",
    100 => "UINFO",
    101 => "UID",
    102 => "GID",
    103 => "UNSPEC",
    104 => "NID",
    105 => "L32",
    106 => "L64",
    107 => "LP",
    108 => "EUI48",
    109 => "EUI64",
    249 => "TKEY",
    250 => "TSIG",
    251 => "IXFR",
    252 => "AXFR",
    253 => "MAILB",
    254 => "MAILA",
    255 => "ANY",
    256 => "URI",
    257 => "CAA",
    258 => "AVC",
    259 => "DOA",
    260 => "AMTRELAY",
    261 => "RESINFO",
    262 => "WALLET",
    32768 => "TA",
    32769 => "DLV",
}

code_table! {
    /// The mnemonic of a response code (`3` -> `"NXDOMAIN"`), or `None` when it has none.
    /// Extended codes (16 and up) need EDNS; 16 is `BADVERS` (TSIG's `BADSIG` shares it).
    fn rcode_name;
    /// Response code of an upper-case mnemonic.
    fn rcode_mnemonic;
    aliases {
        // Windows writes NOTIMPL; TSIG calls 16 BADSIG.
        "NOTIMPL" => 4,
        "BADSIG" => 16,
    }
    0 => "NOERROR",
    1 => "FORMERR",
    2 => "SERVFAIL",
    3 => "NXDOMAIN",
    4 => "NOTIMP",
    5 => "REFUSED",
    6 => "YXDOMAIN",
    7 => "YXRRSET",
    8 => "NXRRSET",
    9 => "NOTAUTH",
    10 => "NOTZONE",
    11 => "DSOTYPENI",
    16 => "BADVERS",
    17 => "BADKEY",
    18 => "BADTIME",
    19 => "BADMODE",
    20 => "BADNAME",
    21 => "BADALG",
    22 => "BADTRUNC",
    23 => "BADCOOKIE",
}

/// The record type code of a mnemonic (`"AAAA"` -> 28) or generic form (`"TYPE65"` -> 65),
/// in any case. `None` for anything else.
pub fn rtype_code(name: &str) -> Option<u16> {
    let mut buf = [0u8; MAX_MNEMONIC];
    upper(name, &mut buf)
        .and_then(rtype_mnemonic)
        .or_else(|| generic(name, "TYPE"))
}

/// The response code of a mnemonic (`"NXDOMAIN"` -> 3) or generic form (`"RCODE23"` -> 23),
/// in any case. `None` for anything else.
pub fn rcode_code(name: &str) -> Option<u16> {
    let mut buf = [0u8; MAX_MNEMONIC];
    upper(name, &mut buf)
        .and_then(rcode_mnemonic)
        .or_else(|| generic(name, "RCODE"))
}

/// A record type code that displays as its mnemonic or as `TYPE123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rtype(pub u16);

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match rtype_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

/// A response code that displays as its mnemonic or as `RCODE23`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rcode(pub u16);

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match rcode_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "RCODE{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rtype_round_trips() {
        for code in 0..=u16::MAX {
            let text = Rtype(code).to_string();
            assert_eq!(rtype_code(&text), Some(code), "{text}");
            assert_eq!(rtype_code(&text.to_ascii_lowercase()), Some(code), "{text}");
        }
    }

    #[test]
    fn every_rcode_round_trips() {
        for code in 0..=4095 {
            let text = Rcode(code).to_string();
            assert_eq!(rcode_code(&text), Some(code), "{text}");
        }
    }

    #[test]
    fn names_and_aliases() {
        for (name, code) in [
            ("A", 1),
            ("aaaa", 28),
            ("Https", 65),
            ("NSAP-PTR", 23),
            ("ALL", 255),
            ("*", 255),
            ("TYPE0", 0),
            ("type65535", 65_535),
        ] {
            assert_eq!(rtype_code(name), Some(code), "{name}");
        }
        for bad in [
            "",
            "B",
            "TYPE",
            "TYPE65536",
            "TYPE-1",
            "TYPE+1",
            "AAAAAAAAAAAAAAAAA",
            "ä",
        ] {
            assert_eq!(rtype_code(bad), None, "{bad}");
        }
        assert_eq!(rcode_code("notimpl"), Some(4));
        assert_eq!(rcode_code("NOTIMP"), Some(4));
        assert_eq!(rcode_name(3), Some("NXDOMAIN"));
        for (code, name) in [
            (rtype::A, "A"),
            (rtype::CNAME, "CNAME"),
            (rtype::NULL, "NULL"),
            (rtype::PTR, "PTR"),
            (rtype::MX, "MX"),
            (rtype::TXT, "TXT"),
            (rtype::AAAA, "AAAA"),
            (rtype::HTTPS, "HTTPS"),
            (rtype::ANY, "ANY"),
        ] {
            assert_eq!(rtype_name(code), Some(name));
        }
        for (code, name) in [
            (rcode::NOERROR, "NOERROR"),
            (rcode::SERVFAIL, "SERVFAIL"),
            (rcode::NXDOMAIN, "NXDOMAIN"),
        ] {
            assert_eq!(rcode_name(u16::from(code)), Some(name));
        }
        assert_eq!(rcode_name(12), None);
        assert_eq!(Rcode(12).to_string(), "RCODE12");
    }
}
