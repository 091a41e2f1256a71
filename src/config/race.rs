//! Race specs: what a `--race SPEC` or a `[[race]]` table says differs from the
//! base run, and where each was given. The variants they make are
//! [`super::variants`], which reads a spec's `model=FILE` through [`super::load`];
//! this file stays below both, as part of the file's shape ([`super::schema`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::values::InitSetting;
use crate::model::{Activation, Pooling};
use crate::train::LearningRate;

/// The keys a spec may set, in the order labels name them.
const KEYS: &str = "pool, act, lr, init, model";

/// What one variant changes from the base run. `--race act=relu,lr=0.1` and a
/// `[[race]]` table with `act = "relu"` and `lr = 0.1` are the same spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaceSpec {
    /// `pool=avg|max`.
    #[serde(alias = "pooling")]
    pub pool: Option<Pooling>,
    /// `act=sigmoid|relu`.
    #[serde(alias = "activation")]
    pub act: Option<Activation>,
    /// `lr=RATE`.
    pub lr: Option<LearningRate>,
    /// `init=xavier-uniform|xavier-normal|kaiming|normal(SIGMA)`.
    pub init: Option<InitSetting>,
    /// `model=FILE`: a config file whose `[model]` is this variant's layout.
    pub model: Option<PathBuf>,
}

impl RaceSpec {
    /// Whether the spec names nothing at all.
    fn is_empty(&self) -> bool {
        *self == RaceSpec::default()
    }
}

impl FromStr for RaceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = RaceSpec::default();
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let bad = |why: String| format!("`{part}`: {why}");
            let (key, value) = part
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| bad(format!("expected KEY=VALUE (keys: {KEYS})")))?;
            if value.is_empty() {
                return Err(bad(format!("`{key}` has no value")));
            }
            let twice = || bad(format!("`{key}` is given twice"));
            match key {
                "pool" | "pooling" => {
                    let v = value.parse().map_err(bad)?;
                    spec.pool.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "act" | "activation" => {
                    let v = value.parse().map_err(bad)?;
                    spec.act.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "lr" => {
                    let v = value.parse().map_err(bad)?;
                    spec.lr.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "init" => {
                    let v = InitSetting(value.parse().map_err(bad)?);
                    spec.init.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "model" => {
                    let v = PathBuf::from(value);
                    spec.model.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "batch" | "batch-size" | "batch_size" | "seed" => {
                    return Err(bad(format!(
                        "`{key}` is the base run's for every variant, so all see the same \
                         batches; race keys are {KEYS}"
                    )));
                }
                _ => return Err(bad(format!("unknown key `{key}` (keys: {KEYS})"))),
            }
        }
        if spec.is_empty() {
            return Err(format!(
                "`{s}` names nothing to change: give KEY=VALUE pairs, e.g. pool=max or \
                 act=relu,lr=0.1 (keys: {KEYS})"
            ));
        }
        Ok(spec)
    }
}

impl fmt::Display for RaceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = self.pool {
            parts.push(format!("pool={p}"));
        }
        if let Some(a) = self.act {
            parts.push(format!("act={a}"));
        }
        if let Some(lr) = self.lr {
            parts.push(format!("lr={lr}"));
        }
        if let Some(init) = self.init {
            parts.push(format!("init={}", init.0));
        }
        if let Some(m) = &self.model {
            parts.push(format!("model={}", m.display()));
        }
        f.write_str(&parts.join(","))
    }
}

/// Where a spec was given, for errors and for resolving its model file.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecOrigin {
    /// `--race` on the command line: files are relative to the working directory.
    CommandLine,
    /// The `n`th (1-based) `[[race]]` table of a config file: files are relative to
    /// the file's directory.
    Config { file: PathBuf, n: usize },
}

impl fmt::Display for SpecOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecOrigin::CommandLine => f.write_str("--race"),
            SpecOrigin::Config { file, n } => write!(f, "{}: [[race]] {n}", file.display()),
        }
    }
}

/// A spec with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenSpec {
    /// What differs.
    pub spec: RaceSpec,
    /// Where it was given.
    pub origin: SpecOrigin,
}

