//! Storm's multilang protocol, as bytes: what we write to a component's standard input and
//! what we read from its standard output.
//!
//! Every message is JSON followed by a line `end`. Reading is bounded: a line longer than
//! `max_line_bytes` or a message longer than `max_message_bytes` is garbage, never held whole,
//! and so is anything that is not a JSON object (or, for task ids, a list) with the fields its
//! command needs. Garbage is reported to the caller, which restarts the process.

use std::io::BufRead;

use serde_json::{Map, Value};

/// Values of one tuple, each as its JSON text: what crosses workers and processes (a
/// serialisable record cannot carry `serde_json::Value`, which bincode cannot read back),
/// what a fields grouping hashes, and what is written to a subprocess without re-encoding.
pub type JsonValues = Vec<String>;

/// A message a multilang subprocess sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// The handshake's answer: the subprocess's pid.
    Pid(u32),
    /// A tuple emitted.
    Emit(Emit),
    /// A bolt acknowledges the tuple `id`; a spout is told its tuple `id` was processed.
    Ack(String),
    /// A bolt fails the tuple `id`.
    Fail(String),
    /// A line for our logs, at Storm's level (0 trace .. 4 error).
    Log {
        /// The text.
        msg: String,
        /// Storm's level: 0 trace, 1 debug, 2 info, 3 warn, 4 error.
        level: u8,
    },
    /// An error the component reports (a Python traceback).
    Error(String),
    /// A bolt's answer to a heartbeat; a spout's end of turn.
    Sync,
    /// A metric the component reports (counted, not kept).
    Metrics(String),
}

/// An `emit` command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Emit {
    /// The ids of the input tuples this one is anchored to (bolts).
    pub anchors: Vec<String>,
    /// The spout's message id, for a reliable spout emit.
    pub id: Option<String>,
    /// The stream named, if any (`default` otherwise).
    pub stream: Option<String>,
    /// A direct emit's task.
    pub task: Option<i64>,
    /// The values, each as JSON text.
    pub tuple: JsonValues,
    /// Whether the subprocess waits for the list of task ids the tuple went to.
    pub need_task_ids: bool,
}

/// Why what a subprocess wrote is not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Garbage {
    /// A line longer than the cap.
    #[error("a line of more than {0} bytes")]
    LineTooLong(usize),
    /// A message longer than the cap.
    #[error("a message of more than {0} bytes")]
    MessageTooLong(usize),
    /// Not JSON, or not UTF-8.
    #[error("not JSON ({0}): {1}")]
    NotJson(String, String),
    /// JSON, but not a message we know.
    #[error("not a multilang message ({0}): {1}")]
    Unknown(String, String),
}

/// Limits on what is read from a subprocess.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    /// The longest line read.
    pub max_line_bytes: usize,
    /// The longest message (its lines together).
    pub max_message_bytes: usize,
}

/// How much of a bad message goes into a reason: enough to recognise it.
const SHOWN: usize = 200;

fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]);
    let mut text = text.trim_end().to_owned();
    if bytes.len() > SHOWN {
        text.push_str("...");
    }
    text
}

