//! The trainer's timeline: a snapshot of the weights at every progress report, the
//! look back a [`Command::Recall`](super::super::messages::Command::Recall) asks for,
//! and the timeline's file beside the run's checkpoints.

use super::super::messages::{Event, SaveReason};
use super::super::timeline::{Moment, PastModel, Seek, Snapshot, file};
use super::{Failure, Trainer};

impl Trainer {
    /// Where the run stands, with the pieces in force.
    fn moment(&self) -> Moment {
        let p = &self.position;
        Moment {
            at: p.at(),
            epoch: p.epoch,
            batch: p.batch,
            batches: p.batches,
            pooling: self.settings.pooling,
            activation: self.settings.activation,
            learning_rate: self.settings.learning_rate.get(),
        }
    }

    /// Keeps the weights as they are now in the timeline.
    pub(in crate::train) fn take_snapshot(&mut self) -> Result<(), Failure> {
        let names = self.timeline.parameter_names();
        let mut weights = Vec::with_capacity(names.len());
        self.model.read_parameters(&names, &mut weights)?;
        let moment = self.moment();
        self.timeline.push(Snapshot { moment, weights });
        Ok(())
    }

    /// Answers a look back: the model at the snapshot `seek` lands on, or `None`
    /// past the newest one.
    pub(in crate::train) fn recall(&mut self, seek: Seek) -> Result<(), Failure> {
        let Some(snapshot) = self.timeline.find(seek) else {
            if matches!(seek, Seek::Before(_) | Seek::Start) {
                self.emit(Event::Rejected(
                    "nothing earlier: this is the start of the run's history".into(),
                ));
            } else {
                self.emit(Event::Recalled(None));
            }
            return Ok(());
        };
        let past = match &mut self.past_model {
            Some(m) => m,
            slot @ None => slot.insert(PastModel::new(
                self.model.architecture(),
                self.timeline.parameter_names(),
            )?),
        };
        let view = past.view(snapshot, &self.timeline, &self.probes, &self.dataset.test)?;
        self.emit(Event::Recalled(Some(view)));
        Ok(())
    }

    /// Writes the timeline into the run's directory beside the checkpoint just written
    /// (unless `[history] save = false`); a failure is reported, never fatal.
    pub(in crate::train) fn save_timeline(&mut self, reason: SaveReason) {
        if !self.history_policy.save {
            return;
        }
        let Some(run) = self.saver.run_dir().map(std::path::Path::to_path_buf) else {
            return;
        };
        let meta = self.meta(reason);
        let facts = file::RunFacts {
            program: meta.program,
            saved_at: meta.saved_at,
            architecture: meta.architecture,
            settings: meta.settings,
            data: meta.data,
            batches_per_epoch: self.position.batches,
            history: meta.history,
            at: self.position.at(),
        };
        if let Err(e) = file::write(&run, &self.timeline, facts, self.history_policy.file_mb) {
            self.emit(Event::SaveFailed {
                reason,
                message: format!("history not saved: {e}"),
            });
        }
    }
}
