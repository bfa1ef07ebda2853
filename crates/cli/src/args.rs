//! Every flag of every subcommand, in one place. Each subcommand module turns these raw
//! values into validated library settings.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use textclf_core::Choices;
use textclf_data::Format;
use textclf_experiment::DeviceSpec;
use textclf_linear::{LinearKind, TokenMode};
use textclf_settings as settings;
use textclf_settings::data as ds;
use textclf_train::batch::Padding;
use textclf_train::tokenize::{PairTruncation, Truncation};
use textclf_train::Monitor;

/// The parser of a flag whose values a library enum declares ([`Choices`]): clap lists,
/// checks and suggests the names (aliases accepted, not listed) as for its own value enums,
/// and the flag holds the library's value.
fn choices<T: Choices>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::VALUES.iter().map(|&v| {
        let p = PossibleValue::new(v.name()).aliases(v.aliases().iter().copied());
        match v.help() {
            "" => p,
            help => p.help(help),
        }
    }))
    .try_map(|name| {
        T::from_name(&name).ok_or_else(|| format!("unknown value '{name}'; use {}", T::names()))
    })
}

/// A count that must be at least 1 (a batch, a length, a number of steps…).
fn positive_usize(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// A number of steps that must be at least 1 (leave the flag out for "never").
fn positive_steps(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 (leave the flag out to turn it off)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// Text classification that tells you what actually helps: fine-tuned transformer
/// encoders and TF-IDF linear baselines, one evaluation report for all of them.
#[derive(Parser, Debug)]
#[command(name = "textclf", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print the result as JSON on stdout (progress and notes are suppressed).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train and evaluate a TF-IDF linear baseline (logistic regression, SVM, NBSVM).
    Baseline(Box<BaselineArgs>),
    /// Fine-tune an encoder (BERT, MiniLM, DistilBERT, RoBERTa, ELECTRA, DeBERTa-v3, ModernBERT) for classification.
    Train(Box<TrainArgs>),
    /// Inspect datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Paired comparison of two runs on the same test set (McNemar + bootstrap CI).
    Compare(CompareArgs),
    /// Predict labels and probabilities for new texts with a saved model.
    Predict(PredictArgs),
    /// Evaluate a saved model on a labelled file and write the standard report.
    Eval(EvalArgs),
    /// Measure training-step and inference speed (JSON with median/min/max in ms).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run every configuration a TOML sweep file declares (resumable, shardable).
    Sweep(SweepArgs),
    /// Write report.html, report.md, results.csv/json and plots for a sweep or run folder.
    Report(ReportArgs),
    /// Read finished runs and write a ranked, evidence-backed plan of what to try next.
    Advise(AdviseArgs),
    /// Average the class probabilities of finished runs and evaluate the ensemble.
    Ensemble(EnsembleArgs),
    /// Run one experiment from its spec file (what each run of a sweep runs).
    #[command(hide = true)]
    RunSpec(RunSpecArgs),
}

#[derive(Args, Debug)]
pub struct RunSpecArgs {
    /// The experiment spec (JSON), e.g. `<run>/spec.json`.
    pub spec: PathBuf,
    /// Output folder: metrics.json, predictions.csv and model/.
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The sweep file (TOML): data, base settings, grid, ties, models.
    pub config: PathBuf,
    /// Sweep folder: sweep.json, data/ (the shared split) and runs/<id>/.
    #[arg(long)]
    pub out: PathBuf,
    /// Run only shard INDEX of COUNT (0-based), e.g. 0/3. Without it the shard comes from
    /// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/TEXTCLF_SHARD_COUNT,
    /// else the whole sweep runs here.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,
    /// List the runs (and whether each is done) without running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave runs that failed before as they are (default: retry them).
    #[arg(long)]
    pub skip_failed: bool,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep folder, a run folder, or a folder of run folders.
    pub dir: PathBuf,
    /// Selection rule (default: the sweep's, else val_acc_at_min_val_loss):
    /// val_acc_at_min_val_loss, val_accuracy, val_macro_f1 or val_loss.
    #[arg(long)]
    pub select: Option<String>,
}

#[derive(Args, Debug)]
pub struct AdviseArgs {
    /// A sweep folder, a run folder, or a folder of run folders.
    pub dir: PathBuf,
    /// Selection rule used to pick the run the advice starts from.
    #[arg(long)]
    pub select: Option<String>,
}

#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// Finished run folders evaluated on the same test set (two or more).
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// Output folder for metrics.json and predictions.csv.
    #[command(flatten)]
    pub out: OutArgs,
    /// `equal`, `val` (chosen on the runs' validation predictions by greedy forward
    /// selection on the task's validation loss: log loss, binary cross-entropy over the
    /// labels, or MSE), or one positive number per run.
    #[arg(long, default_value = "equal")]
    pub weights: String,
    #[command(flatten)]
    pub eval: EvalOpts,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Where a run is written, and what to do with a run already there.
#[derive(Args, Debug, Clone)]
pub struct OutArgs {
    /// Output run folder. The run is written into <OUT>.partial/ and moved to <OUT> only
    /// when it is complete; an <OUT> that holds another run is refused.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Replace a run already in --out, whole (none of its files is kept), once the new run
    /// is complete.
    #[arg(long)]
    pub overwrite: bool,
    /// Write straight into --out, which the caller already made as a working folder and
    /// moves into place itself (how `textclf sweep` runs its children).
    #[arg(long, hide = true)]
    pub in_place: bool,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Rows and class shares per split, text lengths, empty texts, duplicates and
    /// train–test leakage.
    Stats(StatsArgs),
}

/// Where labelled data comes from and how it is split (declared in
/// [`settings::data`], as the sweep's `[data]` keys).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    #[arg(long, conflicts_with = "data", requires = "test", help = ds::TRAIN.help)]
    pub train: Option<PathBuf>,
    #[arg(long, conflicts_with = "data", help = ds::VALID.help)]
    pub valid: Option<PathBuf>,
    #[arg(long, conflicts_with = "data", help = ds::TEST.help)]
    pub test: Option<PathBuf>,
    #[arg(long, num_args = 1.., required_unless_present = "train", help = ds::POOL.help)]
    pub data: Vec<PathBuf>,
    #[arg(long, value_name = "TRAIN/VALID/TEST", help = ds::SPLIT.help, default_value = ds::SPLIT.default_text())]
    pub split: String,
    #[arg(long, value_name = "F", help = ds::SUBSET_FRAC.help)]
    pub subset_frac: Option<f64>,
    #[arg(long, value_name = "N", value_parser = positive_usize, help = ds::PER_CLASS.help)]
    pub per_class: Option<usize>,
    #[arg(long, value_name = "F", help = ds::VALID_FRAC.help, default_value = ds::VALID_FRAC.default_text())]
    pub valid_frac: f64,
    #[arg(long, help = settings::SEED.help, default_value = settings::SEED.default_text())]
    pub seed: u64,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// How to find the text and label in a file (declared in [`settings::data::COLUMNS`]).
#[derive(Args, Debug, Clone, Default)]
pub struct ColumnArgs {
    #[arg(long, help = ds::TEXT_COL.help)]
    pub text_col: Option<String>,
    #[arg(long, help = ds::LABEL_COL.help)]
    pub label_col: Option<String>,
    #[arg(long, help = ds::ID_COL.help)]
    pub id_col: Option<String>,
    #[arg(long, help = ds::TEXT_PAIR_COL.help)]
    pub text_pair_col: Option<String>,
    #[arg(long, value_delimiter = ',', help = ds::LABEL_COLS.help)]
    pub label_cols: Option<Vec<String>>,
    #[arg(long, help = ds::LABEL_SEP.help, default_value = ds::LABEL_SEP.default_text())]
    pub label_sep: String,
    #[arg(long, value_parser = parse_task, help = ds::TASK.help)]
    pub task: Option<textclf_core::Task>,
    #[arg(long, value_parser = choices::<Format>(), help = ds::FORMAT.help)]
    pub format: Option<Format>,
}

fn parse_task(s: &str) -> Result<textclf_core::Task, String> {
    s.parse().map_err(|e: textclf_core::Error| e.to_string())
}

#[derive(Args, Debug)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_parser = choices::<LinearKind>(), help = settings::BASELINE.help, default_value = settings::BASELINE.default_text())]
    pub model: LinearKind,
    /// Output folder for metrics.json, predictions.csv and model/.
    #[command(flatten)]
    pub out: OutArgs,
    #[arg(long = "C", alias = "c", value_name = "C", help = settings::C.help)]
    pub c: Option<f64>,
    #[arg(long, value_delimiter = ',', value_name = "C1,C2,…", help = settings::C_GRID.help)]
    pub c_grid: Vec<f64>,
    #[arg(long, value_name = "MIN-MAX", help = settings::NGRAM.help)]
    pub ngram: Option<String>,
    #[arg(long, value_name = "MIN-MAX", help = settings::CHAR_NGRAM.help)]
    pub char_ngram: Option<String>,
    #[arg(long, help = settings::MIN_DF.help)]
    pub min_df: Option<usize>,
    #[arg(long, help = settings::MAX_DF.help)]
    pub max_df: Option<f64>,
    #[arg(long, help = settings::MAX_FEATURES.help)]
    pub max_features: Option<usize>,
    #[arg(long, help = settings::NO_SUBLINEAR_TF.help)]
    pub no_sublinear_tf: bool,
    #[arg(long, help = settings::NO_LOWERCASE.help)]
    pub no_lowercase: bool,
    #[arg(long, help = settings::KEEP_HTML.help)]
    pub keep_html: bool,
    #[arg(long, value_parser = choices::<TokenMode>(), help = settings::TOKENS.help, default_value = settings::TOKENS.default_text())]
    pub tokens: TokenMode,
    /// Do not write model/ (metrics and predictions only; e.g. inside large sweeps).
    #[arg(long)]
    pub no_save_model: bool,
    #[arg(long, help = settings::NB_BETA.help, default_value = settings::NB_BETA.default_text())]
    pub nb_beta: f64,
    #[arg(long, help = settings::CLASS_WEIGHTS.help)]
    pub class_weights: Option<String>,
    #[arg(long, help = settings::TOL.help, default_value = settings::TOL.default_text())]
    pub tol: f64,
    #[command(flatten)]
    pub eval: EvalOpts,
}

