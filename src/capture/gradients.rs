//! The gradient-flow figure: each conv and dense layer's gradient norm against
//! epochs on a log scale, one line per layer, with a dashed line wherever a setting
//! changed. Several runs go side by side, one plot each on a shared y range
//! (`lenet-tui compare`), so a sigmoid run's vanishing first layers stand beside a
//! ReLU run's.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Figure, draw_changes, draw_legend, epoch_chart, epoch_mesh};
use crate::train::Progress;

/// Line colours per layer, first layer first (the dashboard's hues, on white).
const LAYER_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
    RGBColor(214, 39, 40),
];

/// One run's gradient flow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GradientPanel {
    /// Above its plot (`A avg/sigmoid`); empty for a figure of one run.
    pub label: String,
    /// Per layer: its name and (epoch, ‖∂loss/∂W‖) points, zeros left out.
    pub layers: Vec<(String, Vec<(f64, f64)>)>,
    /// (epoch, label) of setting changes.
    pub changes: Vec<(f64, String)>,
}

impl GradientPanel {
    /// The panel of a run's progress reports (those without layer figures skipped).
    pub fn from_progress(
        label: String,
        progress: &[Progress],
        changes: Vec<(f64, String)>,
    ) -> Self {
        let mut layers: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for p in progress {
            for s in &p.layers {
                let i = match layers.iter().position(|(name, _)| *name == s.layer) {
                    Some(i) => i,
                    None => {
                        layers.push((s.layer.clone(), Vec::new()));
                        layers.len() - 1
                    }
                };
                if let Some(norm) = s.plotted_grad_norm() {
                    layers[i].1.push((p.at, norm));
                }
            }
        }
        Self {
            label,
            layers,
            changes,
        }
    }

    /// Whether there is anything to plot.
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(|(_, points)| points.is_empty())
    }
}

/// The figure: one plot per run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GradientFigure {
    /// Title above the plots.
    pub title: String,
    /// Epochs on the x axes.
    pub epochs: f64,
    /// The runs, left to right.
    pub panels: Vec<GradientPanel>,
}

impl GradientFigure {
    /// Whole decades spanning every panel's points: the shared y range.
    fn decades(&self) -> (f64, f64) {
        let values = self
            .panels
            .iter()
            .flat_map(|p| p.layers.iter().flat_map(|(_, v)| v.iter().map(|p| p.1)));
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo > hi {
            return (1e-3, 1.0);
        }
        let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
        (
            10f64.powf(lo),
            10f64.powf(if hi > lo { hi } else { lo + 1.0 }),
        )
    }
}

impl Figure for GradientFigure {
    fn size(&self) -> (u32, u32) {
        // Each run gets the width of one training figure's plot.
        (100 + 700 * self.panels.len().max(1) as u32, 500)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let px = |v: f64| (v * s).round() as i32;
        root.fill(&WHITE).map_err(err)?;
        let root = root
            .titled(&self.title, ("sans-serif", px(20.0)))
            .map_err(err)?;
        let (lo, hi) = self.decades();
        let epochs = self.epochs.max(1.0);
        let width = px(2.0).max(1) as u32;
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let mut chart =
                epoch_chart(area, &panel.label, 60.0, (epochs, (lo..hi).log_scale()), s)?;
            epoch_mesh(&mut chart.configure_mesh(), s)
                .y_desc("‖∂loss/∂W‖")
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .draw()
                .map_err(err)?;
            for (i, (name, points)) in panel.layers.iter().enumerate() {
                let style = LAYER_COLOURS[i % LAYER_COLOURS.len()].stroke_width(width);
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), style))
                    .map_err(err)?
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
            // Dashes evenly spaced on the log axis.
            let dash = |i: u32| {
                let y = |k: f64| lo * (hi / lo).powf(k / 40.0);
                let k = f64::from(i);
                (y(k), y(k + 0.5))
            };
            let label_y = hi / (hi / lo).powf(0.03);
            draw_changes(&mut chart, (&panel.changes, epochs), dash, label_y, s)?;
            if panel.layers.is_empty() {
                continue;
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight, s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::figure::{figure_png, figure_svg, write_figure};
    use crate::train::LayerStats;

    fn progress(at: f64, sigmoid: bool) -> Progress {
        let layers = ["conv1", "fc1"]
            .iter()
            .enumerate()
            .map(|(i, name)| LayerStats {
                layer: (*name).into(),
                grad_norm: if sigmoid {
                    1e-3 * 10f64.powi(i as i32 * 2)
                } else {
                    0.5
                },
                weight_norm: 1.0,
                update_ratio: 0.1,
                act_mean: 0.5,
                act_std: 0.1,
                saturated: None,
                dead: None,
                hist: vec![0; 16],
                hist_range: [0.0, 1.0],
            })
            .collect();
        Progress {
            epoch: 1,
            at,
            batch: 1,
            batches: 4,
            train_loss: 1.0,
            train_acc: 0.5,
            examples_per_sec: 1.0,
            layers,
        }
    }

    #[test]
    fn runs_sit_side_by_side_on_shared_decades() {
        let sigmoid: Vec<Progress> = (1..=4)
            .map(|i| progress(f64::from(i) / 4.0, true))
            .collect();
        let relu: Vec<Progress> = (1..=4)
            .map(|i| progress(f64::from(i) / 4.0, false))
            .collect();
        let a = GradientPanel::from_progress(
            "A avg/sigmoid".into(),
            &sigmoid,
            vec![(0.5, "act relu".into())],
        );
        let b = GradientPanel::from_progress("B max/relu".into(), &relu, Vec::new());
        assert_eq!(a.layers.len(), 2);
        assert_eq!(a.layers[0].1.len(), 4);
        let figure = GradientFigure {
            title: "Gradient flow".into(),
            epochs: 1.0,
            panels: vec![a, b],
        };
        let (lo, hi) = figure.decades();
        assert!(
            (lo / 1e-3 - 1.0).abs() < 1e-9 && hi == 1.0,
            "1e-3 to 0.5 in whole decades: {lo} {hi}"
        );
        assert_eq!(figure.size(), (1500, 500));
        let svg = figure_svg(&figure).unwrap();
        for what in ["A avg/sigmoid", "B max/relu", "conv1", "fc1", "act relu"] {
            assert!(svg.contains(what), "{what} missing");
        }
        let png = figure_png(&figure, 1).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let dir = tempfile::tempdir().unwrap();
        let path = write_figure(&figure, dir.path(), "grads", 1).unwrap();
        assert!(path.is_file() && path.with_extension("svg").is_file());
    }

    #[test]
    fn a_run_without_layer_figures_is_empty() {
        let mut p = progress(0.5, true);
        p.layers.clear();
        assert!(GradientPanel::from_progress(String::new(), &[p], Vec::new()).is_empty());
    }
}
