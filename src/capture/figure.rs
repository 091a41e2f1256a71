//! The chapter's training figure: train loss, train accuracy and test accuracy
//! against epochs, with a dashed line wherever pooling, activation or learning rate
//! changed. Several runs can share it: the dashboard's earlier runs drawn faintly
//! under the current one, or two saved runs (`lenet-tui compare`), solid and
//! dashed. Drawn with plotters as SVG and as PNG (text from the embedded font).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::AsRangedCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::train::race::MAX_VARIANTS;

/// What the figure shows: plain series, as the dashboard keeps them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FigureData {
    /// Title above the plot.
    pub title: String,
    /// Epochs on the x axis.
    pub epochs: f64,
    /// The runs, drawn in order (later ones on top).
    pub runs: Vec<FigureRun>,
    /// (epoch, label) of setting changes.
    pub changes: Vec<(f64, String)>,
}

/// One run's curves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FigureRun {
    /// Added to each of its legend entries (`train loss · avg/sigmoid`); empty for
    /// a figure of one run.
    pub label: String,
    /// How its lines are drawn.
    pub line: LineStyle,
    /// (epoch, value) points.
    pub train_loss: Vec<(f64, f64)>,
    /// (epoch, value) points.
    pub train_acc: Vec<(f64, f64)>,
    /// (epoch, value) points.
    pub test_acc: Vec<(f64, f64)>,
}

/// How a run's lines are drawn, so runs sharing a figure tell apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineStyle {
    /// Full colour: the run the figure is about.
    #[default]
    Solid,
    /// Dashed: a second run compared with the first.
    Dashed,
    /// Dotted: a race's third variant.
    Dotted,
    /// Long dashes: a race's fourth variant.
    LongDashed,
    /// Pale: an earlier run, for reference.
    Faint,
}

impl LineStyle {
    /// One style for each of several runs in a figure (compared runs, a race's
    /// variants), in order.
    pub const EACH: [LineStyle; MAX_VARIANTS] = [
        LineStyle::Solid,
        LineStyle::Dashed,
        LineStyle::Dotted,
        LineStyle::LongDashed,
    ];
}

/// Setting changes at nearly the same moment (within 1 % of the run: keys pressed
/// one after the other) as one label, each kind of setting at its last value
/// (`act relu, lr 0.1125`), so their labels do not print over each other.
pub fn merged_changes(changes: &[(f64, String)], epochs: f64) -> Vec<(f64, String)> {
    let near = epochs.max(1.0) / 100.0;
    let mut groups: Vec<(f64, Vec<String>)> = Vec::new();
    for (at, label) in changes {
        match groups.last_mut() {
            Some((first, labels)) if (at - *first).abs() <= near => {
                let kind = label.split(' ').next();
                labels.retain(|l| l.split(' ').next() != kind);
                labels.push(label.clone());
            }
            _ => groups.push((*at, vec![label.clone()])),
        }
    }
    groups
        .into_iter()
        .map(|(at, labels)| (at, labels.join(", ")))
        .collect()
}

/// Figure size in pixels at scale 1 (PNG) and in SVG units.
pub const SIZE: (u32, u32) = (800, 500);

/// The colour of setting changes' dashed lines and labels.
pub const CHANGE: RGBColor = RGBColor(190, 60, 190);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font parses (a unit test checks it), so this cannot fail.
        let _ =
            plotters::style::register_font("sans-serif", FontStyle::Normal, super::png::FONT_BYTES);
    });
}

/// A figure plotters draws, at any scale, on either backend.
pub trait Figure {
    /// Its size in pixels at scale 1 (PNG) and in SVG units.
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    /// Draws it on `root`, every length times `scale`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        scale: f64,
    ) -> Result<(), String>;
}

impl Figure for FigureData {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        scale: f64,
    ) -> Result<(), String> {
        draw(root, self, scale)
    }
}

/// The figure as an SVG document.
pub fn figure_svg(data: &impl Figure) -> Result<String, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, data.size()).into_drawing_area();
        data.draw(&root, 1.0)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The figure as PNG bytes at `scale` × its size.
pub fn figure_png(data: &impl Figure, scale: u32) -> Result<Vec<u8>, String> {
    register_font();
    let scale = scale.max(1);
    let (w, h) = (data.size().0 * scale, data.size().1 * scale);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        data.draw(&root, f64::from(scale))?;
        root.present().map_err(|e| e.to_string())?;
    }
    super::png::encode_rgb(w, h, &rgb).map_err(|e| e.to_string())
}