#[derive(Args, Debug, Clone)]
pub struct EvalOpts {
    #[arg(long, help = settings::BOOTSTRAP.help, default_value = settings::BOOTSTRAP.default_text())]
    pub bootstrap: usize,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Files (or folder-per-class directories) to describe; each is one split.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also count tokens with this model's tokenizer (a model folder) and report the share
    /// of texts truncated at 128/256/512 tokens.
    #[arg(long, value_name = "MODEL_DIR")]
    pub tokenizer: Option<PathBuf>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// First run folder (the reference).
    pub run_a: PathBuf,
    /// Second run folder.
    pub run_b: PathBuf,
    #[command(flatten)]
    pub eval: EvalOpts,
    /// Seed of the paired bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Saved model folder (e.g. <run>/model).
    #[arg(long)]
    pub model: PathBuf,
    /// Texts to classify: CSV/TSV/JSONL/Parquet file with a text column, or `-` for one text per line on stdin.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write id,predicted,p_<label>… as CSV (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Run the encoder's linear layers in int8 (dynamic quantization, CPU): about 1.5×
    /// faster, with accuracy within a few tenths of a point (see BENCHMARKS.md).
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Saved model folder (e.g. <run>/model).
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled data to evaluate on.
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder for metrics.json and predictions.csv (a new folder: eval never writes
    /// into a run it did not create).
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub eval: EvalOpts,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Run the encoder's linear layers in int8 (dynamic quantization, CPU): about 1.5×
    /// faster, with accuracy within a few tenths of a point (see BENCHMARKS.md).
    #[arg(long)]
    pub int8: bool,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[arg(long, help = settings::MODEL.help)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output folder: metrics.json, epochs.csv, predictions.csv and model/ (checkpoints
    /// live in <OUT>.partial/checkpoint while the run is unfinished).
    #[command(flatten)]
    pub out: OutArgs,
    #[arg(long, value_parser = positive_usize, help = settings::MAX_LEN.help, default_value = settings::MAX_LEN.default_text())]
    pub max_len: usize,
    #[arg(long, value_parser = choices::<Truncation>(), help = settings::TRUNCATION.help, default_value = settings::TRUNCATION.default_text())]
    pub truncation: Truncation,
    #[arg(long, value_parser = choices::<PairTruncation>(), help = settings::PAIR_TRUNCATION.help, default_value = settings::PAIR_TRUNCATION.default_text())]
    pub pair_truncation: PairTruncation,
    #[arg(long, help = settings::LR.help, default_value = settings::LR.default_text())]
    pub lr: f64,
    #[arg(long, value_parser = positive_usize, help = settings::BATCH_SIZE.help, default_value = settings::BATCH_SIZE.default_text())]
    pub batch_size: usize,
    #[arg(long, value_parser = positive_usize, help = settings::EVAL_BATCH_SIZE.help, default_value = settings::EVAL_BATCH_SIZE.default_text())]
    pub eval_batch_size: usize,
    #[arg(long, value_parser = positive_usize, help = settings::EPOCHS.help, default_value = settings::EPOCHS.default_text())]
    pub epochs: usize,
    #[arg(long, value_name = "K", value_parser = positive_usize, help = settings::LAYERS.help)]
    pub layers: Option<usize>,
    #[arg(long, help = settings::GRAD_CHECKPOINT.help)]
    pub grad_checkpoint: bool,
    #[arg(long, help = settings::CLASS_WEIGHTS.help)]
    pub class_weights: Option<String>,
    /// Continue an interrupted run from <OUT>.partial/checkpoint (same command otherwise).
    #[arg(long)]
    pub resume: bool,
    /// Keep the last checkpoint (optimizer state included, about 4× the model) in
    /// <OUT>/checkpoint when the run finishes; by default it is removed.
    #[arg(long)]
    pub keep_checkpoint: bool,
    #[arg(long, help = settings::WARMUP_RATIO.help, default_value = settings::WARMUP_RATIO.default_text())]
    pub warmup_ratio: f64,
    #[arg(long, help = settings::WEIGHT_DECAY.help, default_value = settings::WEIGHT_DECAY.default_text())]
    pub weight_decay: f64,
    #[arg(long, help = settings::GRAD_CLIP.help, default_value = settings::GRAD_CLIP.default_text())]
    pub grad_clip: f64,
    #[arg(long, value_parser = positive_usize, help = settings::GRAD_ACCUM.help, default_value = settings::GRAD_ACCUM.default_text())]
    pub grad_accum: usize,
    #[arg(long, value_parser = choices::<Padding>(), help = settings::PADDING.help, default_value = settings::PADDING.default_text())]
    pub padding: Padding,
    #[arg(long, help = settings::NO_BUCKETING.help)]
    pub no_bucketing: bool,
    #[arg(long, value_name = "N", value_parser = positive_steps, help = settings::EVAL_EVERY.help)]
    pub eval_every: Option<u64>,
    #[arg(long, value_name = "N", value_parser = positive_steps, help = settings::CHECKPOINT_EVERY.help)]
    pub checkpoint_every: Option<u64>,
    #[arg(long, value_parser = choices::<Monitor>(), help = settings::MONITOR.help, default_value = settings::MONITOR.default_text())]
    pub monitor: Monitor,
    #[arg(long, help = settings::PATIENCE.help, default_value = settings::PATIENCE.default_text())]
    pub patience: usize,
    #[arg(long, help = settings::MIN_DELTA.help, default_value = settings::MIN_DELTA.default_text())]
    pub min_delta: f64,
    #[arg(long, value_name = "F", help = settings::AVERAGE_FROM.help)]
    pub average_from: Option<f64>,
    #[arg(long, value_parser = choices::<DeviceSpec>(), help = settings::DEVICE.help, default_value = settings::DEVICE.default_text())]
    pub device: DeviceSpec,
    /// Do not write model/ (metrics, predictions and epochs only; e.g. inside large sweeps).
    #[arg(long)]
    pub no_save_model: bool,
    #[command(flatten)]
    pub eval: EvalOpts,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Time fine-tuning steps (forward, backward, AdamW) on a synthetic batch.
    TrainStep(BenchArgs),
    /// Time inference (logits, no autograd) on a synthetic batch.
    Infer(BenchArgs),
    /// Time the f32 GEMM the layers use (the `gemm` crate) on one shape, to compare with
    /// a BLAS (bench/gemm.sh runs OpenBLAS and MKL on the same shapes).
    Gemm(GemmArgs),
}

#[derive(Args, Debug)]
pub struct GemmArgs {
    #[arg(long)]
    pub m: usize,
    #[arg(long)]
    pub n: usize,
    #[arg(long)]
    pub k: usize,
    /// Read the left operand transposed (stored `[k, m]`), as the weight-gradient GEMM does.
    #[arg(long)]
    pub transpose_a: bool,
    #[arg(long, default_value_t = 20)]
    pub reps: usize,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Model folder (e.g. ../shared/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value_t = 32, value_parser = positive_usize)]
    pub batch: usize,
    /// Padded length; real lengths are drawn uniformly from len/2..=len.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub len: usize,
    /// Timed steps (the median, min and max are reported).
    #[arg(long, default_value_t = 10, value_parser = positive_usize)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Train with dropout on (the reference figures are with dropout off).
    #[arg(long)]
    pub dropout: bool,
    #[arg(long, value_parser = choices::<DeviceSpec>(), default_value = "cpu")]
    pub device: DeviceSpec,
    /// Also time every op kind (forward, backward, optimizer) over the timed steps: a
    /// table on stderr and a `profile` field in the JSON. Adds a little overhead.
    #[arg(long)]
    pub profile: bool,
    /// `infer` only: int8 encoder linear layers (as `predict --int8`).
    #[arg(long)]
    pub int8: bool,
    /// `train-step` only: activation checkpointing (as `train --grad-checkpoint`).
    #[arg(long)]
    pub grad_checkpoint: bool,
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use clap::CommandFactory;

    /// Every setting of `textclf-settings` is a flag of the command of each family that takes
    /// it, with the registry's help and default: the flags, sweep keys and report columns
    /// cannot drift apart.
    /// The run settings and the data settings, each with the commands that take it.
    fn declared() -> Vec<(&'static settings::Setting, Vec<&'static str>)> {
        let mut v = Vec::new();
        for s in settings::ALL.iter().chain(ds::DATA) {
            let mut subs = Vec::new();
            if s.transformer {
                subs.push("train");
            }
            if s.linear {
                subs.push("baseline");
            }
            if ds::COLUMNS.contains(s) {
                subs.extend(["predict", "eval", "data stats"]);
            }
            v.push((s, subs));
        }
        v
    }

    fn subcommand(cli: &clap::Command, path: &str) -> clap::Command {
        path.split(' ').fold(cli.clone(), |c, name| {
            c.find_subcommand(name).expect("subcommand").clone()
        })
    }

    #[test]
    fn every_setting_is_a_flag_with_its_declared_help_and_default() {
        let cli = Cli::command();
        for (s, subs) in declared() {
            for sub in subs {
                let cmd = subcommand(&cli, sub);
                let arg = cmd
                    .get_arguments()
                    .find(|a| a.get_long() == Some(s.long))
                    .unwrap_or_else(|| panic!("`textclf {sub}` has no flag {}", s.flag()));
                assert_eq!(
                    arg.get_help().map(|h| h.to_string()).as_deref(),
                    Some(s.help),
                    "{sub} {}",
                    s.flag()
                );
                let defaults: Vec<String> = arg
                    .get_default_values()
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                match s.default {
                    Some(d) => assert_eq!(defaults, [d], "{sub} {}", s.flag()),
                    None => assert!(defaults.is_empty(), "{sub} {}: {defaults:?}", s.flag()),
                }
            }
        }
    }

    /// The other direction: every flag of `train` and `baseline` is a declared setting,
    /// but for the flags that say what to do with the run's folder and output (not what
    /// the run computes, so neither a sweep key nor a report column).
    #[test]
    fn every_flag_of_train_and_baseline_is_declared() {
        const RUN_HANDLING: [&str; 10] = [
            "out",
            "overwrite",
            "in-place",
            "no-save-model",
            "resume",
            "keep-checkpoint",
            "quiet",
            "json",
            "help",
            "version",
        ];
        let cli = Cli::command();
        for sub in ["train", "baseline"] {
            let cmd = subcommand(&cli, sub);
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                let declared = settings::ALL.iter().chain(ds::DATA).any(|s| {
                    s.long == long
                        && ((s.transformer && sub == "train") || (s.linear && sub == "baseline"))
                });
                assert!(
                    declared || RUN_HANDLING.contains(&long),
                    "`textclf {sub} --{long}` is not declared in textclf-settings"
                );
            }
        }
    }

    /// Each flag takes what its setting's declared [`settings::Kind`] allows: a switch
    /// takes no value, a valid value of the kind parses, and numbers, counts and lists of
    /// numbers refuse what is not one.
    #[test]
    fn every_flag_parses_what_its_declared_kind_takes() {
        use settings::Kind;
        let cli = Cli::command();
        for (s, subs) in declared() {
            for sub in subs {
                if s.long == "model" || !["train", "baseline"].contains(&sub) {
                    continue;
                }
                let cmd = subcommand(&cli, sub);
                let arg = cmd
                    .get_arguments()
                    .find(|a| a.get_long() == Some(s.long))
                    .expect("flag");
                let parse = |value: Option<&str>| {
                    let mut argv = vec!["textclf", sub, "--out", "o"];
                    // The data source, leaving out the flag under test.
                    argv.extend(match s.long {
                        "train" => vec!["--test", "b"],
                        "test" => vec!["--train", "a"],
                        "valid" => vec!["--train", "a", "--test", "b"],
                        "data" => vec![],
                        _ => vec!["--data", "d.csv"],
                    });
                    if sub == "train" {
                        argv.extend(["--model", "m"]);
                    }
                    let flag = s.flag();
                    argv.push(&flag);
                    argv.extend(value);
                    Cli::try_parse_from(argv).map(|_| ())
                };
                let what = format!("{sub} {} ({:?})", s.flag(), s.kind);
                if s.kind == Kind::Switch {
                    assert!(!arg.get_action().takes_values(), "{what}");
                    assert!(parse(None).is_ok(), "{what}");
                    continue;
                }
                assert!(arg.get_action().takes_values(), "{what}");
                let names = arg.get_possible_values();
                let valid = match s.kind {
                    Kind::Count => "2",
                    Kind::Whole => "0",
                    Kind::Number => "0.5",
                    Kind::Numbers => "0.5,2",
                    Kind::Texts => "a,b",
                    Kind::Range => "1-2",
                    Kind::Weights => "balanced",
                    // `--task` checks its names itself (they have aliases).
                    Kind::Text if s.key == "task" => "regression",
                    Kind::Text | Kind::Switch => names.first().map_or("x", |v| v.get_name()),
                };
                assert!(s.kind.parses(valid), "{what}: {valid}");
                if let Err(e) = parse(Some(valid)) {
                    panic!("{what} refuses {valid}: {e}");
                }
                let invalid: &[&str] = match s.kind {
                    Kind::Count => &["0", "x"],
                    Kind::Whole => &["-1", "x"],
                    Kind::Number => &["x"],
                    Kind::Numbers => &["0.5,x"],
                    _ => &[],
                };
                for bad in invalid {
                    assert!(!s.kind.parses(bad), "{what}: {bad}");
                    assert!(parse(Some(bad)).is_err(), "{what} takes {bad}");
                }
            }
        }
    }
}

#[cfg(test)]
mod choices_tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(argv: &[&str]) -> Command {
        let mut full = vec!["textclf"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
            .command
    }

