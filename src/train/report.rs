//! What the model makes of the shown test images, and its first layer's kernels, as
//! the plain numbers the messages carry: shared by the live trainer and by the
//! snapshots of the past ([`super::timeline::PastModel`]).

use super::messages::{ConvKernels, ProbeReport};
use crate::data::Split;
use crate::data::own::ProbeImage;
use crate::engine::argmax;
use crate::model::{LeNet, ModelError, Probe};

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
