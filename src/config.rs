//! The TOML config file and how it merges with the command line: command line beats
//! config file beats the chapter's defaults. Every error names the file, line, column
//! and key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::download::Mirror;
use crate::data::{DataError, DataLocation, DataSpec, KnownDataset, Labels};
use crate::device::DeviceChoice;
use crate::model::{Activation, Architecture, ConvBlock, Init, Pooling};
use crate::train::{BatchSize, Epochs, LearningRate, TrainSettings};
use crate::ui::keys::KeyMap;
use crate::ui::theme::{ChartMarker, ColorChoice, ThemeKind};

/// The config file's contents; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[data]`.
    #[serde(default)]
    pub data: DataSection,
    /// `[train]`.
    #[serde(default)]
    pub train: TrainSection,
    /// `[model]`.
    #[serde(default)]
    pub model: ModelSection,
    /// `[ui]`.
    #[serde(default)]
    pub ui: UiSection,
    /// `[capture]`.
    #[serde(default)]
    pub capture: CaptureSection,
    /// `[checkpoints]`.
    #[serde(default)]
    pub checkpoints: CheckpointSection,
    /// `[keys]`: action = key or [keys].
    #[serde(default)]
    pub keys: Option<KeyBindings>,
}

/// `[ui]`: how the dashboard looks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    /// `dark` or `light`.
    pub theme: Option<ThemeKind>,
    /// `auto`, `truecolor`, `256`, `16` or `none`.
    pub color: Option<ColorChoice>,
    /// `braille`, `dot` or `block`.
    pub marker: Option<ChartMarker>,
    /// Kilobytes a second of terminal output that routine heatmap refreshes keep
    /// within; 0 for no limit.
    pub max_output_kb: Option<OutputLimit>,
}

/// Terminal output budget in kilobytes a second, 0 (no limit) to 1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct OutputLimit(pub u32);

impl OutputLimit {
    /// The dashboard's own default (8 KB/s).
    pub const DEFAULT: OutputLimit = OutputLimit(crate::ui::budget::DEFAULT_KB_PER_SEC);

    /// The budget in bytes a second, `None` for no limit.
    pub fn bytes_per_sec(self) -> Option<f64> {
        (self.0 > 0).then(|| f64::from(self.0) * 1000.0)
    }
}

impl TryFrom<i64> for OutputLimit {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<0, 1_000_000>::try_from(v)
            .map(|kb| OutputLimit(kb.0 as u32))
            .map_err(|e| {
                format!(
                    "the output budget must be between 0 (no limit) and {} KB/s, got {}",
                    e.hi, e.got
                )
            })
    }
}

/// `[capture]`: screenshots, recordings and figures.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    /// Where capture files go.
    #[serde(default, deserialize_with = "de_path")]
    pub dir: Option<PathBuf>,
    /// PNG scale, 1 to 8.
    pub png_scale: Option<PngScale>,
}

/// A PNG scale factor: 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct PngScale(pub u32);

impl TryFrom<i64> for PngScale {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<1, 8>::try_from(v)
            .map(|s| PngScale(s.0 as u32))
            .map_err(|e| format!("png scale {e}"))
    }
}

/// The `[keys]` table, checked into a full keymap while the file is parsed, so that
/// a bad key is reported with its line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "BTreeMap<String, OneOrMany>")]
pub struct KeyBindings(pub KeyMap);

/// A key, or a list of keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `pause = "space"`.
    One(String),
    /// `lr_up = ["+", "="]`.
    Many(Vec<String>),
}

impl TryFrom<BTreeMap<String, OneOrMany>> for KeyBindings {
    type Error = String;
    fn try_from(table: BTreeMap<String, OneOrMany>) -> Result<Self, Self::Error> {
        let table = table
            .into_iter()
            .map(|(k, v)| match v {
                OneOrMany::One(key) => (k, vec![key]),
                OneOrMany::Many(keys) => (k, keys),
            })
            .collect();
        KeyMap::with_overrides(&table).map(KeyBindings)
    }
}

/// `[checkpoints]`: where runs are saved and how many checkpoints each keeps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSection {
    /// `false` trains without writing checkpoints.
    pub enabled: Option<bool>,
    /// The directory holding one directory per run.
    #[serde(default, deserialize_with = "de_path")]
    pub dir: Option<PathBuf>,
    /// Checkpoints kept per run (the newest), 1 to 1000.
    pub keep: Option<Keep>,
}

