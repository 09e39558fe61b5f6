//! Counts as people write them on a command line.

/// Reads a count written as `1000000`, `1_000_000`, `1e6`, `100k` or `10M`.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let clean = text.replace('_', "");
    let (number, unit) = match clean.chars().last() {
        Some('k' | 'K') => (&clean[..clean.len() - 1], 1e3),
        Some('m' | 'M') => (&clean[..clean.len() - 1], 1e6),
        Some('g' | 'G') => (&clean[..clean.len() - 1], 1e9),
        _ => (clean.as_str(), 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a count such as 1000000, 1e6 or 10M"))?;
    let value = value * unit;
    if !(1.0..=1e12).contains(&value) || value.fract() != 0.0 {
        return Err(format!("`{text}` is not a whole count from 1 to 10^12"));
    }
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts() {
        assert_eq!(parse_count("1000000"), Ok(1_000_000));
        assert_eq!(parse_count("1_000"), Ok(1000));
        assert_eq!(parse_count("1e6"), Ok(1_000_000));
        assert_eq!(parse_count("2.5M"), Ok(2_500_000));
        assert_eq!(parse_count("100k"), Ok(100_000));
        assert!(parse_count("0").is_err());
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("lots").is_err());
    }
}
