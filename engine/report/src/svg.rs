//! Chart primitives drawn as inline SVG: a 0–100 histogram, grouped bars
//! and polylines over categories. Every coordinate is printed with one
//! decimal so the same data always gives the same bytes.

use crate::escape::esc;
use crate::stats::{c, f1};
use std::fmt::Write;

/// Colour of series `i` (colour-blind friendly, repeats after eight).
pub fn colour(i: usize) -> &'static str {
    const PALETTE: [&str; 8] = [
        "#2f6db5", "#e08a1e", "#2a9d74", "#c8435a", "#7b5ea7", "#5b8c2a", "#b5651d", "#4a9fb8",
    ];
    PALETTE[i % PALETTE.len()]
}

fn open(w: f64, h: f64, label: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{l}\"><title>{l}</title>",
        c(w),
        c(h),
        l = esc(label)
    )
}

/// Label text cut to `max` characters.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Horizontal grid lines and labels for a 0–100 value axis.
fn value_axis(out: &mut String, left: f64, right: f64, y: impl Fn(f64) -> f64) {
    for v in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            c(left),
            c(right),
            c(left - 6.0),
            c(y(v) + 3.5),
            v as u32,
            y = c(y(v)),
        );
    }
}

/// Markers drawn on a histogram: (value, css class, label).
pub type Marker<'a> = (f64, &'a str, &'a str);

/// Counts in ten 10-point bins over 0–100, with vertical markers.
pub fn histogram(bins: &[usize; 10], markers: &[Marker], fill: &str, label: &str) -> String {
    let (w, h, l, r, t, b) = (360.0, 180.0, 34.0, 12.0, 14.0, 30.0);
    let (pw, ph) = (w - l - r, h - t - b);
    let top = (*bins.iter().max().unwrap_or(&0)).max(1) as f64;
    let mut s = open(w, h, label);
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let y = t + ph - ph * k as f64 / 4.0;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
            c(l),
            c(w - r),
            y = c(y)
        );
        if k == 0 || k == 4 || (top >= 4.0 && v.fract() == 0.0) {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                c(l - 6.0),
                c(y + 3.5),
                v as u64
            );
        }
    }
    let bw = pw / 10.0;
    for (i, &n) in bins.iter().enumerate() {
        let bh = ph * n as f64 / top;
        let x = l + bw * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1.5\" fill=\"{fill}\"><title>{}–{}: {n}</title></rect>",
            c(x + 1.0),
            c(t + ph - bh),
            c(bw - 2.0),
            c(bh),
            i * 10,
            i * 10 + 10,
        );
        if n > 0 {
            let _ = write!(
                s,
                "<text class=\"val\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
                c(x + bw / 2.0),
                c(t + ph - bh - 3.0)
            );
        }
    }
    for i in 0..=10 {
        if i % 2 == 0 {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                c(l + bw * i as f64),
                c(h - b + 14.0),
                i * 10
            );
        }
    }
    for &(v, class, name) in markers {
        let x = l + pw * v.clamp(0.0, 100.0) / 100.0;
        let _ = write!(
            s,
            "<line class=\"{class}\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"><title>{}: {}</title></line>",
            c(t - 6.0),
            c(t + ph),
            esc(name),
            f1(v),
            x = c(x),
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/></svg>",
        c(l),
        c(w - r),
        y = c(t + ph)
    );
    s
}

/// Bars of 0–100 values, one group per category and one bar per series
/// (`None`: no data, no bar).
pub fn grouped_bars(groups: &[(String, Vec<Option<f64>>)], label: &str) -> String {
    let (w, h, l, r, t, b) = (760.0, 260.0, 40.0, 10.0, 16.0, 40.0);
    let (pw, ph) = (w - l - r, h - t - b);
    let y = |v: f64| t + ph - ph * v.clamp(0.0, 100.0) / 100.0;
    let mut s = open(w, h, label);
    value_axis(&mut s, l, w - r, y);
    let gw = pw / groups.len().max(1) as f64;
    for (g, (name, values)) in groups.iter().enumerate() {
        let x0 = l + gw * g as f64;
        let n = values.len().max(1) as f64;
        let bw = (gw * 0.78 / n).min(46.0);
        let start = x0 + (gw - bw * n) / 2.0;
        for (i, v) in values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let x = start + bw * i as f64;
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1.5\" fill=\"{}\"><title>{}: {}</title></rect>",
                c(x + 1.0),
                c(y(v)),
                c(bw - 2.0),
                c(y(0.0) - y(v)),
                colour(i),
                esc(name),
                f1(v),
            );
            if bw >= 18.0 {
                let _ = write!(
                    s,
                    "<text class=\"val\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    c(x + bw / 2.0),
                    c(y(v) - 3.0),
                    f1(v)
                );
            }
        }
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(x0 + gw / 2.0),
            c(h - b + 16.0),
            esc(&short(name, 18))
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\"/></svg>",
        c(l),
        c(w - r),
        y0 = c(y(0.0))
    );
    s
}

/// One polyline of 0–100 values per series over evenly spaced categories;
/// a missing value breaks the line.
pub fn lines(categories: &[String], series: &[Vec<Option<f64>>], label: &str) -> String {
    let (w, h, l, r, t, b) = (760.0, 250.0, 40.0, 10.0, 16.0, 40.0);
    let (pw, ph) = (w - l - r, h - t - b);
    let y = |v: f64| t + ph - ph * v.clamp(0.0, 100.0) / 100.0;
    let n = categories.len();
    let x = |i: usize| {
        if n <= 1 {
            l + pw / 2.0
        } else {
            l + 44.0 + (pw - 88.0) * i as f64 / (n - 1) as f64
        }
    };
    let mut s = open(w, h, label);
    value_axis(&mut s, l, w - r, y);
    let every = n.div_ceil(10).max(1);
    for (i, cat) in categories.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                s,
                "<text class=\"cat\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                c(x(i)),
                c(h - b + 16.0),
                esc(cat)
            );
        }
    }
    for (k, values) in series.iter().enumerate() {
        let mut segment: Vec<String> = Vec::new();
        let flush = |seg: &mut Vec<String>, s: &mut String| {
            if seg.len() > 1 {
                let _ = write!(
                    s,
                    "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\" stroke-linejoin=\"round\" points=\"{}\"/>",
                    colour(k),
                    seg.join(" ")
                );
            }
            seg.clear();
        };
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => segment.push(format!("{},{}", c(x(i)), c(y(*v)))),
                None => flush(&mut segment, &mut s),
            }
        }
        flush(&mut segment, &mut s);
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3.2\" fill=\"{}\"><title>{}: {}</title></circle>",
                    c(x(i)),
                    c(y(*v)),
                    colour(k),
                    esc(&categories[i]),
                    f1(*v)
                );
            }
        }
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\"/></svg>",
        c(l),
        c(w - r),
        y0 = c(y(0.0))
    );
    s
}
