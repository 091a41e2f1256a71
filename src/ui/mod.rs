//! The dashboard. Terminal input and trainer events meet in one loop; state changes
//! only in [`App`](app::App), and each frame is drawn from it by [`render::render`]
//! at most ~15 times a second, and only when something changed.

pub mod app;
pub mod budget;
pub mod effect;
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
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use crossterm::event::{Event as TermEvent, KeyEventKind};

use crate::capture::{self, cast::Recorder};
use crate::data::own::{OwnImage, Preparation};
use crate::signals::Signal;
use crate::train::{SaveReason, TrainerHandle};
use app::{App, Effect, EffectDone, Pointer, RunState};
use budget::OutputBudget;
use keys::Key;
pub use snapshot::CaptureOptions;
use snapshot::shorten;

/// Frame interval: ~15 frames per second is smooth for charts and cheap over SSH.
const FRAME: Duration = Duration::from_millis(66);
/// How long the input thread waits for a key before checking whether to stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// How the dashboard ended.
#[derive(Debug)]
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
}

/// Progress events seen by the `dashboard-panic` failpoint.
static DASHBOARD_PANIC: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// Ends of the run seen by the `dashboard-panic-finished` failpoint.
static FINISHED_PANIC: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// How long quitting waits for the last checkpoint before leaving anyway.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the event loop ended.
enum Exit {
    /// The user quit.
    Quit,
    /// SIGHUP, SIGTERM or SIGINT.
    Signal(Signal),
}

/// Runs the dashboard until the user quits or a signal arrives; the terminal is
/// restored and a checkpoint written on every path out, panics included.
pub fn run(
    trainers: Vec<TrainerHandle>,
    mut app: App,
    capture: CaptureOptions,
    signals: &Receiver<Signal>,
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
        for (lane, command) in app.recipients(command) {
            trainers[lane].send(command);
        }
    }
    let (forwarders, events) = Forwarders::start(&trainers);
    let mut looper = Loop {
        terminal: &mut terminal,
        trainers: &trainers,
        app: &mut app,
        capture: &capture,
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| looper.run(events, &input, signals)));
    stop.store(true, Ordering::Relaxed);
    forwarders.stop();
    term::leave();
    let reason = match &result {
        Ok(Ok(Exit::Quit)) => SaveReason::Quit,
        Ok(Ok(Exit::Signal(signal))) => signal.save_reason(),
        // The terminal failed: most often the SSH connection went away.
        Ok(Err(_)) => SaveReason::Hangup,
        Err(_) => SaveReason::Panic,
    };
    // A replay has nothing to save, and writes nothing into the run it shows.
    let named = trainers
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("variant {}", i + 1), t));
    let saved = app
        .replay
        .is_none()
        .then(|| crate::train::save_all(named, reason, crate::train::SAVE_ANSWER, SAVE_TIMEOUT));
    match &saved {
        Some(Ok(path)) => {
            tracing::info!(%reason, path = %path.display(), "checkpoint on the way out")
        }
        Some(Err(why)) => tracing::warn!(%reason, "no checkpoint on the way out: {why}"),
        None => {}
    }
    trainers.into_iter().for_each(TrainerHandle::stop);
    let exit = match result {
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
        status: app.status,
        log_path: crate::logging::path().map(PathBuf::from),
        checkpoint: saved,
        signal: match exit {
            Exit::Signal(signal) => Some(signal),
            Exit::Quit => None,
        },
    })
}

/// The threads that put every trainer's events into one channel, tagged with the
/// trainer's place.
struct Forwarders {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Forwarders {
    /// Starts them; the channel closes when the last trainer's does.
    fn start(trainers: &[TrainerHandle]) -> (Self, Receiver<(usize, crate::train::Event)>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = trainers
            .iter()
            .enumerate()
            .map(|(lane, trainer)| {
                let events = trainer.events().clone();
                let (tx, stop) = (tx.clone(), stop.clone());
                std::thread::Builder::new()
                    .name(format!("events-{}", lane + 1))
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            match events.recv_timeout(INPUT_POLL) {
                                Ok(event) => {
                                    if tx.send((lane, event)).is_err() {
                                        return;
                                    }
                                }
                                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                            }
                        }
                    })
                    .expect("spawning an event forwarder")
            })
            .collect();
        (Forwarders { stop, threads }, rx)
    }

    /// Stops them, so that the trainers' answers (a checkpoint on the way out) come
    /// to whoever asks for them.
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

struct Loop<'a> {
    terminal: &'a mut term::Term,
    trainers: &'a [TrainerHandle],
    app: &'a mut App,
    capture: &'a CaptureOptions,
}