/// The specs a run races: `--race` on the command line replaces the config's
/// `[[race]]` tables (read from `config_file`); an empty table is an error.
pub fn given_specs(
    command_line: &[RaceSpec],
    configured: &[RaceSpec],
    config_file: Option<&Path>,
) -> Result<Vec<GivenSpec>, String> {
    if !command_line.is_empty() {
        return Ok(command_line
            .iter()
            .map(|spec| GivenSpec {
                spec: spec.clone(),
                origin: SpecOrigin::CommandLine,
            })
            .collect());
    }
    let file = config_file.map_or_else(|| PathBuf::from("the config file"), Path::to_path_buf);
    configured
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let origin = SpecOrigin::Config {
                file: file.clone(),
                n: i + 1,
            };
            if spec.is_empty() {
                return Err(format!(
                    "{origin}: names nothing to change (set one of {KEYS})"
                ));
            }
            Ok(GivenSpec {
                spec: spec.clone(),
                origin,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Init;

    fn parse(s: &str) -> Result<RaceSpec, String> {
        s.parse()
    }

    #[test]
    fn good_specs_parse_into_what_they_change() {
        assert_eq!(
            parse("pool=max").unwrap(),
            RaceSpec {
                pool: Some(Pooling::Max),
                ..RaceSpec::default()
            }
        );
        let two = parse(" act=relu , lr=0.1 ").unwrap();
        assert_eq!(two.act, Some(Activation::Relu));
        assert_eq!(two.lr, Some(LearningRate::try_from(0.1).unwrap()));
        assert_eq!(two.to_string(), "act=relu,lr=0.1");
        assert_eq!(
            parse("init=kaiming").unwrap().init,
            Some(InitSetting(Init::Kaiming))
        );
        assert_eq!(
            parse("model=three-blocks.toml").unwrap().model,
            Some(PathBuf::from("three-blocks.toml"))
        );
    }

    #[test]
    fn each_bad_spec_names_the_part_that_is_wrong() {
        for (spec, expected) in [
            ("pool=median", "`pool=median`: "),
            ("act=relu,lr=fast", "`lr=fast`: `fast` is not a number"),
            ("lr=-1", "`lr=-1`: "),
            ("act", "`act`: expected KEY=VALUE"),
            ("colour=red", "`colour=red`: unknown key `colour`"),
            ("pool=max,pool=avg", "`pool=avg`: `pool` is given twice"),
            (
                "init=gaussian",
                "`init=gaussian`: `gaussian` is not an initialisation",
            ),
            (
                "seed=7",
                "`seed=7`: `seed` is the base run's for every variant",
            ),
            ("lr=", "`lr=`: `lr` has no value"),
            ("", "names nothing to change"),
            (",", "names nothing to change"),
        ] {
            let err = parse(spec).expect_err(spec);
            assert!(err.contains(expected), "{spec}: {err}");
        }
    }

    #[test]
    fn the_command_line_replaces_the_configs_races_and_an_empty_table_is_named() {
        let max: RaceSpec = "pool=max".parse().unwrap();
        let relu: RaceSpec = "act=relu".parse().unwrap();
        let file = Path::new("/etc/lenet.toml");
        let cli = given_specs(
            std::slice::from_ref(&max),
            std::slice::from_ref(&relu),
            Some(file),
        )
        .unwrap();
        assert_eq!(cli.len(), 1);
        assert_eq!(cli[0].spec, max);
        assert_eq!(cli[0].origin, SpecOrigin::CommandLine);
        let conf = given_specs(&[], &[relu.clone(), max.clone()], Some(file)).unwrap();
        assert_eq!(
            conf[1].origin,
            SpecOrigin::Config {
                file: file.into(),
                n: 2
            }
        );
        let e = given_specs(&[], &[relu, RaceSpec::default()], Some(file)).unwrap_err();
        assert!(
            e.contains("/etc/lenet.toml: [[race]] 2: names nothing"),
            "{e}"
        );
    }
}
