//! The whole frame: a pure function of the [`Runs`] watched and this
//! terminal's [`Screen`].
//!
//! Header, then the loss and accuracy charts beside the layer table, then the
//! activations, with the optional panels (probabilities, confusion matrix, kernels)
//! packed to their right: stacked in a column while their heights allow, side by side
//! otherwise, at their comfortable sizes when there is room and their smallest when
//! not; a panel that still does not fit is named on the activations' border.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::ui::app::{Inspect, Panel, Runs, Screen};
use crate::ui::widgets::{
    PanelSize, activations, charts, confusion, diagnostics, explain, footer, gallery, header,
    kernels, layers, overlay, probabilities,
};

/// The smallest terminal the dashboard draws in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Body height from which the layer table gets its full 16 rows.
const ROOMY_BODY: u16 = 30;

/// Width the activations keep beside the optional panels: an image and a few maps.
const ACTIVATIONS_MIN_WIDTH: u16 = 40;

/// Draws the dashboard, or a notice when the terminal is too small for it.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame) {
    let area = frame.area();
    let Some(FrameAreas {
        head,
        loss,
        accuracy,
        table,
        arranged,
        foot,
    }) = areas(runs, screen, area)
    else {
        too_small(screen, frame, area);
        return;
    };
    header::render(runs, screen, frame, head);
    charts::render_loss(runs, screen, frame, loss);
    charts::render_accuracy(runs, screen, frame, accuracy);
    layers::render(runs, screen, frame, table);
    // A cursor's view (a value's arithmetic, a confusion cell's images) takes the
    // activations' place.
    match screen.inspect {
        Some(Inspect::Explain { .. }) => explain::render(runs, screen, frame, arranged.activations),
        Some(Inspect::Gallery { .. }) => gallery::render(runs, screen, frame, arranged.activations),
        _ => activations::render(runs, screen, frame, arranged.activations),
    }
    for &(panel, rect) in &arranged.panels {
        match panel {
            Panel::Probabilities => probabilities::render(runs, screen, frame, rect),
            Panel::Confusion => confusion::render(runs, screen, frame, rect),
            Panel::Kernels => kernels::render(runs, screen, frame, rect),
            Panel::Diagnostics => diagnostics::render(runs, screen, frame, rect),
        }
    }
    if !arranged.hidden.is_empty() {
        let names: Vec<&str> = arranged.hidden.iter().map(|&p| name(p)).collect();
        let note = format!(" no room for: {} ", names.join(", "));
        let a = arranged.activations;
        if a.height >= 2 && a.width > 4 {
            frame.buffer_mut().set_stringn(
                a.x + 2,
                a.bottom() - 1,
                note,
                usize::from(a.width - 4),
                screen.theme.dim,
            );
        }
    }
    footer::render(runs, screen, frame, foot);
    overlay::render(runs, screen, frame, area);
}

/// Where each part of the frame goes.
struct FrameAreas {
    head: Rect,
    loss: Rect,
    accuracy: Rect,
    table: Rect,
    arranged: Arrangement,
    foot: Rect,
}

/// The frame's layout in `area`; `None` below [`MIN_SIZE`].
fn areas(runs: &Runs, screen: &Screen, area: Rect) -> Option<FrameAreas> {
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        return None;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let top_height = if body.height >= ROOMY_BODY { 16 } else { 11 };
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Fill(1)]).areas(body);
    let [loss, accuracy, table] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(31),
    ])
    .areas(top);
    // A cursor's view (a value's arithmetic, a cell's images) takes the whole width.
    let panels = match screen.inspect {
        Some(Inspect::Explain { .. } | Inspect::Gallery { .. }) => &[][..],
        _ => &screen.panels[..],
    };
    let wanted: Vec<(Panel, PanelSize)> =
        panels.iter().map(|&p| (p, size(runs, screen, p))).collect();
    Some(FrameAreas {
        head,
        loss,
        accuracy,
        table,
        arranged: arrange(bottom, &wanted, ACTIVATIONS_MIN_WIDTH),
        foot,
    })
}

/// The draw-mode canvas pixel under the terminal cell `(column, row)` of a frame of
/// `area`, from the same layout the frame is drawn with; `None` off the canvas.
pub fn canvas_pixel(
    runs: &Runs,
    screen: &Screen,
    area: Rect,
    (column, row): (u16, u16),
) -> Option<(f32, f32)> {
    let frame = areas(runs, screen, area)?;
    activations::canvas(runs, screen, frame.arranged.activations)?.pixel_at(column, row)
}

