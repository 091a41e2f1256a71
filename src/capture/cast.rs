//! asciicast v2 recordings, the format asciinema and its player read: a JSON header
//! line, then one JSON array per event: `[seconds, "o", bytes]` for output,
//! `[seconds, "r", "WxH"]` for resizes and `[seconds, "m", label]` for markers. Each
//! line is written and flushed on its own into a hidden `.NAME.cast.XXXXXX.part` beside
//! the target, which becomes the `.cast` when the recording stops (never over an
//! existing file); a killed session leaves that `.part`, valid up to its last event.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::files::NewFile;
use crate::train::{Change, Event};

/// An open recording; stopping it (dropping it) puts the file in place.
pub struct Recorder {
    /// `None` once finished.
    file: Option<NewFile>,
    path: PathBuf,
    start: Instant,
    /// Bytes of an incomplete UTF-8 sequence carried to the next write.
    carry: Vec<u8>,
}

impl Recorder {
    /// Starts a recording that will be `path` (which must not exist: recordings are
    /// never overwritten) and writes the header for a `width`×`height` terminal.
    pub fn create(path: &Path, width: u16, height: u16, title: &str) -> io::Result<Recorder> {
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{}: already exists; recordings are not overwritten",
                    path.display()
                ),
            ));
        }
        let mut new = NewFile::create(path)?;
        let file = new.file();
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
            file: Some(new),
            path: path.to_path_buf(),
            start: Instant::now(),
            carry: Vec::new(),
        })
    }

    /// Where the recording goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the recording in place; if that fails, the recording stays under its
    /// temporary name, which the error gives.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.put_in_place()
    }

    fn put_in_place(&mut self) -> io::Result<PathBuf> {
        let Some(file) = self.file.take() else {
            return Ok(self.path.clone());
        };
        // A recording is never lost: if its name was taken, the `.part` stays.
        file.persist_or_keep()
    }

    fn event(&mut self, kind: &str, data: &str) -> io::Result<()> {
        let t = self.start.elapsed().as_secs_f64();
        let line = json!([(t * 1e6).round() / 1e6, kind, data]);
        let Some(new) = &mut self.file else {
            return Ok(());
        };
        let file = new.file();
        writeln!(file, "{line}")?;
        file.flush()
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

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.put_in_place() {
            tracing::warn!("recording: {e}");
        }
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
        assert!(!path.exists(), "the .cast appears when the recording stops");
        assert_eq!(r.finish().unwrap(), path);
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
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no .part left"
        );
    }

    #[test]
    fn a_recording_never_overwrites_and_is_never_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        std::fs::write(&path, "the lecture before").unwrap();
        let e = Recorder::create(&path, 80, 24, "test").err().unwrap();
        assert!(e.to_string().contains("t.cast: already exists"), "{e}");
        // Dropped (the dashboard ending on any path), a recording is put in place.
        let other = dir.path().join("u.cast");
        let mut r = Recorder::create(&other, 80, 24, "test").unwrap();
        r.marker("epoch 1").unwrap();
        drop(r);
        assert!(std::fs::read_to_string(&other).unwrap().contains("epoch 1"));
        // If its name is taken meanwhile, both files survive.
        let third = dir.path().join("v.cast");
        let mut r = Recorder::create(&third, 80, 24, "test").unwrap();
        r.marker("epoch 2").unwrap();
        std::fs::write(&third, "someone else's").unwrap();
        let e = r.finish().unwrap_err();
        assert!(e.to_string().contains("kept as"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "the lecture before"
        );
        assert_eq!(std::fs::read_to_string(&third).unwrap(), "someone else's");
        let parts = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".part")
            })
            .count();
        assert_eq!(parts, 1, "the recording stays as its .part");
    }
}
