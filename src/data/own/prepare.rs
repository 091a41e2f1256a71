//! The steps that turn any grey picture into a 28×28 image as the data sets were
//! made: ink found against the background, cropped, scaled with its aspect kept and
//! placed in the frame. Each step is a pure function of a [`Grey`] picture.
//!
//! MNIST's digits were scaled to fit a 20×20 box and centred in 28×28 by their centre
//! of mass; Fashion-MNIST's product photos were trimmed to the garment, scaled so the
//! longer side is 28 and centred, and negated (garments light on black). [`Framing`]
//! says which of the two a data set follows.

/// A grey picture, row by row: `0` is black, `1` white (or, after [`to_ink`], no ink
/// and full ink).
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` values in [0, 1].
    pub values: Vec<f32>,
}

impl Grey {
    /// A `width × height` picture of `values` (row-major).
    pub fn new(width: usize, height: usize, values: Vec<f32>) -> Self {
        assert_eq!(values.len(), width * height, "a {width}×{height} picture");
        Self {
            width,
            height,
            values,
        }
    }

    /// A black picture.
    pub fn blank(width: usize, height: usize) -> Self {
        Self::new(width, height, vec![0.0; width * height])
    }

    /// The value at column `x`, row `y`.
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }

    /// The values on the picture's outer edge (each pixel once).
    fn border(&self) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| x == 0 || y == 0 || x + 1 == w || y + 1 == h)
            .map(|(x, y)| self.at(x, y))
            .collect()
    }

    /// The values as bytes, as the data sets store pixels.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.values
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }
}

/// How a data set's images sit in their frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// MNIST: fit in a 20×20 box, centred by centre of mass in 28×28.
    Digit,
    /// Fashion-MNIST (and any other): the longer side fills the frame, centred.
    Garment,
}

impl Framing {
    /// The framing of the data set with these class names: MNIST's digits, else the
    /// garments'.
    pub fn of(classes: &[String]) -> Framing {
        use crate::data::{KnownDataset, Labels};
        match Labels::from_names(classes) {
            Labels::Known(KnownDataset::Mnist) => Framing::Digit,
            _ => Framing::Garment,
        }
    }

    /// The box the content is scaled to fit, in a `frame`-pixel square.
    pub fn content_box(self, frame: usize) -> usize {
        match self {
            // MNIST's 20 of 28.
            Framing::Digit => (frame * 20).div_ceil(28),
            Framing::Garment => frame,
        }
    }
}

/// Ink below this (after the background is taken out) is not content; Fashion-MNIST
/// trimmed edges within 5 % of the corner colour.
pub const CONTENT_THRESHOLD: f32 = 0.05;

/// Brightness as ink: a light background (the border's median above ½) is inverted,
/// so the content is bright on black as in the data sets; then the background's level
/// becomes 0 and the brightest ink 1. A flat picture is all 0.
pub fn to_ink(picture: &Grey) -> Grey {
    let mut border = picture.border();
    border.sort_by(f32::total_cmp);
    let median = border.get(border.len() / 2).copied().unwrap_or(0.0);
    let light = median > 0.5;
    let background = if light { 1.0 - median } else { median };
    let inked: Vec<f32> = picture
        .values
        .iter()
        .map(|&v| ((if light { 1.0 - v } else { v }) - background).max(0.0))
        .collect();
    let peak = inked.iter().copied().fold(0.0_f32, f32::max);
    let values = if peak > 0.0 {
        inked.iter().map(|v| v / peak).collect()
    } else {
        inked
    };
    Grey::new(picture.width, picture.height, values)
}

/// The smallest rectangle holding every value above [`CONTENT_THRESHOLD`], as
/// `(x, y, width, height)`; `None` when nothing stands out.
pub fn content_bounds(ink: &Grey) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for y in 0..ink.height {
        for x in 0..ink.width {
            if ink.at(x, y) > CONTENT_THRESHOLD {
                let (x0, y0, x1, y1) = bounds.get_or_insert((x, y, x, y));
                *x0 = (*x0).min(x);
                *y0 = (*y0).min(y);
                *x1 = (*x1).max(x);
                *y1 = (*y1).max(y);
            }
        }
    }
    bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The part of `picture` inside `(x, y, width, height)`.
pub fn crop(picture: &Grey, (x, y, width, height): (usize, usize, usize, usize)) -> Grey {
    let values = (y..y + height)
        .flat_map(|row| (x..x + width).map(move |col| (col, row)))
        .map(|(col, row)| picture.at(col, row))
        .collect();
    Grey::new(width, height, values)
}

/// `picture` scaled so its longer side is `side` pixels, the aspect kept (the shorter
/// side rounded, at least 1).
pub fn fit(picture: &Grey, side: usize) -> Grey {
    let longer = picture.width.max(picture.height);
    let scaled = |n: usize| ((n * side) as f64 / longer as f64).round().max(1.0) as usize;
    resize_area(picture, scaled(picture.width), scaled(picture.height))
}

/// `picture` resampled to `width × height` by area averaging: each new pixel is the
/// mean of the old ones under it, weighted by how much of each it covers (a box
/// filter, exact for any ratio up or down, as antialiased as MNIST's).
pub fn resize_area(picture: &Grey, width: usize, height: usize) -> Grey {
    let xs = coverage(picture.width, width);
    let ys = coverage(picture.height, height);
    let mut values = Vec::with_capacity(width * height);
    for row in &ys {
        for col in &xs {
            let mut sum = 0.0_f64;
            let mut weight = 0.0_f64;
            for &(y, wy) in row {
                for &(x, wx) in col {
                    sum += f64::from(picture.at(x, y)) * wx * wy;
                    weight += wx * wy;
                }
            }
            values.push((sum / weight) as f32);
        }
    }
    Grey::new(width, height, values)
}

/// For each of `to` new pixels along an axis of `from` old ones: the old pixels it
/// covers and how much of each.
fn coverage(from: usize, to: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = from as f64 / to as f64;
    (0..to)
        .map(|i| {
            let (start, end) = (i as f64 * scale, (i + 1) as f64 * scale);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(from);
            (first..last)
                .map(|j| {
                    let covered = end.min((j + 1) as f64) - start.max(j as f64);
                    (j, covered)
                })
                .filter(|&(_, covered)| covered > 1e-12)
                .collect()
        })
        .collect()
}

/// The centre of mass of `ink`, `(x, y)` in pixel units (a pixel's centre is at
/// `i + 0.5`); the picture's centre when it holds no ink.
pub fn centre_of_mass(ink: &Grey) -> (f64, f64) {
    let (mut total, mut sx, mut sy) = (0.0_f64, 0.0_f64, 0.0_f64);
    for y in 0..ink.height {
        for x in 0..ink.width {
            let v = f64::from(ink.at(x, y));
            total += v;
            sx += v * (x as f64 + 0.5);
            sy += v * (y as f64 + 0.5);
        }
    }
    if total == 0.0 {
        return (ink.width as f64 / 2.0, ink.height as f64 / 2.0);
    }
    (sx / total, sy / total)
}

/// `content` placed on a black `frame × frame` square at `(left, top)` (which keep it
/// wholly inside).
pub fn place(content: &Grey, frame: usize, (left, top): (usize, usize)) -> Grey {
    let mut out = Grey::blank(frame, frame);
    for y in 0..content.height {
        for x in 0..content.width {
            out.values[(top + y) * frame + left + x] = content.at(x, y);
        }
    }
    out
}

/// Where `content` goes in a `frame` square: its box centred (Fashion-MNIST), or its
/// centre of mass on the frame's centre (MNIST), never past an edge.
pub fn offset(content: &Grey, frame: usize, framing: Framing) -> (usize, usize) {
    let room = |n: usize| frame.saturating_sub(n);
    match framing {
        // An odd pixel of room goes above and to the left, as in 503 of 519 such
        // Fashion-MNIST test images of the embedded subset.
        Framing::Garment => (
            room(content.width).div_ceil(2),
            room(content.height).div_ceil(2),
        ),
        Framing::Digit => {
            let (cx, cy) = centre_of_mass(content);
            let half = frame as f64 / 2.0;
            let at = |mass: f64, n: usize| ((half - mass).round().max(0.0) as usize).min(room(n));
            (at(cx, content.width), at(cy, content.height))
        }
    }
}

/// The whole preparation: ink, crop, fit, place; `None` when the picture is one flat
/// colour.
pub fn prepare(picture: &Grey, frame: usize, framing: Framing) -> Option<Grey> {
    let ink = to_ink(picture);
    let bounds = content_bounds(&ink)?;
    let content = fit(&crop(&ink, bounds), framing.content_box(frame));
    let at = offset(&content, frame, framing);
    Some(place(&content, frame, at))
}
