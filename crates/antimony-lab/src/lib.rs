//! The lab: training and evaluation of Antimony's detection models, what `antimony train`
//! and `antimony eval` run. Nothing here is loaded by a running topology, which scores with
//! [`antimony_detect`] alone.
//!
//! - [`dga`]: training the DGA model (the benign character model, the logistic regression
//!   fitted by Newton's method, the boosted trees and their calibration), the candidates
//!   compared leave-families-out, and [`dga::evaluate`].
//! - [`gbdt`]: training gradient-boosted trees (the forest itself, and its prediction, are
//!   [`antimony_detect::detectors::gbdt`]'s).
//! - [`eval`]: the measurements behind `antimony eval` and the data tests (list detection,
//!   DGA leave-families-out).
//! - [`lookalike_eval`]: lookalike recall per dnstwist kind on a tuning and a held-out half
//!   of the brands, and false positives on the benign lists.
//!
//! - [`verdict`]: the default verdict of every detector (`antimony score`), name by name.
//! - [`stream`]: the in-stream evaluation: generated office traffic (with the generator's
//!   ground truth) through the shipped topology, which the caller runs, scored per client.
//! - [`report`]: the reports `antimony eval` prints, read from a data folder.
//!
//! Everything but [`report`] and [`stream`] is pure: it reads no files (the caller passes
//! text). Nothing here knows timely or Tokio.

pub mod dga;
pub mod eval;
pub mod gbdt;
pub mod lookalike_eval;
pub mod report;
pub mod stream;
pub mod verdict;
