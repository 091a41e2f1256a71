//! `lenet-tui` and `lenet-tui train`: the dashboard, or headless training with text
//! or JSON lines, and the exit status each way of ending gets (README: exit
//! statuses).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::capture;
use crate::cli::{CaptureArgs, RunArgs, TrainArgs, UiArgs};
use crate::config::{self, Config, OnHangup, OutputLimit};
use crate::data::Dataset;
use crate::data::own::{OwnImage, Preparation};
use crate::headless::{self, HeadlessError, Report, Snapshots};
use crate::live::Host;
use crate::session::{self, Request};
use crate::signals;
use crate::train::{Lane, TrainerHandle};
use crate::ui::CaptureOptions;
use crate::ui::app::{App, RunState, Watching};
use crate::ui::keys::KeyMap;
use crate::ui::theme::{ColorChoice, ColorDepth, Theme};

/// Exit status when training diverged (README: exit statuses).
const EXIT_DIVERGED: u8 = 3;

/// Starts the session `args` ask for, with `reports_per_epoch` progress reports; its
/// warnings go to stderr (before the dashboard, so they stay on screen after it).
fn start(
    config: &Config,
    args: &RunArgs,
    reports_per_epoch: u32,
) -> Result<(Arc<Dataset>, Vec<Lane>)> {
    let started = session::start(Request {
        config,
        config_file: args.config.as_deref(),
        overrides: args.overrides(),
        resume: args.resume.as_ref(),
        reports_per_epoch,
        races: args.races.clone(),
        force: args.force,
    })?;
    for warning in &started.warnings {
        tracing::warn!("{warning}");
        eprintln!("lenet-tui: warning: {warning}");
    }
    if let Some(race) = &started.race {
        tracing::info!("race: {}", race.display());
    }
    Ok((started.dataset, started.lanes))
}

fn capture_options(
    config: &Config,
    args: &CaptureArgs,
    record: Option<&std::path::Path>,
) -> CaptureOptions {
    CaptureOptions {
        dir: capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref()),
        png_scale: args
            .png_scale
            .or(config.capture.png_scale.map(|s| s.0))
            .unwrap_or(capture::DEFAULT_SCALE),
        record: record.map(std::path::Path::to_path_buf),
        every_epoch: args.snapshot_every == Some(crate::cli::SnapshotEvery::Epoch),
    }
}

/// The theme from the command line over the config file, at `depth`, or else at the
/// depth they choose or the terminal's.
fn theme(config: &Config, ui: &UiArgs, depth: Option<ColorDepth>) -> Theme {
    let choice = depth
        .map(ColorChoice::Fixed)
        .or(ui.color)
        .or(config.ui.color)
        .unwrap_or_default();
    Theme {
        depth_detected: choice == ColorChoice::Auto,
        ..Theme::new(
            ui.theme.or(config.ui.theme).unwrap_or_default(),
            choice.depth(),
            ui.marker.or(config.ui.marker).unwrap_or_default(),
        )
    }
    .with_heatmap(ui.heatmap.or(config.ui.heatmap).unwrap_or_default())
}

/// The user's images from --image (else the config's `data.images`), prepared for
/// `dataset`; the first that cannot be read is the error.
fn own_images(config: &Config, ui: &UiArgs, dataset: &Dataset) -> Result<Vec<Arc<OwnImage>>> {
    let specs = if ui.images.is_empty() {
        &config.data.images
    } else {
        &ui.images
    };
    let how = Preparation::for_data(&dataset.test, &dataset.classes, ui.image_raw);
    specs
        .iter()
        .map(|spec| {
            let image = OwnImage::from_spec(spec, &dataset.classes, how, Some(&dataset.test))?;
            tracing::info!("image {spec}: read as {}", image.name);
            Ok(Arc::new(image))
        })
        .collect()
}

