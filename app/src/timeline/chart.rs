//! The dyno chart of one app: quantity and size of each process type over
//! time, drawn from the scaling steps Rebound recorded, as server-rendered
//! SVG with a table of the same figures beside it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::reactions::Execution;
use crate::reactions::plan::Step;
use crate::time::format_in_offset;

/// The quantity and size of a process type from `at` on. `None` where no
/// recorded step gave the value yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoPoint {
    pub at: i64,
    pub quantity: Option<u32>,
    pub size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoSeries {
    pub process_type: String,
    /// Oldest first; the first point is the state before the first step.
    pub points: Vec<DynoPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoChart {
    pub app: String,
    pub since: i64,
    pub until: i64,
    pub series: Vec<DynoSeries>,
}

impl DynoChart {
    /// Builds the chart from succeeded scaling executions, oldest first.
    /// Without `since` the chart starts at the first step.
    pub fn from_executions(
        app: &str,
        executions: &[Execution],
        since: Option<i64>,
        until: i64,
    ) -> DynoChart {
        let mut series: Vec<DynoSeries> = Vec::new();
        let start = since.or_else(|| executions.first().map(|e| e.started_at)).unwrap_or(until);
        for execution in executions {
            let Some(step) = execution.detail.as_ref().and_then(|detail| detail.step.as_ref())
            else {
                continue;
            };
            let (process_type, before, after) = match step {
                Step::SetQuantity { process_type, from, to } => {
                    (process_type, (Some(*from), None), (Some(*to), None))
                }
                Step::SetSize { process_type, from, to, quantity } => (
                    process_type,
                    (Some(*quantity), Some(from.display_name().to_string())),
                    (Some(*quantity), Some(to.display_name().to_string())),
                ),
                _ => continue,
            };
            let index = match series.iter().position(|s| &s.process_type == process_type) {
                Some(index) => index,
                None => {
                    series.push(DynoSeries {
                        process_type: process_type.clone(),
                        points: vec![DynoPoint {
                            at: start,
                            quantity: before.0,
                            size: before.1.clone(),
                        }],
                    });
                    series.len() - 1
                }
            };
            let points = &mut series[index].points;
            // A step's "before" value was also the state back to the last
            // step that set the same field, so fill the gap with it.
            for point in points.iter_mut().rev().take_while(|point| point.quantity.is_none()) {
                point.quantity = before.0;
            }
            for point in points.iter_mut().rev().take_while(|point| point.size.is_none()) {
                point.size = before.1.clone();
            }
            let last = points.last().cloned().expect("a series starts with one point");
            points.push(DynoPoint {
                at: execution.started_at,
                quantity: after.0.or(last.quantity),
                size: after.1.or(last.size),
            });
        }
        series.sort_by(|a, b| a.process_type.cmp(&b.process_type));
        DynoChart { app: app.to_string(), since: start, until, series }
    }
}

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 150.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;

/// Draws the chart: one SVG per process type, with a step line of the
/// quantity and the size written along its runs.
#[component]
pub fn DynoChartView(chart: DynoChart, offset_minutes: i32) -> impl IntoView {
    if chart.series.is_empty() {
        return view! {
            <section class="card">
                <h2>{format!("Dynos of {}", chart.app)}</h2>
                <p class="empty">
                    "No scaling step on this app succeeded in this time range, so there is nothing to draw. Scale-out, scale-in, scale-up and scale-down reactions add to this chart."
                </p>
            </section>
        }
        .into_any();
    }
    let span = (chart.until - chart.since).max(1) as f64;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_of = move |at: i64| LEFT + ((at - chart.since).max(0) as f64 / span) * plot_width;
    let since_label = format_in_offset(chart.since, offset_minutes);
    let until_label = format_in_offset(chart.until, offset_minutes);
    let figures = chart
        .series
        .iter()
        .map(|series| {
            let max = series.points.iter().filter_map(|p| p.quantity).max().unwrap_or(1).max(1);
            let y_of = move |quantity: u32| TOP + plot_height - f64::from(quantity) / f64::from(max) * plot_height;
            // Each point lasts until the next one, the last until the end.
            let mut segments = Vec::new();
            for (index, point) in series.points.iter().enumerate() {
                let end = series.points.get(index + 1).map_or(chart.until, |next| next.at);
                segments.push((x_of(point.at), x_of(end), point.quantity, point.size.clone()));
            }
            let mut path = String::new();
            for (x1, x2, quantity, _) in &segments {
                if let Some(quantity) = quantity {
                    let y = y_of(*quantity);
                    if path.is_empty() {
                        path.push_str(&format!("M{x1:.1},{y:.1}"));
                    } else {
                        path.push_str(&format!(" V{y:.1}"));
                    }
                    path.push_str(&format!(" H{x2:.1}"));
                }
            }
            let sizes = segments
                .iter()
                .enumerate()
                .filter(|(index, (_, _, _, size))| {
                    *index == 0 || segments[index - 1].3 != *size
                })
                .filter_map(|(_, (x1, _, _, size))| size.clone().map(|size| (*x1, size)))
                .map(|(x, size)| {
                    view! {
                        <line class="chart-grid" x1=x y1=TOP x2=x y2=TOP + plot_height + 14.0 />
                        <text class="chart-label" x=x + 3.0 y=TOP + plot_height + 12.0>{size}</text>
                    }
                })
                .collect_view();
            let summary = describe_series(series, &chart.app, offset_minutes);
            let axis_y = TOP + plot_height;
            let label = summary.clone();
            view! {
                <figure class="chart">
                    <figcaption>{series.process_type.clone()}</figcaption>
                    <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                        <title>{summary}</title>
                        <line class="chart-grid" x1=LEFT y1=TOP x2=WIDTH - RIGHT y2=TOP />
                        <line class="chart-axis" x1=LEFT y1=axis_y x2=WIDTH - RIGHT y2=axis_y />
                        <text class="chart-label" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{format!("{max} dynos")}</text>
                        <text class="chart-label" x=LEFT - 6.0 y=axis_y text-anchor="end">"0"</text>
                        {sizes}
                        <path class="chart-line chart-step" d=path />
                        <text class="chart-label" x=LEFT y=HEIGHT - 4.0>{since_label.clone()}</text>
                        <text class="chart-label" x=WIDTH - RIGHT y=HEIGHT - 4.0 text-anchor="end">{until_label.clone()}</text>
                    </svg>
                </figure>
            }
        })
        .collect_view();
    let table_rows = chart
        .series
        .iter()
        .flat_map(|series| {
            series.points.iter().map(move |point| {
                view! {
                    <tr>
                        <td>{format_in_offset(point.at, offset_minutes)}</td>
                        <td>{series.process_type.clone()}</td>
                        <td>{point.quantity.map_or("unknown".to_string(), |q| q.to_string())}</td>
                        <td>{point.size.clone().unwrap_or_else(|| "unknown".to_string())}</td>
                    </tr>
                }
            })
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="dyno-chart-heading">
            <h2 id="dyno-chart-heading">{format!("Dynos of {}", chart.app)}</h2>
            <p class="muted small">
                "Quantity (line) and size (labels) per process type, from the scaling steps Rebound took. Changes made elsewhere show up only when a later step starts from them."
            </p>
            {figures}
            <details>
                <summary>"The same figures as a table"</summary>
                <table class="table">
                    <thead>
                        <tr>
                            <th>"From"</th>
                            <th>"Process type"</th>
                            <th>"Quantity"</th>
                            <th>"Size"</th>
                        </tr>
                    </thead>
                    <tbody>{table_rows}</tbody>
                </table>
            </details>
        </section>
    }
    .into_any()
}

/// Describes a series in one sentence, for screen readers and the SVG's title.
fn describe_series(series: &DynoSeries, app: &str, offset_minutes: i32) -> String {
    let last = series.points.last();
    format!(
        "{} dynos of {app}: {} changes since {}; now {} × {}.",
        series.process_type,
        series.points.len().saturating_sub(1),
        series.points.first().map_or(String::new(), |p| format_in_offset(p.at, offset_minutes)),
        last.and_then(|p| p.quantity).map_or("unknown".to_string(), |q| q.to_string()),
        last.and_then(|p| p.size.clone()).unwrap_or_else(|| "unknown size".to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heroku::sizes::DynoSize;
    use crate::monitors::MonitorState;
    use crate::reactions::{ExecutionDetail, ExecutionOutcome};

    fn step(at: i64, step: Step) -> Execution {
        Execution {
            id: at,
            reaction_id: Some(1),
            reaction_name: "r".into(),
            monitor_id: Some(1),
            monitor_name: "m".into(),
            check_id: Some(at),
            monitor_state: MonitorState::Failed,
            connection_id: Some(1),
            app_name: "shop".into(),
            kind: None,
            outcome: ExecutionOutcome::Succeeded,
            summary: String::new(),
            detail: Some(ExecutionDetail { step: Some(step), ..ExecutionDetail::default() }),
            error_message: None,
            heroku_status: None,
            heroku_error_id: None,
            heroku_request_id: None,
            started_at: at,
            duration_ms: None,
        }
    }

    #[test]
    fn chart_follows_quantity_and_size_steps() {
        let executions = [
            step(100, Step::SetQuantity { process_type: "web".into(), from: 2, to: 3 }),
            step(
                200,
                Step::SetSize {
                    process_type: "web".into(),
                    from: DynoSize::Standard1X,
                    to: DynoSize::Standard2X,
                    quantity: 3,
                },
            ),
            step(300, Step::SetQuantity { process_type: "web".into(), from: 3, to: 2 }),
            step(300, Step::RestartAll),
        ];
        let chart = DynoChart::from_executions("shop", &executions, Some(50), 400);
        assert_eq!(chart.series.len(), 1);
        let points: Vec<(i64, Option<u32>, Option<&str>)> =
            chart.series[0].points.iter().map(|p| (p.at, p.quantity, p.size.as_deref())).collect();
        assert_eq!(
            points,
            vec![
                (50, Some(2), Some("Standard-1X")),
                (100, Some(3), Some("Standard-1X")),
                (200, Some(3), Some("Standard-2X")),
                (300, Some(2), Some("Standard-2X")),
            ]
        );
    }

    #[test]
    fn chart_without_steps_is_empty() {
        let chart = DynoChart::from_executions("shop", &[], None, 400);
        assert!(chart.series.is_empty());
        assert_eq!(chart.since, 400);
    }
}
