//! The checks, one module per rule or per small family of rules. Each rule reads the
//! shared context and evidence and returns an [`Outcome`](super::Outcome).

pub(crate) mod c_grid;
pub(crate) mod classes;
pub(crate) mod data;
pub(crate) mod did_not_learn;
pub(crate) mod epochs;
pub(crate) mod grids;
pub(crate) mod linear_models;
pub(crate) mod models;
pub(crate) mod pair_truncation;
pub(crate) mod regression;
pub(crate) mod thresholds;
pub(crate) mod ties;
pub(crate) mod truncation;
pub(crate) mod weak_label;
