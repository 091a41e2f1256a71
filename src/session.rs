//! What a training session starts from: which of the checkpoint being resumed, the
//! config file and the command line wins for the data, the model's layout and the
//! recipe. The decisions are plain functions of those three, unit-tested here;
//! [`start`] loads what they name and starts the trainer.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::config::{self, Config, Overrides};
use crate::data::{self, DataSpec, Dataset, Labels};
use crate::device;
use crate::model::Architecture;
use crate::train::checkpoint::{self, Checkpoint, Meta, ResumeFrom};
use crate::train::{self, TrainSettings, TrainerHandle, TrainerSpec};

/// Where a session's data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataChoice {
    /// A resumed run reads the data it was trained on, with its class names.
    Checkpoint(DataSpec, Labels),
    /// The command line, the config file, or the usual places.
    Configured,
}

/// A resumed run keeps its data unless `--data` or `--dataset` says otherwise.
pub fn data_choice(resumed: Option<&Meta>, overrides: &Overrides) -> DataChoice {
    match resumed {
        Some(m) if overrides.data.is_none() && overrides.dataset.is_none() => {
            let spec = match &m.data.dir {
                Some(dir) => DataSpec::Dir(dir.clone()),
                None => DataSpec::Embedded,
            };
            DataChoice::Checkpoint(spec, Labels::from_names(&m.data.classes))
        }
        _ => DataChoice::Configured,
    }
}

/// A resumed run keeps the model it was trained with, unless the config sets a
/// layout (which [`Checkpoint::check_fits`] then refuses if it differs).
pub fn architecture(
    resumed: Option<&Meta>,
    config_sets_layout: bool,
    configured: Architecture,
) -> Architecture {
    match resumed {
        Some(m) if !config_sets_layout => m.architecture.clone(),
        _ => configured,
    }
}

/// The recipe: a resumed run's, with the command line over it (batch size and seed
/// cannot change); otherwise the command line over the config over the defaults.
pub fn settings(
    resumed: Option<&Meta>,
    overrides: &Overrides,
    resolved: TrainSettings,
    reports_per_epoch: u32,
) -> Result<TrainSettings, String> {
    let mut settings = match resumed {
        Some(m) => overrides.over_checkpoint(&m.settings)?,
        None => resolved,
    };
    settings.reports_per_epoch = reports_per_epoch;
    Ok(settings)
}

/// Where the model's layout came from, for errors about it: the config file given,
/// the default one if it exists, or the built-in model.
pub fn model_source(config_file: Option<&std::path::Path>) -> String {
    match config_file {
        Some(path) => format!("the [model] in {}", path.display()),
        None => match config::default_path() {
            Some(p) if p.is_file() => format!("the [model] in {}", p.display()),
            _ => "the default model".into(),
        },
    }
}

/// What the user asked a session to start from.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The config file.
    pub config: &'a Config,
    /// The config file's path, when given on the command line (for messages).
    pub config_file: Option<&'a std::path::Path>,
    /// The command line's values.
    pub overrides: Overrides,
    /// `--resume`.
    pub resume: Option<&'a ResumeFrom>,
    /// Progress reports per epoch.
    pub reports_per_epoch: u32,
}

/// A started session.
pub struct Session {
    /// The data, shared with the trainer.
    pub dataset: Arc<Dataset>,
    /// The trainer thread.
    pub trainer: TrainerHandle,
    /// What the user should know but that did not stop the start (a damaged newest
    /// checkpoint passed over).
    pub warnings: Vec<String>,
}

/// Loads the checkpoint to resume, the data and the device, and starts the trainer.
pub fn start(request: Request<'_>) -> Result<Session> {
    let Request {
        config,
        config_file,
        overrides,
        resume,
        reports_per_epoch,
    } = request;
    let resolved = config.resolve(&overrides);
    let mut warnings = Vec::new();
    let resume = resume
        .map(|from| -> Result<Checkpoint> {
            let (checkpoint, warning) = checkpoint::load_resumable(from, &runs_dir(config)?)
                .with_context(|| format!("cannot resume from {from}"))?;
            warnings.extend(warning);
            Ok(checkpoint)
        })
        .transpose()?;
    let meta = resume.as_ref().map(|c| &c.meta);
    let dataset = Arc::new(match data_choice(meta, &overrides) {
        DataChoice::Checkpoint(spec, labels) => {
            Dataset::load_as(&data::source::resolve(Some(&spec), None)?, &labels)?
        }
        DataChoice::Configured => {
            let (location, labels) = config.data(&overrides)?;
            Dataset::load_as(&location, &labels)?
        }
    });
    let configured = config.model.architecture(
        dataset.train.rows,
        dataset.train.cols,
        dataset.classes.len(),
    );
    let architecture = architecture(meta, config.model.sets_layout(), configured);
    architecture
        .plan()
        .with_context(|| model_source(config_file))?;
    let opened = device::open(resolved.device)?;
    if let Some(c) = &resume {
        c.check_fits(&architecture, &dataset)?;
    }
    let settings = settings(meta, &overrides, resolved.settings, reports_per_epoch)
        .map_err(anyhow::Error::msg)?;
    let trainer = train::spawn(TrainerSpec {
        dataset: dataset.clone(),
        device: opened,
        architecture,
        settings,
        checkpoints: config.checkpoints.policy(),
        resume,
        history: config.history.policy(),
    });
    Ok(Session {
        dataset,
        trainer,
        warnings,
    })
}

