//! The dashboard. Terminal input and trainer events meet in one loop; state changes
//! only in [`App`](app::App), and each frame is drawn from it by [`render::render`]
//! at most ~15 times a second, and only when something changed.

pub mod app;
pub mod budget;
pub mod history;
pub mod keys;
pub mod log;
pub mod render;
pub mod term;
pub mod theme;
pub mod widgets;

use std::cell::RefCell;
use std::io;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use crossterm::event::{Event as TermEvent, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::capture::{self, Palette, cast::Recorder};
use crate::signals::Signal;
use crate::train::{SaveReason, TrainerHandle};
use app::{App, Effect, RunState};
use budget::OutputBudget;
use keys::Key;
use theme::ThemeKind;

/// Frame interval: ~15 frames per second is smooth for charts and cheap over SSH.
const FRAME: Duration = Duration::from_millis(66);
/// How long the input thread waits for a key before checking whether to stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Where and how captures are written.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureOptions {
    /// Directory for screenshots, recordings and figures (created on demand).
    pub dir: PathBuf,
    /// PNG scale (cells of 8×16 pixels times this).
    pub png_scale: u32,
    /// Record from the first frame into this file.
    pub record: Option<PathBuf>,
    /// Save a screenshot at every epoch end (`--snapshot-every epoch`).
    pub every_epoch: bool,
}

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

/// Progress events seen by the `dashboard-panic` failpoint (and the end of the run, by
/// `dashboard-panic-finished`).
static DASHBOARD_PANIC: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// How long quitting waits for the last checkpoint before leaving anyway.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the event loop ended.
enum Exit {
    /// The user quit.
    Quit,
    /// SIGHUP, SIGTERM or SIGINT.
    Signal(Signal),
}

/// The terminal's default colours for exports, from the theme.
pub fn palette(app: &App) -> Palette {
    match app.theme.kind {
        ThemeKind::Dark => Palette::DARK,
        ThemeKind::Light => Palette::LIGHT,
    }
}

/// Draws the dashboard off-screen at `width`×`height`: what a screenshot shows.
pub fn render_offscreen(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("an in-memory terminal");
    terminal
        .draw(|f| render::render(app, f))
        .expect("drawing in memory cannot fail");
    terminal.backend().buffer().clone()
}

/// Saves a screenshot of `app` at `size`; returns a status line either way.
pub fn save_screenshot(app: &App, size: (u16, u16), capture: &CaptureOptions) -> String {
    let buf = render_offscreen(app, size.0, size.1);
    match capture::write_screenshot(
        &buf,
        &palette(app),
        capture.png_scale,
        &capture.dir,
        &app.capture_stem(),
    ) {
        Ok(paths) => format!(
            "saved {}",
            shorten(&paths[0].with_extension("{svg,png,txt}"))
        ),
        Err(e) => format!("screenshot failed: {}: {e}", capture.dir.display()),
    }
}

/// Saves the training figure of `app`; returns a status line either way.
pub fn save_figure(app: &App, capture: &CaptureOptions) -> String {
    let data = app.figure_data();
    let stem = format!("{}_figure", app.capture_stem());
    match capture::figure::write_figure(&data, &capture.dir, &stem, capture.png_scale) {
        Ok(path) => format!(
            "figure saved: {}",
            shorten(&path.with_extension("{png,svg}"))
        ),
        Err(e) => format!("figure failed: {}: {e}", capture.dir.display()),
    }
}

fn shorten(path: &Path) -> String {
    let text = path.display().to_string();
    match directories::BaseDirs::new() {
        Some(b) => match path.strip_prefix(b.home_dir()) {
            Ok(rest) => format!("~/{}", rest.display()),
            Err(_) => text,
        },
        None => text,
    }
}

