//! Checks against the full Fashion-MNIST where it is installed (`.ci/run` installs
//! Debian's `dataset-fashion-mnist`); elsewhere they say so and pass.

use std::path::Path;

use lenet_tui::data::embedded::{TEST_PER_CLASS, TRAIN_PER_CLASS, balanced_subset};
use lenet_tui::data::source::SYSTEM_DIR;
use lenet_tui::data::{DataLocation, Dataset, Origin, Split};

fn full() -> Option<Dataset> {
    if !Path::new(SYSTEM_DIR)
        .join("train-images-idx3-ubyte.gz")
        .exists()
    {
        eprintln!(
            "{SYSTEM_DIR} not installed; `apt-get install dataset-fashion-mnist` to run this check"
        );
        return None;
    }
    Some(
        Dataset::load(&DataLocation::Dir {
            path: SYSTEM_DIR.into(),
            origin: Origin::SystemPackage,
        })
        .unwrap(),
    )
}

fn subset(split: &Split, per_class: usize) -> (Vec<u8>, Vec<u8>) {
    let keep = balanced_subset(&split.labels, 10, per_class);
    let pixels = keep
        .iter()
        .flat_map(|&i| split.image_bytes(i))
        .copied()
        .collect();
    (pixels, keep.iter().map(|&i| split.labels[i]).collect())
}

#[test]
fn the_full_set_loads_and_the_embedded_subset_is_made_from_it_by_the_documented_rule() {
    let Some(full) = full() else { return };
    assert_eq!((full.train.len(), full.test.len()), (60_000, 10_000));
    let embedded = Dataset::embedded();
    let (pixels, labels) = subset(&full.train, TRAIN_PER_CLASS);
    assert_eq!(pixels, embedded.train.pixels);
    assert_eq!(labels, embedded.train.labels);
    let (pixels, labels) = subset(&full.test, TEST_PER_CLASS);
    assert_eq!(pixels, embedded.test.pixels);
    assert_eq!(labels, embedded.test.labels);
}

/// Every epoch line of `train --headless --json` with `data` carries ten per-class
/// accuracies whose mean is the test accuracy (the test sets are class-balanced).
fn class_accuracies_average_to_the_test_accuracy(data: &str, epochs: &str) {
    let home = super::common::Home::new();
    let out = home.run(&[
        "train",
        "--headless",
        "--json",
        "--data",
        data,
        "--epochs",
        epochs,
    ]);
    assert!(out.status.success(), "{out:?}");
    let mut seen = 0;
    for line in super::common::stdout(&out).lines() {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        if !matches!(json["event"].as_str(), Some("epoch" | "done")) {
            continue;
        }
        let acc: Vec<f64> = json["class_acc"]
            .as_array()
            .unwrap_or_else(|| panic!("no class_acc: {line}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(acc.len(), 10, "{line}");
        let mean = acc.iter().sum::<f64>() / 10.0;
        let test_acc = json["test_acc"].as_f64().unwrap();
        assert!(
            (mean - test_acc).abs() < 1e-3,
            "{mean} against {test_acc}: {line}"
        );
        seen += 1;
    }
    assert!(seen >= 2, "an epoch line and a done line");
    let text = home.run(&["train", "--headless", "--data", data, "--epochs", "1"]);
    let err = super::common::stderr(&text);
    assert!(err.contains("; weakest: "), "{err}");
}

#[test]
fn per_class_accuracy_on_the_embedded_subset() {
    class_accuracies_average_to_the_test_accuracy("embedded", "2");
}

#[test]
fn per_class_accuracy_on_the_full_test_set() {
    if full().is_none() {
        return;
    }
    class_accuracies_average_to_the_test_accuracy(SYSTEM_DIR, "1");
}
