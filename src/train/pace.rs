//! Lecture tempo: how fast the trainer takes its batches. At full speed it takes them
//! back to back; at a pace of N it waits between batches so that no more than N
//! training examples go by each second, which a class can watch. The measured
//! throughput stays that of the training work itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::shapes::format_count;

/// How fast training goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "PaceValue", into = "PaceValue")]
pub enum Pace {
    /// Batches back to back.
    #[default]
    Full,
    /// At most this many training examples a second.
    PerSecond(u32),
}

/// The slowest pace the keys go down to: a 256-image batch every 8 s still moves.
pub const SLOWEST: u32 = 32;
/// The fastest pace that can be set: beyond any machine's full speed.
pub const FASTEST: u32 = 1_000_000_000;

impl Pace {
    /// Half the pace, for the "slower" key: from full speed, half of `full_speed`
    /// (the measured examples/sec); never below [`SLOWEST`].
    pub fn slower(self, full_speed: Option<f64>) -> Pace {
        let from = match self {
            Pace::PerSecond(n) => f64::from(n),
            // Nothing measured yet: a pace any machine can keep up with.
            Pace::Full => full_speed.filter(|s| *s >= 1.0).unwrap_or(4096.0),
        };
        Pace::PerSecond(((from / 2.0).round() as u32).max(SLOWEST))
    }

    /// Twice the pace, for the "faster" key; full speed once that reaches
    /// `full_speed` (the measured examples/sec), where waiting would change nothing.
    pub fn faster(self, full_speed: Option<f64>) -> Pace {
        match self {
            Pace::Full => Pace::Full,
            Pace::PerSecond(n) => {
                let doubled = n.saturating_mul(2);
                match full_speed {
                    Some(s) if f64::from(doubled) >= s => Pace::Full,
                    _ if doubled >= FASTEST => Pace::Full,
                    _ => Pace::PerSecond(doubled),
                }
            }
        }
    }

    /// Examples a second, `None` at full speed.
    pub fn per_second(self) -> Option<u32> {
        match self {
            Pace::Full => None,
            Pace::PerSecond(n) => Some(n),
        }
    }

    /// As the header shows it: `full speed`, `pace 2,000 ex/s`.
    pub fn label(self) -> String {
        match self {
            Pace::Full => "full speed".into(),
            Pace::PerSecond(n) => format!("pace {} ex/s", format_count(n as usize)),
        }
    }
}

impl fmt::Display for Pace {
    /// As the command line and the config take it: `full`, `2000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pace::Full => f.write_str("full"),
            Pace::PerSecond(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for Pace {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "full" => Ok(Pace::Full),
            n => match n.parse::<i64>() {
                Ok(n) => Pace::try_from(PaceValue::Number(n)),
                Err(_) => Err(bad(s)),
            },
        }
    }
}

fn bad(got: &str) -> String {
    format!(
        "pace must be `full` or a number of training examples a second from 1 to \
         {FASTEST}, got {got}"
    )
}

/// A pace as TOML and JSON write it: `"full"` or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PaceValue {
    /// Examples a second.
    Number(i64),
    /// `"full"` (or a number in quotes).
    Text(String),
}

impl TryFrom<PaceValue> for Pace {
    type Error = String;
    fn try_from(v: PaceValue) -> Result<Self, Self::Error> {
        match v {
            PaceValue::Number(n) if (1..=i64::from(FASTEST)).contains(&n) => {
                Ok(Pace::PerSecond(n as u32))
            }
            PaceValue::Number(n) => Err(bad(&n.to_string())),
            PaceValue::Text(s) => s.parse(),
        }
    }
}

impl From<Pace> for PaceValue {
    fn from(p: Pace) -> Self {
        match p {
            Pace::Full => PaceValue::Text("full".into()),
            Pace::PerSecond(n) => PaceValue::Number(i64::from(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_parse_print_and_refuse_the_rest() {
        assert_eq!("full".parse::<Pace>(), Ok(Pace::Full));
        assert_eq!("2000".parse::<Pace>(), Ok(Pace::PerSecond(2000)));
        for bad in ["0", "-5", "fast", "2.5", "", "1000000001"] {
            let err = bad.parse::<Pace>().unwrap_err();
            assert!(
                err.starts_with("pace must be `full` or a number"),
                "{bad}: {err}"
            );
        }
        assert_eq!(Pace::PerSecond(2000).to_string(), "2000");
        assert_eq!(Pace::Full.to_string(), "full");
        assert_eq!(Pace::PerSecond(2000).label(), "pace 2,000 ex/s");
        assert_eq!(Pace::PerSecond(1_234_567).label(), "pace 1,234,567 ex/s");
        assert_eq!(Pace::PerSecond(32).label(), "pace 32 ex/s");
        assert_eq!(Pace::Full.label(), "full speed");
    }

    #[test]
    fn paces_round_trip_through_json_as_text_or_number() {
        for p in [Pace::Full, Pace::PerSecond(3000)] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Pace>(&json).unwrap(), p);
        }
        assert_eq!(serde_json::to_string(&Pace::Full).unwrap(), "\"full\"");
        assert!(serde_json::from_str::<Pace>("0").is_err());
    }

    #[test]
    fn halving_goes_down_to_a_floor_and_doubling_back_to_full() {
        let full = Some(8000.0);
        let p = Pace::Full.slower(full);
        assert_eq!(p, Pace::PerSecond(4000));
        let p = p.slower(full).slower(full);
        assert_eq!(
            p,
            Pace::PerSecond(1000),
            "three halvings: an eighth of full"
        );
        let mut slow = p;
        for _ in 0..20 {
            slow = slow.slower(full);
        }
        assert_eq!(slow, Pace::PerSecond(SLOWEST));
        assert_eq!(Pace::PerSecond(1000).faster(full), Pace::PerSecond(2000));
        assert_eq!(Pace::PerSecond(4000).faster(full), Pace::Full);
        assert_eq!(Pace::Full.faster(full), Pace::Full);
        // Before anything is measured.
        assert_eq!(Pace::Full.slower(None), Pace::PerSecond(2048));
        assert_eq!(Pace::PerSecond(1000).faster(None), Pace::PerSecond(2000));
    }
}
