//! Paired comparison of two models on the same test set: the difference in accuracy and
//! macro F1 with paired-bootstrap intervals, and McNemar's test on the discordant rows.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{bootstrap_counts, percentile_interval};
use crate::cells::{cell_ids, check_ids};
use crate::metrics::accuracy_macro_f1;
use crate::{EvalError, EvalOptions};

/// Below this many discordant rows McNemar's test uses the exact binomial distribution,
/// from this many on the chi-squared approximation.
pub const EXACT_BELOW: u64 = 25;

/// McNemar's test (McNemar 1947) of whether two classifiers have the same error rate,
/// using only the rows where exactly one of them is right.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct McNemar {
    /// Rows A got right and B got wrong.
    pub a_right_b_wrong: u64,
    /// Rows A got wrong and B got right.
    pub a_wrong_b_right: u64,
    /// The continuity-corrected chi-squared statistic; `None` for the exact test.
    pub statistic: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `"exact binomial"` or `"chi-squared with continuity correction"`.
    pub method: String,
}

/// Two models evaluated on the same rows. Differences are always B − A.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Comparison {
    pub n: usize,
    pub accuracy_a: f64,
    pub accuracy_b: f64,
    /// `accuracy_b - accuracy_a`.
    pub diff: f64,
    /// Paired percentile-bootstrap interval of `diff`.
    pub diff_ci: [f64; 2],
    pub macro_f1_a: f64,
    pub macro_f1_b: f64,
    /// `macro_f1_b - macro_f1_a`.
    pub macro_f1_diff: f64,
    /// Paired percentile-bootstrap interval of `macro_f1_diff`.
    pub macro_f1_diff_ci: [f64; 2],
    pub mcnemar: McNemar,
    /// One sentence that says which model is better and whether that could be chance.
    pub verdict: String,
}

/// Compares predictions `pred_a` and `pred_b` of two models against the same `gold` ids.
///
/// The intervals come from a paired bootstrap: every resample draws the same rows for
/// both models, so the correlation between their errors is kept. McNemar's p-value is
/// called significant below `1 − opts.confidence` (0.05 by default).
pub fn compare(
    gold: &[usize],
    pred_a: &[usize],
    pred_b: &[usize],
    num_classes: usize,
    opts: &EvalOptions,
) -> Result<Comparison, EvalError> {
    opts.validate()?;
    for (what, other) in [
        ("gold labels vs predictions of A", pred_a),
        ("gold labels vs predictions of B", pred_b),
    ] {
        if gold.len() != other.len() {
            return Err(EvalError::LengthMismatch {
                what: what.into(),
                left: gold.len(),
                right: other.len(),
            });
        }
    }
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    let k = num_classes;
    check_ids(gold, k, "the gold label")?;
    check_ids(pred_a, k, "the prediction of A")?;
    check_ids(pred_b, k, "the prediction of B")?;

    let cells_a = cell_ids(gold, pred_a, k);
    let cells_b = cell_ids(gold, pred_b, k);
    let count = |cells: &[u32]| {
        let mut c = vec![0u64; k * k];
        for &x in cells {
            c[x as usize] += 1;
        }
        c
    };
    let (accuracy_a, macro_f1_a) = accuracy_macro_f1(&count(&cells_a), k);
    let (accuracy_b, macro_f1_b) = accuracy_macro_f1(&count(&cells_b), k);
    let diff = accuracy_b - accuracy_a;
    let macro_f1_diff = macro_f1_b - macro_f1_a;

    let (diff_ci, macro_f1_diff_ci) = if opts.bootstrap == 0 {
        ([diff, diff], [macro_f1_diff, macro_f1_diff])
    } else {
        let mut d_acc = Vec::with_capacity(opts.bootstrap);
        let mut d_f1 = Vec::with_capacity(opts.bootstrap);
        bootstrap_counts(
            &[&cells_a, &cells_b],
            k * k,
            opts.bootstrap,
            opts.seed,
            |c| {
                let (aa, fa) = accuracy_macro_f1(&c[0], k);
                let (ab, fb) = accuracy_macro_f1(&c[1], k);
                d_acc.push(ab - aa);
                d_f1.push(fb - fa);
            },
        );
        (
            percentile_interval(&mut d_acc, opts.confidence),
            percentile_interval(&mut d_f1, opts.confidence),
        )
    };

    let mut a_right_b_wrong = 0u64;
    let mut a_wrong_b_right = 0u64;
    for ((&g, &a), &b) in gold.iter().zip(pred_a).zip(pred_b) {
        match (a == g, b == g) {
            (true, false) => a_right_b_wrong += 1,
            (false, true) => a_wrong_b_right += 1,
            _ => {}
        }
    }
    let mcnemar = mcnemar(a_right_b_wrong, a_wrong_b_right);
    let verdict = verdict(diff, diff_ci, &mcnemar, opts.confidence);

    Ok(Comparison {
        n: gold.len(),
        accuracy_a,
        accuracy_b,
        diff,
        diff_ci,
        macro_f1_a,
        macro_f1_b,
        macro_f1_diff,
        macro_f1_diff_ci,
        mcnemar,
        verdict,
    })
}

