//! What a run failed to keep on disk, part by part: each failed save is said at once
//! (by the reporter), and what is still unsaved when the run ends makes its exit
//! status.

use crate::train::{Event, SavePart};

/// What a run failed to keep on disk and has not kept since, part by part: a save that
/// fails is said at once, and what is still unsaved at the end makes the exit status.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Unsaved {
    checkpoint: Option<(String, Option<u64>)>,
    history: Option<(String, Option<u64>)>,
    /// The history failed during the save whose [`Event::Saved`] comes next.
    history_failed_now: bool,
}

impl Unsaved {
    /// Takes in what a trainer reports of its saves.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::SaveFailed {
                part,
                message,
                needs,
                ..
            } => {
                let failure = Some((message.clone(), *needs));
                match part {
                    SavePart::Checkpoint => self.checkpoint = failure,
                    SavePart::History => {
                        self.history = failure;
                        self.history_failed_now = true;
                    }
                }
            }
            Event::Saved(_) => {
                self.checkpoint = None;
                if !std::mem::take(&mut self.history_failed_now) {
                    self.history = None;
                }
            }
            _ => {}
        }
    }

    /// Each part not saved, said with the space it needs and why.
    pub fn missing(&self) -> Vec<(SavePart, String)> {
        let part = |part: SavePart, name: &str, failure: &Option<(String, Option<u64>)>| {
            failure.as_ref().map(|(why, needs)| {
                let said = match needs {
                    Some(bytes) => format!("{name} (needs about {}): {why}", format_bytes(*bytes)),
                    None => format!("{name}: {why}"),
                };
                (part, said)
            })
        };
        [
            part(
                SavePart::Checkpoint,
                "the final checkpoint",
                &self.checkpoint,
            ),
            part(SavePart::History, "the history", &self.history),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// What is not saved, in one line; `None` when all is.
    pub fn report(&self) -> Option<String> {
        let missing = self.missing();
        (!missing.is_empty()).then(|| {
            missing
                .into_iter()
                .map(|(_, said)| said)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// Bytes in the unit a person reads: `250 KB`, `12.6 MB`.
pub(super) fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{:.0} KB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.2} GB", b as f64 / 1e9),
    }
}
