//! Bench driver for `bench/multinomial_solvers.sh`: two questions issue 17 asked to be
//! measured about the multinomial logistic regression, on TF-IDF features of CSV files
//! (`text`, `label` columns) built as `baseline` builds them. Prints JSON lines. Not a
//! user-facing tool.
//!
//! ```text
//! multinomial_solvers grid seq|par TRAIN TEST C1,C2,…
//!     The C grid with L-BFGS (scikit-learn's stopping rule, intercepts): `seq` fits one C
//!     after the other, each evaluation on every core (what `baseline` does); `par` fits
//!     as many Cs at once as there are cores, each on one core.
//! multinomial_solvers dual|dual-bias TRAIN TEST C1,C2,…
//!     Without intercepts (the problem both solvers can solve), per C: L-BFGS at its
//!     stopping rule on every core and on one core, L-BFGS to the optimum, and dual
//!     coordinate descent (one core): the time its epochs take to reach L-BFGS's objective
//!     and the optimum's, and where its own stopping rule ends. `dual-bias[=B]` appends a
//!     constant feature of value B (default 1) to every row, an intercept regularised
//!     like the other weights (LIBLINEAR's `-B`), which the dual method can fit; the
//!     larger B, the weaker its regularisation.
//! ```

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;
use textclf_linear::solver::lbfgs::{
    scaled_objective, softmax, LbfgsOptions, SoftmaxModel, SoftmaxProblem,
};
use textclf_linear::solver::softmax_dual::{softmax_dual, SoftmaxDualOptions};
use textclf_linear::sparse::CsrMatrix;
use textclf_linear::TfidfParams;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn read(path: &str) -> Res<(Vec<String>, Vec<String>)> {
    let mut r = csv::Reader::from_path(path)?;
    let head = r.headers()?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{path}: no column {name}"))
    };
    let (ti, li) = (col("text")?, col("label")?);
    let (mut texts, mut labels) = (vec![], vec![]);
    for rec in r.records() {
        let rec = rec?;
        texts.push(rec.get(ti).unwrap_or("").to_string());
        labels.push(rec.get(li).unwrap_or("").to_string());
    }
    Ok((texts, labels))
}

struct Data {
    x: CsrMatrix,
    y: Vec<usize>,
    tx: CsrMatrix,
    ty: Vec<usize>,
    k: usize,
}

fn load(train: &str, test: &str) -> Res<Data> {
    let (texts, labels) = read(train)?;
    let (ttexts, tlabels) = read(test)?;
    let mut names: Vec<String> = labels.clone();
    names.sort();
    names.dedup();
    let id: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let ids = |ls: &[String]| -> Res<Vec<usize>> {
        ls.iter()
            .map(|l| {
                id.get(l.as_str())
                    .copied()
                    .ok_or_else(|| format!("test label {l} is not in train").into())
            })
            .collect()
    };
    let (vec, x) = TfidfParams::default().fit_transform(&refs(&texts))?;
    let tx = vec.transform(&refs(&ttexts));
    Ok(Data {
        y: ids(&labels)?,
        ty: ids(&tlabels)?,
        k: names.len(),
        x,
        tx,
    })
}

