// Each test binary uses part of the receivers.
#![allow(dead_code)]

//! Real receivers for the network outputs' tests: an HTTP server and syslog listeners.

pub mod http;
pub mod syslog;