/// Writes the figure as `STEM.png` (at `scale`) and `STEM.svg` in `dir` (created on
/// demand, the stem made unique there); returns the PNG's path.
pub fn write_figure(data: &impl Figure, dir: &Path, stem: &str, scale: u32) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stem = super::dir::unique_stem(dir, stem, &["svg", "png"]);
    let png = figure_png(data, scale).map_err(io::Error::other)?;
    let svg = figure_svg(data).map_err(io::Error::other)?;
    let path = crate::files::write_new(&dir.join(format!("{stem}.png")), &png)?;
    crate::files::write_new(&path.with_extension("svg"), svg.as_bytes())?;
    Ok(path)
}

/// A chart over `0..epochs` and `y` in `area`, captioned, with the margins and
/// label areas both figures use (`y_label_area` wide for the y labels, in points).
pub(super) fn epoch_chart<'a, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    y_label_area: f64,
    (epochs, y): (f64, Y),
    s: f64,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>, String> {
    let px = |v: f64| (v * s).round() as i32;
    ChartBuilder::on(area)
        .caption(caption, ("sans-serif", px(20.0)))
        .margin(px(14.0))
        .x_label_area_size(px(40.0))
        .y_label_area_size(px(y_label_area))
        .build_cartesian_2d(0.0..epochs, y)
        .map_err(|e| e.to_string())
}

/// The epoch axis's grid and labels, styled as both figures style them; the caller
/// adds its own y description and draws.
pub(super) fn epoch_mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
    s: f64,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    let px = |v: f64| (v * s).round() as i32;
    mesh.x_desc("epoch")
        .label_style(("sans-serif", px(14.0)))
        .axis_desc_style(("sans-serif", px(15.0)))
        .light_line_style(RGBColor(235, 235, 235))
}

/// Each change ([`merged_changes`]) as a dashed vertical line with its label near
/// the top: `dash(i)` gives the ends of the `i`-th of 40 dashes, bottom to top, and
/// `label_y` where the label sits, in the chart's own y values (linear or log).
pub(super) fn draw_changes<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    (changes, epochs): (&[(f64, String)], f64),
    dash: impl Fn(u32) -> (f64, f64),
    label_y: f64,
    s: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let px = |v: f64| (v * s).round() as i32;
    let width = px(2.0).max(1) as u32;
    for (at, label) in &merged_changes(changes, epochs) {
        let dashes = (0..40).map(|i| {
            let (from, to) = dash(i);
            PathElement::new(vec![(*at, from), (*at, to)], CHANGE.stroke_width(width))
        });
        chart.draw_series(dashes).map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*at, label_y),
                ("sans-serif", px(13.0)).into_font().color(&CHANGE),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// The legend, boxed as both figures box it, at `position`.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    position: SeriesLabelPosition,
    s: f64,
) -> Result<(), String> {
    let px = |v: f64| (v * s).round() as i32;
    chart
        .configure_series_labels()
        .label_font(("sans-serif", px(14.0)))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(position)
        .draw()
        .map_err(|e| e.to_string())
}