/// A panel's name in the "no room" note.
fn name(panel: Panel) -> &'static str {
    match panel {
        Panel::Probabilities => "probabilities",
        Panel::Confusion => "confusion matrix",
        Panel::Kernels => "kernels",
        Panel::Diagnostics => "gradient flow",
    }
}

fn size(runs: &Runs, screen: &Screen, panel: Panel) -> PanelSize {
    match panel {
        Panel::Probabilities => probabilities::size(runs, screen),
        Panel::Confusion => confusion::size(runs, screen),
        Panel::Kernels => kernels::size(runs, screen),
        Panel::Diagnostics => diagnostics::size(runs, screen),
    }
}

/// Where the activations and the optional panels go in the row they share.
#[derive(Debug, Clone, PartialEq)]
struct Arrangement {
    activations: Rect,
    panels: Vec<(Panel, Rect)>,
    /// Panels asked for that did not fit, in order.
    hidden: Vec<Panel>,
}

/// Packs `wanted` panels into columns at the right of `area`, leaving the
/// activations at least `keep` columns: first with each panel at its preferred
/// height, then at its smallest; while even that does not fit, the last panel goes.
fn arrange(area: Rect, wanted: &[(Panel, PanelSize)], keep: u16) -> Arrangement {
    // A panel shorter than its smallest useful height draws nothing useful anywhere.
    let (mut shown, hidden): (Vec<_>, Vec<_>) =
        wanted.iter().partition(|(_, s)| s.min.1 <= area.height);
    let mut hidden: Vec<Panel> = hidden.into_iter().map(|&(p, _)| p).collect();
    let mut arranged = None;
    while arranged.is_none() && !shown.is_empty() {
        arranged = [true, false].into_iter().find_map(|preferred| {
            let columns = stack(&shown, area.height, preferred);
            let widths = column_widths(&columns, area.width, keep)?;
            let taken: u16 = widths.iter().sum();
            let activations = Rect::new(area.x, area.y, area.width - taken, area.height);
            let panels = place(&columns, &widths, area, activations.right());
            Some((activations, panels))
        });
        if arranged.is_none()
            && let Some((panel, _)) = shown.pop()
        {
            hidden.push(*panel);
        }
    }
    hidden.sort_by_key(|p| Panel::ALL.iter().position(|a| a == p));
    let (activations, panels) = arranged.unwrap_or((area, Vec::new()));
    Arrangement {
        activations,
        panels,
        hidden,
    }
}

/// A column of panels, top to bottom.
type Column = Vec<(Panel, PanelSize)>;

/// `shown` in columns as tall as `height`, each panel at its preferred height or
/// its smallest.
fn stack(shown: &[&(Panel, PanelSize)], height: u16, preferred: bool) -> Vec<Column> {
    let tall = |s: &PanelSize| if preferred { s.preferred.1 } else { s.min.1 };
    let mut columns: Vec<Column> = Vec::new();
    let mut used = 0;
    for &&(panel, size) in shown {
        match columns.last_mut() {
            Some(column) if used + tall(&size) <= height => {
                column.push((panel, size));
                used += tall(&size);
            }
            _ => {
                columns.push(vec![(panel, size)]);
                used = tall(&size);
            }
        }
    }
    columns
}

/// Each column's width, from the smallest up to the preferred, left column first;
/// `None` when even the smallest leave the activations less than `keep` of `width`.
fn column_widths(columns: &[Column], width: u16, keep: u16) -> Option<Vec<u16>> {
    let widest = |c: &[(Panel, PanelSize)], f: fn(&PanelSize) -> u16| {
        c.iter().map(|(_, s)| f(s)).max().unwrap_or(0)
    };
    let least: u32 = columns
        .iter()
        .map(|c| u32::from(widest(c, |s| s.min.0)))
        .sum();
    if least + u32::from(keep) > u32::from(width) {
        return None;
    }
    let mut spare = width - keep - least as u16;
    let widths = columns
        .iter()
        .map(|c| {
            let (min, want) = (widest(c, |s| s.min.0), widest(c, |s| s.preferred.0));
            let add = want.saturating_sub(min).min(spare);
            spare -= add;
            min + add
        })
        .collect();
    Some(widths)
}

