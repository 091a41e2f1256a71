use super::*;
use crate::model::{Activation, Pooling};

fn params() -> Vec<(String, Vec<usize>)> {
    vec![("w".into(), vec![2, 2]), ("b".into(), vec![2])]
}

fn moment(at: f64) -> Moment {
    Moment {
        at,
        epoch: at.floor() as u32 + 1,
        batch: 0,
        batches: 10,
        pooling: Pooling::Avg,
        activation: Activation::Sigmoid,
        learning_rate: 0.9,
    }
}

fn snapshot(at: f64) -> Snapshot {
    let v = at as f32;
    Snapshot {
        moment: moment(at),
        weights: vec![vec![v; 4], vec![v; 2]],
    }
}

fn positions(t: &Timeline) -> Vec<f64> {
    t.snapshots().map(|s| s.moment.at).collect()
}

/// A timeline that was offered `n` snapshots at 0.1, 0.2, … (and the fresh weights at 0).
fn offered(capacity: usize, n: usize) -> Timeline {
    let mut t = Timeline::with_thinning(params(), Thinning::new(capacity));
    for k in 0..=n {
        t.push(snapshot(k as f64 / 10.0));
    }
    t
}

#[test]
fn a_memory_bound_becomes_a_snapshot_count() {
    // 6 floats of 4 bytes: 24 bytes a snapshot; 1 MB holds 43,690 of them.
    let t = Timeline::new(params(), 1);
    assert_eq!(t.snapshot_bytes(), 24);
    assert_eq!(t.thinning.capacity(), (1 << 20) / 24);
    assert_eq!(Thinning::within(64, 247_000).capacity(), 271);
    // Never fewer than the first and the newest, however small the bound.
    assert_eq!(Thinning::within(1, 10 << 20).capacity(), 2);
}

#[test]
fn under_the_bound_every_snapshot_is_kept() {
    let t = offered(100, 50);
    assert_eq!(t.len(), 51);
    assert_eq!(positions(&t)[..3], [0.0, 0.1, 0.2]);
}

#[test]
fn thinning_keeps_within_the_bound_however_long_the_run() {
    for capacity in [2, 3, 7, 16, 51] {
        for n in [0, 1, 5, 50, 333, 2000] {
            let t = offered(capacity, n);
            assert!(
                t.len() <= capacity,
                "capacity {capacity}, {n} offered: kept {}",
                t.len()
            );
        }
    }
}

#[test]
fn thinning_always_keeps_the_first_and_the_newest() {
    for capacity in [2, 5, 16] {
        for n in [1, 17, 100, 1001] {
            let t = offered(capacity, n);
            let kept = positions(&t);
            assert_eq!(kept[0], 0.0, "capacity {capacity}, {n}: {kept:?}");
            assert_eq!(
                *kept.last().unwrap(),
                n as f64 / 10.0,
                "capacity {capacity}, {n}: {kept:?}"
            );
        }
    }
}

#[test]
fn thinning_spreads_the_kept_snapshots_evenly() {
    let t = offered(16, 1000);
    let seqs: Vec<u64> = t.snapshots.iter().map(|(seq, _)| *seq).collect();
    // All but the newest lie on one stride's grid, and they fill it from the start.
    let grid = &seqs[..seqs.len() - 1];
    let stride = grid[1] - grid[0];
    assert!(stride > 1);
    assert!(
        grid.windows(2).all(|w| w[1] - w[0] == stride),
        "uneven: {seqs:?}"
    );
    // The grid reaches within one stride of the newest, so no stretch of the run is
    // missing, and the bound is used (more than half the capacity).
    assert!(seqs[seqs.len() - 1] - grid[grid.len() - 1] <= stride);
    assert!(t.len() > 8, "{seqs:?}");
}

#[test]
fn a_second_snapshot_of_the_same_moment_replaces_the_first() {
    let mut t = offered(100, 3);
    let mut again = snapshot(0.3);
    again.weights[0][0] = 42.0;
    t.push(again);
    assert_eq!(t.len(), 4);
    assert_eq!(t.find(Seek::End).unwrap().weights[0][0], 42.0);
}

