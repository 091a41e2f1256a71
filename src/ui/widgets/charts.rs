//! Loss and accuracy charts against epochs, as the chapter's animator plots them,
//! with a vertical marker wherever a setting changed. After a restart the earlier
//! runs' curves stay underneath, faint, each labelled with its settings. Looking
//! back, a vertical line marks the moment shown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition};

use super::panel;
use crate::ui::app::{RunView, Runs, Screen};
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

fn title(base: &str, runs: &Runs, screen: &Screen) -> String {
    let run = runs.lane(screen.focus);
    if let Some(p) = &run.past {
        return format!(" {base} · ◀ history @ {:.2} ", p.moment.at);
    }
    match run.changes.last() {
        Some(c) => format!(" {base} · ┆ {} @ {:.1} ", c.label, c.at),
        None => format!(" {base} "),
    }
}

fn dataset(name: String, series: &Series, style: Style, marker: Marker) -> Dataset<'_> {
    let set = Dataset::default()
        .marker(marker)
        .graph_type(GraphType::Line)
        .style(style)
        .data(series.points());
    // An unnamed curve stays out of the legend (a race's test accuracy beside its
    // train accuracy, of the same colour).
    if name.is_empty() { set } else { set.name(name) }
}

/// One chart: its series, y range and legend corner.
struct ChartSpec<'a> {
    title: &'static str,
    /// Name, points and style of each curve, drawn in order (later on top).
    series: Vec<(String, &'a Series, Style)>,
    top: f64,
    legend: LegendPosition,
}

fn render_chart(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect, spec: ChartSpec) {
    let t = &screen.theme;
    let marker = t.marker.symbol();
    let y = [0.0, spec.top];
    let marks = change_lines(runs, screen, y);
    let mut sets = change_datasets(screen, &marks);
    for (name, series, style) in spec.series {
        sets.push(dataset(name, series, style, marker));
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
    let title = title(spec.title, runs, screen);
    let number = |v: f64| {
        let text = format!("{v:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    };
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
                .bounds(x_bounds(runs, screen))
                .labels(x_labels(runs, screen))
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels(vec![
                    Span::raw("0"),
                    Span::raw(number(spec.top / 2.0)),
                    Span::raw(number(spec.top)),
                ])
                .style(t.dim),
        );
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
    let series: Vec<(String, &Series, Style)> = if runs.race.is_some() {
        (0..runs.lane_count())
            .map(|i| {
                let label = lane_label(runs, screen, i, |e| format!("loss {:.3}", e.train_loss));
                (label, &runs.lane(i).curves.loss, t.variant_line(i))
            })
            .collect()
    } else {
        with_past_runs(runs.lane(screen.focus))
            .into_iter()
            .map(|(label, [loss, ..], past)| {
                let style = if past { t.past_loss } else { t.loss };
                (label.unwrap_or_else(|| "train loss".into()), loss, style)
            })
            .collect()
    };
    // Sigmoid LeNet starts near ln(10) ≈ 2.3; leave headroom above the highest point,
    // rounded up to a half so the axis labels stay short.
    let top = series
        .iter()
        .filter_map(|(_, loss, _)| loss.max_y())
        .reduce(f64::max)
        .unwrap_or(2.5)
        .max(0.5);
    let spec = ChartSpec {
        title: "Loss",
        series,
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
            series.push((label, train, style));
            series.push((
                String::new(),
                test,
                style.add_modifier(ratatui::style::Modifier::BOLD),
            ));
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
            series.push((name("train"), train, train_style));
            series.push((name("test"), test, test_style));
        }
    }
    let spec = ChartSpec {
        title: "Accuracy",
        series,
        top: 1.0,
        legend: LegendPosition::BottomRight,
    };
    render_chart(runs, screen, frame, area, spec);
}
