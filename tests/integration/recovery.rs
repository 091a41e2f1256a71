//! Nothing lost: checkpoints, resume, signals, divergence, a crash in the middle of a
//! checkpoint, and config files that are wrong in every way we could think of. Each
//! test runs the real binary with its own home directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lenet_tui::checkpoint;

use super::common::{Home, signal, stderr, stdout, wait_exit, wait_for_line};

/// Short headless runs on the embedded subset: 6,000 images in batches of 100.
const QUICK: [&str; 5] = ["train", "--headless", "--data", "embedded", "--batch-size"];

fn quick(extra: &[&str]) -> Vec<String> {
    QUICK
        .iter()
        .chain(&["100"])
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn sigterm_saves_a_checkpoint_and_resume_finishes_the_run() {
    let home = Home::new();
    let mut child = home
        .command(&args(&quick(&["--epochs", "3"])))
        // 60 batches of at least 20 ms: the signal below lands in epoch 2 however
        // fast the machine trains.
        .env(lenet_tui::failpoint::ENV, "slow-batches:20")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_line(&mut child, |l| l.starts_with("epoch 1/3"));
    // Into epoch 2, so the state differs from the epoch-end checkpoint.
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "TERM");
    let (status, _) = wait_exit(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(143), "SIGTERM exits with 128 + 15");

    let checkpoints = home.checkpoints();
    let newest = checkpoints.last().expect("a checkpoint");
    let ckpt = checkpoint::load(newest).unwrap();
    assert_eq!(
        ckpt.meta.reason,
        lenet_tui::train::SaveReason::Terminate,
        "{newest:?}"
    );
    assert!(ckpt.meta.position.epoch >= 2, "{:?}", ckpt.meta.position);
    assert_eq!(
        ckpt.meta.history.epochs.len(),
        1,
        "epoch 1's figures are kept"
    );

    let runs = home.run(&["runs"]);
    let listing = stdout(&runs);
    assert!(runs.status.success(), "{}", stderr(&runs));
    assert!(
        listing.contains("/3") && listing.contains("SIGTERM"),
        "{listing}"
    );
    // The run's history was written with its checkpoints, and its size is listed.
    assert!(
        listing.contains("HISTORY") && listing.contains(" MB  "),
        "{listing}"
    );

    let out = home.run(&["train", "--headless", "--resume", "latest"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("resumed from"), "{err}");
    assert!(
        !err.contains("epoch 1/3"),
        "epoch 1 is not trained again: {err}"
    );
    assert!(err.contains("epoch 3/3"), "{err}");
    assert!(err.contains("done:"), "{err}");
}

#[test]
fn a_crash_in_the_middle_of_a_checkpoint_leaves_the_previous_one_loadable() {
    let home = Home::new();
    // The 1st write is the start checkpoint, the 2nd the end of epoch 1: crash in it.
    let out = home
        .command(&args(&quick(&["--epochs", "2"])))
        .env(lenet_tui::failpoint::ENV, "checkpoint-write:2")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the process was aborted");
    let checkpoints = home.checkpoints();
    assert_eq!(
        checkpoints.len(),
        1,
        "only the whole one is seen: {checkpoints:?}"
    );
    let run = checkpoints[0].parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(run)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert_eq!(leftovers.len(), 1, "the half-written one is hidden");
    checkpoint::load(&checkpoints[0]).expect("the previous checkpoint loads");

    let out = home.run(&["train", "--headless", "--resume", "latest", "--epochs", "1"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("epoch 1/1") && err.contains("done:"), "{err}");
}

#[test]
fn a_diverging_headless_run_exits_3_naming_the_last_good_checkpoint() {
    let home = Home::new();
    let out = home.run(&args(&quick(&["--lr", "100", "--epochs", "2"])));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("diverged at epoch 1 batch"), "{err}");
    let good = home.checkpoints();
    assert_eq!(good.len(), 1, "only the start checkpoint: {good:?}");
    assert!(
        err.contains(&format!("last good checkpoint: {}", good[0].display())),
        "{err}"
    );
}

#[test]
fn damaged_and_foreign_checkpoints_are_refused_clearly() {
    let home = Home::new();
    let out = home.run(&args(&quick(&["--epochs", "1"])));
    assert!(out.status.success(), "{}", stderr(&out));
    let newest = home.checkpoints().pop().unwrap();

    // Another architecture: the checkpoint says 10 classes, the data has 10, so
    // pretend the weights came from a wider network.
    let meta_path = newest.join(checkpoint::META_FILE);
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let wider = meta.replacen("\"out_channels\": 6", "\"out_channels\": 8", 1);
    assert_ne!(meta, wider);
    std::fs::write(&meta_path, &wider).unwrap();
    let out = home.run(&["train", "--headless", "--resume", "latest"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`conv1.bias` has shape [6], this model needs [8]")
            && err.contains("weights.safetensors"),
        "{err}"
    );
    // Another random number generator: its shuffles would not continue the run.
    assert!(meta.contains("\"rng\": \"chacha12\""), "{meta}");
    let other = meta.replacen("\"rng\": \"chacha12\"", "\"rng\": \"pcg64\"", 1);
    std::fs::write(&meta_path, &other).unwrap();
    let out = home.run(&["train", "--headless", "--resume", "latest", "--epochs", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`pcg64` random number generator") && err.contains("`chacha12`"),
        "{err}"
    );
    // A config whose [model] differs from the checkpoint's is refused up front.
    std::fs::write(&meta_path, &meta).unwrap();
    let config = home.path().join("wide.toml");
    std::fs::write(
        &config,
        "[model]
dense = [32]
",
    )
    .unwrap();
    let out = home.run(&[
        "train",
        "--headless",
        "--resume",
        "latest",
        "--config",
        config.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("made for another model") && err.contains("32"),
        "{err}"
    );

    std::fs::write(&meta_path, &meta).unwrap();
    let weights = newest.join(checkpoint::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).unwrap();
    let out = home.run(&[
        "train",
        "--headless",
        "--resume",
        &newest.display().to_string(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot resume from")
            && err.contains("weights.safetensors")
            && err.contains("truncated"),
        "{err}"
    );

    std::fs::write(&weights, &bytes).unwrap();
    let out = home.run(&["train", "--headless", "--resume", "/nonexistent/run"]);
    assert!(
        stderr(&out).contains("/nonexistent/run: no such checkpoint or run directory"),
        "{}",
        stderr(&out)
    );
    let out = home.run(&[
        "train",
        "--headless",
        "--resume",
        "latest",
        "--batch-size",
        "64",
    ]);
    assert!(
        stderr(&out).contains("--batch-size 64 cannot change a resumed run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn resume_passes_over_a_damaged_newest_checkpoint_naming_both() {
    let home = Home::new();
    let out = home.run(&args(&quick(&["--epochs", "2"])));
    assert!(out.status.success(), "{}", stderr(&out));
    let all = home.checkpoints();
    let (newest, before) = (&all[all.len() - 1], &all[all.len() - 2]);
    let weights = newest.join(checkpoint::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let out = home.run(&["train", "--headless", "--resume", "latest", "--epochs", "2"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: ")
            && err.contains(&weights.display().to_string())
            && err.contains(&format!(
                "newest intact checkpoint instead: {}",
                before.display()
            )),
        "{err}"
    );
    assert!(err.contains("epoch 2/2"), "epoch 2 is trained again: {err}");
    // With every checkpoint of the run damaged, it is an error naming the newest.
    for dir in home.checkpoints() {
        let w = dir.join(checkpoint::WEIGHTS_FILE);
        let b = std::fs::read(&w).unwrap();
        std::fs::write(&w, &b[..b.len() / 2]).unwrap();
    }
    let newest = home.checkpoints().pop().unwrap();
    let run = newest.parent().unwrap().to_str().unwrap().to_string();
    let out = home.run(&["train", "--headless", "--resume", &run]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot resume from") && err.contains(&newest.display().to_string()),
        "{err}"
    );
}

#[test]
fn invalid_configs_each_give_their_expected_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid_configs");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 15, "{fixtures:?}");
    let home = Home::new();
    let mut failures = Vec::new();
    for config in &fixtures {
        let expected = std::fs::read_to_string(config.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", config.display()));
        let out = home.run(&["shapes", "--config", &config.display().to_string()]);
        let err = stderr(&out);
        let ok = out.status.code() == Some(1)
            && err.lines().count() == 1
            && err.contains(&format!("{}/{}", dir.display(), expected.trim()));
        if !ok {
            failures.push(format!(
                "{}: expected `{}`, got ({:?}) `{}`",
                config.display(),
                expected.trim(),
                out.status.code(),
                err.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_trainer_panic_keeps_a_checkpoint_and_fails_clearly() {
    let home = Home::new();
    let out = home
        .command(&args(&quick(&["--epochs", "2"])))
        .env(lenet_tui::failpoint::ENV, "trainer-panic:20")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the trainer panicked: failpoint trainer-panic"),
        "{err}"
    );
    let newest = home.checkpoints().pop().expect("checkpoints");
    let ckpt = checkpoint::load(&newest).unwrap();
    assert_eq!(ckpt.meta.reason, lenet_tui::train::SaveReason::Panic);
    assert_eq!(ckpt.meta.position.batch, 19, "{:?}", ckpt.meta.position);
}
