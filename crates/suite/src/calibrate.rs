//! `bookbench calibrate`: how precise the suite is on this machine, and
//! whether it finds a difference that is really there.
//!
//! Each chosen target runs three times over in the same interleaved
//! rounds: as itself (the reference), as an identical copy under another
//! name (an A/A comparison: any difference found is noise), and with its
//! CPU cut by a known share through the `cpu` cgroup controller (a
//! difference that is there when the target is CPU-bound). The A/A
//! intervals say how precise a run is; the largest A/A deviation is the
//! noise threshold that verdicts must clear.

use std::collections::BTreeMap;

use bookbench_results::calibration::{COPY, quota_suffix};

use crate::targets::Target;

/// The calibration's targets: each original, its copy and its slowed copy,
/// and which one each is compared with.
pub fn targets(originals: &[Target], loss: f64) -> (Vec<Target>, BTreeMap<String, String>) {
    let mut all = Vec::new();
    let mut references = BTreeMap::new();
    for t in originals {
        let copy = Target {
            name: format!("{}{COPY}", t.name),
            description: format!("{} (an identical copy)", t.description),
            ..t.clone()
        };
        let slowed = Target {
            name: format!("{}{}", t.name, quota_suffix(loss)),
            description: format!(
                "{} (its CPU cut to {:.0}%)",
                t.description,
                (1.0 - loss) * 100.0
            ),
            cpu_quota: Some(1.0 - loss),
            ..t.clone()
        };
        references.insert(copy.name.clone(), t.name.clone());
        references.insert(slowed.name.clone(), t.name.clone());
        all.extend([t.clone(), copy, slowed]);
    }
    (all, references)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_gets_a_copy_and_a_slowed_copy_compared_with_it() {
        let all = crate::targets::parse(crate::targets::BUILTIN).expect("targets");
        let rust: Vec<Target> = all.into_iter().filter(|t| t.name == "rust").collect();
        let (targets, references) = targets(&rust, 0.1);
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["rust", "rust~aa", "rust~q90"]);
        assert_eq!(references.get("rust~aa").map(String::as_str), Some("rust"));
        assert_eq!(references.get("rust~q90").map(String::as_str), Some("rust"));
        let slowed = targets.iter().find(|t| t.name == "rust~q90");
        assert_eq!(slowed.and_then(|t| t.cpu_quota), Some(0.9));
    }
}