/// Runs the dashboard until the user quits or a signal arrives; the terminal is
/// restored and a checkpoint written on every path out, panics included.
pub fn run(
    trainer: TrainerHandle,
    mut app: App,
    capture: CaptureOptions,
    signals: &Receiver<Signal>,
) -> io::Result<Outcome> {
    let mut log = log::Log::open();
    let recorder: term::SharedRecorder = Rc::new(RefCell::new(None));
    let record_error = Rc::new(RefCell::new(None));
    let written = Rc::new(std::cell::Cell::new(0));
    let mut terminal = term::enter(
        recorder.clone(),
        record_error.clone(),
        written.clone(),
        log.path().cloned(),
    )?;
    if let Some(path) = &capture.record {
        let size = terminal.size()?;
        match Recorder::create(path, size.width, size.height, "lenet-tui") {
            Ok(r) => {
                *recorder.borrow_mut() = Some(r);
                app.recording = true;
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
        trainer.send(command);
    }
    let mut looper = Loop {
        terminal: &mut terminal,
        trainer: &trainer,
        app: &mut app,
        log: &mut log,
        recorder,
        record_error,
        written,
        capture: &capture,
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| looper.run(&input, signals)));
    stop.store(true, Ordering::Relaxed);
    term::leave();
    let reason = match &result {
        Ok(Ok(Exit::Quit)) => SaveReason::Quit,
        Ok(Ok(Exit::Signal(signal))) => signal.save_reason(),
        // The terminal failed: most often the SSH connection went away.
        Ok(Err(_)) => SaveReason::Hangup,
        Err(_) => SaveReason::Panic,
    };
    let saved = trainer.save_now(reason, SAVE_TIMEOUT);
    match &saved {
        Ok(path) => log.line(&format!("checkpoint ({reason}): {}", path.display())),
        Err(why) => log.line(&format!("no checkpoint ({reason}): {why}")),
    }
    trainer.stop();
    let exit = match result {
        Ok(exit) => exit?,
        Err(panic) => {
            // The panic hook has restored the terminal and printed the message.
            if let Ok(path) = &saved {
                eprintln!("lenet-tui: checkpoint saved: {}", path.display());
            }
            std::panic::resume_unwind(panic);
        }
    };
    Ok(Outcome {
        state: app.state,
        status: app.status,
        log_path: log.path().cloned(),
        checkpoint: Some(saved),
        signal: match exit {
            Exit::Signal(signal) => Some(signal),
            Exit::Quit => None,
        },
    })
}

struct Loop<'a> {
    terminal: &'a mut term::Term,
    trainer: &'a TrainerHandle,
    app: &'a mut App,
    log: &'a mut log::Log,
    recorder: term::SharedRecorder,
    record_error: Rc<RefCell<Option<String>>>,
    /// Bytes written to the terminal so far.
    written: Rc<std::cell::Cell<u64>>,
    capture: &'a CaptureOptions,
}

