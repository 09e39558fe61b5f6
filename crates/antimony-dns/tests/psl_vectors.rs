//! The Public Suffix List's official test vectors (`../shared/data/psl`) against
//! [`registered_domain`], the crate's eTLD+1.
//!
//! The two files hold the same vectors in two forms: `test_psl.txt` as libpsl's
//! `checkPublicSuffix('input', 'expected');` calls (`null` unquoted), `tests.txt` as
//! `input expected` lines. Lines starting `// ` are comments. The four vectors about the
//! `local` TLD are commented out upstream (`//checkPublicSuffix('local', null);`,
//! `//local null`), since the list does not hold that TLD; they are read and run too, and
//! where we differ from them is listed like any other exception.
//!
//! Both files must give the same vectors (78 live and 4 disabled), and every vector is run two
//! ways:
//!
//! - **As the crate uses it**: [`registered_domain`] takes a *normalised* name, and every
//!   decoder normalises a name before asking for its registered domain. So the input goes
//!   through [`normalise`] (lower case, no trailing dot, Unicode to punycode; a name it refuses
//!   has no registered domain), and the expected value is put in the same form (the crate keeps
//!   names as punycode by design; the vectors give each IDN case in both forms, so the IDNA
//!   conversion is itself checked by the punycoded half). Every live vector must match; the
//!   only differences allowed are listed in [`NORMALISED_EXCEPTIONS`].
//! - **Raw**: the input straight to [`registered_domain`], the result compared with the
//!   expected value as written. It differs, by design, exactly where the input is not a
//!   normalised name: [`RAW_EXCEPTIONS`].
//!
//! libpsl's `null` input has no `&str` counterpart; it is run as the empty name (the root),
//! which, like null, has no registered domain.

use antimony_dns::domain::{normalise, registered_domain};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/psl");

/// Vectors whose expected value we do not give after normalisation, with why.
const NORMALISED_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "example.local",
        "disabled upstream; `local` is not on the list, and the crate applies the default `*` \
         rule to unlisted TLDs on purpose (domain.rs: `example.local` gets a registered domain)",
    ),
    ("b.example.local", "as example.local"),
    ("a.b.example.local", "as example.local"),
];

/// Vectors whose expected value we do not give when the input is passed unnormalised: the
/// ones above, and the inputs that are not normalised names.
const RAW_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "example.COM",
        "not lower case: registered_domain takes a normalised name and keeps its case",
    ),
    ("WwW.example.COM", "not lower case, as example.COM"),
    (
        ".example.com",
        "a leading dot is an empty label: normalise refuses the name, registered_domain does \
         not check it and gives example.com",
    ),
    (".example.example", "an empty label, as .example.com"),
    ("example.local", "as after normalisation"),
    ("b.example.local", "as after normalisation"),
    ("a.b.example.local", "as after normalisation"),
];

/// One vector: the input and the expected registered domain (`None` for libpsl's `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Vector {
    input: Option<String>,
    expected: Option<String>,
    disabled: bool,
}

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Splits off a line's disabled-vector marker: `//` directly followed by text. A comment is
/// `// ` or a bare `//`; `None` for those and for blank lines.
fn live_or_disabled(line: &str) -> Option<(&str, bool)> {
    let line = line.trim();
    match line.strip_prefix("//") {
        _ if line.is_empty() => None,
        Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => None,
        Some(rest) => Some((rest, true)),
        None => Some((line, false)),
    }
}

/// `null` or a quoted `'name'` of `test_psl.txt`.
fn js_arg(arg: &str, line: &str) -> Option<String> {
    let arg = arg.trim();
    if arg == "null" {
        return None;
    }
    let name = arg
        .strip_prefix('\'')
        .and_then(|a| a.strip_suffix('\''))
        .unwrap_or_else(|| panic!("test_psl.txt: argument {arg:?} in {line:?}"));
    Some(name.to_owned())
}

fn parse_test_psl(text: &str) -> Vec<Vector> {
    text.lines()
        .filter_map(|line| {
            let (call, disabled) = live_or_disabled(line)?;
            let args = call
                .strip_prefix("checkPublicSuffix(")
                .and_then(|c| c.strip_suffix(");"))
                .unwrap_or_else(|| panic!("test_psl.txt: cannot read {line:?}"));
            let (input, expected) = args
                .split_once(',')
                .unwrap_or_else(|| panic!("test_psl.txt: two arguments in {line:?}"));
            Some(Vector {
                input: js_arg(input, line),
                expected: js_arg(expected, line),
                disabled,
            })
        })
        .collect()
}

fn parse_tests_txt(text: &str) -> Vec<Vector> {
    let name = |field: &str| (field != "null").then(|| field.to_owned());
    text.lines()
        .filter_map(|line| {
            let (pair, disabled) = live_or_disabled(line)?;
            let fields: Vec<&str> = pair.split_whitespace().collect();
            let [input, expected] = fields[..] else {
                panic!("tests.txt: two fields in {line:?}");
            };
            Some(Vector {
                input: name(input),
                expected: name(expected),
                disabled,
            })
        })
        .collect()
}

/// The vectors of both files, checked to be the same.
fn vectors() -> Vec<Vector> {
    let js = parse_test_psl(&read("test_psl.txt"));
    let plain = parse_tests_txt(&read("tests.txt"));
    assert_eq!(js, plain, "the two files hold different vectors");
    assert_eq!(
        js.iter().filter(|v| !v.disabled).count(),
        78,
        "live vectors"
    );
    assert_eq!(
        js.iter().filter(|v| v.disabled).count(),
        4,
        "disabled vectors"
    );
    js
}

/// Runs every vector with `run` and returns the inputs whose result is not `expect`'s
/// (printing each difference).
fn differences(
    run: impl Fn(&str) -> Option<String>,
    expect: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut differ = Vec::new();
    for v in vectors() {
        let input = v.input.as_deref().unwrap_or("");
        let got = run(input);
        let expected = v.expected.as_deref().map(&expect);
        if got != expected {
            println!("{input:?}: expected {expected:?}, got {got:?}");
            differ.push(input.to_owned());
        }
    }
    differ
}

fn names(exceptions: &[(&str, &str)]) -> Vec<String> {
    exceptions.iter().map(|(n, _)| (*n).to_owned()).collect()
}

#[test]
fn every_vector_after_normalisation() {
    let differ = differences(
        |input| {
            let name = normalise(input).ok()?;
            registered_domain(&name).map(str::to_owned)
        },
        |expected| {
            normalise(expected).unwrap_or_else(|e| panic!("expected {expected:?} refused: {e}"))
        },
    );
    assert_eq!(differ, names(NORMALISED_EXCEPTIONS));
}

#[test]
fn every_vector_unnormalised() {
    let differ = differences(
        |input| registered_domain(input).map(str::to_owned),
        str::to_owned,
    );
    assert_eq!(differ, names(RAW_EXCEPTIONS));
}
