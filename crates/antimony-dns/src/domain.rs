//! Domain names: normalisation, registered domain (eTLD+1) and IDN forms.
//!
//! The registered domain comes from the Public Suffix List compiled into the `psl` crate
//! (fastest of the three PSL crates measured, and republished whenever the list changes).
//! Internationalised names are kept in their ASCII (punycode) form, the form DNS carries;
//! [`to_unicode`] gives the form a person reads.

use thiserror::Error;

/// The longest name DNS allows in presentation form (253 characters, no trailing dot).
pub const MAX_NAME_LEN: usize = 253;
/// The longest label DNS allows.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NameError {
    /// Longer than [`MAX_NAME_LEN`].
    #[error("name is {0} bytes long, more than DNS allows ({MAX_NAME_LEN})")]
    TooLong(usize),
    /// A label longer than [`MAX_LABEL_LEN`].
    #[error("a label is {0} bytes long, more than DNS allows ({MAX_LABEL_LEN})")]
    LabelTooLong(usize),
    /// An empty label (`a..b`).
    #[error("empty label")]
    EmptyLabel,
    /// A byte that has no place in a name (space, control character).
    #[error("character {0:?} is not allowed in a name")]
    BadCharacter(char),
    /// Unicode that IDNA refuses.
    #[error("invalid internationalised name")]
    Idna,
}

/// Normalises `raw` into `out` (which the caller has cleared): lower case, no trailing dot,
/// Unicode labels converted to punycode. The root name `.` becomes the empty string.
pub fn normalise_into(raw: &str, out: &mut String) -> Result<(), NameError> {
    let trimmed = raw.strip_suffix('.').unwrap_or(raw);
    if trimmed.is_ascii() {
        check_ascii(trimmed)?;
        let start = out.len();
        out.push_str(trimmed);
        // Only this call's bytes: the caller may have cleared `out`, but need not have.
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        Ok(())
    } else {
        let ascii = idna::domain_to_ascii(trimmed).map_err(|_| NameError::Idna)?;
        // IDNA mapping can produce characters a name must not hold: `´` becomes a space and
        // a combining accent (found by the property test below).
        check_ascii(&ascii)?;
        out.push_str(&ascii);
        Ok(())
    }
}

/// Checks an ASCII name in one pass (this is on every decoder's hot path): no blanks or
/// control characters, then the length limits, in the order [`check_lengths`] reports them.
fn check_ascii(name: &str) -> Result<(), NameError> {
    let mut label_error = None;
    let mut label_len = 0usize;
    for &b in name.as_bytes() {
        if b <= b' ' || b == 0x7f {
            return Err(NameError::BadCharacter(char::from(b)));
        }
        if b == b'.' {
            if label_error.is_none() {
                label_error = label_problem(label_len);
            }
            label_len = 0;
        } else {
            label_len += 1;
        }
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if name.is_empty() {
        return Ok(());
    }
    match label_error.or_else(|| label_problem(label_len)) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn label_problem(len: usize) -> Option<NameError> {
    match len {
        0 => Some(NameError::EmptyLabel),
        1..=MAX_LABEL_LEN => None,
        _ => Some(NameError::LabelTooLong(len)),
    }
}

/// Normalises a name into a new string (see [`normalise_into`]).
pub fn normalise(raw: &str) -> Result<String, NameError> {
    let mut out = String::with_capacity(raw.len());
    normalise_into(raw, &mut out)?;
    Ok(out)
}

/// The length rules stated plainly; the definition [`check_ascii`] is tested against.
#[cfg(test)]
fn check_lengths(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Ok(());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong(label.len()));
        }
    }
    Ok(())
}

/// Byte offset where the registered domain (eTLD+1) of a normalised name starts, or `None`
/// when the name has none (it is itself a public suffix, or has one label).
pub fn registered_domain_start(name: &str) -> Option<usize> {
    let domain = psl::domain(name.as_bytes())?;
    let len = domain.as_bytes().len();
    // psl treats an unlisted TLD as a suffix by the default `*` rule, which is what we want:
    // `corp.qa` and `example.local` both get a registered domain.
    Some(name.len() - len)
}

/// The registered domain (eTLD+1) of a normalised name, if it has one.
pub fn registered_domain(name: &str) -> Option<&str> {
    registered_domain_start(name).map(|start| &name[start..])
}

/// The public suffix of a normalised name (`co.uk` for `www.bbc.co.uk`).
pub fn public_suffix(name: &str) -> Option<&str> {
    let suffix = psl::suffix(name.as_bytes())?;
    Some(&name[name.len() - suffix.as_bytes().len()..])
}

/// The Unicode form of a normalised name, for display (`xn--mnchen-3ya.de` -> `münchen.de`).
/// Labels that are not valid punycode are left as they are.
pub fn to_unicode(name: &str) -> String {
    if !name.contains("xn--") {
        return name.to_owned();
    }
    idna::domain_to_unicode(name).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, normalised: &str, registered: Option<&str>) {
        let name = normalise(raw).expect("valid name");
        assert_eq!(name, normalised, "normalise({raw:?})");
        assert_eq!(
            registered_domain(&name),
            registered,
            "registered_domain({name:?})"
        );
    }

    #[test]
    fn normalises_and_finds_registered_domain() {
        check("WWW.Example.COM.", "www.example.com", Some("example.com"));
        check("ns1.ctc.gov.qa", "ns1.ctc.gov.qa", Some("ctc.gov.qa"));
        check("www.bbc.co.uk", "www.bbc.co.uk", Some("bbc.co.uk"));
        check("co.uk", "co.uk", None);
        check("münchen.de", "xn--mnchen-3ya.de", Some("xn--mnchen-3ya.de"));
        check("", "", None);
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(normalise("a b.com"), Err(NameError::BadCharacter(' ')));
        assert_eq!(normalise("a..com"), Err(NameError::EmptyLabel));
        assert!(matches!(
            normalise(&"a".repeat(64)),
            Err(NameError::LabelTooLong(64))
        ));
    }

    /// The straightforward definition that the one-pass [`check_ascii`] must agree with.
    fn reference(raw: &str) -> Result<String, NameError> {
        let trimmed = raw.strip_suffix('.').unwrap_or(raw);
        if let Some(b) = trimmed.bytes().find(|&b| b <= b' ' || b == 0x7f) {
            return Err(NameError::BadCharacter(char::from(b)));
        }
        let out = trimmed.to_ascii_lowercase();
        check_lengths(&out)?;
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn one_pass_check_agrees_with_the_definition(raw in "[a-zA-Z0-9.\\-_ \t\x00\x7f]{0,300}") {
            proptest::prop_assert_eq!(normalise(&raw), reference(&raw));
        }

        #[test]
        fn normalising_twice_changes_nothing(raw in "\\PC{0,80}") {
            if let Ok(once) = normalise(&raw) {
                proptest::prop_assert_eq!(normalise(&once), Ok(once.clone()));
                if let Some(rd) = registered_domain(&once) {
                    proptest::prop_assert!(once.ends_with(rd));
                }
            }
        }
    }

    #[test]
    fn idna_output_is_checked_too() {
        assert_eq!(normalise("´"), Err(NameError::BadCharacter(' ')));
    }

    #[test]
    fn unicode_form_for_display() {
        assert_eq!(to_unicode("xn--mnchen-3ya.de"), "münchen.de");
        assert_eq!(to_unicode("example.com"), "example.com");
    }
}
