//! The dashboard. Terminal input and trainer events meet in one loop (`event_loop`);
//! state changes only in [`App`](app::App), and each frame is drawn from it by
//! [`render::render`] at most ~15 times a second, and only when something changed.
//! This module sets the terminal up, runs the loop, and saves on every way out.

pub mod app;
pub mod budget;
pub mod cadence;
pub mod chart_view;
pub mod effect;
mod event_loop;
pub mod history;
pub mod keys;
pub mod render;
pub mod snapshot;
pub mod term;
pub mod theme;
pub mod widgets;

use std::io;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Receiver;
use crossterm::event::Event as TermEvent;

use crate::capture::cast::Recorder;
use crate::signals::Signal;
use crate::train::{SaveReason, TrainerHandle};
use app::{App, EffectDone, Pointer, RunState};
use event_loop::{Exit, Loop, Sources};
pub use snapshot::CaptureOptions;

/// How long the input thread waits for a key before checking whether to stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// How the dashboard ended.
pub struct Outcome {
    /// The run's state at exit.
    pub state: RunState,
    /// The last status message.
    pub status: Option<String>,
    /// Where the log went.
    pub log_path: Option<PathBuf>,
    /// The checkpoint written on the way out, or why none was.
    pub checkpoint: Option<Result<PathBuf, String>>,
    /// The signal that ended the dashboard, if one did.
    pub signal: Option<Signal>,
    /// The terminal went away and the run goes on without it, for the caller to drive
    /// headless.
    pub going_on: Option<GoingOn>,
}

/// A run whose dashboard's terminal went away, still training.
pub struct GoingOn {
    /// Its trainers.
    pub trainers: Vec<TrainerHandle>,
    /// The dashboard's state, the run so far in it: its figure at the end is whole.
    pub app: App,
}

/// How long quitting waits for the last checkpoint before leaving anyway.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the dashboard until the user quits or a signal arrives; the terminal is
/// restored and a checkpoint written on every path out, panics included.
pub fn run(
    trainers: Vec<TrainerHandle>,
    mut app: App,
    capture: CaptureOptions,
    signals: &Receiver<Signal>,
    hub: Option<Arc<crate::live::Hub>>,
    go_on_after_hangup: bool,
) -> io::Result<Outcome> {
    let mut terminal = term::enter()?;
    if let Some(path) = &capture.record {
        let size = terminal.size()?;
        match Recorder::create(path, size.width, size.height, "lenet-tui") {
            Ok(r) => {
                terminal.backend_mut().writer_mut().start_recording(r);
                app.on_effect_done(EffectDone::RecordingFromStart);
            }
            Err(e) => {
                term::leave();
                return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(stop.clone());
    for command in app.initial_commands() {
        crate::live::send_local(hub.as_deref(), &trainers, app.recipients(command));
    }
    let mut sources = Sources::new(&trainers, &input, signals);
    let mut looper = Loop::new(&mut terminal, &trainers, hub.as_deref(), &mut app, &capture);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| looper.run(&mut sources)));
    // From here the trainers' answers (a checkpoint on the way out) go to whoever asks.
    drop(sources);
    stop.store(true, Ordering::Relaxed);
    term::leave();
    let reason = match &result {
        Ok(Ok(Exit::Quit)) => SaveReason::Quit,
        Ok(Ok(Exit::Signal(signal))) => signal.save_reason(),
        // The terminal failed: most often the SSH connection went away.
        Ok(Err(_)) => SaveReason::Hangup,
        Err(_) => SaveReason::Panic,
    };
    // A replay has nothing to save, nor a viewer of another process's run.
    let owner = app.runs.replay.is_none() && app.runs.watching.is_none();
    let saved = owner.then(|| save_on_the_way_out(&trainers, reason));
    // The terminal went away from a run still training: it goes on, detached.
    let hung_up = matches!(&result, Ok(Ok(Exit::Signal(Signal::Hangup))) | Ok(Err(_)));
    let training = app.runs.views.iter().any(|r| r.state.is_active());
    let going_on = hung_up && go_on_after_hangup && owner && training;
    let going_on = if going_on {
        Some(trainers)
    } else {
        trainers.into_iter().for_each(TrainerHandle::stop);
        None
    };
    let exit = match result {
        Ok(Err(_)) if going_on.is_some() => Exit::Signal(Signal::Hangup),
        Ok(exit) => exit?,
        Err(panic) => {
            // The panic hook has restored the terminal and printed the message.
            if let Some(Ok(path)) = &saved {
                eprintln!("lenet-tui: checkpoint saved: {}", path.display());
            }
            std::panic::resume_unwind(panic);
        }
    };
    Ok(Outcome {
        state: app.run().state.clone(),
        status: app.screen.status.clone(),
        log_path: crate::logging::path().map(PathBuf::from),
        checkpoint: saved,
        signal: match exit {
            Exit::Signal(signal) => Some(signal),
            Exit::Quit => None,
        },
        going_on: going_on.map(|trainers| GoingOn { trainers, app }),
    })
}

/// Every trainer's checkpoint for `reason`, the way out; logged either way.
fn save_on_the_way_out(trainers: &[TrainerHandle], reason: SaveReason) -> Result<PathBuf, String> {
    let named = trainers
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("variant {}", i + 1), t));
    let saved = crate::train::save_all(named, reason, crate::train::SAVE_ANSWER, SAVE_TIMEOUT);
    match &saved {
        Ok(path) => tracing::info!(%reason, path = %path.display(), "checkpoint on the way out"),
        Err(why) => tracing::warn!(%reason, "no checkpoint on the way out: {why}"),
    }
    saved
}

/// What a mouse event over the canvas (at `pixel`, if on it) does in draw mode.
fn pointer(kind: crossterm::event::MouseEventKind, pixel: Option<(f32, f32)>) -> Pointer {
    use crossterm::event::{MouseButton, MouseEventKind as K};
    match (kind, pixel) {
        (K::Down(MouseButton::Left) | K::Drag(MouseButton::Left), Some(p)) => Pointer::Paint(p),
        (K::Down(MouseButton::Right) | K::Drag(MouseButton::Right), Some(p)) => Pointer::Erase(p),
        _ => Pointer::Lift,
    }
}

/// Reads terminal events on a thread of its own (crossterm offers no channel), so the
/// loop's one select can wait on the trainers and the keyboard at once.
fn spawn_input(stop: Arc<AtomicBool>) -> Receiver<io::Result<TermEvent>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match crossterm::event::poll(INPUT_POLL) {
                    Ok(false) => {}
                    Ok(true) => {
                        let event = crossterm::event::read();
                        let failed = event.is_err();
                        if tx.send(event).is_err() || failed {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .expect("spawning the input thread");
    rx
}
