//! What a training session starts from: which of the checkpoint being resumed, the
//! config file and the command line wins for the data, the model's layout and the
//! recipe. The decisions are plain functions of those three, unit-tested here;
//! [`start`] loads what they name and starts the trainer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::config::{self, Config, Overrides};
use crate::data::{self, DataSpec, Dataset, Labels};
use crate::device;
use crate::model::{Architecture, StepCost};
use crate::train::checkpoint::{self, Checkpoint, Meta, RaceDir, ResumeFrom, RunLock};
use crate::train::{self, CheckpointPolicy, Lane, TrainSettings, TrainerSpec};

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

/// What a command that trains fresh weights outside a run (`bench`, `lr-find`)
/// starts from: the settings resolved, the data, the device, and the configured model
/// for the data's images and classes, checked.
pub struct Fresh {
    /// The command line over the config over the defaults.
    pub resolved: config::Resolved,
    /// The data.
    pub dataset: Arc<Dataset>,
    /// The device opened.
    pub opened: device::OpenedDevice,
    /// The model's layout.
    pub architecture: Architecture,
}

/// The data, device and model `config` and `overrides` ask for; errors about the
/// model name where its layout came from (`config_file`, or the default one).
pub fn fresh(config: &Config, overrides: &Overrides, config_file: Option<&Path>) -> Result<Fresh> {
    let resolved = config.resolve(overrides);
    let (location, labels) = config.data(overrides)?;
    let dataset = Arc::new(Dataset::load_as(&location, &labels)?);
    let opened = device::open(resolved.device)?;
    let architecture = configured_model(config, &dataset);
    architecture
        .plan()
        .with_context(|| model_source(config_file))?;
    Ok(Fresh {
        resolved,
        dataset,
        opened,
        architecture,
    })
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
    /// `--race`: what each variant racing the base run changes.
    pub races: Vec<config::RaceSpec>,
    /// `--force`: train a model whose step is past [`StepLimit`] all the same.
    pub force: bool,
}

/// The most one training step may cost before a run is refused (unless forced): past
/// it one batch takes minutes, and until it ends nothing (a key, a pause, a checkpoint)
/// is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLimit {
    flops: f64,
    bytes: f64,
    device: &'static str,
}

impl StepLimit {
    /// The limit on a GPU or on the CPU. The chapter's step (batch 256) is 0.64 GFLOP;
    /// two CPU cores do about 50 GFLOP/s, so 1 TFLOP is some 20 s a batch; a GPU does
    /// a hundred times more.
    pub fn on(gpu: bool) -> Self {
        if gpu {
            Self {
                flops: 1e14,
                bytes: 32e9,
                device: "a GPU",
            }
        } else {
            Self {
                flops: 1e12,
                bytes: 8e9,
                device: "the CPU",
            }
        }
    }

    /// Whether a step of `cost` on batches of `batch` is within the limit; why not if not.
    pub fn check(&self, cost: &StepCost, batch: usize) -> Result<(), String> {
        if cost.flops <= self.flops && cost.bytes <= self.bytes {
            return Ok(());
        }
        Err(format!(
            "one training step of this model on a batch of {batch} takes about {} and {} \
             of activations (the chapter's LeNet: 0.64 GFLOP); on {} this program refuses \
             more than {} or {} a step, where a batch would take minutes and the run \
             would answer nothing meanwhile; make the model or the batch smaller, or \
             train it anyway with --force",
            format_flops(cost.flops),
            format_bytes(cost.bytes),
            self.device,
            format_flops(self.flops),
            format_bytes(self.bytes),
        ))
    }
}

fn format_flops(flops: f64) -> String {
    match flops {
        f if f >= 1e12 => format!("{:.1} TFLOP", f / 1e12),
        f => format!("{:.2} GFLOP", f / 1e9),
    }
}

fn format_bytes(bytes: f64) -> String {
    match bytes {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b => format!("{:.0} MB", b / 1e6),
    }
}

/// A started session.
pub struct Session {
    /// The data, shared with the trainer.
    pub dataset: Arc<Dataset>,
    /// The trainer threads: one, or a race's variants in order, each labelled.
    pub lanes: Vec<Lane>,
    /// A race's directory, where its variants' checkpoints go.
    pub race: Option<PathBuf>,
    /// What the user should know but that did not stop the start (a damaged newest
    /// checkpoint passed over).
    pub warnings: Vec<String>,
}

/// What `lenet-tui replay` takes for the run of `checkpoint`: its name in the runs
/// directory, else its path.
fn replay_name(checkpoint: &Path, config: &Config) -> String {
    let run = checkpoint.parent().unwrap_or(checkpoint);
    runs_dir(config)
        .ok()
        .and_then(|dir| run.strip_prefix(dir).ok().map(Path::to_path_buf))
        .filter(|name| name.iter().count() == 1)
        .map_or_else(
            || run.display().to_string(),
            |name| name.display().to_string(),
        )
}

