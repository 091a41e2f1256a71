//! The trainer's checkpoints: writing one, restoring one, and going back to the last
//! good one after a divergence.

use std::path::PathBuf;

use super::super::checkpoint::{self, Checkpoint, DataFacts, Meta, WeightsFacts};
use super::super::messages::{Change, Event, MarkedChange, Restored, SavePart, SaveReason, Saved};
use super::super::saver::SaveDecision;
use super::super::settings::LearningRate;
use super::{Failure, Flow, Trainer};
use crate::data::{DataLocation, EpochOrder};

impl Trainer {
    /// Loads weights, position and history from `checkpoint`, and its pooling,
    /// activation and learning rate; replays the shuffles up to its position.
    pub(in crate::train) fn restore(&mut self, checkpoint: &Checkpoint) -> Result<(), Failure> {
        let weights = checkpoint.weights(&self.model.parameter_shapes(), &self.device)?;
        self.model.set_parameters(&weights)?;
        let meta = &checkpoint.meta;
        let mut settings = self.settings.clone();
        settings.pooling = meta.settings.pooling;
        settings.activation = meta.settings.activation;
        settings.learning_rate = meta.settings.learning_rate;
        self.use_settings(settings);
        self.engine.settle()?;
        self.position = meta.position.clone();
        self.history = meta.history.clone();
        // An evaluation of other weights than these.
        self.newest_evaluation = None;
        self.order = EpochOrder::new(self.dataset.train.len(), self.settings.seed.wrapping_add(1));
        let p = &self.position;
        if p.batch > 0 {
            // Mid-epoch: this epoch's order is the last one drawn.
            self.order.skip_epochs(p.orders_drawn.saturating_sub(1));
            self.epoch_order = self
                .order
                .next_epoch(self.settings.batch_size.as_usize())
                .map(<[u32]>::to_vec)
                .collect();
        } else {
            self.order.skip_epochs(p.orders_drawn);
        }
        self.diverged = None;
        self.guard.reset();
        self.cadence.restart();
        self.pacer.start_over();
        Ok(())
    }

    pub(in crate::train) fn emit_restored(&mut self, from: PathBuf) {
        self.emit(Event::Restored(Restored {
            from,
            at: self.position.at(),
            settings: self.settings.clone(),
            history: self.history.clone(),
        }));
        if let Ok(table) = self.model.layer_table() {
            self.emit(Event::Layers(table));
        }
    }

    /// `u` after a divergence: the last good checkpoint with a tenth of the learning
    /// rate, training again.
    pub(super) fn restore_last_good(&mut self) -> Result<Option<Flow>, Failure> {
        if self.diverged.is_none() {
            self.emit(Event::Rejected(
                "nothing to restore: training goes back to the last good checkpoint only after a divergence"
                    .into(),
            ));
            return Ok(None);
        }
        let Some(path) = self.saver.last_saved().cloned() else {
            self.emit(Event::Rejected(
                "no checkpoint to go back to: checkpoints are off for this run".into(),
            ));
            return Ok(None);
        };
        let checkpoint = match checkpoint::load(&path) {
            Ok(c) => c,
            Err(e) => {
                self.emit(Event::Rejected(format!("cannot restore: {e}")));
                return Ok(None);
            }
        };
        let lr = self.settings.learning_rate.get() / 10.0;
        self.restore(&checkpoint)?;
        // What came after the checkpoint never happened, as far as looking back goes.
        self.timeline.truncate(self.position.at());
        self.take_snapshot()?;
        if let Ok(lower) = LearningRate::try_from(lr) {
            self.settings.learning_rate = lower;
        }
        self.paused = false;
        self.saver.changed();
        self.emit_restored(path);
        let at = self.position.at();
        let change = Change::LearningRate(self.settings.learning_rate.get());
        self.history.changes.push(MarkedChange {
            at,
            change: change.clone(),
        });
        self.emit(Event::Changed { at, change });
        self.report_probes(false)?;
        Ok(Some(Flow::Rewound))
    }

    /// Writes a checkpoint (and the history beside it) and reports it; failures are
    /// reported at once, never fatal: the last good checkpoint stays.
    pub(in crate::train) fn save(&mut self, reason: SaveReason) {
        let failed = |trainer: &Self, message: String, needs: Option<u64>| {
            trainer.emit(Event::SaveFailed {
                reason,
                part: SavePart::Checkpoint,
                message,
                needs,
            });
        };
        match self.engine.settle() {
            Ok(correct) => self.position.correct += correct,
            Err(e) => return failed(self, format!("counting correct predictions: {e}"), None),
        }
        let saved = match self.saver.decide(reason, self.diverged.as_ref()) {
            SaveDecision::Skip => return,
            SaveDecision::Refuse(why) => return failed(self, why, None),
            SaveDecision::Reuse(path) => {
                // The checkpoint holds this state; the history may not yet.
                if self.history_behind {
                    self.save_timeline(reason);
                }
                path
            }
            SaveDecision::Write => {
                // The history goes first: a crash between the two writes leaves it
                // ahead of the newest checkpoint, which a resume cuts it back to (and
                // trains again); the other way round it would lack, for good, what the
                // checkpoint holds. The run's first save makes its directory.
                let history_first = self.saver.run_dir().is_some();
                if history_first {
                    self.save_timeline(reason);
                }
                let meta = self.meta(reason);
                match self.saver.write(&self.model.parameters(), meta) {
                    Ok(path) => {
                        if !history_first {
                            self.save_timeline(reason);
                        }
                        path
                    }
                    Err(why) => {
                        let needs = self.checkpoint_bytes(reason);
                        return failed(self, why, Some(needs));
                    }
                }
            }
        };
        self.emit(Event::Saved(Saved {
            path: saved,
            reason,
            at: self.position.at(),
        }));
    }

    /// About the bytes a checkpoint of the run as it stands takes on disk.
    fn checkpoint_bytes(&self, reason: SaveReason) -> u64 {
        // The weights are one snapshot's worth.
        let weights = self.timeline.snapshot_bytes();
        let meta = serde_json::to_vec_pretty(&self.meta(reason)).map_or(0, |m| m.len());
        (weights + meta) as u64
    }

    pub(in crate::train) fn meta(&self, reason: SaveReason) -> Meta {
        let data = &self.dataset;
        Meta {
            format: checkpoint::FORMAT,
            program: format!("lenet-tui {}", env!("CARGO_PKG_VERSION")),
            saved_at: chrono::Local::now().to_rfc3339(),
            reason,
            architecture: self.model.architecture().clone(),
            settings: self.settings.clone(),
            position: self.position.clone(),
            data: DataFacts {
                description: data.to_string(),
                dir: match &data.location {
                    DataLocation::Embedded => None,
                    DataLocation::Dir { path, .. } => Some(path.clone()),
                },
                train_examples: data.train.len(),
                test_examples: data.test.len(),
                classes: data.classes.clone(),
            },
            history: self.history.clone(),
            weights: WeightsFacts { bytes: 0, crc32: 0 },
            rng: crate::rng::ALGORITHM.into(),
        }
    }
}