pub fn headless(args: &TrainArgs) -> Result<ExitCode> {
    let config = config::load(args.run.config.as_deref())?;
    let report = if args.json {
        Report::Json
    } else {
        Report::Text
    };
    let signals = signals::listen().context("catching signals")?;
    // The chapter's animator plots five points per epoch.
    let (dataset, lanes) = start(&config, &args.run, 5)?;
    let host = open_socket(&lanes, &dataset, args.run.share);
    let snapshots = args.ui.capture.snapshot_every.map(|_| {
        let size = args.size.map_or((160, 48), |s| (s.cols, s.rows));
        // Exported files carry exact colours whatever this terminal can show.
        let theme = theme(&config, &args.ui, Some(ColorDepth::Truecolor));
        let own = own_images(&config, &args.ui, &dataset)?;
        let mut app = App::new(dataset, theme, KeyMap::default());
        app.screen.add_own_images(own);
        anyhow::Ok(Snapshots {
            app,
            size,
            capture: capture_options(&config, &args.ui.capture, None),
        })
    });
    let snapshots = snapshots.transpose()?;
    let hub = host.as_ref().map(|h| Arc::clone(h.hub()));
    headless_outcome(headless::run(lanes, report, snapshots, &signals, hub))
}

/// The dashboard's terminal went away (its checkpoint is written): the run trains on
/// headless with its output nowhere, which its log and its viewers tell of; a later
/// SIGHUP changes nothing, SIGTERM (`lenet-tui stop`) saves and ends it.
fn go_on_detached(
    labels: Vec<Option<String>>,
    going_on: crate::ui::GoingOn,
    hub: Option<Arc<crate::live::Hub>>,
    signals: &crossbeam_channel::Receiver<signals::Signal>,
    outcome: &crate::ui::Outcome,
    capture: CaptureOptions,
) -> Result<ExitCode> {
    let crate::ui::GoingOn { trainers, app } = going_on;
    if let Err(e) = quiet_stdio() {
        tracing::warn!("cannot send the output nowhere: {e}");
    }
    let saved = match &outcome.checkpoint {
        Some(Ok(path)) => format!("checkpoint {}", path.display()),
        Some(Err(why)) => format!("no checkpoint ({why})"),
        None => "no checkpoint".into(),
    };
    tracing::info!(
        "the terminal went away; {saved}; training goes on detached (pid {}): \
         `lenet-tui attach` brings it back, `lenet-tui stop` ends it",
        std::process::id()
    );
    let lanes = labels
        .into_iter()
        .zip(trainers)
        .map(|(label, trainer)| Lane { label, trainer })
        .collect();
    let (forward, signals_on) = crossbeam_channel::unbounded();
    let all = signals.clone();
    std::thread::spawn(move || {
        for signal in all {
            if signal != signals::Signal::Hangup && forward.send(signal).is_err() {
                return;
            }
        }
    });
    // The dashboard's state goes on taking the events: the figure at the end is the
    // whole run's, as the dashboard would have saved it.
    let snapshots = Snapshots {
        app,
        size: (160, 48),
        capture,
    };
    headless_outcome(headless::run(
        lanes,
        Report::Text,
        Some(snapshots),
        &signals_on,
        hub,
    ))
}