/// Each panel's rectangle: columns side by side from `x`, each panel at least its
/// smallest height and the last in a column taking what is left of it.
fn place(columns: &[Column], widths: &[u16], area: Rect, mut x: u16) -> Vec<(Panel, Rect)> {
    let mut panels = Vec::new();
    for (column, &width) in columns.iter().zip(widths) {
        let mut spare = area
            .height
            .saturating_sub(column.iter().map(|(_, s)| s.min.1).sum());
        let mut y = area.y;
        for (i, (panel, size)) in column.iter().enumerate() {
            let mut h = size.min.1 + size.preferred.1.saturating_sub(size.min.1).min(spare);
            spare -= h - size.min.1;
            if i + 1 == column.len() {
                h = area.bottom() - y;
            }
            panels.push((*panel, Rect::new(x, y, width, h)));
            y += h;
        }
        x += width;
    }
    panels
}

fn too_small(screen: &Screen, frame: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let lines = vec![
        Line::from("terminal too small"),
        Line::from(format!("(need {}×{})", MIN_SIZE.0, MIN_SIZE.1)),
    ];
    let height = (lines.len() as u16).min(area.height);
    let [v] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    frame.render_widget(Paragraph::new(lines).centered().style(screen.theme.text), v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(min: (u16, u16), preferred: (u16, u16)) -> PanelSize {
        PanelSize { min, preferred }
    }

    const P: Panel = Panel::Probabilities;
    const C: Panel = Panel::Confusion;
    const K: Panel = Panel::Kernels;

    fn all() -> Vec<(Panel, PanelSize)> {
        vec![
            (P, size((25, 6), (35, 13))),
            (C, size((27, 8), (59, 14))),
            (K, size((20, 6), (34, 14))),
        ]
    }

    fn within(inner: Rect, outer: Rect) -> bool {
        inner.x >= outer.x
            && inner.y >= outer.y
            && inner.right() <= outer.right()
            && inner.bottom() <= outer.bottom()
    }

    fn check(area: Rect, a: &Arrangement, keep: u16) {
        assert!(within(a.activations, area));
        let mut rects = vec![a.activations];
        rects.extend(a.panels.iter().map(|&(_, r)| r));
        for (i, r) in rects.iter().enumerate() {
            assert!(within(*r, area), "{r:?} outside {area:?}");
            for other in &rects[i + 1..] {
                assert!(
                    r.intersection(*other).is_empty(),
                    "{r:?} overlaps {other:?}"
                );
            }
        }
        if !a.panels.is_empty() {
            assert!(a.activations.width >= keep);
        }
    }

    #[test]
    fn stacks_panels_while_their_heights_allow() {
        // 160×48: the bottom row is 160×29.
        let area = Rect::new(0, 18, 160, 29);
        let a = arrange(area, &all(), 40);
        check(area, &a, 40);
        assert!(a.hidden.is_empty());
        let rect = |p| a.panels.iter().find(|(q, _)| *q == p).unwrap().1;
        assert_eq!(rect(P).x, rect(C).x, "probabilities above the matrix");
        assert_eq!(rect(P).height, 13);
        assert_eq!(rect(C).y, rect(P).bottom());
        assert_eq!(rect(C).width, 59, "room for the matrix's preferred width");
        assert!(rect(K).x > rect(C).x);
        assert_eq!(rect(K).width, 34);
        assert_eq!(a.activations.width, 160 - 59 - 34);
    }

    #[test]
    fn squeezes_then_drops_panels_when_short_of_room() {
        // 120×36: the bottom row is 120×17; all three fit side by side, at their
        // smallest widths or a little more.
        let area = Rect::new(0, 18, 120, 17);
        let a = arrange(area, &all(), 40);
        check(area, &a, 40);
        assert!(a.hidden.is_empty(), "{a:?}");
        // 80×24: room for one.
        let area = Rect::new(0, 13, 80, 10);
        let a = arrange(area, &all(), 40);
        check(area, &a, 40);
        assert_eq!(a.panels.len(), 1);
        assert_eq!(a.hidden, [C, K]);
        // Too low for the matrix's smallest size: it goes, the others stay.
        let area = Rect::new(0, 0, 200, 7);
        let a = arrange(area, &all(), 40);
        check(area, &a, 40);
        assert_eq!(a.hidden, [C]);
        // Nothing asked for, or no room at all.
        assert_eq!(arrange(area, &[], 40).activations, area);
        let tiny = Rect::new(0, 0, 30, 3);
        assert_eq!(arrange(tiny, &all(), 40).panels, []);
    }
}
