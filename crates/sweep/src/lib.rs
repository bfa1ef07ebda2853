//! Sweeps: many textclf runs declared in one TOML file.
//!
//! * [`config`] reads the file ([`SweepConfig`]);
//! * [`plan`] expands it into runs with stable ids and the flags that make each one;
//! * [`shard`] deals the runs out to processes (`--shard i/n`, Slurm arrays, Kubernetes
//!   Indexed Jobs);
//! * [`folder`] keeps the sweep folder: the plan, each run's status, atomic finishing;
//! * [`split`] owns the data split every run shares: its files' layout and `split.json`.
//!
//! Running a run is the command-line tool's business: this crate never trains anything,
//! so it compiles in seconds and is tested without models.

pub mod config;
pub mod error;
pub mod folder;
pub mod plan;
pub mod shard;
pub mod split;

pub use config::{DataSpec, ModelEntry, SweepConfig, Tie};
pub use error::{Result, SweepError};
pub use plan::{expand, Family, Plan, RunPlan};
pub use shard::Shard;
pub use split::{Layout, SplitRecord};
