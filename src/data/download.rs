//! `lenet-tui data download`: fetches a data set's four files from a mirror and
//! installs them so that nothing unverified is ever in place.
//!
//! Each file streams into a hidden `.NAME.XXXXXX.part` in the target directory while its
//! length and MD5 are counted. Only a body as long as the server's `Content-Length`
//! whose MD5 is the published one is fsynced and renamed to its name; anything else
//! (an HTTP error, a connection closed early, a wrong checksum) is deleted and reported
//! with the URL and what was wrong. Files already installed with the right checksum
//! are not fetched again. [`check_installed`] is the same verification for
//! `data info`.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use md5::Digest;

use super::catalog::{KnownDataset, Md5, PublishedFile};
use crate::files::NewFile;

/// Giving up on a server that does not accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Giving up on a server that stops sending: long enough for a slow mirror's first
/// byte, short enough that a dead connection does not hang the command.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read, hashed and written at a time.
const CHUNK: usize = 64 * 1024;

/// A mirror: the URL of a directory that holds a data set's `.gz` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror(String);

impl Mirror {
    /// The URL of `file` on this mirror.
    pub fn url_of(&self, file: &str) -> String {
        format!("{}{file}", self.0)
    }

    /// The default mirror of `dataset`.
    pub fn default_for(dataset: KnownDataset) -> Mirror {
        dataset
            .default_mirror()
            .parse()
            .expect("the catalogue's mirrors are valid")
    }
}

impl FromStr for Mirror {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| Err(format!("`{s}` is not a mirror URL: {why}"));
        let lower = s.to_ascii_lowercase();
        let Some(rest) = ["http://", "https://"]
            .iter()
            .find_map(|scheme| lower.strip_prefix(scheme))
        else {
            return bad("expected http://HOST/DIR/ or https://HOST/DIR/");
        };
        if rest.is_empty() || rest.starts_with('/') {
            return bad("no host");
        }
        if s.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
            return bad("a directory URL has no spaces, query or fragment");
        }
        // The files are joined onto the directory, so it must end in a slash.
        let mut base = s.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Mirror(base))
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Mirror {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A file to fetch and the MD5 it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFile {
    /// Its name on the mirror and on disk.
    pub name: String,
    /// Its checksum.
    pub md5: Md5,
}

impl From<PublishedFile> for ExpectedFile {
    fn from(f: PublishedFile) -> Self {
        ExpectedFile {
            name: f.name.to_string(),
            md5: f.md5,
        }
    }
}

/// What to fetch, from where, into which directory.
#[derive(Debug, Clone)]
pub struct DownloadSpec {
    /// The mirror's directory URL.
    pub mirror: Mirror,
    /// The directory the files are installed in (made if missing).
    pub dir: PathBuf,
    /// The files and their checksums. [`DownloadSpec::new`] puts the published ones
    /// here and the command line has no way to change them; tests replace them to
    /// serve small files of their own.
    pub files: Vec<ExpectedFile>,
}

impl DownloadSpec {
    /// `dataset`'s published files from `mirror` into `dir`.
    pub fn new(dataset: KnownDataset, mirror: Mirror, dir: PathBuf) -> Self {
        DownloadSpec {
            mirror,
            dir,
            files: dataset.files().into_iter().map(Into::into).collect(),
        }
    }
}

/// What happened to a file, as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadEvent<'a> {
    /// Already installed with the right checksum: not fetched.
    Skipped {
        /// The file name.
        file: &'a str,
    },
    /// Installed with another checksum: fetched again, replaced once verified.
    Replacing {
        /// The file name.
        file: &'a str,
        /// The checksum found.
        found: Md5,
    },
    /// The server answered and the body is coming.
    Started {
        /// The file name.
        file: &'a str,
        /// Where from.
        url: &'a str,
        /// The body's announced length.
        total: Option<u64>,
    },
    /// Bytes received so far.
    Progress {
        /// The file name.
        file: &'a str,
        /// The running total.
        received: u64,
    },
    /// Verified and in place.
    Installed {
        /// The file name.
        file: &'a str,
        /// Its size.
        bytes: u64,
        /// Where it came from.
        url: &'a str,
    },
}

/// How many files were fetched and how many were already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownloadReport {
    /// Fetched, verified and installed.
    pub fetched: usize,
    /// Already installed and verified.
    pub skipped: usize,
}

