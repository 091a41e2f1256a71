//! Data: IDX files in, checked [`Dataset`]s out, plus where they come from, the
//! catalogue of known data sets and their download, and the shuffled minibatch order the
//! trainer walks through.

pub mod batches;
pub mod catalog;
pub mod download;
pub mod embedded;
pub mod idx;
pub mod own;
pub mod source;

use std::fmt;
use std::path::{Path, PathBuf};

pub use batches::EpochOrder;
pub use catalog::KnownDataset;
pub use source::{DataLocation, DataSpec, Origin};

use idx::{IdxImages, IdxProblem};

/// The four files of an MNIST-style data set, without the optional `.gz`.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// Training labels file name.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// Test images file name.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// Test labels file name.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// All four, in the order they are loaded.
pub const IDX_FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// A data set file that could not be used, named as the user would find it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct DataError {
    /// The file (a path, or `embedded:NAME` for the built-in subset).
    pub file: String,
    /// What is wrong with it.
    pub problem: DataProblem,
}

/// What is wrong with a data set file.
#[derive(Debug, thiserror::Error)]
pub enum DataProblem {
    /// The bytes themselves are not a valid IDX file.
    #[error(transparent)]
    Idx(#[from] IdxProblem),
    /// Neither `NAME.gz` nor `NAME` exists in the directory.
    #[error("file not found (looked for {0}.gz and {0})")]
    Missing(String),
    /// The directory itself cannot be used.
    #[error("{0}")]
    Directory(String),
    /// Image and label files disagree on the number of examples.
    #[error("has {labels} labels but {images_file} has {images} images")]
    CountMismatch {
        /// Number of labels.
        labels: usize,
        /// Number of images.
        images: usize,
        /// The image file, for the message.
        images_file: String,
    },
    /// A label that names no class.
    #[error("label {label} at index {index} is out of range ({classes} classes)")]
    LabelOutOfRange {
        /// The label value.
        label: u8,
        /// Its position in the file.
        index: usize,
        /// The number of classes.
        classes: usize,
    },
    /// Test images whose size differs from the training images.
    #[error("images are {found} but the training images are {expected}")]
    ImageSize {
        /// This file's image size.
        found: String,
        /// The training images' size.
        expected: String,
    },
}

/// One half of a data set: images with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// `len() * rows * cols` raw pixel bytes; [`Split::image`] gives them as `f32`.
    pub pixels: Vec<u8>,
    /// One class index per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Raw bytes of image `i`.
    pub fn image_bytes(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Image `i` as `f32` in [0, 1], as the chapter's `ToTensor` gives it.
    pub fn image(&self, i: usize) -> Vec<f32> {
        self.image_bytes(i)
            .iter()
            .map(|&p| pixel_to_f32(p))
            .collect()
    }

    /// Index of the first example of class `class`, if any.
    pub fn first_of_class(&self, class: usize) -> Option<usize> {
        self.labels.iter().position(|&l| usize::from(l) == class)
    }
}

/// A pixel byte as the network sees it: scaled to [0, 1], no normalisation.
pub fn pixel_to_f32(p: u8) -> f32 {
    f32::from(p) / 255.0
}

/// A loaded, checked data set and where it came from.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Training examples.
    pub train: Split,
    /// Test examples.
    pub test: Split,
    /// Where the files were read from.
    pub location: DataLocation,
    /// Which data set it is, e.g. `Fashion-MNIST`.
    pub title: String,
}

/// What a data set's labels mean: a known set's classes, or names from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    /// One of the catalogue's data sets.
    Known(KnownDataset),
    /// Class names in label order, from `data.classes`.
    Named(Vec<String>),
}

impl Labels {
    /// The known data set with exactly these class names, else the names themselves.
    pub fn from_names(names: &[String]) -> Labels {
        KnownDataset::ALL
            .into_iter()
            .find(|d| d.classes().iter().eq(names.iter()))
            .map_or_else(|| Labels::Named(names.to_vec()), Labels::Known)
    }

    /// Class names in label order.
    pub fn names(&self) -> Vec<String> {
        match self {
            Labels::Known(d) => d.classes().iter().map(|s| s.to_string()).collect(),
            Labels::Named(names) => names.clone(),
        }
    }

    /// The data set's name for reports.
    pub fn title(&self) -> String {
        match self {
            Labels::Known(d) => d.display_name().to_string(),
            Labels::Named(names) => format!("a {}-class data set", names.len()),
        }
    }
}

impl Dataset {
    /// Loads the Fashion-MNIST files `location` points at.
    pub fn load(location: &DataLocation) -> Result<Dataset, DataError> {
        Self::load_as(location, &Labels::Known(KnownDataset::FashionMnist))
    }

