//! Link layers: from a captured frame to the IP packet it carries.
//!
//! Each link type is a few header bytes and an EtherType or protocol number, so this is
//! done by hand, without allocation, and tested below on one frame per type.

/// `LINKTYPE_NULL`: BSD loopback, a 4-byte address family in the writer's byte order.
pub const NULL: u32 = 0;
/// `LINKTYPE_ETHERNET`.
pub const ETHERNET: u32 = 1;
/// `LINKTYPE_PPP`: PPP, with or without the HDLC address and control bytes.
pub const PPP: u32 = 9;
/// `LINKTYPE_FDDI`.
pub const FDDI: u32 = 10;
/// `DLT_RAW` as written by some systems (12 most, 14 OpenBSD): raw IPv4 or IPv6.
pub const RAW_12: u32 = 12;
/// `DLT_RAW` on OpenBSD.
pub const RAW_14: u32 = 14;
/// `LINKTYPE_PPP_HDLC`: PPP in HDLC-like framing.
pub const PPP_HDLC: u32 = 50;
/// `LINKTYPE_PPP_ETHER`: PPPoE session stage.
pub const PPP_ETHER: u32 = 51;
/// `LINKTYPE_RAW`: raw IPv4 or IPv6.
pub const RAW: u32 = 101;
/// `LINKTYPE_C_HDLC`: Cisco HDLC.
pub const C_HDLC: u32 = 104;
/// `LINKTYPE_LOOP`: OpenBSD loopback, the address family in network byte order.
pub const LOOP: u32 = 108;
/// `LINKTYPE_LINUX_SLL`: Linux cooked capture v1.
pub const LINUX_SLL: u32 = 113;
/// `LINKTYPE_IPV4`.
pub const IPV4: u32 = 228;
/// `LINKTYPE_IPV6`.
pub const IPV6: u32 = 229;
/// `LINKTYPE_LINUX_SLL2`: Linux cooked capture v2.
pub const LINUX_SLL2: u32 = 276;

/// Whether the decoder reads this link type.
pub fn is_supported(link: u32) -> bool {
    matches!(
        link,
        NULL | ETHERNET
            | PPP
            | FDDI
            | RAW_12
            | RAW_14
            | PPP_HDLC
            | PPP_ETHER
            | RAW
            | C_HDLC
            | LOOP
            | LINUX_SLL
            | IPV4
            | IPV6
            | LINUX_SLL2
    )
}

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// An IPv4 or IPv6 packet (the version nibble says which).
    Ip(&'a [u8]),
    /// Something else (ARP, LLDP, IPX...).
    NotIp,
    /// A link type [`is_supported`] refuses.
    Unsupported,
    /// The frame is too short for its link header.
    Truncated,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// Link extensions (VLAN tags, LLC/SNAP, PPPoE) followed at most per frame.
const MAX_LINK_EXTENSIONS: usize = 8;

/// The IP packet a frame of link type `link` carries.
pub fn strip(link: u32, frame: &[u8]) -> Payload<'_> {
    match link {
        ETHERNET => match frame.get(12..14) {
            Some(t) => ethertype(be16(t), &frame[14..]),
            None => Payload::Truncated,
        },
        RAW | RAW_12 | RAW_14 | IPV4 | IPV6 => Payload::Ip(frame),
        NULL | LOOP => {
            let Some(family) = frame.get(..4) else {
                return Payload::Truncated;
            };
            let family = [family[0], family[1], family[2], family[3]];
            let family = if link == LOOP {
                u32::from_be_bytes(family)
            } else {
                // Host byte order of the machine that wrote the file: families are small.
                let le = u32::from_le_bytes(family);
                if le > 0xffff {
                    u32::from_be_bytes(family)
                } else {
                    le
                }
            };
            match family {
                // AF_INET; AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
                2 | 10 | 24 | 28 | 30 => Payload::Ip(&frame[4..]),
                _ => Payload::NotIp,
            }
        }
        PPP | PPP_HDLC => ppp(frame),
        PPP_ETHER => pppoe(frame),
        C_HDLC => match frame.get(2..4) {
            Some(t) => ethertype(be16(t), &frame[4..]),
            None => Payload::Truncated,
        },
        FDDI => {
            // Frame control, destination and source addresses, then LLC/SNAP.
            match frame.get(13..) {
                Some(rest) => llc(rest, 0),
                None => Payload::Truncated,
            }
        }
        LINUX_SLL => match frame.get(14..16) {
            Some(t) => ethertype(be16(t), &frame[16..]),
            None => Payload::Truncated,
        },
        LINUX_SLL2 => match frame.get(..20) {
            Some(h) => ethertype(be16(&h[..2]), &frame[20..]),
            None => Payload::Truncated,
        },
        _ => Payload::Unsupported,
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Follows an EtherType through VLAN tags, LLC/SNAP and PPPoE to IP.
fn ethertype(mut ty: u16, mut rest: &[u8]) -> Payload<'_> {
    for depth in 0..MAX_LINK_EXTENSIONS {
        match ty {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Payload::Ip(rest),
            // 802.1Q, 802.1ad (QinQ) and the older QinQ tags: 2 bytes of tag control, then
            // the inner EtherType.
            0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                let Some(tag) = rest.get(..4) else {
                    return Payload::Truncated;
                };
                ty = be16(&tag[2..]);
                rest = &rest[4..];
            }
            ETHERTYPE_PPPOE_SESSION => return pppoe(rest),
            // An 802.3 length: LLC follows.
            0..=1500 => return llc(rest, depth + 1),
            _ => return Payload::NotIp,
        }
    }
    Payload::NotIp
}