/// A download that failed; nothing unverified was left behind.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server, the connection or the bytes that came.
    #[error("{url}: {problem}; {file} was not installed")]
    Fetch {
        /// The URL.
        url: String,
        /// The file's name.
        file: String,
        /// What went wrong.
        problem: FetchProblem,
    },
    /// The target directory or a file in it.
    #[error("{}: cannot {action}: {source}", path.display())]
    Local {
        /// The path.
        path: PathBuf,
        /// What was being done, e.g. `write`.
        action: &'static str,
        /// Why it failed.
        source: io::Error,
    },
    /// Starting or moving into place the file a download is written to; the error
    /// names the file.
    #[error("{0}; the download was not installed")]
    Install(#[source] io::Error),
}

/// What went wrong fetching one file.
#[derive(Debug, thiserror::Error)]
pub enum FetchProblem {
    /// No connection, a timeout, a TLS or protocol failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("the server answered HTTP {status}{}", reason.map(|r| format!(" {r}")).unwrap_or_default())]
    Status {
        /// The status code.
        status: u16,
        /// Its standard reason phrase.
        reason: Option<&'static str>,
    },
    /// The body ended before its announced length.
    #[error(
        "the connection closed after {received} of the {expected} bytes announced by \
         Content-Length; the partial download was deleted"
    )]
    Truncated {
        /// Bytes received.
        received: u64,
        /// The Content-Length.
        expected: u64,
    },
    /// The body was longer than its announced length.
    #[error(
        "received {received} bytes but Content-Length announced {expected}; the download \
         was deleted"
    )]
    TooLong {
        /// Bytes received.
        received: u64,
        /// The Content-Length.
        expected: u64,
    },
    /// Reading the body failed.
    #[error("reading failed after {received} bytes ({error}); the partial download was deleted")]
    Read {
        /// Bytes received before the failure.
        received: u64,
        /// The failure.
        error: io::Error,
    },
    /// The bytes are not the published file.
    #[error(
        "MD5 mismatch: the download's MD5 is {actual} but {file} is published with MD5 \
         {expected}; the download was deleted"
    )]
    Checksum {
        /// The file name.
        file: String,
        /// The expected checksum.
        expected: Md5,
        /// The download's checksum.
        actual: Md5,
    },
}

