//! How `antimony` ends, for scripts: an exit code per kind of failure (README, "Exit codes").

use antimony_engine::runtime::cluster::local::LocalError;
use antimony_engine::{ClusterError, RunError, RunReport, TopologyError};
use antimony_io::sources::file::InputError;

/// 1: a failure none of the codes below names.
pub(crate) const OTHER: u8 = 1;
/// 3: the topology or an option is wrong (clap itself exits with 2 on a bad command line).
pub(crate) const CONFIGURATION: u8 = 3;
/// 4: an input cannot be read (a missing file, a port in use).
pub(crate) const INPUT: u8 = 4;
/// 5: an output failed (a full disk, a closed pipe): the run stopped.
pub(crate) const OUTPUT: u8 = 5;
/// 6: input was read and every record of it was set aside: nothing could be analysed.
pub(crate) const REJECTED: u8 = 6;
/// 7: a process of the cluster was lost (died, or its host stopped answering), or never
/// joined: a supervisor restarts them all and they resume from the last checkpoint.
pub(crate) const CLUSTER_LOST: u8 = 7;

/// A run that completed and still failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Ending {
    /// A component could not go on (an output failed); the run stopped and drained.
    #[error("{0}")]
    OutputFailed(String),
    /// Every record read was set aside.
    #[error("{0}")]
    Rejected(String),
}

impl Ending {
    /// How a finished run failed, if it did.
    pub(crate) fn of(report: &RunReport) -> Option<Ending> {
        if let Some(first) = report.failures.first() {
            return Some(Ending::OutputFailed(format!(
                "component `{}` could not go on, so the run stopped: {}",
                first.component, first.reason
            )));
        }
        let read: u64 = report
            .components
            .iter()
            .filter(|c| c.spout)
            .map(|c| c.emitted)
            .sum();
        let analysed: u64 = report
            .components
            .iter()
            .filter(|c| !c.spout)
            .map(|c| c.emitted)
            .sum();
        let set_aside = report.dead_letters();
        (read > 0 && set_aside > 0 && analysed == 0).then(|| {
            Ending::Rejected(format!(
                "every record read was set aside ({set_aside}); nothing was analysed"
            ))
        })
    }
}

/// The exit code for `error`, by the first cause in its chain that names one.
pub(crate) fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<TopologyError>().is_some() {
            return CONFIGURATION;
        }
        if cause.downcast_ref::<InputError>().is_some() {
            return INPUT;
        }
        match cause.downcast_ref::<antimony_web::ApiError>() {
            Some(antimony_web::ApiError::NeedsToken(_)) => return CONFIGURATION,
            Some(antimony_web::ApiError::Bind { .. }) => return INPUT,
            None => {}
        }
        if let Some(error) = cause.downcast_ref::<ClusterError>() {
            return cluster_code(error);
        }
        match cause.downcast_ref::<LocalError>() {
            // A local cluster ends as its first failed process did.
            Some(LocalError::Failed {
                code: Some(code), ..
            }) => {
                return u8::try_from(*code)
                    .ok()
                    .filter(|&c| c != 0)
                    .unwrap_or(OTHER);
            }
            Some(LocalError::Failed { code: None, .. }) => return CLUSTER_LOST,
            Some(_) => return OTHER,
            None => {}
        }
        match cause.downcast_ref::<RunError>() {
            Some(RunError::Cluster(error)) => return cluster_code(error),
            Some(RunError::SpoutOpen { .. } | RunError::SpoutPanic { .. }) => return INPUT,
            Some(RunError::DeadLetter { .. }) => return OUTPUT,
            _ => {}
        }
        match cause.downcast_ref::<Ending>() {
            Some(Ending::OutputFailed(_)) => return OUTPUT,
            Some(Ending::Rejected(_)) => return REJECTED,
            None => {}
        }
    }
    OTHER
}

fn cluster_code(error: &ClusterError) -> u8 {
    match error {
        ClusterError::Lost { .. } | ClusterError::NeverCame { .. } => CLUSTER_LOST,
        ClusterError::Mismatch { .. } | ClusterError::Config(_) => CONFIGURATION,
        ClusterError::Listen { .. } => INPUT,
    }
}
