//! The command line (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Overrides, RaceSpec};
use crate::data::download::Mirror;
use crate::data::{DataSpec, KnownDataset};
use crate::device::DeviceChoice;
use crate::logging::LogLevel;
use crate::model::{Activation, Pooling};
use crate::train::checkpoint::ResumeFrom;
use crate::train::{BatchSize, Epochs, LearningRate, Pace};
use crate::ui::theme::{ChartMarker, ColorChoice, HeatmapColours, ThemeKind};

mod analysis;
pub use analysis::{ExportArgs, ExportFormat, ExportWhat, LrFindArgs};

/// Train LeNet-5 on Fashion-MNIST and watch it learn.
///
/// Without a subcommand, starts the dashboard (or prints progress lines when stdout
/// is not a terminal). Defaults follow the LeNet chapter of
/// Dive into Deep Learning: lr 0.9, batch 256, 10 epochs, sigmoid, average pooling.
#[derive(Debug, Parser)]
#[command(name = "lenet-tui", version, propagate_version = true)]
pub struct Cli {
    /// What to do; the dashboard when omitted.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    /// Options for the dashboard.
    #[command(flatten)]
    pub run: RunArgs,
    /// How the dashboard looks.
    #[command(flatten)]
    pub ui: UiArgs,
    /// What goes into the run's log file (in ~/.local/state/lenet-tui/logs/): off,
    /// error, warn, info, debug (with ureq's and rustls's records) or trace [default:
    /// RUST_LOG when set, else info].
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
}

/// Options for the dashboard's looks and behaviour.
#[derive(Debug, Clone, Default, Args)]
pub struct UiArgs {
    /// dark or light terminal background [default: dark].
    #[arg(long, value_enum, value_name = "THEME")]
    pub theme: Option<ThemeKind>,
    /// Colour depth: auto, truecolor, 256, 16 or none [default: auto, from NO_COLOR,
    /// FORCE_COLOR, CLICOLOR_FORCE, COLORTERM, TERM, TERM_PROGRAM and tmux].
    #[arg(long, value_name = "DEPTH")]
    pub color: Option<ColorChoice>,
    /// The heatmaps' colour map: inferno or grey [default: inferno].
    #[arg(long, value_enum, value_name = "MAP")]
    pub heatmap: Option<HeatmapColours>,
    /// Chart marker: braille, dot or block (for fonts without braille) [default: braille].
    #[arg(long, value_enum, value_name = "MARKER")]
    pub marker: Option<ChartMarker>,
    /// Leave the dashboard as soon as training finishes.
    #[arg(long)]
    pub exit_on_finish: bool,
    /// When the terminal goes away (SSH drop, closed window, SIGHUP): `go-on` saves a
    /// checkpoint and trains on detached (`lenet-tui attach` brings it back), `stop`
    /// saves and ends [default: go-on, or `[run] on_hangup`].
    #[arg(long, value_enum, value_name = "WHAT")]
    pub on_hangup: Option<crate::config::OnHangup>,
    /// Record an asciicast (v2) of the session from the first frame into FILE.
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
    /// Your own image (PNG, JPEG, PGM or PPM), first in the image list, prepared as
    /// the data set's were made; FILE=CLASS names its true class. Or a made-up input:
    /// noise[:SEED], blank, white, invert:N (test image N inverted). Repeatable
    /// [default: config data.images].
    #[arg(long = "image", value_name = "FILE[=CLASS]")]
    pub images: Vec<String>,
    /// Use the --image files' pixels as they are (already 28×28, light on black).
    #[arg(long)]
    pub image_raw: bool,
    /// Where screenshots, recordings and figures go.
    #[command(flatten)]
    pub capture: CaptureArgs,
}

/// Where captures go and how large PNGs are.
#[derive(Debug, Clone, Default, Args)]
pub struct CaptureArgs {
    /// Directory for screenshots, recordings and figures [default: config capture.dir,
    /// else <Pictures>/lenet-tui, else the data dir].
    #[arg(long, value_name = "DIR")]
    pub capture_dir: Option<PathBuf>,
    /// PNG scale: cells of 8×16 pixels times N (1 to 8) [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8))]
    pub png_scale: Option<u32>,
    /// `epoch`: save a screenshot (SVG, PNG, text) at every epoch end, and the
    /// training figure at the end; `end`: only the figure (what a detached run saves
    /// unless told otherwise). With --headless the dashboard is drawn off-screen.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub snapshot_every: Option<SnapshotEvery>,
}

