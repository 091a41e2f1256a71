//! Headless training: events become lines in the chapter's style on stderr (with a
//! progress bar when stderr is a terminal) or JSON objects on stdout. One loop serves
//! a run and a race alike: a run is a race of one, whose lines carry no label.

mod report;
mod unsaved;

pub use report::Reporter;
pub use unsaved::Unsaved;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Select};
use indicatif::{ProgressBar, ProgressStyle};

use crate::live::Hub;
use crate::signals::Signal;
use crate::train::{Divergence, Event, Lane, SavePart, SaveReason, Saved, TrainerHandle};
use crate::ui::app::App;
use crate::ui::cadence::{CaptureCadence, EpochShots, Lanes, Milestone};
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
        let line = error_line(variant, Some(part), &format!("not saved: {said}"));
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A `--json` error event: what went wrong, for which variant and which of its files.
fn error_line(variant: Option<&str>, what: Option<SavePart>, message: &str) -> serde_json::Value {
    let mut line = serde_json::json!({"event": "error", "message": message});
    if let Some(part) = what {
        line["what"] = serde_json::json!(part);
    }
    if let Some(label) = variant {
        line["variant"] = label.into();
    }
    line
}

/// How a failure names a run: a race's variant by its label.
fn named(label: Option<&str>, what: String) -> String {
    match label {
        Some(label) => format!("variant `{label}`: {what}"),
        None => what,
    }
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
    snapshots: Option<Snapshots>,
    signals: &Receiver<Signal>,
    hub: Option<Arc<Hub>>,
) -> Result<Vec<VariantOutcome>, HeadlessError> {
    let mut race = Race::new(&lanes, report, snapshots, hub);
    let failed = race.drive(&lanes, signals)?;
    race.bar.finish_and_clear();
    lanes.into_iter().for_each(|l| l.trainer.stop());
    if let Some(e) = failed {
        return Err(e);
    }
    race.outcomes()
}

/// What a headless run, or race, keeps while it trains: a run is a race of one.
struct Race {
    report: Report,
    /// A race's variants' labels; `None` for a lone run.
    labels: Vec<Option<String>>,
    reporters: Vec<Reporter>,
    states: Vec<LaneState>,
    unsaved: Vec<Unsaved>,
    /// Batches to train and trained, per variant, for the one bar of the whole run.
    lengths: Vec<u64>,
    positions: Vec<u64>,
    bar: ProgressBar,
    snapshots: Option<Snapshots>,
    cadence: CaptureCadence,
    /// The run's viewers, when it has a socket.
    hub: Option<Arc<Hub>>,
}

/// What one event means for the select over the trainers.
enum Step {
    /// Go on.
    Go,
    /// The variant is done: stop listening to it.
    Done,
    /// The run fails.
    Fail(HeadlessError),
}

impl Race {
    /// Sets up the labels, reporters and bar, and sends the snapshots' dashboard's
    /// first commands.
    fn new(
        lanes: &[Lane],
        report: Report,
        mut snapshots: Option<Snapshots>,
        hub: Option<Arc<Hub>>,
    ) -> Self {
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
        if let Some(s) = &mut snapshots {
            if race {
                s.app.race(labels.iter().flatten().cloned().collect());
            }
            let trainers: Vec<&TrainerHandle> = lanes.iter().map(|l| &l.trainer).collect();
            for command in s.app.initial_commands() {
                let sends = s.app.recipients(command);
                crate::live::send_local(hub.as_deref(), &trainers, sends);
            }
        }
        // Screenshots when asked for every epoch; else only the figure at the end.
        let shots = match &snapshots {
            Some(s) if s.capture.every_epoch => EpochShots::Slowest,
            _ => EpochShots::Never,
        };
        let bar = progress_bar(report);
        if race {
            bar.set_prefix("race");
        }
        Race {
            report,
            reporters: labels.iter().cloned().map(Reporter::for_variant).collect(),
            labels,
            states: vec![LaneState::Training; lanes.len()],
            unsaved: vec![Unsaved::default(); lanes.len()],
            lengths: vec![0; lanes.len()],
            positions: vec![0; lanes.len()],
            bar,
            snapshots,
            cadence: CaptureCadence::new(lanes.len(), shots, true),
            hub,
        }
    }

    fn is_race(&self) -> bool {
        self.labels.len() > 1
    }

    /// Takes every variant's events, and signals, in one select until no variant
    /// trains; the error that ended the run early, if one did.
    fn drive(
        &mut self,
        lanes: &[Lane],
        signals: &Receiver<Signal>,
    ) -> Result<Option<HeadlessError>, HeadlessError> {
        let mut select = Select::new();
        for lane in lanes {
            select.recv(lane.trainer.events());
        }
        let signal_index = select.recv(signals);
        loop {
            if self.states.iter().all(|s| *s != LaneState::Training) {
                return Ok(None);
            }
            let op = select.select();
            let index = op.index();
            if index == signal_index {
                let Ok(signal) = op.recv(signals) else {
                    continue;
                };
                return self.on_signal(lanes, signal).map(Some);
            }
            let Ok(event) = op.recv(lanes[index].trainer.events()) else {
                select.remove(index);
                if self.states[index] == LaneState::Training {
                    return Ok(Some(HeadlessError::Ended));
                }
                continue;
            };
            match self.on_event(index, event)? {
                Step::Go => {}
                Step::Done => select.remove(index),
                Step::Fail(e) => return Ok(Some(e)),
            }
        }
    }

