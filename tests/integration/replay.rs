//! `lenet-tui replay`: which runs it plays and which it refuses, and the replay
//! thread's answers to the dashboard's commands. The real terminal is in
//! `tmux_e2e.rs`.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lenet_tui::data::Dataset;
use lenet_tui::data::own::{ImageId, ProbeImage};
use lenet_tui::train::replay::{ReplaySpec, spawn_replay};
use lenet_tui::train::timeline::Seek;
use lenet_tui::train::timeline::file;
use lenet_tui::train::{Change, Command, Event, Pace, TrainerHandle};

fn train(home: &Path, args: &[&str]) -> PathBuf {
    let mut all = vec!["train", "--headless"];
    all.extend_from_slice(args);
    let out = common::lenet_in(home, &all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    newest_run(home)
}

/// The run directory most recently made in `home`.
fn newest_run(home: &Path) -> PathBuf {
    let runs = home.join("lenet-tui/runs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort_by_key(|d| std::fs::metadata(d).and_then(|m| m.modified()).ok());
    dirs.pop().expect("a run directory")
}

fn replay(home: &Path, run: &Path) -> String {
    let out = common::lenet_in(home, &["replay", run.to_str().unwrap()]);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Not a terminal: the replay got as far as drawing, so the run was found and read.
const LOADED: &str = "a replay draws the dashboard: run it in a terminal";

#[test]
fn replay_plays_saved_history_and_refuses_none_or_damaged_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("lenet-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[history]\nsave = false\n").unwrap();
    let unsaved = train(home.path(), &["--data", "embedded", "--epochs", "1"]);
    let err = replay(home.path(), &unsaved);
    assert!(err.contains("this run has no saved history"), "{err}");
    assert!(err.contains(&unsaved.display().to_string()), "{err}");

    std::fs::remove_file(&config).unwrap();
    let saved = train(home.path(), &["--data", "embedded", "--epochs", "1"]);
    let err = replay(home.path(), &saved);
    assert!(err.contains(LOADED), "{err}");
    // `latest` and the run's name find it too.
    let name = saved.file_name().unwrap().to_str().unwrap();
    for arg in ["latest", name] {
        let out = common::lenet_in(home.path(), &["replay", arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(LOADED), "{arg}: {err}");
    }

    let timeline = file::path_in(&saved);
    let bytes = std::fs::read(&timeline).unwrap();
    std::fs::write(&timeline, &bytes[..bytes.len() / 2]).unwrap();
    let err = replay(home.path(), &saved);
    assert!(err.contains(&timeline.display().to_string()), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(
        std::fs::read(&timeline).unwrap().len(),
        bytes.len() / 2,
        "a refused replay leaves the file as it was"
    );

    let err = replay(home.path(), &home.path().join("no-such-run"));
    assert!(err.contains("no such run"), "{err}");
}

#[test]
fn a_run_whose_data_is_not_here_plays_with_the_same_data_set_found_elsewhere() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    common::write_dataset(data.path(), 64, 32);
    let run = train(
        home.path(),
        &["--data", data.path().to_str().unwrap(), "--epochs", "1"],
    );
    // As on a laptop without the GPU box's copy.
    drop(data);
    let err = replay(home.path(), &run);
    assert!(err.contains(LOADED), "{err}");
    // Data given that is not there is refused, naming it.
    let out = common::lenet_in(
        home.path(),
        &[
            "replay",
            run.to_str().unwrap(),
            "--data",
            "/nonexistent-replay-data",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("/nonexistent-replay-data"), "{err}");
}

/// Events until `pick` returns something, failing after a while.
fn wait_for<T>(handle: &TrainerHandle, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = handle
            .events()
            .recv_deadline(deadline)
            .unwrap_or_else(|_| panic!("no {what}"));
        if let Some(t) = pick(&event) {
            return t;
        }
    }
}

#[test]
fn the_replay_thread_answers_the_dashboards_commands_from_the_saved_run() {
    let home = tempfile::tempdir().unwrap();
    let run = train(
        home.path(),
        &["--data", "embedded", "--epochs", "2", "--pool", "max"],
    );
    let saved = file::read(&run).unwrap();
    let epochs = saved.facts.history.epochs.clone();
    assert_eq!(epochs.len(), 2);
    let handle = spawn_replay(ReplaySpec {
        name: "test".into(),
        saved,
        dataset: Arc::new(Dataset::embedded()),
        data_note: None,
        // Slow enough that nothing passes while the test looks.
        pace: Pace::PerSecond(32),
    });
    let info = wait_for(&handle, "start", |e| match e {
        Event::Started(info) => Some(info.clone()),
        _ => None,
    });
    assert_eq!(info.settings.pooling, lenet_tui::model::Pooling::Max);
    assert_eq!(info.train_examples, 6000);
    let at = wait_for(&handle, "the head at the start", |e| match e {
        Event::Seeked { at, history, .. } => {
            assert!(history.progress.is_empty() && history.epochs.is_empty());
            Some(*at)
        }
        _ => None,
    });
    assert_eq!(at, 0.0);
    assert!(handle.send(Command::SetProbes(ProbeImage::tests([3, 7]))));
    let reports = wait_for(&handle, "activations", |e| match e {
        Event::Activations { reports, .. } => Some(reports.clone()),
        _ => None,
    });
    assert_eq!(
        reports.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ImageId::Test(3), ImageId::Test(7)]
    );
    // Pause, then a step forward lands on the next snapshot and shows its model.
    handle.send(Command::Pause);
    wait_for(&handle, "paused", |e| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
        .then_some(())
    });
    handle.send(Command::Seek(Seek::After(0.0)));
    let (at, then) = wait_for(&handle, "a step", |e| match e {
        Event::Seeked { at, history, .. } => Some((*at, history.clone())),
        _ => None,
    });
    assert!(at > 0.0 && at < 1.0, "{at}");
    assert!(then.progress.iter().all(|p| p.at <= at));
    let stepped = wait_for(&handle, "the step's activations", |e| match e {
        Event::Activations { reports, .. } => Some(reports.clone()),
        _ => None,
    });
    assert_ne!(
        stepped[0].probe.probabilities, reports[0].probe.probabilities,
        "another snapshot's model"
    );
    // A value explained is worked out with the shown snapshot's weights (max pooling,
    // as recorded): it equals the heatmap's; the images behind a confusion cell are not
    // kept in a saved run, and the replay says so.
    let cell = lenet_tui::model::explain::Cell::Conv {
        layer: 1,
        map: 2,
        at: (13, 9),
    };
    handle.send(Command::Explain(lenet_tui::train::ExplainAsk {
        image: ProbeImage::Test(3),
        cell,
        at: None,
    }));
    let answer = wait_for(&handle, "the arithmetic", |e| match e {
        Event::Explained(answer) => Some(answer.clone()),
        _ => None,
    });
    assert_eq!(answer.at, Some(at), "the snapshot at the head");
    let Ok(lenet_tui::model::explain::Explanation::Conv(work)) = answer.work else {
        panic!("{answer:?}")
    };
    let shown = stepped[0].probe.layer1.channel(2)[13 * 28 + 9];
    assert!((work.act - shown).abs() <= 1e-5, "{} vs {shown}", work.act);
    assert_eq!(work.pool.kind, lenet_tui::model::Pooling::Max);
    handle.send(Command::Gallery {
        truth: 6,
        predicted: 0,
    });
    let why = wait_for(&handle, "the gallery refused", |e| match e {
        Event::Rejected(why) => Some(why.clone()),
        _ => None,
    });
    assert!(why.contains("not the images behind them"), "{why}");
    // The run cannot change, nor be saved into.
    handle.send(Command::SetPooling(lenet_tui::model::Pooling::Avg));
    let why = wait_for(&handle, "a refusal", |e| match e {
        Event::Rejected(why) => Some(why.clone()),
        _ => None,
    });
    assert!(why.contains("as it was recorded"), "{why}");
    // The end shows the run's last epoch, as a finished run.
    handle.send(Command::Seek(Seek::End));
    let (history, last) = (
        wait_for(&handle, "the end", |e| match e {
            Event::Seeked { history, .. } => Some(history.clone()),
            _ => None,
        }),
        wait_for(&handle, "finished", |e| match e {
            Event::Finished(last) => Some(last.clone()),
            _ => None,
        }),
    );
    assert_eq!(history.epochs, epochs);
    assert_eq!(last, epochs[1]);
    // And Start goes back to the fresh weights, paused.
    handle.send(Command::Seek(Seek::Start));
    wait_for(&handle, "back at the start", |e| {
        matches!(e, Event::Changed { change: Change::Paused, at } if *at == 0.0).then_some(())
    });
    handle.stop();
}