/// Reads the next message; `Ok(None)` at the end of the output (the process closed it).
pub fn read_message(
    reader: &mut impl BufRead,
    limits: ReadLimits,
) -> std::io::Result<Option<Result<Message, Garbage>>> {
    let mut message = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let cap = limits.max_line_bytes as u64 + 1;
        let n = std::io::Read::take(&mut *reader, cap).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        let complete = line.last() == Some(&b'\n');
        if !complete && line.len() > limits.max_line_bytes {
            return Ok(Some(Err(Garbage::LineTooLong(limits.max_line_bytes))));
        }
        let text = trim_newline(&line);
        if text == b"end" {
            return Ok(Some(parse_message(&message)));
        }
        if message.len() + line.len() > limits.max_message_bytes {
            return Ok(Some(Err(Garbage::MessageTooLong(limits.max_message_bytes))));
        }
        message.extend_from_slice(&line);
        if !complete {
            // The output ended inside a message.
            return Ok(Some(Err(Garbage::NotJson(
                "the output ended before `end`".to_owned(),
                shown(&message),
            ))));
        }
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses one message's JSON text.
pub fn parse_message(text: &[u8]) -> Result<Message, Garbage> {
    let value: Value =
        serde_json::from_slice(text).map_err(|e| Garbage::NotJson(e.to_string(), shown(text)))?;
    let unknown = |why: &str| Garbage::Unknown(why.to_owned(), shown(text));
    let Value::Object(map) = value else {
        return Err(unknown("not an object"));
    };
    if let Some(pid) = map.get("pid") {
        return pid
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .map(Message::Pid)
            .ok_or_else(|| unknown("`pid` is not a process id"));
    }
    let command = map
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| unknown("no `command`"))?;
    match command {
        "emit" => parse_emit(&map).map(Message::Emit).map_err(&unknown),
        "ack" => id_of(&map)
            .map(Message::Ack)
            .ok_or_else(|| unknown("no `id`")),
        "fail" => id_of(&map)
            .map(Message::Fail)
            .ok_or_else(|| unknown("no `id`")),
        "log" => Ok(Message::Log {
            msg: text_of(map.get("msg")),
            level: map
                .get("level")
                .and_then(Value::as_u64)
                .map_or(2, |l| l.min(4) as u8),
        }),
        "error" => Ok(Message::Error(text_of(map.get("msg")))),
        "sync" => Ok(Message::Sync),
        "metrics" => Ok(Message::Metrics(text_of(map.get("name")))),
        _ => Err(unknown("unknown command")),
    }
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Ids are strings in the protocol (languages without 64-bit integers); numbers are taken too.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn id_of(map: &Map<String, Value>) -> Option<String> {
    map.get("id").and_then(id_text)
}

fn parse_emit(map: &Map<String, Value>) -> Result<Emit, &'static str> {
    let tuple = match map.get("tuple") {
        Some(Value::Array(values)) => values.iter().map(Value::to_string).collect(),
        _ => return Err("an emit without a `tuple` list"),
    };
    let anchors = match map.get("anchors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids.iter().filter_map(id_text).collect(),
        Some(_) => return Err("`anchors` is not a list"),
    };
    Ok(Emit {
        anchors,
        id: map.get("id").and_then(id_text),
        stream: map.get("stream").and_then(Value::as_str).map(str::to_owned),
        task: map.get("task").and_then(Value::as_i64),
        tuple,
        need_task_ids: map
            .get("need_task_ids")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// Appends a tuple message for a bolt: `values` are JSON texts, written as they are.
pub fn write_tuple(
    out: &mut Vec<u8>,
    id: &str,
    comp: &str,
    stream: &str,
    task: i64,
    values: &[String],
) {
    out.extend_from_slice(b"{\"id\":");
    write_json_str(out, id);
    out.extend_from_slice(b",\"comp\":");
    write_json_str(out, comp);
    out.extend_from_slice(b",\"stream\":");
    write_json_str(out, stream);
    out.extend_from_slice(b",\"task\":");
    out.extend_from_slice(task.to_string().as_bytes());
    out.extend_from_slice(b",\"tuple\":[");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(b"]}\nend\n");
}

/// Appends the answer to an emit that asked for task ids.
pub fn write_task_ids(out: &mut Vec<u8>, ids: &[i64]) {
    out.push(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(id.to_string().as_bytes());
    }
    out.extend_from_slice(b"]\nend\n");
}

/// Appends a spout command (`next`, `activate`, `deactivate`; `ack` and `fail` with an id).
pub fn write_command(out: &mut Vec<u8>, command: &str, id: Option<&str>) {
    let mut map = Map::new();
    map.insert("command".to_owned(), Value::String(command.to_owned()));
    if let Some(id) = id {
        map.insert("id".to_owned(), Value::String(id.to_owned()));
    }
    out.extend_from_slice(Value::Object(map).to_string().as_bytes());
    out.extend_from_slice(b"\nend\n");
}

/// Appends any JSON message (the handshake).
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(value.to_string().as_bytes());
    out.extend_from_slice(b"\nend\n");
}

fn write_json_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(Value::String(text.to_owned()).to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReadLimits = ReadLimits {
        max_line_bytes: 64,
        max_message_bytes: 128,
    };

    fn read_all(input: &[u8]) -> Vec<Result<Message, Garbage>> {
        let mut reader = std::io::BufReader::new(input);
        let mut out = Vec::new();
        while let Ok(Some(message)) = read_message(&mut reader, LIMITS) {
            let stop = message.is_err();
            out.push(message);
            if stop {
                break;
            }
        }
        out
    }

    #[test]
    fn reads_the_commands_of_storm_py() {
        let input = b"{\"pid\": 42}\nend\n{\"command\": \"emit\", \"anchors\": [\"7\"], \"tuple\": [\"w\", 1]}\nend\n{\"command\":\"ack\",\"id\":\"7\"}\nend\n{\"command\":\"sync\"}\nend\n";
        let messages = read_all(input);
        assert_eq!(messages[0], Ok(Message::Pid(42)));
        assert_eq!(
            messages[1],
            Ok(Message::Emit(Emit {
                anchors: vec!["7".to_owned()],
                tuple: vec!["\"w\"".to_owned(), "1".to_owned()],
                need_task_ids: true,
                ..Emit::default()
            }))
        );
        assert_eq!(messages[2], Ok(Message::Ack("7".to_owned())));
        assert_eq!(messages[3], Ok(Message::Sync));
    }

    #[test]
    fn a_message_may_span_lines() {
        let messages = read_all(b"{\"command\":\n\"log\", \"msg\": \"hi\"}\nend\n");
        assert_eq!(
            messages,
            [Ok(Message::Log {
                msg: "hi".to_owned(),
                level: 2
            })]
        );
    }

    #[test]
    fn hostile_output_is_garbage_never_a_panic() {
        let cases: &[&[u8]] = &[
            b"hello from print()\nend\n",
            b"[1, 2]\nend\n",
            b"{\"command\": \"emit\"}\nend\n",
            b"{\"command\": \"emit\", \"tuple\": 3}\nend\n",
            b"{\"command\": \"ack\"}\nend\n",
            b"{\"command\": \"launch\"}\nend\n",
            b"{\"pid\": -1}\nend\n",
            b"{\"pid\": \"x\"}\nend\n",
            b"\xff\xfe\nend\n",
            b"{\"command\": \"sync\"",
            b"{}\nend\n",
        ];
        for case in cases {
            let messages = read_all(case);
            assert!(
                matches!(messages.last(), Some(Err(_))),
                "{:?} gave {messages:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn long_lines_and_messages_are_cut_off() {
        let long_line = [b'x'; 100];
        assert_eq!(
            read_all(&long_line),
            [Err(Garbage::LineTooLong(LIMITS.max_line_bytes))]
        );
        let many_lines = b"{\"command\":\n".repeat(20);
        assert_eq!(
            read_all(&many_lines),
            [Err(Garbage::MessageTooLong(LIMITS.max_message_bytes))]
        );
    }

    #[test]
    fn tuples_are_written_as_storm_writes_them() {
        let mut out = Vec::new();
        write_tuple(
            &mut out,
            "12",
            "lines",
            "default",
            3,
            &["\"a b\"".to_owned(), "2".to_owned()],
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "{\"id\":\"12\",\"comp\":\"lines\",\"stream\":\"default\",\"task\":3,\"tuple\":[\"a b\",2]}\nend\n"
        );
        let mut reread = std::io::BufReader::new(&out[..out.len() - 4]);
        let mut line = String::new();
        let _ = reread.read_line(&mut line);
        let value: Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(value["tuple"][0], "a b");
    }
}
