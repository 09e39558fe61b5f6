//! JSON lines through a decoder with a field map (ECS-like dotted paths and Zeek-like
//! dotted keys): no panic, and every event accepted is well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| antimony_fuzz::decode_mapped_json(data));
