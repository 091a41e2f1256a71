//! The trainer thread, driven only through its channels.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use lenet_tui::checkpoint;
use lenet_tui::data::Dataset;
use lenet_tui::data::own::{ImageId, ProbeImage};
use lenet_tui::device::OpenedDevice;
use lenet_tui::model::{Activation, Architecture, Pooling};
use lenet_tui::train::timeline::HistoryPolicy;
use lenet_tui::train::{
    BatchSize, Change, CheckpointPolicy, Command, EpochSummary, Epochs, Event, LearningRate,
    ProbeReport, SaveReason, TrainSettings, TrainerHandle, TrainerSpec, spawn,
};

const WAIT: Duration = Duration::from_secs(120);

pub(crate) fn trainer(settings: TrainSettings) -> TrainerHandle {
    spawn(spec(settings))
}

fn spec(settings: TrainSettings) -> TrainerSpec {
    TrainerSpec {
        dataset: Arc::new(Dataset::embedded()),
        device: OpenedDevice::cpu(),
        architecture: Architecture::default(),
        settings,
        checkpoints: None,
        resume: None,
        lock: None,
        history: HistoryPolicy::default(),
        turn: None,
    }
}

fn with_checkpoints(settings: TrainSettings, runs: &std::path::Path) -> TrainerSpec {
    TrainerSpec {
        checkpoints: Some(CheckpointPolicy {
            runs_dir: runs.to_path_buf(),
            keep: 3,
            run_name: None,
        }),
        ..spec(settings)
    }
}

fn epochs_until_finished(t: &TrainerHandle) -> Vec<EpochSummary> {
    let mut epochs = Vec::new();
    loop {
        match next_matching(t, |e| {
            matches!(e, Event::EpochFinished(_) | Event::Finished(_))
        }) {
            Event::EpochFinished(e) => epochs.push(e),
            _ => return epochs,
        }
    }
}

fn settings(epochs: u32) -> TrainSettings {
    TrainSettings {
        epochs: Epochs::try_from(i64::from(epochs)).unwrap(),
        batch_size: BatchSize::try_from(64).unwrap(),
        reports_per_epoch: 94, // a progress event after every batch
        ..TrainSettings::default()
    }
}

/// The next event matching `want`, failing on errors and timeouts.
pub(crate) fn next_matching(t: &TrainerHandle, want: impl Fn(&Event) -> bool) -> Event {
    loop {
        match t.events().recv_timeout(WAIT) {
            Ok(Event::Error(e)) => panic!("trainer error: {e}"),
            Ok(e) if want(&e) => return e,
            Ok(_) => {}
            Err(e) => panic!("no matching event: {e}"),
        }
    }
}

fn activations(t: &TrainerHandle) -> Vec<ProbeReport> {
    match next_matching(t, |e| matches!(e, Event::Activations { .. })) {
        Event::Activations { reports, .. } => reports,
        _ => unreachable!(),
    }
}

#[test]
fn started_reports_the_run() {
    let t = trainer(settings(1));
    let Event::Started(info) = next_matching(&t, |_| true) else {
        panic!("first event is Started")
    };
    assert_eq!(info.train_examples, 6000);
    assert_eq!(info.test_examples, 1000);
    assert_eq!(info.batches_per_epoch, 94);
    assert_eq!(info.layers.total_parameters(), 61_706);
    assert_eq!(info.classes[2], "Pullover");
    assert!(info.data.contains("embedded"), "{}", info.data);
}

#[test]
fn pause_stops_batches_and_resume_continues() {
    let t = trainer(settings(5));
    next_matching(&t, |e| matches!(e, Event::Progress(_)));
    assert!(t.send(Command::Pause));
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    });
    // Whatever was in flight has been reported by now; no batch may follow.
    let quiet = t.events().recv_timeout(Duration::from_millis(800));
    assert!(
        matches!(quiet, Err(RecvTimeoutError::Timeout)),
        "event while paused: {quiet:?}"
    );
    assert!(t.send(Command::Resume));
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Resumed,
                ..
            }
        )
    });
    next_matching(&t, |e| matches!(e, Event::Progress(_)));
}

