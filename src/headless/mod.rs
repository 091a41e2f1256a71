//! Headless training: events become lines in the chapter's style on stderr (with a
//! progress bar when stderr is a terminal) or JSON objects on stdout. One loop serves
//! a run and a race alike: a run is a race of one, whose lines carry no label.

mod report;
mod unsaved;

pub use report::Reporter;
pub use unsaved::Unsaved;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, Select};
use indicatif::{ProgressBar, ProgressStyle};

use crate::signals::Signal;
use crate::train::{Divergence, Event, Lane, SavePart, SaveReason, Saved};
use crate::ui::app::App;
use crate::ui::snapshot::{self, CaptureOptions};

/// How the run is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Human-readable lines on stderr.
    Text,
    /// One JSON object per event on stdout.
    Json,
}

/// The last epoch's figures, for the caller's exit status.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Epochs trained.
    pub epochs: u32,
    /// Final test accuracy.
    pub test_acc: f64,
}

/// Why a headless run failed.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// The trainer reported an error.
    #[error("training failed: {0}")]
    Trainer(String),
    /// The trainer ended without finishing.
    #[error("the trainer stopped before the last epoch")]
    Ended,
    /// Writing the report failed (a closed pipe, a full disk).
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    /// The loss became NaN or exploded; the trainer paused itself.
    #[error("training {0}{hint}", hint = last_good_hint(.0))]
    Diverged(Divergence),
    /// A variant of a race diverged (and paused alone while the others finished).
    #[error("variant `{label}`: training {divergence}{hint}", hint = last_good_hint(divergence))]
    VariantDiverged {
        /// The variant's label.
        label: String,
        /// How it diverged.
        divergence: Divergence,
    },
    /// The run finished but its last checkpoint or history could not be written: the
    /// results were printed, the weights or the history were not kept.
    #[error("not saved: {0}")]
    NotSaved(String),
    /// A signal ended the run after (trying to) save a checkpoint.
    #[error("stopped by {}", signal.name())]
    Signal {
        /// Which one.
        signal: Signal,
        /// The checkpoint written on the way out, or why none was.
        saved: Result<PathBuf, String>,
    },
}

fn last_good_hint(d: &Divergence) -> String {
    match &d.last_good {
        Some(path) => format!(
            "; last good checkpoint: {} (continue from it with --resume {} and a lower --lr)",
            path.display(),
            path.display()
        ),
        None => "; no checkpoint to go back to".into(),
    }
}

/// How long a signal waits for the checkpoint before the program exits anyway.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Off-screen dashboard snapshots taken while training headless.
pub struct Snapshots {
    /// The dashboard state, fed the same events.
    pub app: App,
    /// Snapshot size in cells.
    pub size: (u16, u16),
    /// Where the files go.
    pub capture: CaptureOptions,
}

impl Snapshots {
    /// Feeds `event` of variant `lane` (0 for a lone run) to the dashboard, then saves
    /// a screenshot and the figure when asked; what was written, for the report.
    fn after(&mut self, lane: usize, event: &Event, screenshot: bool, figure: bool) -> Vec<String> {
        self.app.on_lane_event(lane, event.clone());
        let now = chrono::Local::now();
        let mut notes = Vec::new();
        if screenshot {
            notes.extend(snapshot::screenshot(&self.app, self.size, &self.capture, now).message());
        }
        if figure {
            notes.extend(snapshot::figure(&self.app, &self.capture, now, true).message());
        }
        notes
    }
}

