//! Errors that name the thing (issue 32, point 5): a config key set twice, a pace
//! or a section of the wrong type, a damaged run given to `compare`, and a resume
//! that asks for no more epochs than the run has trained. Each test runs the real
//! binary with its own home directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use lenet_tui::checkpoint;

use super::common::{lenet_in, quick, stderr, stdout};

/// Writes `text` as `name` in `home` and runs `shapes` with it: the config is read
/// and nothing trains.
fn with_config(home: &Path, name: &str, text: &str) -> Output {
    let file = home.join(name);
    std::fs::write(&file, text).unwrap();
    lenet_in(home, &["shapes", "--config", file.to_str().unwrap()])
}

/// The one line a config error prints, once it has failed as one.
fn config_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// A short headless run on the embedded subset, 6,000 images in batches of 100.
fn train(home: &Path, extra: &[&str]) -> Output {
    lenet_in(home, &quick(extra))
}

fn runs(home: &Path) -> Vec<checkpoint::RunEntry> {
    checkpoint::list_runs(&home.join("lenet-tui/runs")).unwrap()
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_key_set_twice_is_named_with_both_lines() {
    let home = tempfile::tempdir().unwrap();
    let out = with_config(
        home.path(),
        "dup-key.toml",
        "[train]\nepochs = 3\nepochs = 4\n",
    );
    let err = config_error(&out);
    assert!(
        err.contains("dup-key.toml:3:1: duplicate key `train.epochs` (first set on line 2)"),
        "{err}"
    );
}

#[test]
fn a_pace_out_of_bounds_names_the_key_and_the_bounds() {
    let home = tempfile::tempdir().unwrap();
    let out = with_config(home.path(), "pace.toml", "[train]\npace = 1e-300\n");
    let err = config_error(&out);
    assert!(
        err.contains(
            "pace.toml:2:8: key `train.pace`: expected \"full\" or a rate between 1 and \
             1000000000 examples/sec, got 1e-300"
        ),
        "{err}"
    );
    assert!(!err.contains("untagged"), "{err}");
}

#[test]
fn a_section_that_is_no_table_names_its_header_and_what_it_got() {
    let home = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "train = 5\n",
            "key `train`: expected a table ([train]), got an integer",
        ),
        (
            "ui = \"dark\"\n",
            "key `ui`: expected a table ([ui]), got a string",
        ),
        (
            "race = true\n",
            "key `race`: expected an array of tables ([[race]]), got a boolean",
        ),
    ] {
        let out = with_config(home.path(), "section.toml", text);
        let err = config_error(&out);
        assert!(err.contains("section.toml:1:"), "{err}");
        assert!(err.contains(want), "{text}: {err}");
        assert!(!err.contains("struct"), "no Rust type names: {err}");
    }
}

#[test]
fn compare_passes_over_a_damaged_newest_checkpoint_as_resume_does() {
    let home = tempfile::tempdir().unwrap();
    for pool in ["avg", "max"] {
        let out = train(home.path(), &["--epochs", "1", "--pool", pool]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let runs = runs(home.path());
    assert_eq!(runs.len(), 2, "{runs:?}");
    let b = &runs[1].checkpoints;
    let (newest, before) = (&b[b.len() - 1], &b[b.len() - 2]);
    let weights = newest.join(checkpoint::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();

    let captures = home.path().join("captures");
    let (a, b) = (name(&runs[0].dir), name(&runs[1].dir));
    let out = lenet_in(
        home.path(),
        &[
            "compare",
            &a,
            &b,
            "--png-scale",
            "1",
            "--capture-dir",
            captures.to_str().unwrap(),
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The same warning as `--resume` gives: the damaged one, and the one read instead.
    assert!(
        err.contains("lenet-tui: warning: ")
            && err.contains(&weights.display().to_string())
            && err.contains(&format!(
                "newest intact checkpoint instead: {}",
                before.display()
            )),
        "{err}"
    );
    assert!(
        stdout(&out).contains(&format!("B  {b}: max pooling")),
        "{}",
        stdout(&out)
    );

    // With none of its checkpoints intact, the run is still refused, the newest named.
    for dir in &runs[1].checkpoints {
        let w = dir.join(checkpoint::WEIGHTS_FILE);
        let bytes = std::fs::read(&w).unwrap();
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    }
    let out = lenet_in(home.path(), &["compare", &a, &b]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&weights.display().to_string()), "{err}");
}

#[test]
fn a_resume_asking_for_no_more_epochs_than_done_is_refused_before_training() {
    let home = tempfile::tempdir().unwrap();
    let out = train(home.path(), &["--epochs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = runs(home.path()).remove(0);
    let newest: PathBuf = run.checkpoints.last().unwrap().clone();
    let replay = format!("or replay it with lenet-tui replay {}", name(&run.dir));

    let fewer = lenet_in(
        home.path(),
        &["train", "--headless", "--resume", "latest", "--epochs", "1"],
    );
    let err = stderr(&fewer);
    assert_eq!(fewer.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "--epochs 1: the run at {} has already trained 2 epochs; ask for more than 2 \
             (e.g. --epochs 12) to go on, {replay}",
            newest.display()
        )),
        "{err}"
    );
    assert!(!err.contains("resumed from"), "nothing trained: {err}");

    let same = lenet_in(
        home.path(),
        &["train", "--headless", "--resume", "latest", "--epochs", "2"],
    );
    let err = stderr(&same);
    assert_eq!(same.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "--epochs 2: the run at {} has already trained 2 epochs, so there is nothing \
             to train",
            newest.display()
        )) && err.contains(&replay),
        "{err}"
    );
    // Neither refusal touched the run: no checkpoint saved with a shorter recipe.
    assert_eq!(runs(home.path())[0].checkpoints, run.checkpoints);

    // More than done goes on.
    let more = lenet_in(
        home.path(),
        &["train", "--headless", "--resume", "latest", "--epochs", "3"],
    );
    let err = stderr(&more);
    assert!(more.status.success(), "{err}");
    assert!(err.contains("epoch 3/3") && err.contains("done:"), "{err}");
}

#[test]
fn a_resumed_race_refuses_no_more_epochs_for_every_variant() {
    let home = tempfile::tempdir().unwrap();
    let out = train(home.path(), &["--epochs", "1", "--race", "pool=max"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = lenet_in(
        home.path(),
        &["train", "--headless", "--resume", "latest", "--epochs", "1"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("variant `")
            && err.contains("--epochs 1: the run at ")
            && err.contains("has already trained 1 epoch, so there is nothing to train")
            && err.contains("or replay it with lenet-tui replay /"),
        "{err}"
    );
}
