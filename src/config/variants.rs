//! A race's variants ([`variants`]): the base run and one per spec, each a label,
//! a recipe and a layout. The batch size and the seed are the base run's for every
//! variant, so all see the same batches in the same order and, where the layouts
//! agree, start from the same weights. Above [`super::load`], which reads a spec's
//! `model=FILE`; the specs themselves are [`super::race`].

use std::path::Path;

use super::load::load;
use super::race::{GivenSpec, RaceSpec, SpecOrigin};
use crate::model::{Activation, Architecture, Pooling};
use crate::train::TrainSettings;
use crate::train::race::MAX_VARIANTS;

/// One racer: its label, recipe and layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Short and made of its differences (`max`, `relu lr 0.1`); the base run's names
    /// its own values of whatever the others change (`avg sigmoid lr 0.9`).
    pub label: String,
    /// The recipe.
    pub settings: TrainSettings,
    /// The layout.
    pub architecture: Architecture,
}

/// Reads the `[model]` of a variant's `model=FILE` as a layout for `dims` (height,
/// width, classes), with the pooling and activation it names if any.
fn model_file(
    path: &Path,
    dims: (usize, usize, usize),
) -> Result<(Architecture, Option<Pooling>, Option<Activation>), String> {
    let config = load(Some(path)).map_err(|e| e.to_string())?;
    let m = &config.model;
    let arch = m.architecture(dims.0, dims.1, dims.2);
    arch.plan()
        .map_err(|e| format!("{}: the [model] does not fit: {e}", path.display()))?;
    Ok((arch, m.pooling, m.activation))
}

/// The variants of a race: the base run first, then one per spec in order. Every
/// error names the spec (and its file) and what is wrong with it.
pub fn variants(
    base_settings: &TrainSettings,
    base_architecture: &Architecture,
    specs: &[GivenSpec],
    dims: (usize, usize, usize),
) -> Result<Vec<Variant>, String> {
    if specs.len() + 1 > MAX_VARIANTS {
        return Err(format!(
            "at most {MAX_VARIANTS} variants race at once (the base run and {} more), got {}",
            MAX_VARIANTS - 1,
            specs.len() + 1
        ));
    }
    let base = Variant {
        label: String::new(),
        settings: base_settings.clone(),
        architecture: base_architecture.clone(),
    };
    let mut out: Vec<Variant> = Vec::new();
    let mut changed = RaceSpec::default();
    for given in specs {
        let GivenSpec { spec, origin } = given;
        let named = |why: String| format!("{origin} `{spec}`: {why}");
        let variant = variant(&base, spec, origin, dims).map_err(named)?;
        if variant.settings == base.settings && variant.architecture == base.architecture {
            return Err(named(
                "changes nothing: the base run already trains that way".into(),
            ));
        }
        if let Some(twin) = out
            .iter()
            .find(|v| v.settings == variant.settings && v.architecture == variant.architecture)
        {
            return Err(named(format!(
                "trains exactly as the variant `{}` does",
                twin.label
            )));
        }
        changed.pool = changed.pool.or(spec.pool);
        changed.act = changed.act.or(spec.act);
        changed.lr = changed.lr.or(spec.lr);
        changed.init = changed.init.or(spec.init);
        changed.model = changed.model.clone().or(spec.model.clone());
        out.push(variant);
    }
    let mut all = vec![Variant {
        label: base_label(&base, &changed),
        ..base
    }];
    all.extend(out);
    // Two files of one name, or a spec that spells the base's values: number them.
    for i in 1..all.len() {
        if all[..i].iter().any(|v| v.label == all[i].label) {
            all[i].label = format!("{} #{}", all[i].label, i + 1);
        }
    }
    Ok(all)
}

/// The variant `spec` makes of `base`, labelled by what it sets in the order keys
/// are listed (a model file by its stem, last).
fn variant(
    base: &Variant,
    spec: &RaceSpec,
    origin: &SpecOrigin,
    dims: (usize, usize, usize),
) -> Result<Variant, String> {
    let mut settings = base.settings.clone();
    let mut architecture = base.architecture.clone();
    let mut names = Vec::new();
    if let Some(p) = spec.pool {
        names.push(p.to_string());
    }
    if let Some(a) = spec.act {
        names.push(a.to_string());
    }
    if let Some(lr) = spec.lr {
        names.push(format!("lr {lr}"));
    }
    if let Some(init) = spec.init {
        names.push(init.0.to_string());
    }
    if let Some(file) = &spec.model {
        let path = match origin {
            SpecOrigin::Config { file: config, .. } if file.is_relative() => config
                .parent()
                .map_or_else(|| file.clone(), |dir| dir.join(file)),
            _ => file.clone(),
        };
        let (arch, pool, act) = model_file(&path, dims)?;
        architecture = arch;
        settings.pooling = pool.unwrap_or(settings.pooling);
        settings.activation = act.unwrap_or(settings.activation);
        names.push(file.file_stem().map_or_else(
            || file.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        ));
    }
    if let Some(p) = spec.pool {
        settings.pooling = p;
    }
    if let Some(a) = spec.act {
        settings.activation = a;
    }
    if let Some(lr) = spec.lr {
        settings.learning_rate = lr;
    }
    if let Some(init) = spec.init {
        architecture.init = init.0;
    }
    Ok(Variant {
        label: names.join(" "),
        settings,
        architecture,
    })
}

