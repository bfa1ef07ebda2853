//! Every flag of every subcommand, in one place. Each subcommand module turns these raw
//! values into validated library settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// Text classification that tells you what actually helps: fine-tuned BERT-family
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
    /// Fine-tune a BERT-family encoder (BERT, MiniLM, DistilBERT, RoBERTa) for classification.
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
    /// selection on log loss), or one positive number per run.
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

/// Where labelled data comes from and how it is split.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Training file (CSV, TSV, JSONL, Parquet, optionally .gz; or a folder-per-class
    /// directory). Needs --test; or give one pool with --data instead.
    #[arg(long, conflicts_with = "data", requires = "test")]
    pub train: Option<PathBuf>,
    /// Validation file (used to choose C, or for early stopping and the best epoch).
    /// Without it a stratified 10 % of train is held out for that: `baseline` then refits
    /// the chosen model on all of train; `train` trains on the other 90 %.
    #[arg(long, conflicts_with = "data")]
    pub valid: Option<PathBuf>,
    /// Test file: the reported metrics are computed on it (required with --train).
    #[arg(long, conflicts_with = "data")]
    pub test: Option<PathBuf>,
    /// One pool of labelled data, split into train/valid/test (repeat to join several files).
    #[arg(long, num_args = 1.., required_unless_present = "train")]
    pub data: Vec<PathBuf>,
    /// Train/valid/test percentages for --data.
    #[arg(long, default_value = "80/10/10", value_name = "TRAIN/VALID/TEST")]
    pub split: String,
    /// Keep a stratified fraction of the pool (or of train) before splitting, e.g. 0.25.
    #[arg(long, value_name = "F")]
    pub subset_frac: Option<f64>,
    /// Keep at most N examples per class (of the pool, or of train).
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub per_class: Option<usize>,
    /// Seed for splitting, subsetting and training.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// How to find the text and label in a file.
#[derive(Args, Debug, Clone, Default)]
pub struct ColumnArgs {
    /// Text column (default: auto-detect text/sentence/review/content/lyrics…).
    #[arg(long)]
    pub text_col: Option<String>,
    /// Label column (default: auto-detect label/sentiment/genre/target…).
    #[arg(long)]
    pub label_col: Option<String>,
    /// Row id column (default: `id` if present, else file:row).
    #[arg(long)]
    pub id_col: Option<String>,
    /// File format, when the extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    Folder,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum ModelArg {
    /// Logistic regression on TF-IDF (multinomial for more than two classes).
    Lr,
    /// Linear SVM (squared hinge) on TF-IDF, Platt-calibrated.
    Svm,
    /// NBSVM (Wang & Manning 2012) on binarised n-gram counts.
    Nbsvm,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum TokensArg {
    /// Words plus punctuation marks as tokens (default; helps sentiment).
    WordsPunct,
    /// Words of two or more characters only (scikit-learn's default pattern).
    Words,
}

#[derive(Args, Debug)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Which linear model.
    #[arg(long, value_enum, default_value = "lr")]
    pub model: ModelArg,
    /// Output folder for metrics.json, predictions.csv and model/.
    #[command(flatten)]
    pub out: OutArgs,
    /// Inverse regularisation strength. Default: chosen on the validation data from --c-grid.
    #[arg(long = "C", alias = "c", value_name = "C")]
    pub c: Option<f64>,
    /// C values to try, comma-separated (default depends on the model).
    #[arg(long, value_delimiter = ',', value_name = "C1,C2,…")]
    pub c_grid: Vec<f64>,
    /// Word n-gram range.
    #[arg(long, value_name = "MIN-MAX")]
    pub ngram: Option<String>,
    /// Add character n-grams within words, e.g. 2-5.
    #[arg(long, value_name = "MIN-MAX")]
    pub char_ngram: Option<String>,
    /// Drop n-grams in fewer documents (default 2; NBSVM 1).
    #[arg(long)]
    pub min_df: Option<usize>,
    /// Drop n-grams in more than this share of documents.
    #[arg(long)]
    pub max_df: Option<f64>,
    /// Keep only the N most frequent n-grams.
    #[arg(long)]
    pub max_features: Option<usize>,
    /// Raw term counts instead of 1 + ln(tf).
    #[arg(long)]
    pub no_sublinear_tf: bool,
    /// Keep case.
    #[arg(long)]
    pub no_lowercase: bool,
    /// Keep HTML tags such as <br /> (they are stripped by default).
    #[arg(long)]
    pub keep_html: bool,
    /// Tokenisation.
    #[arg(long, value_enum, default_value = "words-punct")]
    pub tokens: TokensArg,
    /// Do not write model/ (metrics and predictions only; e.g. inside large sweeps).
    #[arg(long)]
    pub no_save_model: bool,
    /// NBSVM interpolation β between the mean weight and the SVM weights.
    #[arg(long, default_value_t = 0.25)]
    pub nb_beta: f64,
    /// Weight classes in the loss: `balanced` or one number per class (comma-separated, in label order).
    #[arg(long)]
    pub class_weights: Option<String>,
    /// Solver tolerance.
    #[arg(long, default_value_t = 0.01)]
    pub tol: f64,
    #[command(flatten)]
    pub eval: EvalOpts,
}

