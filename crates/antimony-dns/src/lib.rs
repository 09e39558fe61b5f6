//! DNS for Antimony: the normalised [`DnsEvent`], parsers for DNS log formats, and domain-name
//! utilities (registered domain from the Public Suffix List, IDN).
//!
//! Architecture invariant: this crate is pure and synchronous. It knows nothing of timely,
//! Tokio or the engine; it reads bytes and returns values or typed errors, never panics on
//! input, and allocates in proportion to the input it is given.

pub mod domain;
pub mod event;

pub use event::{Answer, Direction, DnsEvent, TimestampMicros, Transport};
