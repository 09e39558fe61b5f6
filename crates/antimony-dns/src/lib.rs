//! DNS for Antimony: the normalised [`DnsEvent`], decoders for DNS log formats, and
//! domain-name utilities (registered domain from the Public Suffix List, IDN).
//!
//! Architecture invariant: this crate is pure and synchronous. It knows nothing of timely,
//! Tokio or the engine; it reads bytes and returns values or typed errors, never panics on
//! input, and allocates in proportion to the input it is given.
//!
//! # Modules
//!
//! - [`event`]: [`DnsEvent`], the one record every decoder produces.
//! - [`formats`]: one decoder per log format behind [`formats::LineDecoder`], the [`Format`]
//!   registry and [`formats::detect_format`]. The formats:
//!   - [`formats::windows_debug`]: Windows DNS Server debug log (`dns.log`) packet lines;
//!   - [`formats::windows_debug_details`]: the same log in "Details" mode, with the answer
//!     records of each packet's block (stateful);
//!   - [`formats::windows_etw`]: Windows DNS Server analytical (ETW) events as text;
//!   - [`formats::bind9`]: BIND 9 query log, native or through syslog;
//!   - [`formats::infoblox`]: Infoblox NIOS syslog (response log, query log, query errors,
//!     RPZ events);
//!   - [`formats::unbound`]: Unbound `log-queries` and `log-replies`, also through syslog
//!     (pfSense);
//!   - [`formats::dnsmasq`]: dnsmasq and Pi-hole query logs, with `log-queries=extra`;
//!   - [`formats::powerdns`]: PowerDNS Authoritative `log-dns-queries`;
//!   - [`formats::zeek`]: Zeek `dns.log`, tab-separated with its header (stateful);
//!   - [`formats::zeek_json`]: Zeek `dns.log` as JSON lines;
//!   - [`formats::suricata`]: Suricata `eve.json` DNS events, versions 2 and 3;
//!   - [`formats::json_lines`]: JSON lines with Antimony's field names, read and written,
//!     or of any shape through a [`formats::json_lines::FieldMap`].
//! - [`stream`]: binary sources pushed in chunks of bytes: the [`stream::StreamDecoder`]
//!   trait, [`stream::BinaryFormat`] (detection by magic number) and the counts every
//!   binary decoder keeps. The formats:
//!   - [`pcap`]: pcap and pcapng captures (link layers, IPv4/IPv6 with fragment
//!     reassembly, DNS over UDP and over TCP with stream reassembly);
//!   - [`dnstap`]: dnstap in Frame Streams, with the control frames a socket handshake
//!     needs (`antimony_core::frame_streams`).
//! - [`wire`]: one DNS wire-format message into a [`DnsEvent`], with hostile-input limits.
//! - [`domain`]: name normalisation, registered domain (eTLD+1), IDN display form.
//! - [`codes`]: record type and response code mnemonics.
//! - [`time`]: civil dates and RFC 3339 timestamps.
//!
//! # Example
//!
//! ```
//! use antimony_dns::formats::{DecodeOptions, Format, LineDecoder, detect_format};
//!
//! let lines: [&[u8]; 1] = [b"26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 \
//!     127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)"];
//! let format = detect_format(&lines).unwrap();
//! assert_eq!(format, Format::Bind9);
//! let mut decoder = format.decoder(&DecodeOptions::default());
//! for line in lines {
//!     match decoder.decode_line(line) {
//!         Ok(Some(event)) => assert_eq!(event.registered_domain(), "google.com"),
//!         Ok(None) => {} // a header or another kind of line
//!         Err(e) => eprintln!("file:line: {e}"),
//!     }
//! }
//! ```

pub mod codes;
pub mod dnstap;
pub mod domain;
pub mod event;
pub mod formats;
pub mod pcap;
pub mod stream;
/// Civil dates and RFC 3339 timestamps (antimony-core's, which the I/O edges share).
pub use antimony_core::time;
pub mod wire;

pub use event::{Answer, Direction, DnsEvent, KeyField, TimestampMicros, Transport};
pub use formats::{DecodeOptions, Format, LineDecoder, ParseError};