/// Standard output and error go to /dev/null: the terminal they wrote to is gone.
fn quiet_stdio() -> std::io::Result<()> {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// Opens the run's socket for viewers (`lenet-tui attach`); a run trains on without
/// one, with a warning that says why.
fn open_socket(lanes: &[Lane], dataset: &Dataset, shared: bool) -> Option<Host> {
    let labels = lanes.iter().map(|l| l.label.clone()).collect();
    let commanders = lanes.iter().map(|l| l.trainer.commander()).collect();
    match Host::start(labels, commanders, dataset, shared) {
        Ok(host) => {
            if shared {
                let how = format!("lenet-tui attach --socket {}", host.path().display());
                tracing::info!("shared: others watch with `{how}`");
                eprintln!("lenet-tui: shared: others watch with `{how}`");
            }
            Some(host)
        }
        Err(e) => {
            tracing::warn!("no socket for viewers: {e}");
            eprintln!("lenet-tui: warning: viewers cannot attach to this run: {e}");
            None
        }
    }
}

/// The exit status of a headless run or race, with a line on stderr for the ways it
/// can end early.
fn headless_outcome(
    result: Result<Vec<headless::VariantOutcome>, HeadlessError>,
) -> Result<ExitCode> {
    match result {
        Ok(outcomes) => {
            for o in outcomes.iter().filter(|o| o.label.is_some()) {
                tracing::info!(
                    "variant `{}`: test acc {:.3} after {} epochs",
                    o.label.as_deref().unwrap_or_default(),
                    o.outcome.test_acc,
                    o.outcome.epochs
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(HeadlessError::Signal { signal, saved }) => {
            tracing::info!("stopped by {}; checkpoint: {saved:?}", signal.name());
            match saved {
                Ok(path) => eprintln!(
                    "lenet-tui: stopped by {}; checkpoint saved: {} (continue with --resume {})",
                    signal.name(),
                    path.display(),
                    path.display()
                ),
                Err(why) => eprintln!(
                    "lenet-tui: stopped by {}; no checkpoint saved: {why}; the newest \
                     checkpoint on disk stays as it was (continue with --resume latest)",
                    signal.name()
                ),
            }
            Ok(ExitCode::from(signal.exit_status()))
        }
        Err(e @ (HeadlessError::Diverged(_) | HeadlessError::VariantDiverged { .. })) => {
            tracing::error!("{e}");
            eprintln!("lenet-tui: error: {e}");
            Ok(ExitCode::from(EXIT_DIVERGED))
        }
        Err(e) => Err(anyhow::Error::new(e).context("headless training")),
    }
}

/// Progress events per epoch on the dashboard: a smooth curve, and activations
/// refreshed every couple of seconds even on a slow CPU, at negligible cost.
const DASHBOARD_REPORTS_PER_EPOCH: u32 = 40;

pub fn dashboard(args: &RunArgs, ui: &UiArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let signals = signals::listen().context("catching signals")?;
    if !std::io::stdout().is_terminal() {
        // Drawing into a pipe or file would only make garbage.
        eprintln!("lenet-tui: stdout is not a terminal; training headless");
        let (dataset, lanes) = start(&config, args, 5)?;
        let host = open_socket(&lanes, &dataset, args.share);
        let hub = host.as_ref().map(|h| Arc::clone(h.hub()));
        return headless_outcome(headless::run(lanes, Report::Text, None, &signals, hub));
    }
    let (dataset, lanes) = start(&config, args, DASHBOARD_REPORTS_PER_EPOCH)?;
    let host = open_socket(&lanes, &dataset, args.share);
    let hub = host.as_ref().map(|h| Arc::clone(h.hub()));
    show(&config, ui, dataset, lanes, &signals, Role::Owner(hub))
}

/// Whose run a dashboard shows.
pub enum Role {
    /// This process trains it (and its viewers attach here).
    Owner(Option<Arc<crate::live::Hub>>),
    /// A saved run played back: its name.
    Replay(String),
    /// Another process's live run, attached.
    Viewer(Watching),
}

/// Runs the dashboard on `lanes` (a live run, a race's variants, a replay, or another
/// process's run) until the user quits; reports how it ended on stderr.
pub fn show(
    config: &Config,
    ui: &UiArgs,
    dataset: Arc<Dataset>,
    lanes: Vec<Lane>,
    signals: &crossbeam_channel::Receiver<signals::Signal>,
    role: Role,
) -> Result<ExitCode> {
    let theme = theme(config, ui, None);
    let keymap = config.keys.clone().map_or_else(KeyMap::default, |k| k.0);
    let own = own_images(config, ui, &dataset)?;
    let mut app = App::new(dataset, theme, keymap);
    app.screen.add_own_images(own);
    let (labels, trainers): (Vec<Option<String>>, Vec<TrainerHandle>) =
        lanes.into_iter().map(|l| (l.label, l.trainer)).unzip();
    if trainers.len() > 1 {
        app.race(
            labels
                .clone()
                .into_iter()
                .enumerate()
                .map(|(i, l)| l.unwrap_or_else(|| format!("variant {}", i + 1)))
                .collect(),
        );
    }
    let replaying = matches!(role, Role::Replay(_));
    let watching = matches!(role, Role::Viewer(_));
    let go_on = ui.on_hangup.or(config.run.on_hangup).unwrap_or_default() == OnHangup::GoOn;
    let (hub, go_on) = take_role(&mut app, role, go_on);
    app.exit_on_finish = ui.exit_on_finish;
    if let Some(smoothing) = config.ui.smoothing {
        app.screen.charts.smoothing = smoothing;
    }
    app.screen.max_output = config
        .ui
        .max_output_kb
        .unwrap_or(OutputLimit::DEFAULT)
        .bytes_per_sec();
    let capture = capture_options(config, &ui.capture, ui.record.as_deref());
    let mut outcome = crate::ui::run(trainers, app, capture, signals, hub.clone(), go_on)
        .context("running the dashboard")?;
    if let Some(going_on) = outcome.going_on.take() {
        let capture = capture_options(config, &ui.capture, None);
        return go_on_detached(labels, going_on, hub, signals, &outcome, capture);
    }
    if watching {
        // The run is its owner's to report on; leaving it is this viewer's success.
        if let Some(status) = outcome.status {
            eprintln!("lenet-tui: {status}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    finish(config, outcome, replaying)
}

/// Sets `app` up for `role`: the hub of the run's viewers for its owner, the replay's
/// name, or the run a viewer attached to. Returns the hub, and whether the run goes on
/// after a hang-up (`go_on`, for its owner only).
fn take_role(app: &mut App, role: Role, go_on: bool) -> (Option<Arc<crate::live::Hub>>, bool) {
    match role {
        Role::Owner(hub) => (hub, go_on),
        Role::Replay(name) => {
            app.runs.replay = Some(name);
            (None, false)
        }
        Role::Viewer(w) => {
            app.runs.watching = Some(w);
            app.screen.status = Some(format!(
                "attached to process {}{}: q leaves, the run goes on",
                w.pid,
                if w.control { "" } else { ", view only" }
            ));
            (None, false)
        }
    }
}

/// How the dashboard of a run or a replay ended, on stderr, and its exit status.
fn finish(config: &Config, outcome: crate::ui::Outcome, replaying: bool) -> Result<ExitCode> {
    let log = outcome
        .log_path
        .map_or_else(String::new, |p| format!(" (log: {})", p.display()));
    match &outcome.checkpoint {
        Some(Ok(path)) => eprintln!(
            "lenet-tui: checkpoint: {} (continue with --resume latest)",
            path.display()
        ),
        Some(Err(why)) => eprintln!("lenet-tui: no checkpoint saved: {why}"),
        None => {}
    }
    if let RunState::Error(message) = outcome.state {
        bail!("training failed: {message}{log}");
    }
    // A replay's last word is its play head's, of no use once it has closed.
    if let Some(status) = outcome.status.filter(|_| !replaying) {
        eprintln!("lenet-tui: {status}{log}");
    }
    // What was trained since the newest checkpoint is lost unless the run had no
    // checkpoints to write or diverged (then the last good one is the one to keep).
    let unsaved = matches!(outcome.checkpoint, Some(Err(_)))
        && config.checkpoints.policy().is_some()
        && !matches!(outcome.state, RunState::Diverged(_));
    Ok(match outcome.signal {
        Some(signal) => {
            eprintln!("lenet-tui: stopped by {}", signal.name());
            ExitCode::from(signal.exit_status())
        }
        None if unsaved => ExitCode::FAILURE,
        None => ExitCode::SUCCESS,
    })
}