impl Loop<'_> {
    fn run(
        &mut self,
        input: &Receiver<io::Result<TermEvent>>,
        signals: &Receiver<Signal>,
    ) -> io::Result<Exit> {
        let mut events = self.trainer.events().clone();
        let mut dirty = true;
        let mut last_draw = Instant::now() - FRAME;
        let mut budget = self
            .app
            .max_output
            .map(|rate| OutputBudget::new(rate, Instant::now()));
        // The newest routine heatmap refresh the budget has held back.
        let mut deferred: Option<crate::train::Event> = None;
        loop {
            if let Some(e) = self.record_error.borrow_mut().take() {
                self.app.recording = false;
                self.app.status = Some(e);
                dirty = true;
            }
            if deferred.is_some() && budget.as_mut().is_none_or(|b| b.allows(Instant::now())) {
                self.app.on_event(deferred.take().expect("checked above"));
                dirty = true;
            }
            if dirty && last_draw.elapsed() >= FRAME {
                let app = &*self.app;
                let before = self.written.get();
                self.terminal.draw(|f| render::render(app, f))?;
                let bytes = self.written.get() - before;
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
            select! {
                recv(events) -> event => match event {
                    Ok(event) => {
                        let showing = !self.app.activations.is_empty();
                        if budget
                            .as_mut()
                            .is_some_and(|b| b.holds_back(&event, showing, Instant::now()))
                        {
                            deferred = Some(event);
                            continue;
                        }
                        if matches!(event, crate::train::Event::Activations { .. }) {
                            // Newer than any refresh held back.
                            deferred = None;
                        }
                        self.log.event(&event);
                        if let Some(label) = capture::cast::marker_label(&event) {
                            self.marker(&label);
                        }
                        if matches!(event, crate::train::Event::Progress(_))
                            && crate::failpoint::hit("dashboard-panic", &DASHBOARD_PANIC)
                        {
                            panic!("failpoint dashboard-panic");
                        }
                        let finished = matches!(event, crate::train::Event::Finished(_));
                        let epoch_end = matches!(event, crate::train::Event::EpochFinished(_));
                        self.app.on_event(event);
                        if epoch_end && self.capture.every_epoch {
                            self.apply(Effect::Screenshot)?;
                        }
                        if finished {
                            let status = save_figure(self.app, self.capture);
                            self.log.line(&status);
                            if !status.starts_with("figure saved") {
                                self.app.status = Some(status);
                            }
                            if crate::failpoint::hit("dashboard-panic-finished", &DASHBOARD_PANIC) {
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
                        match self.app.keymap.action(&Key::from_event(&key)) {
                            Some(action) => {
                                for effect in self.app.on_action(action) {
                                    self.apply(effect)?;
                                }
                            }
                            None => self.app.on_unbound_key(),
                        }
                        dirty = true;
                    }
                    Ok(Ok(TermEvent::Resize(w, h))) => {
                        if let Some(r) = self.recorder.borrow_mut().as_mut() {
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
                        self.log.line(&format!("{} received", signal.name()));
                        self.stop_recording();
                        return Ok(Exit::Signal(signal));
                    }
                }
                default(wait) => {}
            }
        }
    }

    fn marker(&mut self, label: &str) {
        if let Some(r) = self.recorder.borrow_mut().as_mut() {
            let _ = r.marker(label);
        }
    }

    fn stop_recording(&mut self) -> Option<PathBuf> {
        let path = self
            .recorder
            .borrow_mut()
            .take()
            .map(|r| r.path().to_path_buf());
        self.app.recording = false;
        path
    }

    fn apply(&mut self, effect: Effect) -> io::Result<()> {
        match effect {
            Effect::Trainer(command) => {
                self.trainer.send(command);
            }
            Effect::Screenshot => {
                let size = self.terminal.size()?;
                let status = save_screenshot(self.app, (size.width, size.height), self.capture);
                self.log.line(&status);
                self.app.status = Some(status);
            }
            Effect::Figure => {
                let status = save_figure(self.app, self.capture);
                self.log.line(&status);
                self.app.status = Some(status);
            }
            Effect::ToggleRecording => {
                if let Some(path) = self.stop_recording() {
                    self.app.status = Some(format!("recording saved: {}", shorten(&path)));
                    return Ok(());
                }
                let size = self.terminal.size()?;
                let result = std::fs::create_dir_all(&self.capture.dir).and_then(|()| {
                    let stem = capture::dir::unique_stem(
                        &self.capture.dir,
                        &self.app.capture_stem(),
                        &["cast"],
                    );
                    let path = self.capture.dir.join(format!("{stem}.cast"));
                    Recorder::create(&path, size.width, size.height, "lenet-tui")
                });
                match result {
                    Ok(r) => {
                        self.app.status = Some(format!("recording to {}", shorten(r.path())));
                        *self.recorder.borrow_mut() = Some(r);
                        self.app.recording = true;
                        // Redraw everything so the recording starts with a whole frame.
                        self.terminal.clear()?;
                    }
                    Err(e) => {
                        self.app.status = Some(format!(
                            "recording failed: {}: {e}",
                            self.capture.dir.display()
                        ));
                    }
                }
            }
        }
        Ok(())
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
