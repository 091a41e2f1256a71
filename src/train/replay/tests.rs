use super::*;
use crate::engine::ConfusionMatrix;
use crate::model::Pooling;
use crate::train::messages::{EpochSummary, MarkedChange, Progress};

fn progress(at: f64) -> Progress {
    Progress {
        epoch: at.ceil().max(1.0) as u32,
        at,
        batch: 1,
        batches: 4,
        train_loss: 2.0 - at,
        train_acc: at / 4.0,
        examples_per_sec: 1000.0,
        layers: Vec::new(),
    }
}

fn epoch(n: u32, examples_per_sec: f64, train_seconds: f64) -> EpochSummary {
    EpochSummary {
        epoch: n,
        train_loss: 1.0,
        train_acc: 0.5,
        test_acc: 0.5,
        examples_per_sec,
        train_seconds,
        eval_seconds: 0.1,
        layers: Vec::new(),
        class_acc: Vec::new(),
    }
}

fn two_epochs() -> (History, Vec<EpochConfusion>) {
    let history = History {
        progress: [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
            .into_iter()
            .map(progress)
            .collect(),
        epochs: vec![epoch(1, 1000.0, 6.0), epoch(2, 3000.0, 2.0)],
        changes: vec![
            MarkedChange {
                at: 1.0,
                change: Change::Pooling(Pooling::Max),
            },
            MarkedChange {
                at: 1.5,
                change: Change::Pace(Pace::PerSecond(100)),
            },
            MarkedChange {
                at: 1.5,
                change: Change::Paused,
            },
        ],
    };
    let confusions = (1..=2)
        .map(|epoch| EpochConfusion {
            epoch,
            matrix: ConfusionMatrix::new(10),
        })
        .collect();
    (history, confusions)
}

fn kinds(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Progress(p) => format!("progress {}", p.at),
            Event::Confusion { epoch, .. } => format!("confusion {epoch}"),
            Event::EpochFinished(e) => format!("epoch {}", e.epoch),
            Event::Changed { at, change } => format!("change {at} {change:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_head_passes_the_runs_events_in_the_order_they_were_sent() {
    let (history, confusions) = two_epochs();
    let events = events_between(&history, &confusions, 0.5, 1.5);
    assert_eq!(
        kinds(&events),
        [
            "progress 0.75",
            "progress 1",
            "confusion 1",
            "epoch 1",
            "change 1 Pooling(Max)",
            "progress 1.25",
            "progress 1.5",
        ],
        "from is excluded, to included; the run's own pace and pauses are not replayed"
    );
    assert!(events_between(&history, &confusions, 1.5, 1.5).is_empty());
    let all = events_between(&history, &confusions, -1.0, 2.0);
    assert_eq!(all.len(), 8 + 2 * 2 + 1, "every report, epoch and setting");
}

#[test]
fn the_head_moves_at_the_pace_in_examples_a_second() {
    let t0 = Instant::now();
    let mut head = Playhead::new(3.0, Pace::PerSecond(3000), 20_000.0, 6000, t0);
    assert_eq!(head.epochs_per_second(), 0.5);
    assert_eq!(head.advance(t0 + Duration::from_secs(1)), Some((0.0, 0.5)));
    // Paused for a minute: nothing moves, and the minute is not played later.
    head.set_playing(false, t0 + Duration::from_secs(1));
    assert_eq!(head.advance(t0 + Duration::from_secs(61)), None);
    assert_eq!(head.wait(), None, "a paused head waits for a command");
    head.set_playing(true, t0 + Duration::from_secs(61));
    let (from, to) = head.advance(t0 + Duration::from_secs(63)).unwrap();
    assert_eq!((from, to), (0.5, 1.5));
    // Full speed is the run's own.
    head.pace = Pace::Full;
    assert_eq!(head.epochs_per_second(), 20_000.0 / 6000.0);
    // The head stops at the end of the record.
    assert_eq!(head.advance(t0 + Duration::from_secs(70)), Some((1.5, 3.0)));
    assert!(head.at_end());
    assert_eq!(head.advance(t0 + Duration::from_secs(71)), None);
    assert_eq!(head.wait(), None);
}

#[test]
fn a_lecture_pace_plays_an_epoch_in_ten_to_twenty_seconds() {
    assert_eq!(lecture_pace(60_000, 38_000.0), Pace::PerSecond(4096));
    assert_eq!(lecture_pace(6_000, 38_000.0), Pace::PerSecond(512));
    // Never below the slowest pace, never faster than the run went.
    assert_eq!(lecture_pace(10, 38_000.0), Pace::PerSecond(SLOWEST));
    assert_eq!(lecture_pace(60_000, 3_000.0), Pace::Full);
}

#[test]
fn the_runs_speed_weighs_its_epochs_by_their_time() {
    let (history, _) = two_epochs();
    // 6000 + 6000 examples in 8 s.
    assert_eq!(run_speed(&history), Some(1500.0));
    let early = History {
        progress: vec![progress(0.25)],
        ..History::default()
    };
    assert_eq!(run_speed(&early), Some(1000.0));
    assert_eq!(run_speed(&History::default()), None);
}
