//! Loss and accuracy charts against epochs, as the chapter's animator plots them,
//! with a vertical marker wherever a setting changed. After a restart the earlier
//! runs' curves stay underneath, faint, each labelled with its settings. Looking
//! back, a vertical line marks the moment shown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition};

use super::panel;
use crate::ui::app::{RunView, Runs, Screen};
use crate::ui::chart_view;
use crate::ui::history::Series;

/// The x axis of every chart over the run: 0 to the run's epochs.
pub(super) fn x_bounds(runs: &Runs, screen: &Screen) -> [f64; 2] {
    [0.0, f64::from(runs.lane(screen.focus).epochs.max(1))]
}

/// The x axis's labels: 0, the middle epoch, the last.
pub(super) fn x_labels(runs: &Runs, screen: &Screen) -> Vec<Span<'static>> {
    let e = runs.lane(screen.focus).epochs.max(1);
    let mid = e / 2;
    let mut labels = vec![Span::raw("0")];
    if mid > 0 && mid < e {
        labels.push(Span::raw(mid.to_string()));
    }
    labels.push(Span::raw(format!("{e} ep")));
    labels
}

/// Two-point vertical lines at each change, spanning `y`, each with its style: the
/// run's changes, or in a race every variant's, in the variant's colour.
pub(super) fn change_lines(
    runs: &Runs,
    screen: &Screen,
    y: [f64; 2],
) -> Vec<(Vec<(f64, f64)>, Style)> {
    let line = |at: f64| vec![(at, y[0]), (at, y[1])];
    if runs.race.is_none() {
        return runs
            .lane(screen.focus)
            .changes
            .iter()
            .map(|c| (line(c.at), screen.theme.change))
            .collect();
    }
    (0..runs.lane_count())
        .flat_map(|i| {
            let style = screen.theme.variant_line(i);
            runs.lane(i)
                .changes
                .iter()
                .map(move |c| (line(c.at), style))
        })
        .collect()
}

/// The change markers as chart datasets, drawn under the curves.
pub(super) fn change_datasets<'a>(
    screen: &Screen,
    marks: &'a [(Vec<(f64, f64)>, Style)],
) -> Vec<Dataset<'a>> {
    marks
        .iter()
        .map(|(m, style)| {
            Dataset::default()
                .marker(screen.theme.marker.symbol())
                .graph_type(GraphType::Line)
                .style(*style)
                .data(m)
        })
        .collect()
}

fn title(base: &str, runs: &Runs, screen: &Screen, view: &[String]) -> String {
    let run = runs.lane(screen.focus);
    let mut parts = vec![base.to_string()];
    parts.extend(view.iter().cloned());
    if let Some(p) = &run.past {
        parts.push(format!("◀ history @ epoch {:.2}", p.moment.at));
    } else if let Some(c) = run.changes.last() {
        parts.push(format!("┆ {} @ {:.1}", c.label, c.at));
    }
    format!(" {} ", parts.join(" · "))
}

/// What a chart plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plotted {
    /// The train loss: the log scale applies.
    Loss,
    /// Train and test accuracy, 0 to 1.
    Accuracy,
}

/// One curve: its legend name, points, style, and whether smoothing applies (the
/// noisy per-report lines; not the per-epoch test accuracy).
struct Curve<'a> {
    name: String,
    series: &'a Series,
    style: Style,
    smoothed: bool,
}

/// One chart: its curves, y range and legend corner.
struct ChartSpec<'a> {
    title: &'static str,
    plotted: Plotted,
    /// Drawn in order (later on top).
    curves: Vec<Curve<'a>>,
    /// The top of the y axis over the whole run (linear scale).
    top: f64,
    legend: LegendPosition,
}

/// A curve as drawn: its points (smoothed, on the log scale) and legend name.
struct Drawn {
    name: String,
    points: Vec<(f64, f64)>,
    style: Style,
}

/// The axes a chart's curves are drawn against.
struct Axes {
    x: [f64; 2],
    x_labels: Vec<Span<'static>>,
    y: [f64; 2],
    y_labels: Vec<Span<'static>>,
    log: bool,
}

