//! The command line over the config file over the chapter's defaults.

use std::path::{Path, PathBuf};

use super::schema::*;
use crate::data::{DataError, DataLocation, DataSpec, KnownDataset, Labels};
use crate::device::DeviceChoice;
use crate::model::{Activation, Pooling};
use crate::train::{BatchSize, Epochs, LearningRate, Pace, TrainSettings};

/// What the user asked for after merging the command line over the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// `--data`, if given.
    pub data_cli: Option<DataSpec>,
    /// `data.dir`, if set.
    pub data_config: Option<DataSpec>,
    /// The device choice.
    pub device: DeviceChoice,
    /// The training recipe.
    pub settings: TrainSettings,
}

/// Command-line values that override the config file; `None` means not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--data`.
    pub data: Option<DataSpec>,
    /// `--dataset`.
    pub dataset: Option<KnownDataset>,
    /// `--device`.
    pub device: Option<DeviceChoice>,
    /// `--epochs`.
    pub epochs: Option<Epochs>,
    /// `--lr`.
    pub lr: Option<LearningRate>,
    /// `--batch-size`.
    pub batch_size: Option<BatchSize>,
    /// `--pool`.
    pub pooling: Option<Pooling>,
    /// `--act`.
    pub activation: Option<Activation>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--pace`.
    pub pace: Option<Pace>,
}

impl Config {
    /// Applies `cli` over this config over the defaults.
    pub fn resolve(&self, cli: &Overrides) -> Resolved {
        let d = TrainSettings::default();
        let t = &self.train;
        Resolved {
            data_cli: cli.data.clone(),
            data_config: self.data.dir.clone(),
            device: cli.device.or(t.device).unwrap_or_default(),
            settings: TrainSettings {
                epochs: cli.epochs.or(t.epochs).unwrap_or(d.epochs),
                learning_rate: cli.lr.or(t.lr).unwrap_or(d.learning_rate),
                batch_size: cli.batch_size.or(t.batch_size).unwrap_or(d.batch_size),
                pooling: cli.pooling.or(self.model.pooling).unwrap_or(d.pooling),
                activation: cli
                    .activation
                    .or(self.model.activation)
                    .unwrap_or(d.activation),
                seed: cli.seed.or(t.seed).unwrap_or(d.seed),
                reports_per_epoch: d.reports_per_epoch,
                pace: cli.pace.or(t.pace).unwrap_or(d.pace),
            },
        }
    }
}

impl Config {
    /// Where the data is and what its labels mean: `--data` over `--dataset` over
    /// `data.dir` over `data.dataset`; the class names from `--dataset`, else
    /// `data.classes`, else `data.dataset`, else Fashion-MNIST's.
    pub fn data(&self, cli: &Overrides) -> Result<(DataLocation, Labels), DataError> {
        let d = &self.data;
        let dataset = cli
            .dataset
            .or(d.dataset)
            .unwrap_or(KnownDataset::FashionMnist);
        let labels = match (cli.dataset, &d.classes) {
            (None, Some(names)) => Labels::Named(names.0.clone()),
            _ => Labels::Known(dataset),
        };
        let location = match (&cli.data, cli.dataset, &d.dir) {
            (Some(_), _, _) | (None, None, Some(_)) => {
                crate::data::source::resolve(cli.data.as_ref(), d.dir.as_ref())?
            }
            _ => crate::data::source::resolve_known(dataset)?,
        };
        Ok((location, labels))
    }
}

impl Overrides {
    /// The settings for a resumed run: the checkpoint's, with epochs, learning rate,
    /// pooling and activation from the command line where given. Batch size and seed
    /// cannot change: the saved position counts batches and replays shuffles.
    pub fn over_checkpoint(&self, saved: &TrainSettings) -> Result<TrainSettings, String> {
        if let Some(b) = self.batch_size
            && b != saved.batch_size
        {
            return Err(format!(
                "--batch-size {b} cannot change a resumed run: its position counts batches \
                 of {}",
                saved.batch_size
            ));
        }
        if let Some(seed) = self.seed
            && seed != saved.seed
        {
            return Err(format!(
                "--seed {seed} cannot change a resumed run: its shuffles follow seed {}",
                saved.seed
            ));
        }
        Ok(TrainSettings {
            epochs: self.epochs.unwrap_or(saved.epochs),
            learning_rate: self.lr.unwrap_or(saved.learning_rate),
            pooling: self.pooling.unwrap_or(saved.pooling),
            activation: self.activation.unwrap_or(saved.activation),
            pace: self.pace.unwrap_or(saved.pace),
            ..saved.clone()
        })
    }
}

impl Overrides {
    /// Refuses `--epochs` that leaves a resumed run nothing to train: fewer epochs
    /// than the checkpoint at `checkpoint` has trained (`at`), or just as many. Such a
    /// run would end as soon as it started, and look like success. `run` is what
    /// `lenet-tui replay` takes to show the run instead.
    pub fn check_epochs_left(&self, at: f64, checkpoint: &Path, run: &str) -> Result<(), String> {
        let Some(asked) = self.epochs else {
            return Ok(());
        };
        if f64::from(asked.get()) > at {
            return Ok(());
        }
        let done = if at.fract() == 0.0 {
            format!("{at:.0}")
        } else {
            format!("{at:.2}")
        };
        let epochs = if at == 1.0 { "epoch" } else { "epochs" };
        let nothing = if f64::from(asked.get()) == at {
            ", so there is nothing to train"
        } else {
            ""
        };
        // Ten more epochs: a round next step, kept within what --epochs takes.
        let more = (at.floor() as u32).saturating_add(10).min(Epochs::MAX);
        Err(format!(
            "--epochs {asked}: the run at {} has already trained {done} {epochs}{nothing}; ask \
             for more than {done} (e.g. --epochs {more}) to go on, or replay it with \
             lenet-tui replay {run}",
            checkpoint.display()
        ))
    }
}

impl HistorySection {
    /// How much of its past a run keeps, and whether it writes it to the run.
    pub fn policy(&self) -> crate::train::timeline::HistoryPolicy {
        crate::train::timeline::HistoryPolicy {
            memory_mb: self
                .memory_mb
                .map_or(crate::train::timeline::DEFAULT_MEMORY_MB, |m| m.0),
            file_mb: self
                .file_mb
                .map_or(crate::train::timeline::DEFAULT_FILE_MB, |m| m.0),
            save: self.save != Some(false),
        }
    }
}

impl CheckpointSection {
    /// Where runs go and how many checkpoints each keeps; `None` when turned off.
    pub fn policy(&self) -> Option<crate::train::CheckpointPolicy> {
        if self.enabled == Some(false) {
            return None;
        }
        Some(crate::train::CheckpointPolicy {
            runs_dir: self.runs_dir()?,
            keep: self
                .keep
                .map_or(crate::train::checkpoint::DEFAULT_KEEP, |k| k.0),
            run_name: None,
        })
    }

    /// `dir`, else `<data dir>/lenet-tui/runs`.
    pub fn runs_dir(&self) -> Option<PathBuf> {
        self.dir
            .clone()
            .or_else(crate::train::checkpoint::default_runs_dir)
    }
}