/// When headless training writes dashboard snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotEvery {
    /// At the end of every epoch.
    Epoch,
    /// Only the training figure, when training ends.
    End,
}

/// A terminal size, `COLSxROWS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl std::str::FromStr for TermSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a size like 160x48 (at least 80x24, at most 500x300)");
        let (c, r) = s.split_once(['x', '×']).ok_or_else(bad)?;
        let (cols, rows): (u16, u16) =
            (c.parse().map_err(|_| bad())?, r.parse().map_err(|_| bad())?);
        if !(80..=500).contains(&cols) || !(24..=300).contains(&rows) {
            return Err(bad());
        }
        Ok(TermSize { cols, rows })
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Train LeNet-5: the dashboard, or plain progress lines with --headless.
    Train(TrainArgs),
    /// Print the per-layer table (output shape and parameters) of the configured model.
    Shapes(RunArgs),
    /// Measure training and evaluation throughput (examples/sec) on the chosen device:
    /// the chapter's sigmoid/avg and relu/max unless --pool or --act pick one.
    Bench(BenchArgs),
    /// List saved runs: when they started, epochs trained, best test accuracy, and the
    /// newest checkpoint (to pass to --resume).
    Runs(RunsArgs),
    /// Download the full data sets and see which are installed.
    #[command(subcommand)]
    Data(DataCommand),
    /// Compare two saved runs: their curves in one training figure (PNG and SVG in the
    /// capture dir) and their per-epoch figures side by side.
    Compare(CompareArgs),
    /// Replay a saved run's history in the dashboard, with no training (and no GPU):
    /// it plays from the start at a pace; Space pauses, `,` `.` step, Home End jump.
    Replay(ReplayArgs),
    /// Open the dashboard on a live run from any terminal: its own size, colours and
    /// output budget; `q` leaves, the run goes on. With --json (or when stdout is not
    /// a terminal) print its events as JSON lines instead.
    Attach(AttachArgs),
    /// Ask a live run to save a checkpoint and end; returns once it has.
    Stop(StopArgs),
    /// What a saved run's model reads in your own images (PNG, JPEG, PGM, PPM): the
    /// top three classes per file, prepared as the data set's images were made.
    Predict(PredictArgs),
    /// Print a shell completion script: `lenet-tui completions bash > ~/.local/share/bash-completion/completions/lenet-tui`.
    Completions(CompletionsArgs),
    /// The arithmetic behind one value of a saved run's model on one image: a
    /// convolution cell's patch, kernel, bias, pre-activation, activation and pooling
    /// window, or the output's logits and softmax.
    Explain(ExplainArgs),
    /// Write a saved run's scalars (epoch, step, examples seen, loss, accuracies, the
    /// settings in force, examples/sec, per-class accuracy) as CSV or JSON lines, one
    /// row per epoch (the default) or per logged batch.
    Export(ExportArgs),
    /// A learning-rate range test: train fresh weights for about 200 batches while the
    /// learning rate grows exponentially (1e-4 to 10), stop when the loss explodes,
    /// and suggest a rate; the figure goes into the capture dir.
    LrFind(LrFindArgs),
    /// Print the manual page (roff): `lenet-tui man | man -l -`.
    Man,
}

/// `lenet-tui explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The image: a test image's number, a file, or a made-up input (noise[:SEED],
    /// blank, white, invert:N).
    #[arg(long, value_name = "N|FILE", default_value = "0")]
    pub image: String,
    /// Which layer: a convolution layer's number (1, 2, …) or `out`.
    #[arg(long, value_name = "1|2|out", default_value = "1")]
    pub layer: String,
    /// The map of a convolution layer, from 0.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub map: usize,
    /// The position in the map, `ROW,COL` from 0.
    #[arg(long, value_name = "ROW,COL", default_value = "0,0")]
    pub at: String,
    /// Whose model: `latest`, a run directory or a checkpoint directory [default: latest].
    #[arg(long, value_name = "latest|PATH")]
    pub resume: Option<ResumeFrom>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Config file (for where saved runs are) [default: <config dir>/lenet-tui/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lenet-tui attach`.
#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    /// The live run: `latest` (the newest live run), a run's name from `lenet-tui
    /// runs`, or a run directory.
    #[arg(value_name = "RUN", default_value = "latest")]
    pub run: String,
    /// Watch only: the keys that would change the run say "view only".
    #[arg(long)]
    pub view: bool,
    /// Print the run's events from now on as JSON lines (those of `train --headless
    /// --json`) instead of the dashboard.
    #[arg(long)]
    pub json: bool,
    /// Connect to this socket instead of finding the run's (one forwarded over SSH:
    /// `ssh -L ./run.sock:REMOTE_SOCKET`).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How the dashboard looks.
    #[command(flatten)]
    pub ui: UiArgs,
}