/// The curves as this screen draws them: on the log scale if it is on, each noisy line
/// faint under its smoothed one, and at the history cursor each value in the legend.
fn drawn_curves(runs: &Runs, screen: &Screen, spec: &ChartSpec) -> (Vec<Drawn>, bool) {
    let view = &screen.charts;
    let log = spec.plotted == Plotted::Loss && view.log_loss;
    let weight = view.smoothing.get();
    let at = runs.lane(screen.focus).past.as_ref().map(|p| p.moment.at);
    let scaled = |points: &[(f64, f64)]| {
        if log {
            chart_view::to_log(points)
        } else {
            points.to_vec()
        }
    };
    let mut drawn = Vec::new();
    for c in &spec.curves {
        let raw = c.series.points();
        let mut name = c.name.clone();
        if let (Some(at), false) = (at, name.is_empty())
            && let Some(v) = chart_view::value_at(raw, at)
        {
            name = format!("{name} {v:.3}");
        }
        if c.smoothed && weight > 0.0 {
            drawn.push(Drawn {
                name: String::new(),
                points: scaled(raw),
                style: screen.theme.dim,
            });
            drawn.push(Drawn {
                name,
                points: scaled(&chart_view::smooth(raw, weight)),
                style: c.style,
            });
        } else {
            drawn.push(Drawn {
                name,
                points: scaled(raw),
                style: c.style,
            });
        }
    }
    (drawn, log)
}

/// The axes for `drawn`: the whole run or the zoom window along x; along y the run's
/// range, the window's, or the log scale's decades.
fn axes(runs: &Runs, screen: &Screen, spec: &ChartSpec, drawn: &[Drawn], log: bool) -> Axes {
    let run = runs.lane(screen.focus);
    let window = screen
        .charts
        .zoomed
        .then(|| chart_view::zoom_window(run.at));
    let (x, x_labels) = match window {
        Some(w) => (
            w,
            vec![
                Span::raw(chart_view::short(w[0])),
                Span::raw(chart_view::short((w[0] + w[1]) / 2.0)),
                Span::raw(format!("{} ep", chart_view::short(w[1]))),
            ],
        ),
        None => (x_bounds(runs, screen), x_labels(runs, screen)),
    };
    let all: Vec<&[(f64, f64)]> = drawn.iter().map(|d| &d.points[..]).collect();
    if log {
        // The labels are values, not logs: the range back from log10 (the half
        // decades around it are the room).
        let [low, high] = chart_view::value_range(&all, x).unwrap_or([0.0, 0.5]);
        let (y, labels) = chart_view::log_axis(10f64.powf(low), 10f64.powf(high), 6);
        let y_labels = labels.into_iter().map(Span::raw).collect();
        return Axes {
            x,
            x_labels,
            y,
            y_labels,
            log,
        };
    }
    let fitted = chart_view::fitted_range(&all, x);
    let y = match (window, fitted, spec.plotted) {
        (Some(_), Some([l, h]), Plotted::Accuracy) => [l.max(0.0), h.min(1.0)],
        (Some(_), Some([l, h]), Plotted::Loss) => [l.max(0.0), h],
        _ => [0.0, spec.top],
    };
    let number = |v: f64| Span::raw(chart_view::short(v));
    let y_labels = vec![number(y[0]), number((y[0] + y[1]) / 2.0), number(y[1])];
    Axes {
        x,
        x_labels,
        y,
        y_labels,
        log,
    }
}

fn render_chart(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect, spec: ChartSpec) {
    let t = &screen.theme;
    let marker = t.marker.symbol();
    let (drawn, log) = drawn_curves(runs, screen, &spec);
    let axes = axes(runs, screen, &spec, &drawn, log);
    let y = axes.y;
    let marks = change_lines(runs, screen, y);
    let mut sets = change_datasets(screen, &marks);
    for d in &drawn {
        let set = Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(d.style)
            .data(&d.points);
        // An unnamed curve stays out of the legend (a race's test accuracy beside its
        // train accuracy, of the same colour; a smoothed line's raw one).
        sets.push(if d.name.is_empty() {
            set
        } else {
            set.name(d.name.clone())
        });
    }
    // The history cursor goes on top of everything.
    let cursor = runs
        .lane(screen.focus)
        .past
        .as_ref()
        .map(|p| [(p.moment.at, y[0]), (p.moment.at, y[1])]);
    if let Some(line) = &cursor {
        sets.push(
            Dataset::default()
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(t.paused)
                .data(line),
        );
    }
    let window = screen.charts.zoomed.then_some(axes.x);
    let view = screen.charts.words(axes.log, window);
    let title = title(spec.title, runs, screen, &view);
    let chart = Chart::new(sets)
        .block(panel(&title, t))
        .legend_position(Some(spec.legend))
        // Hide the legend rather than cover most of a small chart with it; a race's
        // names the variants, which the chart is there to tell apart.
        .hidden_legend_constraints(if runs.race.is_some() {
            (Constraint::Percentage(80), Constraint::Percentage(70))
        } else {
            (Constraint::Percentage(60), Constraint::Percentage(50))
        })
        .x_axis(
            Axis::default()
                .bounds(axes.x)
                .labels(axes.x_labels)
                .style(t.dim),
        )
        .y_axis(Axis::default().bounds(y).labels(axes.y_labels).style(t.dim));
    frame.render_widget(chart, area);
}

