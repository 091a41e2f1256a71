//! The caller's side of the training thread: [`spawn`] it from a [`TrainerSpec`]
//! (kept in [`super::spec`], which the trainer reads too), and the [`TrainerHandle`]
//! that sends commands and receives events.

use std::panic::AssertUnwindSafe;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::messages::{Command, Event, SavePart, SaveReason, Saved};
use super::spec::TrainerSpec;
use super::trainer::Trainer;

/// The caller's end of a running trainer.
pub struct TrainerHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// The handle of a thread that takes `commands` and sends `events` (a trainer, or
    /// a replay speaking its protocol).
    pub(in crate::train) fn new(
        commands: Sender<Command>,
        events: Receiver<Event>,
        thread: JoinHandle<()>,
    ) -> Self {
        Self {
            commands,
            events,
            thread: Some(thread),
        }
    }

    /// The handle of a trainer in another process, spoken to through channels that a
    /// connection serves: stopping it closes the connection, not the run.
    pub fn remote(commands: Sender<Command>, events: Receiver<Event>) -> Self {
        Self {
            commands,
            events,
            thread: None,
        }
    }

    /// Another sender of this trainer's commands, for the viewers of a live run.
    pub fn commander(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// Sends a command; false if the thread has already ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Asks for a checkpoint: the trainer takes the request between two batches and
    /// says so ([`Event::Saving`]) within `answer_within`, or the batch in flight is
    /// too slow to wait for; then the write has up to `write_within`. Other events that
    /// arrive meanwhile are dropped (the caller is on its way out). `Err` says why
    /// nothing was saved.
    pub fn save_now(
        &self,
        reason: SaveReason,
        answer_within: Duration,
        write_within: Duration,
    ) -> Result<Saved, String> {
        if !self.send(Command::Save(reason)) {
            return Err("the trainer has already stopped".into());
        }
        let mut deadline = Instant::now() + answer_within;
        let mut answered = false;
        loop {
            match self.events.recv_deadline(deadline) {
                Ok(Event::Saving(r)) if r == reason && !answered => {
                    answered = true;
                    deadline = Instant::now() + write_within;
                }
                Ok(Event::Saved(saved)) if saved.reason == reason => return Ok(saved),
                Ok(Event::SaveFailed {
                    reason: r,
                    part: SavePart::Checkpoint,
                    message,
                    ..
                }) if r == reason => {
                    return Err(message);
                }
                Ok(Event::Error(message)) => return Err(format!("the trainer failed: {message}")),
                Ok(Event::Stopped) => return Err("the trainer has already stopped".into()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) if answered => {
                    return Err(format!(
                        "the checkpoint was not written within {} s",
                        write_within.as_secs()
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the batch in flight had not ended after {:.1} s (this model's \
                         batches are slow), so the weights were left as the newest \
                         checkpoint has them",
                        answer_within.as_secs_f64()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the trainer has already stopped".into());
                }
            }
        }
    }

    /// Asks the thread to stop and waits for it (a little: see [`STOP_WAIT`]).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Stop);
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + STOP_WAIT;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            // A panic in the thread has already been reported by the panic hook.
            let _ = thread.join();
        } else {
            // It stops at the end of its batch, or with the process: whatever it was
            // writing is a hidden temporary file that the run's next start removes.
            tracing::warn!("the trainer is still in a batch; not waiting for it");
        }
    }
}

/// How long a save on the way out (a signal, a quit) waits for the trainer to take
/// it between two batches: the program answers a signal within a second or two.
pub const SAVE_ANSWER: Duration = Duration::from_millis(1500);

/// How long stopping waits for the trainer's batch in flight to end. A model inside
/// the limits can take minutes a batch; a program asked to stop must not.
pub const STOP_WAIT: Duration = Duration::from_secs(1);

impl Drop for TrainerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a trainer thread. The model is built inside it; a failure arrives as
/// [`Event::Error`].
pub fn spawn(spec: TrainerSpec) -> TrainerHandle {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (event_tx, event_rx) = crossbeam_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            crate::engine::cpu::flush_denormals();
            let events = event_tx.clone();
            // A panic becomes an error event, so the front end can report it and
            // restore the terminal on its own thread.
            let built = std::panic::catch_unwind(AssertUnwindSafe(|| {
                Trainer::new(spec, command_rx, event_tx)
            }));
            let last = match built {
                Ok(Ok(mut trainer)) => {
                    match std::panic::catch_unwind(AssertUnwindSafe(|| trainer.run())) {
                        Ok(Ok(())) => Event::Stopped,
                        Ok(Err(e)) => Event::Error(e.to_string()),
                        Err(payload) => {
                            // Keep what was learnt if the weights survived intact.
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                trainer.save(SaveReason::Panic)
                            }));
                            Event::Error(format!(
                                "the trainer panicked: {}",
                                panic_message(&*payload)
                            ))
                        }
                    }
                }
                Ok(Err(e)) => Event::Error(e.to_string()),
                Err(payload) => Event::Error(format!(
                    "the trainer panicked: {}",
                    panic_message(&*payload)
                )),
            };
            let _ = events.send(last);
        })
        .expect("spawning the trainer thread");
    TrainerHandle::new(command_tx, event_rx, thread)
}

/// The name of the trainer thread, so a panic hook can tell its panics apart.
pub const THREAD_NAME: &str = "trainer";

pub(in crate::train) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
