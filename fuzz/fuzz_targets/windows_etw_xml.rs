//! Every line of the input through the `windows-etw-xml` decoder: no panic, and every event accepted
//! is well formed and survives a JSON round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| antimony_fuzz::decode_lines("windows-etw-xml", data));
