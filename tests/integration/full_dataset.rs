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
