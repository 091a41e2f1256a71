//! The dashboard's event loop. One [`Select`] gathers every message (each trainer's
//! events, the terminal's input, signals, and a timeout that serves as the tick);
//! each goes to [`App::update`] as a [`Message`], whose effects the loop carries out,
//! feeding what they came to back as [`Message::Done`]; then a frame is drawn if
//! something changed and the last one is a frame's time old. When to capture and
//! which heatmap refreshes the output budget holds back is [`CaptureCadence`]'s call.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select};
use crossterm::event::{Event as TermEvent, KeyEventKind};

use super::app::RunState;
use super::app::{App, Effect, EffectDone, Message};
use super::cadence::{CaptureCadence, EpochShots, Lanes, Milestone};
use super::keys::Key;
use super::snapshot::{self, CaptureOptions, shorten};
use super::{render, term};
use crate::capture::{self, cast::Recorder};
use crate::data::own::{OwnImage, Preparation};
use crate::live::Hub;
use crate::signals::Signal;
use crate::train::{Event, TrainerHandle};

/// Frame interval: ~15 frames per second is smooth for charts and cheap over SSH.
const FRAME: Duration = Duration::from_millis(66);
/// How long the loop sleeps when nothing is waiting to be drawn.
const IDLE: Duration = Duration::from_secs(1);

/// Progress events seen by the `dashboard-panic` failpoint.
static DASHBOARD_PANIC: AtomicU32 = AtomicU32::new(0);
/// Ends of the run seen by the `dashboard-panic-finished` failpoint.
static FINISHED_PANIC: AtomicU32 = AtomicU32::new(0);

/// Why the event loop ended.
pub(super) enum Exit {
    /// The user quit.
    Quit,
    /// SIGHUP, SIGTERM or SIGINT.
    Signal(Signal),
}

/// One message gathered by the select.
enum Msg {
    /// Variant `lane`'s trainer sent an event.
    Lane(usize, Event),
    /// The terminal sent input, or failed.
    Input(io::Result<TermEvent>),
    /// A signal arrived.
    Signal(Signal),
    /// Nothing came within the wait (or a source closed): time to look again.
    Tick,
}

/// Every source of messages, in one select: trainer `i` at index `i`, then the
/// terminal's input, then signals.
pub(super) struct Sources<'a> {
    select: Select<'a>,
    trainers: &'a [TrainerHandle],
    input: &'a Receiver<io::Result<TermEvent>>,
    signals: &'a Receiver<Signal>,
    input_index: usize,
    signal_index: usize,
}

impl<'a> Sources<'a> {
    pub(super) fn new(
        trainers: &'a [TrainerHandle],
        input: &'a Receiver<io::Result<TermEvent>>,
        signals: &'a Receiver<Signal>,
    ) -> Self {
        let mut select = Select::new();
        for trainer in trainers {
            select.recv(trainer.events());
        }
        let input_index = select.recv(input);
        let signal_index = select.recv(signals);
        Self {
            select,
            trainers,
            input,
            signals,
            input_index,
            signal_index,
        }
    }

    /// The next message, waiting at most `wait` for one.
    fn next(&mut self, wait: Duration) -> Msg {
        let Ok(op) = self.select.select_timeout(wait) else {
            return Msg::Tick;
        };
        let index = op.index();
        if index == self.input_index {
            return Msg::Input(
                op.recv(self.input)
                    .unwrap_or_else(|_| Err(io::Error::other("the input thread ended"))),
            );
        }
        let received = if index == self.signal_index {
            op.recv(self.signals).map(Msg::Signal)
        } else {
            op.recv(self.trainers[index].events())
                .map(|event| Msg::Lane(index, event))
        };
        received.unwrap_or_else(|_| {
            // A trainer is gone (the dashboard keeps showing its last state), or no
            // signal can come any more.
            self.select.remove(index);
            Msg::Tick
        })
    }
}

/// The loop's state: the terminal, the app, and when the next frame is due.
pub(super) struct Loop<'a> {
    terminal: &'a mut term::Term,
    trainers: &'a [TrainerHandle],
    /// The run's viewers, when it has a socket.
    hub: Option<&'a Hub>,
    app: &'a mut App,
    capture: &'a CaptureOptions,
    cadence: CaptureCadence,
    dirty: bool,
    last_draw: Instant,
}

