//! Stateful detectors (placeholder, filled below).

use serde::{Deserialize, Serialize};

/// Settings of the stateful detectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatefulConfig {}
