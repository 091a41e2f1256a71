//! Regenerates the embedded subset in `assets/fashion-mnist-subset/` from the full set.
//!
//! ```sh
//! cargo run --release --example make-subset -- /usr/share/datasets/fashion-mnist
//! ```
//! The rule is [`lenet_tui::data::embedded::balanced_subset`]: in file order, the first
//! 600 training and 100 test images of each class.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lenet_tui::data::embedded::{TEST_PER_CLASS, TRAIN_PER_CLASS, balanced_subset};
use lenet_tui::data::idx::{IdxImages, encode_images_gz, encode_labels_gz};
use lenet_tui::data::{
    DataLocation, Dataset, Origin, Split, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let from = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/usr/share/datasets/fashion-mnist".into()),
    );
    let to = args.next().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-subset"),
        PathBuf::from,
    );
    let full = Dataset::load(&DataLocation::Dir {
        path: from.clone(),
        origin: Origin::CommandLine,
    })?;
    std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
    write_split(
        &full.train,
        TRAIN_PER_CLASS,
        &to,
        TRAIN_IMAGES,
        TRAIN_LABELS,
    )?;
    write_split(&full.test, TEST_PER_CLASS, &to, TEST_IMAGES, TEST_LABELS)?;
    eprintln!("wrote the subset of {} to {}", from.display(), to.display());
    Ok(())
}

fn write_split(
    split: &Split,
    per_class: usize,
    to: &Path,
    images: &str,
    labels: &str,
) -> Result<()> {
    let keep = balanced_subset(&split.labels, 10, per_class);
    let subset = IdxImages {
        count: keep.len(),
        rows: split.rows,
        cols: split.cols,
        pixels: keep
            .iter()
            .flat_map(|&i| split.image_bytes(i))
            .copied()
            .collect(),
    };
    let label_values: Vec<u8> = keep.iter().map(|&i| split.labels[i]).collect();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = to.join(format!("{name}.gz"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write(images, encode_images_gz(&subset)?)?;
    write(labels, encode_labels_gz(&label_values)?)?;
    Ok(())
}