fn local(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> DownloadError {
    let path = path.to_path_buf();
    move |source| DownloadError::Local {
        path,
        action,
        source,
    }
}

/// Fetches, verifies and installs every file of `spec`, telling `on_event` as it goes.
/// Stops at the first failure; the files installed before it stay installed.
pub fn download(
    spec: &DownloadSpec,
    mut on_event: impl FnMut(DownloadEvent<'_>),
) -> Result<DownloadReport, DownloadError> {
    fs::create_dir_all(&spec.dir).map_err(local(&spec.dir, "create the directory"))?;
    let agent = agent();
    let mut report = DownloadReport::default();
    for file in &spec.files {
        let target = spec.dir.join(&file.name);
        let installed = md5_of_file(&target).map_err(local(&target, "read"))?;
        match installed {
            Some(found) if found == file.md5 => {
                tracing::info!(file = %file.name, "already installed with the published MD5");
                on_event(DownloadEvent::Skipped { file: &file.name });
                report.skipped += 1;
                continue;
            }
            Some(found) => {
                tracing::warn!(file = %file.name, %found, "installed copy has another MD5; fetching it again");
                on_event(DownloadEvent::Replacing {
                    file: &file.name,
                    found,
                });
            }
            None => {}
        }
        // Only a file found wrong above is replaced; anything else at the name stays.
        let replacing = installed.is_some();
        fetch(&agent, spec, file, &target, replacing, &mut on_event)?;
        report.fetched += 1;
    }
    Ok(report)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(READ_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        // Statuses are reported with the URL below, not as ureq errors.
        .http_status_as_error(false)
        .user_agent(concat!("lenet-tui/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn fetch(
    agent: &ureq::Agent,
    spec: &DownloadSpec,
    file: &ExpectedFile,
    target: &Path,
    replacing: bool,
    on_event: &mut impl FnMut(DownloadEvent<'_>),
) -> Result<(), DownloadError> {
    let url = spec.mirror.url_of(&file.name);
    let failed = |problem| DownloadError::Fetch {
        url: url.clone(),
        file: file.name.clone(),
        problem,
    };
    tracing::debug!(%url, "GET");
    let response = agent
        .get(&url)
        .call()
        .map_err(|e| failed(FetchProblem::Transport(e.to_string())))?;
    let status = response.status();
    tracing::debug!(%url, status = status.as_u16(), length = ?response.body().content_length(), "response");
    if !status.is_success() {
        return Err(failed(FetchProblem::Status {
            status: status.as_u16(),
            reason: status.canonical_reason(),
        }));
    }
    let total = response.body().content_length();
    on_event(DownloadEvent::Started {
        file: &file.name,
        url: &url,
        total,
    });
    let mut part = NewFile::create(target).map_err(DownloadError::Install)?;
    let mut body = response.into_body().into_reader();
    let mut hasher = md5::Md5::new();
    let mut received = 0u64;
    let mut on_chunk = |chunk: &[u8]| {
        hasher.update(chunk);
        part.file()
            .write_all(chunk)
            .map_err(local(part.temp_path(), "write"))?;
        received += chunk.len() as u64;
        on_event(DownloadEvent::Progress {
            file: &file.name,
            received,
        });
        Ok(())
    };
    read_body(&mut body, &mut on_chunk, |received, error| {
        failed(FetchProblem::Read { received, error })
    })?;
    let actual = Md5(hasher.finalize().into());
    check_received(file, total, received, actual).map_err(failed)?;
    if replacing {
        part.replace()
    } else {
        part.persist()
    }
    .map_err(DownloadError::Install)?;
    tracing::info!(file = %file.name, bytes = received, %url, "MD5 verified, installed");
    on_event(DownloadEvent::Installed {
        file: &file.name,
        bytes: received,
        url: &url,
    });
    Ok(())
}

/// That as many bytes came as the response said (`total`), with `file`'s MD5.
fn check_received(
    file: &ExpectedFile,
    total: Option<u64>,
    received: u64,
    actual: Md5,
) -> Result<(), FetchProblem> {
    match total {
        Some(expected) if received < expected => {
            return Err(FetchProblem::Truncated { received, expected });
        }
        Some(expected) if received > expected => {
            return Err(FetchProblem::TooLong { received, expected });
        }
        _ => {}
    }
    if actual != file.md5 {
        return Err(FetchProblem::Checksum {
            file: file.name.clone(),
            expected: file.md5,
            actual,
        });
    }
    Ok(())
}

/// Reads `body` to its end a chunk at a time, handing each to `on_chunk`; a read
/// that fails after `received` bytes is `failed(received, error)`.
fn read_body(
    body: &mut impl Read,
    on_chunk: &mut impl FnMut(&[u8]) -> Result<(), DownloadError>,
    failed: impl FnOnce(u64, io::Error) -> DownloadError,
) -> Result<(), DownloadError> {
    let mut buf = vec![0u8; CHUNK];
    let mut received = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // ureq refuses a body that ends before its Content-Length.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(failed(received, error)),
        };
        on_chunk(&buf[..n])?;
        received += n as u64;
    }
}

/// The MD5 of the file at `path`, `None` if there is none.
fn md5_of_file(path: &Path) -> io::Result<Option<Md5>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut hasher = md5::Md5::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(Some(Md5(hasher.finalize().into())))
}

/// What is in a directory for one expected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// `NAME.gz` with the expected MD5.
    Verified,
    /// `NAME.gz` with another MD5: a repack (Debian's package recompresses the files)
    /// or damage; loading checks the contents either way.
    OtherChecksum(Md5),
    /// Only the uncompressed `NAME`; the checksums are of the `.gz`.
    Uncompressed,
    /// Neither.
    Missing,
    /// There but unreadable.
    Unreadable(String),
}

impl FileState {
    /// Whether the loader will find a file for this name.
    pub fn is_present(&self) -> bool {
        !matches!(self, FileState::Missing)
    }
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileState::Verified => f.write_str("verified (published MD5)"),
            FileState::OtherChecksum(md5) => write!(
                f,
                "present, but MD5 {md5} is not the published one (a repack, as Debian's \
                 package does, or damaged; loading checks the contents)"
            ),
            FileState::Uncompressed => f.write_str("present uncompressed (MD5 not checked)"),
            FileState::Missing => f.write_str("missing"),
            FileState::Unreadable(why) => write!(f, "unreadable: {why}"),
        }
    }
}

