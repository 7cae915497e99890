//! Charts drawn on the server as SVG: no scripts, readable without colour
//! (values are written on the marks) and printable.

use crate::portal::map::format_value;
use maud::{Markup, html};

/// A line over periods with each value written at its point; gaps (no
/// value) break the line rather than drawing it through zero.
pub fn trend(title: &str, unit: &str, points: &[(String, Option<f64>)]) -> Markup {
    let (w, h, left, bottom) = (720.0, 220.0, 10.0, 40.0);
    let values: Vec<f64> = points.iter().filter_map(|(_, v)| *v).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1e-9);
    let min = values.iter().copied().fold(max, f64::min).min(0.0);
    let step = (w - 2.0 * left) / points.len().max(1) as f64;
    let x = |i: usize| left + step * (i as f64 + 0.5);
    let y = |v: f64| 20.0 + (h - 20.0) * (1.0 - (v - min) / (max - min).max(1e-9));
    let mut path = String::new();
    let mut pen_down = false;
    for (i, (_, v)) in points.iter().enumerate() {
        match v {
            Some(v) => {
                path.push_str(&format!(
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(*v)
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let label_every = points.len().div_ceil(12).max(1);
    html! {
        svg.chart viewBox=(format!("0 0 {w} {}", h + bottom)) width="100%" role="img" aria-label=(format!("{title}趋势图（{unit}）")) {
            line x1=(left) x2=(w - left) y1=(h) y2=(h) stroke="#757575" {}
            path d=(path) fill="none" stroke="#b3261e" stroke-width="2.5" {}
            @for (i, (period, v)) in points.iter().enumerate() {
                @if let Some(v) = v {
                    circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*v))) r="3.5" fill="#b3261e" {
                        title { (period) "：" (format_value(*v)) " " (unit) }
                    }
                    @if i % label_every == 0 || i + 1 == points.len() {
                        text x=(format!("{:.1}", x(i))) y=(format!("{:.1}", y(*v) - 8.0)) font-size="11" text-anchor="middle" { (format_value(*v)) }
                    }
                }
                @if i % label_every == 0 || i + 1 == points.len() {
                    text x=(format!("{:.1}", x(i))) y=(h + 16.0) font-size="10" text-anchor="middle" { (period) }
                }
            }
        }
    }
}

/// Horizontal bars, one per labelled value, each linking to its list when
/// `links` (长辈模式 lists the same links as large tap targets instead).
pub fn bars(
    title: &str,
    unit: &str,
    items: &[(String, Option<f64>, String)],
    links: bool,
) -> Markup {
    let row = 26.0;
    let (w, label_w) = (720.0, 170.0);
    let max = items
        .iter()
        .filter_map(|(_, v, _)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    html! {
        svg.chart viewBox=(format!("0 0 {w} {}", row * items.len() as f64 + 8.0)) width="100%" role=(if links { "group" } else { "img" }) aria-label=(format!("{title}（{unit}）")) {
            @for (i, (label, v, href)) in items.iter().enumerate() {
                @let top = row * i as f64 + 4.0;
                @let width = v.map_or(0.0, |v| (w - label_w - 90.0) * v.max(0.0) / max);
                @let bar = html! {
                    text x=(label_w - 6.0) y=(top + 16.0) font-size="13" text-anchor="end" { (label) }
                    rect x=(label_w) y=(top + 3.0) width=(format!("{width:.1}")) height="17" fill="#b3261e" {}
                    text x=(format!("{:.1}", label_w + width + 6.0)) y=(top + 16.0) font-size="13" {
                        (v.map_or("无数据".to_string(), format_value))
                    }
                };
                @if links { a href=(href) { (bar) } } @else { g { (bar) } }
            }
        }
    }
}
