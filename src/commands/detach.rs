//! `lenet-tui train --detach`: the same command, headless, started again in a session
//! of its own (no controlling terminal, so no hang-up reaches it), with its output in
//! a file beside the logs; this process waits until the run listens on its socket and
//! holds its directory, says where it is, and returns.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::TrainArgs;
use crate::config;
use crate::live;
use crate::session;
use crate::train::checkpoint;

/// How long the detached run has to start listening (data loading included).
const START_WAIT: Duration = Duration::from_secs(60);
/// How long it has after that to take its run directory.
const DIR_WAIT: Duration = Duration::from_secs(5);
/// How much of the detached run's output an early failure shows.
const TAIL: u64 = 4000;

/// What `--detach --json` prints.
#[derive(Serialize)]
struct Detached {
    /// The run's name in `lenet-tui runs` (absent without checkpoints).
    run: Option<String>,
    /// Its directory.
    dir: Option<PathBuf>,
    /// The process training it.
    pid: u32,
    /// Where viewers connect.
    socket: PathBuf,
    /// Its output (the headless progress lines).
    output: PathBuf,
}

/// `lenet-tui train --detach`.
pub fn command(args: &TrainArgs) -> Result<ExitCode> {
    let config = config::load(args.run.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let output = output_file()?;
    let child_args = headless_args(std::env::args_os().skip(1));
    let err = File::create(&output).with_context(|| format!("creating {}", output.display()))?;
    let mut command = Command::new(std::env::current_exe().context("finding this program")?);
    command
        .args(&child_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    // SAFETY: setsid is async-signal-safe and touches no memory of this process; it
    // runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
    let mut child = command.spawn().context("starting the detached run")?;
    let pid = child.id();
    let socket = live::place::find_socket(pid)?;
    let deadline = Instant::now() + START_WAIT;
    while !socket.exists() {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the detached run ended at once ({status}):\n{}",
                tail(&output)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the detached run (pid {pid}) is not listening after {} s; its output: {}",
                START_WAIT.as_secs(),
                output.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = run_dir_of(pid, &runs_dir);
    let run = dir
        .as_ref()
        .map(|d| d.strip_prefix(&runs_dir).unwrap_or(d).display().to_string());
    let detached = Detached {
        run,
        dir,
        pid,
        socket,
        output,
    };
    if args.json {
        println!("{}", serde_json::to_string(&detached)?);
    } else {
        say(&detached);
    }
    Ok(ExitCode::SUCCESS)
}

/// This command's arguments for the detached run: headless, without `--detach`, and
/// saving the training figure at the end unless told what to snapshot.
fn headless_args(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = args.filter(|a| a != "--detach" && a != "--json").collect();
    if !out.iter().any(|a| a == "--headless") {
        let train = out.iter().position(|a| a == "train").map_or(0, |i| i + 1);
        out.insert(train, "--headless".into());
    }
    let told = out
        .iter()
        .any(|a| a.to_string_lossy().starts_with("--snapshot-every"));
    if !told {
        out.extend(["--snapshot-every".into(), "end".into()]);
    }
    out
}

/// `<log dir>/<time>-detached.out`, a new file for the run's output.
fn output_file() -> Result<PathBuf> {
    let dir = crate::logging::log_dir().context("no directory for logs")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
    let mut path = dir.join(format!("{stamp}-detached.out"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stamp}-detached-{n}.out"));
        n += 1;
    }
    Ok(path)
}

/// The run directory the process `pid` holds, once it has taken one (a run without
/// checkpoints has none).
fn run_dir_of(pid: u32, runs_dir: &Path) -> Option<PathBuf> {
    let deadline = Instant::now() + DIR_WAIT;
    loop {
        let runs = checkpoint::list_runs(runs_dir).unwrap_or_default();
        // A race's variants are held by its one process: name the race.
        if let Some(run) = runs
            .iter()
            .rev()
            .find(|r| checkpoint::holder(&r.dir) == Some(Some(pid)))
        {
            let dir = &run.dir;
            let race = dir.parent().filter(|p| *p != runs_dir);
            return Some(race.unwrap_or(dir).to_path_buf());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The end of the detached run's output, for an early failure.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map_or(0, |m| m.len());
        let _ = std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(len.saturating_sub(TAIL)));
        let _ = f.take(TAIL).read_to_string(&mut text);
    }
    text.trim_end().to_string()
}

/// The detached run in words.
fn say(d: &Detached) {
    match (&d.run, &d.dir) {
        (Some(run), Some(dir)) => {
            println!("detached: run {run} (pid {})", d.pid);
            println!("  directory: {}", dir.display());
            println!("  output:    {}", d.output.display());
            println!("  watch it:  lenet-tui attach {run}");
            println!("  stop it:   lenet-tui stop {run}");
        }
        _ => {
            println!(
                "detached: pid {} (no checkpoints, so no run directory)",
                d.pid
            );
            println!("  output:    {}", d.output.display());
            println!(
                "  watch it:  lenet-tui attach --socket {}",
                d.socket.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        headless_args(list.iter().map(OsString::from))
    }

    #[test]
    fn the_detached_run_is_the_same_command_headless() {
        assert_eq!(
            args(&["train", "--detach", "--epochs", "3"]),
            args(&["train", "--headless", "--epochs", "3"])
        );
        assert_eq!(
            args(&["train", "--epochs", "3", "--detach", "--json"]),
            [
                "train",
                "--headless",
                "--epochs",
                "3",
                "--snapshot-every",
                "end"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            args(&[
                "train",
                "--headless",
                "--detach",
                "--snapshot-every",
                "epoch"
            ]),
            ["train", "--headless", "--snapshot-every", "epoch"].map(OsString::from)
        );
    }
}
