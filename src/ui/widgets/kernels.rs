//! The first convolution's kernels as small heatmaps, enlarged, on one colour scale
//! centred on zero (dark: negative weights, bright: positive), so they can be watched
//! turning from noise into edge and blob detectors as the model learns.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::heatmap::{self, Scale};
use super::{PanelSize, panel};
use crate::train::ConvKernels;
use crate::ui::app::{Runs, Screen};

/// Kernels are tiny (5×5 by default): draw them up to this many cells per weight.
const MAX_SCALE: f64 = 4.0;
/// Cells per weight at the preferred size.
const PREFERRED_SCALE: usize = 2;

/// (count, rows, cols) of the kernels shown, or the chapter's 6 of 5×5 before the
/// first report.
fn shape(runs: &Runs, screen: &Screen) -> (usize, usize, usize) {
    runs.lane(screen.focus)
        .shown_kernels()
        .map_or((6, 5, 5), |k| (k.count(), k.rows, k.cols))
}

/// The room the panel wants: a near-square grid of kernels at twice their size.
pub fn size(runs: &Runs, screen: &Screen) -> PanelSize {
    let (n, rows, cols) = shape(runs, screen);
    let grid_cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let grid_rows = n.div_ceil(grid_cols);
    let (w, h) = heatmap::cell_size(rows, cols, PREFERRED_SCALE as f64);
    let width = grid_cols * (usize::from(w) + 1) - 1;
    let height = grid_rows * (usize::from(h) + 1) - 1;
    PanelSize {
        min: (20, 2 + 1 + 3),
        preferred: ((2 + width).max(20) as u16, (2 + 1 + height) as u16),
    }
}

fn title(kernels: Option<&ConvKernels>) -> String {
    match kernels {
        Some(k) if k.in_channels == 1 => format!(
            " Kernels · layer 1, {} of {}×{} ",
            k.out_channels, k.rows, k.cols
        ),
        Some(k) => format!(
            " Kernels · layer 1, {}×{} of {}×{} ",
            k.out_channels, k.in_channels, k.rows, k.cols
        ),
        None => " Kernels · layer 1 ".to_string(),
    }
}

/// Draws the panel.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let title = title(runs.lane(screen.focus).shown_kernels());
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let Some(k) = runs.lane(screen.focus).shown_kernels() else {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for the model…", t.dim)),
            inner,
        );
        return;
    };
    // One scale for all, symmetric, so zero is mid-scale and kernels compare.
    let (lo, hi) = heatmap::value_range(&k.values);
    let limit = lo.abs().max(hi.abs());
    let buf = frame.buffer_mut();
    heatmap::legend(
        buf,
        Rect::new(inner.x, inner.y, inner.width, 1),
        -limit,
        limit,
        t,
    );
    if inner.height < 2 {
        return;
    }
    let grid = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
    let maps: Vec<&[f32]> = (0..k.count()).map(|i| k.kernel(i)).collect();
    heatmap::draw_grid(
        buf,
        grid,
        &maps,
        (k.rows, k.cols),
        MAX_SCALE,
        Scale::Heat {
            min: -limit,
            max: limit,
        },
        t,
    );
}