#[test]
fn pooling_swap_changes_the_forward_pass_but_not_the_weights() {
    let t = trainer(settings(5));
    next_matching(&t, |e| matches!(e, Event::Progress(p) if p.batch >= 3));
    t.send(Command::Pause);
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    });
    t.send(Command::SetProbes(ProbeImage::tests([2, 4])));
    let avg = activations(&t);
    assert_eq!(avg.len(), 2);
    assert_eq!(
        (avg[0].probe.layer1.channels, avg[0].probe.layer2.channels),
        (6, 16)
    );

    t.send(Command::SetPooling(Pooling::Max));
    let Event::Layers(table) = next_matching(&t, |e| matches!(e, Event::Layers(_))) else {
        unreachable!()
    };
    assert_eq!(table.layers[2].layer, "MaxPool2d");
    let max = activations(&t);
    // Layer 1 comes before any pooling, so it is unchanged; what follows is not.
    assert_eq!(avg[0].probe.layer1, max[0].probe.layer1);
    assert_ne!(avg[0].probe.layer2, max[0].probe.layer2);
    assert_ne!(avg[0].probe.probabilities, max[0].probe.probabilities);

    // Swapping back gives exactly the first result: no weight moved.
    t.send(Command::SetPooling(Pooling::Avg));
    let back = activations(&t);
    assert_eq!(avg, back);

    t.send(Command::SetActivation(Activation::Relu));
    let relu = activations(&t);
    assert_ne!(avg[0].probe.layer1, relu[0].probe.layer1);
}

#[test]
fn the_confusion_matrix_of_the_whole_test_set_arrives_with_each_epoch() {
    let t = trainer(settings(2));
    let mut epochs = Vec::new();
    loop {
        let event = next_matching(&t, |e| {
            matches!(
                e,
                Event::Confusion { .. } | Event::EpochFinished(_) | Event::Finished(_)
            )
        });
        match event {
            Event::Confusion { epoch, matrix } => {
                assert_eq!(matrix.classes(), 10);
                assert_eq!(matrix.total(), 1000, "every test image, once");
                epochs.push((epoch, matrix));
            }
            Event::EpochFinished(e) => {
                // The same evaluation: its diagonal is the epoch's test accuracy.
                let (epoch, matrix) = epochs.last().expect("the matrix comes first");
                assert_eq!(*epoch, e.epoch);
                assert_eq!(matrix.accuracy(), e.test_acc);
            }
            _ => break,
        }
    }
    let numbers: Vec<u32> = epochs.iter().map(|(e, _)| *e).collect();
    assert_eq!(numbers, [1, 2]);
    assert_ne!(
        epochs[0].1, epochs[1].1,
        "a second epoch changes the predictions"
    );
}

#[test]
fn activations_carry_the_first_layers_kernels_as_they_learn() {
    let t = trainer(settings(5));
    t.send(Command::SetProbes(ProbeImage::tests([0])));
    let kernels =
        |t: &TrainerHandle| match next_matching(t, |e| matches!(e, Event::Activations { .. })) {
            Event::Activations { kernels, .. } => kernels.expect("LeNet has a first conv layer"),
            _ => unreachable!(),
        };
    let before = kernels(&t);
    assert_eq!(
        (
            before.out_channels,
            before.in_channels,
            before.rows,
            before.cols
        ),
        (6, 1, 5, 5)
    );
    assert_eq!(before.values.len(), 150);
    assert_eq!(before.kernel(5).len(), 25);
    next_matching(&t, |e| matches!(e, Event::Progress(p) if p.batch >= 10));
    t.send(Command::SetProbes(ProbeImage::tests([1])));
    let after = kernels(&t);
    assert_ne!(before.values, after.values, "ten batches moved the weights");
}

#[test]
fn stop_ends_the_thread_cleanly() {
    let t = trainer(settings(5));
    next_matching(&t, |e| matches!(e, Event::Progress(_)));
    t.send(Command::Stop);
    next_matching(&t, |e| matches!(e, Event::Stopped));
    // The thread is gone: its end of the event channel closes.
    let after = t.events().recv_timeout(WAIT);
    assert!(
        matches!(after, Err(RecvTimeoutError::Disconnected)),
        "{after:?}"
    );
    assert!(!t.send(Command::Resume), "no one left to receive commands");
}

#[test]
fn bad_probes_are_rejected_and_learning_rate_changes_are_reported() {
    let t = trainer(settings(5));
    t.send(Command::Pause);
    t.send(Command::SetProbes(ProbeImage::tests([5000])));
    let Event::Rejected(why) = next_matching(&t, |e| matches!(e, Event::Rejected(_))) else {
        unreachable!()
    };
    assert!(why.contains("5000"), "{why}");
    t.send(Command::SetLearningRate("0.05".parse().unwrap()));
    next_matching(
        &t,
        |e| matches!(e, Event::Changed { change: Change::LearningRate(lr), .. } if *lr == 0.05),
    );
}

