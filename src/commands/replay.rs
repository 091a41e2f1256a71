//! `lenet-tui replay RUN`: the dashboard on a saved run's history, with no training.
//! The run is read, never written; its test images come from its own data when this
//! machine has it, else from a copy of the same data set (a run made on the GPU box
//! plays on a laptop).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::cli::ReplayArgs;
use crate::config;
use crate::data::source::{self, DataLocation, DataSpec};
use crate::data::{Dataset, Labels};
use crate::session;
use crate::train::checkpoint::{self, CheckpointError, DataFacts, RaceDir, ResumeFrom};
use crate::train::replay::{self, ReplaySpec};
use crate::train::timeline::file::{self, RunFacts};

/// The run directory `arg` names: `latest` (the newest checkpoint's run), a run's
/// name in `runs_dir`, or a run or checkpoint directory.
pub fn run_dir(arg: &str, runs_dir: &Path) -> Result<PathBuf, CheckpointError> {
    let from = checkpoint::find_run(arg, runs_dir)?;
    if let ResumeFrom::Path(path) = &from
        && file::path_in(path).is_file()
    {
        return Ok(path.clone());
    }
    // A race replays one variant at a time: name them.
    if let ResumeFrom::Path(path) = &from
        && let Some(race) = RaceDir::open(path)?
    {
        let names: Vec<String> = race
            .variants
            .iter()
            .map(|v| format!("{arg}/{}", v.dir))
            .collect();
        return Err(CheckpointError::NotFound(format!(
            "{}: a race of {} variants; replay one of them: {}",
            path.display(),
            names.len(),
            names.join(", ")
        )));
    }
    let checkpoint = checkpoint::locate(&from, runs_dir)?;
    Ok(checkpoint
        .parent()
        .map_or_else(|| checkpoint.clone(), Path::to_path_buf))
}

/// Where the shown test images come from: `--data`, else the run's own data, else
/// (its directory is not on this machine) the same data set found the usual way;
/// with a note for the header when they are not the run's own.
pub fn data_location(
    facts: &DataFacts,
    given: Option<&DataSpec>,
) -> Result<(DataLocation, Option<String>)> {
    if let Some(spec) = given {
        let location = source::resolve(Some(spec), None)?;
        let note = format!("test images from {location}");
        return Ok((location, Some(note)));
    }
    match &facts.dir {
        None => Ok((DataLocation::Embedded, None)),
        Some(dir) if dir.is_dir() => Ok((
            source::resolve(Some(&DataSpec::Dir(dir.clone())), None)?,
            None,
        )),
        Some(dir) => match Labels::from_names(&facts.classes) {
            Labels::Known(known) => {
                let location = source::resolve_known(known).with_context(|| {
                    format!(
                        "the run was trained on {} and {} is not on this machine",
                        facts.description,
                        dir.display()
                    )
                })?;
                let note = format!("test images from {location}");
                Ok((location, Some(note)))
            }
            Labels::Named(_) => bail!(
                "the run was trained on {} and {} is not on this machine; pass --data DIR \
                 with the same data for its test images",
                facts.description,
                dir.display()
            ),
        },
    }
}

/// The data of a saved run, for its test images: its own where this machine has it,
/// else the same data set found the usual way (`predict`'s and `explain`'s inputs).
pub fn run_data(facts: &DataFacts) -> Result<Dataset> {
    let (location, _) = data_location(facts, None)?;
    Dataset::load_as(&location, &Labels::from_names(&facts.classes))
        .with_context(|| format!("reading the run's test images from {location}"))
}

/// Loads the test images for `facts`' run and checks the model can read them.
fn load_data(facts: &RunFacts, given: Option<&DataSpec>) -> Result<(Dataset, Option<String>)> {
    let (location, note) = data_location(&facts.data, given)?;
    let dataset = Dataset::load_as(&location, &Labels::from_names(&facts.data.classes))?;
    let [_, rows, cols] = facts.architecture.input;
    let test = &dataset.test;
    if (test.rows, test.cols) != (rows, cols) || dataset.classes.len() != facts.architecture.classes
    {
        bail!(
            "{location} has {} classes of {}×{} images; the run's model takes {} classes of \
             {rows}×{cols} (pass --data with the data it was trained on)",
            dataset.classes.len(),
            test.rows,
            test.cols,
            facts.architecture.classes
        );
    }
    Ok((dataset, note))
}

/// `lenet-tui replay`.
pub fn command(args: &ReplayArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let run = run_dir(&args.run, &runs_dir)?;
    let saved = file::read(&run).with_context(|| format!("cannot replay {}", run.display()))?;
    let (dataset, data_note) = load_data(&saved.facts, args.data.as_ref())?;
    if !std::io::stdout().is_terminal() {
        bail!("a replay draws the dashboard: run it in a terminal");
    }
    let signals = crate::signals::listen().context("catching signals")?;
    let facts = &saved.facts;
    let pace = args.pace.unwrap_or_else(|| {
        replay::lecture_pace(
            facts.data.train_examples,
            replay::run_speed(&facts.history).unwrap_or(f64::INFINITY),
        )
    });
    let name = run.file_name().map_or_else(
        || run.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let dataset = Arc::new(dataset);
    let handle = replay::spawn_replay(ReplaySpec {
        name: name.clone(),
        saved,
        dataset: dataset.clone(),
        data_note,
        pace,
    });
    let lanes = vec![crate::train::race::Lane {
        label: None,
        trainer: handle,
    }];
    super::train::show(
        &config,
        &args.ui,
        dataset,
        lanes,
        &signals,
        super::train::Role::Replay(name),
    )
}