/// `lenet-tui stop`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// The live run: `latest` (the newest live run), a run's name, or a run directory.
    #[arg(value_name = "RUN", default_value = "latest")]
    pub run: String,
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lenet-tui completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `lenet-tui data …`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Fetch a data set's four files, check each against its published MD5 and install
    /// it in <user data dir>/lenet-tui/NAME/ (files already there and verified are
    /// skipped; nothing unverified is ever left in place).
    Download(DownloadArgs),
    /// For each known data set: where it is installed, whether each file is present
    /// and verified, and which data a plain `lenet-tui` run would use.
    Info(RunsArgs),
}

/// `lenet-tui predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The image files, or made-up inputs: noise[:SEED], blank, white, invert:N (the
    /// run's test image N inverted).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Whose model: `latest`, a run directory or a checkpoint directory (see `lenet-tui
    /// runs`) [default: latest].
    #[arg(long, value_name = "latest|PATH")]
    pub resume: Option<ResumeFrom>,
    /// One JSON object per file on stdout: every class's probability and the 28×28
    /// image the network read.
    #[arg(long)]
    pub json: bool,
    /// Write the image the network read for each FILE into DIR (as NAME.png).
    #[arg(long, value_name = "DIR")]
    pub save_preprocessed: Option<PathBuf>,
    /// Use the pixels as they are (images already 28×28, light on black).
    #[arg(long, alias = "image-raw")]
    pub raw: bool,
    /// Config file (for where saved runs are) [default: <config dir>/lenet-tui/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lenet-tui data download`.
#[derive(Debug, Clone, Args)]
pub struct DownloadArgs {
    /// The data set.
    #[arg(value_enum, default_value_t = KnownDataset::FashionMnist)]
    pub dataset: KnownDataset,
    /// URL of the directory holding the four .gz files [default: config
    /// data.mirror.NAME, else the publisher's].
    #[arg(long, value_name = "URL")]
    pub mirror: Option<Mirror>,
    /// Install into DIR instead [default: <user data dir>/lenet-tui/NAME, which a plain
    /// run searches].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lenet-tui compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Two to four runs (A solid, B dashed, C dotted, D long dashes): `latest`, a run's
    /// name from `lenet-tui runs`, or a run or checkpoint directory; a race's directory
    /// stands for all of its variants.
    #[arg(value_name = "RUN", required = true, num_args = 1..=4)]
    pub runs: Vec<String>,
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the figure [default: config capture.dir, else
    /// <Pictures>/lenet-tui, else the data dir].
    #[arg(long, value_name = "DIR")]
    pub capture_dir: Option<PathBuf>,
    /// PNG scale: 800×500 pixels times N (1 to 8) [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8))]
    pub png_scale: Option<u32>,
}

/// `lenet-tui replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The run: `latest`, a run's name from `lenet-tui runs`, or a run or checkpoint
    /// directory.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Playing pace: `full` (as fast as the run trained) or training examples a second
    /// (keys `[` and `]` halve and double it) [default: an epoch in 10 to 20 s].
    #[arg(long, value_name = "full|RATE", allow_negative_numbers = true)]
    pub pace: Option<Pace>,
    /// Where the shown test images come from: a directory with the four IDX files or
    /// `embedded` [default: the run's data, else the same data set found the usual way].
    #[arg(long, value_name = "DIR|embedded")]
    pub data: Option<DataSpec>,
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How the dashboard looks.
    #[command(flatten)]
    pub ui: UiArgs,
}

/// `lenet-tui bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Timed batches per repeat.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batches: u32,
    /// Untimed batches first (caches, allocator, thread pool).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub warmup: u32,
    /// Repeats; the median, minimum and maximum are reported.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeats: u32,
    /// One JSON object per variant on stdout.
    #[arg(long)]
    pub json: bool,
    /// Measure the layers (gradient flow, activation statistics) on one step in N for
    /// the "with layer stats" column [default: the trainer's cadence, one batch per
    /// progress report]; 1 shows what a measured step costs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub measure_every: Option<u32>,
    /// The model, data and device.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `lenet-tui runs` and `lenet-tui data info`: only the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct RunsArgs {
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lenet-tui train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Train without the dashboard: progress lines on stderr.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: one JSON object per event on stdout. With --detach: the
    /// detached run's name, directory, pid and socket as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Train in the background, in a session of its own (it outlives this terminal and
    /// the SSH connection), and return at once with the run's name, directory, pid and
    /// how to attach to it. Its progress goes to its log.
    #[arg(long, conflicts_with = "record")]
    pub detach: bool,
    /// Size of headless snapshots (--snapshot-every) [default: 160x48].
    #[arg(
        long,
        value_name = "COLSxROWS",
        requires = "snapshot_every",
        requires = "headless"
    )]
    pub size: Option<TermSize>,
    /// The run's options.
    #[command(flatten)]
    pub run: RunArgs,
    /// The dashboard's options (without --headless).
    #[command(flatten)]
    pub ui: UiArgs,
}

