//! Protected brands: the brands-file format and each brand's label and suffix.

use thiserror::Error;

use super::fold::fold_label;

/// Why a brand list was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BrandError {
    /// A domain on a line is not a domain name.
    #[error("line {line}: {domain:?} is not a domain name")]
    BadDomain {
        /// 1-based line number.
        line: usize,
        /// The text.
        domain: String,
    },
    /// More brands than an id can number.
    #[error("too many brands (at most 65,535)")]
    TooMany,
}

/// One protected brand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brand {
    /// Main domain (`paypal.com`).
    pub domain: String,
    /// Its label as written (`paypal`).
    pub raw: String,
    /// Its label folded (see the module docs).
    pub label: String,
    /// Its public suffix (`com`).
    pub suffix: String,
    /// Every domain it owns (the main one included).
    pub own: Vec<String>,
}

/// Parsed brands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Brands(pub Vec<Brand>);

impl Brands {
    /// Parses the brands-file format (see the [module docs](super)).
    pub fn parse(text: &str) -> Result<Self, BrandError> {
        let mut brands = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut own = Vec::new();
            for field in line.split([' ', '\t', ',']).filter(|f| !f.is_empty()) {
                let d = antimony_dns::domain::normalise(field)
                    .ok()
                    .filter(|d| d.contains('.'))
                    .ok_or_else(|| BrandError::BadDomain {
                        line: i + 1,
                        domain: field.to_owned(),
                    })?;
                own.push(d);
            }
            let domain = own[0].clone();
            let (label, suffix) = split_brand(&domain);
            brands.push(Brand {
                label: fold_label(&label),
                raw: label,
                suffix,
                domain,
                own,
            });
        }
        if brands.len() > usize::from(u16::MAX) {
            return Err(BrandError::TooMany);
        }
        Ok(Brands(brands))
    }
}

/// A brand domain's label and suffix: by the public suffix list, or at the first dot for a
/// brand that is itself a public suffix (`gov.qa`).
fn split_brand(domain: &str) -> (String, String) {
    let rd = antimony_dns::domain::registered_domain(domain).unwrap_or(domain);
    let (label, suffix) = rd.split_once('.').unwrap_or((rd, ""));
    (label.to_owned(), suffix.to_owned())
}
