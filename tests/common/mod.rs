//! Helpers shared by the integration tests: small IDX data sets written to temp dirs.

#![allow(dead_code)]

use std::path::Path;

use lenet_tui::data::idx::{IdxImages, encode_images_gz, encode_labels_gz};
use lenet_tui::data::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// A tiny valid data set: `n` 28×28 images with labels cycling through the classes.
pub fn write_dataset(dir: &Path, train: usize, test: usize) {
    write_split(dir, TRAIN_IMAGES, TRAIN_LABELS, train);
    write_split(dir, TEST_IMAGES, TEST_LABELS, test);
}

fn write_split(dir: &Path, images: &str, labels: &str, n: usize) {
    let imgs = IdxImages {
        count: n,
        rows: 28,
        cols: 28,
        pixels: (0..n * 784).map(|i| (i * 31 % 251) as u8).collect(),
    };
    let label_values: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(
        dir.join(format!("{images}.gz")),
        encode_images_gz(&imgs).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{labels}.gz")),
        encode_labels_gz(&label_values).unwrap(),
    )
    .unwrap();
}