#[test]
fn restart_goes_back_to_epoch_one_with_fresh_weights() {
    let t = trainer(settings(5));
    t.send(Command::SetProbes(ProbeImage::tests([0])));
    let first = activations(&t);
    next_matching(&t, |e| matches!(e, Event::Progress(p) if p.batch >= 2));
    t.send(Command::Restart);
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Restarted,
                ..
            }
        )
    });
    let fresh = activations(&t);
    assert_ne!(first[0].probe.layer1, fresh[0].probe.layer1);
    let Event::Progress(p) = next_matching(&t, |e| matches!(e, Event::Progress(_))) else {
        unreachable!()
    };
    assert_eq!((p.epoch, p.batch), (1, 1));
}

#[test]
fn learns_on_the_embedded_subset_within_seconds() {
    let t = trainer(TrainSettings {
        epochs: Epochs::try_from(3).unwrap(),
        learning_rate: "0.1".parse().unwrap(),
        batch_size: BatchSize::try_from(64).unwrap(),
        pooling: Pooling::Max,
        activation: Activation::Relu,
        ..TrainSettings::default()
    });
    let mut epochs = Vec::new();
    while let Event::EpochFinished(e) = next_matching(&t, |e| {
        matches!(e, Event::EpochFinished(_) | Event::Finished(_))
    }) {
        epochs.push(e);
    }
    assert_eq!(epochs.len(), 3);
    assert!(
        epochs[2].train_loss < 0.75 * epochs[0].train_loss,
        "{epochs:?}"
    );
    assert!(
        epochs[2].test_acc > 0.6,
        "well above chance (0.1): {epochs:?}"
    );
}

#[test]
fn a_run_resumed_mid_epoch_goes_on_batch_for_batch() {
    let runs = tempfile::tempdir().unwrap();
    let t = spawn(with_checkpoints(settings(2), runs.path()));
    // Somewhere in the middle of epoch 1.
    next_matching(&t, |e| matches!(e, Event::Progress(p) if p.batch >= 30));
    let path = t
        .save_now(SaveReason::User, WAIT, WAIT)
        .expect("saved")
        .path;
    let straight = epochs_until_finished(&t);
    t.stop();
    let ckpt = checkpoint::load(&path).unwrap();
    let position = &ckpt.meta.position;
    assert_eq!(position.epoch, 1);
    assert!(position.batch >= 30 && position.batch < 94, "{position:?}");
    assert!(
        !ckpt.meta.history.progress.is_empty(),
        "the chart history is saved"
    );

    let resumed = spawn(TrainerSpec {
        resume: Some(ckpt.clone()),
        lock: None,
        ..with_checkpoints(settings(2), runs.path())
    });
    let Event::Restored(r) = next_matching(&resumed, |e| matches!(e, Event::Restored(_))) else {
        unreachable!()
    };
    assert_eq!(r.from, path);
    assert_eq!(r.history, ckpt.meta.history);
    let again = epochs_until_finished(&resumed);
    assert_eq!(
        again.len(),
        2,
        "both epochs end: the first resumed, then the second"
    );
    for (a, b) in straight.iter().zip(&again) {
        assert_eq!(a.epoch, b.epoch);
        assert!(
            (a.train_loss - b.train_loss).abs() < 1e-4 && (a.test_acc - b.test_acc).abs() < 1e-3,
            "the same batches in the same order give the same figures: {a:?} vs {b:?}"
        );
    }
    // Checkpoints went on in the same run directory.
    let listed = checkpoint::list_runs(runs.path()).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
}

#[test]
fn divergence_pauses_and_u_goes_back_with_a_tenth_of_the_rate() {
    let runs = tempfile::tempdir().unwrap();
    let mut s = settings(1);
    s.learning_rate = LearningRate::try_from(100.0).unwrap();
    let t = spawn(with_checkpoints(s, runs.path()));
    let Event::Diverged(d) = next_matching(&t, |e| matches!(e, Event::Diverged(_))) else {
        unreachable!()
    };
    assert_eq!(d.epoch, 1);
    let good = d.last_good.clone().expect("the start checkpoint");
    let refused = t.save_now(SaveReason::User, WAIT, WAIT).unwrap_err();
    assert!(refused.contains("diverged at epoch 1"), "{refused}");
    t.send(Command::RestoreLastGood);
    let Event::Restored(r) = next_matching(&t, |e| matches!(e, Event::Restored(_))) else {
        unreachable!()
    };
    assert_eq!(r.from, good);
    let lr = next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::LearningRate(_),
                ..
            }
        )
    });
    assert!(
        matches!(lr, Event::Changed { change: Change::LearningRate(x), .. } if (x - 10.0).abs() < 1e-9),
        "{lr:?}"
    );
    t.stop();
}

