//! Plain text of a frame: one line per row, trailing spaces kept so columns line up.
//! The dashboard draws no double-width characters, so each cell is one column.

use ratatui::buffer::Buffer;

/// The frame's text, each row ending in a newline.
pub fn frame_text(buf: &Buffer) -> String {
    let width = usize::from(buf.area.width);
    let mut out = String::with_capacity(buf.content().len() + usize::from(buf.area.height));
    for row in buf.content().chunks(width.max(1)) {
        if width == 0 {
            break;
        }
        for cell in row {
            out.push_str(cell.symbol());
        }
        out.push('\n');
    }
    out
}
