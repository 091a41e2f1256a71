//! Headless training: events become lines in the chapter's style on stderr (with a
//! progress bar when stderr is a terminal) or JSON objects on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, select};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::model::shapes::format_count;
use crate::signals::Signal;
use crate::train::{
    Divergence, Event, Lane, LayerStats, RunInfo, SavePart, SaveReason, TrainerHandle,
};
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

/// One line of `--json` output. The shared fields are always present (null when the
/// event has no such figure) so scripts can read every line the same way.
#[derive(Debug, Serialize)]
struct JsonLine<'a> {
    event: &'static str,
    /// A race's variant: its label.
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    epoch: Option<f64>,
    epochs: u32,
    train_loss: Option<f64>,
    train_acc: Option<f64>,
    test_acc: Option<f64>,
    examples_per_sec: Option<f64>,
    device: &'a str,
    data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    /// Checkpoint events: the checkpoint's directory; divergence: the last good one.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a std::path::Path>,
    /// Checkpoint events: why it was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<SaveReason>,
    /// Divergence: the batch within the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<&'a RunInfo>,
    /// Progress and epoch events: each weighted layer's gradient flow and activations.
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<&'a [LayerStats]>,
    /// Warnings and errors about the run's files: which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<SavePart>,
    /// Warnings and errors: what happened, naming the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    /// A failed save: about the bytes it needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    needs_bytes: Option<u64>,
}

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
fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{:.0} KB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.2} GB", b as f64 / 1e9),
    }
}

/// Turns events into report lines; kept apart from I/O so it can be tested.
#[derive(Debug, Default)]
pub struct Reporter {
    info: Option<RunInfo>,
    started: Option<Instant>,
    variant: Option<String>,
}

impl Reporter {
    /// A reporter for a race's variant: its lines carry the label.
    pub fn for_variant(label: Option<String>) -> Self {
        Self {
            variant: label,
            ..Self::default()
        }
    }

    /// The text lines for `event`, `[label] ` first for a race's variant.
    pub fn text(&mut self, event: &Event) -> Vec<String> {
        let lines = self.text_lines(event);
        match &self.variant {
            Some(label) => lines
                .into_iter()
                .map(|line| format!("[{label}] {line}"))
                .collect(),
            None => lines,
        }
    }

    fn text_lines(&mut self, event: &Event) -> Vec<String> {
        match event {
            Event::Started(info) => {
                self.start(info);
                let s = &info.settings;
                vec![
                    format!("data: {}", info.data),
                    format!("device: {}", info.device),
                    format!(
                        "model: LeNet-5, {} pooling, {} activation, {} parameters; lr {}, batch {}, {} epochs, seed {}",
                        s.pooling,
                        s.activation,
                        format_count(info.layers.total_parameters()),
                        s.learning_rate,
                        s.batch_size,
                        s.epochs,
                        s.seed
                    ),
                ]
            }
            Event::EpochFinished(e) => vec![format!(
                "epoch {}/{}: loss {:.3}, train acc {:.3}, test acc {:.3}, {:.1} examples/sec on {}",
                e.epoch,
                self.epochs(),
                e.train_loss,
                e.train_acc,
                e.test_acc,
                e.examples_per_sec,
                self.device()
            )],
            Event::Finished(e) => vec![format!(
                "done: loss {:.3}, train acc {:.3}, test acc {:.3} after {} epochs in {:.1} s",
                e.train_loss,
                e.train_acc,
                e.test_acc,
                e.epoch,
                self.elapsed()
            )],
            Event::Rejected(why) => vec![format!("warning: {why}")],
            Event::Saved(saved) if saved.reason == SaveReason::Start => {
                let run = saved.path.parent().unwrap_or(&saved.path);
                vec![format!("checkpoints: {}", run.display())]
            }
            Event::SaveFailed {
                part,
                message,
                needs,
                ..
            } => vec![match needs {
                Some(bytes) => format!(
                    "warning: {part} not saved (needs about {}): {message}",
                    format_bytes(*bytes)
                ),
                None => format!("warning: {part} not saved: {message}"),
            }],
            Event::Warning { part, message } => vec![format!("warning: {part}: {message}")],
            Event::Restored(r) => vec![format!(
                "resumed from {} at epoch {:.2} of {}",
                r.from.display(),
                r.at,
                r.settings.epochs
            )],
            _ => Vec::new(),
        }
    }

