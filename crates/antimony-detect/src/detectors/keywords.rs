//! Keyword rules: names that put a brand next to an update, service or account word, the
//! way malware campaigns name their servers (Carbanak's `update-java.net`, `adobe-update.net`,
//! `systemsvc.net`).
//!
//! Rules are TOML, so analysts can add their own beside the built-in set
//! ([`BUILTIN_RULES`], `rules/keywords.toml` in this crate):
//!
//! ```toml
//! [allow]
//! # Registered domains no rule fires on: the brands' own.
//! domains = ["java.com", "adobe.com"]
//!
//! [[rule]]
//! name = "fake-software-update"
//! description = "a software brand next to an update word, as in fake-update campaigns"
//! severity = "medium"           # info, low, medium, high, critical
//! score = 70                    # 0-100
//! match = "registered_domain"   # or "name" (default: registered_domain)
//! keywords = ["java", "adobe"]  # one of these must appear...
//! with = ["update", "upgrade"]  # ...and, when given, one of these too
//! patterns = ['^java-?update']  # regular expressions over the same text; one match fires
//! allow = ["oracle.com"]        # registered domains this rule never fires on
//! ```
//!
//! `match = "registered_domain"` looks at the registered domain without its public suffix
//! (`update-java` for `www.update-java.net`): the part the owner chose and paid for.
//! `match = "name"` looks at the whole name without the public suffix (`paypal.com.evil` for
//! `paypal.com.evil.net`). Keywords are plain substrings, lower case.
//!
//! Brands' own domains do not fire because single brand words never fire on their own (a
//! rule with a brand needs a companion word), and because the allow-lists exempt the brands'
//! own registered domains that do combine them (`windowsupdate.com`).
//!
//! Patterns (the `regex` crate's syntax, linear time) are compiled into one `RegexSet` per
//! scope. All keywords of all rules go into one Aho-Corasick automaton, scanned once per name; a
//! rule set holds at most [`MAX_RULES`] rules so hits fit in two 64-bit masks (no allocation
//! unless a rule fires).
//!
//! Evidence keys: `rule`, `description`, `keywords` (the words found), `scope`.

use std::fmt::Write as _;

use ahash::AHashSet;
use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};
use regex::{RegexSet, RegexSetBuilder};
use serde::Deserialize;
use thiserror::Error;

use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::alert::Severity;

/// The detector's name in alerts.
pub const DETECTOR: &str = "keyword";

/// The built-in rule set, compiled in.
pub const BUILTIN_RULES: &str = include_str!("../../rules/keywords.toml");

/// Most rules one [`Keywords`] detector holds.
pub const MAX_RULES: usize = 64;

/// Which part of a name a rule looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The registered domain without its public suffix.
    #[default]
    RegisteredDomain,
    /// The whole name without its public suffix.
    Name,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::RegisteredDomain => "registered_domain",
            Scope::Name => "name",
        }
    }
}

fn default_score() -> u8 {
    60
}

fn default_severity() -> Severity {
    Severity::Medium
}

/// One rule, as written in TOML.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Short name, shown in alerts.
    pub name: String,
    /// What the rule catches, in words (ends the alert's reason).
    #[serde(default)]
    pub description: String,
    /// Severity of a hit (default `medium`).
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// Score of a hit (default 60).
    #[serde(default = "default_score")]
    pub score: u8,
    /// Which part of the name to look at (default the registered domain).
    #[serde(default, rename = "match")]
    pub scope: Scope,
    /// One of these must appear (may be empty when `patterns` are given).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regular expressions (`regex` syntax) over the rule's scope; the rule also fires when
    /// one matches.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// When not empty, one of these must appear too.
    #[serde(default)]
    pub with: Vec<String>,
    /// Registered domains this rule never fires on.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// The `[allow]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Registered domains no rule fires on.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// A parsed rule file (see the module docs for the format).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Global allow-list.
    #[serde(default)]
    pub allow: Allow,
    /// The rules, in file order (the first of equally rated hits is reported).
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Why a rule set was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeywordError {
    /// The text is not valid TOML or does not follow the rule format.
    #[error("invalid keyword rules: {0}")]
    Toml(String),
    /// More rules than [`MAX_RULES`].
    #[error(
        "{0} keyword rules, at most {MAX_RULES} are supported; merge rules with the same severity"
    )]
    TooManyRules(usize),
    /// A rule without keywords, or with an empty or non-ASCII keyword.
    #[error("rule {rule:?}: {problem}")]
    BadRule {
        /// The rule's name.
        rule: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two rules with one name.
    #[error("two rules are called {0:?}")]
    DuplicateRule(String),
    /// The automaton could not be built.
    #[error("cannot build the keyword automaton: {0}")]
    Automaton(String),
    /// A pattern is not a valid regular expression (or too large).
    #[error("invalid pattern: {0}")]
    Pattern(String),
}