/// The base run's label: its values of what any variant changes, or `base`.
fn base_label(base: &Variant, changed: &RaceSpec) -> String {
    let mut names = Vec::new();
    if changed.pool.is_some() {
        names.push(base.settings.pooling.to_string());
    }
    if changed.act.is_some() {
        names.push(base.settings.activation.to_string());
    }
    if changed.lr.is_some() {
        names.push(format!("lr {}", base.settings.learning_rate));
    }
    if changed.init.is_some() {
        names.push(base.architecture.init.to_string());
    }
    if changed.model.is_some() {
        names.push("lenet".into());
    }
    if names.is_empty() {
        "base".into()
    } else {
        names.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::race::*;
    use crate::model::Init;

    fn parse(s: &str) -> Result<RaceSpec, String> {
        s.parse()
    }

    fn cli(s: &str) -> GivenSpec {
        GivenSpec {
            spec: parse(s).unwrap(),
            origin: SpecOrigin::CommandLine,
        }
    }

    #[test]
    fn variants_are_labelled_by_their_differences_and_the_base_by_its_values() {
        let base = TrainSettings::default();
        let arch = Architecture::lenet(28, 28, 10);
        let v = variants(
            &base,
            &arch,
            &[cli("pool=max"), cli("act=relu,lr=0.1")],
            (28, 28, 10),
        )
        .unwrap();
        let labels: Vec<&str> = v.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(labels, ["avg sigmoid lr 0.9", "max", "relu lr 0.1"]);
        assert_eq!(v[1].settings.pooling, Pooling::Max);
        assert_eq!(v[1].settings.activation, Activation::Sigmoid);
        assert_eq!(v[2].settings.learning_rate.get(), 0.1);
        // What makes the batches stays the base run's.
        assert!(
            v.iter()
                .all(|v| v.settings.seed == base.seed && v.settings.batch_size == base.batch_size)
        );
        let one = variants(&base, &arch, &[cli("pool=max")], (28, 28, 10)).unwrap();
        assert_eq!(one[0].label, "avg");
        let init = variants(&base, &arch, &[cli("init=kaiming")], (28, 28, 10)).unwrap();
        assert_eq!(init[1].architecture.init, Init::Kaiming);
        assert_eq!(
            [init[0].label.as_str(), init[1].label.as_str()],
            ["xavier-uniform", "kaiming"]
        );
    }

    #[test]
    fn a_race_refuses_too_many_variants_and_ones_that_change_nothing() {
        let base = TrainSettings::default();
        let arch = Architecture::lenet(28, 28, 10);
        let dims = (28, 28, 10);
        let four = [
            cli("pool=max"),
            cli("act=relu"),
            cli("lr=0.1"),
            cli("lr=0.2"),
        ];
        let err = variants(&base, &arch, &four, dims).unwrap_err();
        assert!(err.contains("at most 4 variants race at once"), "{err}");
        assert!(variants(&base, &arch, &four[..3], dims).is_ok());
        let err = variants(&base, &arch, &[cli("pool=avg")], dims).unwrap_err();
        assert!(err.contains("--race `pool=avg`: changes nothing"), "{err}");
        let err = variants(&base, &arch, &[cli("pool=max"), cli("pool=max")], dims).unwrap_err();
        assert!(
            err.contains("`pool=max`: trains exactly as the variant `max` does"),
            "{err}"
        );
    }

    #[test]
    fn a_model_file_is_read_relative_to_its_config_and_named_when_bad() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("three-blocks.toml"),
            "[model]\nconv = [{ channels = 6, kernel = 3, padding = 1 }, { channels = 16, kernel = 3, padding = 1 }, { channels = 32, kernel = 3, padding = 1, pool = 1 }]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "[model]\nconv = [{ channels = 6, kernel = 29 }]\n",
        )
        .unwrap();
        let config = dir.path().join("config.toml");
        let given = |model: &str, n| GivenSpec {
            spec: parse(&format!("model={model}")).unwrap(),
            origin: SpecOrigin::Config {
                file: config.clone(),
                n,
            },
        };
        let base = TrainSettings::default();
        let arch = Architecture::lenet(28, 28, 10);
        let v = variants(&base, &arch, &[given("three-blocks.toml", 1)], (28, 28, 10)).unwrap();
        assert_eq!(v[1].label, "three-blocks");
        assert_eq!(v[1].architecture.convs.len(), 3);
        assert_eq!(v[0].label, "lenet");
        let err = variants(&base, &arch, &[given("bad.toml", 2)], (28, 28, 10)).unwrap_err();
        assert!(err.contains("[[race]] 2 `model=bad.toml`"), "{err}");
        assert!(err.contains("bad.toml: the [model] does not fit"), "{err}");
        let err = variants(&base, &arch, &[given("missing.toml", 1)], (28, 28, 10)).unwrap_err();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