/// One trainer to start: its variant label, recipe, layout, checkpoint to go on from
/// (with the lock that makes this process its run's owner), and run directory name
/// inside the race's.
struct LanePlan {
    label: Option<String>,
    settings: TrainSettings,
    architecture: Architecture,
    resume: Option<(Checkpoint, RunLock)>,
    dir: Option<String>,
}

/// What a session resumes: one run's checkpoint, or each variant's of a race.
enum Resumed {
    Run(Box<Checkpoint>),
    Race(RaceDir, Vec<Checkpoint>),
}

/// Finds and loads what `from` names: a race when it names a race directory, or when
/// `latest` is a race's variant (then every variant goes on).
fn resumed(from: &ResumeFrom, runs_dir: &Path, warnings: &mut Vec<String>) -> Result<Resumed> {
    let race = match from {
        ResumeFrom::Path(p) => RaceDir::open(p)?,
        ResumeFrom::Latest => {
            let newest = checkpoint::locate(from, runs_dir)?;
            newest.parent().map(RaceDir::of_run).transpose()?.flatten()
        }
    };
    let Some(race) = race else {
        let (c, warning) = checkpoint::load_resumable(from, runs_dir)?;
        warnings.extend(warning);
        return Ok(Resumed::Run(Box::new(c)));
    };
    let checkpoints = race
        .variants
        .iter()
        .map(|v| {
            let dir = ResumeFrom::Path(race.run_dir(v));
            let (c, warning) = checkpoint::load_resumable(&dir, runs_dir)
                .with_context(|| format!("variant `{}`", v.label))?;
            warnings.extend(warning.map(|w| format!("variant `{}`: {w}", v.label)));
            Ok(c)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Resumed::Race(race, checkpoints))
}

/// What a session goes on with: each run's checkpoint and lock, and a race's directory.
struct Resumption {
    checkpoints: Vec<(Checkpoint, RunLock)>,
    race: Option<RaceDir>,
}

/// Loads the checkpoint to resume, the data and the device, and starts the trainer
/// (or a race's trainers).
pub fn start(request: Request<'_>) -> Result<Session> {
    let resolved = request.config.resolve(&request.overrides);
    let mut warnings = Vec::new();
    let resumption = request
        .resume
        .map(|from| resume(&request, from, &mut warnings))
        .transpose()?;
    let meta = resumption
        .as_ref()
        .and_then(|r| r.checkpoints.first())
        .map(|(c, _)| &c.meta);
    let dataset = Arc::new(load_data(&request, meta)?);
    let opened = device::open(resolved.device)?;
    let (lanes, race_dir) = match resumption {
        Some(resumption) => resumed_lanes(&request, resumption, &dataset, &resolved.settings)?,
        None => new_lanes(&request, &dataset, resolved.settings)?,
    };
    if !request.force {
        check_step_costs(&lanes, opened.gpu.is_some(), request.config_file)?;
    }
    let config = request.config;
    let policy = config.checkpoints.policy();
    let specs = lanes
        .into_iter()
        .map(|lane| {
            let checkpoints = policy.clone().map(|p| match (&race_dir, &lane.dir) {
                (Some(race), Some(dir)) => CheckpointPolicy {
                    runs_dir: race.clone(),
                    run_name: Some(dir.clone()),
                    ..p
                },
                _ => p,
            });
            let (resume, lock) = lane
                .resume
                .map_or((None, None), |(c, l)| (Some(c), Some(l)));
            let spec = TrainerSpec {
                dataset: dataset.clone(),
                device: opened.clone(),
                architecture: lane.architecture,
                settings: lane.settings,
                checkpoints,
                resume,
                lock,
                history: config.history.policy(),
                turn: None,
            };
            (lane.label.unwrap_or_default(), spec)
        })
        .collect();
    Ok(Session {
        dataset,
        lanes: train::spawn_race(specs),
        race: race_dir,
        warnings,
    })
}

/// Finds what `--resume` names and takes each of its runs for this process (a second
/// process is refused before anything is loaded); refuses what cannot go with it.
fn resume(
    request: &Request<'_>,
    from: &ResumeFrom,
    warnings: &mut Vec<String>,
) -> Result<Resumption> {
    if !request.races.is_empty() {
        bail!(
            "--race starts a new race and --resume goes on with a saved run; a saved race \
             goes on with all its variants under --resume alone"
        );
    }
    let found = resumed(from, &runs_dir(request.config)?, warnings)
        .with_context(|| format!("cannot resume from {from}"))?;
    let (checkpoints, race) = match found {
        Resumed::Run(c) => (vec![*c], None),
        Resumed::Race(race, cs) => (cs, Some(race)),
    };
    let overrides = &request.overrides;
    if race.is_some()
        && let Some(flag) = [
            overrides.pooling.map(|_| "--pool"),
            overrides.activation.map(|_| "--act"),
            overrides.lr.map(|_| "--lr"),
        ]
        .into_iter()
        .flatten()
        .next()
    {
        bail!(
            "{flag} would set every variant of the race alike; a race goes on with its \
             variants' own settings (only --epochs, --pace, --device and --data apply)"
        );
    }
    let checkpoints = checkpoints
        .into_iter()
        .map(|c| {
            let lock = RunLock::acquire(c.dir.parent().unwrap_or(&c.dir))?;
            Ok((c, lock))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Resumption { checkpoints, race })
}

/// The data: a resumed run's own unless the command line says otherwise.
fn load_data(request: &Request<'_>, resumed: Option<&Meta>) -> Result<Dataset> {
    Ok(match data_choice(resumed, &request.overrides) {
        DataChoice::Checkpoint(spec, labels) => {
            Dataset::load_as(&data::source::resolve(Some(&spec), None)?, &labels)?
        }
        DataChoice::Configured => {
            let (location, labels) = request.config.data(&request.overrides)?;
            Dataset::load_as(&location, &labels)?
        }
    })
}

/// The configured model for `dataset`'s images and classes.
fn configured_model(config: &Config, dataset: &Dataset) -> Architecture {
    let (rows, cols) = (dataset.train.rows, dataset.train.cols);
    config.model.architecture(rows, cols, dataset.classes.len())
}

/// A new run's trainer, or a new race's (its directory made); and that directory.
fn new_lanes(
    request: &Request<'_>,
    dataset: &Dataset,
    recipe: TrainSettings,
) -> Result<(Vec<LanePlan>, Option<PathBuf>)> {
    let config = request.config;
    let architecture = configured_model(config, dataset);
    architecture
        .plan()
        .with_context(|| model_source(request.config_file))?;
    let settings = settings(None, &request.overrides, recipe, request.reports_per_epoch)
        .map_err(anyhow::Error::msg)?;
    let file = request
        .config_file
        .map(Path::to_path_buf)
        .or_else(config::default_path);
    let given = config::race::given_specs(&request.races, &config.race, file.as_deref())
        .map_err(anyhow::Error::msg)?;
    if given.is_empty() {
        let lane = LanePlan {
            label: None,
            settings,
            architecture,
            resume: None,
            dir: None,
        };
        return Ok((vec![lane], None));
    }
    let dims = (
        dataset.train.rows,
        dataset.train.cols,
        dataset.classes.len(),
    );
    let variants = config::variants::variants(&settings, &architecture, &given, dims)
        .map_err(anyhow::Error::msg)?;
    let labels: Vec<String> = variants.iter().map(|v| v.label.clone()).collect();
    let race = match config.checkpoints.policy() {
        Some(p) => Some(RaceDir::create(&p.runs_dir, &labels)?),
        None => None,
    };
    let lanes = variants
        .into_iter()
        .enumerate()
        .map(|(i, v)| LanePlan {
            label: Some(v.label),
            settings: v.settings,
            architecture: v.architecture,
            resume: None,
            dir: race.as_ref().map(|r| r.variants[i].dir.clone()),
        })
        .collect();
    Ok((lanes, race.map(|r| r.path)))
}

/// The trainers that go on with a resumed run, or with each variant of a resumed race;
/// and the race's directory.
fn resumed_lanes(
    request: &Request<'_>,
    resumption: Resumption,
    dataset: &Dataset,
    recipe: &TrainSettings,
) -> Result<(Vec<LanePlan>, Option<PathBuf>)> {
    let config = request.config;
    let Resumption { checkpoints, race } = resumption;
    let mut lanes = Vec::new();
    for (i, (c, lock)) in checkpoints.into_iter().enumerate() {
        let architecture = architecture(
            Some(&c.meta),
            config.model.sets_layout(),
            configured_model(config, dataset),
        );
        architecture
            .plan()
            .with_context(|| model_source(request.config_file))?;
        c.check_fits(&architecture, dataset)?;
        let entry = race.as_ref().map(|r| &r.variants[i]);
        request
            .overrides
            .check_epochs_left(c.meta.position.at(), &c.dir, &replay_name(&c.dir, config))
            .map_err(|why| match entry {
                Some(e) => anyhow::anyhow!("variant `{}`: {why}", e.label),
                None => anyhow::anyhow!(why),
            })?;
        let settings = settings(
            Some(&c.meta),
            &request.overrides,
            recipe.clone(),
            request.reports_per_epoch,
        )
        .map_err(anyhow::Error::msg)?;
        lanes.push(LanePlan {
            label: entry.map(|e| e.label.clone()),
            settings,
            architecture,
            resume: Some((c, lock)),
            dir: entry.map(|e| e.dir.clone()),
        });
    }
    Ok((lanes, race.map(|r| r.path)))
}

/// Refuses a lane whose one training step is past [`StepLimit`] on this device.
fn check_step_costs(
    lanes: &[LanePlan],
    gpu: bool,
    config_file: Option<&std::path::Path>,
) -> Result<()> {
    let limit = StepLimit::on(gpu);
    for lane in lanes {
        let batch = lane.settings.batch_size.as_usize();
        let cost = lane.architecture.step_cost(batch)?;
        limit.check(&cost, batch).map_err(|why| match &lane.label {
            Some(label) => anyhow::anyhow!("variant `{label}`: {why}"),
            None => anyhow::anyhow!("{}: {why}", model_source(config_file)),
        })?;
    }
    Ok(())
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
