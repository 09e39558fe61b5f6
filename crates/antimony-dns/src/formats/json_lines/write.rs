//! The writer of JSON lines: [`to_json_line`], an event as the one JSON object the decoder
//! reads back to the same event.

use antimony_core::text::{push_int, push_ip, push_json_str};

use crate::codes::{rcode_name, rtype_name};
use crate::time::write_rfc3339;
use crate::{Direction, DnsEvent, Transport};

/// Appends `event` to `out` as one JSON object, without a line terminator.
///
/// Fields come in a fixed order; absent values (`client`, `server`, `id`, `rcode`,
/// `sensor`) and an empty `answers` are left out. Types and response codes are written as
/// mnemonics, timestamps as RFC 3339 (see [`write_rfc3339`]), and `registered_domain` is
/// added for people and tools that read the output (the decoder ignores it).
pub fn to_json_line(event: &DnsEvent, out: &mut String) {
    out.push_str("{\"ts\":\"");
    write_rfc3339(event.ts, out);
    out.push('"');
    if let Some(sensor) = &event.sensor {
        out.push_str(",\"sensor\":");
        push_json_str(out, sensor);
    }
    if let Some(client) = event.client {
        out.push_str(",\"client\":\"");
        push_ip(out, client);
        out.push('"');
    }
    if let Some(server) = event.server {
        out.push_str(",\"server\":\"");
        push_ip(out, server);
        out.push('"');
    }
    out.push_str(match event.transport {
        Transport::Udp => ",\"transport\":\"udp\"",
        Transport::Tcp => ",\"transport\":\"tcp\"",
        Transport::Unknown => ",\"transport\":\"unknown\"",
    });
    out.push_str(match event.direction {
        Direction::Query => ",\"direction\":\"query\"",
        Direction::Response => ",\"direction\":\"response\"",
    });
    if let Some(id) = event.id {
        out.push_str(",\"id\":");
        push_int(out, id);
    }
    out.push_str(",\"qname\":");
    push_json_str(out, &event.qname);
    out.push_str(",\"registered_domain\":");
    push_json_str(out, event.registered_domain());
    out.push_str(",\"qtype\":\"");
    push_mnemonic(out, rtype_name(event.qtype), "TYPE", event.qtype);
    out.push('"');
    if let Some(rcode) = event.rcode {
        out.push_str(",\"rcode\":\"");
        push_mnemonic(out, rcode_name(rcode), "RCODE", rcode);
        out.push('"');
    }
    out.push_str(",\"flags\":");
    push_int(out, event.flags);
    if !event.answers.is_empty() {
        out.push_str(",\"answers\":[");
        for (i, a) in event.answers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            push_json_str(out, &a.name);
            out.push_str(",\"rtype\":\"");
            push_mnemonic(out, rtype_name(a.rtype), "TYPE", a.rtype);
            out.push('"');
            if let Some(ttl) = a.ttl {
                out.push_str(",\"ttl\":");
                push_int(out, ttl);
            }
            out.push_str(",\"data\":");
            push_json_str(out, &a.data);
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
}

/// A code's mnemonic, or the generic form (`TYPE65534`, `RCODE23`).
fn push_mnemonic(out: &mut String, name: Option<&str>, generic: &str, code: u16) {
    match name {
        Some(name) => out.push_str(name),
        None => {
            out.push_str(generic);
            push_int(out, code);
        }
    }
}
