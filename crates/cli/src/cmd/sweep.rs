//! `textclf sweep`: every run a TOML sweep file declares, each in its own process, sharing
//! one split, resumable and shardable.
//!
//! The data are read and split once into `<out>/data/` (JSONL), so every run, shard and
//! resumed attempt trains and evaluates on exactly the same rows. Each run is a child
//! process (`textclf run-spec <spec.json>`: the run's typed `ExperimentSpec`, written from
//! the plan's `train` / `baseline` flags) working in `runs/<id>.partial/`; the folder
//! is renamed to `runs/<id>/` with its `run.json` when the run finished (or failed), so a
//! final folder is always complete. A crash of one run (even an abort) cannot take the
//! sweep down, and an out-of-memory failure is retried with half the batch size and twice
//! the gradient accumulation (the same effective batch).
//!
//! Safety: one process per sweep folder and shard (a lock file naming its holder); each
//! child in its own process group, told to stop (SIGTERM) if the sweep dies, and sent the
//! sweep's Ctrl-C / SIGTERM so that it checkpoints first; a child's outcome read from its
//! typed `status.json`, never guessed from a bare SIGKILL (that is a kill: the run keeps its
//! checkpoint and resumes with its own batch size).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};
use textclf_core::Task;
use textclf_report::{collect, select, Rule, RunStatus};
use textclf_runs::{
    host_name, now_unix, Attempt, FolderLock, Outcome as ChildOutcome, RecordedStatus,
    RunStatus as ChildStatus, RunsError, SweepRunRecord, LOCK_FILE,
};
use textclf_sweep::folder::{RunState, SweepFolder};
use textclf_sweep::{expand, Family, RunPlan, Shard, SweepConfig};

use super::sweep_data::{prepare_data, LayoutColumns};
use super::train::{has_checkpoint, remove_checkpoints};
use textclf_sweep::Layout;

use crate::args::{Cli, SweepArgs};
use crate::ui::Ui;

/// The full child command line of a run with flags `run_args` (without the program name).
/// `in_place`: the child writes straight into `out`, the run's working folder, which the
/// sweep moves into place itself; the command recorded for people to rerun leaves it out.
fn child_args(
    run_args: &[String],
    folder: &SweepFolder,
    layout: &Layout,
    out: &Path,
    save_models: bool,
    in_place: bool,
) -> Vec<String> {
    let mut args = run_args.to_vec();
    args.extend(layout.flags(folder));
    args.push("--out".into());
    args.push(out.display().to_string());
    if in_place {
        args.push("--in-place".into());
    }
    if !save_models {
        args.push("--no-save-model".into());
    }
    args
}

/// Writes the experiment the child command line `full` describes into
/// `<partial>/spec.json` and returns the command line that runs it there: the child gets
/// its settings as a typed spec, not as flags, and reads the shared split as `layout` says
/// (exactly, whatever its label names hold).
fn spec_child(
    full: &[String],
    partial: &Path,
    layout: &Layout,
) -> anyhow::Result<(Vec<String>, textclf_experiment::ExperimentSpec)> {
    let mut argv = vec!["textclf".to_string()];
    argv.extend(full.iter().cloned());
    let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    let mut spec = match &cli.command {
        crate::args::Command::Train(a) => super::train::spec_from_args(a)?,
        crate::args::Command::Baseline(a) => super::baseline::spec_from_args(a)?,
        _ => bail!("a sweep runs `train` or `baseline`, not {:?}", full.first()),
    };
    spec.data.columns = layout.columns();
    let path = partial.join(textclf_experiment::SPEC_FILE);
    spec.write(&path)?;
    let argv = vec![
        "run-spec".into(),
        path.display().to_string(),
        "--out".into(),
        partial.display().to_string(),
        "--in-place".into(),
    ];
    Ok((argv, spec))
}

/// The batch size and gradient accumulation a run's spec trains with (a linear run has
/// none: the trainer's defaults are recorded, as they always were).
fn batch_of(spec: &textclf_experiment::ExperimentSpec) -> (usize, usize) {
    let batch = |t: &textclf_train::TrainConfig| (t.batch_size, t.grad_accum);
    match &spec.model {
        textclf_experiment::ModelSpec::Transformer { settings } => batch(&settings.train),
        _ => batch(&textclf_train::TrainConfig::default()),
    }
}