/// Options shared by the dashboard, `train` and `shapes`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Config file [default: <config dir>/lenet-tui/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory with the four IDX files, or `embedded` for the built-in subset
    /// [default: search, see README].
    #[arg(long, value_name = "DIR|embedded")]
    pub data: Option<DataSpec>,
    /// Data set: fashion-mnist or mnist, from where `lenet-tui data download` puts it
    /// (with --data DIR: the class names for DIR) [default: fashion-mnist].
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<KnownDataset>,
    /// auto, cpu, cuda or cuda:N [default: auto].
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DeviceChoice>,
    /// Epochs to train [default: 10].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub epochs: Option<Epochs>,
    /// SGD learning rate [default: 0.9].
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub lr: Option<LearningRate>,
    /// Examples per minibatch [default: 256].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub batch_size: Option<BatchSize>,
    /// Pooling [default: avg].
    #[arg(long, value_enum, value_name = "KIND")]
    pub pool: Option<Pooling>,
    /// Activation [default: sigmoid].
    #[arg(long, value_enum, value_name = "KIND")]
    pub act: Option<Activation>,
    /// Seed for weight initialisation and shuffling [default: 42].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Lecture tempo: `full`, or at most RATE training examples a second (keys `[` and
    /// `]` halve and double it live) [default: full].
    #[arg(long, value_name = "full|RATE", allow_negative_numbers = true)]
    pub pace: Option<Pace>,
    /// Continue a saved run: `latest`, a run directory or a checkpoint directory (see
    /// `lenet-tui runs`). Weights, settings, position and chart history come from the
    /// checkpoint; --epochs, --lr, --pool, --act and --pace given here override its values.
    #[arg(long, value_name = "latest|PATH")]
    pub resume: Option<ResumeFrom>,
    /// Race a variant against this run, on the same device and batches: what it
    /// changes, as `pool=max`, `act=relu,lr=0.1`, `init=kaiming` or `model=FILE`
    /// (repeat for up to 3 variants; replaces the config's `[[race]]` tables).
    #[arg(long = "race", value_name = "SPEC")]
    pub races: Vec<RaceSpec>,
    /// Train a model whose one step is estimated far beyond reason (over 1 TFLOP on
    /// the CPU, 100 TFLOP on a GPU), which is refused otherwise: its batches take
    /// minutes, and a key or a signal waits for the batch in flight.
    #[arg(long)]
    pub force: bool,
    /// Let other users of this machine watch the run (never drive it): its socket goes
    /// to a directory they can reach, and every connection from another user is view
    /// only. The run says where; they attach with `lenet-tui attach --socket PATH`.
    #[arg(long)]
    pub share: bool,
}

impl RunArgs {
    /// The values given on the command line, to lay over the config file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data: self.data.clone(),
            dataset: self.dataset,
            device: self.device,
            epochs: self.epochs,
            lr: self.lr,
            batch_size: self.batch_size,
            pooling: self.pool,
            activation: self.act,
            seed: self.seed,
            pace: self.pace,
        }
    }
}

// The model's and the data's settings are plain types that know nothing of clap;
// their names on the command line are given here.

