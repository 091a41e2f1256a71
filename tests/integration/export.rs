//! `lenet-tui export`: a saved run's scalars as CSV and JSON lines, read back with a
//! CSV reader and checked number for number against the JSON events the same run
//! printed (`train --headless --json`). Each test has a home of its own and trains on
//! the embedded subset.

use std::collections::HashMap;

use serde_json::Value;

use crate::common::{Home, quick, stderr, stdout};

/// The JSON events of a finished `--json` run.
fn events(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The events of kind `kind` (`epoch`, `progress`).
fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// A CSV export read with the `csv` crate: one map per row, column → cell.
fn read_csv(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len(), "every row as long as the header");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// A number of a CSV row, read back to the bit.
fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    let cell = row
        .get(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    cell.parse()
        .unwrap_or_else(|e| panic!("{column} = {cell:?}: {e}"))
}

/// `lenet-tui export ARGS` in `home`, which must succeed; its stdout.
fn export(home: &Home, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend(args);
    let out = home.run(&all);
    assert!(out.status.success(), "export {args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_csv_export_has_the_json_events_numbers_one_row_per_epoch_or_logged_batch() {
    let home = Home::new();
    let events = events(&home.run(&quick(&[
        "--json", "--epochs", "2", "--act", "relu", "--lr", "0.1",
    ])));
    let epochs = of_kind(&events, "epoch");
    let progress = of_kind(&events, "progress");
    assert_eq!(epochs.len(), 2);

    let rows = read_csv(&export(&home, &["latest", "--format", "csv"]));
    assert_eq!(rows.len(), epochs.len(), "one row per epoch");
    for (row, e) in rows.iter().zip(&epochs) {
        for key in [
            "epoch",
            "train_loss",
            "train_acc",
            "test_acc",
            "examples_per_sec",
        ] {
            assert_eq!(num(row, key), e[key].as_f64().unwrap(), "{key} of {e}");
        }
        let classes = e["class_acc"].as_array().expect("per-class accuracy");
        let names = [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ];
        for (name, acc) in names.iter().zip(classes) {
            assert_eq!(num(row, &format!("test_acc_{name}")), acc.as_f64().unwrap());
        }
        // The settings the run trained with, and where it stood.
        assert_eq!((row["pool"].as_str(), row["act"].as_str()), ("avg", "relu"));
        assert_eq!((num(row, "lr"), row["pace"].as_str()), (0.1, "full"));
        let epoch = num(row, "epoch");
        assert_eq!(num(row, "step"), 60.0 * epoch, "60 batches of 100 an epoch");
        assert_eq!(num(row, "examples_seen"), 6000.0 * epoch);
    }

    let rows = read_csv(&export(&home, &["latest", "--what", "batches"]));
    assert_eq!(rows.len(), progress.len(), "one row per logged batch");
    for (row, p) in rows.iter().zip(&progress) {
        // A progress event's `epoch` is its position in epochs, the export's `at`.
        assert_eq!(num(row, "at"), p["epoch"].as_f64().unwrap());
        for key in ["train_loss", "train_acc", "examples_per_sec"] {
            assert_eq!(num(row, key), p[key].as_f64().unwrap(), "{key} of {p}");
        }
        assert_eq!(row["test_acc"], "", "no test accuracy within an epoch");
    }

    // JSON lines: the same columns, the same numbers.
    let json = export(&home, &["latest", "--format", "json"]);
    let lines: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), epochs.len());
    for (line, e) in lines.iter().zip(&epochs) {
        for key in ["train_loss", "train_acc", "test_acc", "examples_per_sec"] {
            assert_eq!(line[key], e[key], "{key}");
        }
        assert_eq!(line["epoch"], e["epoch"].as_f64().unwrap() as u64);
    }
}

#[test]
fn a_race_exports_every_variant_under_its_label() {
    let home = Home::new();
    let events = events(&home.run(&quick(&["--json", "--epochs", "1", "--race", "pool=max"])));
    let rows = read_csv(&export(&home, &["latest"]));
    assert_eq!(rows.len(), 2, "one epoch of each variant");
    for row in &rows {
        let label = &row["variant"];
        let event = of_kind(&events, "epoch")
            .into_iter()
            .find(|e| e["variant"] == label.as_str())
            .unwrap_or_else(|| panic!("no epoch event of `{label}`"));
        assert_eq!(num(row, "test_acc"), event["test_acc"].as_f64().unwrap());
        assert_eq!(
            num(row, "train_loss"),
            event["train_loss"].as_f64().unwrap()
        );
    }
    let pools: Vec<&str> = rows.iter().map(|r| r["pool"].as_str()).collect();
    assert_eq!(
        pools,
        ["avg", "max"],
        "race order, each with its own pooling"
    );
}

#[test]
fn a_resume_with_another_rate_shows_in_the_rows_after_it() {
    let home = Home::new();
    events(&home.run(&quick(&["--json", "--epochs", "1"])));
    events(&home.run(&quick(&[
        "--json", "--resume", "latest", "--epochs", "2", "--lr", "0.3",
    ])));
    let rows = read_csv(&export(&home, &["latest"]));
    let lrs: Vec<f64> = rows.iter().map(|r| num(r, "lr")).collect();
    assert_eq!(
        lrs,
        [0.9, 0.3],
        "the saved snapshots tell the rate of each epoch"
    );
}

#[test]
fn bad_input_is_an_error_naming_it_and_an_output_file_is_never_half_written() {
    let home = Home::new();
    let out = home.run(&["export", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nope: no such run"),
        "{}",
        stderr(&out)
    );

    events(&home.run(&quick(&["--json", "--epochs", "1"])));
    // A directory that does not exist, and a path under a file.
    let missing = home.path().join("no/such/dir/out.csv");
    let file = home.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("out.csv");
    for target in [&missing, &under_file] {
        let out = home.run(&["export", "latest", "-o", target.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("cannot write the export to {}", target.display())),
            "{err}"
        );
    }

    // An export that fails leaves the file that was there as it was, and nothing
    // beside it.
    let kept = home.path().join("kept.csv");
    std::fs::write(&kept, "old").unwrap();
    let out = home.run(&["export", "nope", "-o", kept.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let target_dir = home.path().join("target-dir");
    std::fs::create_dir(&target_dir).unwrap();
    let out = home.run(&["export", "latest", "-o", target_dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a directory is no file to write"
    );
    assert!(stderr(&out).contains("target-dir"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old");
    let leftovers: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // And one that succeeds replaces it whole.
    let out = home.run(&["export", "latest", "-o", kept.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let rows = read_csv(&std::fs::read_to_string(&kept).unwrap());
    assert_eq!(rows.len(), 1);
}