impl RuleSet {
    /// Parses a rule file.
    pub fn parse(text: &str) -> Result<Self, KeywordError> {
        toml::from_str(text).map_err(|e| KeywordError::Toml(e.to_string()))
    }

    /// The built-in rules.
    pub fn builtin() -> Result<Self, KeywordError> {
        Self::parse(BUILTIN_RULES)
    }

    /// Appends another set's rules and allow-list to this one.
    pub fn merge(&mut self, other: RuleSet) {
        self.allow.domains.extend(other.allow.domains);
        self.rules.extend(other.rules);
    }
}

/// The keyword detector, built from a [`RuleSet`].
#[derive(Clone, Debug)]
pub struct Keywords {
    rules: Vec<Rule>,
    automaton: DFA,
    /// Per pattern: bit r of `[0]` set when the pattern is a keyword of rule r, of `[1]` when
    /// it is a companion (`with`) word of rule r.
    masks: Vec<[u64; 2]>,
    patterns: Vec<String>,
    /// Rules without companion words.
    no_companion: u64,
    /// Rules that look at the whole name.
    name_scope: u64,
    allow: AHashSet<String>,
    rule_allow: Vec<AHashSet<String>>,
    /// Patterns over the registered label and over the whole name, with their rules.
    label_patterns: Option<(RegexSet, Vec<usize>)>,
    name_patterns: Option<(RegexSet, Vec<usize>)>,
}

/// Which rules matched a name (bit r = rule r), before allow-lists.
#[derive(Clone, Copy, Debug, Default)]
struct Hits {
    primary: u64,
    secondary: u64,
}

impl Keywords {
    /// Builds the detector from a rule set.
    pub fn new(set: RuleSet) -> Result<Self, KeywordError> {
        if set.rules.len() > MAX_RULES {
            return Err(KeywordError::TooManyRules(set.rules.len()));
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut masks: Vec<[u64; 2]> = Vec::new();
        let mut no_companion = 0u64;
        let mut name_scope = 0u64;
        let mut rule_allow = Vec::with_capacity(set.rules.len());
        let mut names = AHashSet::new();
        let mut rules = set.rules;
        for (r, rule) in rules.iter_mut().enumerate() {
            if !names.insert(rule.name.clone()) {
                return Err(KeywordError::DuplicateRule(rule.name.clone()));
            }
            if rule.keywords.is_empty() && rule.patterns.is_empty() {
                return Err(KeywordError::BadRule {
                    rule: rule.name.clone(),
                    problem: "no keywords and no patterns",
                });
            }
            rule.score = rule.score.min(100);
            let bit = 1u64 << r;
            if rule.with.is_empty() {
                no_companion |= bit;
            }
            if rule.scope == Scope::Name {
                name_scope |= bit;
            }
            for (group, words) in [&mut rule.keywords, &mut rule.with].into_iter().enumerate() {
                for word in words.iter_mut() {
                    if word.is_empty() || !word.is_ascii() {
                        return Err(KeywordError::BadRule {
                            rule: rule.name.clone(),
                            problem: "keywords must be non-empty ASCII (write IDN words in punycode)",
                        });
                    }
                    word.make_ascii_lowercase();
                    let id = match patterns.iter().position(|p| p == word) {
                        Some(id) => id,
                        None => {
                            patterns.push(word.clone());
                            masks.push([0; 2]);
                            patterns.len() - 1
                        }
                    };
                    masks[id][group] |= bit;
                }
            }
            rule_allow.push(rule.allow.iter().map(|d| d.to_ascii_lowercase()).collect());
        }
        let mut sets: [(Vec<String>, Vec<usize>); 2] = Default::default();
        for (r, rule) in rules.iter().enumerate() {
            let k = usize::from(rule.scope == Scope::Name);
            for p in &rule.patterns {
                sets[k].0.push(p.clone());
                sets[k].1.push(r);
            }
        }
        let mut compiled = Vec::with_capacity(2);
        for (patterns, owners) in sets {
            if patterns.is_empty() {
                compiled.push(None);
                continue;
            }
            let set = RegexSetBuilder::new(&patterns)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| KeywordError::Pattern(e.to_string()))?;
            compiled.push(Some((set, owners)));
        }
        let name_patterns = compiled.pop().flatten();
        let label_patterns = compiled.pop().flatten();
        let automaton = DFA::builder()
            .match_kind(MatchKind::Standard)
            // Names are a few bytes long: a prefilter costs more than it saves.
            .prefilter(false)
            .build(&patterns)
            .map_err(|e| KeywordError::Automaton(e.to_string()))?;
        Ok(Keywords {
            rules,
            automaton,
            masks,
            patterns,
            no_companion,
            name_scope,
            allow: set
                .allow
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            rule_allow,
            label_patterns,
            name_patterns,
        })
    }