impl clap::ValueEnum for Pooling {
    fn value_variants<'a>() -> &'a [Self] {
        &[Pooling::Avg, Pooling::Max]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            Pooling::Avg => ("avg", "Average pooling, the chapter's choice"),
            Pooling::Max => ("max", "Max pooling, the chapter's exercise 1"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

impl clap::ValueEnum for Activation {
    fn value_variants<'a>() -> &'a [Self] {
        &[Activation::Sigmoid, Activation::Relu]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            Activation::Sigmoid => ("sigmoid", "The logistic sigmoid, the chapter's choice"),
            Activation::Relu => ("relu", "Rectified linear unit"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

impl clap::ValueEnum for LogLevel {
    fn value_variants<'a>() -> &'a [Self] {
        &LogLevel::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl clap::ValueEnum for ThemeKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[ThemeKind::Dark, ThemeKind::Light]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            ThemeKind::Dark => ("dark", "Light text on a dark background"),
            ThemeKind::Light => ("light", "Dark text on a light background"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

impl clap::ValueEnum for HeatmapColours {
    fn value_variants<'a>() -> &'a [Self] {
        &[HeatmapColours::Inferno, HeatmapColours::Grey]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            HeatmapColours::Inferno => ("inferno", "Black, purple, orange, yellow"),
            HeatmapColours::Grey => ("grey", "Black to white"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

impl clap::ValueEnum for ChartMarker {
    fn value_variants<'a>() -> &'a [Self] {
        &[ChartMarker::Braille, ChartMarker::Dot, ChartMarker::Block]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            ChartMarker::Braille => ("braille", "Braille dots: the finest lines"),
            ChartMarker::Dot => ("dot", "One dot per cell"),
            ChartMarker::Block => ("block", "Full blocks"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

impl clap::ValueEnum for KnownDataset {
    fn value_variants<'a>() -> &'a [Self] {
        &KnownDataset::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            KnownDataset::FashionMnist => {
                "Zalando's Fashion-MNIST: the data set lenet-tui trains on"
            }
            KnownDataset::Mnist => "LeCun's handwritten digits",
        };
        Some(clap::builder::PossibleValue::new(self.cli_name()).help(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_values_are_refused_by_the_parser() {
        let err = Cli::try_parse_from(["lenet-tui", "train", "--lr", "0"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("learning rate must be a finite number > 0"),
            "{err}"
        );
        let err = Cli::try_parse_from(["lenet-tui", "train", "--pool", "min"]).unwrap_err();
        assert!(err.to_string().contains("avg"), "{err}");
        let cli =
            Cli::try_parse_from(["lenet-tui", "train", "--headless", "--pool", "max"]).unwrap();
        let Some(CliCommand::Train(args)) = cli.command else {
            panic!("train")
        };
        assert_eq!(args.run.pool, Some(Pooling::Max));
        assert_eq!(
            "160x48".parse::<TermSize>(),
            Ok(TermSize {
                cols: 160,
                rows: 48
            })
        );
        assert!("10x5".parse::<TermSize>().is_err());
        assert!(Cli::try_parse_from(["lenet-tui", "--png-scale", "0"]).is_err());
    }

    #[test]
    fn data_download_takes_a_known_data_set_and_a_mirror_url() {
        let cli = Cli::try_parse_from(["lenet-tui", "data", "download"]).unwrap();
        let Some(CliCommand::Data(DataCommand::Download(args))) = cli.command else {
            panic!("data download")
        };
        assert_eq!(args.dataset, KnownDataset::FashionMnist);
        assert_eq!(args.mirror, None);
        let cli = Cli::try_parse_from([
            "lenet-tui",
            "data",
            "download",
            "mnist",
            "--mirror",
            "http://127.0.0.1:8000/m",
        ])
        .unwrap();
        let Some(CliCommand::Data(DataCommand::Download(args))) = cli.command else {
            panic!("data download mnist")
        };
        assert_eq!(args.dataset, KnownDataset::Mnist);
        assert_eq!(
            args.mirror.unwrap().url_of("x.gz"),
            "http://127.0.0.1:8000/m/x.gz"
        );
        let err = Cli::try_parse_from(["lenet-tui", "data", "download", "kmnist"]).unwrap_err();
        assert!(err.to_string().contains("fashion-mnist, mnist"), "{err}");
        let err = Cli::try_parse_from(["lenet-tui", "data", "download", "--mirror", "ftp://x/"])
            .unwrap_err();
        assert!(err.to_string().contains("is not a mirror URL"), "{err}");
    }

    #[test]
    fn settings_are_named_on_the_command_line_as_everywhere_else() {
        use clap::ValueEnum;
        for ds in KnownDataset::ALL {
            let value = ds.to_possible_value().unwrap();
            assert_eq!(value.get_name(), ds.cli_name());
            assert_eq!(KnownDataset::from_str(ds.cli_name(), false), Ok(ds));
        }
        for p in Pooling::value_variants() {
            assert_eq!(Pooling::from_str(&p.to_string(), false), Ok(*p));
        }
        for a in Activation::value_variants() {
            assert_eq!(a.to_string().parse::<Activation>(), Ok(*a));
        }
    }
}