/// Where saved runs are, or why there is nowhere.
pub fn runs_dir(config: &Config) -> Result<PathBuf> {
    config
        .checkpoints
        .runs_dir()
        .context("no data directory for saved runs; set checkpoints.dir")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConvBlock, Pooling};
    use crate::train::checkpoint::{DataFacts, FORMAT, Position, WeightsFacts};
    use crate::train::{Epochs, History, SaveReason};

    fn saved(dir: Option<&str>) -> Meta {
        let settings = TrainSettings {
            pooling: Pooling::Max,
            seed: 7,
            ..TrainSettings::default()
        };
        Meta {
            format: FORMAT,
            program: "lenet-tui test".into(),
            saved_at: String::new(),
            reason: SaveReason::EpochEnd,
            architecture: Architecture {
                convs: vec![ConvBlock::new(8, 3, 1)],
                ..Architecture::default()
            },
            settings,
            position: Position::start(10),
            data: DataFacts {
                description: "test".into(),
                dir: dir.map(PathBuf::from),
                train_examples: 10,
                test_examples: 10,
                classes: vec!["a".into(), "b".into()],
            },
            history: History::default(),
            weights: WeightsFacts { bytes: 0, crc32: 0 },
            rng: crate::rng::ALGORITHM.into(),
        }
    }

    #[test]
    fn a_resumed_run_keeps_its_data_unless_told_otherwise() {
        let m = saved(Some("/data/fm"));
        let none = Overrides::default();
        assert_eq!(
            data_choice(Some(&m), &none),
            DataChoice::Checkpoint(
                DataSpec::Dir("/data/fm".into()),
                Labels::from_names(&["a".into(), "b".into()])
            )
        );
        assert!(matches!(
            data_choice(Some(&saved(None)), &none),
            DataChoice::Checkpoint(DataSpec::Embedded, _)
        ));
        let told = Overrides {
            data: Some(DataSpec::Embedded),
            ..Overrides::default()
        };
        assert_eq!(data_choice(Some(&m), &told), DataChoice::Configured);
        assert_eq!(data_choice(None, &none), DataChoice::Configured);
    }

    #[test]
    fn a_resumed_run_keeps_its_model_unless_the_config_sets_one() {
        let m = saved(None);
        let configured = Architecture::default();
        assert_eq!(
            architecture(Some(&m), false, configured.clone()),
            m.architecture
        );
        assert_eq!(architecture(Some(&m), true, configured.clone()), configured);
        assert_eq!(architecture(None, false, configured.clone()), configured);
    }

    #[test]
    fn the_command_line_goes_over_the_checkpoint_but_not_its_batches() {
        let m = saved(None);
        let epochs = Epochs::try_from(30i64).unwrap();
        let over = Overrides {
            epochs: Some(epochs),
            ..Overrides::default()
        };
        let s = settings(Some(&m), &over, TrainSettings::default(), 40).unwrap();
        assert_eq!(s.epochs, epochs);
        assert_eq!(s.pooling, Pooling::Max, "kept from the checkpoint");
        assert_eq!(s.seed, 7);
        assert_eq!(s.reports_per_epoch, 40);
        let reseeded = Overrides {
            seed: Some(8),
            ..Overrides::default()
        };
        let err = settings(Some(&m), &reseeded, TrainSettings::default(), 5).unwrap_err();
        assert!(
            err.contains("--seed 8 cannot change a resumed run"),
            "{err}"
        );
        let fresh = settings(None, &over, TrainSettings::default(), 5).unwrap();
        assert_eq!(
            fresh,
            TrainSettings {
                reports_per_epoch: 5,
                ..TrainSettings::default()
            }
        );
    }
}