/// The run's progress bar on stderr: hidden for JSON, and by itself when stderr is not
/// a terminal.
fn progress_bar(report: Report) -> ProgressBar {
    let bar = match report {
        Report::Text => ProgressBar::new(0),
        Report::Json => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {percent:>3}%, {elapsed} elapsed, eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Writes `event`'s report lines and the capture `notes`: JSON on stdout, each line
/// flushed as it comes so a script reading the pipe sees it; text on stderr, above the
/// bar.
fn emit(
    report: Report,
    reporter: &mut Reporter,
    event: &Event,
    notes: &[String],
    bar: &ProgressBar,
) -> std::io::Result<()> {
    match report {
        Report::Json => {
            let captures = notes
                .iter()
                .map(|note| serde_json::json!({"event": "capture", "message": note}).to_string());
            let mut out = std::io::stdout().lock();
            for line in reporter.json(event).into_iter().chain(captures) {
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }
        Report::Text => {
            for line in reporter
                .text(event)
                .into_iter()
                .chain(notes.iter().cloned())
            {
                bar.suspend(|| writeln!(std::io::stderr().lock(), "{line}"))?;
            }
        }
    }
    Ok(())
}

/// With `--json`, an error event for each part that a run ended without saving.
fn not_saved_lines(
    report: Report,
    variant: Option<&str>,
    unsaved: &Unsaved,
) -> std::io::Result<()> {
    if report != Report::Json {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for (part, said) in unsaved.missing() {
        let mut line = serde_json::json!(
            {"event": "error", "what": part, "message": format!("not saved: {said}")}
        );
        if let Some(label) = variant {
            line["variant"] = label.into();
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// How one variant of a race is doing.
#[derive(Debug, Clone, PartialEq)]
enum LaneState {
    Training,
    Finished(Outcome),
    Diverged(Divergence),
}

/// One run's end, or one race variant's.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantOutcome {
    /// A race variant's label; `None` for a lone run.
    pub label: Option<String>,
    /// Its last epoch's figures.
    pub outcome: Outcome,
}

/// The event that reports a checkpoint written (or not) on the way out.
fn way_out_event(reason: SaveReason, saved: &Result<Saved, String>) -> Event {
    match saved {
        Ok(saved) => Event::Saved(saved.clone()),
        Err(message) => Event::SaveFailed {
            reason,
            part: SavePart::Checkpoint,
            message: message.clone(),
            needs: None,
        },
    }
}

/// Drives a run, or a race's variants, to the end of their epochs, reporting their
/// events as one interleaved stream (a race's lines each with its variant), and with
/// `snapshots` saves the dashboard once every variant still training has ended an
/// epoch and the figure at the end. A race's variant that diverges pauses alone (its
/// trainer leaves the device to the others) and the race goes on; the error names it
/// once the others are done.
pub fn run(
    lanes: Vec<Lane>,
    report: Report,
    mut snapshots: Option<Snapshots>,
    signals: &Receiver<Signal>,
) -> Result<Vec<VariantOutcome>, HeadlessError> {
    let race = lanes.len() > 1;
    let labels: Vec<Option<String>> = lanes
        .iter()
        .enumerate()
        .map(|(i, l)| {
            race.then(|| {
                l.label
                    .clone()
                    .unwrap_or_else(|| format!("variant {}", i + 1))
            })
        })
        .collect();
    // How a refusal or a failure names the run: a race's variant by its label.
    let named = |i: usize, what: String| match &labels[i] {
        Some(label) => format!("variant `{label}`: {what}"),
        None => what,
    };
    let mut reporters: Vec<Reporter> = labels.iter().cloned().map(Reporter::for_variant).collect();
    if let Some(s) = &mut snapshots {
        if race {
            s.app.race(labels.iter().flatten().cloned().collect());
        }
        for command in s.app.initial_commands() {
            for (lane, command) in s.app.recipients(command) {
                lanes[lane].trainer.send(command);
            }
        }
    }
    // Epochs each variant has finished, and the last epoch the snapshots showed.
    let mut epochs_done = vec![0u32; lanes.len()];
    let mut shot_epoch = 0u32;
    let mut states = vec![LaneState::Training; lanes.len()];
    let mut unsaved = vec![Unsaved::default(); lanes.len()];
    // Batches to train and trained, per variant, for the one bar of the whole run.
    let mut lengths = vec![0u64; lanes.len()];
    let mut positions = vec![0u64; lanes.len()];
    let bar = progress_bar(report);
    if race {
        bar.set_prefix("race");
    }
    let mut select = Select::new();
    for lane in &lanes {
        select.recv(lane.trainer.events());
    }
    let signal_index = select.recv(signals);
    let failed: Option<HeadlessError> = loop {
        if states.iter().all(|s| *s != LaneState::Training) {
            break None;
        }
        let op = select.select();
        let index = op.index();
        if index == signal_index {
            let Ok(signal) = op.recv(signals) else {
                continue;
            };
            bar.finish_and_clear();
            tracing::info!("{} received", signal.name());
            let reason = signal.save_reason();
            let mut saves = Vec::new();
            for (i, lane) in lanes.iter().enumerate() {
                let saved = lane
                    .trainer
                    .save_now(reason, crate::train::SAVE_ANSWER, SAVE_TIMEOUT);
                // The way-out checkpoint is an event like the others, for scripts.
                if report == Report::Json {
                    let event = way_out_event(reason, &saved);
                    emit(report, &mut reporters[i], &event, &[], &bar)?;
                }
                let name = labels[i]
                    .as_ref()
                    .map_or_else(|| "the run".into(), |l| format!("variant `{l}`"));
                saves.push((name, saved.map(|s| s.path)));
            }
            let saved = crate::train::gather_saves(saves, reason);
            break Some(HeadlessError::Signal { signal, saved });
        }
        let Ok(event) = op.recv(lanes[index].trainer.events()) else {
            select.remove(index);
            if states[index] == LaneState::Training {
                break Some(HeadlessError::Ended);
            }
            continue;
        };
        if let Event::EpochFinished(e) = &event {
            epochs_done[index] = e.epoch;
        }
        let notes = snapshots.as_mut().map_or_else(Vec::new, |s| {
            let epoch_end = matches!(event, Event::EpochFinished(_));
            let finished = matches!(event, Event::Finished(_));
            // Who is still training, once this event has counted (a diverged variant
            // drops out; a finished one has ended its last epoch).
            let behind = (0..lanes.len())
                .filter(|&i| i != index || !finished)
                .filter(|&i| states[i] == LaneState::Training)
                .map(|i| epochs_done[i])
                .min();
            let shoot = epoch_end && behind.is_some_and(|e| e > shot_epoch);
            if shoot {
                shot_epoch = behind.unwrap_or(shot_epoch);
            }
            let last = (0..lanes.len()).all(|i| i == index || states[i] != LaneState::Training);
            s.after(index, &event, shoot, finished && last)
        });
        for note in &notes {
            tracing::info!("{note}");
        }
        emit(report, &mut reporters[index], &event, &notes, &bar)?;
        match event {
            Event::Started(info) => {
                lengths[index] =
                    info.batches_per_epoch as u64 * u64::from(info.settings.epochs.get());
                bar.set_length(lengths.iter().sum());
                if !race {
                    bar.set_prefix(format!("epoch 1/{}", info.settings.epochs));
                }
                bar.enable_steady_tick(Duration::from_millis(250));
            }
            Event::Progress(p) => {
                positions[index] = (u64::from(p.epoch) - 1) * p.batches as u64 + p.batch as u64;
                bar.set_position(positions.iter().sum());
                if !race {
                    let epochs = reporters[index].epochs();
                    bar.set_prefix(format!("epoch {}/{epochs}", p.epoch));
                }
            }
            Event::Saved(_) | Event::SaveFailed { .. } => unsaved[index].on_event(&event),
            Event::Finished(summary) => {
                states[index] = LaneState::Finished(Outcome {
                    epochs: summary.epoch,
                    test_acc: summary.test_acc,
                });
                select.remove(index);
            }
            Event::Diverged(d) => {
                states[index] = LaneState::Diverged(d);
                select.remove(index);
            }
            Event::Error(message) => {
                if report == Report::Json {
                    let mut line = serde_json::json!({"event": "error", "message": message});
                    if let Some(label) = &labels[index] {
                        line["variant"] = label.as_str().into();
                    }
                    writeln!(std::io::stdout().lock(), "{line}")?;
                }
                break Some(HeadlessError::Trainer(named(index, message)));
            }
            Event::Stopped => break Some(HeadlessError::Ended),
            _ => {}
        }
    };
    bar.finish_and_clear();
    drop(select);
    lanes.into_iter().for_each(|l| l.trainer.stop());
    if let Some(e) = failed {
        return Err(e);
    }
    let mut outcomes = Vec::new();
    for ((state, label), unsaved) in states.into_iter().zip(labels).zip(unsaved) {
        match state {
            LaneState::Diverged(divergence) => {
                return Err(match label {
                    Some(label) => HeadlessError::VariantDiverged { label, divergence },
                    None => HeadlessError::Diverged(divergence),
                });
            }
            LaneState::Finished(outcome) => {
                if let Some(what) = unsaved.report() {
                    not_saved_lines(report, label.as_deref(), &unsaved)?;
                    return Err(HeadlessError::NotSaved(match &label {
                        Some(label) => format!("variant `{label}`: {what}"),
                        None => what,
                    }));
                }
                outcomes.push(VariantOutcome { label, outcome });
            }
            LaneState::Training => unreachable!("the loop ends when no variant trains"),
        }
    }
    Ok(outcomes)
}