impl<'a> Loop<'a> {
    pub(super) fn new(
        terminal: &'a mut term::Term,
        trainers: &'a [TrainerHandle],
        hub: Option<&'a Hub>,
        app: &'a mut App,
        capture: &'a CaptureOptions,
    ) -> Self {
        let shots = if capture.every_epoch {
            // A race's screenshot is taken as its focused variant ends an epoch.
            EpochShots::Focused
        } else {
            EpochShots::Never
        };
        // A replay's figure is the user's to ask for (`f`); a race's comes when its
        // last variant finishes.
        let cadence = CaptureCadence::new(app.runs.lane_count(), shots, app.runs.replay.is_none())
            .with_budget(app.screen.max_output, Instant::now());
        Self {
            terminal,
            trainers,
            hub,
            app,
            capture,
            cadence,
            dirty: true,
            last_draw: Instant::now() - FRAME,
        }
    }

    /// Runs until the user quits or a signal arrives.
    pub(super) fn run(&mut self, sources: &mut Sources<'_>) -> io::Result<Exit> {
        loop {
            self.on_tick()?;
            self.draw_if_due()?;
            if self.app.should_quit {
                self.stop_recording();
                return Ok(Exit::Quit);
            }
            let msg = sources.next(self.wait());
            if let Some(exit) = self.update(msg)? {
                return Ok(exit);
            }
        }
    }

    /// Hands one message to the app; `Some` when it ends the loop.
    fn update(&mut self, msg: Msg) -> io::Result<Option<Exit>> {
        match msg {
            Msg::Lane(lane, event) => self.on_lane(lane, event)?,
            Msg::Input(input) => self.on_input(input?)?,
            Msg::Signal(signal) => {
                tracing::info!("{} received", signal.name());
                self.stop_recording();
                return Ok(Some(Exit::Signal(signal)));
            }
            Msg::Tick => {}
        }
        Ok(None)
    }

    /// What is due whatever came: the app's timers, a recording that stopped by
    /// itself, a held refresh the budget now lets through.
    fn on_tick(&mut self) -> io::Result<()> {
        self.send(Message::Tick(Instant::now()))?;
        if let Some(why) = self.writer().take_lost() {
            self.done(EffectDone::RecordingLost(why))?;
            self.dirty = true;
        }
        if let Some((lane, event)) = self.cadence.release(Instant::now()) {
            self.send(Message::Trainer(lane, event))?;
            self.dirty = true;
        }
        Ok(())
    }

    /// Draws a frame if something changed and the last one is a frame's time old.
    fn draw_if_due(&mut self) -> io::Result<()> {
        if !self.dirty || self.last_draw.elapsed() < FRAME {
            return Ok(());
        }
        let before = self.writer().written();
        let (runs, screen) = (&self.app.runs, &self.app.screen);
        self.terminal.draw(|f| render::render(runs, screen, f))?;
        let bytes = self.writer().written() - before;
        self.cadence.spent(bytes, Instant::now());
        self.dirty = false;
        self.last_draw = Instant::now();
        Ok(())
    }

    /// How long to wait for the next message: until the next frame is due, a held
    /// refresh may go out, or a drawing is to be sent.
    fn wait(&mut self) -> Duration {
        let now = Instant::now();
        let mut wait = if self.dirty {
            FRAME.saturating_sub(self.last_draw.elapsed())
        } else {
            IDLE
        };
        if let Some(w) = self.cadence.wait(now) {
            wait = wait.min(w);
        }
        if let Some(w) = self.app.draw_wait(now) {
            wait = wait.min(w);
        }
        wait
    }

