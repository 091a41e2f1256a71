//! The range test's figure: the loss against the learning rate on a log axis, each
//! batch's loss faint behind the smoothed loss, and the suggestion marked with a
//! dashed line, in the training figure's size, fonts and colours.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::sweep::{Point, sig};
use crate::capture::figure::{CHANGE, Figure};

/// The training figure's train-loss blue.
const LOSS: RGBColor = RGBColor(31, 119, 180);

/// What the figure shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepFigure {
    /// Title above the plot.
    pub title: String,
    /// The sweep's points, in order.
    pub points: Vec<Point>,
    /// The suggested point, if any.
    pub suggestion: Option<Point>,
}

impl SweepFigure {
    /// The x range: the swept learning rates, at least a decade wide.
    fn lr_range(&self) -> (f64, f64) {
        let lo = self.points.first().map_or(1e-4, |p| p.lr);
        let hi = self.points.last().map_or(10.0, |p| p.lr);
        (lo, hi.max(lo * 10.0))
    }

    /// The y range: from the lowest loss to the highest smoothed one (a raw loss
    /// past it, the explosion's, is drawn at the top edge).
    fn loss_range(&self) -> (f64, f64) {
        let finite = |v: f64| v.is_finite().then_some(v);
        let lo = self
            .points
            .iter()
            .filter_map(|p| finite(p.loss.min(p.smoothed)))
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .points
            .iter()
            .filter_map(|p| finite(p.smoothed))
            .fold(f64::NEG_INFINITY, f64::max);
        if lo > hi {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.05).max(0.05);
        ((lo - pad).max(0.0), hi + pad)
    }
}

impl Figure for SweepFigure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let px = |v: f64| (v * s).round() as i32;
        root.fill(&WHITE).map_err(err)?;
        let (x_lo, x_hi) = self.lr_range();
        let (y_lo, y_hi) = self.loss_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", px(20.0)))
            .margin(px(14.0))
            .x_label_area_size(px(40.0))
            .y_label_area_size(px(50.0))
            .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("learning rate (log scale)")
            .y_desc("training loss")
            .x_label_formatter(&|v| sig(*v))
            .label_style(("sans-serif", px(14.0)))
            .axis_desc_style(("sans-serif", px(15.0)))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        let width = px(2.0).max(1) as u32;
        let raw = LOSS.mix(0.3).stroke_width(px(1.0).max(1) as u32);
        let clamp = |p: &Point| (p.lr, p.loss.clamp(y_lo, y_hi));
        chart
            .draw_series(LineSeries::new(self.points.iter().map(clamp), raw))
            .map_err(err)?
            .label("loss of each batch")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], raw));
        let smooth = LOSS.stroke_width(width);
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.lr, p.smoothed)),
                smooth,
            ))
            .map_err(err)?
            .label("smoothed loss")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], smooth));
        if let Some(p) = &self.suggestion {
            self.draw_suggestion(&mut chart, p, (y_lo, y_hi), s)?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", px(14.0)))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(err)
    }
}

impl SweepFigure {
    /// The suggestion: a dashed vertical line (as the training figure marks a change),
    /// a dot on the smoothed loss and its value near the top.
    fn draw_suggestion<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
        p: &Point,
        (y_lo, y_hi): (f64, f64),
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let px = |v: f64| (v * s).round() as i32;
        let stroke = CHANGE.stroke_width(px(2.0).max(1) as u32);
        let step = (y_hi - y_lo) / 40.0;
        let dashes = (0..40).map(|i| {
            let from = y_lo + step * f64::from(i);
            PathElement::new(vec![(p.lr, from), (p.lr, from + step / 2.0)], stroke)
        });
        chart.draw_series(dashes).map_err(err)?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.lr, p.smoothed),
                px(4.0),
                CHANGE.filled(),
            )))
            .map_err(err)?;
        let label = format!("suggested lr {}", sig(p.lr));
        chart
            .draw_series(std::iter::once(Text::new(
                label,
                (p.lr, y_hi - step * 1.5),
                ("sans-serif", px(13.0)).into_font().color(&CHANGE),
            )))
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::figure::{figure_png, figure_svg, write_figure};

    fn figure() -> SweepFigure {
        let points: Vec<Point> = (0..30)
            .map(|k| {
                let lr = 1e-4 * 10f64.powf(f64::from(k) / 6.0);
                let loss = if k < 28 {
                    2.3 - f64::from(k) * 0.05
                } else {
                    40.0
                };
                Point {
                    batch: k as usize + 1,
                    lr,
                    loss,
                    smoothed: loss.min(3.0),
                }
            })
            .collect();
        SweepFigure {
            title: "lr-find: avg/sigmoid".into(),
            suggestion: Some(points[20]),
            points,
        }
    }

    #[test]
    fn the_figure_names_the_suggestion_on_a_log_axis() {
        let f = figure();
        let (lo, hi) = f.loss_range();
        assert!(
            lo < 0.95 && hi > 3.0 && hi < 4.0,
            "{lo} {hi}: the raw 40 is clamped"
        );
        let svg = figure_svg(&f).unwrap();
        for what in [
            "smoothed loss",
            "suggested lr",
            "learning rate (log scale)",
            "0.001",
        ] {
            assert!(svg.contains(what), "{what} missing");
        }
        let png = figure_png(&f, 1).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let dir = tempfile::tempdir().unwrap();
        let path = write_figure(&f, dir.path(), "sweep", 1).unwrap();
        assert!(path.is_file() && path.with_extension("svg").is_file());
    }

    #[test]
    fn an_empty_sweep_still_draws() {
        let empty = SweepFigure {
            title: "nothing".into(),
            points: Vec::new(),
            suggestion: None,
        };
        assert_eq!(empty.loss_range(), (0.0, 1.0));
        assert!(figure_svg(&empty).unwrap().starts_with("<svg"));
    }
}
