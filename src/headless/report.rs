//! Events as report lines: the chapter's text lines, or one JSON object per event
//! whose shared fields are always present. Kept apart from I/O so it can be tested.

use std::time::Instant;

use serde::Serialize;

use super::unsaved::format_bytes;
use crate::model::shapes::format_count;
use crate::train::{EpochSummary, Event, LayerStats, RunInfo, SavePart, SaveReason};

/// One line of `--json` output. The shared fields are always present (null when the
/// event has no such figure) so scripts can read every line the same way.
#[derive(Debug, Default, Serialize)]
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
    /// Epoch and done events: the test accuracy of each class, in label order.
    #[serde(skip_serializing_if = "Option::is_none")]
    class_acc: Option<&'a [f64]>,
}

impl<'a> JsonLine<'a> {
    /// An `epoch` or `done` line for `e`, which took `seconds`.
    fn epoch(self, event: &'static str, e: &'a EpochSummary, seconds: f64) -> Self {
        JsonLine {
            event,
            epoch: Some(f64::from(e.epoch)),
            train_loss: Some(e.train_loss),
            train_acc: Some(e.train_acc),
            test_acc: Some(e.test_acc),
            examples_per_sec: Some(e.examples_per_sec),
            layers: Some(&e.layers),
            seconds: Some(seconds),
            class_acc: Some(&e.class_acc),
            ..self
        }
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
                "epoch {}/{}: loss {:.3}, train acc {:.3}, test acc {:.3}, {:.1} examples/sec on {}{}",
                e.epoch,
                self.epochs(),
                e.train_loss,
                e.train_acc,
                e.test_acc,
                e.examples_per_sec,
                self.device(),
                self.weakest(e)
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
        let base = JsonLine {
            variant: self.variant.as_deref(),
            epochs: info.settings.epochs.get(),
            device: &info.device,
            data: &info.data,
            ..JsonLine::default()
        };
        let line = match event {
            Event::Started(_) => JsonLine {
                event: "start",
                epoch: Some(0.0),
                info: Some(info),
                ..base
            },
            Event::Progress(p) => JsonLine {
                event: "progress",
                epoch: Some(p.at),
                train_loss: Some(p.train_loss),
                train_acc: Some(p.train_acc),
                examples_per_sec: Some(p.examples_per_sec),
                layers: Some(&p.layers),
                ..base
            },
            Event::EpochFinished(e) => base.epoch("epoch", e, e.train_seconds + e.eval_seconds),
            Event::Finished(e) => base.epoch("done", e, self.elapsed()),
            Event::Saved(saved) => JsonLine {
                event: "checkpoint",
                epoch: Some(saved.at),
                path: Some(&saved.path),
                reason: Some(saved.reason),
                ..base
            },
            Event::Restored(r) => JsonLine {
                event: "resumed",
                epoch: Some(r.at),
                path: Some(&r.from),
                ..base
            },
            Event::SaveFailed {
                reason,
                part,
                message,
                needs,
            } => JsonLine {
                event: "warning",
                reason: Some(*reason),
                what: Some(*part),
                message: Some(message),
                needs_bytes: *needs,
                ..base
            },
            Event::Warning { part, message } => JsonLine {
                event: "warning",
                what: Some(*part),
                message: Some(message),
                ..base
            },
            Event::Diverged(d) => JsonLine {
                event: "diverged",
                epoch: Some(f64::from(d.epoch)),
                batch: Some(d.batch),
                // NaN and infinity become null.
                train_loss: Some(d.loss),
                path: d.last_good.as_deref(),
                ..base
            },
            _ => return None,
        };
        Some(serde_json::to_string(&line).expect("report lines serialise"))
    }

    /// `; weakest: Shirt 0.552`, the class the model gets right least often.
    fn weakest(&self, e: &EpochSummary) -> String {
        let Some((class, acc)) = e.weakest_class() else {
            return String::new();
        };
        let name = self
            .info
            .as_ref()
            .and_then(|i| i.classes.get(class))
            .map_or_else(|| format!("class {class}"), Clone::clone);
        format!("; weakest: {name} {acc:.3}")
    }

    fn start(&mut self, info: &RunInfo) {
        self.info = Some(info.clone());
        self.started = Some(Instant::now());
    }

    pub(super) fn epochs(&self) -> u32 {
        self.info.as_ref().map_or(0, |i| i.settings.epochs.get())
    }

    fn device(&self) -> &str {
        self.info.as_ref().map_or("?", |i| &i.device)
    }

    fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }
}
