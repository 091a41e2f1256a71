//! The `lenet-tui` binary as a user runs it.

use crate::common;

use std::path::Path;
use std::process::Output;

use lenet_tui::data::idx::{IMAGES_MAGIC, encode_labels_gz, encode_plain};

fn lenet(args: &[&str]) -> Output {
    // Keep the user's own config, data and saved runs out of the tests.
    let home = tempfile::tempdir().unwrap();
    common::lenet_in(home.path(), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn shapes_prints_the_chapters_walk() {
    let out = lenet(&["shapes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let shapes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|s| s.starts_with("1×"))
        .collect();
    assert_eq!(
        shapes,
        [
            "1×1×28×28",
            "1×6×28×28",
            "1×6×28×28",
            "1×6×14×14",
            "1×16×10×10",
            "1×16×10×10",
            "1×16×5×5",
            "1×400",
            "1×120",
            "1×120",
            "1×84",
            "1×84",
            "1×10"
        ]
    );
    assert!(text.contains("61,706"), "{text}");
    assert!(text.contains("AvgPool2d"), "{text}");

    let max = stdout(&lenet(&["shapes", "--pool", "max", "--act", "relu"]));
    assert_eq!(max.matches("MaxPool2d").count(), 2, "{max}");
    assert!(!max.contains("AvgPool2d"), "{max}");
    assert_eq!(max.matches("ReLU").count(), 4, "{max}");
}

#[test]
fn headless_text_names_the_data_first_and_reports_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(dir.path(), 300, 50);
    let data = dir.path().to_str().unwrap();
    let out = lenet(&["train", "--headless", "--epochs", "2", "--data", data]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        format!("data: Fashion-MNIST in {data} (from --data) (300 train / 50 test images)")
    );
    assert_eq!(lines[1], "device: cpu");
    let epoch2 = lines
        .iter()
        .find(|l| l.starts_with("epoch 2/2: loss "))
        .expect(&err);
    assert!(
        epoch2.contains(", train acc ") && epoch2.contains(" examples/sec on cpu"),
        "{epoch2}"
    );
    assert!(lines.last().unwrap().starts_with("done: loss "), "{err}");
    assert!(
        stdout(&out).is_empty(),
        "text mode writes nothing to stdout"
    );
}

/// `--pace` changes nothing but time: 6,000 images at 3,000 a second take two seconds
/// or so (never less than the pace allows), and end on the same figures to the last
/// digit as at full speed.
#[test]
fn a_headless_run_at_a_pace_takes_its_time_and_learns_the_same() {
    let figures = |out: &Output| -> String {
        let err = stderr(out);
        let done = err
            .lines()
            .find(|l| l.starts_with("done: loss "))
            .expect(&err);
        // "done: loss L, train acc A, test acc T after 1 epochs in S s": all but the time.
        done.split(" in ").next().unwrap().to_string()
    };
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--headless", "--data", "embedded", "--epochs", "1"];
        args.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let out = lenet(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        (out, started.elapsed())
    };
    let (full, _) = run(&[]);
    let (paced, took) = run(&["--pace", "3000"]);
    assert_eq!(figures(&paced), figures(&full));
    // The last batch's images need not be waited for: 5,888 of them at 3,000 a second.
    assert!(took.as_secs_f64() >= 1.9, "{took:?}: the pace was not kept");
    let err = lenet(&["train", "--headless", "--pace", "0"]);
    assert!(!err.status.success());
    assert!(
        stderr(&err).contains("pace must be `full` or a number of training examples a second"),
        "{}",
        stderr(&err)
    );
}

#[test]
fn headless_json_is_one_object_per_event_on_the_embedded_subset() {
    let out = lenet(&[
        "train",
        "--headless",
        "--json",
        "--epochs",
        "1",
        "--data",
        "embedded",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["epoch", "checkpoint", "done"],
        "each epoch end is saved"
    );
    let saved = &events[kinds.len() - 2];
    assert_eq!(saved["reason"], "epoch_end");
    let path = saved["path"].as_str().unwrap();
    assert!(
        path.contains("/lenet-tui/runs/") && path.ends_with("/ckpt-0002"),
        "the start checkpoint, then this one: {saved}"
    );
    // Five evenly spaced reports an epoch (the default), but none closer than 250 ms
    // apart but the last: the CPU step takes the subset's epoch in well under a
    // second, so some may be dropped. The last (epoch 1.0) always comes; see below.
    let reports = kinds.iter().filter(|&&k| k == "progress").count();
    assert!((1..=5).contains(&reports), "{kinds:?}");
    for e in &events {
        for key in [
            "epoch",
            "train_loss",
            "train_acc",
            "test_acc",
            "examples_per_sec",
            "device",
            "data",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
        assert_eq!(
            e["data"],
            "embedded Fashion-MNIST subset (6000 train / 1000 test images)"
        );
        assert_eq!(e["device"], "cpu");
    }
    let done = events.last().unwrap();
    let acc = done["test_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert!(done["examples_per_sec"].as_f64().unwrap() > 0.0);
    let progress: Vec<f64> = events
        .iter()
        .filter(|e| e["event"] == "progress")
        .map(|e| e["epoch"].as_f64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(*progress.last().unwrap(), 1.0);
}

/// Writes a valid data set, then lets `spoil` break it.
fn spoiled(spoil: impl FnOnce(&Path)) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(dir.path(), 40, 20);
    spoil(dir.path());
    let out = lenet(&[
        "train",
        "--headless",
        "--epochs",
        "1",
        "--data",
        dir.path().to_str().unwrap(),
    ]);
    (dir, out)
}

fn assert_refused(dir: &Path, out: &Output, file: &str, what: &str) {
    assert!(!out.status.success(), "should fail");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let path = dir.join(file).display().to_string();
    assert!(err.contains(&path), "names {path}: {err}");
    assert!(err.contains(what), "says `{what}`: {err}");
}

const TRAIN_IMAGES_GZ: &str = "train-images-idx3-ubyte.gz";
const TRAIN_LABELS_GZ: &str = "train-labels-idx1-ubyte.gz";
const TEST_LABELS_GZ: &str = "t10k-labels-idx1-ubyte.gz";

#[test]
fn truncated_gzip() {
    let (dir, out) = spoiled(|d| {
        let p = d.join(TRAIN_IMAGES_GZ);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert_refused(
        dir.path(),
        &out,
        TRAIN_IMAGES_GZ,
        "truncated or corrupt gzip",
    );
}

#[test]
fn wrong_magic() {
    let (dir, out) = spoiled(|d| {
        // A label file where the images belong.
        std::fs::copy(d.join(TRAIN_LABELS_GZ), d.join(TRAIN_IMAGES_GZ)).unwrap();
    });
    assert_refused(
        dir.path(),
        &out,
        TRAIN_IMAGES_GZ,
        "wrong magic number 2049 (expected 2051",
    );
}

#[test]
fn count_mismatch() {
    let (dir, out) = spoiled(|d| {
        std::fs::write(d.join(TRAIN_LABELS_GZ), encode_labels_gz(&[1; 39]).unwrap()).unwrap();
    });
    assert_refused(dir.path(), &out, TRAIN_LABELS_GZ, "has 39 labels but");
}

#[test]
fn label_out_of_range() {
    let (dir, out) = spoiled(|d| {
        let mut labels = vec![0u8; 20];
        labels[7] = 12;
        std::fs::write(d.join(TEST_LABELS_GZ), encode_labels_gz(&labels).unwrap()).unwrap();
    });
    assert_refused(
        dir.path(),
        &out,
        TEST_LABELS_GZ,
        "label 12 at index 7 is out of range",
    );
}

#[test]
fn short_payload() {
    let (dir, out) = spoiled(|d| {
        // Plain (uncompressed) file; the .gz one is removed so this one is found.
        std::fs::remove_file(d.join(TRAIN_IMAGES_GZ)).unwrap();
        let bytes = encode_plain(IMAGES_MAGIC, &[40, 28, 28], &vec![0; 40 * 784 - 5]);
        std::fs::write(d.join("train-images-idx3-ubyte"), bytes).unwrap();
    });
    assert_refused(
        dir.path(),
        &out,
        "train-images-idx3-ubyte",
        "header claims 31360 bytes of data (40×28×28) but the file holds only 31355",
    );
}

#[test]
fn empty_file() {
    let (dir, out) = spoiled(|d| std::fs::write(d.join(TRAIN_LABELS_GZ), b"").unwrap());
    assert_refused(dir.path(), &out, TRAIN_LABELS_GZ, "file is empty");
}

#[test]
fn missing_file() {
    let (dir, out) = spoiled(|d| std::fs::remove_file(d.join(TEST_LABELS_GZ)).unwrap());
    assert_refused(dir.path(), &out, "t10k-labels-idx1-ubyte", "file not found");
}

#[test]
fn non_idx_bytes() {
    let (dir, out) = spoiled(|d| {
        std::fs::write(
            d.join(TRAIN_IMAGES_GZ),
            b"<html><body>Not Found</body></html>",
        )
        .unwrap()
    });
    assert_refused(dir.path(), &out, TRAIN_IMAGES_GZ, "not an IDX file");
}

#[test]
fn header_claiming_billions_of_images() {
    let (dir, out) = spoiled(|d| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let bytes = encode_plain(IMAGES_MAGIC, &[4_000_000_000, 28, 28], &[0; 784]);
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        std::fs::write(d.join(TRAIN_IMAGES_GZ), enc.finish().unwrap()).unwrap();
    });
    assert_refused(
        dir.path(),
        &out,
        TRAIN_IMAGES_GZ,
        "bad dimensions [4000000000, 28, 28]: more than 1 GiB of data",
    );
}

#[test]
fn missing_data_dir() {
    let out = lenet(&["train", "--headless", "--data", "/nonexistent/fmnist"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("/nonexistent/fmnist: not a directory"),
        "{err}"
    );
}

#[test]
fn bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[train]\nepochs = 3\nbatch_size = 0\n").unwrap();
    let out = lenet(&["shapes", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:3:14: key `train.batch_size`: batch size must be between 1 and 65536, got 0",
            cfg.display()
        )),
        "{err}"
    );
    let out = lenet(&["shapes", "--config", "/nonexistent/config.toml"]);
    assert!(stderr(&out).contains("/nonexistent/config.toml: cannot read config file"));
}

#[test]
fn config_values_apply_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[model]\npooling = \"max\"\nactivation = \"relu\"\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let out = stdout(&lenet(&["shapes", "--config", cfg]));
    assert!(out.contains("MaxPool2d") && out.contains("ReLU"), "{out}");
    let out = stdout(&lenet(&["shapes", "--config", cfg, "--pool", "avg"]));
    assert!(out.contains("AvgPool2d") && out.contains("ReLU"), "{out}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_in_a_cpu_build_is_a_clear_error() {
    let out = lenet(&[
        "train",
        "--headless",
        "--device",
        "cuda",
        "--data",
        "embedded",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("built without CUDA support") && err.contains("--features cuda"),
        "{err}"
    );
}

#[test]
fn bad_command_line_values_are_usage_errors() {
    let out = lenet(&["train", "--headless", "--lr", "-2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("learning rate must be a finite number > 0"));
}

#[test]
fn headless_snapshots_save_every_epoch_and_the_figure() {
    let captures = tempfile::tempdir().unwrap();
    let out = lenet(&[
        "train",
        "--headless",
        "--data",
        "embedded",
        "--epochs",
        "2",
        "--batch-size",
        "100",
        "--snapshot-every",
        "epoch",
        "--size",
        "100x30",
        "--png-scale",
        "1",
        "--capture-dir",
        captures.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(captures.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let count = |suffix: &str| names.iter().filter(|n| n.ends_with(suffix)).count();
    assert_eq!(
        count("_avg-sigmoid.txt"),
        2,
        "one screenshot per epoch: {names:?}"
    );
    assert_eq!(count("_figure.png"), 1, "{names:?}");
    let txt = names.iter().find(|n| n.ends_with(".txt")).unwrap();
    let text = std::fs::read_to_string(captures.path().join(txt)).unwrap();
    assert_eq!(text.lines().count(), 30, "{text}");
    assert!(text.lines().all(|l| l.chars().count() == 100), "{text}");
}

#[test]
fn bench_reports_every_part_for_both_variants_as_json() {
    let out = lenet(&[
        "bench",
        "--json",
        "--data",
        "embedded",
        "--batch-size",
        "32",
        "--batches",
        "2",
        "--warmup",
        "1",
        "--repeats",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let variants: Vec<&str> = rows
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["avg/sigmoid", "max/relu"]);
    for r in &rows {
        assert_eq!(r["device"], "cpu");
        assert_eq!(r["batch_size"], 32);
        for part in ["step", "forward", "backward", "eval"] {
            let (min, median, max) = (
                r[part]["min"].as_f64().unwrap(),
                r[part]["median"].as_f64().unwrap(),
                r[part]["max"].as_f64().unwrap(),
            );
            assert!(0.0 < min && min <= median && median <= max, "{part}: {r}");
        }
    }
    let one = lenet(&[
        "bench",
        "--data",
        "embedded",
        "--batch-size",
        "32",
        "--batches",
        "1",
        "--repeats",
        "1",
        "--pool",
        "max",
    ]);
    let text = stdout(&one);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(
        text.contains("step ex/s") && text.contains("max/sigmoid"),
        "{text}"
    );
    assert!(!text.contains("avg/"), "only the variant asked for: {text}");
}

/// Runs lenet-tui with its config, data and state dirs in `home`.
fn lenet_in(home: &Path, args: &[&str]) -> Output {
    common::lenet_in(home, args)
}

#[test]
fn compare_draws_two_saved_runs_into_one_figure_and_a_table() {
    let home = tempfile::tempdir().unwrap();
    for pool in ["avg", "max"] {
        let out = lenet_in(
            home.path(),
            &[
                "train",
                "--headless",
                "--data",
                "embedded",
                "--epochs",
                "1",
                "--pool",
                pool,
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let runs_dir = home.path().join("lenet-tui/runs");
    let runs = lenet_tui::checkpoint::list_runs(&runs_dir).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let name = |i: usize| {
        runs[i]
            .dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let (a, b) = (name(0), name(1));
    let captures = home.path().join("captures");
    let out = lenet_in(
        home.path(),
        &[
            "compare",
            &a,
            "latest",
            "--png-scale",
            "1",
            "--capture-dir",
            captures.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("A  {a}: avg pooling, sigmoid, lr 0.9")),
        "{text}"
    );
    assert!(
        text.contains(&format!("B  {b}: max pooling, sigmoid, lr 0.9")),
        "latest is the second run: {text}"
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("a row for epoch 1: {text}"));
    assert_eq!(
        row.matches('.').count(),
        7,
        "three figures a run and B − A: {row}"
    );
    assert!(text.contains("best test acc: A 0."), "{text}");
    let figure = text
        .lines()
        .find_map(|l| l.strip_prefix("figure: "))
        .and_then(|l| l.strip_suffix(" (and .svg)"))
        .unwrap_or_else(|| panic!("the figure's path: {text}"));
    let png = std::path::PathBuf::from(figure);
    assert_eq!(png.parent(), Some(captures.as_path()));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    let svg = std::fs::read_to_string(png.with_extension("svg")).unwrap();
    for label in [
        "train loss · A avg/sigmoid",
        "test acc · B max/sigmoid",
        a.as_str(),
    ] {
        assert!(svg.contains(label), "{label} missing from the figure");
    }

    // A run that is not there: both places looked at are named.
    let out = lenet_in(home.path(), &["compare", &a, "no-such-run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&runs_dir.join("no-such-run").display().to_string()),
        "{err}"
    );
    // A damaged newest checkpoint: its file is named, and compare falls back to the
    // newest intact one as --resume does.
    let meta = runs[1]
        .checkpoints
        .last()
        .unwrap()
        .join(lenet_tui::checkpoint::META_FILE);
    std::fs::write(&meta, "{ not json").unwrap();
    let out = lenet_in(home.path(), &["compare", &a, &b]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&meta.display().to_string()), "{err}");
    assert!(err.contains("newest intact checkpoint"), "{err}");
}

#[test]
fn completions_are_a_script_bash_accepts_and_the_man_page_renders() {
    let out = lenet(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("lenet-tui.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(stdout(&out).contains("replay"), "subcommands are completed");

    let out = lenet(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = dir.path().join("lenet-tui.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let groff = std::process::Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww"])
        .arg(&page)
        .output();
    match groff {
        Ok(rendered) => {
            assert!(rendered.status.success(), "{}", stderr(&rendered));
            // Bold and underline come as overstrikes (`N\x08N`): keep the letters.
            let raw = stdout(&rendered);
            let mut text = String::new();
            for c in raw.chars() {
                if c == '\u{8}' {
                    text.pop();
                } else {
                    text.push(c);
                }
            }
            assert!(
                text.contains("SYNOPSIS") && text.contains("--pace"),
                "{text}"
            );
            assert!(
                stderr(&rendered).trim().is_empty(),
                "groff warns: {}",
                stderr(&rendered)
            );
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "groff is required on CI (.ci/run installs groff-base)"
        ),
    }
}

#[test]
fn a_headless_run_whose_last_checkpoint_cannot_be_written_prints_its_results_and_exits_1() {
    let home = tempfile::tempdir().unwrap();
    // A directory under a regular file can never be made, whoever runs the test.
    let blocker = home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let runs = blocker.join("runs");
    let config = home.path().join("lenet-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[checkpoints]\ndir = \"{}\"\n", runs.display()),
    )
    .unwrap();
    let out = common::lenet_in(
        home.path(),
        &["train", "--headless", "--data", "embedded", "--epochs", "1"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("epoch 1/1: loss "),
        "the results come first: {err}"
    );
    assert!(err.contains("done: "), "{err}");
    assert!(
        err.contains("not saved: the final checkpoint (needs about") && err.contains("not-a-dir"),
        "names the path and why: {err}"
    );
}
