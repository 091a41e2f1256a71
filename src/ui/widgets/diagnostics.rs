//! Gradient flow: each layer's gradient norm over the run on a log scale, with the
//! charts' change markers, beside a table of the newest figures per layer (gradient
//! norm, update ratio, a histogram of the layer's outputs, and the saturated or dead
//! fraction in words). With sigmoids the first layers' curves sit decades below the
//! last one's; `a` to ReLU lifts them, and the marker shows when.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::charts::{change_datasets, change_lines, x_bounds, x_labels};
use super::{PanelSize, panel};
use crate::train::LayerStats;
use crate::ui::app::{Runs, Screen};

/// Columns of the table: layer, ‖∇W‖, update ratio, histogram, fraction in words.
const TABLE_WIDTH: u16 = 6 + 8 + 8 + 17 + 14;
/// The chart's fewest useful columns beside the table.
const CHART_MIN_WIDTH: u16 = 26;
/// The chart's fewest useful rows above the table.
const CHART_MIN_HEIGHT: u16 = 6;
/// Eight heights of bar, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Table rows: a header and one per layer (the chapter's five before any report).
fn table_height(runs: &Runs, screen: &Screen) -> u16 {
    let layers = runs
        .lane(screen.focus)
        .gradients
        .latest
        .len()
        .max(runs.lane(screen.focus).gradients.layers.len());
    1 + if layers == 0 { 5 } else { layers as u16 }
}

/// The room the panel wants: the chart beside the table; at least the table.
pub fn size(runs: &Runs, screen: &Screen) -> PanelSize {
    let rows = table_height(runs, screen);
    PanelSize {
        min: (2 + TABLE_WIDTH, 2 + rows),
        preferred: (2 + TABLE_WIDTH + 2 * CHART_MIN_WIDTH, 2 + rows.max(15)),
    }
}

/// Draws the panel: chart and table side by side when wide enough, else stacked
/// when tall enough, else the table alone.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let block = panel(" Gradient flow · ‖∂loss/∂W‖ per layer, log scale ", t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let rows = table_height(runs, screen);
    let (chart, table) = if inner.width >= TABLE_WIDTH + CHART_MIN_WIDTH {
        let [chart, table] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(TABLE_WIDTH)]).areas(inner);
        (Some(chart), table)
    } else if inner.height >= rows + CHART_MIN_HEIGHT {
        let [chart, table] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(inner);
        (Some(chart), table)
    } else {
        (None, inner)
    };
    if let Some(chart) = chart {
        render_chart(runs, screen, frame, chart);
    }
    render_table(runs, screen, frame, table);
}

/// `1e-3` for −3: an axis label for a decade.
fn decade(exponent: f64) -> String {
    format!("1e{}", exponent as i32)
}

fn render_chart(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let flow = &runs.lane(screen.focus).gradients;
    let y = flow.decades();
    let marks = change_lines(runs, screen, y);
    let marker = t.marker.symbol();
    let mut sets = change_datasets(screen, &marks);
    for (i, (_, series)) in flow.layers.iter().enumerate() {
        // No legend inside the chart (it would hide the curves): the table's layer
        // names, in the same colours, are the legend.
        sets.push(
            Dataset::default()
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(t.layer_lines[i % t.layer_lines.len()])
                .data(series.points()),
        );
    }
    if flow.layers.is_empty() {
        let note = Paragraph::new("waiting for the first report").style(t.dim);
        frame.render_widget(note, area);
        return;
    }
    let labels: Vec<Span> = if y[1] - y[0] >= 2.0 {
        let mid = ((y[0] + y[1]) / 2.0).round();
        vec![decade(y[0]).into(), decade(mid).into(), decade(y[1]).into()]
    } else {
        vec![decade(y[0]).into(), decade(y[1]).into()]
    };
    let chart = Chart::new(sets)
        .x_axis(
            Axis::default()
                .bounds(x_bounds(runs, screen))
                .labels(x_labels(runs, screen))
                .style(t.dim),
        )
        .y_axis(Axis::default().bounds(y).labels(labels).style(t.dim));
    frame.render_widget(chart, area);
}

/// A number in three significant digits' scientific notation: `1.7e-3`.
fn scientific(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1e}")
    } else {
        "—".into()
    }
}

/// The layer's outputs as a row of bars, tallest bin full.
fn histogram(counts: &[u32]) -> String {
    let most = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if c == 0 || most == 0 {
                ' '
            } else {
                // Any output at all shows: the lowest bar, never a blank.
                let level = (c as f64 / most as f64 * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// The saturated or dead fraction in words: `71 % saturated`, `3 % dead`.
pub fn in_words(s: &LayerStats) -> String {
    let percent = |f: f64| (f * 100.0).round() as i64;
    match (s.saturated, s.dead) {
        (Some(f), _) => format!("{} % saturated", percent(f)),
        (None, Some(f)) => format!("{} % dead", percent(f)),
        (None, None) => "logits".into(),
    }
}

fn render_table(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let mut lines = vec![Line::styled(
        format!(
            "{:<6}{:<8}{:<8}{:<17}{}",
            "layer", "‖∇W‖", "lr·∇/W", "outputs", "units"
        ),
        t.dim,
    )];
    if runs.lane(screen.focus).gradients.latest.is_empty() {
        lines.push(Line::styled("measured at each progress report", t.dim));
    }
    for (i, s) in runs.lane(screen.focus).gradients.latest.iter().enumerate() {
        let colour = t.layer_lines[i % t.layer_lines.len()];
        lines.push(Line::from(vec![
            Span::styled(format!("{:<6}", s.layer), colour),
            Span::styled(format!("{:<8}", scientific(s.grad_norm)), t.text),
            Span::styled(format!("{:<8}", scientific(s.update_ratio)), t.text),
            Span::styled(format!("{:<17}", histogram(&s.hist)), colour),
            Span::styled(in_words(s), t.text),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_scale_to_the_tallest_bin_and_show_any_output() {
        assert_eq!(histogram(&[0, 1, 50, 100]), " ▁▅█");
        assert_eq!(histogram(&[0, 0]), "  ");
    }

    #[test]
    fn fractions_read_as_words() {
        let mut s = LayerStats {
            layer: "conv1".into(),
            grad_norm: 0.0017,
            weight_norm: 1.0,
            update_ratio: 0.001,
            act_mean: 0.5,
            act_std: 0.1,
            saturated: Some(0.714),
            dead: None,
            hist: vec![0; 16],
            hist_range: [0.0, 1.0],
        };
        assert_eq!(in_words(&s), "71 % saturated");
        (s.saturated, s.dead) = (None, Some(0.03));
        assert_eq!(in_words(&s), "3 % dead");
        assert_eq!(scientific(0.0017), "1.7e-3");
    }
}