/// Checkpoints kept per run: 1 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Keep(pub usize);

impl TryFrom<i64> for Keep {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<1, 1000>::try_from(v)
            .map(|k| Keep(k.0))
            .map_err(|e| {
                format!(
                    "checkpoints kept per run {e} (use `enabled = false` to turn checkpoints off)"
                )
            })
    }
}

/// `[data]`: where the data set is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// A directory with the four IDX files, or `embedded`.
    #[serde(default, deserialize_with = "de_data_spec")]
    pub dir: Option<DataSpec>,
    /// `[data.mirror]`: where `data download` fetches each data set from.
    #[serde(default)]
    pub mirror: MirrorSection,
    /// Which known data set to train on: `fashion-mnist` (default) or `mnist`.
    pub dataset: Option<KnownDataset>,
    /// Class names in label order, for a directory of another data set.
    pub classes: Option<ClassNames>,
}

/// `data.classes`: 2 to 1000 distinct, non-empty names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct ClassNames(pub Vec<String>);

impl TryFrom<Vec<String>> for ClassNames {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        if !(2..=1000).contains(&names.len()) {
            return Err(format!("needs 2 to 1000 class names, got {}", names.len()));
        }
        if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
            return Err(format!("class {i} has an empty name"));
        }
        for (i, name) in names.iter().enumerate() {
            if let Some(j) = names[..i].iter().position(|n| n == name) {
                return Err(format!("classes {j} and {i} are both named `{name}`"));
            }
        }
        Ok(ClassNames(names))
    }
}

/// `[data.mirror]`: a mirror URL per known data set, keyed by its command-line name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorSection {
    /// Fashion-MNIST's mirror.
    #[serde(rename = "fashion-mnist")]
    pub fashion_mnist: Option<Mirror>,
    /// MNIST's mirror.
    pub mnist: Option<Mirror>,
}

impl MirrorSection {
    /// The mirror set for `dataset`, if any.
    pub fn get(&self, dataset: KnownDataset) -> Option<&Mirror> {
        match dataset {
            KnownDataset::FashionMnist => self.fashion_mnist.as_ref(),
            KnownDataset::Mnist => self.mnist.as_ref(),
        }
    }
}

/// `[train]`: the recipe.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Epochs to train.
    pub epochs: Option<Epochs>,
    /// SGD learning rate.
    pub lr: Option<LearningRate>,
    /// Examples per minibatch.
    pub batch_size: Option<BatchSize>,
    /// Seed for weights and shuffling.
    pub seed: Option<u64>,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: Option<DeviceChoice>,
}

/// `[model]`: the network's layout, and the pieces that can also be swapped live.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `avg` or `max`.
    pub pooling: Option<Pooling>,
    /// `sigmoid` or `relu`.
    pub activation: Option<Activation>,
    /// `[[model.conv]]` blocks in order; the chapter's two when absent.
    pub conv: Option<Layers<ConvSection>>,
    /// Hidden dense layer widths in order; the chapter's `[120, 84]` when absent.
    pub dense: Option<Layers<Bounded<1, 65536>>>,
    /// How weights are drawn.
    pub init: Option<InitSetting>,
}

/// The most conv blocks or hidden dense layers a model may have.
const MAX_LAYERS: usize = 8;

/// A list of layers, at most [`MAX_LAYERS`] long.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Vec<T>", bound = "T: Deserialize<'de>")]
pub struct Layers<T>(pub Vec<T>);

impl<T> TryFrom<Vec<T>> for Layers<T> {
    type Error = String;
    fn try_from(v: Vec<T>) -> Result<Self, Self::Error> {
        if v.len() <= MAX_LAYERS {
            Ok(Layers(v))
        } else {
            Err(format!("at most {MAX_LAYERS} layers, got {}", v.len()))
        }
    }
}

/// `[[model.conv]]`: one convolution block (conv → activation → pooling).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvSection {
    /// Output channels.
    pub channels: Bounded<1, 512>,
    /// Square kernel side.
    pub kernel: Bounded<1, 31>,
    /// Zero padding on each side (default 0).
    pub padding: Option<Bounded<0, 15>>,
    /// Step between kernel positions (default 1).
    pub stride: Option<Bounded<1, 8>>,
    /// Pooling window side and step; 1 for no pooling (default 2).
    pub pool: Option<Bounded<1, 8>>,
}

