//! `lenet-tui attach` and `lenet-tui stop`: a live run, found by its name (or the
//! newest live one), watched from this terminal or asked to end.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::{AttachArgs, StopArgs};
use crate::config;
use crate::data::source::{self, DataLocation, DataSpec};
use crate::data::{Dataset, Labels};
use crate::headless::Reporter;
use crate::live::{self, Want};
use crate::session;
use crate::train::checkpoint::{self, ResumeFrom};
use crate::train::{Lane, TrainerHandle};
use crate::ui::app::Watching;

/// How long `stop` waits for the run to save and end.
const STOP_WAIT: Duration = Duration::from_secs(90);

/// A live run: its directory and the process training it.
struct LiveRun {
    dir: PathBuf,
    pid: u32,
}

/// The live run `arg` names: `latest` is the newest run a process trains now.
fn live_run(arg: &str, runs_dir: &Path) -> Result<LiveRun> {
    let dir = match checkpoint::find_run(arg, runs_dir)? {
        ResumeFrom::Path(dir) => dir,
        ResumeFrom::Latest => {
            let runs = checkpoint::list_runs(runs_dir)?;
            let newest_live = runs.iter().rev().find_map(|r| {
                let pid = checkpoint::holder(&r.dir).flatten()?;
                Some(LiveRun {
                    dir: r.dir.clone(),
                    pid,
                })
            });
            return newest_live.with_context(|| {
                format!(
                    "no live run in {}: start one with `lenet-tui train --detach` (or see \
                     `lenet-tui runs`)",
                    runs_dir.display()
                )
            });
        }
    };
    match owner_of(&dir) {
        Some(pid) => Ok(LiveRun { dir, pid }),
        None => bail!(
            "{}: not live (no process trains it now); play it back with `lenet-tui replay \
             {arg}` or go on with `lenet-tui train --resume {arg}`",
            dir.display()
        ),
    }
}

/// The process training `dir`, or one of its variants (a race's directory, whose
/// variants' owner is the race's process).
fn owner_of(dir: &Path) -> Option<u32> {
    let variants = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir());
    std::iter::once(dir.to_path_buf())
        .chain(variants)
        .find_map(|d| checkpoint::holder(&d).flatten())
}

/// The socket `args` point at: `--socket`, else the live run's.
fn socket(args: &AttachArgs) -> Result<PathBuf> {
    if let Some(path) = &args.socket {
        return Ok(path.clone());
    }
    let config = config::load(args.config.as_deref())?;
    let run = live_run(&args.run, &session::runs_dir(&config)?)?;
    Ok(live::place::find_socket(run.pid)?)
}

/// `lenet-tui attach`.
pub fn command(args: &AttachArgs) -> Result<ExitCode> {
    let path = socket(args)?;
    if args.json || !std::io::stdout().is_terminal() {
        return print_events(&path);
    }
    let want = if args.view { Want::View } else { Want::Control };
    let attached =
        live::attach(&path, want).with_context(|| format!("attaching to {}", path.display()))?;
    let welcome = &attached.welcome;
    let dataset = test_images(welcome.data.as_deref(), &welcome.classes)?;
    let lanes = welcome
        .lanes
        .iter()
        .cloned()
        .zip(attached.lanes)
        .map(|(label, trainer)| Lane { label, trainer })
        .collect();
    let config = config::load(args.config.as_deref())?;
    let signals = crate::signals::listen().context("catching signals")?;
    let watching = Watching {
        control: welcome.control,
        pid: welcome.pid,
    };
    super::train::show(
        &config,
        &args.ui,
        dataset.into(),
        lanes,
        &signals,
        super::train::Role::Viewer(watching),
    )
}

/// The run's data, read here for the test images the viewer shows.
fn test_images(dir: Option<&Path>, classes: &[String]) -> Result<Dataset> {
    let location = match dir {
        None => DataLocation::Embedded,
        Some(dir) => source::resolve(Some(&DataSpec::Dir(dir.to_path_buf())), None)?,
    };
    Dataset::load_as(&location, &Labels::from_names(classes))
        .with_context(|| format!("reading the run's test images from {location}"))
}

/// `attach --json`: the run's events from now on as `train --headless --json` lines
/// (the run so far only sets up the reporters), until the run ends.
fn print_events(path: &Path) -> Result<ExitCode> {
    let attached = live::attach(path, Want::Events)
        .with_context(|| format!("attaching to {}", path.display()))?;
    let race = attached.welcome.lanes.len() > 1;
    let mut reporters: Vec<Reporter> = attached
        .welcome
        .lanes
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Reporter::for_variant(
                race.then(|| l.clone().unwrap_or_else(|| format!("variant {}", i + 1))),
            )
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let mut select = crossbeam_channel::Select::new();
    for lane in &attached.lanes {
        select.recv(lane.events());
    }
    let mut open = attached.lanes.len();
    let mut caught_up = vec![false; attached.lanes.len()];
    while open > 0 {
        let op = select.select();
        let lane = op.index();
        let Ok(event) = op.recv(attached.lanes[lane].events()) else {
            select.remove(lane);
            open -= 1;
            continue;
        };
        let live = caught_up[lane];
        if let crate::train::Event::CaughtUp = event {
            caught_up[lane] = true;
        }
        let line = reporters[lane].json(&event);
        if let Some(line) = line.filter(|_| live)
            && writeln!(out, "{line}").and_then(|()| out.flush()).is_err()
        {
            // The reader has gone (`| head`): so does this viewer.
            break;
        }
    }
    attached.lanes.into_iter().for_each(TrainerHandle::stop);
    Ok(ExitCode::SUCCESS)
}

/// `lenet-tui stop`.
pub fn stop(args: &StopArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let run = live_run(&args.run, &runs_dir)?;
    let pid = rustix::process::Pid::from_raw(run.pid as i32)
        .with_context(|| format!("{}: pid {} in its lock", run.dir.display(), run.pid))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM)
        .with_context(|| format!("asking process {} to stop", run.pid))?;
    eprintln!(
        "lenet-tui: asked {} (pid {}) to save and end…",
        run.dir.display(),
        run.pid
    );
    let deadline = Instant::now() + STOP_WAIT;
    while owner_of(&run.dir).is_some() {
        if Instant::now() > deadline {
            bail!(
                "{}: process {} has not ended after {} s",
                run.dir.display(),
                run.pid,
                STOP_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    match checkpoint::locate(&ResumeFrom::Path(run.dir.clone()), &runs_dir) {
        Ok(newest) => println!(
            "stopped; newest checkpoint: {} (go on with `lenet-tui train --resume {}`)",
            newest.display(),
            newest.display()
        ),
        Err(_) => println!("stopped: {}", run.dir.display()),
    }
    Ok(ExitCode::SUCCESS)
}
