//! Explain a value, in the activations' place: the map under the cursor (when there is
//! room) and the arithmetic that made the value, each part named in words: the input
//! patch, the kernel, their products' sum, the bias, the pre-activation, the
//! activation and the pooling window; for the output, the logits, their exponentials,
//! the sum and the probabilities.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::heatmap::{self, Scale};
use super::panel;
use crate::model::ActivationMap;
use crate::model::explain::{Cell, ConvWork, Explanation, OutputWork};
use crate::ui::app::{Inspect, Runs, Screen, maps_of};
use crate::ui::keys::Action;
use crate::ui::theme::Theme;

/// Width of the arithmetic's text, when it shares the panel with the map.
const TEXT_WIDTH: u16 = 72;

/// Draws the view.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let Some(Inspect::Explain { cell, answer }) = &screen.inspect else {
        return;
    };
    let t = &screen.theme;
    let run = runs.lane(screen.focus);
    let report = run.report_for(&screen.active_image());
    let map = maps_of(*cell, report);
    let when = match run.past.as_ref() {
        Some(p) => format!(" · weights of epoch {:.2}", p.moment.at),
        None => String::new(),
    };
    let title = format!(
        " Explain · {}{when} · {} leaves ",
        where_words(*cell, map),
        screen.keymap.name(Action::InspectLeave)
    );
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width < 10 || inner.height < 2 {
        return;
    }
    let mut text_area = inner;
    if let (Cell::Conv { map: m, at, .. }, Some(maps)) = (cell, map) {
        let side = inner.width.saturating_sub(TEXT_WIDTH + 2);
        let scale = map_scale(maps, side, inner.height);
        if let Some(scale) = scale {
            let (w, _) = heatmap::cell_size(maps.height, maps.width, scale);
            let map_area = Rect::new(inner.x, inner.y, w, inner.height);
            draw_cursor_map(frame.buffer_mut(), map_area, maps, *m, *at, scale, t);
            text_area.x += w + 2;
            text_area.width = text_area.width.saturating_sub(w + 2);
        }
    }
    let lines = match answer.as_ref().map(|a| &a.work) {
        None => vec![Line::styled("working it out…", t.dim)],
        Some(Err(why)) => vec![Line::styled(why.clone(), t.error)],
        Some(Ok(Explanation::Conv(work))) => {
            // The activation of the weights explained (the past's while looking back).
            let activation = run
                .past
                .as_ref()
                .map_or(run.settings.activation, |p| p.moment.activation);
            conv_lines(work, &activation.to_string(), text_area, t)
        }
        Some(Ok(Explanation::Output(work))) => {
            output_lines(work, &runs.dataset.classes, text_area, t)
        }
    };
    frame.render_widget(Paragraph::new(lines), text_area);
}

/// `layer 1 · map 3 of 6 · row 12, col 7`, or `output`.
fn where_words(cell: Cell, map: Option<&ActivationMap>) -> String {
    match cell {
        Cell::Conv { layer, map: m, at } => {
            // Numbered from 0, as `lenet-tui explain --map --at` takes them.
            let of = |n: usize| format!(" (0–{})", n.saturating_sub(1));
            let (maps, rows, cols) = map.map_or_else(Default::default, |a| {
                (of(a.channels), of(a.height), of(a.width))
            });
            format!(
                "layer {layer} · map {m}{maps} · row {}{rows}, col {}{cols}",
                at.0, at.1
            )
        }
        Cell::Output => "output · softmax".into(),
    }
}

/// The largest whole scale (cells per pixel column, at most 1) at which the map fits
/// beside the text; `None` when it does not.
fn map_scale(map: &ActivationMap, width: u16, height: u16) -> Option<f64> {
    [2.0, 1.0].into_iter().find(|&scale| {
        let (w, h) = heatmap::cell_size(map.height, map.width, scale);
        w <= width && h <= height
    })
}

/// Map `m` as a heatmap with the cursor's pixel marked.
fn draw_cursor_map(
    buf: &mut Buffer,
    area: Rect,
    maps: &ActivationMap,
    m: usize,
    (row, col): (usize, usize),
    scale: f64,
    t: &Theme,
) {
    if m >= maps.channels {
        return;
    }
    let values = maps.channel(m);
    let how = Scale::heat_of(values);
    heatmap::draw_map(buf, area, values, (maps.height, maps.width), scale, how, t);
    // Half blocks: a cell holds two pixel rows.
    let x = area.x + (col as f64 * scale).floor() as u16;
    let y = area.y + ((row as f64 * scale).floor() as u16) / 2;
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_char('◆');
        if let Some(fg) = t.highlight.fg {
            cell.set_fg(fg);
        }
    }
}

