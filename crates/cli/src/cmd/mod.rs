//! One module per subcommand. Each turns raw flags into a typed spec or library
//! settings and hands it to the library (`textclf_experiment` runs experiments and
//! ensembles, `textclf_report` reports), managing only the run folder and the output.

mod baseline;
mod bench;
pub(crate) mod common;
mod compare;
mod ensemble;
mod predict;
mod report;
mod stats;
mod sweep;
mod sweep_data;
mod train;

use crate::args::{BenchCommand, Command, DataCommand};
use crate::ui::Ui;

pub(crate) use predict::load_model;

pub fn run(command: Command, ui: &Ui) -> anyhow::Result<()> {
    match command {
        Command::Baseline(a) => baseline::run(*a, ui),
        Command::Train(a) => train::run(*a, ui),
        Command::RunSpec(a) => run_spec(a, ui),
        Command::Data(DataCommand::Stats(a)) => stats::run(a, ui),
        Command::Compare(a) => compare::run(a, ui),
        Command::Predict(a) => predict::predict(a, ui),
        Command::Eval(a) => predict::eval(a, ui),
        Command::Bench(BenchCommand::TrainStep(a)) => bench::train_step(a, ui),
        Command::Bench(BenchCommand::Infer(a)) => bench::infer(a, ui),
        Command::Bench(BenchCommand::Gemm(a)) => bench::gemm(a),
        Command::Sweep(a) => sweep::run(a, ui),
        Command::Report(a) => report::report(a, ui),
        Command::Advise(a) => report::advise(a, ui),
        Command::Ensemble(a) => ensemble::run(a, ui),
    }
}

/// `textclf run-spec`: runs the experiment a spec file describes (a sweep's child).
fn run_spec(a: crate::args::RunSpecArgs, ui: &Ui) -> anyhow::Result<()> {
    let spec = textclf_experiment::ExperimentSpec::read(&a.spec)?;
    match spec.model {
        textclf_experiment::ModelSpec::Linear { .. } => baseline::run_spec(&spec, &a.out, ui),
        textclf_experiment::ModelSpec::Transformer { .. } => train::run_spec(&spec, &a.out, ui),
        textclf_experiment::ModelSpec::Saved { .. } => {
            anyhow::bail!("{}: run-spec runs train and baseline experiments; score a saved model with `textclf eval`", a.spec.display())
        }
    }
}
