//! Draw mode's canvas: a 28×28 image of ink painted with a soft round brush (its
//! edge antialiased as MNIST's strokes are), a keyboard cursor and pen, and the
//! pointer's last position so that a drag paints a line, not dots.

use std::time::{Duration, Instant};

/// The name the drawing goes by until it is saved.
pub const DRAWING: &str = "drawing";

/// The brush's full-ink radius, in pixels.
const BRUSH_CORE: f32 = 0.9;
/// Where its ink fades to nothing: about MNIST's stroke width of 2–3 pixels.
const BRUSH_EDGE: f32 = 2.0;

/// The fastest the model is asked about the drawing: 10 times a second.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(100);

/// What the pen does when the cursor moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pen {
    /// Nothing.
    Up,
    /// Paints.
    Ink,
    /// Erases.
    Eraser,
}

/// The drawing and how it is being drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    /// Side in pixels.
    pub side: usize,
    /// `side × side` ink values in [0, 1], row by row.
    pub ink: Vec<f32>,
    /// The keyboard cursor, `(x, y)` in pixels.
    pub cursor: (usize, usize),
    /// The keyboard pen.
    pub pen: Pen,
    /// Whether the cursor has moved since the pen last went down.
    moved: bool,
    /// Where the pointer last painted in this stroke, in pixels.
    last_point: Option<(f32, f32)>,
    /// The id the drawing's reports carry.
    pub id: u64,
    /// Changed since the model was last asked.
    pub pending: bool,
    /// When the model was last asked.
    pub last_sent: Option<Instant>,
}

impl Canvas {
    /// A blank `side × side` canvas whose reports carry `id`.
    pub fn blank(side: usize, id: u64) -> Self {
        Self {
            side,
            ink: vec![0.0; side * side],
            cursor: (side / 2, side / 2),
            pen: Pen::Up,
            moved: false,
            last_point: None,
            id,
            pending: true,
            last_sent: None,
        }
    }

    /// A canvas starting from `pixels` (bytes, `side × side`).
    pub fn from_pixels(side: usize, id: u64, pixels: &[u8]) -> Self {
        let mut c = Self::blank(side, id);
        for (v, &p) in c.ink.iter_mut().zip(pixels) {
            *v = f32::from(p) / 255.0;
        }
        c
    }

    /// The drawing as pixel bytes.
    pub fn pixels(&self) -> Vec<u8> {
        self.ink
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }

    /// Whether nothing is drawn.
    pub fn is_blank(&self) -> bool {
        self.ink.iter().all(|&v| v == 0.0)
    }

    /// One dab of the brush (or the eraser) centred at `(x, y)` in pixel units
    /// (a pixel's centre is at `i + 0.5`).
    pub fn dab(&mut self, (x, y): (f32, f32), erase: bool) {
        let side = self.side as f32;
        let reach = BRUSH_EDGE.ceil() as i64;
        let (cx, cy) = (x.floor() as i64, y.floor() as i64);
        for py in cy - reach..=cy + reach {
            for px in cx - reach..=cx + reach {
                if px < 0 || py < 0 || px as f32 >= side || py as f32 >= side {
                    continue;
                }
                let d = ((px as f32 + 0.5 - x).powi(2) + (py as f32 + 0.5 - y).powi(2)).sqrt();
                let strength = brush(d);
                if strength <= 0.0 {
                    continue;
                }
                let v = &mut self.ink[py as usize * self.side + px as usize];
                *v = if erase {
                    (*v - strength).max(0.0)
                } else {
                    v.max(strength)
                };
            }
        }
        self.pending = true;
    }

    /// Paints (or erases) from the stroke's last point to `to`, dabs close enough
    /// together that the line has no gaps.
    pub fn stroke_to(&mut self, to: (f32, f32), erase: bool) {
        let from = self.last_point.unwrap_or(to);
        let length = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
        let steps = (length / 0.5).ceil().max(1.0) as usize;
        for i in 1..=steps {
            let t = i as f32 / steps as f32;
            self.dab(
                (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t),
                erase,
            );
        }
        self.last_point = Some(to);
    }

    /// The pointer lifted: the next stroke starts afresh.
    pub fn lift(&mut self) {
        self.last_point = None;
    }

    /// Space (ink) or `x` (eraser): puts that pen down (it paints as the cursor
    /// moves) and dabs at the cursor; pressed again without moving, lifts it.
    pub fn press(&mut self, pen: Pen) {
        if self.pen == pen && !self.moved {
            self.pen = Pen::Up;
            self.lift();
            return;
        }
        self.pen = pen;
        self.moved = false;
        self.last_point = None;
        self.stroke_to(self.cursor_point(), pen == Pen::Eraser);
    }

    /// Moves the cursor by `(dx, dy)` pixels, painting on the way if the pen is down.
    pub fn move_cursor(&mut self, dx: i32, dy: i32) {
        let clamp =
            |v: usize, d: i32| (v as i64 + i64::from(d)).clamp(0, self.side as i64 - 1) as usize;
        self.cursor = (clamp(self.cursor.0, dx), clamp(self.cursor.1, dy));
        self.moved = true;
        if self.pen != Pen::Up {
            self.stroke_to(self.cursor_point(), self.pen == Pen::Eraser);
        }
    }

    /// Wipes the canvas.
    pub fn clear(&mut self) {
        self.ink.iter_mut().for_each(|v| *v = 0.0);
        self.pen = Pen::Up;
        self.lift();
        self.pending = true;
    }

    fn cursor_point(&self) -> (f32, f32) {
        (self.cursor.0 as f32 + 0.5, self.cursor.1 as f32 + 0.5)
    }