/// Values as a row of fixed-width numbers.
fn row(values: &[f32], width: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:>width$.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A convolution cell's arithmetic: the patch and the kernel side by side (of the
/// input map that weighs most, where there are several), then the sums, the
/// activation and the pooling, fitted to `height` rows.
fn conv_lines(work: &ConvWork, activation: &str, area: Rect, t: &Theme) -> Vec<Line<'static>> {
    // Where there are several input maps, the one with the largest part is shown.
    let shown = (0..work.partial.len())
        .max_by(|&a, &b| work.partial[a].abs().total_cmp(&work.partial[b].abs()))
        .unwrap_or(0);
    let (patch, kernel) = (&work.patch[shown], &work.kernel[shown]);
    let k = patch.first().map_or(0, Vec::len);
    let patch_w = k * 7 - 1;
    let inputs = work.partial.len();
    let label = |s: &str| Span::styled(s.to_string(), t.title);
    let mut lines = vec![Line::from(vec![
        label(&format!("{:<patch_w$}", patch_label(shown, inputs))),
        Span::raw("   "),
        label("kernel"),
    ])];
    for (p, w) in patch.iter().zip(kernel) {
        lines.push(Line::from(vec![
            Span::raw(row(p, 6)),
            Span::styled(" × ", t.dim),
            Span::raw(row(w, 6)),
        ]));
    }
    arithmetic_lines(work, activation, area, lines, t)
}

/// After the patch and kernel in `lines`: the sum, the bias, the pre-activation, the
/// activation and the pooling, in the rows `area` has left.
fn arithmetic_lines(
    work: &ConvWork,
    activation: &str,
    area: Rect,
    mut lines: Vec<Line<'static>>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let (width, height) = (area.width, area.height);
    let inputs = work.partial.len();
    let label = |s: &str| Span::styled(s.to_string(), t.title);
    let total: f32 = work.partial.iter().sum();
    let over = if inputs > 1 {
        format!("Σ over {inputs} input maps ")
    } else {
        "Σ patch×kernel ".to_string()
    };
    let sum = Line::from(vec![
        Span::raw(format!("{over}{total:.5} + ")),
        label("bias"),
        Span::raw(format!(" {:.5} = ", work.bias)),
        label("pre-activation"),
        Span::raw(format!(" {:.5}", work.pre)),
    ]);
    let act = vec![
        Span::raw(format!("{activation}({:.5}) = ", work.pre)),
        label("activation"),
        Span::styled(format!(" {:.6}", work.act), t.highlight),
    ];
    let window: Vec<String> = work
        .pool
        .window
        .iter()
        .flatten()
        .map(|v| format!("{v:.3}"))
        .collect();
    let pool = |with_window: bool| {
        let of = if with_window {
            format!(" of [{}]", window.join(" "))
        } else {
            String::new()
        };
        vec![
            label(&format!("{} pooling", work.pool.kind)),
            Span::raw(format!("{of} = {:.5}", work.pool.value)),
        ]
    };
    // What the rows left hold, most needed first: the sum, the activation and the
    // pooling (on one line if need be), then each input map's part.
    let left = usize::from(height).saturating_sub(lines.len() + 1);
    if inputs > 1 && left >= 3 {
        let parts: Vec<String> = work.partial.iter().map(|p| format!("{p:.3}")).collect();
        lines.push(Line::from(vec![
            label("each input map's part "),
            Span::raw(parts.join(" ")),
        ]));
    }
    lines.push(sum);
    if left >= 2 {
        lines.push(Line::from(act));
        lines.push(Line::from(pool(true)));
    } else {
        let mut both = act;
        both.push(Span::styled(" → ", t.dim));
        let with_window = both
            .iter()
            .chain(&pool(true))
            .map(Span::width)
            .sum::<usize>()
            <= usize::from(width);
        both.extend(pool(with_window));
        lines.push(Line::from(both));
    }
    lines
}

fn patch_label(shown: usize, inputs: usize) -> String {
    match inputs {
        1 => "patch (padding as 0)".into(),
        n => format!("patch of input map {shown} (the largest of {n} parts)"),
    }
}

/// The output's arithmetic: a row per class (logit, exp, probability; the top one
/// marked), in two columns when the rows do not fit, and the sum.
fn output_lines(
    work: &OutputWork,
    classes: &[String],
    area: Rect,
    t: &Theme,
) -> Vec<Line<'static>> {
    let n = work.logits.len();
    // A class's entry is 35 columns: two side by side when the rows run short.
    let columns = if usize::from(area.height) < n + 2 && area.width >= 72 {
        2
    } else {
        1
    };
    let per = n.div_ceil(columns);
    let entry = |i: usize| -> Vec<Span<'static>> {
        let name = classes.get(i).map_or("?", String::as_str);
        let mark = if i == work.top { "◀" } else { " " };
        let style = if i == work.top { t.highlight } else { t.text };
        vec![Span::styled(
            format!(
                "{name:<11.11} {:>7.3} {:>7.4} {:>6.4}{mark}",
                work.logits[i], work.exp[i], work.probs[i]
            ),
            style,
        )]
    };
    let head = format!("{:<11} {:>7} {:>7} {:>6} ", "class", "logit", "exp", "prob");
    let mut lines = vec![Line::styled(
        (0..columns)
            .map(|_| head.as_str())
            .collect::<Vec<_>>()
            .join("  "),
        t.title,
    )];
    for r in 0..per {
        let mut spans = Vec::new();
        for c in 0..columns {
            let i = c * per + r;
            if i < n {
                if c > 0 {
                    spans.push(Span::raw("  "));
                }
                spans.extend(entry(i));
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(vec![
        Span::styled("softmax", t.title),
        Span::raw(format!(
            ": prob = exp(logit − max) / {:.5}, their sum",
            work.sum
        )),
    ]));
    lines
}
