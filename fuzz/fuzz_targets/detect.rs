//! Format detection on the input's lines, then the detected format's decoder on them: no
//! panic, and every event accepted is well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| antimony_fuzz::detect_and_decode(data));
