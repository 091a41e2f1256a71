//! The class probabilities the model gives the shown image(s): a bar per class, the
//! predicted class's bar green when right and red when wrong, the true class's name
//! in bold. In compare mode the two images' bars stand side by side.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{PanelSize, abbreviate, panel};
use crate::train::ProbeReport;
use crate::ui::app::{Runs, Screen};

/// Class names are cut to this many characters (`T-shirt/top` is 11).
const NAME_WIDTH: usize = 12;
/// ` 100%` after each bar.
const PERCENT_WIDTH: usize = 5;
/// ` │ ` between two images' bars.
const GAP: &str = " │ ";

fn name_width(runs: &Runs) -> usize {
    super::class_name_width(&runs.dataset, NAME_WIDTH)
}

/// The room the panel wants: every class on a row under a header row.
pub fn size(runs: &Runs, screen: &Screen) -> PanelSize {
    let sides = screen.shown_probes().len();
    let gaps = (sides - 1) * GAP.chars().count();
    let width =
        |bar: usize| (2 + name_width(runs) + 1 + sides * (bar + PERCENT_WIDTH) + gaps) as u16;
    let preferred_bar = if sides > 1 { 12 } else { 16 };
    PanelSize {
        min: (width(4), 2 + 1 + 3),
        preferred: (
            width(preferred_bar),
            (runs.dataset.classes.len() + 3) as u16,
        ),
    }
}

/// Draws the panel. Short of rows, it keeps the most probable classes.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let block = panel(" Probabilities ", t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let shown = screen.shown_probes();
    let reports: Vec<Option<&ProbeReport>> = shown
        .iter()
        .map(|image| runs.lane(screen.focus).report_for(image))
        .collect();
    let nw = name_width(runs).min(usize::from(inner.width));
    let gaps = (shown.len() - 1) * GAP.chars().count();
    let side_width = usize::from(inner.width).saturating_sub(nw + 1 + gaps) / shown.len();
    let bar_width = side_width.saturating_sub(PERCENT_WIDTH);

    let mut header = vec![Span::raw(format!("{:nw$} ", ""))];
    for (i, image) in shown.iter().enumerate() {
        if i > 0 {
            header.push(Span::styled(GAP, t.dim));
        }
        let caption = match image.label(&runs.dataset.test) {
            Some(class) => format!("{} {}", image.caption(), runs.dataset.class_name(class)),
            None => image.caption(),
        };
        let label = match reports[i] {
            Some(_) => caption,
            None => format!("{caption} …"),
        };
        header.push(Span::styled(
            format!("{:side_width$}", abbreviate(&label, side_width)),
            t.dim,
        ));
    }
    let mut lines = vec![Line::from(header)];
    for class in shown_classes(&reports, runs.dataset.classes.len(), inner.height - 1) {
        let is_true = shown
            .iter()
            .any(|image| image.label(&runs.dataset.test) == Some(class));
        let name = abbreviate(runs.dataset.class_name(class), nw);
        let mut spans = vec![Span::styled(
            format!("{name:nw$} "),
            if is_true { t.title } else { t.text },
        )];
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(GAP, t.dim));
            }
            let Some(r) = report else {
                spans.push(Span::raw(" ".repeat(side_width)));
                continue;
            };
            let p = r.probe.probabilities.get(class).copied().unwrap_or(0.0);
            let style: Style = if class == r.predicted {
                super::activations::verdict_style(r, t)
            } else {
                t.gauge
            };
            spans.push(Span::styled(bar(p, bar_width), style));
            let percent = format!("{:.0}%", p * 100.0);
            spans.push(Span::styled(
                format!("{percent:>PERCENT_WIDTH$}"),
                if class == r.predicted { style } else { t.dim },
            ));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The classes to list, in class order: all of them when `rows` allow, else the
/// `rows` most probable (by the larger of the shown images' probabilities).
fn shown_classes(reports: &[Option<&ProbeReport>], classes: usize, rows: u16) -> Vec<usize> {
    let rows = usize::from(rows);
    if classes <= rows {
        return (0..classes).collect();
    }
    let best = |c: usize| {
        reports
            .iter()
            .flatten()
            .filter_map(|r| r.probe.probabilities.get(c).copied())
            .fold(0.0f32, f32::max)
    };
    let mut order: Vec<usize> = (0..classes).collect();
    order.sort_by(|&a, &b| best(b).total_cmp(&best(a)).then(a.cmp(&b)));
    order.truncate(rows);
    order.sort_unstable();
    order
}

/// A bar of `width` cells for `p` in [0, 1], in eighths of a cell, padded with spaces.
fn bar(p: f32, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (p * width as f32 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    let used = s.chars().count();
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_eighths_of_cells() {
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██  ");
        assert_eq!(bar(0.5 + 1.0 / 32.0, 4), "██▏ ");
        assert_eq!(bar(0.0, 3), "   ");
        assert_eq!(bar(f32::NAN, 2), "  ");
        assert_eq!(bar(7.0, 2), "██");
        assert_eq!(bar(0.3, 0), "");
    }
}
