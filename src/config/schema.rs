//! The config file's shape: its sections and keys, and the checks each value gets
//! while it is parsed (ranges, names, layouts), so every error has its line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::data::download::Mirror;
use crate::data::{DataSpec, KnownDataset};
use crate::device::DeviceChoice;
use crate::model::{Activation, Architecture, ConvBlock, Pooling};
use crate::train::{BatchSize, Epochs, LearningRate, Pace};
use crate::ui::keys::KeyMap;
use crate::ui::theme::{ChartMarker, ColorChoice, HeatmapColours, ThemeKind};

use super::values::*;

/// The config file's contents; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[data]`.
    #[serde(default, deserialize_with = "de_table")]
    pub data: DataSection,
    /// `[train]`.
    #[serde(default, deserialize_with = "de_table")]
    pub train: TrainSection,
    /// `[model]`.
    #[serde(default, deserialize_with = "de_table")]
    pub model: ModelSection,
    /// `[ui]`.
    #[serde(default, deserialize_with = "de_table")]
    pub ui: UiSection,
    /// `[capture]`.
    #[serde(default, deserialize_with = "de_table")]
    pub capture: CaptureSection,
    /// `[checkpoints]`.
    #[serde(default, deserialize_with = "de_table")]
    pub checkpoints: CheckpointSection,
    /// `[history]`.
    #[serde(default, deserialize_with = "de_table")]
    pub history: HistorySection,
    /// `[run]`.
    #[serde(default, deserialize_with = "de_table")]
    pub run: RunSection,
    /// `[keys]`: action = key or [keys].
    #[serde(default, deserialize_with = "de_keys")]
    pub keys: Option<KeyBindings>,
    /// `[[race]]`: variants that train beside the base run (`--race` replaces them).
    #[serde(default, deserialize_with = "de_tables")]
    pub race: Vec<super::race::RaceSpec>,
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
    /// `inferno` or `grey`: the heatmaps' colour map.
    pub heatmap: Option<HeatmapColours>,
    /// Kilobytes a second of terminal output that routine heatmap refreshes keep
    /// within; 0 for no limit.
    pub max_output_kb: Option<OutputLimit>,
    /// The charts' smoothing, 0 to 0.99 (`m` steps through 0, 0.6, 0.9).
    pub smoothing: Option<crate::ui::chart_view::Smoothing>,
}

/// `[run]`: what a run does when its terminal goes away.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// `go-on` (train on detached, `lenet-tui attach` brings it back) or `stop`
    /// (save a checkpoint and end).
    pub on_hangup: Option<OnHangup>,
}

/// What a dashboard's run does when its terminal goes away (SSH drop, SIGHUP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnHangup {
    /// Save a checkpoint and train on, detached.
    #[default]
    GoOn,
    /// Save a checkpoint and end.
    Stop,
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

/// `[history]`: the weight snapshots kept for looking back and for replay.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySection {
    /// Megabytes the snapshots keep within, 1 to 4096.
    pub memory_mb: Option<HistoryMemory>,
    /// Megabytes the saved `history/` keeps within, 1 to 4096.
    pub file_mb: Option<HistoryMemory>,
    /// `false` keeps them for looking back but writes no `history/` to the run.
    pub save: Option<bool>,
}

/// `[data]`: where the data set is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// A directory with the four IDX files, or `embedded`.
    #[serde(default, deserialize_with = "de_data_spec")]
    pub dir: Option<DataSpec>,
    /// `[data.mirror]`: where `data download` fetches each data set from.
    #[serde(default, deserialize_with = "de_table")]
    pub mirror: MirrorSection,
    /// Which known data set to train on: `fashion-mnist` (default) or `mnist`.
    pub dataset: Option<KnownDataset>,
    /// Class names in label order, for a directory of another data set.
    pub classes: Option<ClassNames>,
    /// The user's own images (`FILE` or `FILE=CLASS`), first in the image list.
    #[serde(default, deserialize_with = "de_images")]
    pub images: Vec<String>,
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
    /// `"full"` or training examples a second.
    #[serde(default, deserialize_with = "de_pace")]
    pub pace: Option<Pace>,
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

fn de_images<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let specs = Vec::<String>::deserialize(d)?;
    if specs.iter().any(|s| s.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "expected image files, got an empty string",
        ));
    }
    Ok(specs
        .into_iter()
        .map(|s| expand_home(PathBuf::from(s)).to_string_lossy().into_owned())
        .collect())
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

/// A table's header as a config file writes it, for the error when a key that must
/// be that table is something else (`train = 5`).
trait Section {
    /// `[train]`, `[data.mirror]`, `[[race]]`, …
    const HEADER: &'static str;
}

macro_rules! sections {
    ($($t:ty => $header:literal),* $(,)?) => {
        $(impl Section for $t {
            const HEADER: &'static str = $header;
        })*
    };
}

sections! {
    DataSection => "[data]",
    MirrorSection => "[data.mirror]",
    TrainSection => "[train]",
    ModelSection => "[model]",
    UiSection => "[ui]",
    CaptureSection => "[capture]",
    CheckpointSection => "[checkpoints]",
    HistorySection => "[history]",
    RunSection => "[run]",
    KeyBindings => "[keys]",
    super::race::RaceSpec => "[[race]]",
}

