//! Numbers behind the report: means, percentiles, fixed formatting, dates.

/// Arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The `p`-th percentile (0–100) of `sorted` (ascending), interpolating
/// linearly between closest ranks; `None` for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p / 100.0 * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Sort values ascending (total order, so NaN cannot make it panic).
pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// One decimal, never `-0.0` or `NaN`: the only way numbers are printed.
pub fn f1(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{v:.1}");
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

/// A coordinate for SVG: one decimal.
pub fn c(v: f64) -> String {
    f1(if v.is_finite() { v } else { 0.0 })
}

/// A percentage of `part` in `whole`, one decimal.
pub fn pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "–".into();
    }
    format!("{}%", f1(part as f64 * 100.0 / whole as f64))
}

/// The 10-point bin (0–9) of a 0–100 value; 100 falls in the last bin.
pub fn bin(v: f64) -> usize {
    ((v / 10.0).floor().clamp(0.0, 9.0)) as usize
}

/// The `YYYY-MM-DD` date a timestamp starts with, when it is a plausible one.
pub fn date_prefix(ts: &str) -> Option<&str> {
    let d = ts.trim().get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    let month: u32 = d[5..7].parse().ok()?;
    let day: u32 = d[8..10].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = sorted(vec![40.0, 10.0, 30.0, 20.0, 50.0]);
        assert_eq!(percentile(&v, 0.0), Some(10.0));
        assert_eq!(percentile(&v, 50.0), Some(30.0));
        assert_eq!(f1(percentile(&v, 10.0).unwrap()), "14.0");
        assert_eq!(f1(percentile(&v, 90.0).unwrap()), "46.0");
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
    }

    #[test]
    fn formats_and_bins() {
        assert_eq!(f1(-0.01), "0.0");
        assert_eq!(f1(f64::NAN), "–");
        assert_eq!(f1(66.66), "66.7");
        assert_eq!((bin(0.0), bin(9.9), bin(10.0), bin(100.0)), (0, 0, 1, 9));
        assert_eq!(pct(1, 3), "33.3%");
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date_prefix("2024-05-01T09:30:00Z"), Some("2024-05-01"));
        assert_eq!(date_prefix("2024-05-02"), Some("2024-05-02"));
        assert_eq!(date_prefix("2024-13-02"), None);
        assert_eq!(date_prefix("yesterday"), None);
        assert_eq!(date_prefix("二〇二四年五月一日"), None);
    }
}