/// `x` with a constant feature of value `v` appended to every row.
fn with_bias(x: &CsrMatrix, v: f32) -> CsrMatrix {
    let rows = (0..x.nrows())
        .map(|i| {
            let (idx, val) = x.row(i);
            let mut r: Vec<(u32, f32)> = idx.iter().copied().zip(val.iter().copied()).collect();
            r.push((x.ncols as u32, v));
            r
        })
        .collect();
    CsrMatrix::from_rows(rows, x.ncols + 1)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn accuracy(m: &SoftmaxModel, x: &CsrMatrix, y: &[usize]) -> f64 {
    let mut s = vec![0.0; m.k];
    let right = (0..x.nrows())
        .filter(|&i| {
            m.scores_into(x, i, &mut s);
            let best = (0..m.k).max_by(|&a, &b| s[a].total_cmp(&s[b]));
            best == Some(y[i])
        })
        .count();
    right as f64 / x.nrows().max(1) as f64
}

fn one_core<T: Send>(f: impl FnOnce() -> T + Send) -> Res<T> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()?
        .install(f))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: multinomial_solvers grid seq|par TRAIN TEST C1,C2,… | dual[-bias[=B]] TRAIN TEST C1,C2,…";
    let (mode, rest) = match args.first().map(String::as_str) {
        Some("grid") if args.len() == 5 => (args[1].as_str(), &args[2..]),
        Some(m) if m == "dual" || m.starts_with("dual-bias") && args.len() == 4 => (m, &args[1..]),
        _ => return Err(usage.into()),
    };
    let cs: Vec<f64> = rest[2]
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let t0 = Instant::now();
    let mut data = load(&rest[0], &rest[1])?;
    if let Some(v) = mode.strip_prefix("dual-bias") {
        let v: f32 = v.strip_prefix('=').unwrap_or("1").parse()?;
        data.x = with_bias(&data.x, v);
        data.tx = with_bias(&data.tx, v);
    }
    let weight = vec![1.0; data.y.len()];
    let p = SoftmaxProblem {
        x: &data.x,
        y: &data.y,
        weight: &weight,
        k: data.k,
    };
    eprintln!(
        "{} rows, {} features, {} classes; features in {:.1} s",
        data.x.nrows(),
        data.x.ncols,
        data.k,
        t0.elapsed().as_secs_f64()
    );
    let report = |m: &SoftmaxModel, secs: f64| {
        json!({
            "c": m.c, "secs": secs, "iterations": m.iterations, "objective": m.objective,
            "converged": m.converged, "test_accuracy": accuracy(m, &data.tx, &data.ty),
        })
    };
    match mode {
        "seq" | "par" => {
            let opt = LbfgsOptions::default();
            let fit = |c: f64| {
                let t = Instant::now();
                let m = softmax(p, c, &opt);
                (m, t.elapsed().as_secs_f64())
            };
            let t = Instant::now();
            let fits: Vec<(SoftmaxModel, f64)> = if mode == "seq" {
                cs.iter().map(|&c| fit(c)).collect()
            } else {
                cs.par_iter()
                    .map(|&c| one_core(|| fit(c)))
                    .collect::<Res<_>>()?
            };
            let total = t.elapsed().as_secs_f64();
            for (m, secs) in &fits {
                println!("{}", json!({"mode": mode, "fit": report(m, *secs)}));
            }
            println!("{}", json!({"mode": mode, "grid_secs": total}));
        }
        _ => {
            let no_b = LbfgsOptions {
                intercept: false,
                ..LbfgsOptions::default()
            };
            for &c in &cs {
                let t = Instant::now();
                let lb = softmax(p, c, &no_b);
                let lb_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                one_core(|| softmax(p, c, &no_b))?;
                let lb1_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let opt_m = softmax(
                    p,
                    c,
                    &LbfgsOptions {
                        gtol: 1e-8,
                        max_iter: 5000,
                        ..no_b
                    },
                );
                let opt_s = t.elapsed().as_secs_f64();
                // The dual's epochs, the objective computed after each (not timed).
                let mut trace = vec![];
                let mut outside = 0.0;
                let started = Instant::now();
                let probe = opt_m.clone();
                softmax_dual(
                    p,
                    c,
                    &SoftmaxDualOptions {
                        tol: 0.0,
                        max_epochs: 300,
                        seed: 1,
                    },
                    &mut |epoch, w| {
                        let at = started.elapsed().as_secs_f64() - outside;
                        let t = Instant::now();
                        let m = SoftmaxModel {
                            w: w.to_vec(),
                            ..probe.clone()
                        };
                        let f = scaled_objective(&p, &m, c);
                        let acc = accuracy(&m, &data.tx, &data.ty);
                        trace.push((epoch, at, f, acc));
                        outside += t.elapsed().as_secs_f64();
                        // Stop once the optimum's objective is reached (relative 1e-6).
                        f > opt_m.objective * (1.0 + 1e-6)
                    },
                );
                let first = |target: f64| {
                    trace
                        .iter()
                        .find(|e| e.2 <= target)
                        .map(|e| json!({"epoch": e.0, "secs": e.1, "objective": e.2, "test_accuracy": e.3}))
                };
                let t = Instant::now();
                let own = softmax_dual(p, c, &SoftmaxDualOptions::default(), &mut |_, _| true);
                let own_s = t.elapsed().as_secs_f64();
                println!(
                    "{}",
                    json!({
                        "mode": mode,
                        "c": c,
                        "lbfgs": report(&lb, lb_s),
                        "lbfgs_one_core_secs": lb1_s,
                        "optimum": report(&opt_m, opt_s),
                        "dual_to_lbfgs_objective": first(lb.objective),
                        "dual_to_optimum": first(opt_m.objective * (1.0 + 1e-6)),
                        "dual_epochs_run": trace.len(),
                        "dual_last": trace.last().map(|e| json!({"epoch": e.0, "secs": e.1, "objective": e.2, "test_accuracy": e.3})),
                        "dual_own_rule": report(&own, own_s),
                    })
                );
            }
        }
    }
    Ok(())
}
