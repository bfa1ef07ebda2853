//! How the advice writes numbers: percentages, points, losses, p-values, confidence
//! levels, durations, learning rates and sizes.

use crate::runs::{EpochPoint, Family};

pub(crate) fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

pub(crate) fn pct1(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// A difference of proportions in points, signed: "+1.20 points".
pub(crate) fn pts(d: f64) -> String {
    format!("{} points", signed_pts(d))
}

pub(crate) fn signed_pts(d: f64) -> String {
    format!("{:+.2}", 100.0 * d)
}

pub(crate) fn loss(x: f64) -> String {
    format!("{x:.4}")
}

pub(crate) fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".into()
    } else if p < 0.01 {
        format!("p = {p:.4}")
    } else {
        format!("p = {p:.2}")
    }
}

pub(crate) fn level_text(level: f64) -> String {
    let p = level * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p} %")
    }
}

pub(crate) fn secs(s: f64) -> String {
    if s.abs() >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// A learning rate with at most two significant digits: 4.5e-5.
pub(crate) fn fmt_lr(x: f64) -> String {
    if x <= 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mut e = x.log10().floor() as i32;
    let mut m = (x / 10f64.powi(e) * 10.0).round() / 10.0;
    if m >= 10.0 {
        m /= 10.0;
        e += 1;
    }
    let m = if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    };
    format!("{m}e{e}")
}

pub(crate) fn fmt_int(x: f64) -> String {
    format!("{x:.0}")
}

pub(crate) fn fmt_frac(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(crate) fn family_word(f: Family) -> &'static str {
    match f {
        Family::Transformer => "transformer",
        Family::Linear => "linear baseline",
    }
}

pub(crate) fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub(crate) fn fmt_params(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} M parameters", n as f64 / 1e6)
    } else {
        format!("{n} parameters")
    }
}

/// "epoch 3" for an epoch end, "epoch 3, step 420" within an epoch.
pub(crate) fn point_name(p: &EpochPoint) -> String {
    if p.epoch_end {
        format!("epoch {}", p.epoch)
    } else {
        format!("epoch {}, step {}", p.epoch, p.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rates_print_with_two_significant_digits() {
        assert_eq!(fmt_lr(3e-5), "3e-5");
        assert_eq!(fmt_lr(4.5e-5), "4.5e-5");
        assert_eq!(fmt_lr(2.9999999999999997e-5), "3e-5");
        assert_eq!(fmt_lr(9.96e-6), "1e-5");
        assert_eq!(fmt_lr(1e-3), "1e-3");
        assert_eq!(fmt_frac(0.25), "0.25");
        assert_eq!(fmt_frac(1.0), "1");
    }
}
