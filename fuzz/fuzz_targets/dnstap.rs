//! The input as a dnstap Frame Streams stream, whole and in chunks: no panic, the same
//! items both ways, and every event well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| antimony_fuzz::binary::stream(
    antimony_dns::stream::BinaryFormat::Dnstap,
    data
));
