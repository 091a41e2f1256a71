//! The log: `tracing` records from every thread (trainer, data, downloads, checkpoints,
//! dashboard, headless runs) go to one bounded file per run in the state directory,
//! never to the terminal the dashboard draws on.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The most one run's log holds; later records are dropped after a note saying so.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// How many run logs the log directory keeps (the newest).
pub const KEEP_FILES: usize = 20;

/// Where this process logs, once logging has started.
static PATH: OnceLock<PathBuf> = OnceLock::new();

/// How much goes into the log (`--log-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures only.
    Error,
    /// Failures and warnings.
    Warn,
    /// What happened: runs, epochs, changes, checkpoints, files written (the default).
    Info,
    /// Also every progress report, each request and reply of a download, and the
    /// records of the libraries underneath (ureq, rustls).
    Debug,
    /// Everything lenet-tui records; libraries stay at debug.
    Trace,
}

impl LogLevel {
    /// Every level, quietest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Off,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The name `--log-level` and `RUST_LOG` use.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The filter for this level: lenet-tui's records at it, libraries' at most at
    /// debug (rustls's trace is every TLS record).
    fn directives(self) -> String {
        match self {
            LogLevel::Trace => "trace,ureq=debug,ureq_proto=debug,rustls=debug".into(),
            level => level.name().into(),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("`{s}` is not a log level (off, error, warn, info, debug, trace)")
            })
    }
}

/// Which filter a run logs with: `--log-level` over `RUST_LOG` over `info`. A
/// `RUST_LOG` that does not parse is reported and the default used.
pub fn filter(level: Option<LogLevel>, rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    let default = || EnvFilter::new(level.unwrap_or(LogLevel::Info).directives());
    match (level, rust_log.map(str::trim).filter(|s| !s.is_empty())) {
        (None, Some(spec)) => match EnvFilter::try_new(spec) {
            Ok(filter) => (filter, None),
            Err(e) => (
                default(),
                Some(format!(
                    "RUST_LOG `{spec}` is not a filter ({e}); logging at info"
                )),
            ),
        },
        _ => (default(), None),
    }
}

/// Keeps the log's writer thread alive; dropping it writes out what is queued.
#[must_use = "the log stops (and may lose its last records) when this is dropped"]
pub struct Logging {
    _guard: Option<WorkerGuard>,
}

/// Starts logging this run (`command` names it in the file name) into the state
/// directory. Problems are returned as warnings for the caller to show: a run never
/// fails for want of a log.
pub fn start(command: &str, level: Option<LogLevel>) -> (Logging, Vec<String>) {
    let mut warnings = Vec::new();
    if level == Some(LogLevel::Off) {
        return (Logging { _guard: None }, warnings);
    }
    let (filter, bad_filter) = filter(level, std::env::var("RUST_LOG").ok().as_deref());
    warnings.extend(bad_filter);
    let Some(dir) = log_dir() else {
        warnings.push("no home directory: this run is not logged".into());
        return (Logging { _guard: None }, warnings);
    };
    let (file, path) = match create_file(&dir, command) {
        Ok(found) => found,
        Err(e) => {
            warnings.push(format!(
                "{}: cannot create a log file ({e}); this run is not logged",
                dir.display()
            ));
            return (Logging { _guard: None }, warnings);
        }
    };
    prune(&dir, KEEP_FILES);
    let (writer, guard) = tracing_appender::non_blocking(Capped::new(file, MAX_FILE_BYTES));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_thread_names(true);
    if tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init()
        .is_err()
    {
        // Already set (a test harness): records go there.
        return (Logging { _guard: None }, warnings);
    }
    let _ = PATH.set(path);
    (
        Logging {
            _guard: Some(guard),
        },
        warnings,
    )
}

/// This process's log file, once logging has started.
pub fn path() -> Option<&'static Path> {
    PATH.get().map(PathBuf::as_path)
}

/// `<state dir>/lenet-tui/logs` (`~/.local/state` on Linux), else the cache dir.
pub fn log_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lenet-tui")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.cache_dir())
            .join("logs"),
    )
}

