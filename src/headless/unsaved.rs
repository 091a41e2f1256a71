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
                    // The save ends here: its history's failure (if any) stands.
                    SavePart::Checkpoint => {
                        self.checkpoint = failure;
                        self.history_failed_now = false;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{SaveReason, Saved};

    fn failed(part: SavePart) -> Event {
        Event::SaveFailed {
            reason: SaveReason::EpochEnd,
            part,
            message: format!("{part}: No space left on device"),
            needs: Some(12_600_000),
        }
    }

    fn saved() -> Event {
        Event::Saved(Saved {
            path: "/runs/a/ckpt-0003".into(),
            reason: SaveReason::EpochEnd,
            at: 2.0,
        })
    }

    #[test]
    fn what_is_unsaved_is_what_failed_and_has_not_been_saved_since() {
        let mut unsaved = Unsaved::default();
        assert_eq!(unsaved.report(), None);
        // A save whose history failed and whose checkpoint was written.
        unsaved.on_event(&failed(SavePart::History));
        unsaved.on_event(&saved());
        assert_eq!(unsaved.missing().len(), 1);
        let said = unsaved.report().unwrap();
        assert!(
            said.starts_with("the history (needs about 12.6 MB): "),
            "{said}"
        );
        // A save where both failed, then one where the history failed alone.
        unsaved.on_event(&failed(SavePart::History));
        unsaved.on_event(&failed(SavePart::Checkpoint));
        assert_eq!(unsaved.missing().len(), 2);
        unsaved.on_event(&saved());
        assert_eq!(unsaved.missing().len(), 0, "a whole save clears both");
        // A failed checkpoint ends its save: the next whole one clears the history.
        unsaved.on_event(&failed(SavePart::History));
        unsaved.on_event(&failed(SavePart::Checkpoint));
        unsaved.on_event(&saved());
        assert_eq!(unsaved.report(), None);
    }

    #[test]
    fn bytes_read_in_the_unit_a_person_reads() {
        assert_eq!(format_bytes(999), "999 bytes");
        assert_eq!(format_bytes(248_000), "248 KB");
        assert_eq!(format_bytes(12_600_000), "12.6 MB");
        assert_eq!(format_bytes(7_400_000_000), "7.40 GB");
    }
}
