//! The trainer's timeline: a snapshot of the weights at every progress report, the
//! look back a [`Command::Recall`](super::super::messages::Command::Recall) asks for,
//! and the timeline's file beside the run's checkpoints.

use std::path::Path;

use super::super::checkpoint::CheckpointError;
use super::super::messages::{Event, SavePart, SaveReason};
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
        let file_mb = self.history_policy.file_mb;
        match file::write(&run, &self.timeline, facts, file_mb) {
            Ok(_) => self.history_behind = false,
            Err(e) => {
                self.history_behind = true;
                self.emit(Event::SaveFailed {
                    reason,
                    part: SavePart::History,
                    message: e.to_string(),
                    needs: Some(file::bytes_needed(&self.timeline, file_mb)),
                });
            }
        }
    }

    /// On resume: the run's saved history up to the checkpoint's position, so that
    /// looking back and replay still reach the fresh weights. A history that cannot be
    /// read is set aside under a new name (never overwritten) and the run says so.
    pub(in crate::train) fn resume_timeline(&mut self, run: &Path) {
        let saved = match file::read(run) {
            Ok(saved) if saved.timeline.parameters() == self.timeline.parameters() => saved,
            Ok(saved) => {
                let why = format!(
                    "{}: its snapshots are of another model than this run's",
                    saved.path.display()
                );
                return self.set_aside(run, why);
            }
            Err(CheckpointError::NotFound(_)) => return,
            Err(e) => return self.set_aside(run, e.to_string()),
        };
        // A history written ahead of the checkpoint (a crash between the two) is cut
        // back to it: that stretch is trained again.
        let at = self.position.at();
        let mut past = saved.timeline;
        past.truncate(at);
        for snapshot in past.snapshots() {
            self.timeline.push(snapshot.clone());
        }
        for c in past.confusions() {
            self.timeline.push_confusion(c.epoch, c.matrix.clone());
        }
        tracing::info!(
            snapshots = self.timeline.len(),
            "history read back up to epoch {at:.2}"
        );
    }

    /// Moves an unreadable history aside (when this run writes its history) and queues
    /// the warning for when the run has started.
    fn set_aside(&mut self, run: &Path, why: String) {
        let message = if !self.history_policy.save {
            format!(
                "{why}; looking back starts at epoch {:.2}",
                self.position.at()
            )
        } else {
            match file::set_aside(run) {
                Ok(kept) => format!(
                    "{why}; kept aside as {} and a new history starts at epoch {:.2}",
                    kept.display(),
                    self.position.at()
                ),
                Err(e) => {
                    // Writing would overwrite the only copy of the past.
                    self.history_policy.save = false;
                    format!("{why}; it could not be set aside ({e}), so no history is written")
                }
            }
        };
        self.warnings.push((SavePart::History, message));
    }
}