/// Fails early (before anything runs) when a run's settings are not valid flags.
fn check_args(r: &RunPlan, folder: &SweepFolder, save_models: bool) -> anyhow::Result<()> {
    let mut argv = vec!["textclf".to_string()];
    // The data's layout is not known before the data is read; the flags' shape is.
    argv.extend(child_args(
        &r.args,
        folder,
        &Layout::legacy(),
        Path::new("out"),
        save_models,
        true,
    ));
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => bail!(
            "run '{}' has settings textclf {} does not accept:\n{}",
            r.id,
            r.args[0],
            e.render()
        ),
    };
    let spec = match &cli.command {
        crate::args::Command::Train(a) => super::train::spec_from_args(a),
        crate::args::Command::Baseline(a) => super::baseline::spec_from_args(a),
        _ => bail!("run '{}': a sweep runs `train` or `baseline`", r.id),
    };
    if let Err(e) = spec {
        bail!("run '{}' has settings that cannot work: {e:#}", r.id);
    }
    Ok(())
}

fn set_flag(args: &mut Vec<String>, flag: &str, value: String) {
    if let Some(i) = args.iter().position(|a| a == flag) {
        args[i + 1] = value;
    } else {
        args.push(flag.into());
        args.push(value);
    }
}

enum Outcome {
    Done,
    Failed,
    Interrupted,
    /// Killed from outside (a bare SIGKILL): the run stays unfinished, with its checkpoint.
    Killed,
    /// Another process works on this run's folder.
    Busy,
}

/// Why a child that did not succeed stopped, from real evidence only: its typed
/// `status.json`, or (when it could not write one) how the process ended.
#[derive(Debug, PartialEq)]
enum Stopped {
    Interrupted,
    OutOfMemory(String),
    Failed(String),
    Killed,
}

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

/// Reads the evidence a stopped child left. `tail` is only used for the message of a child
/// that could not record one, and to recognise the allocator's own abort message.
fn stopped(
    status: Option<&ChildStatus>,
    exit: &std::process::ExitStatus,
    signal: Option<i32>,
    tail: &str,
) -> Stopped {
    if let Some(s) = status {
        let error = s.error.clone().unwrap_or_else(|| "no message".into());
        return match s.outcome {
            ChildOutcome::Interrupted => Stopped::Interrupted,
            ChildOutcome::OutOfMemory => Stopped::OutOfMemory(error),
            ChildOutcome::Failed | ChildOutcome::Done => Stopped::Failed(error),
        };
    }
    if exit.code() == Some(130) {
        return Stopped::Interrupted;
    }
    match signal {
        Some(SIGKILL) => Stopped::Killed,
        // Rust's allocator aborts with "memory allocation of N bytes failed".
        Some(SIGABRT) if tail.contains("memory allocation of") => {
            Stopped::OutOfMemory("an allocation failed".into())
        }
        Some(sig) => Stopped::Failed(format!("the run crashed (signal {sig})")),
        None => Stopped::Failed(child_error(tail, exit)),
    }
}

#[cfg(unix)]
fn signal_of(s: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    s.signal()
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// The running child's pid (0: none), for passing signals on.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Passes a signal on to the running child, if any.
fn signal_child(sig: i32) {
    let pid = CHILD.load(Ordering::SeqCst);
    #[cfg(unix)]
    if pid > 0 {
        // SAFETY: kill(2) with a pid this process spawned; no memory is touched.
        unsafe {
            libc::kill(pid, sig);
        }
    }
    let _ = (pid, sig);
}

/// Runs the child process, copying its output to `log` and (unless quiet) to stderr with
/// the run id in front. Returns the exit status and the last lines of output.
fn spawn(
    args: &[String],
    log: &Path,
    id: &str,
    ui: &Ui,
) -> anyhow::Result<(std::process::ExitStatus, String)> {
    let (exe, lead) = crate::ui::child_command()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let file = Arc::new(Mutex::new(file));
    let tail = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut cmd = Command::new(exe);
    cmd.args(lead)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: the terminal's Ctrl-C reaches the sweep, which passes it
        // on once, so the child checkpoints instead of dying mid-write.
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: runs in the forked child before exec and only calls async-signal-safe
        // functions (prctl, getppid, raise).
        unsafe {
            cmd.pre_exec(|| {
                // If the sweep dies (even by SIGKILL), the child is told to stop: it
                // checkpoints and exits instead of running on unsupervised.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() == 1 {
                    libc::raise(libc::SIGTERM);
                }
                Ok(())
            });
        }
    }
    let mut child = cmd
        .spawn()
        .context("cannot start a textclf child process")?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let show = !(ui.quiet || ui.json);
    let pumps: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let (file, tail, id) = (file.clone(), tail.clone(), id.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Ok(mut f) = file.lock() {
                    let _ = writeln!(f, "{line}");
                }
                crate::ui::relay_child_line(&id, &line, show);
                if let Ok(mut t) = tail.lock() {
                    t.push(line);
                    if t.len() > 40 {
                        t.remove(0);
                    }
                }
            }
        })
    })
    .collect();
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    let status = status.context("waiting for a textclf child process")?;
    for p in pumps {
        let _ = p.join();
    }
    let tail = tail.lock().map(|t| t.join("\n")).unwrap_or_default();
    Ok((status, tail))
}