    /// The JSON line for `event`, if it is one that `--json` reports.
    pub fn json(&mut self, event: &Event) -> Option<String> {
        if let Event::Started(info) = event {
            self.start(info);
        }
        let info = self.info.as_ref()?;
        let mut line = JsonLine {
            event: "",
            variant: self.variant.as_deref(),
            epoch: None,
            epochs: info.settings.epochs.get(),
            train_loss: None,
            train_acc: None,
            test_acc: None,
            examples_per_sec: None,
            device: &info.device,
            data: &info.data,
            seconds: None,
            info: None,
            path: None,
            reason: None,
            batch: None,
            layers: None,
            what: None,
            message: None,
            needs_bytes: None,
        };
        match event {
            Event::Started(_) => {
                line.event = "start";
                line.epoch = Some(0.0);
                line.info = Some(info);
            }
            Event::Progress(p) => {
                line.event = "progress";
                line.epoch = Some(p.at);
                line.train_loss = Some(p.train_loss);
                line.train_acc = Some(p.train_acc);
                line.examples_per_sec = Some(p.examples_per_sec);
                line.layers = Some(&p.layers);
            }
            Event::EpochFinished(e) | Event::Finished(e) => {
                line.event = if matches!(event, Event::Finished(_)) {
                    "done"
                } else {
                    "epoch"
                };
                line.epoch = Some(f64::from(e.epoch));
                line.train_loss = Some(e.train_loss);
                line.train_acc = Some(e.train_acc);
                line.test_acc = Some(e.test_acc);
                line.examples_per_sec = Some(e.examples_per_sec);
                line.layers = Some(&e.layers);
                line.seconds = Some(if line.event == "done" {
                    self.elapsed()
                } else {
                    e.train_seconds + e.eval_seconds
                });
            }
            Event::Saved(saved) => {
                line.event = "checkpoint";
                line.epoch = Some(saved.at);
                line.path = Some(&saved.path);
                line.reason = Some(saved.reason);
            }
            Event::Restored(r) => {
                line.event = "resumed";
                line.epoch = Some(r.at);
                line.path = Some(&r.from);
            }
            Event::SaveFailed {
                reason,
                part,
                message,
                needs,
            } => {
                line.event = "warning";
                line.reason = Some(*reason);
                line.what = Some(*part);
                line.message = Some(message);
                line.needs_bytes = *needs;
            }
            Event::Warning { part, message } => {
                line.event = "warning";
                line.what = Some(*part);
                line.message = Some(message);
            }
            Event::Diverged(d) => {
                line.event = "diverged";
                line.epoch = Some(f64::from(d.epoch));
                line.batch = Some(d.batch);
                // NaN and infinity become null.
                line.train_loss = Some(d.loss);
                line.path = d.last_good.as_deref();
            }
            _ => return None,
        }
        Some(serde_json::to_string(&line).expect("report lines serialise"))
    }

    fn start(&mut self, info: &RunInfo) {
        self.info = Some(info.clone());
        self.started = Some(Instant::now());
    }

    fn epochs(&self) -> u32 {
        self.info.as_ref().map_or(0, |i| i.settings.epochs.get())
    }

    fn device(&self) -> &str {
        self.info.as_ref().map_or("?", |i| &i.device)
    }

    fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }
}

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

/// Drives `trainer` to the end of its epochs, reporting as it goes, and with
/// `snapshots` saves the dashboard at every epoch end and the figure at the end.
pub fn run(
    trainer: TrainerHandle,
    report: Report,
    mut snapshots: Option<Snapshots>,
    signals: &Receiver<Signal>,
) -> Result<Outcome, HeadlessError> {
    let mut reporter = Reporter::default();
    if let Some(s) = &snapshots {
        for command in s.app.initial_commands() {
            trainer.send(command);
        }
    }
    let stdout = std::io::stdout();
    let bar = progress_bar(report);
    let mut unsaved = Unsaved::default();
    loop {
        let event = select! {
            recv(trainer.events()) -> event => match event {
                Ok(event) => event,
                Err(_) => break,
            },
            recv(signals) -> signal => {
                let Ok(signal) = signal else { continue };
                bar.finish_and_clear();
                tracing::info!("{} received", signal.name());
                let reason = signal.save_reason();
                let saved = trainer.save_now(reason, crate::train::SAVE_ANSWER, SAVE_TIMEOUT);
                trainer.stop();
                // The way-out checkpoint is an event like the others, for scripts.
                let event = match &saved {
                    Ok(saved) => Event::Saved(saved.clone()),
                    Err(message) => Event::SaveFailed {
                        reason,
                        part: SavePart::Checkpoint,
                        message: message.clone(),
                        needs: None,
                    },
                };
                if report == Report::Json {
                    emit(report, &mut reporter, &event, &[], &bar)?;
                }
                let saved = saved.map(|s| s.path);
                return Err(HeadlessError::Signal { signal, saved });
            }
        };
        let notes = snapshots.as_mut().map_or_else(Vec::new, |s| {
            let epoch_end = matches!(event, Event::EpochFinished(_));
            let finished = matches!(event, Event::Finished(_));
            s.after(0, &event, epoch_end, finished)
        });
        for note in &notes {
            tracing::info!("{note}");
        }
        emit(report, &mut reporter, &event, &notes, &bar)?;
        match event {
            Event::Started(info) => {
                // The whole run, so the ETA is for the run, not the epoch.
                bar.set_length(
                    info.batches_per_epoch as u64 * u64::from(info.settings.epochs.get()),
                );
                bar.set_prefix(format!("epoch 1/{}", info.settings.epochs));
                bar.enable_steady_tick(Duration::from_millis(250));
            }
            Event::Progress(p) => {
                bar.set_prefix(format!("epoch {}/{}", p.epoch, reporter.epochs()));
                bar.set_position((u64::from(p.epoch) - 1) * p.batches as u64 + p.batch as u64);
            }
            Event::Saved(_) | Event::SaveFailed { .. } => unsaved.on_event(&event),
            Event::Finished(summary) => {
                bar.finish_and_clear();
                trainer.stop();
                // The results are out; a script must still learn what is not kept.
                if let Some(what) = unsaved.report() {
                    not_saved_lines(report, None, &unsaved)?;
                    return Err(HeadlessError::NotSaved(what));
                }
                return Ok(Outcome {
                    epochs: summary.epoch,
                    test_acc: summary.test_acc,
                });
            }
            Event::Error(message) => {
                bar.finish_and_clear();
                if report == Report::Json {
                    let line = serde_json::json!({"event": "error", "message": message});
                    writeln!(stdout.lock(), "{line}")?;
                }
                return Err(HeadlessError::Trainer(message));
            }
            Event::Diverged(d) => {
                bar.finish_and_clear();
                trainer.stop();
                return Err(HeadlessError::Diverged(d));
            }
            Event::Stopped => break,
            _ => {}
        }
    }
    bar.finish_and_clear();
    Err(HeadlessError::Ended)
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

/// One race variant's end.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantOutcome {
    /// Its label.
    pub label: String,
    /// Its last epoch's figures.
    pub outcome: Outcome,
}

