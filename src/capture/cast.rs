//! asciicast v2 recordings, the format asciinema and its player read: a JSON header
//! line, then one JSON array per event: `[seconds, "o", bytes]` for output,
//! `[seconds, "r", "WxH"]` for resizes and `[seconds, "m", label]` for markers. Each
//! line is written and flushed on its own, so a killed session leaves a valid file up
//! to its last event.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::train::{Change, Event};

/// An open recording.
pub struct Recorder {
    file: File,
    path: PathBuf,
    start: Instant,
    /// Bytes of an incomplete UTF-8 sequence carried to the next write.
    carry: Vec<u8>,
}

impl Recorder {
    /// Creates `path` and writes the header for a `width`×`height` terminal.
    pub fn create(path: &Path, width: u16, height: u16, title: &str) -> io::Result<Recorder> {
        let mut file = File::create(path)?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let env = |k: &str| std::env::var(k).unwrap_or_default();
        let header = json!({
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": timestamp,
            "title": title,
            "env": {"TERM": env("TERM"), "SHELL": env("SHELL")},
        });
        writeln!(file, "{header}")?;
        file.flush()?;
        Ok(Recorder {
            file,
            path: path.to_path_buf(),
            start: Instant::now(),
            carry: Vec::new(),
        })
    }

    /// Where the recording goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn event(&mut self, kind: &str, data: &str) -> io::Result<()> {
        let t = self.start.elapsed().as_secs_f64();
        let line = json!([(t * 1e6).round() / 1e6, kind, data]);
        writeln!(self.file, "{line}")?;
        self.file.flush()
    }

    /// Records bytes written to the terminal; split UTF-8 sequences wait for the rest.
    pub fn output(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.carry.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Invalid bytes (never written by us): pass them on replaced.
            Err(_) => self.carry.len(),
        };
        if valid == 0 {
            return Ok(());
        }
        let rest = self.carry.split_off(valid);
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry = rest;
        self.event("o", &text)
    }

    /// Records a terminal resize.
    pub fn resize(&mut self, width: u16, height: u16) -> io::Result<()> {
        self.event("r", &format!("{width}x{height}"))
    }

    /// Records a marker, e.g. `epoch 3` or `pooling max`.
    pub fn marker(&mut self, label: &str) -> io::Result<()> {
        self.event("m", label)
    }
}

/// The marker label for a trainer event, if it deserves one: epoch ends and every
/// pause, pooling, activation or learning-rate change.
pub fn marker_label(event: &Event) -> Option<String> {
    match event {
        Event::EpochFinished(e) => Some(format!("epoch {} (test acc {:.3})", e.epoch, e.test_acc)),
        Event::Changed { change, .. } => match change {
            Change::Paused => Some("paused".into()),
            Change::Resumed => Some("resumed".into()),
            Change::Pooling(p) => Some(format!("pooling {p}")),
            Change::Activation(a) => Some(format!("activation {a}")),
            Change::LearningRate(lr) => Some(format!("learning rate {lr}")),
            Change::Pace(p) => Some(p.label()),
            Change::Restarted => Some("restarted".into()),
            Change::Probes(_) => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_header_and_one_event_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        let mut r = Recorder::create(&path, 80, 24, "test").unwrap();
        r.output(b"hello \xe2\x96").unwrap(); // "▀" split across writes
        r.output(b"\x80 world").unwrap();
        r.resize(100, 30).unwrap();
        r.marker("pooling max").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "hello ");
        assert_eq!(lines[2][2], "▀ world");
        assert_eq!(lines[3][1], "r");
        assert_eq!(lines[3][2], "100x30");
        assert_eq!(lines[4][1], "m");
        assert_eq!(lines[4][2], "pooling max");
        assert!(lines[4][0].as_f64().unwrap() >= lines[1][0].as_f64().unwrap());
    }
}