    fn train(flag: &str, value: &str) -> TrainArgs {
        let argv = [
            "train", "--model", "m", "--out", "o", "--data", "d.csv", flag, value,
        ];
        match parse(&argv) {
            Command::Train(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn baseline(flag: &str, value: &str) -> BaselineArgs {
        match parse(&["baseline", "--out", "o", "--data", "d.csv", flag, value]) {
            Command::Baseline(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    /// The names the flag lists in help, and its hidden aliases.
    fn listed(sub: &[&str], long: &str) -> (Vec<String>, Vec<String>) {
        let mut cmd = Cli::command();
        for s in sub {
            cmd = cmd.find_subcommand(s).expect("subcommand").clone();
        }
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .unwrap_or_else(|| panic!("no --{long}"));
        let values = arg.get_possible_values();
        let names = values.iter().map(|v| v.get_name().to_string()).collect();
        let aliases = values
            .iter()
            .flat_map(|v| v.get_name_and_aliases().skip(1).map(str::to_string))
            .collect();
        (names, aliases)
    }

    /// `T`'s flag lists exactly `names` (the spellings it has always had, which sweep files
    /// and run records hold) and `aliases`; every name and alias parses to the library
    /// value, whose name is the one typed.
    fn check<T: Choices + std::fmt::Debug>(
        sub: &[&str],
        long: &str,
        names: &[&str],
        aliases: &[(&str, T)],
        parsed: impl Fn(&str) -> T,
    ) {
        let (listed_names, listed_aliases) = listed(sub, long);
        assert_eq!(listed_names, names, "--{long}");
        assert_eq!(
            listed_aliases,
            aliases.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            "--{long}"
        );
        assert_eq!(T::VALUES.len(), names.len(), "--{long}");
        for (&v, &name) in T::VALUES.iter().zip(names) {
            assert_eq!(parsed(name), v, "--{long} {name}");
            assert_eq!(v.name(), name, "--{long}");
            assert_eq!(T::from_name(name), Some(v), "--{long} {name}");
        }
        for &(alias, v) in aliases {
            assert_eq!(parsed(alias), v, "--{long} {alias}");
        }
    }

    #[test]
    fn enum_flags_take_the_library_values_by_their_old_names() {
        check(
            &["train"],
            "truncation",
            &["head", "tail", "head+tail"],
            &[("head-tail", Truncation::HeadTail)],
            |v| train("--truncation", v).truncation,
        );
        check(
            &["train"],
            "pair-truncation",
            &["longest_first", "only_first", "only_second"],
            &[],
            |v| train("--pair-truncation", v).pair_truncation,
        );
        check(&["train"], "padding", &["dynamic", "max-len"], &[], |v| {
            train("--padding", v).padding
        });
        check(
            &["train"],
            "monitor",
            &["val-loss", "val-accuracy", "val-macro-f1"],
            &[],
            |v| train("--monitor", v).monitor,
        );
        check(&["train"], "device", &["cpu", "cuda"], &[], |v| {
            train("--device", v).device
        });
        check(
            &["bench", "infer"],
            "device",
            &["cpu", "cuda"],
            &[],
            |v| match parse(&["bench", "infer", "--model", "m", "--device", v]) {
                Command::Bench(BenchCommand::Infer(a)) => a.device,
                other => panic!("{other:?}"),
            },
        );
        check(
            &["train"],
            "format",
            &["csv", "tsv", "jsonl", "parquet", "folder"],
            &[],
            |v| train("--format", v).data.columns.format.expect("format"),
        );
        check(
            &["baseline"],
            "model",
            &["lr", "svm", "nbsvm", "cosine"],
            &[],
            |v| baseline("--model", v).model,
        );
        check(
            &["baseline"],
            "tokens",
            &["words-punct", "words"],
            &[],
            |v| baseline("--tokens", v).tokens,
        );
        // Where the library enum has a Display, it writes the same name.
        assert_eq!(Truncation::HeadTail.to_string(), "head+tail");
        assert_eq!(Format::Jsonl.to_string(), "jsonl");
    }

    #[test]
    fn enum_flags_refuse_other_spellings_with_the_values() {
        for (sub, flag, value, listed) in [
            (
                "train",
                "--truncation",
                "Head",
                "[possible values: head, tail, head+tail]",
            ),
            (
                "train",
                "--monitor",
                "val-score",
                "[possible values: val-loss, val-accuracy, val-macro-f1]",
            ),
            (
                "baseline",
                "--tokens",
                "words-and-punct",
                "[possible values: words-punct, words]",
            ),
        ] {
            let mut argv = vec!["textclf", sub, "--out", "o", "--data", "d.csv", flag, value];
            if sub == "train" {
                argv.extend(["--model", "m"]);
            }
            let e = Cli::try_parse_from(argv).unwrap_err().to_string();
            assert!(e.contains(&format!("invalid value '{value}'")), "{e}");
            assert!(e.contains(listed), "{e}");
        }
    }
}