/// 802.2 LLC: only SNAP with an EtherType carries IP here.
fn llc(rest: &[u8], depth: usize) -> Payload<'_> {
    match rest.get(..8) {
        Some([0xaa, 0xaa, 0x03, _, _, _, t0, t1]) if depth < MAX_LINK_EXTENSIONS => {
            ethertype(u16::from_be_bytes([*t0, *t1]), &rest[8..])
        }
        Some(_) => Payload::NotIp,
        None => Payload::Truncated,
    }
}

/// PPPoE session header (version/type, code, session id, length), then PPP.
fn pppoe(rest: &[u8]) -> Payload<'_> {
    match rest.get(6..) {
        Some(ppp_frame) => ppp(ppp_frame),
        None => Payload::Truncated,
    }
}

/// PPP: optional HDLC address and control bytes (`ff 03`), then the protocol, one byte
/// when compressed (odd first byte).
fn ppp(frame: &[u8]) -> Payload<'_> {
    let rest = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    let (protocol, body) = match rest {
        [p, body @ ..] if p & 1 == 1 => (u16::from(*p), body),
        [p0, p1, body @ ..] => (u16::from_be_bytes([*p0, *p1]), body),
        _ => return Payload::Truncated,
    };
    match protocol {
        0x0021 | 0x0057 => Payload::Ip(body),
        _ => Payload::NotIp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = b"\x45\x00\x00\x14";

    fn check(link: u32, frame: &[u8], expected: Payload<'_>) {
        assert_eq!(
            strip(link, frame),
            expected,
            "link {link} frame {frame:02x?}"
        );
        if let Payload::Ip(_) | Payload::NotIp | Payload::Truncated = expected {
            assert!(is_supported(link));
        }
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn link_types() {
        let macs = [0u8; 12];
        check(ETHERNET, &cat(&[&macs, b"\x08\x00", IP]), Payload::Ip(IP));
        check(ETHERNET, &cat(&[&macs, b"\x86\xdd", IP]), Payload::Ip(IP));
        check(ETHERNET, &cat(&[&macs, b"\x08\x06", IP]), Payload::NotIp);
        check(ETHERNET, &macs, Payload::Truncated);
        // One VLAN tag, then QinQ.
        check(
            ETHERNET,
            &cat(&[&macs, b"\x81\x00\x00\x05\x08\x00", IP]),
            Payload::Ip(IP),
        );
        check(
            ETHERNET,
            &cat(&[&macs, b"\x88\xa8\x00\x05\x81\x00\x00\x06\x86\xdd", IP]),
            Payload::Ip(IP),
        );
        check(
            ETHERNET,
            &cat(&[&macs, b"\x81\x00\x00"]),
            Payload::Truncated,
        );
        // 802.3 length with LLC/SNAP.
        check(
            ETHERNET,
            &cat(&[&macs, b"\x00\x30\xaa\xaa\x03\x00\x00\x00\x08\x00", IP]),
            Payload::Ip(IP),
        );
        check(
            ETHERNET,
            &cat(&[&macs, b"\x00\x30\x42\x42\x03\x00\x00\x00\x08\x00"]),
            Payload::NotIp,
        );
        // PPPoE session carrying IPv4.
        check(
            ETHERNET,
            &cat(&[&macs, b"\x88\x64\x11\x00\x00\x01\x00\x16\x00\x21", IP]),
            Payload::Ip(IP),
        );
        check(RAW, IP, Payload::Ip(IP));
        check(IPV4, IP, Payload::Ip(IP));
        check(IPV6, IP, Payload::Ip(IP));
        check(NULL, &cat(&[b"\x02\x00\x00\x00", IP]), Payload::Ip(IP));
        check(NULL, &cat(&[b"\x00\x00\x00\x1e", IP]), Payload::Ip(IP));
        check(NULL, &cat(&[b"\x07\x00\x00\x00", IP]), Payload::NotIp);
        check(LOOP, &cat(&[b"\x00\x00\x00\x02", IP]), Payload::Ip(IP));
        check(PPP, &cat(&[b"\xff\x03\x00\x21", IP]), Payload::Ip(IP));
        check(PPP, &cat(&[b"\x00\x57", IP]), Payload::Ip(IP));
        check(PPP, &cat(&[b"\x21", IP]), Payload::Ip(IP));
        check(PPP_HDLC, &cat(&[b"\xff\x03\xc0\x21", IP]), Payload::NotIp);
        check(
            PPP_ETHER,
            &cat(&[b"\x11\x00\x00\x01\x00\x16\x00\x21", IP]),
            Payload::Ip(IP),
        );
        check(C_HDLC, &cat(&[b"\x0f\x00\x08\x00", IP]), Payload::Ip(IP));
        check(
            FDDI,
            &cat(&[&[0x50; 13], b"\xaa\xaa\x03\x00\x00\x00\x08\x00", IP]),
            Payload::Ip(IP),
        );
        let sll = cat(&[&[0, 0, 0, 1, 0, 6], &[0; 8], b"\x08\x00", IP]);
        check(LINUX_SLL, &sll, Payload::Ip(IP));
        let sll2 = cat(&[b"\x86\xdd\x00\x00", &[0; 16], IP]);
        check(LINUX_SLL2, &sll2, Payload::Ip(IP));
        check(LINUX_SLL2, &sll2[..19], Payload::Truncated);
        assert_eq!(strip(127, IP), Payload::Unsupported);
        assert!(!is_supported(127));
    }

    #[test]
    fn vlan_tags_are_bounded() {
        let mut frame = vec![0u8; 12];
        for _ in 0..20 {
            frame.extend_from_slice(b"\x81\x00\x00\x01");
        }
        frame.extend_from_slice(b"\x08\x00");
        assert_eq!(strip(ETHERNET, &frame), Payload::NotIp);
    }
}