/// McNemar's test from the two discordant counts `b` (A right, B wrong) and `c`
/// (A wrong, B right).
///
/// * `b + c == 0`: nothing to test, p = 1.
/// * `b + c <` [`EXACT_BELOW`]: exact test; under the null each discordant row is a fair
///   coin, so p = min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b + c, ½).
/// * otherwise: chi-squared with Edwards' (1948) continuity correction,
///   χ² = (|b − c| − 1)² / (b + c) (the bracket floored at 0, so equal counts give
///   χ² = 0), and for one degree of freedom p = P(χ²₁ > χ²) = erfc(√(χ²/2)).
pub fn mcnemar(b: u64, c: u64) -> McNemar {
    let discordant = b + c;
    let (statistic, p_value, method) = if discordant < EXACT_BELOW {
        let p = if discordant == 0 {
            1.0
        } else {
            (2.0 * binomial_half_cdf(discordant, b.min(c))).min(1.0)
        };
        (None, p, "exact binomial")
    } else {
        let gap = (b.abs_diff(c) as f64 - 1.0).max(0.0);
        let chi2 = gap * gap / discordant as f64;
        let p = libm::erfc((chi2 / 2.0).sqrt()).min(1.0);
        (Some(chi2), p, "chi-squared with continuity correction")
    };
    McNemar {
        a_right_b_wrong: b,
        a_wrong_b_right: c,
        statistic,
        p_value,
        method: method.to_string(),
    }
}

/// P(X ≤ m) for X ~ Binomial(n, ½).
fn binomial_half_cdf(n: u64, m: u64) -> f64 {
    if m >= n {
        return 1.0;
    }
    if n <= 1000 {
        // pmf(0) = 2⁻ⁿ (no underflow for n ≤ 1000), pmf(i+1) = pmf(i)·(n−i)/(i+1).
        let mut pmf = 0.5f64.powi(n as i32);
        let mut sum = pmf;
        for i in 0..m {
            pmf *= (n - i) as f64 / (i + 1) as f64;
            sum += pmf;
        }
        sum.min(1.0)
    } else {
        // Log space: ln C(n, i) = lnΓ(n+1) − lnΓ(i+1) − lnΓ(n−i+1).
        let nf = n as f64;
        let ln_n = libm::lgamma(nf + 1.0) - nf * std::f64::consts::LN_2;
        (0..=m)
            .map(|i| {
                let i = i as f64;
                (ln_n - libm::lgamma(i + 1.0) - libm::lgamma(nf - i + 1.0)).exp()
            })
            .sum::<f64>()
            .min(1.0)
    }
}