    /// Variant `lane`'s trainer sent `event`.
    fn on_lane(&mut self, lane: usize, event: Event) -> io::Result<()> {
        // The viewers get every event, before the output budget picks this screen's.
        if let Some(hub) = self.hub
            && !hub.publish(lane, &event)
        {
            return Ok(());
        }
        let showing = !self.app.run().activations.is_empty();
        let Some(event) = self.cadence.admit(lane, event, showing, Instant::now()) else {
            return Ok(());
        };
        if let Some(label) = capture::cast::marker_label(&event) {
            self.marker(&label);
        }
        if matches!(event, Event::Progress(_))
            && crate::failpoint::hit("dashboard-panic", &DASHBOARD_PANIC)
        {
            panic!("failpoint dashboard-panic");
        }
        let milestone = Milestone::of(&event);
        let focus = self.app.focus();
        self.send(Message::Trainer(lane, event))?;
        let runs = &self.app.runs;
        let done: Vec<bool> = (0..runs.lane_count())
            .map(|i| runs.lane_state(i) == &RunState::Finished)
            .collect();
        let shots = self
            .cadence
            .after(lane, milestone, Lanes { focus, done: &done });
        if shots.screenshot {
            self.apply(Effect::Screenshot)?;
        }
        if shots.figure {
            let done = snapshot::figure(self.app, self.capture, chrono::Local::now(), false);
            self.done(done)?;
            if crate::failpoint::hit("dashboard-panic-finished", &FINISHED_PANIC) {
                panic!("failpoint dashboard-panic-finished");
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// The terminal sent `input`.
    fn on_input(&mut self, input: TermEvent) -> io::Result<()> {
        let message = match input {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                Message::Key(Key::from_event(&key))
            }
            TermEvent::Mouse(mouse) if self.app.screen.drawing.is_some() => {
                let size = self.terminal.size()?;
                let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                let (runs, screen) = (&self.app.runs, &self.app.screen);
                let pixel = render::canvas_pixel(runs, screen, area, (mouse.column, mouse.row));
                Message::Pointer(super::pointer(mouse.kind, pixel))
            }
            TermEvent::Resize(w, h) => {
                if let Some(r) = self.writer().recorder() {
                    let _ = r.resize(w, h);
                }
                self.dirty = true;
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.send(message)?;
        self.dirty = true;
        Ok(())
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
    fn done(&mut self, done: EffectDone) -> io::Result<()> {
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
        self.send(Message::Done(done))
    }

    /// Hands `message` to the app and carries out the effects it asks for.
    fn send(&mut self, message: Message) -> io::Result<()> {
        for effect in self.app.update(message) {
            self.apply(effect)?;
        }
        Ok(())
    }

    /// Carries out one effect.
    fn apply(&mut self, effect: Effect) -> io::Result<()> {
        match effect {
            Effect::Trainer(command) => {
                let sends = self.app.recipients(command);
                crate::live::send_local(self.hub, self.trainers, sends);
            }
            Effect::Screenshot => {
                let size = self.terminal.size()?;
                let done = snapshot::screenshot(
                    self.app,
                    (size.width, size.height),
                    self.capture,
                    chrono::Local::now(),
                );
                self.done(done)?;
            }
            Effect::Figure => {
                let done = snapshot::figure(self.app, self.capture, chrono::Local::now(), true);
                self.done(done)?;
            }
            Effect::MouseCapture(on) => {
                // Only in draw mode: elsewhere the terminal's own selection works.
                if on {
                    crossterm::execute!(self.writer(), crossterm::event::EnableMouseCapture)?;
                } else {
                    crossterm::execute!(self.writer(), crossterm::event::DisableMouseCapture)?;
                }
            }
            Effect::OpenImage(spec) => self.open_image(&spec)?,
            Effect::SaveDrawing(image) => {
                let side = self.app.runs.dataset.test.rows;
                let done = snapshot::drawing(&image, side, self.capture, chrono::Local::now());
                self.done(done)?;
            }
            Effect::ToggleRecording => self.toggle_recording()?,
        }
        Ok(())
    }

    /// Reads an image file (`FILE` or `FILE=CLASS`) for the image list.
    fn open_image(&mut self, spec: &str) -> io::Result<()> {
        let data = &self.app.runs.dataset;
        let how = Preparation::for_data(&data.test, &data.classes, false);
        let opened = OwnImage::from_spec(spec, &data.classes, how, Some(&data.test))
            .map(Arc::new)
            .map_err(|e| e.to_string());
        match &opened {
            Ok(image) => tracing::info!("image {spec}: read as {}", image.name),
            Err(why) => tracing::warn!("image {spec}: {why}"),
        }
        self.done(EffectDone::ImageOpened(opened))
    }

    /// Stops the recording that runs, or starts one in the capture directory.
    fn toggle_recording(&mut self) -> io::Result<()> {
        if let Some(r) = self.writer().stop_recording() {
            let done = match r.finish() {
                Ok(path) => EffectDone::RecordingStopped(shorten(&path)),
                Err(e) => EffectDone::RecordingLost(format!("recording: {e}")),
            };
            self.done(done)?;
            return Ok(());
        }
        let size = self.terminal.size()?;
        let dir = &self.capture.dir;
        let now = chrono::Local::now();
        let result = std::fs::create_dir_all(dir).and_then(|()| {
            let stem = capture::dir::unique_stem(
                dir,
                &self.app.runs.capture_stem(self.app.focus(), now),
                &["cast"],
            );
            let path = dir.join(format!("{stem}.cast"));
            Recorder::create(&path, size.width, size.height, "lenet-tui")
        });
        match result {
            Ok(r) => {
                let file = shorten(r.path());
                self.writer().start_recording(r);
                self.done(EffectDone::RecordingStarted(Ok(file)))?;
                // Redraw everything so the recording starts with a whole frame.
                self.terminal.clear()?;
            }
            Err(e) => {
                let why = format!("{}: {e}", dir.display());
                self.done(EffectDone::RecordingStarted(Err(why)))?;
            }
        }
        Ok(())
    }
}
