//! What the model makes of the shown test images, and its first layer's kernels, as
//! the plain numbers the messages carry: shared by the live trainer and by the
//! snapshots of the past ([`super::timeline::PastModel`]).

use super::messages::{ConvKernels, ExplainAsk, Explained, ProbeReport};
use crate::data::Split;
use crate::data::own::ProbeImage;
use crate::engine::argmax;
use crate::model::explain::{self, Explanation};
use crate::model::{Activation, Architecture, LeNet, ModelError, Pooling, Probe};

/// The parameter shown as the first layer's kernels (the model's and the CPU step's
/// name for it).
pub const FIRST_KERNELS: &str = "conv1.weight";

/// Why `images` cannot be shown beside `test`, if one of them cannot.
pub fn missing_probe(images: &[ProbeImage], test: &Split) -> Option<String> {
    images.iter().find_map(|image| image.missing(test))
}

/// One report per probed image: `probes[k]` is what the model made of `images[k]`.
pub fn probe_reports(probes: Vec<Probe>, images: &[ProbeImage], test: &Split) -> Vec<ProbeReport> {
    probes
        .into_iter()
        .zip(images)
        .map(|(probe, image)| ProbeReport {
            id: image.id(),
            label: image.label(test),
            predicted: argmax(&probe.probabilities),
            image: image
                .pixels(test)
                .iter()
                .map(|&p| crate::data::pixel_to_f32(p))
                .collect(),
            rows: test.rows,
            cols: test.cols,
            probe,
        })
        .collect()
}

/// The first convolution's weights as plain numbers, if the model has one.
pub fn first_kernels(model: &LeNet) -> Result<Option<ConvKernels>, ModelError> {
    let Some((_, weight)) = model
        .parameters()
        .into_iter()
        .find(|(name, _)| name == FIRST_KERNELS)
    else {
        return Ok(None);
    };
    let (out_channels, in_channels, rows, cols) = weight.dims4()?;
    Ok(Some(ConvKernels {
        out_channels,
        in_channels,
        rows,
        cols,
        values: weight.flatten_all()?.to_vec1::<f32>()?,
    }))
}

/// Named weights, one flat vector per parameter, with the pieces in force: a model as
/// the arithmetic of [`explained`] reads it.
pub struct NamedWeights<'a> {
    /// The layout.
    pub arch: &'a Architecture,
    /// The parameters' names, in `weights`' order.
    pub names: &'a [String],
    /// Their values.
    pub weights: &'a [Vec<f32>],
    /// The pooling in force.
    pub pooling: Pooling,
    /// The activation in force.
    pub activation: Activation,
}

/// Works out `ask` (its image from `test` or its own pixels) with `model`; `at` is the
/// snapshot's position the weights are from, if they are not the current ones.
pub fn explained(
    model: &NamedWeights,
    ask: &ExplainAsk,
    test: &Split,
    at: Option<f64>,
) -> Explained {
    let work = explain_work(model, ask, test);
    Explained {
        image: ask.image.id(),
        cell: ask.cell,
        at,
        work,
    }
}

fn explain_work(
    model: &NamedWeights,
    ask: &ExplainAsk,
    test: &Split,
) -> Result<Explanation, String> {
    if let Some(why) = ask.image.missing(test) {
        return Err(why);
    }
    // The arithmetic takes the parameters in the engines' order.
    let params = model
        .arch
        .parameter_names()
        .iter()
        .map(|name| {
            model
                .names
                .iter()
                .position(|n| n == name)
                .map(|i| model.weights[i].clone())
                .ok_or_else(|| format!("the model has no parameter {name}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pixels: Vec<f32> = ask
        .image
        .pixels(test)
        .iter()
        .map(|&p| crate::data::pixel_to_f32(p))
        .collect();
    let weights = explain::Weights {
        arch: model.arch,
        params: &params,
        pooling: model.pooling,
        activation: model.activation,
    };
    explain::explain(&weights, &pixels, ask.cell)
}
