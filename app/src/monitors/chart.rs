//! Response-time charts as server-rendered SVG: readable without JavaScript
//! and cheap to draw for a list of monitors.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::time::format_utc;

/// One value of a response-time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub at: i64,
    /// Response time; `None` for a check that got no response.
    pub value_ms: Option<u32>,
    /// At least one check in this point failed.
    pub failed: bool,
}

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 180.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 22.0;
const LEFT: f64 = 56.0;

/// Runs of consecutive points with a value, split where a value is missing.
fn runs(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for (x, y) in points {
        match y {
            Some(y) => current.push((*x, *y)),
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Draws each run as a line, or as a dot when it has a single point.
fn draw_runs(points: &[(f64, Option<f64>)], dot_radius: f64) -> impl IntoView + use<> {
    runs(points)
        .into_iter()
        .map(|run| match run.as_slice() {
            [(x, y)] => view! { <circle cx=*x cy=*y r=dot_radius /> }.into_any(),
            _ => {
                let coordinates: Vec<String> =
                    run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                view! { <polyline points=coordinates.join(" ") /> }.into_any()
            }
        })
        .collect_view()
}

/// Rounds a maximum up to a readable axis value (1, 2 or 5 times a power of ten).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(value)
}

/// Draws a response-time chart between `since` and `until`, with failed checks
/// marked below the axis.
#[component]
pub fn ResponseChart(points: Vec<Point>, since: i64, until: i64) -> impl IntoView {
    let span = (until - since).max(1) as f64;
    let max =
        nice_ceiling(points.iter().filter_map(|point| point.value_ms).max().unwrap_or(0) as f64);
    let plot_width = WIDTH - LEFT - 8.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_of = |at: i64| LEFT + ((at - since) as f64 / span) * plot_width;
    let y_of = |ms: u32| TOP + plot_height - (f64::from(ms) / max) * plot_height;
    let scaled: Vec<(f64, Option<f64>)> =
        points.iter().map(|point| (x_of(point.at), point.value_ms.map(y_of))).collect();
    let failures: Vec<f64> =
        points.iter().filter(|point| point.failed).map(|point| x_of(point.at)).collect();
    let summary = format!(
        "Response times from {} to {}, up to {} ms; {} of {} points with failures.",
        format_utc(since),
        format_utc(until),
        max as u64,
        failures.len(),
        points.len()
    );
    let axis_y = TOP + plot_height;
    let label = summary.clone();
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=label
            >
                <title>{summary}</title>
                <line class="chart-grid" x1=LEFT y1=TOP x2=WIDTH - 8.0 y2=TOP />
                <line class="chart-grid" x1=LEFT y1=TOP + plot_height / 2.0 x2=WIDTH - 8.0 y2=TOP + plot_height / 2.0 />
                <line class="chart-axis" x1=LEFT y1=axis_y x2=WIDTH - 8.0 y2=axis_y />
                <text class="chart-label" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{format!("{} ms", max as u64)}</text>
                <text class="chart-label" x=LEFT - 6.0 y=axis_y text-anchor="end">"0"</text>
                <text class="chart-label" x=LEFT y=HEIGHT - 4.0>{format_utc(since)}</text>
                <text class="chart-label" x=WIDTH - 8.0 y=HEIGHT - 4.0 text-anchor="end">{format_utc(until)}</text>
                <g class="chart-line">{draw_runs(&scaled, 2.5)}</g>
                {failures
                    .into_iter()
                    .map(|x| view! { <line class="chart-failure" x1=x y1=axis_y + 2.0 x2=x y2=axis_y + 9.0 /> })
                    .collect_view()}
            </svg>
        </figure>
    }
}

/// Draws a small line of hourly averages for the monitors list.
#[component]
pub fn Sparkline(values: Vec<Option<u32>>) -> impl IntoView {
    let max = values.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let count = values.len().max(2) as f64;
    let scaled: Vec<(f64, Option<f64>)> = values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let x = index as f64 / (count - 1.0) * 100.0;
            (x, value.map(|ms| 22.0 - f64::from(ms) / max * 20.0))
        })
        .collect();
    let empty = scaled.iter().all(|(_, y)| y.is_none());
    view! {
        <svg class="sparkline" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
            {draw_runs(&scaled, 1.5)}
            {empty.then(|| view! { <line class="sparkline-empty" x1="0" y1="22" x2="100" y2="22" /> })}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_break_at_gaps() {
        let points = [(0.0, Some(1.0)), (1.0, Some(2.0)), (2.0, None), (3.0, Some(3.0))];
        assert_eq!(runs(&points), vec![vec![(0.0, 1.0), (1.0, 2.0)], vec![(3.0, 3.0)]]);
        assert!(runs(&[(0.0, None)]).is_empty());
    }

    #[test]
    fn nice_ceilings() {
        let cases = [
            (0.0, 1.0),
            (0.7, 1.0),
            (130.0, 200.0),
            (200.0, 200.0),
            (340.0, 500.0),
            (9001.0, 10000.0),
        ];
        for (value, expected) in cases {
            assert_eq!(nice_ceiling(value), expected, "{value}");
        }
    }
}
