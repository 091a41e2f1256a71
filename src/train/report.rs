//! What the model makes of the shown test images, and its first layer's kernels, as
//! the plain numbers the messages carry: shared by the live trainer and by the
//! snapshots of the past ([`super::timeline::PastModel`]).

use super::messages::{ConvKernels, ProbeReport};
use crate::data::Split;
use crate::engine::argmax;
use crate::model::{LeNet, ModelError, Probe};

/// The parameter shown as the first layer's kernels (the model's and the CPU step's
/// name for it).
pub const FIRST_KERNELS: &str = "conv1.weight";

/// Why `indices` cannot be shown from `test`, if one of them is not a test image.
pub fn missing_probe(indices: &[usize], test: &Split) -> Option<String> {
    let n = test.len();
    let bad = indices.iter().find(|&&i| i >= n)?;
    Some(format!(
        "test image {bad} does not exist (the test set has {n} images)"
    ))
}

/// One report per probed test image: `probes[k]` is what the model made of image
/// `indices[k]` of `test`.
pub fn probe_reports(probes: Vec<Probe>, indices: &[usize], test: &Split) -> Vec<ProbeReport> {
    probes
        .into_iter()
        .zip(indices)
        .map(|(probe, &index)| ProbeReport {
            index,
            label: usize::from(test.labels[index]),
            predicted: argmax(&probe.probabilities),
            image: test.image(index),
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
