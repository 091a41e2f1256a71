//! The run log: levels, the records of each part, and what chooses the level.

use std::path::Path;
use std::process::{Command, Output};

use super::common::logs_in;

/// A one-epoch headless run on the embedded data with `home` as every XDG dir.
fn headless(home: &Path, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lenet-tui"))
        .args(["train", "--headless", "--data", "embedded", "--epochs", "1"])
        .args(extra)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("XDG_STATE_HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The level word of a log line (`2026-…Z  INFO trainer lenet_tui::…: …`).
fn level(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or("")
}

#[test]
fn rust_log_debug_logs_the_trainer_and_the_checkpoint_writer_with_levels() {
    let home = tempfile::tempdir().unwrap();
    let out = headless(home.path(), &[("RUST_LOG", "debug")], &[]);
    // The log is not the terminal's: stderr has the chapter's lines only.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("DEBUG"), "{stderr}");
    let log = logs_in(home.path());
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&level(l))),
        "every line has a level: {log}"
    );
    let has = |lvl: &str, target: &str, text: &str| {
        lines
            .iter()
            .any(|l| level(l) == lvl && l.contains(target) && l.contains(text))
    };
    assert!(
        has("INFO", "lenet_tui::train::trainer:", "run started"),
        "{log}"
    );
    assert!(
        has(
            "INFO",
            "lenet_tui::train::trainer:",
            "epoch finished epoch=1"
        ),
        "{log}"
    );
    assert!(
        has("DEBUG", "lenet_tui::train::trainer:", "progress"),
        "{log}"
    );
    assert!(
        has(
            "DEBUG",
            "lenet_tui::train::checkpoint::store:",
            "checkpoint written"
        ),
        "{log}"
    );
    assert!(
        has("INFO", "lenet_tui::data:", "loaded Fashion-MNIST"),
        "{log}"
    );
}

#[test]
fn the_flag_beats_rust_log_and_each_run_has_its_own_file() {
    let home = tempfile::tempdir().unwrap();
    headless(
        home.path(),
        &[("RUST_LOG", "debug")],
        &["--log-level", "warn"],
    );
    headless(home.path(), &[], &[]);
    let logs: Vec<_> = std::fs::read_dir(home.path().join("lenet-tui/logs"))
        .unwrap()
        .collect();
    assert_eq!(logs.len(), 2, "one file per run");
    let log = logs_in(home.path());
    // The first run logged nothing at warn; the second at info, no debug.
    assert!(log.contains(" INFO "), "{log}");
    assert!(!log.contains("DEBUG"), "{log}");
    assert_eq!(log.matches("run started").count(), 1, "{log}");
}

#[test]
fn a_bad_rust_log_is_named_and_the_run_logs_at_info() {
    let home = tempfile::tempdir().unwrap();
    let out = headless(home.path(), &[("RUST_LOG", "lenet_tui=loudest")], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lenet-tui: warning: RUST_LOG `lenet_tui=loudest` is not a filter"),
        "{stderr}"
    );
    assert!(logs_in(home.path()).contains("run started"));
}

#[test]
fn help_documents_the_log_level() {
    let out = Command::new(env!("CARGO_BIN_EXE_lenet-tui"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--log-level <LEVEL>"), "{help}");
    assert!(help.contains("RUST_LOG"), "{help}");
}
