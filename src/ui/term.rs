//! Terminal set-up and tear-down, and the writer every frame goes through, which
//! also feeds an asciicast recording when one is running.

use std::cell::RefCell;
use std::io::{self, Stdout, Write};
use std::rc::Rc;

use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::capture::cast::Recorder;

/// The recording, shared by the writer and the event loop (both on the main thread).
pub type SharedRecorder = Rc<RefCell<Option<Recorder>>>;

/// Stdout, with every byte also handed to the recorder at each flush, so one frame
/// becomes one `"o"` event.
pub struct TermWriter {
    out: Stdout,
    recorder: SharedRecorder,
    pending: Vec<u8>,
    /// The last recording error, for the status line.
    pub error: Rc<RefCell<Option<String>>>,
    /// Bytes written to the terminal so far, shared with the event loop.
    pub written: Rc<std::cell::Cell<u64>>,
}

impl Write for TermWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written.set(self.written.get() + n as u64);
        if self.recorder.borrow().is_some() {
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut recorder = self.recorder.borrow_mut();
        if let Some(r) = recorder.as_mut()
            && let Err(e) = r.output(&self.pending)
        {
            // A full disk stops the recording, not the dashboard.
            *self.error.borrow_mut() =
                Some(format!("recording stopped: {}: {e}", r.path().display()));
            *recorder = None;
        }
        self.pending.clear();
        Ok(())
    }
}

/// The dashboard's terminal.
pub type Term = Terminal<CrosstermBackend<TermWriter>>;

/// Raw mode, alternate screen, and a panic hook that restores the terminal before the
/// message is printed (panics on the trainer thread are reported as events instead).
pub fn enter(
    recorder: SharedRecorder,
    error: Rc<RefCell<Option<String>>>,
    written: Rc<std::cell::Cell<u64>>,
    log: Option<std::path::PathBuf>,
) -> io::Result<Term> {
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(crate::train::THREAD_NAME) {
            ratatui::restore();
            restore_and_print(info);
            let log = log
                .as_ref()
                .map_or_else(String::new, |p| format!("; log: {}", p.display()));
            eprintln!("lenet-tui: the dashboard crashed (a bug; please report it){log}");
        }
    }));
    enable_raw_mode()?;
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen) {
        ratatui::restore();
        return Err(e);
    }
    let writer = TermWriter {
        out,
        recorder,
        pending: Vec::new(),
        error,
        written,
    };
    Terminal::new(CrosstermBackend::new(writer))
}

/// Leaves the alternate screen and raw mode, shows the cursor.
pub fn leave() {
    ratatui::restore();
}