    /// Loads the files `location` points at, whose labels mean `labels` (the IDX
    /// files carry no class names). The embedded subset is always Fashion-MNIST.
    pub fn load_as(location: &DataLocation, labels: &Labels) -> Result<Dataset, DataError> {
        let labels = match location {
            DataLocation::Embedded => &Labels::Known(KnownDataset::FashionMnist),
            DataLocation::Dir { .. } => labels,
        };
        let classes = labels.names();
        let files = match location {
            DataLocation::Embedded => embedded::files(),
            DataLocation::Dir { path, .. } => read_dir_files(path)?,
        };
        let [train_images, train_labels, test_images, test_labels] = files;
        let train = split_from(&train_images, &train_labels, classes.len(), None)?;
        let test = split_from(&test_images, &test_labels, classes.len(), Some(&train))?;
        tracing::info!(
            train = train.len(),
            test = test.len(),
            classes = classes.len(),
            "loaded {} from {location}",
            labels.title()
        );
        Ok(Dataset {
            classes,
            train,
            test,
            location: location.clone(),
            title: labels.title(),
        })
    }

    /// The built-in Fashion-MNIST subset.
    pub fn embedded() -> Dataset {
        Dataset::load(&DataLocation::Embedded).expect("the embedded subset is valid")
    }

    /// Name of class `label`.
    pub fn class_name(&self, label: usize) -> &str {
        self.classes.get(label).map_or("?", String::as_str)
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            DataLocation::Embedded => write!(f, "embedded {} subset", self.title)?,
            DataLocation::Dir { .. } => write!(f, "{} in {}", self.title, self.location)?,
        }
        write!(
            f,
            " ({} train / {} test images)",
            self.train.len(),
            self.test.len()
        )
    }
}

/// A file's name for messages and its bytes.
pub(crate) struct RawFile {
    name: String,
    bytes: Vec<u8>,
}

impl RawFile {
    pub(crate) fn new(name: String, bytes: Vec<u8>) -> Self {
        Self { name, bytes }
    }

    fn error(&self, problem: impl Into<DataProblem>) -> DataError {
        DataError {
            file: self.name.clone(),
            problem: problem.into(),
        }
    }
}

/// Finds `NAME.gz` or `NAME` in `dir`: the compressed file wins when both exist.
pub fn find_idx_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [format!("{name}.gz"), name.to_string()]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn read_dir_files(dir: &Path) -> Result<[RawFile; 4], DataError> {
    if !dir.is_dir() {
        return Err(DataError {
            file: dir.display().to_string(),
            problem: DataProblem::Directory("not a directory (or it does not exist)".into()),
        });
    }
    let read = |name: &str| {
        let Some(path) = find_idx_file(dir, name) else {
            return Err(DataError {
                file: dir.join(name).display().to_string(),
                problem: DataProblem::Missing(name.to_string()),
            });
        };
        let shown = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| DataError {
            file: shown.clone(),
            problem: IdxProblem::Io(e).into(),
        })?;
        Ok(RawFile::new(shown, bytes))
    };
    Ok([
        read(TRAIN_IMAGES)?,
        read(TRAIN_LABELS)?,
        read(TEST_IMAGES)?,
        read(TEST_LABELS)?,
    ])
}

fn split_from(
    images: &RawFile,
    labels: &RawFile,
    classes: usize,
    train: Option<&Split>,
) -> Result<Split, DataError> {
    let IdxImages {
        count,
        rows,
        cols,
        pixels,
    } = idx::parse_images(&images.bytes).map_err(|e| images.error(e))?;
    let label_values = idx::parse_labels(&labels.bytes).map_err(|e| labels.error(e))?;
    if label_values.len() != count {
        return Err(labels.error(DataProblem::CountMismatch {
            labels: label_values.len(),
            images: count,
            images_file: images.name.clone(),
        }));
    }
    if let Some((index, &label)) = label_values
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    {
        return Err(labels.error(DataProblem::LabelOutOfRange {
            label,
            index,
            classes,
        }));
    }
    if let Some(train) = train
        && (train.rows, train.cols) != (rows, cols)
    {
        return Err(images.error(DataProblem::ImageSize {
            found: format!("{rows}×{cols}"),
            expected: format!("{}×{}", train.rows, train.cols),
        }));
    }
    Ok(Split {
        rows,
        cols,
        pixels,
        labels: label_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_subset_is_class_balanced_fashion_mnist() {
        let data = Dataset::embedded();
        assert_eq!((data.train.len(), data.test.len()), (6000, 1000));
        assert_eq!((data.train.rows, data.train.cols), (28, 28));
        for class in 0..10u8 {
            assert_eq!(
                data.train.labels.iter().filter(|&&l| l == class).count(),
                600
            );
            assert_eq!(
                data.test.labels.iter().filter(|&&l| l == class).count(),
                100
            );
        }
        let px = data.train.image(0);
        assert!(px.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert!(px.iter().any(|&p| p > 0.5), "a real image, not a blank");
        assert_eq!(data.class_name(4), "Coat");
    }
}