    /// Whether the model should be asked now: something changed, and the last ask is
    /// at least [`UPDATE_INTERVAL`] old.
    pub fn due(&self, now: Instant) -> bool {
        self.pending
            && self
                .last_sent
                .is_none_or(|t| now.duration_since(t) >= UPDATE_INTERVAL)
    }

    /// How long until [`Canvas::due`] can hold, if something is waiting.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.pending.then(|| {
            self.last_sent.map_or(Duration::ZERO, |t| {
                UPDATE_INTERVAL.saturating_sub(now.duration_since(t))
            })
        })
    }
}

/// The brush's ink at distance `d` from its centre: full inside the core, fading
/// linearly to nothing at the edge.
fn brush(d: f32) -> f32 {
    ((BRUSH_EDGE - d) / (BRUSH_EDGE - BRUSH_CORE)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(c: &Canvas, x: usize, y: usize) -> f32 {
        c.ink[y * c.side + x]
    }

    #[test]
    fn the_brush_is_full_in_its_core_and_soft_at_its_edge() {
        assert_eq!(brush(0.0), 1.0);
        assert_eq!(brush(BRUSH_CORE), 1.0);
        assert!(
            (brush(1.45) - 0.5).abs() < 1e-6,
            "half way between core and edge"
        );
        assert_eq!(brush(BRUSH_EDGE), 0.0);
    }

    #[test]
    fn a_dab_is_round_and_antialiased() {
        let mut c = Canvas::blank(28, 1);
        c.dab((14.5, 14.5), false);
        assert_eq!(at(&c, 14, 14), 1.0, "centre");
        assert_eq!(at(&c, 15, 14), at(&c, 14, 15), "round");
        assert_eq!(at(&c, 13, 14), at(&c, 15, 14), "symmetric");
        // A diagonal neighbour is √2 away: between core and edge.
        let diagonal = at(&c, 15, 15);
        assert!(diagonal > 0.0 && diagonal < 1.0, "{diagonal}");
        assert!((diagonal - brush(2f32.sqrt())).abs() < 1e-6);
        assert_eq!(at(&c, 17, 14), 0.0, "3 pixels away: untouched");
    }

    #[test]
    fn dabs_at_the_edge_stay_on_the_canvas() {
        let mut c = Canvas::blank(28, 1);
        c.dab((0.0, 27.9), false);
        assert_eq!(c.ink.len(), 28 * 28);
        assert!(at(&c, 0, 27) > 0.9);
    }

    #[test]
    fn erasing_takes_ink_away() {
        let mut c = Canvas::blank(28, 1);
        c.dab((10.5, 10.5), false);
        c.dab((10.5, 10.5), true);
        assert!(c.is_blank());
    }

    #[test]
    fn a_drag_paints_a_line_without_gaps() {
        let mut c = Canvas::blank(28, 1);
        c.stroke_to((4.5, 14.5), false);
        c.stroke_to((24.5, 14.5), false);
        assert!((4..=24).all(|x| at(&c, x, 14) == 1.0));
        c.lift();
        c.stroke_to((4.5, 2.5), false);
        assert_eq!(
            at(&c, 4, 8),
            0.0,
            "after a lift the next stroke is not joined"
        );
    }

    #[test]
    fn keyboard_strokes_follow_the_cursor_while_the_pen_is_down() {
        let mut c = Canvas::blank(28, 1);
        c.cursor = (14, 5);
        c.press(Pen::Ink);
        for _ in 0..10 {
            c.move_cursor(0, 1);
        }
        assert!((5..=15).all(|y| at(&c, 14, y) == 1.0), "a vertical stroke");
        // Space after moving dabs and keeps the pen down; again without moving lifts
        // it: moving then paints nothing.
        c.press(Pen::Ink);
        assert_eq!(c.pen, Pen::Ink);
        c.press(Pen::Ink);
        assert_eq!(c.pen, Pen::Up);
        c.move_cursor(-8, 0);
        assert_eq!(at(&c, 8, 15), 0.0);
        // Space, move, Space, move: the pen stays down, one stroke.
        c.press(Pen::Ink);
        c.move_cursor(0, 1);
        c.press(Pen::Ink);
        c.move_cursor(0, 1);
        assert_eq!(c.pen, Pen::Ink);
        assert!((15..=17).all(|y| at(&c, 6, y) == 1.0));
    }

    #[test]
    fn the_cursor_stays_on_the_canvas() {
        let mut c = Canvas::blank(28, 1);
        c.move_cursor(-100, 100);
        assert_eq!(c.cursor, (0, 27));
    }

    #[test]
    fn updates_are_at_most_ten_a_second() {
        let now = Instant::now();
        let mut c = Canvas::blank(28, 1);
        assert!(c.due(now), "the first at once");
        c.pending = false;
        c.last_sent = Some(now);
        c.dab((3.0, 3.0), false);
        assert!(!c.due(now + Duration::from_millis(50)));
        assert_eq!(
            c.wait(now + Duration::from_millis(50)),
            Some(Duration::from_millis(50))
        );
        assert!(c.due(now + UPDATE_INTERVAL));
    }

    #[test]
    fn pixels_round_trip() {
        let mut c = Canvas::blank(4, 1);
        c.ink[5] = 1.0;
        c.ink[6] = 0.5;
        let p = c.pixels();
        assert_eq!((p[5], p[6]), (255, 128));
        let back = Canvas::from_pixels(4, 2, &p);
        assert_eq!(back.pixels(), p);
    }
}