    /// The built-in rules.
    pub fn builtin() -> Result<Self, KeywordError> {
        Self::new(RuleSet::builtin()?)
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The text rules look at, and where the registered label starts in it. When no rule
    /// looks at the whole name, only the registered label is scanned.
    fn text<'n>(&self, name: &Name<'n>) -> (&'n str, usize) {
        if self.name_scope == 0 {
            return (name.registered_label(), 0);
        }
        let text = name.name_without_suffix();
        (
            text,
            text.len() - name.registered_label().len().min(text.len()),
        )
    }

    /// Calls `visit(pattern, start)` for every keyword occurrence in `text`, overlapping ones
    /// included. Walks the DFA by hand: for names of a few bytes the iterator's set-up costs
    /// more than the walk.
    fn for_each_match(&self, text: &str, mut visit: impl FnMut(usize, usize)) {
        let dfa = &self.automaton;
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return;
        };
        for (i, &byte) in text.as_bytes().iter().enumerate() {
            sid = dfa.next_state(Anchored::No, sid, byte);
            if dfa.is_match(sid) {
                for k in 0..dfa.match_len(sid) {
                    let pid = dfa.match_pattern(sid, k);
                    visit(pid.as_usize(), (i + 1).saturating_sub(dfa.pattern_len(pid)));
                }
            }
        }
    }

    /// One scan of the name: which rules' keyword and companion groups appear.
    fn scan(&self, name: &Name<'_>) -> Hits {
        let (text, label_start) = self.text(name);
        let mut hits = Hits::default();
        self.for_each_match(text, |id, start| {
            // Matches outside the registered label count only for rules over the whole name.
            let scope = if start >= label_start {
                u64::MAX
            } else {
                self.name_scope
            };
            let [p, s] = self.masks.get(id).copied().unwrap_or_default();
            hits.primary |= p & scope;
            hits.secondary |= s & scope;
        });
        hits
    }

    fn matched(hits: Hits, no_companion: u64) -> u64 {
        hits.primary & (hits.secondary | no_companion)
    }

    /// Rules (bit set) whose patterns match the name.
    fn pattern_hits(&self, name: &Name<'_>) -> u64 {
        let mut bits = 0u64;
        for (set, text) in [
            (&self.label_patterns, name.registered_label()),
            (&self.name_patterns, name.name_without_suffix()),
        ] {
            if let Some((set, owners)) = set
                && set.is_match(text)
            {
                for i in set.matches(text).iter() {
                    bits |= 1 << owners[i];
                }
            }
        }
        bits
    }

    fn allowed(&self, rule: usize, name: &Name<'_>) -> bool {
        self.allow.contains(name.registered_domain)
            || self
                .rule_allow
                .get(rule)
                .is_some_and(|a| a.contains(name.registered_domain))
    }

    /// The best (severity, score, then file order) rule that fires, if any.
    fn best(&self, matched: u64, name: &Name<'_>) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (r, rule) in self.rules.iter().enumerate() {
            if matched & (1 << r) == 0 || self.allowed(r, name) {
                continue;
            }
            if best.is_none_or(|b| {
                (rule.severity, rule.score) > (self.rules[b].severity, self.rules[b].score)
            }) {
                best = Some(r);
            }
        }
        best
    }

    /// The words of rule `r` found in the name, keywords first.
    fn words(&self, r: usize, name: &Name<'_>) -> (Vec<String>, Vec<String>) {
        let (text, label_start) = self.text(name);
        let bit = 1u64 << r;
        let in_scope = |start: usize| start >= label_start || self.name_scope & bit != 0;
        let (mut kw, mut with) = (Vec::new(), Vec::new());
        self.for_each_match(text, |id, start| {
            let (Some(word), Some([p, s])) = (self.patterns.get(id), self.masks.get(id)) else {
                return;
            };
            if !in_scope(start) {
                return;
            }
            if p & bit != 0 && !kw.contains(word) {
                kw.push(word.clone());
            }
            if s & bit != 0 && !with.contains(word) {
                with.push(word.clone());
            }
        });
        (kw, with)
    }

    fn finding(&self, r: usize, name: &Name<'_>) -> Finding {
        let rule = &self.rules[r];
        let (kw, with) = self.words(r, name);
        let subject = match rule.scope {
            Scope::RegisteredDomain => name.registered_domain,
            Scope::Name => name.qname,
        };
        let mut reason = String::with_capacity(128);
        let quoted = |words: &[String]| {
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if kw.is_empty() {
            let _ = write!(reason, "{subject} matches a pattern");
        } else if with.is_empty() {
            let _ = write!(reason, "{subject} contains {}", quoted(&kw));
        } else {
            let _ = write!(
                reason,
                "{subject} combines {} with {}",
                quoted(&kw),
                quoted(&with)
            );
        }
        let _ = write!(reason, " (keyword rule {}", rule.name);
        if !rule.description.is_empty() {
            let _ = write!(reason, ": {}", rule.description);
        }
        reason.push(')');
        let mut words = kw;
        words.extend(with);
        Finding {
            detector: DETECTOR,
            score: rule.score,
            severity: rule.severity,
            reason,
            evidence: vec![
                ev("rule", rule.name.as_str()),
                ev("description", rule.description.as_str()),
                ev("keywords", words),
                ev("scope", rule.scope.as_str()),
            ],
        }
    }
}

