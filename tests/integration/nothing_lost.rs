//! Nothing lost, part two: one live owner per run, a resume that keeps the run's
//! history, leftovers of interrupted writes cleaned up, a full disk said out loud, and
//! signals answered while a batch is in flight. Each test runs the real binary with a
//! home of its own, as a user would.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lenet_tui::checkpoint;
use lenet_tui::train::timeline::file;

use super::common::{Home, quick, signal, stderr, stdout, wait_exit, wait_for_line};

/// Runs lenet-tui in `home` under `sh` with `ulimit -f BLOCKS` (1 KiB blocks), as a
/// full disk.
fn run_limited(home: &Home, blocks: u32, args: &[&str]) -> Output {
    let script = format!("ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_lenet-tui"))
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env_remove(lenet_tui::failpoint::ENV);
    c.output().expect("run lenet-tui under sh")
}

/// The one run in `home`.
fn run_dir(home: &Home) -> PathBuf {
    let runs = checkpoint::list_runs(&home.runs_dir()).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].dir.clone()
}

/// Trains a new run of `epochs` to its end; its directory.
fn trained(home: &Home, epochs: &str) -> PathBuf {
    let first = home.run(&quick(&["--epochs", epochs]));
    assert!(first.status.success(), "{}", stderr(&first));
    run_dir(home)
}

fn moments(run: &Path) -> Vec<f64> {
    let saved = file::read(run).unwrap();
    saved.timeline.snapshots().map(|s| s.moment.at).collect()
}

#[test]
fn a_resume_appends_to_the_history_which_still_starts_at_the_fresh_weights() {
    let home = Home::new();
    let run = trained(&home, "2");
    let before = moments(&run);
    assert_eq!(before.first(), Some(&0.0), "{before:?}");
    assert_eq!(before.last(), Some(&2.0), "{before:?}");

    let resumed = home.run(&quick(&["--resume", "latest", "--epochs", "3"]));
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let after = moments(&run);
    assert_eq!(
        after.first(),
        Some(&0.0),
        "replay starts at the fresh weights: {after:?}"
    );
    assert_eq!(after.last(), Some(&3.0), "{after:?}");
    // Every snapshot of the first two epochs is still there, the third's after them.
    assert!(
        before.iter().all(|at| after.contains(at)),
        "before {before:?}, after {after:?}"
    );
    assert!(after.len() > before.len(), "{after:?}");
    let saved = file::read(&run).unwrap();
    let epochs: Vec<u32> = saved
        .timeline
        .confusions()
        .iter()
        .map(|c| c.epoch)
        .collect();
    assert_eq!(epochs, [1, 2, 3]);
}

