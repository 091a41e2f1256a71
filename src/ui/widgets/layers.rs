//! The per-layer shape table, as the trainer measured it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table};

use super::panel;
use crate::model::shapes::{format_count, format_shape};
use crate::ui::app::{Runs, Screen};

/// Draws the table; when short of rows, the activation-function and flatten rows
/// (which add no parameters and whose shapes follow from their neighbours) go first.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    // A race's table is its focused variant's, its rows that another variant does
    // differently marked `≠`.
    let title = match runs.label(screen.focus) {
        Some(label) => format!(" Layers: {} {label} ", screen.focus + 1),
        None => " Layers ".to_string(),
    };
    let block = panel(&title, t);
    let Some(table) = &runs.lane(screen.focus).layers else {
        frame.render_widget(block, area);
        return;
    };
    let others: Vec<&crate::model::LayerTable> = (0..runs.lane_count())
        .filter(|&i| i != screen.focus)
        .filter_map(|i| runs.lane(i).layers.as_ref())
        .collect();
    let differs = |k: usize| {
        others
            .iter()
            .any(|o| o.layers.get(k) != table.layers.get(k))
    };
    let inner_rows = usize::from(area.height.saturating_sub(2));
    // Header and total take two rows.
    let compact = table.layers.len() + 2 > inner_rows;
    let rows: Vec<Row> = table
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| !compact || !matches!(l.layer.as_str(), "Sigmoid" | "ReLU" | "Flatten"))
        .map(|(k, l)| {
            let style = if l.layer.contains("Pool") || l.layer == "Sigmoid" || l.layer == "ReLU" {
                t.highlight
            } else {
                t.text
            };
            let name = if differs(k) {
                format!("≠{}", l.layer)
            } else if others.is_empty() {
                l.layer.clone()
            } else {
                format!(" {}", l.layer)
            };
            Row::new(vec![
                Cell::from(name).style(style),
                Cell::from(format_shape(&l.output[1..])),
                Cell::from(Line::from(format_count(l.parameters)).right_aligned()),
            ])
        })
        .chain(std::iter::once(
            Row::new(vec![
                Cell::from("total"),
                Cell::from(""),
                Cell::from(Line::from(format_count(table.total_parameters())).right_aligned()),
            ])
            .style(t.title),
        ))
        .collect();
    let widths = [
        Constraint::Length(if others.is_empty() { 9 } else { 10 }),
        Constraint::Min(8),
        Constraint::Length(7),
    ];
    let widget = Table::new(rows, widths)
        .header(
            Row::new(vec![
                Cell::from("layer"),
                Cell::from("shape"),
                Cell::from(Line::from("params").right_aligned()),
            ])
            .style(t.dim),
        )
        .column_spacing(1)
        .block(block);
    frame.render_widget(widget, area);
}
