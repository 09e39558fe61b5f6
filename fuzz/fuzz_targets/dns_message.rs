//! The input as one DNS wire-format message: no panic, and an accepted event well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| antimony_fuzz::binary::message(data));