/// The state of each of `files` in `dir`.
pub fn check_installed(dir: &Path, files: &[ExpectedFile]) -> Vec<FileState> {
    files
        .iter()
        .map(|file| match md5_of_file(&dir.join(&file.name)) {
            Ok(Some(md5)) if md5 == file.md5 => FileState::Verified,
            Ok(Some(md5)) => FileState::OtherChecksum(md5),
            Err(e) => FileState::Unreadable(e.to_string()),
            Ok(None) => {
                let plain = file.name.strip_suffix(".gz").unwrap_or(&file.name);
                if dir.join(plain).is_file() {
                    FileState::Uncompressed
                } else {
                    FileState::Missing
                }
            }
        })
        .collect()
}

/// Shows download events on stderr: a progress bar per file on a terminal, and one
/// line per file either way.
pub struct StderrProgress {
    bar: Option<ProgressBar>,
    terminal: bool,
}

impl Default for StderrProgress {
    fn default() -> Self {
        StderrProgress {
            bar: None,
            terminal: io::stderr().is_terminal(),
        }
    }
}

impl StderrProgress {
    /// Shows `event`.
    pub fn show(&mut self, event: DownloadEvent<'_>) {
        match event {
            DownloadEvent::Skipped { file } => {
                eprintln!("{file}: already installed with the published MD5, skipped");
            }
            DownloadEvent::Replacing { file, found } => {
                eprintln!(
                    "{file}: installed with MD5 {found}, not the published one; fetching it again"
                );
            }
            DownloadEvent::Started { file, total, .. } => {
                let target = if self.terminal {
                    ProgressDrawTarget::stderr()
                } else {
                    ProgressDrawTarget::hidden()
                };
                let bar = ProgressBar::with_draw_target(total, target);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes}/{total_bytes}, {bytes_per_sec}, eta {eta}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(file.to_string());
                self.bar = Some(bar);
            }
            DownloadEvent::Progress { received, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(received);
                }
            }
            DownloadEvent::Installed { file, bytes, url } => {
                self.clear();
                eprintln!(
                    "{file}: {} from {url}, MD5 verified, installed",
                    HumanBytes(bytes)
                );
            }
        }
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for StderrProgress {
    // A failed download's error line should not be drawn over by its bar.
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_join_file_names_with_one_slash() {
        let with: Mirror = "http://example.org/data/".parse().unwrap();
        let without: Mirror = "http://example.org/data".parse().unwrap();
        assert_eq!(with, without);
        assert_eq!(
            without.url_of("t10k-labels-idx1-ubyte.gz"),
            "http://example.org/data/t10k-labels-idx1-ubyte.gz"
        );
        let root: Mirror = "HTTPS://127.0.0.1:8080".parse().unwrap();
        assert_eq!(root.url_of("a.gz"), "HTTPS://127.0.0.1:8080/a.gz");
        for ds in KnownDataset::ALL {
            let url = Mirror::default_for(ds).url_of(ds.files()[0].name);
            assert_eq!(
                url,
                format!("{}train-images-idx3-ubyte.gz", ds.default_mirror())
            );
        }
    }

    #[test]
    fn bad_mirrors_are_refused_with_the_reason() {
        for (url, why) in [
            ("ftp://example.org/", "expected http://"),
            ("example.org/data", "expected http://"),
            ("", "expected http://"),
            ("http://", "no host"),
            ("http:///data", "no host"),
            ("http://example.org/?x=1", "no spaces, query"),
            ("http://example.org/a b/", "no spaces, query"),
        ] {
            let e = url.parse::<Mirror>().unwrap_err();
            assert!(
                e.starts_with(&format!("`{url}` is not a mirror URL")),
                "{e}"
            );
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn installed_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<ExpectedFile> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|n| ExpectedFile {
                name: format!("{n}.gz"),
                md5: Md5::of(n.as_bytes()),
            })
            .collect();
        fs::write(dir.path().join("a.gz"), "a").unwrap();
        fs::write(dir.path().join("b.gz"), "not b").unwrap();
        fs::write(dir.path().join("c"), "c").unwrap();
        assert_eq!(
            check_installed(dir.path(), &files),
            [
                FileState::Verified,
                FileState::OtherChecksum(Md5::of(b"not b")),
                FileState::Uncompressed,
                FileState::Missing
            ]
        );
    }

    #[test]
    fn an_install_failure_names_the_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.gz");
        fs::write(&target, "someone else's").unwrap();
        let e = crate::files::write_new(&target, b"ours").unwrap_err();
        let text = DownloadError::Install(e).to_string();
        assert_eq!(text.matches("a.gz").count(), 1, "{text}");
        assert!(
            text.ends_with("a.gz: already exists; not overwritten; the download was not installed"),
            "{text}"
        );
    }
}