#[test]
fn without_checkpoints_a_save_is_refused_politely() {
    let t = trainer(settings(1));
    let e = t.save_now(SaveReason::User, WAIT, WAIT).unwrap_err();
    assert!(e.contains("checkpoints are off"), "{e}");
    t.stop();
}

/// At a pace of one example a second, a 64-image batch is followed by a minute's
/// wait: every command is still answered at once, a resume goes on at once (the count
/// starts again, nothing is caught up), and a new pace takes effect from the next batch.
#[test]
fn a_slow_pace_waits_between_batches_and_answers_every_command_meanwhile() {
    use lenet_tui::train::Pace;
    let progress = |t: &TrainerHandle| match next_matching(t, |e| matches!(e, Event::Progress(_))) {
        Event::Progress(p) => p,
        _ => unreachable!(),
    };
    let t = trainer(TrainSettings {
        pace: Pace::PerSecond(1),
        ..settings(1)
    });
    let started = std::time::Instant::now();
    assert_eq!(progress(&t).batch, 1);
    // The next batch is due 64 s after the first: none comes now.
    let quiet = std::time::Instant::now() + Duration::from_millis(400);
    while let Ok(event) = t.events().recv_deadline(quiet) {
        assert!(
            !matches!(event, Event::Progress(_)),
            "a batch went by: {event:?}"
        );
    }
    assert!(t.send(Command::Pause));
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    });
    assert!(t.send(Command::Resume));
    assert_eq!(progress(&t).batch, 2, "a resume goes on at once");
    assert!(t.send(Command::SetPace(Pace::Full)));
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Pace(Pace::Full),
                ..
            }
        )
    });
    let epochs = epochs_until_finished(&t);
    assert_eq!(epochs.len(), 1);
    // All of it in a small part of the minute a single wait would have taken.
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// While paused, `Step(Batch)` trains exactly one batch and reports its point and the
/// shown images at once; `Step(Epoch)` trains to the epoch's end, evaluation included;
/// each pauses again.
#[test]
fn steps_train_exactly_one_batch_or_to_the_end_of_the_epoch() {
    use lenet_tui::train::Stride;
    let progress = |t: &TrainerHandle| match next_matching(t, |e| matches!(e, Event::Progress(_))) {
        Event::Progress(p) => p,
        _ => unreachable!(),
    };
    let t = trainer(settings(2));
    // Commands are drained before every batch, the first one included: these land
    // before any training, on any machine.
    assert!(t.send(Command::SetProbes(ProbeImage::tests([0]))));
    assert!(t.send(Command::Pause));
    let Event::Changed { at: paused_at, .. } = next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    }) else {
        unreachable!()
    };
    let first = {
        assert!(t.send(Command::Step(Stride::Batch)));
        let p = progress(&t);
        next_matching(&t, |e| {
            matches!(
                e,
                Event::Activations {
                    periodic: false,
                    ..
                }
            )
        });
        p
    };
    // A machine busy elsewhere may have let the trainer take a batch or two before
    // the pause: the step trains the next one.
    let before = (paused_at * first.batches as f64).round() as usize;
    assert_eq!((first.epoch, first.batch), (1, before + 1));
    for k in 1..=2 {
        assert!(t.send(Command::Step(Stride::Batch)));
        assert_eq!(progress(&t).batch, first.batch + k, "one batch a step");
    }
    let quiet = std::time::Instant::now() + Duration::from_millis(300);
    while let Ok(event) = t.events().recv_deadline(quiet) {
        assert!(
            !matches!(event, Event::Progress(_)),
            "paused again: {event:?}"
        );
    }
    assert!(t.send(Command::Step(Stride::Epoch)));
    match next_matching(&t, |e| matches!(e, Event::EpochFinished(_))) {
        Event::EpochFinished(e) => assert_eq!(e.epoch, first.epoch),
        _ => unreachable!(),
    }
    let quiet = std::time::Instant::now() + Duration::from_millis(300);
    while let Ok(event) = t.events().recv_deadline(quiet) {
        assert!(
            !matches!(event, Event::Progress(_)),
            "paused after the epoch: {event:?}"
        );
    }
    assert!(t.send(Command::Resume));
    let epochs = epochs_until_finished(&t);
    assert_eq!(epochs.last().map(|e| e.epoch), Some(2));
}

