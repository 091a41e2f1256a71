//! Training settings and the checked value types they are made of. The same types
//! parse command-line values and config values, so both refuse the same things.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::pace::Pace;
use crate::model::{Activation, Pooling};

/// A learning rate: finite and > 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct LearningRate(f64);

impl LearningRate {
    /// The chapter's learning rate.
    pub const CHAPTER: LearningRate = LearningRate(0.9);

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for LearningRate {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        if v.is_finite() && v > 0.0 {
            Ok(LearningRate(v))
        } else {
            Err(format!(
                "learning rate must be a finite number > 0, got {v}"
            ))
        }
    }
}

impl From<LearningRate> for f64 {
    fn from(lr: LearningRate) -> f64 {
        lr.0
    }
}

impl FromStr for LearningRate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        v.try_into()
    }
}

impl fmt::Display for LearningRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Defines a `u32` setting with an inclusive range, parsed from CLI and config alike.
macro_rules! bounded_count {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "u32")]
        pub struct $name(u32);

        impl $name {
            /// Smallest allowed value.
            pub const MIN: u32 = $min;
            /// Largest allowed value.
            pub const MAX: u32 = $max;

            /// The value.
            pub fn get(self) -> u32 {
                self.0
            }

            /// The value as a `usize`.
            pub fn as_usize(self) -> usize {
                self.0 as usize
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, Self::Error> {
                if (i64::from($min)..=i64::from($max)).contains(&v) {
                    Ok($name(v as u32))
                } else {
                    Err(format!(
                        concat!($what, " must be between {} and {}, got {}"),
                        $min, $max, v
                    ))
                }
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let v: i64 = s
                    .parse()
                    .map_err(|_| format!("`{s}` is not a whole number"))?;
                v.try_into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bounded_count!(
    /// Number of epochs to train: 1 to 10,000.
    Epochs,
    "epochs",
    1,
    10_000
);
bounded_count!(
    /// Examples per minibatch: 1 to 65,536.
    BatchSize,
    "batch size",
    1,
    65_536
);

/// Everything that shapes a training run besides the data and the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Epochs to train.
    pub epochs: Epochs,
    /// SGD learning rate.
    pub learning_rate: LearningRate,
    /// Examples per minibatch.
    pub batch_size: BatchSize,
    /// Pooling at the start of the run.
    pub pooling: Pooling,
    /// Activation at the start of the run.
    pub activation: Activation,
    /// Seeds weight initialisation and shuffling.
    pub seed: u64,
    /// Progress events per epoch (the chapter's animator plots 5).
    pub reports_per_epoch: u32,
    /// How fast batches go (checkpoints from before paces existed: full speed).
    #[serde(default)]
    pub pace: Pace,
}

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;

impl Default for TrainSettings {
    /// The chapter's recipe.
    fn default() -> Self {
        Self {
            epochs: Epochs(10),
            learning_rate: LearningRate::CHAPTER,
            batch_size: BatchSize(256),
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            seed: DEFAULT_SEED,
            reports_per_epoch: 5,
            pace: Pace::Full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_the_same_way_from_text_and_numbers() {
        assert_eq!("0.1".parse::<LearningRate>().unwrap().get(), 0.1);
        assert!("0".parse::<LearningRate>().is_err());
        assert!("-1".parse::<LearningRate>().is_err());
        assert!("nan".parse::<LearningRate>().is_err());
        assert!(LearningRate::try_from(f64::INFINITY).is_err());
        assert!("0".parse::<BatchSize>().is_err());
        assert_eq!(
            BatchSize::try_from(0).unwrap_err(),
            "batch size must be between 1 and 65536, got 0"
        );
        assert!("1.5".parse::<Epochs>().is_err());
        assert_eq!("3".parse::<Epochs>().unwrap().get(), 3);
    }
}