    /// A signal: every variant saves a checkpoint, and the run ends.
    fn on_signal(
        &mut self,
        lanes: &[Lane],
        signal: Signal,
    ) -> Result<HeadlessError, HeadlessError> {
        self.bar.finish_and_clear();
        tracing::info!("{} received", signal.name());
        let reason = signal.save_reason();
        let mut saves = Vec::new();
        for (i, lane) in lanes.iter().enumerate() {
            let saved = lane
                .trainer
                .save_now(reason, crate::train::SAVE_ANSWER, SAVE_TIMEOUT);
            // The way-out checkpoint is an event like the others, for scripts.
            if self.report == Report::Json {
                let event = way_out_event(reason, &saved);
                emit(self.report, &mut self.reporters[i], &event, &[], &self.bar)?;
            }
            let name = self.labels[i]
                .as_ref()
                .map_or_else(|| "the run".into(), |l| format!("variant `{l}`"));
            saves.push((name, saved.map(|s| s.path)));
        }
        let saved = crate::train::gather_saves(saves, reason);
        Ok(HeadlessError::Signal { signal, saved })
    }

    /// Variant `index` sent `event`: it counts, the snapshots take it in, and it is
    /// reported.
    fn on_event(&mut self, index: usize, event: Event) -> Result<Step, HeadlessError> {
        if let Some(hub) = &self.hub
            && !hub.publish(index, &event)
        {
            return Ok(Step::Go); // A viewer's look back: its own.
        }
        let ended = match &event {
            Event::Finished(summary) => Some(LaneState::Finished(Outcome {
                epochs: summary.epoch,
                test_acc: summary.test_acc,
            })),
            Event::Diverged(d) => Some(LaneState::Diverged(d.clone())),
            _ => None,
        };
        if let Some(state) = ended {
            self.states[index] = state;
        }
        let notes = self.snapshot(index, &event);
        for note in &notes {
            tracing::info!("{note}");
        }
        emit(
            self.report,
            &mut self.reporters[index],
            &event,
            &notes,
            &self.bar,
        )?;
        match event {
            Event::Started(info) => {
                self.lengths[index] =
                    info.batches_per_epoch as u64 * u64::from(info.settings.epochs.get());
                self.bar.set_length(self.lengths.iter().sum());
                if !self.is_race() {
                    self.bar
                        .set_prefix(format!("epoch 1/{}", info.settings.epochs));
                }
                self.bar.enable_steady_tick(Duration::from_millis(250));
            }
            Event::Progress(p) => {
                self.positions[index] =
                    (u64::from(p.epoch) - 1) * p.batches as u64 + p.batch as u64;
                self.bar.set_position(self.positions.iter().sum());
                if !self.is_race() {
                    let epochs = self.reporters[index].epochs();
                    self.bar.set_prefix(format!("epoch {}/{epochs}", p.epoch));
                }
            }
            Event::Saved(_) | Event::SaveFailed { .. } => self.unsaved[index].on_event(&event),
            Event::Finished(_) | Event::Diverged(_) => return Ok(Step::Done),
            Event::Error(message) => {
                let label = self.labels[index].as_deref();
                if self.report == Report::Json {
                    let line = error_line(label, None, &message);
                    writeln!(std::io::stdout().lock(), "{line}")?;
                }
                return Ok(Step::Fail(HeadlessError::Trainer(named(label, message))));
            }
            Event::Stopped => return Ok(Step::Fail(HeadlessError::Ended)),
            _ => {}
        }
        Ok(Step::Go)
    }

    /// Feeds `event` to the snapshots' dashboard, taking the screenshot and figure
    /// the cadence asks for; what was written, for the report.
    fn snapshot(&mut self, index: usize, event: &Event) -> Vec<String> {
        let Some(s) = self.snapshots.as_mut() else {
            return Vec::new();
        };
        // A diverged variant drops out; a finished one has ended its last epoch.
        let done: Vec<bool> = self
            .states
            .iter()
            .map(|s| *s != LaneState::Training)
            .collect();
        let lanes = Lanes {
            focus: 0,
            done: &done,
        };
        let shots = self.cadence.after(index, Milestone::of(event), lanes);
        s.after(index, event, shots.screenshot, shots.figure)
    }

    /// Each variant's end, or the error that a diverged or unsaved one comes to.
    fn outcomes(self) -> Result<Vec<VariantOutcome>, HeadlessError> {
        let mut outcomes = Vec::new();
        let parts = self.states.into_iter().zip(self.labels).zip(self.unsaved);
        for ((state, label), unsaved) in parts {
            match state {
                LaneState::Diverged(divergence) => {
                    return Err(match label {
                        Some(label) => HeadlessError::VariantDiverged { label, divergence },
                        None => HeadlessError::Diverged(divergence),
                    });
                }
                LaneState::Finished(outcome) => {
                    if let Some(what) = unsaved.report() {
                        not_saved_lines(self.report, label.as_deref(), &unsaved)?;
                        return Err(HeadlessError::NotSaved(named(label.as_deref(), what)));
                    }
                    outcomes.push(VariantOutcome { label, outcome });
                }
                LaneState::Training => unreachable!("the loop ends when no variant trains"),
            }
        }
        Ok(outcomes)
    }
}
