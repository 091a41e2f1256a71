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
    let de = toml::Deserializer::parse(text).map_err(|e| {
        // toml names neither the key set twice nor where it was set first.
        let duplicate = e
            .span()
            .filter(|_| e.message() == "duplicate key")
            .and_then(|span| duplicate_key(text, span));
        error(e.span(), None, duplicate.as_deref().unwrap_or(e.message()))
    })?;
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

/// One part of a dotted key: its name, and for a table of an array of tables
/// (`[[race]]`) which one (from 0, as other errors count them).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    name: String,
    index: Option<usize>,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match self.index {
            Some(i) => write!(f, "[{i}]"),
            None => Ok(()),
        }
    }
}

/// The message for toml's "duplicate key" at `span` (the second key): the full
/// dotted key, and the line that set it first. `None` when the lines do not show it,
/// and toml's own words stand.
fn duplicate_key(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let (line, _) = line_column(text, span.start);
    let named = unquote(text.get(span)?.trim())?;
    let lines = key_lines(text);
    let (_, path) = lines.iter().find(|(l, _)| *l == line)?;
    // The span is one part of the line's key: a dotted key or header may go on past it.
    let end = path.iter().rposition(|p| p.name == named)?;
    let key = &path[..=end];
    let shown = key
        .iter()
        .map(Part::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let first = lines
        .iter()
        .find(|(l, p)| *l < line && p.starts_with(key))
        .map(|(l, _)| *l);
    Some(match first {
        Some(first) => format!("duplicate key `{shown}` (first set on line {first})"),
        None => format!("duplicate key `{shown}`"),
    })
}

/// Each line (1-based) of `text` that sets a key or opens a table, with the full
/// key it sets: a small line scan, enough to place a duplicate toml has found. Lines
/// inside multi-line strings and arrays, and inline tables' own keys, are passed over.
fn key_lines(text: &str) -> Vec<(usize, Vec<Part>)> {
    let mut found = Vec::new();
    let mut table: Vec<Part> = Vec::new();
    // Arrays of tables seen, by their dotted names: how many tables each has so far.
    let mut arrays: std::collections::HashMap<Vec<String>, usize> = Default::default();
    let mut in_string: Option<&str> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(quotes) = in_string {
            if line.matches(quotes).count() % 2 == 1 {
                in_string = None;
            }
            continue;
        }
        if line.starts_with('[') {
            let array = line.starts_with("[[");
            let Some((names, rest)) = dotted(line.trim_start_matches('['), ']') else {
                continue;
            };
            // A header ends its line; `["a"],` is a line of a multi-line array.
            let rest = rest.trim_start_matches(']').trim_start();
            if !(rest.is_empty() || rest.starts_with('#')) {
                continue;
            }
            if array {
                arrays
                    .entry(names.clone())
                    .and_modify(|n| *n += 1)
                    .or_insert(0);
            }
            table = (0..names.len())
                .map(|n| Part {
                    name: names[n].clone(),
                    index: arrays.get(&names[..=n]).copied(),
                })
                .collect();
            found.push((i + 1, table.clone()));
        } else if let Some((names, rest)) = dotted(line, '=') {
            let parts = names.into_iter().map(|name| Part { name, index: None });
            found.push((i + 1, table.iter().cloned().chain(parts).collect()));
            in_string = ["\"\"\"", "'''"]
                .into_iter()
                .find(|q| rest.matches(q).count() % 2 == 1);
        }
    }
    found
}

/// The dotted key at the start of `s`, up to `end` outside quotes, and what follows
/// `end`; `None` when `s` does not start with a key.
fn dotted(s: &str, end: char) -> Option<(Vec<String>, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quote = None;
    for (at, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '.') => {
                parts.push(unquote(s[start..at].trim())?);
                start = at + 1;
            }
            (None, c) if c == end => {
                parts.push(unquote(s[start..at].trim())?);
                return Some((parts, &s[at + 1..]));
            }
            _ => {}
        }
    }
    None
}

/// A key part as written (bare, `"basic"` or `'literal'`) as its name; `None` when
/// it is no key.
fn unquote(part: &str) -> Option<String> {
    let quoted = |q: char| part.len() >= 2 && part.starts_with(q) && part.ends_with(q);
    if quoted('"') || quoted('\'') {
        return Some(part[1..part.len() - 1].to_string());
    }
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (!part.is_empty() && part.chars().all(bare)).then(|| part.to_string())
}
