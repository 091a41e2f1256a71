//! A screen's questions about the model, answered to that screen alone: the arithmetic
//! behind one value ([`Command::Explain`]) and the test images behind one confusion
//! cell ([`Command::Gallery`]).
//!
//! [`Command::Explain`]: super::super::messages::Command::Explain
//! [`Command::Gallery`]: super::super::messages::Command::Gallery

use super::super::messages::{Event, ExplainAsk, Gallery};
use super::super::report::{NamedWeights, explained};
use super::{Failure, Trainer};

impl Trainer {
    /// Works out `ask` with the weights now, or those of the snapshot at `ask.at`.
    pub(in crate::train) fn explain(&mut self, ask: &ExplainAsk) -> Result<(), Failure> {
        let arch = self.model.architecture().clone();
        let test = &self.dataset.test;
        let answer = match ask.at {
            Some(at) => match self.timeline.explain(&arch, at, ask, test) {
                Some(answer) => answer,
                None => {
                    self.emit(Event::Rejected(format!(
                        "no snapshot at epoch {at:.2} to explain"
                    )));
                    return Ok(());
                }
            },
            None => {
                let names = arch.parameter_names();
                let mut weights = Vec::with_capacity(names.len());
                self.model.read_parameters(&names, &mut weights)?;
                let now = NamedWeights {
                    arch: &arch,
                    names: &names,
                    weights: &weights,
                    pooling: self.settings.pooling,
                    activation: self.settings.activation,
                };
                explained(&now, ask, test, None)
            }
        };
        self.emit(Event::Explained(answer));
        Ok(())
    }

    /// The test images of class `truth` the newest epoch's evaluation took for
    /// `predicted`.
    pub(in crate::train) fn gallery(
        &mut self,
        truth: usize,
        predicted: usize,
    ) -> Result<(), Failure> {
        let p = &self.position;
        if self.newest_evaluation.is_none() && p.batch == 0 && p.epoch > 1 {
            // Resumed at an epoch's end (a checkpoint's weights): its evaluation again.
            let epoch = p.epoch - 1;
            self.newest_evaluation = Some((epoch, self.evaluate()?));
        }
        let event = match &self.newest_evaluation {
            Some((epoch, evaluation)) => Event::Gallery(Gallery {
                epoch: *epoch,
                truth,
                predicted,
                images: evaluation.images(truth, predicted, &self.dataset.test),
            }),
            None => Event::Rejected(
                "the images behind a confusion cell come with the next epoch's evaluation".into(),
            ),
        };
        self.emit(event);
        Ok(())
    }
}
