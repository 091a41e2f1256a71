//! The command lines of the commands that feed analysis outside lenet-tui: `export`
//! (a saved run's scalars for a script) and `lr-find` (a learning-rate range test).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::RunArgs;

/// `lenet-tui export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The run: `latest`, a run's name from `lenet-tui runs`, or a run or checkpoint
    /// directory; a race's directory (or `latest` when that is a race's) exports every
    /// variant, with a `variant` column.
    #[arg(value_name = "RUN", default_value = "latest")]
    pub run: String,
    /// `csv`: a header row, then one row per epoch or batch; `json`: one JSON object
    /// per row (JSON lines) with the CSV's columns as keys, null where the CSV is empty.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// `epochs`: one row per finished epoch, with its test accuracy (and each
    /// class's, where the run has them); `batches`: one row per progress report the
    /// run logged (the points of its loss curve).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = ExportWhat::Epochs)]
    pub what: ExportWhat,
    /// Write to FILE (through a temporary file beside it, moved into place whole;
    /// an existing FILE is replaced only once the export has succeeded) [default: stdout].
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Config file (for where saved runs are) [default: <config dir>/lenet-tui/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON lines: one object per row.
    Json,
}

/// Which rows `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    /// One row per progress report (about five an epoch).
    Batches,
    /// One row per finished epoch.
    Epochs,
}

/// `lenet-tui lr-find`.
#[derive(Debug, Clone, Args)]
pub struct LrFindArgs {
    /// The first learning rate of the sweep.
    #[arg(long, value_name = "RATE", default_value_t = 1e-4)]
    pub start: f64,
    /// The last learning rate of the sweep.
    #[arg(long, value_name = "RATE", default_value_t = 10.0)]
    pub end: f64,
    /// Batches the sweep takes from START to END (fewer when the loss explodes).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(20..=100_000))]
    pub batches: u32,
    /// One JSON object on stdout: the sweep's points, the suggestion and the figure's
    /// paths.
    #[arg(long)]
    pub json: bool,
    /// Directory for the figure [default: config capture.dir, else
    /// <Pictures>/lenet-tui, else the data dir].
    #[arg(long, value_name = "DIR")]
    pub capture_dir: Option<PathBuf>,
    /// PNG scale: 800×500 pixels times N (1 to 8) [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8))]
    pub png_scale: Option<u32>,
    /// The model, data, batch size, seed and device (as `train` takes them).
    #[command(flatten)]
    pub run: RunArgs,
}
