//! Races: `--race SPEC` variants train in turns on one device, headless. Each test runs
//! the real binary with its own home directory on the embedded subset.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::lenet_in;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON events a `--json` run printed.
fn events(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A headless JSON run on the embedded subset, with `extra` arguments.
fn train_json(home: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--headless", "--json", "--data", "embedded"];
    args.extend_from_slice(extra);
    lenet_in(home, &args)
}

/// What an epoch printed, every figure but the speed: `(epoch, loss, train acc, test acc)`.
type EpochFigures = (f64, f64, f64, f64);

fn figures(e: &Value) -> EpochFigures {
    let f = |k: &str| e[k].as_f64().unwrap_or_else(|| panic!("{k} in {e}"));
    (f("epoch"), f("train_loss"), f("train_acc"), f("test_acc"))
}

/// Epoch figures per variant label (`None`: a solo run's).
fn epochs_by_variant(events: &[Value]) -> HashMap<Option<String>, Vec<EpochFigures>> {
    let mut out: HashMap<Option<String>, Vec<EpochFigures>> = HashMap::new();
    for e in events.iter().filter(|e| e["event"] == "epoch") {
        let label = e["variant"].as_str().map(str::to_string);
        out.entry(label).or_default().push(figures(e));
    }
    out
}

fn runs_dir(home: &Path) -> PathBuf {
    home.join("lenet-tui/runs")
}

/// The one race directory a test's runs wrote.
fn race_dir(home: &Path) -> PathBuf {
    let races: Vec<PathBuf> = std::fs::read_dir(runs_dir(home))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("race.json").is_file())
        .collect();
    assert_eq!(races.len(), 1, "{races:?}");
    races[0].clone()
}

#[test]
fn each_variant_reports_under_its_label_and_matches_its_solo_run() {
    let home = tempfile::tempdir().unwrap();
    let race = [
        "--epochs",
        "2",
        "--race",
        "pool=max",
        "--race",
        "act=relu,lr=0.1",
    ];
    let out = train_json(home.path(), &race);
    assert!(out.status.success(), "{}", stderr(&out));
    let raced = epochs_by_variant(&events(&out));
    let solos = [
        ("avg sigmoid lr 0.9", vec![]),
        ("max", vec!["--pool", "max"]),
        ("relu lr 0.1", vec!["--act", "relu", "--lr", "0.1"]),
    ];
    assert_eq!(raced.len(), solos.len(), "{raced:?}");
    for (label, args) in solos {
        let mut solo_args = vec!["--epochs", "2"];
        solo_args.extend(args);
        let solo = train_json(home.path(), &solo_args);
        assert!(solo.status.success(), "{}", stderr(&solo));
        let alone = epochs_by_variant(&events(&solo));
        let alone = &alone[&None];
        assert_eq!(alone.len(), 2, "{alone:?}");
        assert_eq!(
            raced.get(&Some(label.to_string())),
            Some(alone),
            "variant `{label}` in the race against its solo run"
        );
    }
}

