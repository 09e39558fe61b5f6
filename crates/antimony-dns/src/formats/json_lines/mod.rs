//! JSON lines with Antimony's own field names: what `antimony parse` prints, and what other
//! tools can be made to write.
//!
//! ```text
//! {"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}
//! ```
//!
//! | field | value | aliases |
//! |---|---|---|
//! | `ts` (required) | RFC 3339 string, or seconds since the epoch as a number | `timestamp`, `time`, `@timestamp` |
//! | `qname` (required) | the question name, any case, trailing dot or not | `query`, `question`, `query_name` |
//! | `qtype` (required) | a mnemonic (`"AAAA"`, `"TYPE65"`) or a number | `query_type` |
//! | `client`, `server` | IP address strings | `src_ip`, `client_ip`; `dst_ip`, `server_ip` |
//! | `transport` | `"udp"`, `"tcp"` or `"unknown"` | `proto`, `protocol` |
//! | `direction` | `"query"` or `"response"` | |
//! | `id` | message id, 0 to 65535 | |
//! | `rcode` | a mnemonic (`"NXDOMAIN"`) or a number | `response_code` |
//! | `flags` | header flags in wire order, a number or a `"0x8180"` string | |
//! | `answers` | `[{"name", "rtype" (or `type`), "ttl", "data" (or `rdata`)}]` | |
//! | `sensor` | text; overrides the decoder's sensor option | |
//!
//! Other fields (such as the `registered_domain` that [`to_json_line`] writes) are ignored,
//! `null` is the same as absent. Without `direction`, the QR bit of `flags` decides, and
//! without `flags` an `rcode` or answers make a response. Without `flags`, they are made from
//! the direction and the response code.
//!
//! [`to_json_line`] writes an event back; decoding what it wrote gives the same event.
//!
//! JSON logs of any other shape (ECS, a SIEM export, a resolver's own JSON) are read with
//! a [`FieldMap`] that says where each field is, as dotted paths (`dns.question.name`):
//! [`Decoder::with_fields`], turned into a [`formats::Decoder`](super::Decoder) with
//! `.into()`. Format detection cannot guess a map. Reading through a map parses the whole
//! line into a tree first, so it is a few times slower than the fixed shape.
//!
//! The code: `decode.rs` the decoder (parsing a line, checking its fields, making the
//! event), `fields.rs` the [`FieldMap`] for JSON of any shape, `write.rs` the writer
//! ([`to_json_line`]), and `scalar.rs` the JSON values every JSON decoder reads fields as.

mod decode;
mod fields;
mod scalar;
#[cfg(test)]
mod tests;
mod write;

pub use decode::Decoder;
pub use fields::FieldMap;
pub(crate) use scalar::{Scalar, epoch_micros, not_json};
pub use write::to_json_line;