/// One of `run`'s curves, `metric` named in the legend with the run's label, in its
/// line style; a live run's test accuracy marks each epoch, as the chapter's plot does.
fn draw_curve<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    run: &FigureRun,
    (metric, points): (&str, &[(f64, f64)]),
    color: RGBColor,
    s: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let px = |v: f64| (v * s).round() as i32;
    let width = px(2.0).max(1) as u32;
    let name = if run.label.is_empty() {
        metric.to_string()
    } else {
        format!("{metric} · {}", run.label)
    };
    let (color, stroke) = match run.line {
        // Toward the white background, thinner: there, not in the way.
        LineStyle::Faint => (color.mix(0.35), px(1.5).max(1) as u32),
        _ => (color.mix(1.0), width),
    };
    let style = color.stroke_width(stroke);
    let (dash, gap) = match run.line {
        LineStyle::Dotted => (px(2.0).max(1), px(4.0).max(2)),
        LineStyle::LongDashed => (px(16.0).max(4), px(5.0).max(2)),
        _ => (px(8.0).max(2), px(5.0).max(2)),
    };
    let dashed = matches!(
        run.line,
        LineStyle::Dashed | LineStyle::Dotted | LineStyle::LongDashed
    );
    let line = points.iter().copied();
    let drawn = if dashed {
        chart.draw_series(DashedLineSeries::new(line, dash, gap, style))
    } else {
        chart.draw_series(LineSeries::new(line, style))
    };
    drawn.map_err(err)?.label(name).legend(move |(x, y)| {
        // The legend's sample line, in two pieces: apart for a dashed run.
        let (a, b) = if dashed {
            ((0, 8), (12, 20))
        } else {
            ((0, 10), (10, 20))
        };
        EmptyElement::at((x, y))
            + PathElement::new(vec![(a.0, 0), (a.1, 0)], style)
            + PathElement::new(vec![(b.0, 0), (b.1, 0)], style)
    });
    if metric == "test acc" && run.line != LineStyle::Faint {
        // One point per epoch: mark them, as the chapter's plot does.
        let marker = if dashed {
            color.stroke_width(width)
        } else {
            color.filled()
        };
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, px(3.0), marker)))
            .map_err(err)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &FigureData,
    s: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let top = data
        .runs
        .iter()
        .flat_map(|r| r.train_loss.iter().map(|p| p.1))
        .chain([1.0])
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.05;
    let epochs = data.epochs.max(1.0);
    let mut chart = epoch_chart(root, &data.title, 50.0, (epochs, 0.0..top), s)?;
    epoch_mesh(&mut chart.configure_mesh(), s)
        .draw()
        .map_err(err)?;
    for run in &data.runs {
        let series = [
            ("train loss", &run.train_loss, RGBColor(31, 119, 180)),
            ("train acc", &run.train_acc, RGBColor(148, 103, 189)),
            ("test acc", &run.test_acc, RGBColor(44, 160, 44)),
        ];
        for (metric, points, color) in series {
            draw_curve(&mut chart, run, (metric, points), color, s)?;
        }
    }
    let dash = |i: u32| {
        let y0 = top * f64::from(i) / 40.0;
        (y0, y0 + top / 80.0)
    };
    draw_changes(&mut chart, (&data.changes, epochs), dash, top * 0.97, s)?;
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(label: &str, line: LineStyle, shift: f64) -> FigureRun {
        FigureRun {
            label: label.into(),
            line,
            train_loss: vec![(0.5, 2.3), (1.0, 1.5), (2.0, 0.8 + shift), (3.0, 0.6)],
            train_acc: vec![(0.5, 0.1), (1.0, 0.4), (2.0, 0.7 - shift), (3.0, 0.78)],
            test_acc: vec![(1.0, 0.45), (2.0, 0.7), (3.0, 0.77 - shift)],
        }
    }

    fn data() -> FigureData {
        FigureData {
            title: "LeNet-5 on Fashion-MNIST".into(),
            epochs: 3.0,
            runs: vec![run("", LineStyle::Solid, 0.0)],
            changes: vec![(1.5, "pool max".into())],
        }
    }

    #[test]
    fn changes_at_one_moment_share_a_label() {
        let changes = [
            (1.0, "act relu".to_string()),
            (1.01, "lr 0.45".to_string()),
            (1.02, "lr 0.225".to_string()),
            (3.0, "pool max".to_string()),
        ];
        assert_eq!(
            merged_changes(&changes, 4.0),
            [
                (1.0, "act relu, lr 0.225".to_string()),
                (3.0, "pool max".to_string())
            ]
        );
    }

    #[test]
    fn draws_svg_and_png_figures() {
        let svg = figure_svg(&data()).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("test acc") && svg.contains("pool max"));
        let png = figure_png(&data(), 1).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }

    #[test]
    fn runs_sharing_a_figure_are_named_in_the_legend() {
        let mut two = data();
        two.runs = vec![
            run("A avg/sigmoid", LineStyle::Solid, 0.0),
            run("B max/sigmoid", LineStyle::Dashed, 0.1),
            run("earlier", LineStyle::Faint, 0.2),
        ];
        let svg = figure_svg(&two).unwrap();
        for entry in [
            "train loss · A avg/sigmoid",
            "test acc · B max/sigmoid",
            "train acc · earlier",
        ] {
            assert!(svg.contains(entry), "{entry} missing");
        }
        assert!(
            svg.contains("stroke-dasharray") || svg.matches("<polyline").count() > 9,
            "the dashed run is drawn in pieces"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write_figure(&two, dir.path(), "fig", 1).unwrap();
        assert_eq!(path, dir.path().join("fig.png"));
        assert!(path.with_extension("svg").is_file());
        let again = write_figure(&two, dir.path(), "fig", 1).unwrap();
        assert_eq!(again, dir.path().join("fig-2.png"), "never overwrites");
    }
}