#[test]
fn seeks_land_on_neighbouring_snapshots() {
    let t = offered(100, 10);
    let at = |s| t.find(s).map(|s| s.moment.at);
    assert_eq!(at(Seek::Start), Some(0.0));
    assert_eq!(at(Seek::End), Some(1.0));
    assert_eq!(at(Seek::Before(0.5)), Some(0.4));
    assert_eq!(at(Seek::Before(0.55)), Some(0.5));
    assert_eq!(at(Seek::After(0.5)), Some(0.6));
    assert_eq!(at(Seek::At(0.55)), Some(0.5));
    assert_eq!(at(Seek::At(0.5)), Some(0.5));
    assert_eq!(at(Seek::Before(0.0)), None);
    assert_eq!(at(Seek::After(1.0)), None);
    assert_eq!(
        Timeline::with_thinning(params(), Thinning::new(4)).find(Seek::End),
        None
    );
}

#[test]
fn truncating_forgets_what_came_after() {
    let mut t = offered(100, 20);
    t.push_confusion(1, ConfusionMatrix::new(10));
    t.push_confusion(2, ConfusionMatrix::new(10));
    t.truncate(1.0);
    assert_eq!(positions(&t).last(), Some(&1.0));
    assert_eq!(t.len(), 11);
    assert_eq!(t.confusions().len(), 1);
    t.clear();
    assert!(t.is_empty());
    assert!(t.confusions().is_empty());
    assert_eq!(t.parameters(), params().as_slice());
}

#[test]
fn the_confusion_at_a_moment_is_the_last_finished_epochs() {
    let mut t = offered(100, 30);
    let mut first = ConfusionMatrix::new(10);
    first.record(1, 2);
    t.push_confusion(1, first.clone());
    t.push_confusion(2, ConfusionMatrix::new(10));
    assert_eq!(t.confusion_at(0.5), None);
    assert_eq!(t.confusion_at(1.0).map(|c| c.epoch), Some(1));
    assert_eq!(t.confusion_at(1.9).unwrap().matrix, first);
    assert_eq!(t.confusion_at(2.5).map(|c| c.epoch), Some(2));
    // An epoch evaluated again (after a restore) replaces the later ones.
    t.push_confusion(1, ConfusionMatrix::new(10));
    assert_eq!(t.confusions().len(), 1);
}

#[test]
fn history_until_cuts_the_charts_at_a_moment() {
    use crate::train::messages::EpochSummary;
    let progress = |at: f64| Progress {
        epoch: at.floor() as u32 + 1,
        at,
        batch: 0,
        batches: 10,
        train_loss: 1.0 / (1.0 + at),
        train_acc: 0.5,
        examples_per_sec: 1000.0,
        layers: Vec::new(),
    };
    let epoch = |epoch| EpochSummary {
        epoch,
        train_loss: 0.5,
        train_acc: 0.8,
        test_acc: 0.7,
        examples_per_sec: 1000.0,
        train_seconds: 1.0,
        eval_seconds: 0.1,
        layers: Vec::new(),
        class_acc: Vec::new(),
    };
    let history = History {
        progress: (1..=30).map(|k| progress(k as f64 / 10.0)).collect(),
        epochs: vec![epoch(1), epoch(2), epoch(3)],
        changes: Vec::new(),
    };
    let cut = history_until(&history, 1.5);
    assert_eq!(cut.progress.len(), 15);
    assert_eq!(cut.progress.last().map(|p| p.at), Some(1.5));
    assert_eq!(cut.epochs, vec![epoch(1)]);
    assert_eq!(history_until(&history, 3.0), history);
    assert!(history_until(&history, 0.0).progress.is_empty());
}

#[test]
fn a_spread_keeps_within_its_count_evenly_with_the_first_and_newest() {
    for n in [1, 2, 5, 50, 200, 401] {
        let t = offered(10_000, n);
        for at_most in [2, 3, 10, 51, 80, 1000] {
            let kept: Vec<f64> = t.spread(at_most).iter().map(|s| s.moment.at).collect();
            assert!(
                kept.len() <= at_most.max(2),
                "{n} in {at_most}: {}",
                kept.len()
            );
            assert_eq!(kept[0], 0.0);
            assert_eq!(*kept.last().unwrap(), positions(&t)[n]);
            if n < at_most {
                assert_eq!(kept, positions(&t), "all fit");
            }
            // One stride between all but the newest.
            let gaps: Vec<f64> = kept[..kept.len() - 1]
                .windows(2)
                .map(|w| ((w[1] - w[0]) * 10.0).round())
                .collect();
            assert!(gaps.windows(2).all(|g| g[0] == g[1]), "{gaps:?}");
        }
    }
    // 401 in 80: every sixth, and the newest.
    assert_eq!(offered(10_000, 400).spread(80).len(), 68);
}