/// A new file `<time>-<command>.log` (with `-2`, `-3`… when two runs start in one
/// second), never an existing one.
fn create_file(dir: &Path, command: &str) -> io::Result<(File, PathBuf)> {
    fs::create_dir_all(dir)?;
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
    for n in 1..1000 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("{stamp}-{command}{suffix}.log"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("a thousand logs started this second"))
}

/// Removes all but the newest `keep` logs; failures only leave more behind.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // By when they were last written, then by name (which starts with the time).
    let mut logs: Vec<(Option<std::time::SystemTime>, PathBuf)> = entries
        .flatten()
        .map(|e| (e.metadata().and_then(|m| m.modified()).ok(), e.path()))
        .filter(|(_, p)| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let excess = logs.len().saturating_sub(keep);
    for (_, old) in logs.into_iter().take(excess) {
        let _ = fs::remove_file(old);
    }
}

/// A file that takes at most `cap` bytes, then one line saying the rest was dropped.
struct Capped<W> {
    inner: W,
    cap: u64,
    left: u64,
    full: bool,
}

impl<W: Write> Capped<W> {
    fn new(inner: W, cap: u64) -> Self {
        Capped {
            inner,
            cap,
            left: cap,
            full: false,
        }
    }
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.full {
            return Ok(buf.len());
        }
        let len = buf.len() as u64;
        if len > self.left {
            self.full = true;
            let note = format!(
                "log full: it stops at {} MB; later records are dropped\n",
                self.cap / (1024 * 1024)
            );
            self.inner.write_all(note.as_bytes())?;
            return Ok(buf.len());
        }
        self.inner.write_all(buf)?;
        self.left -= len;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_and_print_back() {
        for level in LogLevel::ALL {
            assert_eq!(level.name().parse::<LogLevel>(), Ok(level));
        }
        assert_eq!("DEBUG".parse::<LogLevel>(), Ok(LogLevel::Debug));
        let e = "loud".parse::<LogLevel>().unwrap_err();
        assert!(e.contains("`loud` is not a log level"), "{e}");
    }

    #[test]
    fn the_flag_beats_rust_log_which_beats_info() {
        let shown = |level, env| filter(level, env).0.to_string();
        assert_eq!(shown(None, None), "info");
        assert_eq!(shown(None, Some("debug")), "debug");
        assert_eq!(shown(None, Some("  ")), "info");
        assert_eq!(shown(Some(LogLevel::Warn), Some("debug")), "warn");
        // Libraries stay at debug even at trace.
        let trace = shown(Some(LogLevel::Trace), None);
        assert!(
            trace.contains("rustls=debug") && trace.contains("ureq=debug"),
            "{trace}"
        );
        let (f, warning) = filter(None, Some("lenet_tui=loudest"));
        assert_eq!(f.to_string(), "info");
        assert!(warning.unwrap().contains("RUST_LOG `lenet_tui=loudest`"));
    }

    #[test]
    fn a_full_log_drops_the_rest_after_saying_so() {
        let mut log = Capped::new(Vec::new(), 10);
        log.write_all(b"12345\n").unwrap();
        log.write_all(b"too long for it\n").unwrap();
        log.write_all(b"more\n").unwrap();
        let text = String::from_utf8(log.inner).unwrap();
        assert!(text.starts_with("12345\nlog full"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn each_run_gets_a_new_file_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = create_file(dir.path(), "train").unwrap();
        let (_, b) = create_file(dir.path(), "train").unwrap();
        assert_ne!(a, b);
        for name in [
            "2020-01-01_00-00-00-train.log",
            "2020-01-02_00-00-00-train.log",
        ] {
            // Written long ago, as an older run's log would have been.
            let old = File::create(dir.path().join(name)).unwrap();
            old.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        }
        fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        prune(dir.path(), 2);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let mut kept = vec![a, b, dir.path().join("notes.txt")];
        left.sort();
        kept.sort();
        assert_eq!(left, kept);
    }
}