#[test]
fn a_damaged_history_is_set_aside_with_a_warning_not_overwritten() {
    let home = Home::new();
    let run = trained(&home, "1");
    let path = file::path_in(&run);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, &bytes).unwrap();

    let out = home.run(&quick(&["--resume", "latest", "--epochs", "2", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let warning = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event"] == "warning")
        .expect("a warning event");
    assert_eq!(warning["what"], "history");
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("kept aside as"), "{message}");
    let aside: Vec<PathBuf> = std::fs::read_dir(run.join(file::DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("timeline.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), bytes, "kept as it was");
    // The new history starts where the run went on.
    assert_eq!(moments(&run).first(), Some(&1.0));
}

#[test]
fn a_second_process_is_refused_at_once_while_the_first_trains_the_run() {
    let home = Home::new();
    let run = trained(&home, "1");
    let run_arg = run.to_string_lossy().into_owned();

    // The owner, held in its first batch.
    let mut owner = home
        .command(&quick(&["--resume", &run_arg, "--epochs", "3"]))
        .env("LENET_TUI_FAILPOINT", "slow-batches:60000")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_line(&mut owner, |l| l.starts_with("resumed from"));
    let pid = owner.id();

    for extra in [["--epochs", "3"], ["--epochs", "5"]] {
        let start = Instant::now();
        let mut args = quick(&["--resume", &run_arg]);
        args.extend(extra);
        let second = home.run(&args);
        let err = stderr(&second);
        assert!(!second.status.success(), "{err}");
        assert!(
            err.contains(&format!("this run is being trained by process {pid}")),
            "{err}"
        );
        assert!(
            err.contains("lenet-tui attach") && err.contains("lenet-tui stop"),
            "{err}"
        );
        // Refused before any data is loaded or any batch trained.
        assert!(!err.contains("epoch 2/"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(30));
    }
    // `runs` says which run is live, and reading it does not disturb the owner.
    let runs = home.run(&["runs"]);
    assert!(
        stdout(&runs).contains(&format!("pid {pid}")),
        "{}",
        stdout(&runs)
    );
    assert_eq!(owner.try_wait().unwrap(), None, "the owner goes on");

    signal(&owner, "TERM");
    let (status, _) = wait_exit(&mut owner, Duration::from_secs(30));
    assert_eq!(status.code(), Some(143));
    // Its lock went with it: the run can be resumed again, and `runs` says nobody has it.
    let runs = home.run(&["runs"]);
    assert!(!stdout(&runs).contains("pid "), "{}", stdout(&runs));
    let again = home.run(&quick(&["--resume", &run_arg, "--epochs", "2"]));
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn leftovers_of_interrupted_writes_are_removed_when_the_run_starts_again() {
    let home = Home::new();
    let run = trained(&home, "1");
    let newest = checkpoint::list_runs(&home.runs_dir()).unwrap()[0]
        .checkpoints
        .len();
    // A temporary checkpoint, a temporary history file, and a checkpoint directory
    // with weights but no metadata under the next final name.
    let tmp_ckpt = run.join(".tmp-ckpt-0009");
    std::fs::create_dir(&tmp_ckpt).unwrap();
    std::fs::write(tmp_ckpt.join("weights.safetensors"), b"half").unwrap();
    let tmp_history = run.join("history/.tmpAbC123");
    std::fs::write(&tmp_history, b"").unwrap();
    let torn = run.join(format!("ckpt-{:04}", newest + 1));
    std::fs::create_dir(&torn).unwrap();
    std::fs::write(torn.join("weights.safetensors"), b"half").unwrap();

    let out = home.run(&quick(&["--resume", "latest", "--epochs", "2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!tmp_ckpt.exists());
    assert!(!tmp_history.exists());
    // The torn directory's name now holds a whole checkpoint.
    let loaded = checkpoint::load(&torn).expect("a whole checkpoint under that name");
    assert_eq!(loaded.meta.position.at(), 2.0);
    let names: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".tmp")),
        "nothing temporary is left: {names:?}"
    );
}

#[test]
fn a_disk_that_takes_no_checkpoint_is_said_at_once_and_fails_the_run() {
    let home = Home::new();
    // 50 KiB: no checkpoint (about 280 KB) fits; SIGXFSZ must not kill the process.
    let out = run_limited(&home, 50, &quick(&["--epochs", "2", "--json"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not saved: the final checkpoint (needs about"),
        "{err}"
    );
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    // The start checkpoint's failure is reported before the first epoch ends.
    let first_warning = kinds
        .iter()
        .position(|k| *k == "warning")
        .expect("a warning");
    let first_epoch = kinds.iter().position(|k| *k == "epoch").expect("an epoch");
    assert!(first_warning < first_epoch, "{kinds:?}");
    let warning = &events[first_warning];
    assert_eq!(warning["what"], "checkpoint");
    assert_eq!(warning["reason"], "start");
    assert!(
        warning["needs_bytes"].as_u64().unwrap() > 200_000,
        "{warning}"
    );
    // The run ends with one error event per part it could not keep.
    let errors: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "error")
        .filter_map(|e| e["what"].as_str())
        .collect();
    assert_eq!(errors, ["checkpoint", "history"], "{events:#?}");
    assert_eq!(events.last().unwrap()["event"], "error");
}

#[test]
fn a_history_that_stops_fitting_fails_the_run_while_its_checkpoints_stay() {
    let home = Home::new();
    // 1500 KiB: every checkpoint fits, the history (250 KB a snapshot) soon does not.
    let out = run_limited(&home, 1500, &quick(&["--epochs", "4"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("warning: history not saved (needs about"),
        "{err}"
    );
    assert!(err.contains("not saved: the history (needs about"), "{err}");
    assert!(!err.contains("the final checkpoint"), "{err}");
    let run = run_dir(&home);
    let newest = checkpoint::list_runs(&home.runs_dir()).unwrap()[0]
        .checkpoints
        .last()
        .cloned()
        .unwrap();
    assert_eq!(checkpoint::load(&newest).unwrap().meta.position.at(), 4.0);
    // The last history that fitted is whole, and no temporary file is left.
    file::read(&run).expect("the last history written is intact");
    let leftovers: Vec<_> = std::fs::read_dir(run.join(file::DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_signal_is_answered_within_seconds_while_a_batch_is_in_flight() {
    let home = Home::new();
    // Every batch takes a minute: the signal comes in the middle of the first.
    let mut child = home
        .command(&quick(&["--epochs", "1"]))
        .env("LENET_TUI_FAILPOINT", "slow-batches:60000")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_line(&mut child, |l| l.starts_with("checkpoints:"));
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "TERM");
    let (status, took) = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(143));
    // 1.5 s for the batch to end, 1 s for the thread; generous for a loaded machine.
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The start checkpoint stays the newest, whole.
    let run = run_dir(&home);
    let ckpts = checkpoint::list_runs(&home.runs_dir()).unwrap()[0]
        .checkpoints
        .clone();
    assert_eq!(ckpts.len(), 1, "{ckpts:?}");
    checkpoint::load(&ckpts[0]).unwrap();
    assert!(run.join(".lock").exists());
}

#[test]
fn the_signals_checkpoint_is_a_json_event() {
    let home = Home::new();
    let mut child = home
        .command(&quick(&["--epochs", "50", "--json"]))
        .env("LENET_TUI_FAILPOINT", "slow-batches:20")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines().map_while(Result::ok);
    // After the first progress report, training is under way.
    for line in lines.by_ref() {
        if line.contains("\"event\":\"progress\"") {
            break;
        }
    }
    signal(&child, "TERM");
    let rest: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(&l).unwrap()).collect();
    let (status, _) = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(143));
    let last = rest.last().expect("events after the signal");
    assert_eq!(last["event"], "checkpoint", "{rest:#?}");
    assert_eq!(last["reason"], "terminate");
    let path = PathBuf::from(last["path"].as_str().unwrap());
    checkpoint::load(&path).expect("the checkpoint the event names");
}

#[test]
fn a_model_whose_step_is_beyond_reason_is_refused_unless_forced() {
    let home = Home::new();
    let config = home.path().join("conv-huge.toml");
    std::fs::write(
        &config,
        "[[model.conv]]\nchannels = 512\nkernel = 31\npadding = 15\n\n\
         [[model.conv]]\nchannels = 512\nkernel = 31\npadding = 15\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let start = Instant::now();
    let out = home.run(&quick(&["--epochs", "1", "--config", &config]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("TFLOP"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(err.contains("conv-huge.toml"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(60));
    // Nothing was started, so nothing was saved.
    assert!(checkpoint::list_runs(&home.runs_dir()).unwrap().is_empty());
}

#[test]
fn a_crash_in_a_checkpoint_write_leaves_a_history_that_the_resume_cuts_back() {
    let home = Home::new();
    // The history of epoch 1 is written, then the process dies halfway through the
    // epoch's checkpoint: the history is ahead of the newest checkpoint (the start's).
    let crashed = home
        .command(&quick(&["--epochs", "2"]))
        .env(lenet_tui::failpoint::ENV, "checkpoint-write:2")
        .output()
        .unwrap();
    assert_eq!(crashed.status.code(), None, "aborted: {}", stderr(&crashed));
    let run = run_dir(&home);
    let ahead = moments(&run);
    assert_eq!(ahead.last(), Some(&1.0), "{ahead:?}");
    assert_eq!(
        home.checkpoints().len(),
        1,
        "only the start's checkpoint is whole"
    );

    let resumed = home.run(&quick(&["--resume", "latest", "--epochs", "2"]));
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let saved = file::read(&run).unwrap();
    let at: Vec<f64> = saved.timeline.snapshots().map(|s| s.moment.at).collect();
    assert_eq!(at.first(), Some(&0.0));
    assert_eq!(at.last(), Some(&2.0));
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "no moment twice: {at:?}"
    );
    let epochs: Vec<u32> = saved
        .timeline
        .confusions()
        .iter()
        .map(|c| c.epoch)
        .collect();
    assert_eq!(epochs, [1, 2]);
}
