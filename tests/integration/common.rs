//! Helpers shared by the integration tests: small IDX data sets written to temp dirs,
//! a home of its own for each run of the binary, and reading a child's output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use lenet_tui::checkpoint;

use lenet_tui::data::idx::{IdxImages, encode_images_gz, encode_labels_gz};
use lenet_tui::data::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// Runs the binary with `home` as its config, data and state dir, so the user's own
/// files stay out of the tests.
pub fn lenet_in(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lenet-tui"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("XDG_STATE_HOME", home)
        .output()
        .expect("run lenet-tui")
}

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

/// Checks a `.cast` file against the asciicast v2 format; returns its markers.
pub fn check_cast(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert!(header["width"].as_u64().unwrap() > 0 && header["height"].as_u64().unwrap() > 0);
    assert!(header["timestamp"].as_u64().is_some());
    assert!(header["env"]["TERM"].is_string());
    let mut last = 0.0;
    let mut markers = Vec::new();
    for line in lines {
        let event: Vec<serde_json::Value> = serde_json::from_str(line).unwrap();
        assert_eq!(event.len(), 3, "{line}");
        let t = event[0].as_f64().unwrap();
        assert!(t >= last, "times never go back: {line}");
        last = t;
        let data = event[2].as_str().unwrap();
        match event[1].as_str().unwrap() {
            "o" => {}
            "r" => assert!(data.split_once('x').is_some(), "{line}"),
            "m" => markers.push(data.to_string()),
            other => panic!("unknown event type {other}"),
        }
    }
    if let Ok(out) = Command::new("asciinema").arg("cat").arg(path).output() {
        assert!(
            out.status.success(),
            "asciinema cat: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "asciinema is required on CI (.ci/run installs it)"
        );
    }
    markers
}

/// Every run log under `home` (as `lenet_in` sets the state dir), oldest first, joined.
pub fn logs_in(home: &Path) -> String {
    let dir = home.join("lenet-tui/logs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// A home for one test: config, data and saved runs stay in it.
pub struct Home(pub tempfile::TempDir);

impl Home {
    /// A new, empty home.
    pub fn new() -> Self {
        Home(tempfile::tempdir().unwrap())
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The binary with `args`, living in this home, no failpoint armed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lenet-tui"));
        c.args(args)
            .env("XDG_CONFIG_HOME", self.path())
            .env("XDG_DATA_HOME", self.path())
            .env("XDG_STATE_HOME", self.path())
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env_remove(lenet_tui::failpoint::ENV);
        c
    }

    /// Runs the binary with `args` to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run lenet-tui")
    }

    /// Where its runs are saved.
    pub fn runs_dir(&self) -> PathBuf {
        self.path().join("lenet-tui/runs")
    }

    /// Every finished checkpoint of every run, oldest first within each run.
    pub fn checkpoints(&self) -> Vec<PathBuf> {
        checkpoint::list_runs(&self.runs_dir())
            .unwrap()
            .into_iter()
            .flat_map(|r| r.checkpoints)
            .collect()
    }
}

/// `train --headless` on the embedded subset in batches of 100 (60 an epoch), then
/// `extra`.
pub fn quick<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--headless",
        "--data",
        "embedded",
        "--batch-size",
        "100",
    ];
    args.extend(extra);
    args
}

/// A finished process's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A finished process's standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Reads a child's stderr until a line satisfies `want` (within two minutes); the rest
/// is drained in the background so the child never blocks on a full pipe.
pub fn wait_for_line(child: &mut Child, want: impl Fn(&str) -> bool) -> Vec<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let err = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        match rx.recv_deadline(deadline) {
            Ok(line) => {
                let hit = want(&line);
                seen.push(line);
                if hit {
                    std::thread::spawn(move || for _ in rx {});
                    return seen;
                }
            }
            Err(_) => panic!("no matching line; stderr so far:\n{}", seen.join("\n")),
        }
    }
}

/// Sends the signal `name` (as `kill` spells it: TERM, HUP, KILL) to `child`.
pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// Waits for `child` to exit, failing after `limit`; its status and how long it took.
pub fn wait_exit(child: &mut Child, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