/// The error a failed child reported (its `error:` line and what follows), else its status.
fn child_error(tail: &str, status: &std::process::ExitStatus) -> String {
    match tail.rfind("error: ") {
        Some(i) => tail[i + 7..].trim().to_string(),
        None => format!("the run exited with {status}"),
    }
}

struct Ctx<'a> {
    folder: &'a SweepFolder,
    layout: &'a Layout,
    plan_name: &'a str,
    varied: &'a [String],
    save_models: bool,
    shard: Shard,
    stop: &'a AtomicBool,
    ui: &'a Ui,
}

/// Waits (up to two minutes) until no process holds the run's working folder: a child of
/// an earlier sweep that was killed may still be saving its checkpoint. `Ok(false)` when it
/// stays held.
fn wait_for_run_folder(partial: &Path, id: &str, ui: &Ui) -> anyhow::Result<bool> {
    let lock = partial.join(LOCK_FILE);
    match FolderLock::acquire_waiting(&lock, "textclf sweep", Duration::from_secs(120), |h| {
        ui.note(&format!(
            "{id}: waiting for {} to leave its folder (an earlier run still saving its checkpoint?)",
            h.map_or("another process".to_string(), |h| h.to_string())
        ))
    }) {
        Ok(l) => {
            drop(l);
            Ok(true)
        }
        Err(RunsError::Locked { holder, .. }) => {
            ui.note(&format!(
                "{id}: {} is still in use by {holder}; left to it",
                partial.display()
            ));
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether another sweep process (an overlapping shard, a second launch) finished run `id`
/// while this one waited for its folder. Its final folder is then kept as it is, and
/// what this process left of the working folder (an empty folder) is removed.
fn finished_meanwhile(c: &Ctx, id: &str, partial: &Path) -> anyhow::Result<bool> {
    if c.folder.state(id)? != RunState::Done {
        return Ok(false);
    }
    let _ = std::fs::remove_file(partial.join(LOCK_FILE));
    let _ = std::fs::remove_dir(partial);
    c.ui.note(&format!(
        "{id}: finished by another sweep process meanwhile; kept"
    ));
    Ok(true)
}

fn execute(r: &RunPlan, c: &Ctx) -> anyhow::Result<Outcome> {
    let partial = c.folder.partial_dir(&r.id);
    let mut args = r.args.clone();
    let mut params = r.params.clone();
    let mut attempts: Vec<Attempt> = Vec::new();
    let started = Instant::now();
    loop {
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        if !wait_for_run_folder(&partial, &r.id, c.ui)? {
            return Ok(Outcome::Busy);
        }
        if finished_meanwhile(c, &r.id, &partial)? {
            return Ok(Outcome::Done);
        }
        // A status left by an earlier attempt is not this attempt's.
        let _ = std::fs::remove_file(partial.join(textclf_runs::STATUS_FILE));
        let resumable = r.family == Family::Transformer && has_checkpoint(&partial);
        let mut full = child_args(&args, c.folder, c.layout, &partial, c.save_models, true);
        if resumable {
            full.push("--resume".into());
            c.ui.note(&format!("{}: resuming from its checkpoint", r.id));
        }
        let (child, spec) = spec_child(&full, &partial, c.layout)?;
        let (status, tail) = spawn(&child, &partial.join("log.txt"), &r.id, c.ui)?;
        let final_dir = c.folder.run_dir(&r.id);
        let mut record = SweepRunRecord {
            format: SweepRunRecord::FORMAT,
            id: r.id.clone(),
            index: r.index,
            sweep: c.plan_name.to_string(),
            family: r.family,
            model: r.model.clone(),
            params: params.clone(),
            varied: c.varied.to_vec(),
            command: format!(
                "textclf {}",
                child_args(&args, c.folder, c.layout, &final_dir, c.save_models, false).join(" ")
            ),
            shard: c.shard.to_string(),
            host: host_name(),
            seconds: started.elapsed().as_secs_f64(),
            finished_at_unix: now_unix(),
            status: RecordedStatus::Done,
            error: None,
            attempts: attempts.clone(),
        };
        if status.success() {
            remove_checkpoints(&partial)?;
            c.folder.finish(&r.id, &record)?;
            return Ok(Outcome::Done);
        }
        let child_status = match ChildStatus::read(&partial) {
            Ok(s) => s,
            Err(e) => {
                c.ui.note(&format!("{}: {e}", r.id));
                None
            }
        };
        if c.stop.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        let signal = signal_of(&status);
        let (batch, accum) = batch_of(&spec);
        let attempt = |error: &str| Attempt {
            batch_size: batch,
            grad_accum: accum,
            error: error.to_string(),
        };
        let error = match stopped(child_status.as_ref(), &status, signal, &tail) {
            Stopped::Interrupted => return Ok(Outcome::Interrupted),
            Stopped::Killed => {
                c.ui.note(&format!(
                    "{}: killed (SIGKILL) from outside the sweep; its folder {} and checkpoint are kept, and the next `textclf sweep` resumes it with the same settings",
                    r.id,
                    partial.display()
                ));
                return Ok(Outcome::Killed);
            }
            Stopped::OutOfMemory(e) => {
                attempts.push(attempt(&e));
                if r.family == Family::Transformer && batch > 1 {
                    let (nb, na) = (batch / 2, accum * 2);
                    c.ui.note(&format!(
                        "{}: out of memory at batch size {batch}; retrying with batch size {nb} and gradient accumulation {na} (same effective batch)",
                        r.id
                    ));
                    set_flag(&mut args, "--batch-size", nb.to_string());
                    set_flag(&mut args, "--grad-accum", na.to_string());
                    params.insert("batch_size".into(), json!(nb));
                    params.insert("grad_accum".into(), json!(na));
                    std::fs::remove_dir_all(&partial)
                        .with_context(|| format!("cannot remove {}", partial.display()))?;
                    continue;
                }
                format!("out of memory: {e}")
            }
            Stopped::Failed(e) => {
                if child_status.is_none() {
                    // The child may have been refused the folder by another process's
                    // run (an overlapping shard): wait for it, and keep what it finished.
                    if !wait_for_run_folder(&partial, &r.id, c.ui)? {
                        return Ok(Outcome::Busy);
                    }
                    if finished_meanwhile(c, &r.id, &partial)? {
                        return Ok(Outcome::Done);
                    }
                }
                attempts.push(attempt(&e));
                e
            }
        };
        // Best effort: the failure is what gets recorded, even if a checkpoint stays.
        let _ = remove_checkpoints(&partial);
        record.status = RecordedStatus::Failed;
        record.error = Some(error.clone());
        record.attempts = attempts;
        c.folder.finish(&r.id, &record)?;
        c.ui.note(&format!(
            "{}: FAILED: {error} (recorded in {}; the sweep goes on)",
            r.id,
            final_dir.join("run.json").display()
        ));
        return Ok(Outcome::Failed);
    }
}

pub fn run(a: SweepArgs, ui: &Ui) -> anyhow::Result<()> {
    let cfg = SweepConfig::load(&a.config)?;
    let given_rule: Option<Rule> = cfg
        .selection
        .as_deref()
        .map(str::parse)
        .transpose()
        .with_context(|| format!("{}: `selection`", a.config.display()))?;
    if let (Some(rule), Some(task)) = (given_rule, cfg.data.task) {
        check_rule(rule, task, &a.config)?;
    }
    let mut plan = expand(&cfg).with_context(|| format!("{}", a.config.display()))?;
    for line in &plan.unused {
        ui.warn(&format!("{}: {line}", a.config.display()));
    }
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_env(|k| std::env::var(k).ok())?.unwrap_or(Shard::ALL),
    };
    let folder = SweepFolder::new(&a.out);
    for r in &plan.runs {
        check_args(r, &folder, cfg.save_models)?;
    }
    let mine: Vec<&RunPlan> = plan.runs.iter().filter(|r| shard.owns(r.index)).collect();
    if a.dry_run {
        let mut lines = vec![format!(
            "sweep '{}': {} runs{}",
            plan.name,
            plan.runs.len(),
            if shard == Shard::ALL {
                String::new()
            } else {
                format!(", {} in shard {shard}", mine.len())
            }
        )];
        for r in &plan.runs {
            let state = match folder.state(&r.id)? {
                RunState::Done => "done".to_string(),
                RunState::Failed(e) => format!("failed: {e}"),
                RunState::Partial => "unfinished".into(),
                RunState::Pending => "pending".into(),
                RunState::Damaged(why) => format!("damaged ({why}): will be set aside and redone"),
            };
            let here = if shard.owns(r.index) { "*" } else { " " };
            lines.push(format!(
                "{here} {:>3}  {:<40} {state}\n        textclf {}",
                r.index,
                r.id,
                r.args.join(" ")
            ));
        }
        ui.print(&lines.join("\n"));
        return Ok(());
    }
    // One process per sweep folder and shard; other shards run beside it.
    let _lock = FolderLock::acquire(
        &folder
            .root
            .join(format!(".lock-{}", shard_file_name(&shard))),
        &if shard == Shard::ALL {
            "textclf sweep".to_string()
        } else {
            format!("textclf sweep, shard {shard}")
        },
    )
    .context("another `textclf sweep` works on this shard of the folder")?;
    check_not_stale(&plan.runs, &folder)?;
    let (fp, layout) = prepare_data(&cfg, &folder, ui)?;
    // The runs are ranked by the rule the file gives, else by the task's default.
    let rule = match given_rule {
        Some(rule) => {
            check_rule(rule, layout.task(), &a.config)?;
            rule
        }
        None => Rule::default_for(layout.task()),
    };
    plan.selection = rule.name().to_string();
    folder.write_plan(&plan, &a.config, &fp)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C, SIGTERM or SIGHUP: passed on to the running child (in its own process
        // group), which checkpoints and exits; a second one ends both at once.
        crate::ui::on_interrupt(move || {
            if stop.swap(true, Ordering::SeqCst) {
                signal_child(SIGTERM);
                std::process::exit(130);
            }
            signal_child(SIGINT);
            eprintln!("\n  interrupt: the current run saves a checkpoint; run the same command again to resume");
        });
    }
    ui.note(&format!(
        "sweep '{}': {} runs, {} of them in shard {shard}; selection: {}",
        plan.name,
        plan.runs.len(),
        mine.len(),
        rule.describe()
    ));
    let ctx = Ctx {
        folder: &folder,
        layout: &layout,
        plan_name: &plan.name,
        varied: &plan.varied,
        save_models: cfg.save_models,
        shard,
        stop: &stop,
        ui,
    };
    let (mut done, mut failed, mut skipped) = (0, 0, 0);
    let mut unfinished: Vec<&str> = Vec::new();
    for (k, r) in mine.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match folder.state(&r.id)? {
            RunState::Done => {
                skipped += 1;
                continue;
            }
            RunState::Failed(e) if a.skip_failed => {
                ui.note(&format!(
                    "{}: failed before ({e}); skipped (--skip-failed)",
                    r.id
                ));
                skipped += 1;
                continue;
            }
            RunState::Failed(e) => {
                ui.note(&format!("{}: failed before ({e}); retrying", r.id));
                folder.reset(&r.id)?;
            }
            RunState::Damaged(why) => {
                let to = folder.set_aside(&r.id)?;
                ui.note(&format!(
                    "{}: {why}; its folder was moved to {} and the run is redone",
                    r.id,
                    to.display()
                ));
            }
            RunState::Partial | RunState::Pending => {}
        }
        ui.note(&format!(
            "run {}/{} of this shard: {}  (textclf {})",
            k + 1,
            mine.len(),
            r.id,
            r.args.join(" ")
        ));
        match execute(r, &ctx)? {
            Outcome::Done => done += 1,
            Outcome::Failed => failed += 1,
            Outcome::Killed | Outcome::Busy => unfinished.push(&r.id),
            Outcome::Interrupted => {
                bail!(
                    "interrupted during run '{}'; run the same command again to resume (finished runs are kept, this one continues from its checkpoint)",
                    r.id
                );
            }
        }
    }
    ui.note(&format!(
        "shard {shard}: {done} runs finished now, {failed} failed, {skipped} already done before{}",
        if unfinished.is_empty() {
            String::new()
        } else {
            format!(", {} left unfinished", unfinished.len())
        }
    ));
    summarize(&a.out, rule, ui)?;
    // Exit non-zero, after the summary, when any run of this shard failed or is unfinished.
    let failed_ids: Vec<&str> = mine
        .iter()
        .filter(|r| matches!(folder.state(&r.id), Ok(RunState::Failed(_))))
        .map(|r| r.id.as_str())
        .collect();
    if !failed_ids.is_empty() || !unfinished.is_empty() {
        let mut parts = Vec::new();
        if !failed_ids.is_empty() {
            parts.push(format!(
                "{} of {} runs failed ({}; each run.json under {}/runs says why)",
                failed_ids.len(),
                mine.len(),
                failed_ids.join(", "),
                a.out.display()
            ));
        }
        if !unfinished.is_empty() {
            parts.push(format!(
                "{} unfinished ({}): run the same command again to resume",
                unfinished.len(),
                unfinished.join(", ")
            ));
        }
        bail!("{}", parts.join("; "));
    }
    Ok(())
}

/// Refuses a selection rule that does not measure runs of `task` (accuracy of a
/// regression…), naming the rules that do.
fn check_rule(rule: Rule, task: Task, config: &Path) -> anyhow::Result<()> {
    let fits = Rule::for_task(task);
    if !fits.contains(&rule) {
        bail!(
            "{}: selection = \"{rule}\" does not measure {task} runs; use one of: {} (default: {})",
            config.display(),
            fits.iter().map(|r| r.name()).collect::<Vec<_>>().join(", "),
            Rule::default_for(task)
        );
    }
    Ok(())
}

/// The lock file's name part for a shard: `all` or `0-of-3`.
fn shard_file_name(s: &Shard) -> String {
    if *s == Shard::ALL {
        "all".into()
    } else {
        s.to_string().replace('/', "-of-")
    }
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Refuses to mix results of other settings into a sweep: a finished run whose recorded
/// settings differ from what the sweep file now says (e.g. `epochs` was changed) would
/// otherwise be skipped as done. Batch size and accumulation changed by an out-of-memory
/// retry do not count.
fn check_not_stale(runs: &[RunPlan], folder: &SweepFolder) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for r in runs {
        // A damaged record is set aside and redone later; it cannot be stale.
        let Ok(rec) = SweepRunRecord::read(&folder.run_dir(&r.id)) else {
            continue;
        };
        let mut old = rec.params.clone();
        let mut new = r.params.clone();
        if !rec.attempts.is_empty() {
            for m in [&mut old, &mut new] {
                m.remove("batch_size");
                m.remove("grad_accum");
            }
        }
        if old != new {
            stale.push(r.id.as_str());
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} already holds runs made with other settings than the sweep file now gives: {}. Use a new --out folder, or delete those run folders under {}/runs to redo them",
            folder.root.display(),
            stale.join(", "),
            folder.root.display()
        );
    }
    Ok(())
}

