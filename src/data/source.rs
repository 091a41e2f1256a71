//! Where the data comes from. First match wins: `--data` → config `data.dir` → the
//! user data dir → the system's `dataset-fashion-mnist` package → the embedded subset.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{DataError, DataProblem, IDX_FILES, KnownDataset, find_idx_file};

/// Where Debian's and Ubuntu's `dataset-fashion-mnist` package installs the files.
pub const SYSTEM_DIR: &str = super::catalog::FASHION_MNIST_SYSTEM_DIR;

/// A data location as the user writes it (`--data`, `data.dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// The subset compiled into the binary (`embedded`).
    Embedded,
    /// A directory holding the four IDX files.
    Dir(PathBuf),
}

impl FromStr for DataSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Err("expected a directory or `embedded`".into()),
            "embedded" => Ok(DataSpec::Embedded),
            dir => Ok(DataSpec::Dir(PathBuf::from(dir))),
        }
    }
}

/// Which rule picked a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--data DIR`.
    CommandLine,
    /// `data.dir` in the config file.
    ConfigFile,
    /// `<user data dir>/fashion-mnist`.
    UserDataDir,
    /// The system package's directory.
    SystemPackage,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::CommandLine => "from --data",
            Origin::ConfigFile => "from config data.dir",
            Origin::UserDataDir => "user data dir",
            Origin::SystemPackage => "system package dataset-fashion-mnist",
        })
    }
}

/// The data set the run will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    /// The class-balanced Fashion-MNIST subset compiled into the binary.
    Embedded,
    /// A directory with the four IDX files.
    Dir {
        /// The directory.
        path: PathBuf,
        /// The rule that picked it.
        origin: Origin,
    },
}

impl fmt::Display for DataLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataLocation::Embedded => f.write_str("the embedded subset"),
            DataLocation::Dir { path, origin } => write!(f, "{} ({origin})", path.display()),
        }
    }
}

/// The directories searched for `dataset` when neither `--data` nor `data.dir` is given.
pub fn default_candidates(dataset: KnownDataset) -> Vec<(PathBuf, Origin)> {
    let user = dataset.user_dir().map(|d| (d, Origin::UserDataDir));
    let system = dataset
        .system_dir()
        .map(|d| (d.to_path_buf(), Origin::SystemPackage));
    user.into_iter().chain(system).collect()
}

/// Picks the data location by the rules above, searching the default directories.
pub fn resolve(
    cli: Option<&DataSpec>,
    config: Option<&DataSpec>,
) -> Result<DataLocation, DataError> {
    resolve_with(cli, config, &default_candidates(KnownDataset::FashionMnist))
}

/// Where `dataset` is installed (`--dataset`, `data.dataset`): its directory in the
/// user data dir, then its system package's; only Fashion-MNIST falls back to the
/// embedded subset, for the others the error says how to download them.
pub fn resolve_known(dataset: KnownDataset) -> Result<DataLocation, DataError> {
    match resolve_with(None, None, &default_candidates(dataset))? {
        DataLocation::Embedded if !dataset.has_embedded_subset() => Err(DataError {
            file: dataset
                .user_dir()
                .map_or_else(|| dataset.cli_name().into(), |d| d.display().to_string()),
            problem: DataProblem::Directory(format!(
                "{} is not installed; run `lenet-tui data download {}` (or pass --data DIR)",
                dataset.display_name(),
                dataset.cli_name()
            )),
        }),
        found => Ok(found),
    }
}

/// [`resolve`] with the searched directories given, so tests control them.
pub fn resolve_with(
    cli: Option<&DataSpec>,
    config: Option<&DataSpec>,
    candidates: &[(PathBuf, Origin)],
) -> Result<DataLocation, DataError> {
    let explicit = cli
        .map(|s| (s, Origin::CommandLine))
        .or(config.map(|s| (s, Origin::ConfigFile)));
    if let Some((spec, origin)) = explicit {
        return match spec {
            DataSpec::Embedded => Ok(DataLocation::Embedded),
            // An explicit directory must hold the data: falling back silently would
            // train on something the user did not ask for.
            DataSpec::Dir(path) => Ok(DataLocation::Dir {
                path: path.clone(),
                origin,
            }),
        };
    }
    for (dir, origin) in candidates {
        let missing = missing_files(dir);
        if missing.len() == IDX_FILES.len() {
            continue;
        }
        if !missing.is_empty() {
            return Err(DataError {
                file: dir.display().to_string(),
                problem: DataProblem::Directory(format!(
                    "incomplete data set, missing {} (pass --data embedded to use the built-in subset)",
                    missing.join(", ")
                )),
            });
        }
        return Ok(DataLocation::Dir {
            path: dir.clone(),
            origin: *origin,
        });
    }
    Ok(DataLocation::Embedded)
}

fn missing_files(dir: &Path) -> Vec<&'static str> {
    IDX_FILES
        .into_iter()
        .filter(|name| find_idx_file(dir, name).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in IDX_FILES {
            std::fs::write(dir.path().join(format!("{name}.gz")), b"x").unwrap();
        }
        dir
    }

    #[test]
    fn command_line_beats_config_beats_search() {
        let found = full_dir();
        let cands = [(found.path().to_path_buf(), Origin::UserDataDir)];
        let cli = DataSpec::Dir("/a".into());
        let cfg = DataSpec::Dir("/b".into());
        let loc = resolve_with(Some(&cli), Some(&cfg), &cands).unwrap();
        assert_eq!(
            loc,
            DataLocation::Dir {
                path: "/a".into(),
                origin: Origin::CommandLine
            }
        );
        let loc = resolve_with(None, Some(&cfg), &cands).unwrap();
        assert_eq!(
            loc,
            DataLocation::Dir {
                path: "/b".into(),
                origin: Origin::ConfigFile
            }
        );
        let loc = resolve_with(None, None, &cands).unwrap();
        assert_eq!(
            loc,
            DataLocation::Dir {
                path: found.path().into(),
                origin: Origin::UserDataDir
            }
        );
        let emb = "embedded".parse::<DataSpec>().unwrap();
        assert_eq!(
            resolve_with(Some(&emb), Some(&cfg), &cands).unwrap(),
            DataLocation::Embedded
        );
    }

    #[test]
    fn search_skips_empty_dirs_and_falls_back_to_embedded() {
        let empty = tempfile::tempdir().unwrap();
        let found = full_dir();
        let cands = [
            (empty.path().to_path_buf(), Origin::UserDataDir),
            (found.path().to_path_buf(), Origin::SystemPackage),
        ];
        assert!(matches!(
            resolve_with(None, None, &cands).unwrap(),
            DataLocation::Dir {
                origin: Origin::SystemPackage,
                ..
            }
        ));
        assert_eq!(
            resolve_with(None, None, &cands[..1]).unwrap(),
            DataLocation::Embedded
        );
    }

    #[test]
    fn a_half_installed_dir_is_an_error_not_a_silent_fallback() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train-images-idx3-ubyte"), b"x").unwrap();
        let cands = [(dir.path().to_path_buf(), Origin::UserDataDir)];
        let err = resolve_with(None, None, &cands).unwrap_err().to_string();
        assert!(err.contains("missing train-labels-idx1-ubyte"), "{err}");
        assert!(err.starts_with(&dir.path().display().to_string()), "{err}");
    }
}