/// What a TOML value is, as errors name it: `an integer`, `a string`, …
fn kind(unexpected: serde::de::Unexpected<'_>) -> String {
    use serde::de::Unexpected as U;
    match unexpected {
        U::Signed(_) | U::Unsigned(_) => "an integer".into(),
        U::Float(_) => "a float".into(),
        U::Bool(_) => "a boolean".into(),
        U::Str(_) | U::Char(_) => "a string".into(),
        U::Seq => "an array".into(),
        U::Map => "a table".into(),
        other => other.to_string(),
    }
}

/// Visits a value that must be a table holding a `T`; anything else is an error
/// naming the header it should have been and what it was. serde's own message
/// (`expected struct TrainSection`) names a Rust type, which the user never wrote.
struct TableVisitor<T>(std::marker::PhantomData<T>);

impl<T> TableVisitor<T> {
    fn wrong<E: serde::de::Error>(got: serde::de::Unexpected<'_>) -> E
    where
        T: Section,
    {
        E::custom(format!(
            "expected a table ({}), got {}",
            T::HEADER,
            kind(got)
        ))
    }
}

/// The scalar `visit_*` methods of a visitor whose every scalar is an error built by
/// `Self::wrong` from its [`serde::de::Unexpected`].
macro_rules! refuse_scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Bool(v)))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Signed(v)))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Unsigned(v)))
        }
        fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Signed(0)))
        }
        fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Unsigned(0)))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Float(v)))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Err(Self::wrong(serde::de::Unexpected::Str(v)))
        }
    };
}

impl<'de, T: Deserialize<'de> + Section> serde::de::Visitor<'de> for TableVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a table ({})", T::HEADER)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(Self::wrong(serde::de::Unexpected::Seq))
    }

    refuse_scalars!();
}

/// A section of the config file: a table, or an error naming its header.
fn de_table<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Section,
{
    d.deserialize_any(TableVisitor(std::marker::PhantomData))
}

/// `[keys]`, which is a table or an error naming it.
fn de_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<KeyBindings>, D::Error> {
    de_table(d).map(Some)
}

/// One table of an array of tables, read as [`de_table`] reads a section.
struct InArray<T>(T);

impl<'de, T: Deserialize<'de> + Section> Deserialize<'de> for InArray<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_table(d).map(InArray)
    }
}

/// Visits a value that must be an array of tables (`[[race]]`).
struct TablesVisitor<T>(std::marker::PhantomData<T>);

impl<T: Section> TablesVisitor<T> {
    fn wrong<E: serde::de::Error>(got: serde::de::Unexpected<'_>) -> E {
        E::custom(format!(
            "expected an array of tables ({}), got {}",
            T::HEADER,
            kind(got)
        ))
    }
}

impl<'de, T: Deserialize<'de> + Section> serde::de::Visitor<'de> for TablesVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an array of tables ({})", T::HEADER)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut tables = Vec::new();
        while let Some(InArray(t)) = seq.next_element()? {
            tables.push(t);
        }
        Ok(tables)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Vec<T>, A::Error> {
        Err(Self::wrong(serde::de::Unexpected::Map))
    }

    refuse_scalars!();
}

/// An array of tables (`[[race]]`), or an error naming its header.
fn de_tables<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Section,
{
    d.deserialize_any(TablesVisitor(std::marker::PhantomData))
}

/// The one error for every pace the config cannot take, whatever its type, with the
/// bounds [`Pace`] itself keeps.
fn bad_pace<E: serde::de::Error>(got: &str) -> E {
    E::custom(format!(
        "expected \"full\" or a rate between 1 and {} examples/sec, got {got}",
        crate::train::pace::FASTEST
    ))
}

/// Visits `train.pace`: `"full"`, or a whole number of examples a second (also in
/// quotes, as the command line takes it).
struct PaceVisitor;

impl PaceVisitor {
    fn wrong<E: serde::de::Error>(got: serde::de::Unexpected<'_>) -> E {
        use serde::de::Unexpected as U;
        match got {
            U::Signed(n) => bad_pace(&n.to_string()),
            U::Unsigned(n) => bad_pace(&n.to_string()),
            // `{:?}` keeps TOML's own spelling of 1e-300, where `{}` writes 300 zeros.
            U::Float(v) => bad_pace(&format!("{v:?}")),
            U::Bool(v) => bad_pace(&v.to_string()),
            U::Str(s) => bad_pace(&format!("{s:?}")),
            other => bad_pace(&kind(other)),
        }
    }
}

impl<'de> serde::de::Visitor<'de> for PaceVisitor {
    type Value = Option<Pace>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"full\" or examples a second")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u32::try_from(v) {
            Ok(n) if (1..=crate::train::pace::FASTEST).contains(&n) => Ok(Some(Pace::PerSecond(n))),
            _ => Err(Self::wrong(serde::de::Unexpected::Signed(v))),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse()
            .map(Some)
            .map_err(|_| Self::wrong(serde::de::Unexpected::Str(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(Self::wrong(serde::de::Unexpected::Bool(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Err(Self::wrong(serde::de::Unexpected::Unsigned(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(Self::wrong(serde::de::Unexpected::Float(v)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(Self::wrong(serde::de::Unexpected::Seq))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(Self::wrong(serde::de::Unexpected::Map))
    }
}

/// `train.pace`, with one message naming the bounds for every value it cannot be
/// (the untagged `PaceValue` would only say that nothing matched).
fn de_pace<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Pace>, D::Error> {
    d.deserialize_any(PaceVisitor)
}