/// An integer setting within `LO..=HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Bounded<const LO: i64, const HI: i64>(pub usize);

impl<const LO: i64, const HI: i64> TryFrom<i64> for Bounded<LO, HI> {
    type Error = OutOfRange;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        if (LO..=HI).contains(&v) {
            Ok(Bounded(v as usize))
        } else {
            Err(OutOfRange {
                lo: LO,
                hi: HI,
                got: v,
            })
        }
    }
}

/// An integer setting outside its range: the one range check every bounded setting
/// goes through; named settings put their own words around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between {lo} and {hi}, got {got}")]
pub struct OutOfRange {
    /// The smallest value allowed.
    pub lo: i64,
    /// The largest value allowed.
    pub hi: i64,
    /// The value given.
    pub got: i64,
}

/// `init = "xavier-uniform" | "xavier-normal" | "kaiming" | "normal(SIGMA)"`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct InitSetting(pub Init);

impl TryFrom<String> for InitSetting {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(InitSetting)
    }
}

impl ModelSection {
    /// Whether this section changes the layout or initialisation (not just the
    /// pieces that can be swapped live).
    pub fn sets_layout(&self) -> bool {
        self.conv.is_some() || self.dense.is_some() || self.init.is_some()
    }

    /// The network for `height`×`width` images of `classes` classes: the chapter's
    /// LeNet with whatever this section changes. Shapes are checked by
    /// [`Architecture::plan`], not here.
    pub fn architecture(&self, height: usize, width: usize, classes: usize) -> Architecture {
        let mut arch = Architecture::lenet(height, width, classes);
        if let Some(convs) = &self.conv {
            arch.convs = convs
                .0
                .iter()
                .map(|c| ConvBlock {
                    out_channels: c.channels.0,
                    kernel: c.kernel.0,
                    padding: c.padding.map_or(0, |p| p.0),
                    stride: c.stride.map_or(1, |s| s.0),
                    pool: c.pool.map_or(2, |p| p.0),
                })
                .collect();
        }
        if let Some(dense) = &self.dense {
            arch.dense = dense.0.iter().map(|d| d.0).collect();
        }
        if let Some(init) = self.init {
            arch.init = init.0;
        }
        arch
    }
}

fn de_data_spec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DataSpec>, D::Error> {
    let s = String::deserialize(d)?;
    match s.parse().map_err(serde::de::Error::custom)? {
        DataSpec::Dir(dir) => Ok(Some(DataSpec::Dir(expand_home(dir)))),
        spec => Ok(Some(spec)),
    }
}

fn de_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let path = PathBuf::deserialize(d)?;
    if path.as_os_str().is_empty() {
        return Err(serde::de::Error::custom(
            "expected a directory, got an empty string",
        ));
    }
    Ok(Some(expand_home(path)))
}

/// `~/x` → `<home>/x`, as a shell would; other paths as they are.
fn expand_home(path: PathBuf) -> PathBuf {
    match (path.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => path,
    }
}

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// Dotted key, e.g. `train.lr`, when the problem has one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where the user's config file lives: `<config dir>/lenet-tui/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lenet-tui").map(|d| d.config_dir().join("config.toml"))
}

/// Reads `explicit` (which must exist) or else the default file (which may not).
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.is_file() => p,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        file: path.clone(),
        position: None,
        key: None,
        message: format!("cannot read config file: {e}"),
    })?;
    parse(&text, &path)
}

