//! SIGHUP, SIGTERM and SIGINT as typed events on a channel, so the dashboard and the
//! headless runner handle them in their own loops: save a checkpoint, restore the
//! terminal, exit with the documented status.

use std::io;

use crossbeam_channel::Receiver;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::train::SaveReason;

/// A signal asking the program to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: the terminal or SSH connection went away.
    Hangup,
    /// SIGTERM: asked to stop (by `kill`, systemd, a batch system).
    Terminate,
    /// SIGINT: Ctrl-C outside the dashboard (which reads Ctrl-C as a key).
    Interrupt,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Hangup => SIGHUP,
            Signal::Terminate => SIGTERM,
            Signal::Interrupt => SIGINT,
        }
    }

    /// The exit status after it, 128 + the signal number as shells report it: 129, 143, 130.
    pub fn exit_status(self) -> u8 {
        128 + self.number() as u8
    }

    /// Why the checkpoint written on the way out was written.
    pub fn save_reason(self) -> SaveReason {
        match self {
            Signal::Hangup => SaveReason::Hangup,
            Signal::Terminate => SaveReason::Terminate,
            Signal::Interrupt => SaveReason::Interrupt,
        }
    }

    /// The signal's name, e.g. `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Terminate => "SIGTERM",
            Signal::Interrupt => "SIGINT",
        }
    }
}

/// Makes a write past the file-size limit (`ulimit -f`) fail with an error (EFBIG)
/// instead of killing the process with SIGXFSZ: the run then says what it could not
/// save and goes on, as it does on a full disk.
pub fn survive_file_size_limit() -> io::Result<()> {
    // A handler that only sets an unread flag: the signal is caught, not fatal.
    let caught = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, caught).map(|_| ())
}

/// Catches the three signals from now on and delivers them on the returned channel.
pub fn listen() -> io::Result<Receiver<Signal>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGTERM, SIGINT])?;
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for number in signals.forever() {
                let signal = match number {
                    SIGHUP => Signal::Hangup,
                    SIGTERM => Signal::Terminate,
                    _ => Signal::Interrupt,
                };
                if tx.send(signal).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_shell_convention() {
        assert_eq!(Signal::Hangup.exit_status(), 129);
        assert_eq!(Signal::Interrupt.exit_status(), 130);
        assert_eq!(Signal::Terminate.exit_status(), 143);
        assert_eq!(Signal::Hangup.save_reason(), SaveReason::Hangup);
    }
}
