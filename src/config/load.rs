//! Reading the config file: where it is, and parse errors that name the file, line,
//! column and key.

use std::fmt;
use std::path::{Path, PathBuf};

use super::schema::Config;

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// Dotted key, e.g. `train.lr`, when the problem has one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where the user's config file lives: `<config dir>/lenet-tui/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lenet-tui").map(|d| d.config_dir().join("config.toml"))
}

/// Reads `explicit` (which must exist) or else the default file (which may not).
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.is_file() => p,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        file: path.clone(),
        position: None,
        key: None,
        message: format!("cannot read config file: {e}"),
    })?;
    parse(&text, &path)
}

/// Parses config text; `file` only names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: &str| {
        ConfigError {
            file: file.to_path_buf(),
            position: span.map(|s| line_column(text, s.start)),
            key,
            // toml's messages may span lines; keep errors to one.
            message: message.trim().replace('\n', " "),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| error(e.span(), None, e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let key = (path != "." && !path.is_empty()).then_some(path);
        let inner = e.into_inner();
        error(inner.span(), key, inner.message())
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