impl NameDetector for Keywords {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        if name.qname.is_empty() {
            return None;
        }
        let matched = Self::matched(self.scan(name), self.no_companion) | self.pattern_hits(name);
        if matched == 0 {
            return None;
        }
        let r = self.best(matched, name)?;
        Some(self.finding(r, name))
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        if let Some(finding) = self.check(name) {
            return Explanation::fired(finding);
        }
        let hits = self.scan(name);
        let matched = Self::matched(hits, self.no_companion) | self.pattern_hits(name);
        let n = self.rules.len();
        let mut reason = String::new();
        if matched != 0 {
            // Some rule matched, so the allow-list stopped it.
            let rules: Vec<&str> = (0..n)
                .filter(|r| matched & (1 << r) != 0)
                .map(|r| self.rules[r].name.as_str())
                .collect();
            let _ = write!(
                reason,
                "{} matches keyword rule {} but {} is allow-listed (a brand's own domain)",
                name.qname,
                rules.join(", "),
                name.registered_domain
            );
        } else if hits.primary != 0 {
            let r = hits.primary.trailing_zeros() as usize;
            let rule = &self.rules[r];
            let (kw, _) = self.words(r, name);
            let _ = write!(
                reason,
                "{} contains \"{}\" (keyword rule {}) but none of its companion words ({}), \
                 so it reads as the brand's own or an ordinary name",
                name.qname,
                kw.join("\", \""),
                rule.name,
                rule.with.join(", ")
            );
        } else {
            let _ = write!(
                reason,
                "no keyword of the {n} keyword rules appears in {}",
                name.qname
            );
        }
        Explanation::quiet(DETECTOR, 0, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(k: &Keywords, qname: &str) -> Option<String> {
        k.check(&Name::new(qname, 1))
            .map(|f| match f.evidence.first() {
                Some((_, crate::Evidence::Text(rule))) => rule.clone(),
                _ => String::new(),
            })
    }

    #[test]
    fn builtin_rules_catch_carbanak_not_brands() {
        let k = Keywords::builtin().expect("built-in rules");
        let cases: &[(&str, Option<&str>)] = &[
            ("update-java.net", Some("fake-software-update")),
            ("www.update-java.net", Some("fake-software-update")),
            ("adobe-update.net", Some("fake-software-update")),
            ("systemsvc.net", Some("fake-system-service")),
            ("google.com", None),
            ("java.com", None),
            ("www.java.com", None),
            ("adobe.com", None),
            ("get.adobe.com", None),
            ("microsoft.com", None),
            ("windowsupdate.com", None),
            ("update.microsoft.com", None),
            ("download.windowsupdate.com", None),
            ("javaupdate.oracle.com", None),
        ];
        for (qname, expected) in cases {
            assert_eq!(fires(&k, qname).as_deref(), *expected, "{qname}");
        }
    }

    #[test]
    fn reason_names_the_words_and_rule() {
        let k = Keywords::builtin().expect("built-in rules");
        let f = k
            .check(&Name::new("cdn.update-java.net", 1))
            .expect("fires");
        assert!(
            f.reason.starts_with("update-java.net combines \"java\" with \"update\" (keyword rule fake-software-update"),
            "{}",
            f.reason
        );
        // A brand next to a common word is a weak signal alone (download portals say it too).
        assert_eq!(f.severity, Severity::Low);
        let f = k.check(&Name::new("svchost-update.net", 1)).expect("fires");
        assert_eq!(
            f.severity,
            Severity::Medium,
            "a Windows process name is strong"
        );
    }

    #[test]
    fn scopes_allow_lists_and_errors() {
        let rules = r#"
            [allow]
            domains = ["paypal.com"]
            [[rule]]
            name = "brand-in-subdomain"
            severity = "high"
            score = 80
            match = "name"
            keywords = ["paypal"]
            [[rule]]
            name = "label-only"
            keywords = ["paypal"]
            with = ["secure"]
            allow = ["paypal-secure.com"]
        "#;
        let k = Keywords::new(RuleSet::parse(rules).expect("parse")).expect("build");
        assert_eq!(
            fires(&k, "paypal.com.evil.net").as_deref(),
            Some("brand-in-subdomain")
        );
        assert_eq!(fires(&k, "www.paypal.com").as_deref(), None);
        assert_eq!(
            fires(&k, "paypal-secure.com").as_deref(),
            Some("brand-in-subdomain")
        );
        let e = k.explain(&Name::new("www.paypal.com", 1));
        assert!(e.reason.contains("allow-listed"), "{}", e.reason);

        let err = RuleSet::parse("[[rule]]\nname = \"x\"\nkeywords = []\nbogus = 1\n");
        assert!(matches!(err, Err(KeywordError::Toml(_))));
        let err = Keywords::new(
            RuleSet::parse("[[rule]]\nname = \"x\"\nkeywords = []\n").expect("parse"),
        );
        assert!(matches!(err, Err(KeywordError::BadRule { .. })));
        let err = Keywords::new(
            RuleSet::parse("[[rule]]\nname = \"x\"\npatterns = [\"(\"]\n").expect("parse"),
        );
        assert!(matches!(err, Err(KeywordError::Pattern(_))));
        let many: String = (0..65)
            .map(|i| format!("[[rule]]\nname = \"r{i}\"\nkeywords = [\"k\"]\n"))
            .collect();
        assert!(matches!(
            Keywords::new(RuleSet::parse(&many).expect("parse")),
            Err(KeywordError::TooManyRules(65))
        ));
    }

    #[test]
    fn patterns_over_the_whole_name() {
        let k = Keywords::builtin().expect("built-in rules");
        for (qname, expected) in [
            ("paypal.com-secure.evil.net", Some("brand-domain-in-name")),
            ("www.apple-com-id.top", Some("brand-domain-in-name")),
            ("www.paypal.com", None),
            ("paypal.com.au", None),
        ] {
            assert_eq!(fires(&k, qname).as_deref(), expected, "{qname}");
        }
    }

    #[test]
    fn explains_partial_matches() {
        let k = Keywords::builtin().expect("built-in rules");
        let e = k.explain(&Name::new("java.com", 1));
        assert!(!e.fired);
        assert!(
            e.reason.contains("companion words") || e.reason.contains("allow-listed"),
            "{}",
            e.reason
        );
        let e = k.explain(&Name::new("example.org", 1));
        assert!(e.reason.starts_with("no keyword"), "{}", e.reason);
    }
}
