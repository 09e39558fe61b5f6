//! Antimony: real-time DNS threat detection on a stream-processing engine.
//!
//! This crate wires the parts: the [`Tuple`](record::Tuple) record that DNS topologies move,
//! the built-in components ([`components::registry`]), the bundled data ([`assets`]) and the
//! command line ([`cli`]).
//!
//! Architecture invariant: the binary is the only crate that knows both DNS and the engine.

pub mod assets;
pub mod cli;
pub mod components;
pub mod r#gen;
pub mod record;
