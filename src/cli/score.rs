//! `antimony score`: bulk triage, one verdict per name read on standard input.
//!
//! Output, one line per input line: `name<TAB>verdict<TAB>score<TAB>detectors`, where the
//! name is the input line trimmed, the verdict `alert`, `ok` or `invalid` (not a domain
//! name), the score 0-100 and the detectors that fired comma-separated (`-` for none). The
//! loop reuses its buffers: a name costs no allocation unless a detector fires.

use std::io::{BufRead, BufReader, BufWriter, Write};

use antimony_detect::{Detectors, Name};

use super::ScoreArgs;
use super::check::detect_config;

pub(super) fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let config = detect_config(
        &args.blocklists,
        args.no_builtin_lists,
        args.brands.as_ref(),
    );
    let cwd = std::env::current_dir()?;
    let (mut detectors, _) = Detectors::build(&config, |path| {
        antimony_components::detect::read(&cwd, path)
    })?;
    if let Some(t) = args.threshold {
        detectors.set_alert_threshold(t);
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    run(
        &detectors,
        BufReader::with_capacity(1 << 16, stdin),
        BufWriter::with_capacity(1 << 16, stdout),
    )
}

/// Scores every line of `input` and writes the verdicts to `out`.
pub(crate) fn run(
    detectors: &Detectors,
    mut input: impl BufRead,
    mut out: impl Write,
) -> anyhow::Result<()> {
    let mut line = Vec::with_capacity(256);
    let mut qname = String::with_capacity(256);
    let mut fired: Vec<&'static str> = Vec::with_capacity(8);
    let mut digits = [0u8; 3];
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let raw = String::from_utf8_lossy(&line);
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        out.write_all(raw.as_bytes())?;
        qname.clear();
        if antimony_dns::domain::normalise_into(raw, &mut qname).is_err() || qname.is_empty() {
            out.write_all(b"\tinvalid\t0\t-\n")?;
            continue;
        }
        let rd = antimony_dns::domain::registered_domain_start(&qname)
            .and_then(|start| qname.get(start..))
            .unwrap_or("");
        let name = Name {
            qname: &qname,
            registered_domain: rd,
            qtype: 1,
        };
        fired.clear();
        let verdict = detectors.verdict(&name, |d| {
            if !fired.contains(&d) {
                fired.push(d);
            }
        });
        out.write_all(if verdict.alert {
            b"\talert\t"
        } else {
            b"\tok\t"
        })?;
        out.write_all(format_u8(verdict.score, &mut digits))?;
        out.write_all(b"\t")?;
        if fired.is_empty() {
            out.write_all(b"-")?;
        }
        for (i, d) in fired.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(d.as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The decimal digits of `n`, without allocating.
fn format_u8(n: u8, buf: &mut [u8; 3]) -> &[u8] {
    let mut i = 3;
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + n % 10;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_detect::DetectConfig;

    #[test]
    fn one_line_per_name() {
        let config = DetectConfig::default();
        let (d, _) = Detectors::build(&config, |p| {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                p.display().to_string(),
            ))
        })
        .expect("build");
        // A strong keyword rule (a brand next to "update" alone is only low, not an alert).
        let input = b"google.com\nsvchost-update.net\n\nnot a name\nafadsfasdfsafwerwqerqqiye.cn\n";
        let mut out = Vec::new();
        run(&d, &input[..], &mut out).expect("run");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "google.com\tok\t0\t-");
        assert!(
            lines[1].starts_with("svchost-update.net\talert\t"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with("\tkeyword"), "{}", lines[1]);
        assert_eq!(lines[2], "not a name\tinvalid\t0\t-");
        assert!(lines[3].ends_with("\tdga"), "{}", lines[3]);
        assert_eq!(lines.len(), 4);
        assert_eq!(format_u8(100, &mut [0; 3]), b"100");
        assert_eq!(format_u8(7, &mut [0; 3]), b"7");
    }
}
