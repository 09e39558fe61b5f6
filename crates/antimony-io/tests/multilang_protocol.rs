//! The multilang reader on hostile output: whatever a subprocess writes, reading ends in
//! messages, garbage or the end of the output, never a panic, and never holds more than
//! the caps.

use std::io::BufReader;

use antimony_io::multilang::protocol::{Garbage, ReadLimits, read_message};
use proptest::prelude::*;

const LIMITS: ReadLimits = ReadLimits {
    max_line_bytes: 256,
    max_message_bytes: 1024,
};

fn read_all(bytes: &[u8]) -> usize {
    let mut reader = BufReader::new(bytes);
    let mut n = 0;
    // Each call consumes at least one byte or ends: the loop is bounded by the input.
    while let Ok(Some(message)) = read_message(&mut reader, LIMITS) {
        n += 1;
        if let Err(Garbage::NotJson(_, shown) | Garbage::Unknown(_, shown)) = &message {
            assert!(
                shown.chars().count() <= 210,
                "a reason shows a bounded piece: {shown}"
            );
        }
        if n > bytes.len() + 1 {
            panic!("more messages than bytes");
        }
    }
    n
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read_all(&bytes);
    }

    #[test]
    fn lines_of_json_fragments_never_panic(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("end".to_owned()),
                Just("{\"command\": \"emit\", \"tuple\": [1, \"a\"], \"anchors\": [\"3\"]}".to_owned()),
                Just("{\"command\": \"ack\", \"id\": 7}".to_owned()),
                Just("{\"pid\": 99999999999}".to_owned()),
                Just("[1, 2, 3]".to_owned()),
                "[ -~]{0,300}",
            ],
            0..40,
        )
    ) {
        let text = lines.join("\n");
        read_all(text.as_bytes());
    }
}

#[test]
fn a_stream_of_newlines_is_bounded_by_the_message_cap() {
    let many = vec![b'\n'; 10_000];
    let mut reader = BufReader::new(&many[..]);
    let first = read_message(&mut reader, LIMITS).ok().flatten();
    assert_eq!(
        first,
        Some(Err(Garbage::MessageTooLong(LIMITS.max_message_bytes)))
    );
}