#[test]
fn variants_take_turns_batch_by_batch() {
    let home = tempfile::tempdir().unwrap();
    // Batches of 50: 120 per epoch, a report every few of them.
    let out = train_json(
        home.path(),
        &[
            "--epochs",
            "1",
            "--batch-size",
            "50",
            "--race",
            "pool=max",
            "--race",
            "act=relu",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    // Where each variant stood at its latest report, in the one interleaved stream.
    let mut at: HashMap<String, f64> = HashMap::new();
    let mut reports = 0;
    let step = 1.0 / 120.0;
    for e in events.iter().filter(|e| e["event"] == "progress") {
        let label = e["variant"].as_str().expect("variant").to_string();
        let epoch = e["epoch"].as_f64().unwrap();
        at.insert(label.clone(), epoch);
        reports += 1;
        // Whoever reports, nobody else is more than one report interval away.
        let (lo, hi) = at
            .values()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        if at.len() == 3 {
            assert!(
                hi - lo <= 0.25 + step,
                "variants drifted apart at report {reports} of `{label}`: {at:?}"
            );
        }
    }
    assert_eq!(at.len(), 3, "{at:?}");
    assert!(at.values().all(|&x| (x - 1.0).abs() < 1e-9), "{at:?}");
    // Equal shares of the device: the same number of reports for everyone.
    let count = |label: &str| {
        events
            .iter()
            .filter(|e| e["event"] == "progress" && e["variant"] == label)
            .count()
    };
    let counts: Vec<usize> = at.keys().map(|l| count(l)).collect();
    assert!(
        counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
        "{counts:?}"
    );
}

#[test]
fn a_diverging_variant_stops_alone_and_the_race_exits_3() {
    let home = tempfile::tempdir().unwrap();
    let out = train_json(
        home.path(),
        &[
            "--epochs",
            "2",
            "--batch-size",
            "100",
            "--act",
            "relu",
            "--lr",
            "0.1",
            "--race",
            "lr=100",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let events = events(&out);
    let of = |event: &str, label: &str| {
        events
            .iter()
            .filter(|e| e["event"] == event && e["variant"] == label)
            .count()
    };
    assert_eq!(of("diverged", "lr 100"), 1, "{err}");
    assert_eq!(of("done", "lr 100"), 0, "{err}");
    assert_eq!(of("diverged", "lr 0.1"), 0, "{err}");
    assert_eq!(of("epoch", "lr 0.1"), 2, "the others go on: {err}");
    assert_eq!(of("done", "lr 0.1"), 1, "{err}");
    assert!(err.contains("lr 100"), "the error names the variant: {err}");
}

#[test]
fn bad_specs_are_refused_naming_the_part() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--race", "pool"], &["`pool`", "KEY=VALUE"]),
        (&["--race", "pool=median"], &["`pool=median`", "median"]),
        (&["--race", "batch=3"], &["`batch=3`", "same batches"]),
        (
            &["--race", "depth=3"],
            &["`depth=3`", "unknown key `depth`"],
        ),
        (&["--race", "lr=-1"], &["lr"]),
        (&["--race", "pool=max,pool=avg"], &["`pool` is given twice"]),
        (&["--race", "pool=avg"], &["pool=avg", "changes nothing"]),
        (
            &["--race", "pool=max", "--race", "pool=max"],
            &["pool=max", "trains exactly as the variant `max`"],
        ),
        (
            &[
                "--race", "pool=max", "--race", "act=relu", "--race", "lr=0.1", "--race", "lr=0.2",
            ],
            &["at most 4 variants", "got 5"],
        ),
        (
            &["--race", "model=nowhere.toml"],
            &["model=nowhere.toml", "nowhere.toml"],
        ),
    ];
    for (args, wants) in cases {
        let out = train_json(home.path(), args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?}: {err}");
        for want in *wants {
            assert!(err.contains(want), "{args:?}: wanted `{want}` in: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(
        !runs_dir(home.path()).exists(),
        "nothing trains on a bad spec"
    );
}

#[test]
fn race_tables_in_the_config_race_and_the_command_line_replaces_them() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("race.toml");
    std::fs::write(
        &config,
        "[train]\nepochs = 1\n[[race]]\npool = \"max\"\n[[race]]\nact = \"relu\"\nlr = 0.1\n",
    )
    .unwrap();
    let file = config.to_str().unwrap();
    let labels = |o: &Output| {
        let mut l: Vec<String> = events(o)
            .iter()
            .filter(|e| e["event"] == "done")
            .map(|e| e["variant"].as_str().unwrap_or("-").to_string())
            .collect();
        l.sort();
        l
    };
    let out = train_json(home.path(), &["--config", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(labels(&out), ["avg sigmoid lr 0.9", "max", "relu lr 0.1"]);
    let out = train_json(home.path(), &["--config", file, "--race", "init=kaiming"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(labels(&out), ["kaiming", "xavier-uniform"]);

    std::fs::write(&config, "[[race]]\npool = \"max\"\nbogus = 1\n").unwrap();
    let out = train_json(home.path(), &["--config", file]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains(file) && err.contains("bogus"), "{err}");
}

#[test]
fn a_race_saves_each_variant_in_one_directory_and_resumes_them_all() {
    let home = tempfile::tempdir().unwrap();
    let race = ["--epochs", "1", "--race", "pool=max", "--race", "act=relu"];
    let out = train_json(home.path(), &race);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = race_dir(home.path());
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-race"),
        "{dir:?}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("race.json")).unwrap()).unwrap();
    let variants = manifest["variants"].as_array().expect("variants");
    let labels: Vec<&str> = variants
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["avg sigmoid", "max", "relu"]);
    for v in variants {
        let run = dir.join(v["dir"].as_str().unwrap());
        let ckpts = std::fs::read_dir(&run)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("ckpt-")
            })
            .count();
        assert!(ckpts >= 1, "{run:?} has no checkpoint");
    }

    // `runs` lists every variant inside its race, by the name `replay` takes.
    let out = lenet_in(home.path(), &["runs"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let race_name = dir.file_name().unwrap().to_string_lossy().into_owned();
    for v in variants {
        let name = format!("{race_name}/{}", v["dir"].as_str().unwrap());
        assert!(text.contains(&name), "{name} in: {text}");
    }

    // `compare RACE` sets every variant side by side: A, B and C in the table.
    let captures = home.path().join("captures");
    let out = lenet_in(
        home.path(),
        &[
            "compare",
            &race_name,
            "--capture-dir",
            captures.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    for (letter, dir) in ["A", "B", "C"].iter().zip(variants) {
        let line = format!("{letter}  {} ", dir["dir"].as_str().unwrap());
        assert!(text.contains(&line), "{line} in: {text}");
    }
    assert!(
        text.contains("C loss") && !text.contains("test B − A"),
        "{text}"
    );
    assert!(text.contains("best test acc: A "), "{text}");
    let figures = std::fs::read_dir(&captures).unwrap().count();
    assert!(figures >= 2, "the figure's PNG and SVG");
    // One run alone is no comparison.
    let one = format!("{race_name}/2-max");
    let out = lenet_in(home.path(), &["compare", &one]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("two to four runs"),
        "{}",
        stderr(&out)
    );

    // A race replays a variant at a time, and says which there are.
    let out = lenet_in(home.path(), &["replay", &race_name]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("replay one of them: {race_name}/1-avg-sigmoid")),
        "{}",
        stderr(&out)
    );

    // A race and a resume at once: one or the other.
    let out = train_json(
        home.path(),
        &["--resume", "latest", "--race", "lr=0.1", "--epochs", "2"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--race") && stderr(&out).contains("--resume"),
        "{}",
        stderr(&out)
    );

    // `--resume latest` goes on with every variant, each from its own checkpoint.
    let out = train_json(home.path(), &["--resume", "latest", "--epochs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let resumed = epochs_by_variant(&events(&out));
    let mut got: Vec<(String, Vec<f64>)> = resumed
        .iter()
        .map(|(l, e)| {
            (
                l.clone().expect("a variant"),
                e.iter().map(|f| f.0).collect(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let want: Vec<(String, Vec<f64>)> = ["avg sigmoid", "max", "relu"]
        .iter()
        .map(|l| (l.to_string(), vec![2.0]))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        race_dir(home.path()),
        dir,
        "the resumed race stays in its dir"
    );
}

#[test]
fn headless_race_snapshots_show_every_variant_once_each_epoch() {
    let home = tempfile::tempdir().unwrap();
    let captures = home.path().join("captures");
    let out = train_json(
        home.path(),
        &[
            "--epochs",
            "2",
            "--batch-size",
            "100",
            "--race",
            "pool=max",
            "--snapshot-every",
            "epoch",
            "--size",
            "160x48",
            "--png-scale",
            "1",
            "--capture-dir",
            captures.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&captures)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let texts: Vec<&String> = names.iter().filter(|n| n.ends_with(".txt")).collect();
    assert_eq!(
        texts.len(),
        2,
        "one screenshot per epoch of the race: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.ends_with("_figure.png")).count(),
        1,
        "{names:?}"
    );
    let last = std::fs::read_to_string(captures.join(texts[1])).unwrap();
    for label in ["1 avg", "2 max"] {
        assert!(last.matches(label).count() >= 3, "{label}:\n{last}");
    }
    assert_eq!(last.matches("layer 1 6×28×28").count(), 2, "{last}");
}
