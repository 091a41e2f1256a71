//! The config file's bounded values: each a type that checks its range, names or
//! length while it is parsed, so that a bad value is reported at its line. A leaf
//! that the file's shape ([`super::schema`]) and the race specs ([`super::race`])
//! both use, without reading each other for it.

use serde::Deserialize;

use crate::model::Init;

/// Terminal output budget in kilobytes a second, 0 (no limit) to 1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct OutputLimit(pub u32);

impl OutputLimit {
    /// The dashboard's own default (8 KB/s).
    pub const DEFAULT: OutputLimit = OutputLimit(crate::ui::budget::DEFAULT_KB_PER_SEC);

    /// The budget in bytes a second, `None` for no limit.
    pub fn bytes_per_sec(self) -> Option<f64> {
        (self.0 > 0).then(|| f64::from(self.0) * 1000.0)
    }
}

impl TryFrom<i64> for OutputLimit {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<0, 1_000_000>::try_from(v)
            .map(|kb| OutputLimit(kb.0 as u32))
            .map_err(|e| {
                format!(
                    "the output budget must be between 0 (no limit) and {} KB/s, got {}",
                    e.hi, e.got
                )
            })
    }
}

/// A PNG scale factor: 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct PngScale(pub u32);

impl TryFrom<i64> for PngScale {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<1, 8>::try_from(v)
            .map(|s| PngScale(s.0 as u32))
            .map_err(|e| format!("png scale {e}"))
    }
}

/// Checkpoints kept per run: 1 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Keep(pub usize);

impl TryFrom<i64> for Keep {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<1, 1000>::try_from(v)
            .map(|k| Keep(k.0))
            .map_err(|e| {
                format!(
                    "checkpoints kept per run {e} (use `enabled = false` to turn checkpoints off)"
                )
            })
    }
}

/// Megabytes of weight snapshots: 1 to 4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct HistoryMemory(pub u32);

impl TryFrom<i64> for HistoryMemory {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Bounded::<1, 4096>::try_from(v)
            .map(|k| HistoryMemory(k.0 as u32))
            .map_err(|e| format!("megabytes of snapshots {e}"))
    }
}

/// `data.classes`: 2 to 1000 distinct, non-empty names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct ClassNames(pub Vec<String>);

impl TryFrom<Vec<String>> for ClassNames {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        if !(2..=1000).contains(&names.len()) {
            return Err(format!("needs 2 to 1000 class names, got {}", names.len()));
        }
        if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
            return Err(format!("class {i} has an empty name"));
        }
        for (i, name) in names.iter().enumerate() {
            if let Some(j) = names[..i].iter().position(|n| n == name) {
                return Err(format!("classes {j} and {i} are both named `{name}`"));
            }
        }
        Ok(ClassNames(names))
    }
}

/// The most conv blocks or hidden dense layers a model may have.
const MAX_LAYERS: usize = 8;

/// A list of layers, at most [`MAX_LAYERS`] long.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Vec<T>", bound = "T: Deserialize<'de>")]
pub struct Layers<T>(pub Vec<T>);

impl<T> TryFrom<Vec<T>> for Layers<T> {
    type Error = String;
    fn try_from(v: Vec<T>) -> Result<Self, Self::Error> {
        if v.len() <= MAX_LAYERS {
            Ok(Layers(v))
        } else {
            Err(format!("at most {MAX_LAYERS} layers, got {}", v.len()))
        }
    }
}

/// An integer setting within `LO..=HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Bounded<const LO: i64, const HI: i64>(pub usize);

impl<const LO: i64, const HI: i64> TryFrom<i64> for Bounded<LO, HI> {
    type Error = OutOfRange;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        if (LO..=HI).contains(&v) {
            Ok(Bounded(v as usize))
        } else {
            Err(OutOfRange {
                lo: LO,
                hi: HI,
                got: v,
            })
        }
    }
}

/// An integer setting outside its range: the one range check every bounded setting
/// goes through; named settings put their own words around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between {lo} and {hi}, got {got}")]
pub struct OutOfRange {
    /// The smallest value allowed.
    pub lo: i64,
    /// The largest value allowed.
    pub hi: i64,
    /// The value given.
    pub got: i64,
}

/// `init = "xavier-uniform" | "xavier-normal" | "kaiming" | "normal(SIGMA)"`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct InitSetting(pub Init);

impl TryFrom<String> for InitSetting {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(InitSetting)
    }
}
