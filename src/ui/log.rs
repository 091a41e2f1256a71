//! The dashboard's log file: nothing may reach stdout while it draws, so events and
//! errors go to `<state or cache dir>/lenet-tui/lenet-tui.log`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::train::{Change, Event};

/// An append-only log; silently does nothing if the file cannot be opened.
pub struct Log {
    file: Option<File>,
    path: Option<PathBuf>,
}

impl Log {
    /// Opens (creating) the log in the user's state dir, else the cache dir.
    pub fn open() -> Self {
        let path = directories::ProjectDirs::from("", "", "lenet-tui").map(|d| {
            d.state_dir()
                .unwrap_or_else(|| d.cache_dir())
                .join("lenet-tui.log")
        });
        let file = path.as_ref().and_then(|p| {
            std::fs::create_dir_all(p.parent()?).ok()?;
            OpenOptions::new().create(true).append(true).open(p).ok()
        });
        let path = if file.is_some() { path } else { None };
        Log { file, path }
    }

    /// Where the log is, if it could be opened.
    pub fn path(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }

    /// Writes one line with a Unix timestamp.
    pub fn line(&mut self, text: &str) {
        if let Some(f) = &mut self.file {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let _ = writeln!(f, "{now:.3} {text}");
        }
    }

    /// Logs the events worth keeping (not every progress tick or activation map).
    pub fn event(&mut self, event: &Event) {
        let text = match event {
            Event::Started(i) => format!(
                "start: data {}, device {}, settings {:?}",
                i.data, i.device, i.settings
            ),
            Event::EpochFinished(e) => format!(
                "epoch {}: loss {:.4}, train acc {:.4}, test acc {:.4}, {:.1} examples/sec",
                e.epoch, e.train_loss, e.train_acc, e.test_acc, e.examples_per_sec
            ),
            Event::Changed { at, change } if !matches!(change, Change::Probes(_)) => {
                format!("change at {at:.3}: {change:?}")
            }
            Event::Rejected(why) => format!("rejected: {why}"),
            Event::Finished(e) => format!(
                "finished after {} epochs: test acc {:.4}",
                e.epoch, e.test_acc
            ),
            Event::Error(e) => format!("error: {e}"),
            Event::Stopped => "trainer stopped".into(),
            _ => return,
        };
        self.line(&text);
    }
}
