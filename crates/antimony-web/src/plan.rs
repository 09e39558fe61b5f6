//! `GET /api/topology`: the logical plan, and the physical one (which instance runs where).

use antimony_engine::Plan;
use serde::Serialize;

use crate::RunView;

/// The plan as the API answers it.
#[derive(Debug, Serialize)]
pub struct Topology<'a> {
    /// The topology's name.
    pub name: &'a str,
    /// The logical plan's components.
    pub components: &'a [antimony_engine::PlannedComponent],
    /// Where instances run.
    pub physical: Physical,
}

/// Processes, workers and instances.
#[derive(Debug, Serialize)]
pub struct Physical {
    /// Processes of the run.
    pub processes: usize,
    /// Worker threads per process.
    pub workers_per_process: usize,
    /// Every instance: its component, its worker (across processes) and its process.
    pub instances: Vec<Instance>,
}

/// One instance of a component.
#[derive(Debug, Serialize)]
pub struct Instance {
    /// The component.
    pub component: String,
    /// The worker it runs on, from 0, across processes.
    pub worker: usize,
    /// The process of that worker.
    pub process: usize,
}

/// The topology of `view`: a component of one instance runs on worker 0, the others on
/// every worker.
pub fn topology(view: &RunView) -> Topology<'_> {
    let plan: &Plan = &view.plan;
    let workers = view.workers.max(1);
    let total = workers * view.processes.max(1);
    let instances = plan
        .components
        .iter()
        .flat_map(|c| {
            let count = if c.instances == "one" { 1 } else { total };
            (0..count).map(move |worker| Instance {
                component: c.name.clone(),
                worker,
                process: worker / workers,
            })
        })
        .collect();
    Topology {
        name: &plan.name,
        components: &plan.components,
        physical: Physical {
            processes: view.processes.max(1),
            workers_per_process: workers,
            instances,
        },
    }
}
