//! The trainer's log: what it reports, at the level each event deserves.

use super::super::messages::{Change, Event};

/// Logs what the trainer reports, at the level each deserves (activation maps and GPU
/// readings are not worth a line).
pub(super) fn record(event: &Event) {
    use tracing::{debug, error, info, warn};
    match event {
        Event::Started(i) => info!(
            data = %i.data,
            device = %i.device,
            train = i.train_examples,
            test = i.test_examples,
            "run started: {:?}",
            i.settings
        ),
        Event::Progress(p) => debug!(
            epoch = p.epoch,
            batch = p.batch,
            batches = p.batches,
            loss = p.train_loss,
            acc = p.train_acc,
            examples_per_sec = p.examples_per_sec,
            "progress"
        ),
        Event::EpochFinished(e) => info!(
            epoch = e.epoch,
            loss = e.train_loss,
            train_acc = e.train_acc,
            test_acc = e.test_acc,
            examples_per_sec = e.examples_per_sec,
            "epoch finished"
        ),
        Event::Changed { at, change } if !matches!(change, Change::Probes(_)) => {
            info!(at, "changed: {change:?}");
        }
        Event::Rejected(why) => warn!("command refused: {why}"),
        Event::Saved(s) => info!(
            reason = %s.reason,
            at = s.at,
            path = %s.path.display(),
            "checkpoint saved"
        ),
        Event::SaveFailed {
            reason,
            part,
            message,
            needs,
        } => {
            warn!(%reason, needs, "{part} not saved: {message}");
        }
        Event::Warning { part, message } => warn!("{part}: {message}"),
        Event::Diverged(d) => warn!("diverged: {d}"),
        Event::Restored(r) => info!(at = r.at, from = %r.from.display(), "restored"),
        Event::Finished(e) => info!(epoch = e.epoch, test_acc = e.test_acc, "run finished"),
        Event::Error(e) => error!("{e}"),
        Event::Stopped => info!("trainer stopped"),
        _ => {}
    }
}