/// The trainer keeps a snapshot at every progress report: a look back shows exactly
/// what the shown images looked like then, while the run stays where it was.
#[test]
fn a_look_back_shows_the_model_as_it_was_at_each_report() {
    use lenet_tui::train::Stride;
    use lenet_tui::train::timeline::Seek;
    let t = trainer(settings(1));
    assert!(t.send(Command::SetProbes(ProbeImage::tests([0, 7]))));
    assert!(t.send(Command::Pause));
    let fresh = activations(&t);
    // Whatever trained before the pause (its progress included) comes before this.
    next_matching(&t, |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    });
    let live = |t: &TrainerHandle| match next_matching(t, |e| {
        matches!(
            e,
            Event::Activations {
                periodic: false,
                ..
            }
        )
    }) {
        Event::Activations { reports, .. } => reports,
        _ => unreachable!(),
    };
    let mut after_step = Vec::new();
    for _ in 0..3 {
        assert!(t.send(Command::Step(Stride::Batch)));
        let Event::Progress(p) = next_matching(&t, |e| matches!(e, Event::Progress(_))) else {
            unreachable!()
        };
        after_step.push((p.at, live(&t), p.batch));
    }
    // Under load a batch may train before the Pause arrives: the steps are then
    // batches 2 to 4, and the first reports were not of the fresh weights.
    let first = after_step[0].2;
    let recalled = |seek| {
        assert!(t.send(Command::Recall(seek)));
        match next_matching(&t, |e| matches!(e, Event::Recalled(_) | Event::Rejected(_))) {
            Event::Recalled(view) => view,
            other => panic!("{seek:?}: {other:?}"),
        }
    };
    let (now, _, _) = after_step[2];
    let one_back = recalled(Seek::Before(now)).expect("a snapshot before the newest");
    assert_eq!(one_back.moment.at, after_step[1].0);
    assert_eq!(one_back.moment.batch, first + 1);
    assert_eq!(
        one_back.reports, after_step[1].1,
        "the shown images as they were"
    );
    assert_ne!(one_back.reports, after_step[2].1, "not as they are");
    assert!(one_back.kernels.is_some());

    let start = recalled(Seek::Start).expect("the fresh weights");
    assert_eq!(start.moment.at, 0.0);
    if first == 1 {
        assert_eq!(start.reports, fresh);
    }
    // Other images at the same moment.
    assert!(t.send(Command::SetProbes(ProbeImage::tests([3]))));
    let other = recalled(Seek::At(after_step[0].0)).unwrap();
    assert_eq!(other.reports.len(), 1);
    assert_eq!(other.reports[0].id, ImageId::Test(3));

    assert!(t.send(Command::Recall(Seek::Before(0.0))));
    let rejected = next_matching(&t, |e| matches!(e, Event::Recalled(_) | Event::Rejected(_)));
    assert!(matches!(rejected, Event::Rejected(_)), "{rejected:?}");
    assert_eq!(recalled(Seek::After(now)), None, "past the newest is live");

    // Looking back trained nothing: the next step is the fourth batch.
    assert!(t.send(Command::Step(Stride::Batch)));
    let Event::Progress(p) = next_matching(&t, |e| matches!(e, Event::Progress(_))) else {
        unreachable!()
    };
    assert_eq!(p.batch, first + 3);
}

/// With checkpoints, the run's history is written beside them and reads back whole.
#[test]
fn a_run_writes_its_history_beside_its_checkpoints() {
    use lenet_tui::train::timeline::file;
    let runs = tempfile::tempdir().unwrap();
    let t = spawn(with_checkpoints(settings(2), runs.path()));
    let epochs = epochs_until_finished(&t);
    assert_eq!(epochs.len(), 2);
    drop(t);
    let run = std::fs::read_dir(runs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a run directory");
    let saved = file::read(&run).unwrap();
    let moments: Vec<f64> = saved.timeline.snapshots().map(|s| s.moment.at).collect();
    assert_eq!(moments.first(), Some(&0.0));
    assert_eq!(moments.last(), Some(&2.0));
    // The fresh weights and one at every progress report, all kept under the default
    // bound, at the reports' positions.
    let reports: Vec<f64> = saved.facts.history.progress.iter().map(|p| p.at).collect();
    assert!(reports.len() > 2, "{reports:?}");
    assert_eq!(moments[1..], reports[..]);
    assert_eq!(saved.timeline.confusions().len(), 2);
    assert_eq!(saved.facts.history.epochs, epochs);
    assert_eq!(saved.facts.batches_per_epoch, 94);
}
