//! A live run outlives its terminal and can be watched from others: every training
//! process listens on a socket of its own (`place`), speaking the protocol in `wire`;
//! its `hub` keeps the run so far and hands each event to every viewer; `host` serves
//! the connections, and `viewer` is the other end, used by `lenet-tui attach` and
//! `lenet-tui runs`.

pub mod host;
pub mod hub;
pub mod place;
pub mod viewer;
pub mod wire;

pub use host::Host;
pub use hub::{Hub, LOCAL};
pub use viewer::{AttachError, Attached, attach, status};
pub use wire::Want;

use crate::train::{Command, TrainerHandle};

/// Sends the run's own screen's commands (`(variant, command)`) to its trainers; with
/// viewers (`hub`), its images join theirs and its looks back stay its own.
pub fn send_local<T: std::borrow::Borrow<TrainerHandle>>(
    hub: Option<&Hub>,
    trainers: &[T],
    sends: Vec<(usize, Command)>,
) {
    for (lane, command) in sends {
        match (hub, command) {
            // Every variant probes every screen's images: told once.
            (Some(hub), Command::SetProbes(images)) => {
                if lane == 0 {
                    hub.set_probes(LOCAL, images);
                }
            }
            (hub, command) => {
                if let Some(hub) = hub {
                    hub.local_command(lane, &command);
                }
                if let Some(trainer) = trainers.get(lane) {
                    trainer.borrow().send(command);
                }
            }
        }
    }
}
