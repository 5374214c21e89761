//! Charts as server-rendered SVG, shared by both apps. Why SVG made here rather than a charting
//! library: the page stays one HTML response with no script to run (the CSP allows none
//! inline, and a chart never comes out empty because a script failed), it prints as vectors at
//! any size, it scales to a phone through its `viewBox`, and the numbers are also written as
//! text in the chart (and the pages carry the same figures in a table), so colour is never the
//! only signal. Presentation is given as SVG attributes and the stylesheet's classes, never an
//! inline `style` (the CSP forbids those).

use maud::{html, Markup};

/// One bar of a [`bars`] chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// `None`: no figure (drawn as 「无数据」).
    pub value: Option<f64>,
    /// The value as written next to the bar (`97.31%`, `12 人`).
    pub text: String,
    /// Where the label links to (drill-down).
    pub href: Option<String>,
    /// Below the target: drawn in the warning colour.
    pub low: bool,
}

/// A horizontal bar chart: one row per bar (long Chinese names stay readable on a phone),
/// scaled from `min` to `max`, with an optional target line.
pub fn bars(title: &str, items: &[Bar], min: f64, max: f64, target: Option<(f64, &str)>) -> Markup {
    // A narrow canvas: on a phone the whole chart is about 360 px wide, and its text must stay
    // readable after scaling.
    const W: f64 = 480.0;
    const LABEL: f64 = 110.0;
    const TEXT: f64 = 74.0;
    const ROW: f64 = 32.0;
    const TOP: f64 = 24.0;
    let plot = W - LABEL - TEXT;
    let span = (max - min).max(f64::EPSILON);
    let x = |v: f64| LABEL + ((v - min) / span).clamp(0.0, 1.0) * plot;
    let h = TOP + ROW * items.len().max(1) as f64 + 8.0;
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(title) class="chart-svg" {
                title { (title) }
                // Axis labels: the scale's ends.
                text x=(LABEL) y="14" class="chart-axis" { (fmt_tick(min, max)) }
                text x=(LABEL + plot) y="14" text-anchor="end" class="chart-axis" { (fmt_tick(max, max)) }
                line x1=(LABEL) y1=(TOP - 4.0) x2=(LABEL) y2=(h - 8.0) class="chart-grid" {}
                @for (i, b) in items.iter().enumerate() {
                    @let y = TOP + ROW * i as f64;
                    @let label = html! { text x=(LABEL - 8.0) y=(y + 21.0) text-anchor="end" class="chart-label" { (b.label) } };
                    @match &b.href {
                        Some(href) => a href=(href) { (label) },
                        None => (label),
                    }
                    @match b.value {
                        Some(v) => {
                            rect x=(LABEL) y=(y + 6.0) width=(format!("{:.1}", (x(v) - LABEL).max(1.0))) height=(ROW - 12.0)
                                class=(if b.low { "chart-bar chart-bar-low" } else { "chart-bar" }) {}
                            text x=(x(v) + 6.0) y=(y + 21.0) class="chart-value" { (b.text) }
                        }
                        None => text x=(LABEL + 6.0) y=(y + 21.0) class="chart-value chart-none" { "无数据" },
                    }
                }
                @if let Some((t, label)) = target {
                    @if t >= min && t <= max {
                        line x1=(format!("{:.1}", x(t))) y1=(TOP - 4.0) x2=(format!("{:.1}", x(t))) y2=(h - 8.0) class="chart-target" {}
                        text x=(format!("{:.1}", x(t))) y=(h) text-anchor="middle" class="chart-axis" { (label) }
                    }
                }
            }
        }
    }
}

fn fmt_tick(v: f64, max: f64) -> String {
    if max <= 1.0 {
        format!("{:.0}%", v * 100.0)
    } else {
        format!("{v:.0}")
    }
}

/// One point of a [`line`] chart.
#[derive(Debug, Clone)]
pub struct Point {
    /// The x label (`2026-09`).
    pub label: String,
    pub value: f64,
}

/// A line chart of counts over time (months), every point labelled with its value.
pub fn line(title: &str, unit: &str, points: &[Point]) -> Markup {
    const W: f64 = 480.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 40.0;
    // At least 4, so the four grid lines fall on whole numbers.
    let max = points.iter().map(|p| p.value).fold(0.0f64, f64::max).max(4.0);
    let max = nice(max);
    let n = points.len();
    let px = |i: usize| {
        if n <= 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    };
    let py = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / max);
    let path: String = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, px(i), py(p.value)))
        .collect();
    html! {
        figure.chart {
            figcaption { (title) }
            @if points.is_empty() {
                p.muted { "尚无存档数据（夜间汇总每天生成一份）。" }
            } @else {
                svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) class="chart-svg" {
                    title { (title) }
                    @for k in 0..=4 {
                        @let v = max * f64::from(k) / 4.0;
                        line x1=(LEFT) y1=(format!("{:.1}", py(v))) x2=(W - RIGHT) y2=(format!("{:.1}", py(v))) class="chart-grid" {}
                        text x=(LEFT - 6.0) y=(format!("{:.1}", py(v) + 4.0)) text-anchor="end" class="chart-axis" { (format!("{v:.0}")) }
                    }
                    path d=(path) class="chart-line" {}
                    @for (i, p) in points.iter().enumerate() {
                        circle cx=(format!("{:.1}", px(i))) cy=(format!("{:.1}", py(p.value))) r="4" class="chart-dot" {}
                        text x=(format!("{:.1}", px(i))) y=(format!("{:.1}", py(p.value) - 9.0)) text-anchor="middle" class="chart-value" { (format!("{:.0}", p.value)) }
                        text x=(format!("{:.1}", px(i))) y=(H - BOTTOM + 20.0) text-anchor="middle" class="chart-axis" { (p.label) }
                    }
                    text x=(LEFT) y="14" class="chart-axis" { (unit) }
                }
            }
        }
    }
}

/// A round upper bound for an axis (1, 2, 5 × 10ⁿ).
fn nice(v: f64) -> f64 {
    let e = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * e {
            return m * e;
        }
    }
    10.0 * e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_mark_the_target() {
        let items = vec![
            Bar {
                label: "甲镇".into(),
                value: Some(0.98),
                text: "98.00%".into(),
                href: Some("/t/甲镇".into()),
                low: false,
            },
            Bar { label: "乙乡".into(), value: Some(0.90), text: "90.00%".into(), href: None, low: true },
            Bar { label: "丙乡".into(), value: None, text: String::new(), href: None, low: false },
        ];
        let svg = bars("巩固率", &items, 0.8, 1.0, Some((0.96, "目标 96%"))).into_string();
        assert!(svg.contains("甲镇") && svg.contains("98.00%") && svg.contains("无数据"));
        assert!(svg.contains("chart-bar-low"), "a bar below target is marked");
        assert!(svg.contains("chart-target") && svg.contains("目标 96%"));
        // 0.98 on 0.8..1.0 over a 296-wide plot: 266.4 wide.
        assert!(svg.contains("width=\"266.4\""), "{svg}");
        assert!(!svg.contains("style="), "no inline style (CSP)");
    }

    #[test]
    fn line_draws_every_point() {
        let pts = vec![Point { label: "2026-09".into(), value: 12.0 }, Point { label: "2026-10".into(), value: 7.0 }];
        let svg = line("未返校", "人", &pts).into_string();
        assert!(svg.contains("M40.0,") && svg.contains(" L460.0,"), "{svg}");
        assert!(svg.contains("2026-10") && svg.contains(">12<"));
        assert_eq!(nice(12.0), 20.0);
        assert!(line("x", "人", &[]).into_string().contains("尚无存档"));
    }
}