/// Formats a p-value for people: 2 significant-ish decimals, more when small.
pub(crate) fn format_p(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".to_string()
    } else if p < 0.01 {
        format!("p = {p:.4}")
    } else {
        format!("p = {p:.2}")
    }
}

/// "95%" for 0.95, "97.5%" for 0.975.
pub(crate) fn format_level(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}%")
    } else {
        format!("{}%", (pct * 1000.0).round() / 1000.0)
    }
}

fn verdict(diff: f64, ci: [f64; 2], m: &McNemar, level: f64) -> String {
    let level_txt = format_level(level);
    let pts = |x: f64| x * 100.0;
    let head = if diff > 0.0 {
        format!(
            "B is more accurate by {:.2} points ({level_txt} CI {:.2} to {:.2})",
            pts(diff),
            pts(ci[0]),
            pts(ci[1])
        )
    } else if diff < 0.0 {
        // Say it from A's side: the interval of A − B is the negated, swapped one.
        format!(
            "A is more accurate by {:.2} points ({level_txt} CI {:.2} to {:.2})",
            pts(-diff),
            pts(-ci[1]),
            pts(-ci[0])
        )
    } else {
        format!(
            "A and B are equally accurate ({level_txt} CI of B − A {:.2} to {:.2} points)",
            pts(ci[0]),
            pts(ci[1])
        )
    };
    let alpha = 1.0 - level;
    let tail = if m.a_right_b_wrong + m.a_wrong_b_right == 0 {
        "the two models are right and wrong on exactly the same rows.".to_string()
    } else if m.p_value < alpha {
        "the difference is unlikely to be chance.".to_string()
    } else {
        "no evidence of a real difference at this test-set size.".to_string()
    };
    format!("{head}; McNemar {}: {tail}", format_p(m.p_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} != {b}");
    }

    #[test]
    fn exact_mcnemar_p() {
        let m = mcnemar(1, 9);
        assert_eq!(m.method, "exact binomial");
        assert_eq!(m.statistic, None);
        // 2 · (1 + 10) / 1024
        close(m.p_value, 0.021_484_375, 1e-12);
        assert_eq!(mcnemar(9, 1).p_value, m.p_value);
        assert_eq!(mcnemar(0, 0).p_value, 1.0);
        assert_eq!(mcnemar(5, 5).p_value, 1.0);
        // 24 discordant is still exact, 25 is chi-squared.
        assert_eq!(mcnemar(12, 12).method, "exact binomial");
        assert_eq!(
            mcnemar(12, 13).method,
            "chi-squared with continuity correction"
        );
    }

    #[test]
    fn chi_squared_mcnemar() {
        let m = mcnemar(10, 30);
        close(m.statistic.unwrap(), 9.025, 1e-12);
        // scipy.stats.chi2.sf(9.025, 1) = 0.0026631...
        close(m.p_value, 0.002_663, 5e-6);
        assert_eq!(mcnemar(20, 20).statistic, Some(0.0));
        assert_eq!(mcnemar(20, 20).p_value, 1.0);
    }

    #[test]
    fn binomial_cdf_agrees_between_direct_and_log_space() {
        // Both branches on the same inputs (direct for n ≤ 1000).
        let n = 1000u64;
        let direct = binomial_half_cdf(n, 480);
        let nf = n as f64;
        let ln_n = libm::lgamma(nf + 1.0) - nf * std::f64::consts::LN_2;
        let logspace: f64 = (0..=480u64)
            .map(|i| {
                let i = i as f64;
                (ln_n - libm::lgamma(i + 1.0) - libm::lgamma(nf - i + 1.0)).exp()
            })
            .sum();
        close(direct, logspace, 1e-9);
        // Symmetry: P(X ≤ 1000) over n = 2001 is exactly ½.
        close(binomial_half_cdf(2001, 1000), 0.5, 1e-9);
    }

    #[test]
    fn compare_counts_discordant_rows_and_differences() {
        let gold = [0, 1, 2, 0, 1, 2, 0, 1];
        let a = [0, 1, 2, 1, 0, 2, 0, 0]; // 5 right
        let b = [0, 1, 2, 0, 1, 2, 1, 1]; // 7 right
        let c = compare(&gold, &a, &b, 3, &EvalOptions::default()).unwrap();
        assert_eq!(c.n, 8);
        close(c.accuracy_a, 5.0 / 8.0, 1e-12);
        close(c.accuracy_b, 7.0 / 8.0, 1e-12);
        close(c.diff, 0.25, 1e-12);
        assert_eq!(c.mcnemar.a_right_b_wrong, 1);
        assert_eq!(c.mcnemar.a_wrong_b_right, 3);
        assert!(c.diff_ci[0] <= c.diff && c.diff <= c.diff_ci[1]);
        assert!(c.macro_f1_diff_ci[0] <= c.macro_f1_diff_ci[1]);
        assert!(c.verdict.starts_with("B is more accurate by 25.00 points"));
        assert!(c.verdict.contains("no evidence"), "{}", c.verdict);
    }

    #[test]
    fn clear_difference_is_called_significant() {
        // 2000 rows: A right on 70 %, B right on 80 %, B's correct rows a superset.
        let n = 2000;
        let gold: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let a: Vec<usize> = (0..n)
            .map(|i| if i % 10 < 7 { gold[i] } else { 1 - gold[i] })
            .collect();
        let b: Vec<usize> = (0..n)
            .map(|i| if i % 10 < 8 { gold[i] } else { 1 - gold[i] })
            .collect();
        let c = compare(&gold, &a, &b, 2, &EvalOptions::default()).unwrap();
        close(c.diff, 0.1, 1e-12);
        assert!(
            c.diff_ci[0] > 0.08 && c.diff_ci[1] < 0.12,
            "{:?}",
            c.diff_ci
        );
        assert_eq!(c.mcnemar.a_wrong_b_right, 200);
        assert!(c.mcnemar.p_value < 1e-10);
        assert!(c.verdict.contains("p < 0.0001"), "{}", c.verdict);
        assert!(c.verdict.contains("unlikely to be chance"), "{}", c.verdict);
        // Swapping the models mirrors the verdict.
        let d = compare(&gold, &b, &a, 2, &EvalOptions::default()).unwrap();
        assert!(d.verdict.starts_with("A is more accurate by 10.00 points"));
    }

    #[test]
    fn identical_models_have_zero_difference() {
        let gold = [0, 1, 1, 0];
        let a = [0, 1, 0, 0];
        let c = compare(&gold, &a, &a, 2, &EvalOptions::default()).unwrap();
        assert_eq!(c.diff, 0.0);
        assert_eq!(c.diff_ci, [0.0, 0.0]);
        assert_eq!(c.mcnemar.p_value, 1.0);
        assert!(c.verdict.contains("equally accurate"), "{}", c.verdict);
    }

    #[test]
    fn compare_input_errors() {
        let o = EvalOptions::default();
        assert!(matches!(
            compare(&[0, 1], &[0], &[0, 1], 2, &o),
            Err(EvalError::LengthMismatch { .. })
        ));
        let e = compare(&[0, 1], &[0, 1], &[0, 5], 2, &o).unwrap_err();
        assert!(e.to_string().contains("prediction of B"), "{e}");
        assert!(matches!(
            compare(&[], &[], &[], 2, &o),
            Err(EvalError::Empty)
        ));
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(format_p(0.41), "p = 0.41");
        assert_eq!(format_p(0.0001), "p = 0.0001");
        assert_eq!(format_p(0.00001), "p < 0.0001");
        assert_eq!(format_level(0.95), "95%");
        assert_eq!(format_level(0.975), "97.5%");
    }
}
