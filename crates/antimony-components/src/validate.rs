//! `antimony validate`: a topology file checked as a run would check it, without running:
//! every component built (options, paths, multilang programs and scripts), the groupings
//! checked, and the plan said.

use std::fmt::Write;
use std::path::Path;

use antimony_engine::{TopologyDecl, TopologyError};

use crate::registry;

/// The plan of a valid topology file, as text; every error found otherwise, located.
pub fn validate(path: &Path) -> Result<String, Vec<TopologyError>> {
    let decl = TopologyDecl::from_path(path).map_err(|e| vec![e])?;
    let topology = decl.validate(&registry())?;
    let plan = topology.plan();
    let mut out = format!("{}: topology `{}` is valid\n", path.display(), plan.name);
    if let Some(description) = &decl.description {
        let _ = writeln!(out, "  {description}");
    }
    let _ = writeln!(
        out,
        "  workers: {} ({})",
        decl.workers.unwrap_or(1),
        if decl.workers.is_some() {
            "the file's; --workers overrides"
        } else {
            "default; --workers overrides"
        }
    );
    let _ = writeln!(
        out,
        "  dead letters: {}",
        decl.dead_letter
            .as_deref()
            .unwrap_or("counted, not written (--dead-letter FILE)")
    );
    if let Some(checkpoint) = &decl.checkpoint {
        let _ = writeln!(
            out,
            "  checkpoints: {} every {} s",
            checkpoint.dir.as_deref().unwrap_or("(--checkpoint-dir)"),
            checkpoint.interval_secs.unwrap_or(10.0)
        );
    }
    for component in &plan.components {
        let inputs: Vec<String> = component
            .inputs
            .iter()
            .map(|i| format!("{} [{}]", i.from, i.grouping))
            .collect();
        let _ = write!(
            out,
            "  {} {} ({})",
            component.role, component.name, component.type_name
        );
        if !inputs.is_empty() {
            let _ = write!(out, " <- {}", inputs.join(", "));
        }
        let instances = match component.instances {
            "one" => "one instance",
            _ => "an instance on every worker",
        };
        let _ = writeln!(
            out,
            " -> {}; {instances}",
            component.emits.unwrap_or("nothing"),
        );
    }
    Ok(out)
}