#[derive(Args, Debug, Clone)]
pub struct EvalOpts {
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum TruncationArg {
    /// Keep the beginning.
    Head,
    /// Keep the end.
    Tail,
    /// Keep the first quarter and the last three quarters of the budget (Sun et al. 2019).
    #[value(name = "head+tail", alias = "head-tail")]
    HeadTail,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum PaddingArg {
    /// Pad each batch to its longest text (with length-bucketed batches: little waste).
    Dynamic,
    /// Pad every batch to --max-len (for comparison).
    MaxLen,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum MonitorArg {
    ValLoss,
    ValAccuracy,
    ValMacroF1,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum DeviceArg {
    Cpu,
    /// NVIDIA GPU 0 (needs a build with `--features cuda`).
    Cuda,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Pretrained model: a local Hugging Face folder (config.json, model.safetensors, tokenizer)
    /// or a Hub id such as `sentence-transformers/all-MiniLM-L6-v2` (cached; honours HF_HUB_OFFLINE).
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output folder: metrics.json, epochs.csv, predictions.csv and model/ (checkpoints
    /// live in <OUT>.partial/checkpoint while the run is unfinished).
    #[command(flatten)]
    pub out: OutArgs,
    /// Maximum tokens per text, special tokens included.
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Which tokens to keep from a longer text.
    #[arg(long, value_enum, default_value = "head")]
    pub truncation: TruncationArg,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-5)]
    pub lr: f64,
    #[arg(long, default_value_t = 32, value_parser = positive_usize)]
    pub batch_size: usize,
    /// Batch size for validation, test and prediction.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub eval_batch_size: usize,
    #[arg(long, default_value_t = 3, value_parser = positive_usize)]
    pub epochs: usize,
    /// Keep K evenly spaced encoder layers (a smaller, faster model from the same checkpoint).
    #[arg(long, value_name = "K")]
    pub layers: Option<usize>,
    /// Activation checkpointing: keep only each encoder layer's input and recompute the
    /// layer during backward. Far less memory for long sequences (--max-len 512) for about
    /// a quarter more time per step; same results. May be switched on or off on --resume.
    #[arg(long)]
    pub grad_checkpoint: bool,
    /// Weight classes in the loss: `balanced` or one number per class (in label order).
    #[arg(long)]
    pub class_weights: Option<String>,
    /// Continue an interrupted run from <OUT>.partial/checkpoint (same command otherwise).
    #[arg(long)]
    pub resume: bool,
    /// Keep the last checkpoint (optimizer state included, about 4× the model) in
    /// <OUT>/checkpoint when the run finishes; by default it is removed.
    #[arg(long)]
    pub keep_checkpoint: bool,
    /// Share of steps with linear warmup.
    #[arg(long, default_value_t = 0.1)]
    pub warmup_ratio: f64,
    /// AdamW decoupled weight decay (never on biases and LayerNorm).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0 disables).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    /// Accumulate gradients over N batches per optimizer step.
    #[arg(long, default_value_t = 1, value_parser = positive_usize)]
    pub grad_accum: usize,
    #[arg(long, value_enum, default_value = "dynamic")]
    pub padding: PaddingArg,
    /// Plain shuffled batches instead of length-bucketed ones.
    #[arg(long)]
    pub no_bucketing: bool,
    /// Also validate every N optimizer steps (N ≥ 1; without it, once per epoch).
    #[arg(long, value_name = "N", value_parser = positive_steps)]
    pub eval_every: Option<u64>,
    /// Also checkpoint every N optimizer steps (N ≥ 1; always at each epoch end).
    #[arg(long, value_name = "N", value_parser = positive_steps)]
    pub checkpoint_every: Option<u64>,
    /// What early stopping watches.
    #[arg(long, value_enum, default_value = "val-loss")]
    pub monitor: MonitorArg,
    /// Stop after this many validations without improvement (0 disables early stopping).
    #[arg(long, default_value_t = 2)]
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    #[arg(long, default_value_t = 0.0)]
    pub min_delta: f64,
    /// Average the weights of every validation point from this fraction of training on
    /// (e.g. 0.5: the second half); the average is kept when it validates better than the
    /// best single checkpoint.
    #[arg(long, value_name = "F")]
    pub average_from: Option<f64>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
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
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
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