/// Parses config text; `file` only names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: &str| {
        ConfigError {
            file: file.to_path_buf(),
            position: span.map(|s| line_column(text, s.start)),
            key,
            // toml's messages may span lines; keep errors to one.
            message: message.trim().replace('\n', " "),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| error(e.span(), None, e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let key = (path != "." && !path.is_empty()).then_some(path);
        let inner = e.into_inner();
        error(inner.span(), key, inner.message())
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

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
            ..saved.clone()
        })
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
        })
    }

    /// `dir`, else `<data dir>/lenet-tui/runs`.
    pub fn runs_dir(&self) -> Option<PathBuf> {
        self.dir
            .clone()
            .or_else(crate::train::checkpoint::default_runs_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("c.toml")).unwrap_err().to_string()
    }

    #[test]
    fn the_example_config_parses_to_the_defaults() {
        let text = include_str!("../config.example.toml");
        let cfg = parse(text, Path::new("config.example.toml")).unwrap();
        let resolved = cfg.resolve(&Overrides::default());
        assert_eq!(resolved.settings, TrainSettings::default());
        assert_eq!(resolved.device, DeviceChoice::Auto);
    }

    #[test]
    fn command_line_beats_config_beats_defaults() {
        let cfg = parse("[train]\nlr = 0.5\nepochs = 3\n", Path::new("c.toml")).unwrap();
        let cli = Overrides {
            lr: Some("0.1".parse().unwrap()),
            ..Default::default()
        };
        let r = cfg.resolve(&cli);
        assert_eq!(r.settings.learning_rate.get(), 0.1);
        assert_eq!(r.settings.epochs.get(), 3);
        assert_eq!(r.settings.batch_size.get(), 256);
    }

    #[test]
    fn a_tilde_means_the_home_directory() {
        let cfg = parse(
            "[checkpoints]\ndir = \"~/runs\"\n[capture]\ndir = \"/tmp/x\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let home = directories::BaseDirs::new()
            .unwrap()
            .home_dir()
            .to_path_buf();
        assert_eq!(cfg.checkpoints.dir, Some(home.join("runs")));
        assert_eq!(cfg.capture.dir, Some(PathBuf::from("/tmp/x")));
        let e = parse("[checkpoints]\ndir = \"\"\n", Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string()
                .contains("key `checkpoints.dir`: expected a directory"),
            "{e}"
        );
    }

    #[test]
    fn a_resumed_run_keeps_its_batch_size_and_seed() {
        let saved = TrainSettings {
            epochs: "3".parse().unwrap(),
            ..TrainSettings::default()
        };
        let cli = Overrides {
            epochs: Some("20".parse().unwrap()),
            pooling: Some(Pooling::Max),
            ..Default::default()
        };
        let s = cli.over_checkpoint(&saved).unwrap();
        assert_eq!((s.epochs.get(), s.pooling), (20, Pooling::Max));
        assert_eq!(s.learning_rate, saved.learning_rate);
        let cli = Overrides {
            batch_size: Some("64".parse().unwrap()),
            ..Default::default()
        };
        let e = cli.over_checkpoint(&saved).unwrap_err();
        assert!(e.contains("batches of 256"), "{e}");
        let e = parse("[checkpoints]\nkeep = 0\n", Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.toml:2:8: key `checkpoints.keep`: checkpoints kept per run"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        assert_eq!(
            err("[train]\nlr = -1.0\n"),
            "c.toml:2:6: key `train.lr`: learning rate must be a finite number > 0, got -1"
        );
        assert_eq!(
            err("[train]\nbatch_size = 0\n"),
            "c.toml:2:14: key `train.batch_size`: batch size must be between 1 and 65536, got 0"
        );
        let e = err("[train]\nepochs = \"ten\"\n");
        assert!(
            e.starts_with("c.toml:2:10: key `train.epochs`: invalid type"),
            "{e}"
        );
        let e = err("[model]\npooling = \"min\"\n");
        assert!(e.starts_with("c.toml:2:11: key `model.pooling`"), "{e}");
        assert!(e.contains("expected `avg` or `max`"), "{e}");
        let e = err("[train]\nlearning_rate = 0.1\n");
        assert!(
            e.starts_with("c.toml:2:1: key `train.learning_rate`: unknown field"),
            "{e}"
        );
        assert!(e.contains("`lr`"), "lists the allowed keys: {e}");
        let e = err("[keys]\npause = \"p\"\n");
        assert!(
            e.starts_with("c.toml:1:1: key `keys`: keys.pause: p is already bound"),
            "{e}"
        );
        let e = err("[ui]\ncolor = \"purple\"\n");
        assert!(
            e.starts_with("c.toml:2:9: key `ui.color`: `purple` is not a colour setting"),
            "{e}"
        );
        let e = err("[data.mirror]\nmnist = \"ftp://example.org/\"\n");
        assert!(
            e.starts_with(
                "c.toml:2:9: key `data.mirror.mnist`: `ftp://example.org/` is not a mirror URL"
            ),
            "{e}"
        );
        let e = err("[data.mirror]\nkmnist = \"http://example.org/\"\n");
        assert!(
            e.ends_with("unknown field `kmnist`, expected `fashion-mnist` or `mnist`"),
            "lists the data sets: {e}"
        );
        let e = err("[train\n");
        assert!(e.starts_with("c.toml:1:"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
