//! The Fashion-MNIST subset compiled into the binary, so an installed `lenet-tui`
//! works anywhere, and the rule that makes it from the full set.
//!
//! Rule: in file order, the first 600 training and the first 100 test images of each
//! class (6,000 and 1,000 images). Deterministic and class-balanced; file order is kept.
//! `cargo run --release --example make-subset` regenerates `assets/fashion-mnist-subset/`.

use super::RawFile;

/// Training images per class in the subset.
pub const TRAIN_PER_CLASS: usize = 600;
/// Test images per class in the subset.
pub const TEST_PER_CLASS: usize = 100;

macro_rules! asset {
    ($name:literal) => {
        (
            concat!("embedded:", $name, ".gz"),
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/fashion-mnist-subset/",
                $name,
                ".gz"
            ))
            .as_slice(),
        )
    };
}

const FILES: [(&str, &[u8]); 4] = [
    asset!("train-images-idx3-ubyte"),
    asset!("train-labels-idx1-ubyte"),
    asset!("t10k-images-idx3-ubyte"),
    asset!("t10k-labels-idx1-ubyte"),
];

pub(crate) fn files() -> [RawFile; 4] {
    FILES.map(|(name, bytes)| RawFile::new(name.to_string(), bytes.to_vec()))
}

/// Indices of the first `per_class` examples of every class, in file order.
pub fn balanced_subset(labels: &[u8], classes: usize, per_class: usize) -> Vec<usize> {
    let mut taken = vec![0usize; classes];
    labels
        .iter()
        .enumerate()
        .filter(|&(_, &label)| {
            let slot = &mut taken[usize::from(label)];
            *slot += 1;
            *slot <= per_class
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_of_each_class_in_order() {
        let labels = [0, 1, 0, 0, 2, 1, 1, 2];
        assert_eq!(balanced_subset(&labels, 3, 2), vec![0, 1, 2, 4, 5, 7]);
    }
}