impl Loop<'_> {
    fn run(
        &mut self,
        mut events: Receiver<(usize, crate::train::Event)>,
        input: &Receiver<io::Result<TermEvent>>,
        signals: &Receiver<Signal>,
    ) -> io::Result<Exit> {
        let mut dirty = true;
        let mut last_draw = Instant::now() - FRAME;
        let mut budget = self
            .app
            .max_output
            .map(|rate| OutputBudget::new(rate, Instant::now()));
        // The newest routine heatmap refresh the budget has held back.
        let mut deferred: Option<(usize, crate::train::Event)> = None;
        loop {
            for effect in self.app.tick(Instant::now()) {
                self.apply(effect)?;
            }
            if let Some(why) = self.writer().take_lost() {
                self.app.on_effect_done(EffectDone::RecordingLost(why));
                dirty = true;
            }
            if deferred.is_some() && budget.as_mut().is_none_or(|b| b.allows(Instant::now())) {
                let (lane, event) = deferred.take().expect("checked above");
                self.app.on_lane_event(lane, event);
                dirty = true;
            }
            if dirty && last_draw.elapsed() >= FRAME {
                let before = self.writer().written();
                let app = &*self.app;
                self.terminal.draw(|f| render::render(app, f))?;
                let bytes = self.writer().written() - before;
                if let Some(b) = budget.as_mut() {
                    b.spend(bytes, Instant::now());
                }
                dirty = false;
                last_draw = Instant::now();
            }
            if self.app.should_quit {
                self.stop_recording();
                return Ok(Exit::Quit);
            }
            let mut wait = if dirty {
                FRAME.saturating_sub(last_draw.elapsed())
            } else {
                Duration::from_secs(1)
            };
            if deferred.is_some()
                && let Some(b) = budget.as_mut()
            {
                wait = wait.min(b.wait(Instant::now()));
            }
            if let Some(w) = self.app.draw_wait(Instant::now()) {
                wait = wait.min(w);
            }
            select! {
                recv(events) -> event => match event {
                    Ok((lane, event)) => {
                        let showing = !self.app.run().activations.is_empty();
                        // One variant's refresh held back at a time: a race's others
                        // show theirs at their next one.
                        if budget
                            .as_mut()
                            .is_some_and(|b| b.holds_back(&event, showing, Instant::now()))
                        {
                            deferred = Some((lane, event));
                            continue;
                        }
                        if matches!(event, crate::train::Event::Activations { .. })
                            && deferred.as_ref().is_some_and(|(l, _)| *l == lane)
                        {
                            // Newer than any refresh held back.
                            deferred = None;
                        }
                        if let Some(label) = capture::cast::marker_label(&event) {
                            self.marker(&label);
                        }
                        if matches!(event, crate::train::Event::Progress(_))
                            && crate::failpoint::hit("dashboard-panic", &DASHBOARD_PANIC)
                        {
                            panic!("failpoint dashboard-panic");
                        }
                        let finished = matches!(event, crate::train::Event::Finished(_));
                        // A race's screenshot is taken as its focused variant ends an epoch.
                        let epoch_end = matches!(event, crate::train::Event::EpochFinished(_))
                            && lane == self.app.focus();
                        self.app.on_lane_event(lane, event);
                        if epoch_end && self.capture.every_epoch {
                            self.apply(Effect::Screenshot)?;
                        }
                        let all_finished = (0..self.app.lane_count())
                            .all(|i| self.app.lane_state(i) == &RunState::Finished);
                        // A replay's figure is the user's to ask for (`f`); a race's
                        // comes when its last variant finishes.
                        if finished && all_finished && self.app.replay.is_none() {
                            let done = snapshot::figure(self.app, self.capture, chrono::Local::now(), false);
                            self.done(done);
                            if crate::failpoint::hit("dashboard-panic-finished", &FINISHED_PANIC) {
                                panic!("failpoint dashboard-panic-finished");
                            }
                        }
                        dirty = true;
                    }
                    // The trainer is gone; keep showing its last state.
                    Err(_) => events = crossbeam_channel::never(),
                },
                recv(input) -> term => match term {
                    Ok(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                        let key = Key::from_event(&key);
                        // Draw mode has the arrows, Space and a few more; an open
                        // overlay has every key.
                        let drawn = match self.app.overlay {
                            Some(app::Overlay::OpenImage) => self.app.on_prompt_key(&key),
                            Some(_) => None,
                            None => self.app.on_draw_key(&key),
                        };
                        let effects = match (drawn, self.app.keymap.action(&key)) {
                            (Some(effects), _) => effects,
                            (None, Some(action)) => self.app.on_action(action),
                            (None, None) => {
                                self.app.on_unbound_key();
                                Vec::new()
                            }
                        };
                        for effect in effects {
                            self.apply(effect)?;
                        }
                        dirty = true;
                    }
                    Ok(Ok(TermEvent::Mouse(mouse))) if self.app.drawing.is_some() => {
                        let size = self.terminal.size()?;
                        let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                        let pixel = render::canvas_pixel(self.app, area, (mouse.column, mouse.row));
                        for effect in self.app.on_pointer(pointer(mouse.kind, pixel)) {
                            self.apply(effect)?;
                        }
                        dirty = true;
                    }
                    Ok(Ok(TermEvent::Resize(w, h))) => {
                        if let Some(r) = self.writer().recorder() {
                            let _ = r.resize(w, h);
                        }
                        dirty = true;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(io::Error::other("the input thread ended")),
                },
                recv(signals) -> signal => {
                    if let Ok(signal) = signal {
                        tracing::info!("{} received", signal.name());
                        self.stop_recording();
                        return Ok(Exit::Signal(signal));
                    }
                }
                default(wait) => {}
            }
        }
    }

    /// The terminal's writer, which holds the recording and counts the bytes.
    fn writer(&mut self) -> &mut term::TermWriter {
        self.terminal.backend_mut().writer_mut()
    }

    fn marker(&mut self, label: &str) {
        if let Some(r) = self.writer().recorder() {
            let _ = r.marker(label);
        }
    }

    /// Ends the recording on the way out (nothing left to tell the user on screen).
    fn stop_recording(&mut self) {
        self.writer().stop_recording();
    }

    /// Hands what an effect came to to the app; files written go to the log too.
    fn done(&mut self, done: EffectDone) {
        let wrote_files = matches!(
            done,
            EffectDone::Screenshot(_)
                | EffectDone::Figure { .. }
                | EffectDone::RecordingStopped(_)
                | EffectDone::RecordingLost(_)
        );
        if wrote_files && let Some(message) = done.message() {
            tracing::info!("{message}");
        }
        self.app.on_effect_done(done);
    }

    fn apply(&mut self, effect: Effect) -> io::Result<()> {
        match effect {
            Effect::Trainer(command) => {
                for (lane, command) in self.app.recipients(command) {
                    self.trainers[lane].send(command);
                }
            }
            Effect::Screenshot => {
                let size = self.terminal.size()?;
                let done = snapshot::screenshot(
                    self.app,
                    (size.width, size.height),
                    self.capture,
                    chrono::Local::now(),
                );
                self.done(done);
            }
            Effect::Figure => {
                let done = snapshot::figure(self.app, self.capture, chrono::Local::now(), true);
                self.done(done);
            }
            Effect::MouseCapture(on) => {
                // Only in draw mode: elsewhere the terminal's own selection works.
                if on {
                    crossterm::execute!(self.writer(), crossterm::event::EnableMouseCapture)?;
                } else {
                    crossterm::execute!(self.writer(), crossterm::event::DisableMouseCapture)?;
                }
            }
            Effect::OpenImage(spec) => {
                let data = &self.app.dataset;
                let how = Preparation::for_data(&data.test, &data.classes, false);
                let opened = OwnImage::from_spec(&spec, &data.classes, how)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                match &opened {
                    Ok(image) => tracing::info!("image {spec}: read as {}", image.name),
                    Err(why) => tracing::warn!("image {spec}: {why}"),
                }
                self.done(EffectDone::ImageOpened(opened));
            }
            Effect::SaveDrawing(image) => {
                let side = self.app.dataset.test.rows;
                let done = snapshot::drawing(&image, side, self.capture, chrono::Local::now());
                self.done(done);
            }
            Effect::ToggleRecording => {
                if let Some(r) = self.writer().stop_recording() {
                    let done = match r.finish() {
                        Ok(path) => EffectDone::RecordingStopped(shorten(&path)),
                        Err(e) => EffectDone::RecordingLost(format!("recording: {e}")),
                    };
                    self.done(done);
                    return Ok(());
                }
                let size = self.terminal.size()?;
                let dir = &self.capture.dir;
                let now = chrono::Local::now();
                let result = std::fs::create_dir_all(dir).and_then(|()| {
                    let stem =
                        capture::dir::unique_stem(dir, &self.app.capture_stem(now), &["cast"]);
                    let path = dir.join(format!("{stem}.cast"));
                    Recorder::create(&path, size.width, size.height, "lenet-tui")
                });
                match result {
                    Ok(r) => {
                        let file = shorten(r.path());
                        self.writer().start_recording(r);
                        self.done(EffectDone::RecordingStarted(Ok(file)));
                        // Redraw everything so the recording starts with a whole frame.
                        self.terminal.clear()?;
                    }
                    Err(e) => {
                        let why = format!("{}: {e}", dir.display());
                        self.done(EffectDone::RecordingStarted(Err(why)));
                    }
                }
            }
        }
        Ok(())
    }
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

/// Reads terminal events on a thread of its own, so the loop can wait on the trainer
/// and the keyboard at once.
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
