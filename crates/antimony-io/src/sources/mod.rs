//! Spouts.

pub mod file;
