//! What the model makes of the shown test images, and the first layer's kernels, as
//! plain numbers for the UI; and the test set's evaluation.

use std::time::Instant;

use super::super::messages::{ConvKernels, Event, ProbeReport};
use super::{FIRST_KERNELS, Failure, Trainer};
use crate::engine::{ConfusionMatrix, argmax};

impl Trainer {
    /// The test set's confusion matrix (its diagonal is the accuracy), without
    /// gradient tracking.
    pub(in crate::train) fn evaluate(&mut self) -> Result<ConfusionMatrix, Failure> {
        Ok(self.engine.evaluate(&self.model)?)
    }

    /// The first convolution's weights as plain numbers, if the model has one.
    pub(in crate::train) fn first_kernels(&self) -> Result<Option<ConvKernels>, Failure> {
        let Some((_, weight)) = self
            .model
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

    pub(in crate::train) fn report_probes(&mut self, periodic: bool) -> Result<(), Failure> {
        if self.probes.is_empty() {
            return Ok(());
        }
        self.cadence.probes_sent(Instant::now());
        let test = &self.dataset.test;
        let reports = self
            .engine
            .probe(&self.model, &self.probes)?
            .into_iter()
            .zip(&self.probes)
            .map(|(probe, &index)| ProbeReport {
                index,
                label: usize::from(test.labels[index]),
                predicted: argmax(&probe.probabilities),
                image: test.image(index),
                rows: test.rows,
                cols: test.cols,
                probe,
            })
            .collect();
        let kernels = self.first_kernels()?;
        self.emit(Event::Activations {
            reports,
            kernels,
            periodic,
        });
        Ok(())
    }
}
