//! The name lists the generator draws from, read at run time from the shared data folder
//! (`../shared/data`, see its PROVENANCE.md), so the binary builds without it.

use std::path::{Path, PathBuf};

/// Names packed in one buffer: no allocation per name, and a compact working set.
#[derive(Clone, Debug, Default)]
pub struct Names {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl Names {
    /// Adds a name if it is a plain DNS name (see [`clean_name`]); says whether it was kept.
    pub fn push(&mut self, name: &str) -> bool {
        match clean_name(name) {
            Some(clean) => {
                self.bytes.extend_from_slice(clean.as_bytes());
                self.ends.push(self.bytes.len() as u32);
                true
            }
            None => false,
        }
    }

    /// The `i`th name.
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// A name in lower case if it is one every log format can carry: ASCII letters, digits,
/// hyphens and underscores in dot-separated labels of 1 to 63 bytes, 253 bytes at most.
/// Internationalised names (the homoglyph lookalikes) are left out: a server logs their
/// punycode form, which would need an IDNA step here.
pub fn clean_name(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then_some(name)
}

/// One DGA family's names, as a range of [`Workload::dga`].
#[derive(Clone, Debug)]
pub struct Family {
    /// The family name (`banjori`, `locky`...).
    pub name: String,
    /// Its names' indices in [`Workload::dga`].
    pub range: std::ops::Range<usize>,
}

/// Every list the traffic model draws from.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// Popular names, most popular first (Zipf rank order).
    pub benign: Names,
    /// DGA names, grouped by family in generation order.
    pub dga: Names,
    /// The DGA families.
    pub families: Vec<Family>,
    /// Names on the threat-intel block list.
    pub blocklist: Names,
    /// Lookalikes of well-known brands (dnstwist permutations).
    pub lookalikes: Names,
}

/// The files read under the data folder.
pub const BENIGN: &str = "benign/benign_top.txt";
/// DGA names, `family,domain` per line.
pub const DGA: &str = "dga/dga_train.csv";
/// The block list, one name per line.
pub const BLOCKLIST: &str = "threatintel/blocklist.txt";
/// Lookalikes, `original,fuzzer,domain` per line.
pub const LOOKALIKES: &str = "lookalikes/lookalikes_dnstwist.csv";

/// Why the generator's lists cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The folder is not laid out like the shared data folder.
    #[error(
        "{0} does not hold the generator's lists (it needs {BENIGN}, {DGA}, {BLOCKLIST} and \
         {LOOKALIKES}); point --data at the shared data folder"
    )]
    NotADataFolder(PathBuf),
    /// A list cannot be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A list holds no name the model can use.
    #[error("no usable {0} in the lists")]
    Empty(&'static str),
}

impl Workload {
    /// Reads the lists from a data folder laid out like `../shared/data`.
    pub fn load(dir: &Path) -> Result<Workload, DataError> {
        if !dir.join(BENIGN).is_file() {
            return Err(DataError::NotADataFolder(dir.to_path_buf()));
        }
        let read = |rel: &str| -> Result<String, DataError> {
            let path = dir.join(rel);
            std::fs::read_to_string(&path).map_err(|error| DataError::Read { path, error })
        };
        let benign = read(BENIGN)?;
        let dga = read(DGA)?;
        let blocklist = read(BLOCKLIST)?;
        let lookalikes = read(LOOKALIKES)?;
        let dga_rows: Vec<(&str, &str)> = dga
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(','))
            .collect();
        let lookalike_names: Vec<&str> = lookalikes
            .lines()
            .skip(1)
            .filter_map(|line| line.rsplit(',').next())
            .collect();
        let workload = Workload::from_lists(
            benign.lines().filter(|l| !l.starts_with('#')),
            dga_rows,
            blocklist.lines().filter(|l| !l.starts_with('#')),
            lookalike_names,
        );
        workload.check()?;
        Ok(workload)
    }

    /// Builds the lists from names in memory (tests, other data sets). DGA rows are
    /// `(family, name)`; rows of one family should be adjacent, as in the shared CSV.
    pub fn from_lists<'a>(
        benign: impl IntoIterator<Item = &'a str>,
        dga: impl IntoIterator<Item = (&'a str, &'a str)>,
        blocklist: impl IntoIterator<Item = &'a str>,
        lookalikes: impl IntoIterator<Item = &'a str>,
    ) -> Workload {
        let mut w = Workload::default();
        for name in benign {
            w.benign.push(name);
        }
        for (family, name) in dga {
            if !w.dga.push(name) {
                continue;
            }
            let index = w.dga.len() - 1;
            match w.families.last_mut() {
                Some(last) if last.name == family => last.range.end = index + 1,
                _ => w.families.push(Family {
                    name: family.to_owned(),
                    range: index..index + 1,
                }),
            }
        }
        for name in blocklist {
            w.blocklist.push(name);
        }
        for name in lookalikes {
            w.lookalikes.push(name);
        }
        w
    }

    /// Refuses lists the model cannot draw from.
    pub fn check(&self) -> Result<(), DataError> {
        for (what, names) in [
            ("popular names", &self.benign),
            ("DGA names", &self.dga),
            ("block-list names", &self.blocklist),
            ("lookalikes", &self.lookalikes),
        ] {
            if names.is_empty() {
                return Err(DataError::Empty(what));
            }
        }
        Ok(())
    }
}

/// The default data folder: `../shared/data` from the current directory, else the one beside
/// the source tree this binary was built from (handy when running from another folder).
pub fn default_data_dir() -> PathBuf {
    let here = PathBuf::from("../shared/data");
    if here.join(BENIGN).is_file() {
        return here;
    }
    // This crate is `crates/antimony-gen` of the workspace; the data folder sits beside the
    // workspace.
    let beside_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if beside_source.join(BENIGN).is_file() {
        return beside_source;
    }
    here
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_or_refused() {
        assert_eq!(clean_name("Google.COM."), Some("google.com".to_owned()));
        assert_eq!(clean_name("_dmarc.x.org"), Some("_dmarc.x.org".to_owned()));
        assert_eq!(clean_name("gооgle.com"), None, "Cyrillic o");
        assert_eq!(clean_name("a..b"), None);
        assert_eq!(clean_name(&format!("{}.com", "a".repeat(64))), None);
        assert_eq!(clean_name(""), None);
    }

    #[test]
    fn families_are_ranges() {
        let w = Workload::from_lists(
            ["a.com"],
            [("x", "a1.net"), ("x", "a2.net"), ("y", "b1.net")],
            ["bad.com"],
            ["g00gle.com"],
        );
        assert_eq!(w.families.len(), 2);
        assert_eq!(w.families[0].range, 0..2);
        assert_eq!(w.dga.get(2), b"b1.net");
        w.check().expect("the lists are usable");
    }
}
