//! The data sets lenet-tui knows by name: what they are called, their classes, where
//! they install, and the four files each publishes with their MD5 checksums. This is
//! the one place those facts live; the loader, `data download` and `data info` read
//! them from here.

use std::fmt;
use std::path::{Path, PathBuf};

/// A data set lenet-tui can download and describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownDataset {
    /// Zalando's Fashion-MNIST: the data set lenet-tui trains on.
    FashionMnist,
    /// LeCun's handwritten digits.
    Mnist,
}

/// One published file: its name on the mirror (with `.gz`) and its MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedFile {
    /// File name on the mirror and on disk, e.g. `train-images-idx3-ubyte.gz`.
    pub name: &'static str,
    /// The checksum its publisher gives.
    pub md5: Md5,
}

/// An MD5 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5(pub [u8; 16]);

impl Md5 {
    /// Parses 32 hex digits; a bad literal in the catalogue fails the build.
    pub const fn from_hex(hex: &str) -> Md5 {
        match Md5::parse(hex) {
            Some(md5) => md5,
            None => panic!("an MD5 is 32 hex digits"),
        }
    }

    /// Parses 32 hex digits (either case), `None` otherwise.
    pub const fn parse(hex: &str) -> Option<Md5> {
        const fn digit(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let bytes = hex.as_bytes();
        if bytes.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            let (Some(hi), Some(lo)) = (digit(bytes[2 * i]), digit(bytes[2 * i + 1])) else {
                return None;
            };
            out[i] = (hi << 4) | lo;
            i += 1;
        }
        Some(Md5(out))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Md5 {
        use md5::Digest;
        Md5(md5::Md5::digest(bytes).into())
    }
}

impl fmt::Display for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5({self})")
    }
}

const fn published(name: &'static str, md5: &'static str) -> PublishedFile {
    PublishedFile {
        name,
        md5: Md5::from_hex(md5),
    }
}

// Zalando's README, "Get the Data" (the same sums are in torchvision's FashionMNIST).
const FASHION_MNIST_FILES: [PublishedFile; 4] = [
    published(
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    published(
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    published(
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    published(
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

// torchvision's `MNIST.resources`: the gzip files as LeCun published them.
const MNIST_FILES: [PublishedFile; 4] = [
    published(
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    published(
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    published(
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    published(
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
];

const FASHION_MNIST_CLASSES: [&str; 10] = [
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

/// Where Debian's and Ubuntu's `dataset-fashion-mnist` package installs the files.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

impl KnownDataset {
    /// Every known data set, in the order `data info` lists them.
    pub const ALL: [KnownDataset; 2] = [KnownDataset::FashionMnist, KnownDataset::Mnist];

    /// The name on the command line, which is also its directory name.
    pub fn cli_name(self) -> &'static str {
        match self {
            KnownDataset::FashionMnist => "fashion-mnist",
            KnownDataset::Mnist => "mnist",
        }
    }

    /// The name people write.
    pub fn display_name(self) -> &'static str {
        match self {
            KnownDataset::FashionMnist => "Fashion-MNIST",
            KnownDataset::Mnist => "MNIST",
        }
    }

    /// Class names in label order.
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            KnownDataset::FashionMnist => &FASHION_MNIST_CLASSES,
            KnownDataset::Mnist => &MNIST_CLASSES,
        }
    }

    /// The four files in [`IDX_FILES`](super::IDX_FILES) order, compressed, with their published MD5s.
    pub fn files(self) -> [PublishedFile; 4] {
        match self {
            KnownDataset::FashionMnist => FASHION_MNIST_FILES,
            KnownDataset::Mnist => MNIST_FILES,
        }
    }

    /// The directory URL the four files are fetched from unless a mirror is given.
    pub fn default_mirror(self) -> &'static str {
        match self {
            KnownDataset::FashionMnist => {
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
            }
            // LeCun's own site refuses most downloads now; PyTorch's copy is the one
            // torchvision tries.
            KnownDataset::Mnist => "https://ossci-datasets.s3.amazonaws.com/mnist/",
        }
    }

    /// Where a system package installs it, if one does (Debian's and Ubuntu's
    /// `dataset-fashion-mnist`; there is no such package for MNIST).
    pub fn system_dir(self) -> Option<&'static Path> {
        match self {
            KnownDataset::FashionMnist => Some(Path::new(FASHION_MNIST_SYSTEM_DIR)),
            KnownDataset::Mnist => None,
        }
    }

    /// Whether a subset is compiled into the binary.
    pub fn has_embedded_subset(self) -> bool {
        matches!(self, KnownDataset::FashionMnist)
    }

    /// `<dir>/<cli name>`: where it is installed under a lenet-tui data directory.
    pub fn install_dir_in(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.cli_name())
    }

    /// `<user data dir>/lenet-tui/<cli name>` (Linux: `~/.local/share/lenet-tui/…`), if
    /// the system has a user data dir.
    pub fn user_dir(self) -> Option<PathBuf> {
        user_data_dir().map(|d| self.install_dir_in(&d))
    }
}

impl fmt::Display for KnownDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// lenet-tui's own directory in the user data dir (Linux: `~/.local/share/lenet-tui`).
pub fn user_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lenet-tui").map(|p| p.data_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IDX_FILES;

    #[test]
    fn each_data_set_has_ten_named_classes_and_four_distinct_files() {
        for ds in KnownDataset::ALL {
            assert_eq!(ds.classes().len(), 10, "{ds}");
            let mut classes = ds.classes().to_vec();
            classes.sort_unstable();
            classes.dedup();
            assert_eq!(classes.len(), 10, "{ds}: class names are distinct");
            let files = ds.files();
            for (file, idx) in files.iter().zip(IDX_FILES) {
                assert_eq!(file.name, format!("{idx}.gz"), "{ds}: loader order");
            }
            let mut sums: Vec<Md5> = files.iter().map(|f| f.md5).collect();
            sums.dedup();
            assert_eq!(sums.len(), 4, "{ds}: distinct checksums");
            assert!(ds.default_mirror().ends_with('/'), "{ds}");
        }
        assert_eq!(KnownDataset::FashionMnist.classes()[9], "Ankle boot");
        assert_eq!(KnownDataset::Mnist.classes()[7], "7");
        let fashion = KnownDataset::FashionMnist.files().map(|f| f.md5);
        let mnist = KnownDataset::Mnist.files().map(|f| f.md5);
        assert!(fashion.iter().all(|s| !mnist.contains(s)));
    }

    #[test]
    fn names_are_directory_names() {
        assert_eq!(
            KnownDataset::Mnist.install_dir_in(Path::new("/d")),
            Path::new("/d/mnist")
        );
    }

    #[test]
    fn md5_hex_round_trips_and_bad_hex_is_refused() {
        let hex = "8d4fb7e6c68d591d4c3dfef9ec88bf0d";
        assert_eq!(Md5::parse(hex).unwrap().to_string(), hex);
        assert_eq!(Md5::parse(&hex.to_uppercase()), Md5::parse(hex));
        assert_eq!(Md5::parse("8d4f"), None);
        assert_eq!(Md5::parse(&hex.replace('8', "g")), None);
        // RFC 1321's test suite.
        assert_eq!(
            Md5::of(b"abc").to_string(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
