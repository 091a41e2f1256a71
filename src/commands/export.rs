//! `lenet-tui export RUN`: a saved run's scalars (or every variant's of a race) as CSV
//! or JSON lines, for a spreadsheet or a script, from its newest intact checkpoint's
//! history and its saved snapshots ([`table`] says which settings a row carries).
//! The run is read, never written; `-o FILE` appears whole or not at all.

mod table;

use std::io::{self, Write as _};
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{ExportArgs, ExportFormat, ExportWhat};
use crate::config;
use crate::files::NewFile;
use crate::session;
use crate::train::checkpoint::{self, CheckpointError, RaceDir, ResumeFrom, SavedRun};
use crate::train::timeline::{Moment, file};
use table::{SettingsLog, Source};

/// A run to export and, for a race's variant, its label.
struct Found {
    variant: Option<String>,
    run: SavedRun,
}

/// Says on stderr, as `compare` and `--resume` do, what was passed over.
fn warn(warning: &str) {
    tracing::warn!("{warning}");
    eprintln!("lenet-tui: warning: {warning}");
}

/// The runs `arg` names: one run, or every variant of the race it names (a race's
/// directory, or `latest` when the newest checkpoint is a race's), in race order.
fn find(arg: &str, runs_dir: &Path) -> Result<Vec<Found>, CheckpointError> {
    let from = checkpoint::find_run(arg, runs_dir)?;
    let race = match &from {
        ResumeFrom::Path(path) => RaceDir::open(path)?,
        ResumeFrom::Latest => {
            let newest = checkpoint::locate(&from, runs_dir)?;
            newest.parent().map(RaceDir::of_run).transpose()?.flatten()
        }
    };
    let Some(race) = race else {
        let (run, warning) = checkpoint::load_found(&from, runs_dir)?;
        warning.as_deref().map(warn);
        return Ok(vec![Found { variant: None, run }]);
    };
    race.variants
        .iter()
        .map(|v| {
            let (run, warning) =
                checkpoint::load_found(&ResumeFrom::Path(race.run_dir(v)), runs_dir)?;
            if let Some(w) = warning {
                warn(&format!("variant `{}`: {w}", v.label));
            }
            Ok(Found {
                variant: Some(v.label.clone()),
                run,
            })
        })
        .collect()
}

/// The saved snapshots' moments of the run whose checkpoint is `run`; none when it has
/// no history (said on stderr when the history is there but cannot be read).
fn moments(run: &SavedRun) -> Vec<Moment> {
    let Some(dir) = run.checkpoint.parent() else {
        return Vec::new();
    };
    match file::read(dir) {
        Ok(saved) => saved.timeline.snapshots().map(|s| s.moment).collect(),
        Err(CheckpointError::NotFound(_)) => Vec::new(),
        Err(e) => {
            warn(&format!(
                "{e}; the settings are taken from the checkpoint's markers alone"
            ));
            Vec::new()
        }
    }
}

/// The export of `found` as bytes in `format`.
fn render(found: &[Found], what: ExportWhat, format: ExportFormat) -> anyhow::Result<Vec<u8>> {
    let sources: Vec<Source<'_>> = found
        .iter()
        .map(|f| Source {
            variant: f.variant.as_deref(),
            meta: &f.run.meta,
            settings: SettingsLog::new(&f.run.meta, &moments(&f.run)),
        })
        .collect();
    let table = table::table(&sources, what == ExportWhat::Batches);
    let unknown = table.unknown_settings();
    if !unknown.is_empty() {
        let names: Vec<&str> = found.iter().map(|f| f.run.name.as_str()).collect();
        warn(&format!(
            "{}: {} changed during the run, and without its saved history the value \
             before the first change is not known: those cells are empty",
            names.join(", "),
            unknown.join(", ")
        ));
    }
    Ok(match format {
        ExportFormat::Csv => table.to_csv().context("writing CSV")?,
        ExportFormat::Json => table.to_json_lines().into_bytes(),
    })
}

/// Writes `bytes` to `path` through a temporary file beside it, replacing what was
/// there only once the whole export is on the disk.
fn write_output(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = NewFile::create(path)?;
    file.file().write_all(bytes)?;
    file.replace().map(drop)
}

/// `lenet-tui export`.
pub fn command(args: &ExportArgs) -> anyhow::Result<()> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let found = find(&args.run, &runs_dir)?;
    let bytes = render(&found, args.what, args.format)?;
    match &args.output {
        Some(path) => write_output(path, &bytes)
            .with_context(|| format!("cannot write the export to {}", path.display())),
        None => match io::stdout().lock().write_all(&bytes) {
            // A reader that has seen enough (`| head`) is no failure.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("writing the export to stdout"),
        },
    }
}
