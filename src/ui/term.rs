//! Terminal set-up and tear-down, and the writer every frame goes through, which
//! also feeds an asciicast recording when one is running. The writer owns the
//! recording and its byte count; the event loop reaches them through the terminal's
//! backend, so nothing is shared between the two.

use std::io::{self, Stdout, Write};

use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::capture::cast::Recorder;

/// Stdout, with every byte also handed to the recorder at each flush, so one frame
/// becomes one `"o"` event.
pub struct TermWriter {
    out: Stdout,
    recorder: Option<Recorder>,
    pending: Vec<u8>,
    /// Why the recording stopped by itself, until the loop asks.
    lost: Option<String>,
    written: u64,
}

impl TermWriter {
    /// Bytes written to the terminal so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Records every frame from now on into `recorder`.
    pub fn start_recording(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    /// Ends the recording, if one is running; returns it.
    pub fn stop_recording(&mut self) -> Option<Recorder> {
        self.recorder.take()
    }

    /// Why the recording stopped by itself since the last call (a full disk).
    pub fn take_lost(&mut self) -> Option<String> {
        self.lost.take()
    }

    /// The recording, if one is running.
    pub fn recorder(&mut self) -> Option<&mut Recorder> {
        self.recorder.as_mut()
    }
}

impl Write for TermWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        if self.recorder.is_some() {
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Some(r) = self.recorder.as_mut()
            && let Err(e) = r.output(&self.pending)
        {
            // A full disk stops the recording, not the dashboard.
            self.lost = Some(format!("recording stopped: {}: {e}", r.path().display()));
            self.recorder = None;
        }
        self.pending.clear();
        Ok(())
    }
}

/// The dashboard's terminal.
pub type Term = Terminal<CrosstermBackend<TermWriter>>;

/// Raw mode, alternate screen, and a panic hook that restores the terminal before the
/// message is printed (panics on the trainer thread are reported as events instead).
pub fn enter() -> io::Result<Term> {
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(crate::train::THREAD_NAME) {
            let _ = execute!(io::stdout(), crossterm::event::DisableMouseCapture);
            ratatui::restore();
            restore_and_print(info);
            tracing::error!("the dashboard crashed: {info}");
            let log = crate::logging::path()
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
        recorder: None,
        pending: Vec::new(),
        lost: None,
        written: 0,
    };
    Terminal::new(CrosstermBackend::new(writer))
}

/// Leaves the alternate screen and raw mode, shows the cursor, and stops mouse
/// reporting (draw mode may have left it on).
pub fn leave() {
    let _ = execute!(io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
}
