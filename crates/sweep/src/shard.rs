//! Splitting a sweep's runs between processes: `--shard i/n`, or the index a Slurm job
//! array or a Kubernetes Indexed Job gives each process. Runs are dealt out by their plan
//! index (run k goes to shard k mod n), so every run belongs to exactly one shard whatever
//! order the shards start in.

use std::fmt;

use crate::error::{Result, SweepError};

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole sweep in one process.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether run `run_index` of the plan belongs to this shard.
    pub fn owns(&self, run_index: usize) -> bool {
        run_index % self.count == self.index
    }

    /// Parses `i/n` with 0 ≤ i < n.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            SweepError::Shard(format!(
                "--shard '{s}': expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/3 (shards are numbered from 0)"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard the environment assigns, if any:
    /// * Slurm job arrays: `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of
    ///   `SLURM_ARRAY_TASK_COUNT` (so `--array=1-3` works as well as `0-2`);
    /// * Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` of `TEXTCLF_SHARD_COUNT` (set it to
    ///   the Job's `completions`; Kubernetes does not expose that count by itself).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let num =
            |name: &str| -> Result<Option<usize>> {
                match get(name) {
                    None => Ok(None),
                    Some(v) if v.trim().is_empty() => Ok(None),
                    Some(v) => v.trim().parse().map(Some).map_err(|_| {
                        SweepError::Shard(format!("{name}='{v}' is not a whole number"))
                    }),
                }
            };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                SweepError::Shard(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard i/n".into(),
                )
            })?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                SweepError::Shard(format!(
                    "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                ))
            })?;
            return checked(
                index,
                count,
                "the Slurm array (use a contiguous --array=0-N)",
            );
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("TEXTCLF_SHARD_COUNT")?.ok_or_else(|| {
                SweepError::Shard(
                    "JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but TEXTCLF_SHARD_COUNT is not: set it to the Job's completions".into(),
                )
            })?;
            return checked(
                index,
                count,
                "the Indexed Job (TEXTCLF_SHARD_COUNT = completions)",
            );
        }
        Ok(None)
    }
}

fn checked(index: usize, count: usize, what: &str) -> Result<Option<Shard>> {
    if count == 0 || index >= count {
        return Err(SweepError::Shard(format!(
            "shard {index} of {count} is out of range for {what}"
        )));
    }
    Ok(Some(Shard { index, count }))
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_run_belongs_to_exactly_one_shard() {
        for count in 1..6 {
            for run in 0..20 {
                let owners = (0..count)
                    .filter(|&index| Shard { index, count }.owns(run))
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_slurm_and_kubernetes_variables() {
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]))
        .unwrap();
        assert_eq!(s, Some(Shard { index: 2, count: 3 }));
        let k = Shard::from_env(env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("TEXTCLF_SHARD_COUNT", "4"),
        ]))
        .unwrap();
        assert_eq!(k, Some(Shard { index: 0, count: 4 }));
        let e = Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).unwrap_err();
        assert!(e.to_string().contains("TEXTCLF_SHARD_COUNT"));
        let e = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("out of range"));
    }
}
