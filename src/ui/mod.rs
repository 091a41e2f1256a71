//! The dashboard. Terminal input and trainer events meet in one loop; state changes
//! only in [`App`](app::App), and each frame is drawn from it by [`render::render`]
//! at most ~15 times a second, and only when something changed.

pub mod app;
pub mod history;
pub mod keys;
pub mod log;
pub mod render;
pub mod theme;
pub mod widgets;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use crossterm::event::{Event as TermEvent, KeyEventKind};

use crate::train::TrainerHandle;
use app::{App, RunState};
use keys::Key;

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
    pub log_path: Option<std::path::PathBuf>,
}

/// Runs the dashboard until the user quits; the terminal is restored on every path
/// out, panics included (ratatui's hook restores before the message is printed).
pub fn run(trainer: TrainerHandle, mut app: App) -> io::Result<Outcome> {
    let mut log = log::Log::open();
    let mut terminal = ratatui::try_init()?;
    // ratatui's hook restores the terminal, then prints the panic. A trainer panic
    // must do neither while the dashboard draws: the trainer turns it into an error
    // event, which the dashboard shows and `main` prints after the restore.
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(crate::train::THREAD_NAME) {
            restore_and_print(info);
        }
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(stop.clone());
    for command in app.initial_commands() {
        trainer.send(command);
    }
    let result = event_loop(&mut terminal, &trainer, &input, &mut app, &mut log);
    stop.store(true, Ordering::Relaxed);
    ratatui::restore();
    trainer.stop();
    result?;
    Ok(Outcome {
        state: app.state,
        status: app.status,
        log_path: log.path().cloned(),
    })
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    trainer: &TrainerHandle,
    input: &Receiver<io::Result<TermEvent>>,
    app: &mut App,
    log: &mut log::Log,
) -> io::Result<()> {
    let mut events = trainer.events().clone();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|f| render::render(app, f))?;
            dirty = false;
            last_draw = Instant::now();
        }
        if app.should_quit {
            return Ok(());
        }
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            Duration::from_secs(1)
        };
        select! {
            recv(events) -> event => match event {
                Ok(event) => {
                    log.event(&event);
                    app.on_event(event);
                    dirty = true;
                }
                // The trainer is gone; keep showing its last state.
                Err(_) => events = crossbeam_channel::never(),
            },
            recv(input) -> term => match term {
                Ok(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    match app.keymap.action(&Key::from_event(&key)) {
                        Some(action) => {
                            for command in app.on_action(action) {
                                trainer.send(command);
                            }
                        }
                        None => app.on_unbound_key(),
                    }
                    dirty = true;
                }
                Ok(Ok(TermEvent::Resize(..))) => dirty = true,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("the input thread ended")),
            },
            default(wait) => {}
        }
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
