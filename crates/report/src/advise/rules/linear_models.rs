//! The linear baselines against each other ([`Check::LinearModels`]): when a folder holds
//! two or more finished linear runs, the best by the selection rule is compared with each
//! of the others on the same test rows (McNemar and a paired bootstrap), and the finding
//! says which differences are beyond chance.

use crate::runs::Family;

use crate::advise::context::{Ctx, Finished};
use crate::advise::evidence::paired;
use crate::advise::format::{pct, secs};

/// Seconds for people, with milliseconds below one second (linear fits are fast).
fn fit_time(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        secs(s)
    }
}
use crate::advise::{skip, Check, Finding, Item, Outcome};

pub(crate) fn linear_models(cx: &Ctx) -> Outcome {
    let linear: Vec<Finished> = cx
        .of_family(Family::Linear)
        .into_iter()
        .filter_map(Finished::of)
        .collect();
    if linear.len() < 2 {
        return skip(format!(
            "{} finished linear run{} with a test report; a comparison needs two",
            linear.len(),
            if linear.len() == 1 { "" } else { "s" }
        ));
    }
    let Some(best) = cx.pick_finished(&linear) else {
        return skip("no linear run has a score to rank by");
    };
    let b = best.run;
    let score =
        |r: &crate::runs::RunSummary| cx.curve_metric(r).map_or("no score".to_string(), pct);
    let mut evidence = vec![format!(
        "{} of the linear runs: {}.",
        crate::advise::format::cap(cx.curve_metric_name()),
        linear
            .iter()
            .map(|f| format!("`{}` ({}) {}", f.run.id, f.run.model, score(f.run)))
            .collect::<Vec<_>>()
            .join("; ")
    )];
    let mut better = 0;
    let mut worse = Vec::new();
    let mut tied = Vec::new();
    for other in linear.iter().filter(|f| f.run.id != b.id) {
        let o = other.run;
        // a = other, b = best: the difference is best − other.
        match paired(o, b) {
            Ok(p) => {
                evidence.push(format!("`{}` − `{}` on test: {}.", b.id, o.id, p.text()));
                if p.b_better() {
                    better += 1;
                } else if p.a_better() {
                    worse.push(o.id.clone());
                } else {
                    tied.push(o.id.clone());
                }
            }
            Err(e) => {
                evidence.push(format!(
                    "`{}` test accuracy {} vs `{}` {}; no paired test ({e}).",
                    b.id,
                    pct(best.test.accuracy),
                    o.id,
                    pct(other.test.accuracy)
                ));
                tied.push(o.id.clone());
            }
        }
    }
    let times: Vec<String> = linear
        .iter()
        .filter_map(|f| Some(format!("`{}` {}", f.run.id, fit_time(f.run.train_seconds?))))
        .collect();
    if times.len() == linear.len() {
        evidence.push(format!(
            "Fit time (vectorising and fitting): {}.",
            times.join(", ")
        ));
    }
    let n_others = linear.len() - 1;
    let list = |ids: &[String]| {
        ids.iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let title = if better == n_others {
        format!(
            "`{}` ({}) is the best linear baseline, more accurate on test than every other \
             beyond chance",
            b.id, b.model
        )
    } else if !worse.is_empty() {
        format!(
            "`{}` ({}) is the best linear baseline by {}, but {} is more accurate on test \
             beyond chance: the selection split and the test set disagree",
            b.id,
            b.model,
            cx.curve_metric_name(),
            list(&worse)
        )
    } else {
        format!(
            "`{}` ({}) is the best linear baseline by {}; on test it is not distinguishable \
             from {}",
            b.id,
            b.model,
            cx.curve_metric_name(),
            list(&tied)
        )
    };
    let runs = linear.iter().map(|f| f.run.id.clone()).collect();
    Outcome::Fired(vec![Item::Finding(Finding {
        check: Check::LinearModels,
        title,
        evidence,
        runs,
    })])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::runs::{Family, RunSummary};

    fn lin(id: &str, val: f64, secs: f64) -> RunSummary {
        let mut r = with_params(
            run(id, Family::Linear, val),
            serde_json::json!({"model": id}),
        );
        r.train_seconds = Some(secs);
        r
    }

    fn pair(root: &Path, a_only: usize, b_only: usize) -> Advice {
        let (gold, a, b) = pair_preds(400, 300, a_only, b_only);
        let lr = with_preds(lin("tfidf-lr", 0.80, 0.5), root, &gold, &a);
        let nb = with_preds(lin("tfidf-nbsvm", 0.78, 1.5), root, &gold, &b);
        advise(&set(vec![lr, nb]), None)
    }

    #[test]
    fn two_linear_models_within_chance_are_said_to_tie() {
        let t = tempfile::tempdir().unwrap();
        let a = pair(t.path(), 10, 8);
        let f = finding(&a, Check::LinearModels);
        assert_eq!(
            f.title,
            "`tfidf-lr` (tfidf-lr) is the best linear baseline by validation accuracy at minimum validation loss; on test it is not distinguishable from `tfidf-nbsvm`"
        );
        assert_has(
            &f.evidence,
            "Validation accuracy at minimum validation loss of the linear runs: `tfidf-lr` (tfidf-lr) 80.00 %; `tfidf-nbsvm` (tfidf-nbsvm) 78.00 %",
        );
        assert_has(
            &f.evidence,
            "`tfidf-lr` − `tfidf-nbsvm` on test: +0.50 points",
        );
        assert_has(&f.evidence, "McNemar p = ");
        assert_has(
            &f.evidence,
            "Fit time (vectorising and fitting): `tfidf-lr` 500 ms, `tfidf-nbsvm` 1.5 s",
        );
        assert_all_checks_accounted(&a);
    }

    #[test]
    fn a_clearly_better_linear_model_is_named() {
        let t = tempfile::tempdir().unwrap();
        let a = pair(t.path(), 60, 5);
        let f = finding(&a, Check::LinearModels);
        assert!(
            f.title
                .contains("more accurate on test than every other beyond chance"),
            "{}",
            f.title
        );
        // The selection prefers tfidf-lr, but on test tfidf-nbsvm wins: said plainly.
        let a = pair(t.path(), 5, 60);
        let f = finding(&a, Check::LinearModels);
        assert!(
            f.title
                .contains("but `tfidf-nbsvm` is more accurate on test beyond chance"),
            "{}",
            f.title
        );
    }

    #[test]
    fn one_linear_model_is_not_compared() {
        let mut r = lin("tfidf-lr", 0.8, 1.0);
        r.test = Some(binary_report(0.8, [0.77, 0.83]).into());
        let a = advise(&set(vec![r]), None);
        assert!(
            not_fired(&a, Check::LinearModels).contains("1 finished linear run with a test report")
        );
    }
}
