//! `lenet-tui explain`: the arithmetic behind one value of a saved run's model on one
//! image, worked out from its weights (`model::explain`), as text or JSON.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::ExplainArgs;
use crate::config;
use crate::data::own::{Framing, OwnImage, Preparation};
use crate::data::pixel_to_f32;
use crate::model::explain::{self, Cell, ConvWork, Explanation, OutputWork, Weights};

/// `lenet-tui explain`.
pub fn command(args: &ExplainArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let (checkpoint, model) = super::predict::trained_model(args.resume.as_ref(), &config)?;
    let meta = &checkpoint.meta;
    let arch = &meta.architecture;
    let mut params = Vec::new();
    model.read_parameters(&arch.parameter_names(), &mut params)?;
    let cell = cell(args)?;
    let pixels = image(args, &checkpoint)?;
    let weights = Weights {
        arch,
        params: &params,
        pooling: meta.settings.pooling,
        activation: meta.settings.activation,
    };
    let worked = explain::explain(&weights, &pixels, cell).map_err(anyhow::Error::msg)?;
    if args.json {
        let json = match &worked {
            Explanation::Conv(work) => serde_json::to_string(work)?,
            Explanation::Output(work) => serde_json::to_string(work)?,
        };
        println!("{json}");
    } else {
        print!(
            "{}",
            in_words(&worked, &meta.data.classes, meta.settings.activation)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The cell `--layer`, `--map` and `--at` name.
fn cell(args: &ExplainArgs) -> Result<Cell> {
    if args.layer == "out" {
        return Ok(Cell::Output);
    }
    let layer: usize = args
        .layer
        .parse()
        .ok()
        .filter(|&l| l >= 1)
        .with_context(|| {
            format!(
                "--layer {}: a convolution layer's number (1, 2, …) or `out`",
                args.layer
            )
        })?;
    let at = args
        .at
        .split_once(',')
        .and_then(|(r, c)| Some((r.trim().parse().ok()?, c.trim().parse().ok()?)))
        .with_context(|| format!("--at {}: ROW,COL, each a whole number from 0", args.at))?;
    Ok(Cell::Conv {
        layer,
        map: args.map,
        at,
    })
}

/// The image's pixels (0 to 1): a test image by number, a made-up input, or a file.
fn image(
    args: &ExplainArgs,
    checkpoint: &crate::train::checkpoint::Checkpoint,
) -> Result<Vec<f32>> {
    let meta = &checkpoint.meta;
    let classes = &meta.data.classes;
    let [_, rows, _] = meta.architecture.input;
    let how = Preparation {
        frame: rows,
        framing: Framing::of(classes),
        raw: false,
    };
    let test = || super::replay::run_data(&meta.data);
    let bytes = if let Ok(n) = args.image.parse::<usize>() {
        let data = test()?;
        if n >= data.test.len() {
            bail!(
                "--image {n}: the test set has images 0 to {}",
                data.test.len() - 1
            );
        }
        data.test.image_bytes(n).to_vec()
    } else {
        let needs_test = args.image.starts_with("invert:");
        let data = if needs_test { Some(test()?) } else { None };
        OwnImage::from_spec(&args.image, classes, how, data.as_ref().map(|d| &d.test))?.pixels
    };
    Ok(bytes.into_iter().map(pixel_to_f32).collect())
}

/// The explanation as a lecture's notes put it.
fn in_words(
    worked: &Explanation,
    classes: &[String],
    activation: crate::model::Activation,
) -> String {
    match worked {
        Explanation::Conv(w) => conv_words(w, activation),
        Explanation::Output(o) => output_words(o, classes),
    }
}

fn grid(rows: &[Vec<f32>]) -> String {
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().map(|v| format!("{v:>7.3}")).collect();
            format!("    {}\n", cells.join(" "))
        })
        .collect()
}

fn conv_words(w: &ConvWork, activation: crate::model::Activation) -> String {
    let mut out = String::new();
    for (i, ((patch, kernel), partial)) in w.patch.iter().zip(&w.kernel).zip(&w.partial).enumerate()
    {
        out += &format!("input map {i}: patch (padding as 0)\n{}", grid(patch));
        out += &format!("  kernel\n{}", grid(kernel));
        out += &format!("  sum of patch × kernel = {partial:.6}\n");
    }
    let total: f32 = w.partial.iter().sum();
    out += &format!(
        "total {total:.6} + bias {:.6} = pre-activation {:.6}\n",
        w.bias, w.pre
    );
    out += &format!("{activation}({:.6}) = activation {:.6}\n", w.pre, w.act);
    out += &format!(
        "{} pooling over its window\n{}  = {:.6}\n",
        w.pool.kind,
        grid(&w.pool.window),
        w.pool.value
    );
    out
}

fn output_words(o: &OutputWork, classes: &[String]) -> String {
    let mut out = format!(
        "{:<14} {:>9} {:>10} {:>8}\n",
        "class", "logit", "exp", "prob"
    );
    for (i, ((l, e), p)) in o.logits.iter().zip(&o.exp).zip(&o.probs).enumerate() {
        let name = classes.get(i).map_or("?", String::as_str);
        let mark = if i == o.top { "  ← top" } else { "" };
        out += &format!("{name:<14} {l:>9.4} {e:>10.5} {p:>8.4}{mark}\n");
    }
    out += &format!("softmax: exp(logit − max) / {:.5} (their sum)\n", o.sum);
    out
}
