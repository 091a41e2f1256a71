//! Where capture files go and what they are called.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};

/// `--capture-dir` → config `capture.dir` → the user's Pictures dir + `lenet-tui/` →
/// the data dir's `captures/`.
pub fn resolve(cli: Option<&Path>, config: Option<&Path>) -> PathBuf {
    if let Some(dir) = cli.or(config) {
        return dir.to_path_buf();
    }
    if let Some(pictures) =
        directories::UserDirs::new().and_then(|u| u.picture_dir().map(Path::to_path_buf))
    {
        return pictures.join("lenet-tui");
    }
    directories::ProjectDirs::from("", "", "lenet-tui")
        .map(|d| d.data_dir().join("captures"))
        .unwrap_or_else(|| PathBuf::from("lenet-tui-captures"))
}

/// The file stem for a capture: `lenet-tui_2026-11-28_15-04-05_epoch03_avg-sigmoid`.
pub fn stem(when: DateTime<Local>, epoch: u32, pooling: &str, activation: &str) -> String {
    format!(
        "lenet-tui_{}_epoch{epoch:02}_{pooling}-{activation}",
        when.format("%Y-%m-%d_%H-%M-%S")
    )
}

/// A stem not yet used in `dir` for any of `extensions` (adds `-2`, `-3`, … when two
/// captures fall in the same second).
pub fn unique_stem(dir: &Path, stem: &str, extensions: &[&str]) -> String {
    let taken = |s: &str| {
        extensions
            .iter()
            .any(|e| dir.join(format!("{s}.{e}")).exists())
    };
    if !taken(stem) {
        return stem.to_string();
    }
    (2..)
        .map(|n| format!("{stem}-{n}"))
        .find(|s| !taken(s))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_carry_time_epoch_and_settings() {
        let when = Local.with_ymd_and_hms(2026, 11, 28, 15, 4, 5).unwrap();
        assert_eq!(
            stem(when, 3, "avg", "sigmoid"),
            "lenet-tui_2026-11-28_15-04-05_epoch03_avg-sigmoid"
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unique_stem(dir.path(), "a", &["svg"]), "a");
        std::fs::write(dir.path().join("a.svg"), "").unwrap();
        assert_eq!(unique_stem(dir.path(), "a", &["svg", "png"]), "a-2");
        assert_eq!(
            resolve(Some(Path::new("/x")), Some(Path::new("/y"))),
            PathBuf::from("/x")
        );
        assert_eq!(resolve(None, Some(Path::new("/y"))), PathBuf::from("/y"));
    }
}