/// Prints where the whole sweep stands and, once every run is finished, the selection.
fn summarize(out: &Path, rule: Rule, ui: &Ui) -> anyhow::Result<()> {
    let set = collect(out)?;
    let pending: Vec<&str> = set
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Pending)
        .map(|r| r.id.as_str())
        .collect();
    let failed = set
        .runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Failed { .. }))
        .count();
    if ui.json {
        let sel = select(&set.runs, rule);
        let runs: Vec<Value> = set
            .runs
            .iter()
            .map(|r| {
                let headline = r.test.as_ref().map(|t| t.headline());
                json!({
                    "id": r.id,
                    "status": textclf_report::table::status_name(&r.status),
                    "task": r.task(),
                    // As the selection reports it (a loss as the loss itself).
                    "score": rule.score(r).map(|x| if rule == Rule::ValLoss { -x } else { x }),
                    "val_acc_at_min_val_loss": r.val_acc_at_min_val_loss,
                    "test_accuracy": r.test_accuracy(),
                    "test_headline": headline.map(|(measure, value)| json!({"measure": measure, "value": value})),
                    "dir": r.dir,
                })
            })
            .collect();
        return ui.print_json(&json!({
            "sweep": set.sweep,
            "task": set.task(),
            "rule": rule.name(),
            "best": sel.as_ref().map(|s| s.best.clone()),
            "near_ties": sel.as_ref().map(|s| s.near_ties().map(|t| t.id.clone()).collect::<Vec<_>>()),
            "runs": runs,
        }));
    }
    let mut text = format!(
        "sweep {}: {} of {} runs done, {failed} failed, {} not finished",
        out.display(),
        set.done().count(),
        set.runs.len(),
        pending.len()
    );
    if !pending.is_empty() {
        text.push_str(&format!(
            " ({}; other shards may still be running them)",
            pending.join(", ")
        ));
    }
    if let Some(sel) = select(&set.runs, rule) {
        let best = set.runs.iter().find(|r| r.id == sel.best);
        text.push_str(&format!(
            "\nbest by {} so far: {} (score {:.4}{})",
            rule.describe(),
            sel.best,
            sel.ranking[0].score,
            best.and_then(|b| b.test.as_ref())
                .and_then(|t| match t.headline() {
                    (measure, Some(v)) => Some(format!(", test {measure} {v:.4}")),
                    (_, None) => None,
                })
                .unwrap_or_default()
        ));
        let ties: Vec<String> = sel
            .near_ties()
            .map(|t| {
                format!(
                    "{} ({:.4}{})",
                    t.id,
                    t.score,
                    t.mcnemar_p
                        .map_or(String::new(), |p| format!(", test McNemar p = {p:.3}"))
                )
            })
            .collect();
        if !ties.is_empty() {
            text.push_str(&format!(
                "\nnear ties (within the validation 95 % half-width{}): {}",
                sel.half_width
                    .map_or(String::new(), |h| format!(" ±{h:.4}")),
                ties.join(", ")
            ));
        }
    }
    text.push_str(&format!(
        "\nnext: textclf report {0}   ·   textclf advise {0}",
        out.display()
    ));
    ui.print(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn status(code: i32) -> std::process::ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        std::process::ExitStatus::from_raw(code)
    }

    #[cfg(unix)]
    #[test]
    fn out_of_memory_comes_only_from_the_childs_status_or_an_allocation_failure() {
        let failed = status(1 << 8);
        let oom = ChildStatus::new(ChildOutcome::OutOfMemory, Some("CUDA out of memory".into()));
        assert!(matches!(
            stopped(Some(&oom), &failed, None, ""),
            Stopped::OutOfMemory(_)
        ));
        assert!(matches!(
            stopped(
                None,
                &status(6),
                Some(6),
                "memory allocation of 1073741824 bytes failed"
            ),
            Stopped::OutOfMemory(_)
        ));
        // A bare SIGKILL is a kill, not an out-of-memory: the run keeps its checkpoint.
        assert_eq!(stopped(None, &status(9), Some(9), ""), Stopped::Killed);
        // Messages are not evidence: a failed run that mentions memory is a failure.
        assert!(matches!(
            stopped(
                None,
                &failed,
                None,
                "error: out of memory? no: --lr must be positive"
            ),
            Stopped::Failed(_)
        ));
        let int = ChildStatus::new(ChildOutcome::Interrupted, None);
        assert_eq!(stopped(Some(&int), &failed, None, ""), Stopped::Interrupted);
        assert_eq!(shard_file_name(&Shard::parse("1/3").unwrap()), "1-of-3");
    }

    #[cfg(unix)]
    #[test]
    fn the_childs_error_line_becomes_the_recorded_error() {
        let failed = status(1 << 8);
        let tail = "  epoch 1 …\nerror: cannot load the model in /x: no config.json";
        assert_eq!(
            child_error(tail, &failed),
            "cannot load the model in /x: no config.json"
        );
        assert!(child_error("no error line", &failed).contains("exited with"));
    }

    #[test]
    fn flags_are_replaced_in_place_or_appended() {
        let mut a: Vec<String> = ["train", "--batch-size", "32"].map(String::from).to_vec();
        set_flag(&mut a, "--batch-size", "16".into());
        set_flag(&mut a, "--grad-accum", "2".into());
        assert_eq!(a.join(" "), "train --batch-size 16 --grad-accum 2");
    }
}
