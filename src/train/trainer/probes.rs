//! What the model makes of the shown test images, and the first layer's kernels, as
//! plain numbers for the UI; and the test set's evaluation.

use std::time::Instant;

use super::super::messages::Event;
use super::super::report::{first_kernels, probe_reports};
use super::{Failure, Trainer};
use crate::engine::Evaluation;

impl Trainer {
    /// The test set's confusion matrix (its diagonal is the accuracy) and each image's
    /// answer, without gradient tracking.
    pub(in crate::train) fn evaluate(&mut self) -> Result<Evaluation, Failure> {
        Ok(self.engine.evaluate(&self.model)?)
    }

    pub(in crate::train) fn report_probes(&mut self, periodic: bool) -> Result<(), Failure> {
        if self.probes.is_empty() {
            return Ok(());
        }
        self.cadence.probes_sent(Instant::now());
        let probes = self.engine.probe(&self.model, &self.probes)?;
        let reports = probe_reports(probes, &self.probes, &self.dataset.test);
        let kernels = first_kernels(&self.model)?;
        self.emit(Event::Activations {
            reports,
            kernels,
            periodic,
        });
        Ok(())
    }
}