/// A race's legend label of variant `lane`: its number and label, and once it has
/// finished, `figure` of its last epoch.
fn lane_label(
    runs: &Runs,
    screen: &Screen,
    lane: usize,
    figure: impl Fn(&crate::train::EpochSummary) -> String,
) -> String {
    let summaries = runs.lane_summaries(screen.focus);
    let s = &summaries[lane];
    let run = runs.lane(lane);
    let focus = if s.focused { "▸" } else { " " };
    match (&run.state, &run.last_epoch) {
        (crate::ui::app::RunState::Finished, Some(e)) => {
            format!("{focus}{} {} · {}", s.number, s.label, figure(e))
        }
        _ => format!("{focus}{} {}", s.number, s.label),
    }
}

/// Each run's curves, earlier runs first: its label (`None` while there is only the
/// current run), its series, and whether it is an earlier one.
fn with_past_runs(run: &RunView) -> Vec<(Option<String>, [&Series; 3], bool)> {
    let current = run.curves.each();
    let Some((past, label)) = run.curve_labels() else {
        return vec![(None, current, false)];
    };
    run.past_runs
        .iter()
        .zip(past)
        .map(|(r, l)| (Some(l), r.curves.each(), true))
        .chain(std::iter::once((Some(label), current, false)))
        .collect()
}

/// Draws the train-loss chart.
pub fn render_loss(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let curve = |name, series, style| Curve {
        name,
        series,
        style,
        smoothed: true,
    };
    let curves: Vec<Curve> = if runs.race.is_some() {
        (0..runs.lane_count())
            .map(|i| {
                let label = lane_label(runs, screen, i, |e| format!("loss {:.3}", e.train_loss));
                curve(label, &runs.lane(i).curves.loss, t.variant_line(i))
            })
            .collect()
    } else {
        with_past_runs(runs.lane(screen.focus))
            .into_iter()
            .map(|(label, [loss, ..], past)| {
                let style = if past { t.past_loss } else { t.loss };
                curve(label.unwrap_or_else(|| "train loss".into()), loss, style)
            })
            .collect()
    };
    // Sigmoid LeNet starts near ln(10) ≈ 2.3; leave headroom above the highest point,
    // rounded up to a half so the axis labels stay short.
    let top = curves
        .iter()
        .filter_map(|c| c.series.max_y())
        .reduce(f64::max)
        .unwrap_or(2.5)
        .max(0.5);
    let spec = ChartSpec {
        title: "Loss",
        plotted: Plotted::Loss,
        curves,
        top: (top * 1.1 * 2.0).ceil() / 2.0,
        legend: LegendPosition::TopRight,
    };
    render_chart(runs, screen, frame, area, spec);
}

/// Draws the train- and test-accuracy chart.
pub fn render_accuracy(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let mut series = Vec::new();
    if runs.race.is_some() {
        // Each variant's train accuracy, and its test accuracy at epoch ends in the
        // same colour, bold; the legend names each variant once.
        // In race order, as the header and the keys number them.
        for i in 0..runs.lane_count() {
            let [_, train, test] = runs.lane(i).curves.each();
            let style = t.variant_line(i);
            let label = lane_label(runs, screen, i, |e| format!("test {:.3}", e.test_acc));
            series.push(Curve {
                name: label,
                series: train,
                style,
                smoothed: true,
            });
            series.push(Curve {
                name: String::new(),
                series: test,
                style: style.add_modifier(ratatui::style::Modifier::BOLD),
                smoothed: false,
            });
        }
    } else {
        for (label, [_, train, test], past) in with_past_runs(runs.lane(screen.focus)) {
            let name = |what: &str| match &label {
                Some(l) => format!("{l} {what}"),
                None => format!("{what} acc"),
            };
            let (train_style, test_style) = if past {
                (t.past_train_acc, t.past_test_acc)
            } else {
                (t.train_acc, t.test_acc)
            };
            series.push(Curve {
                name: name("train"),
                series: train,
                style: train_style,
                smoothed: true,
            });
            series.push(Curve {
                name: name("test"),
                series: test,
                style: test_style,
                smoothed: false,
            });
        }
    }
    let spec = ChartSpec {
        title: "Accuracy",
        plotted: Plotted::Accuracy,
        curves: series,
        top: 1.0,
        legend: LegendPosition::BottomRight,
    };
    render_chart(runs, screen, frame, area, spec);
}