/// Drives a race's variants to the end of their epochs, reporting their events as one
/// interleaved stream, each line with its variant. A variant that diverges pauses
/// alone (its trainer leaves the device to the others) and the race goes on; the
/// error names it once the others are done.
pub fn run_race(
    lanes: Vec<Lane>,
    report: Report,
    mut snapshots: Option<Snapshots>,
    signals: &Receiver<Signal>,
) -> Result<Vec<VariantOutcome>, HeadlessError> {
    let labels: Vec<String> = lanes
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.label
                .clone()
                .unwrap_or_else(|| format!("variant {}", i + 1))
        })
        .collect();
    let mut reporters: Vec<Reporter> = labels
        .iter()
        .map(|l| Reporter::for_variant(Some(l.clone())))
        .collect();
    if let Some(s) = &mut snapshots {
        s.app.race(labels.clone());
        for command in s.app.initial_commands() {
            for (lane, command) in s.app.recipients(command) {
                lanes[lane].trainer.send(command);
            }
        }
    }
    // Epochs each variant has finished, and the last epoch the snapshots showed: a
    // snapshot is taken once every variant still training has ended the epoch.
    let mut epochs_done = vec![0u32; lanes.len()];
    let mut shot_epoch = 0u32;
    let mut states = vec![LaneState::Training; lanes.len()];
    let mut unsaved = vec![Unsaved::default(); lanes.len()];
    // Batches to train and trained, per variant, for the one bar of the whole race.
    let mut lengths = vec![0u64; lanes.len()];
    let mut positions = vec![0u64; lanes.len()];
    let bar = progress_bar(report);
    bar.set_prefix("race");
    let stop_all = |lanes: Vec<Lane>| lanes.into_iter().for_each(|l| l.trainer.stop());
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
            // The race's directory, which `--resume` takes to go on with every variant.
            let named = lanes
                .iter()
                .zip(&labels)
                .map(|(l, label)| (format!("variant `{label}`"), &l.trainer));
            let saved = crate::train::save_all(
                named,
                signal.save_reason(),
                crate::train::SAVE_ANSWER,
                SAVE_TIMEOUT,
            );
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
                bar.enable_steady_tick(Duration::from_millis(250));
            }
            Event::Progress(p) => {
                positions[index] = (u64::from(p.epoch) - 1) * p.batches as u64 + p.batch as u64;
                bar.set_position(positions.iter().sum());
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
                    let line = serde_json::json!(
                        {"event": "error", "variant": labels[index], "message": message}
                    );
                    writeln!(std::io::stdout().lock(), "{line}")?;
                }
                break Some(HeadlessError::Trainer(format!(
                    "variant `{}`: {message}",
                    labels[index]
                )));
            }
            Event::Stopped => break Some(HeadlessError::Ended),
            _ => {}
        }
    };
    bar.finish_and_clear();
    drop(select);
    stop_all(lanes);
    if let Some(e) = failed {
        return Err(e);
    }
    let mut outcomes = Vec::new();
    for ((state, label), unsaved) in states.into_iter().zip(labels).zip(unsaved) {
        match state {
            LaneState::Diverged(divergence) => {
                return Err(HeadlessError::VariantDiverged { label, divergence });
            }
            LaneState::Finished(outcome) => {
                if let Some(what) = unsaved.report() {
                    not_saved_lines(report, Some(&label), &unsaved)?;
                    return Err(HeadlessError::NotSaved(format!(
                        "variant `{label}`: {what}"
                    )));
                }
                outcomes.push(VariantOutcome { label, outcome });
            }
            LaneState::Training => unreachable!("the loop ends when no variant trains"),
        }
    }
    Ok(outcomes)
}
