//! Config files good and bad.
use super::*;
use std::path::{Path, PathBuf};

use crate::device::DeviceChoice;
use crate::model::Pooling;
use crate::train::{Epochs, Pace, TrainSettings};

fn err(text: &str) -> String {
    parse(text, Path::new("c.toml")).unwrap_err().to_string()
}

#[test]
fn the_example_config_parses_to_the_defaults() {
    let text = include_str!("../../config.example.toml");
    let cfg = parse(text, Path::new("config.example.toml")).unwrap();
    let resolved = cfg.resolve(&Overrides::default());
    assert_eq!(resolved.settings, TrainSettings::default());
    assert_eq!(resolved.device, DeviceChoice::Auto);
}

#[test]
fn the_heatmap_colour_map_is_a_ui_choice() {
    use crate::ui::theme::HeatmapColours;
    let cfg = parse("[ui]\nheatmap = \"grey\"\n", Path::new("c.toml")).unwrap();
    assert_eq!(cfg.ui.heatmap, Some(HeatmapColours::Grey));
    let cfg = parse("", Path::new("c.toml")).unwrap();
    assert_eq!(cfg.ui.heatmap, None);
}

#[test]
fn command_line_beats_config_beats_defaults() {
    let cfg = parse("[train]\nlr = 0.5\nepochs = 3\n", Path::new("c.toml")).unwrap();
    let cli = Overrides {
        lr: Some("0.1".parse().unwrap()),
        ..Default::default()
    };
    let r = cfg.resolve(&cli);
    assert_eq!(r.settings.learning_rate.get(), 0.1);
    assert_eq!(r.settings.epochs.get(), 3);
    assert_eq!(r.settings.batch_size.get(), 256);
}

#[test]
fn a_tilde_means_the_home_directory() {
    let cfg = parse(
        "[checkpoints]\ndir = \"~/runs\"\n[capture]\ndir = \"/tmp/x\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let home = directories::BaseDirs::new()
        .unwrap()
        .home_dir()
        .to_path_buf();
    assert_eq!(cfg.checkpoints.dir, Some(home.join("runs")));
    assert_eq!(cfg.capture.dir, Some(PathBuf::from("/tmp/x")));
    let e = parse("[checkpoints]\ndir = \"\"\n", Path::new("c.toml")).unwrap_err();
    assert!(
        e.to_string()
            .contains("key `checkpoints.dir`: expected a directory"),
        "{e}"
    );
}

#[test]
fn a_resumed_run_keeps_its_batch_size_and_seed() {
    let saved = TrainSettings {
        epochs: "3".parse().unwrap(),
        ..TrainSettings::default()
    };
    let cli = Overrides {
        epochs: Some("20".parse().unwrap()),
        pooling: Some(Pooling::Max),
        ..Default::default()
    };
    let s = cli.over_checkpoint(&saved).unwrap();
    assert_eq!((s.epochs.get(), s.pooling), (20, Pooling::Max));
    assert_eq!(s.learning_rate, saved.learning_rate);
    let cli = Overrides {
        batch_size: Some("64".parse().unwrap()),
        ..Default::default()
    };
    let e = cli.over_checkpoint(&saved).unwrap_err();
    assert!(e.contains("batches of 256"), "{e}");
    let e = parse("[checkpoints]\nkeep = 0\n", Path::new("c.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("c.toml:2:8: key `checkpoints.keep`: checkpoints kept per run"),
        "{e}"
    );
}

#[test]
fn errors_name_file_line_column_and_key() {
    assert_eq!(
        err("[train]\nlr = -1.0\n"),
        "c.toml:2:6: key `train.lr`: learning rate must be a finite number > 0, got -1"
    );
    assert_eq!(
        err("[train]\nbatch_size = 0\n"),
        "c.toml:2:14: key `train.batch_size`: batch size must be between 1 and 65536, got 0"
    );
    let e = err("[train]\nepochs = \"ten\"\n");
    assert!(
        e.starts_with("c.toml:2:10: key `train.epochs`: invalid type"),
        "{e}"
    );
    let e = err("[model]\npooling = \"min\"\n");
    assert!(e.starts_with("c.toml:2:11: key `model.pooling`"), "{e}");
    assert!(e.contains("expected `avg` or `max`"), "{e}");
    let e = err("[train]\nlearning_rate = 0.1\n");
    assert!(
        e.starts_with("c.toml:2:1: key `train.learning_rate`: unknown field"),
        "{e}"
    );
    assert!(e.contains("`lr`"), "lists the allowed keys: {e}");
    let e = err("[keys]\npause = \"p\"\n");
    assert!(
        e.starts_with("c.toml:1:1: key `keys`: keys.pause: p is already bound"),
        "{e}"
    );
    let e = err("[ui]\ncolor = \"purple\"\n");
    assert!(
        e.starts_with("c.toml:2:9: key `ui.color`: `purple` is not a colour setting"),
        "{e}"
    );
    let e = err("[ui]\nheatmap = \"viridis\"\n");
    assert!(
        e.starts_with("c.toml:2:11: key `ui.heatmap`: unknown variant `viridis`"),
        "{e}"
    );
    let e = err("[data.mirror]\nmnist = \"ftp://example.org/\"\n");
    assert!(
        e.starts_with(
            "c.toml:2:9: key `data.mirror.mnist`: `ftp://example.org/` is not a mirror URL"
        ),
        "{e}"
    );
    let e = err("[data.mirror]\nkmnist = \"http://example.org/\"\n");
    assert!(
        e.ends_with("unknown field `kmnist`, expected `fashion-mnist` or `mnist`"),
        "lists the data sets: {e}"
    );
    let e = err("[train\n");
    assert!(e.starts_with("c.toml:1:"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn a_duplicate_key_is_named_with_both_lines() {
    assert_eq!(
        err("[train]\nepochs = 3\nepochs = 4\n"),
        "c.toml:3:1: duplicate key `train.epochs` (first set on line 2)"
    );
    // A dotted key at the top, a table opened twice, quoted and spaced keys.
    assert_eq!(
        err("# runs\n\ntrain.epochs = 3\n[ui]\n[train]\n"),
        "c.toml:5:2: duplicate key `train` (first set on line 3)"
    );
    assert_eq!(
        err("[train]\nlr = 0.1\n[ui]\n[ train ]\n"),
        "c.toml:4:3: duplicate key `train` (first set on line 1)"
    );
    assert_eq!(
        err("[train]\n\"seed\" = 1\nseed = 2 # again\n"),
        "c.toml:3:1: duplicate key `train.seed` (first set on line 2)"
    );
    // Each `[[race]]` is its own table: the first race's `lr` is no duplicate.
    assert_eq!(
        err("[[race]]\nlr = 0.1\n[[race]]\nlr = 0.2\nlr = 0.3\n"),
        "c.toml:5:1: duplicate key `race[1].lr` (first set on line 4)"
    );
    // A multi-line string's lines set nothing.
    assert_eq!(
        err(
            "[data]\nimages = [\"\"\"\ndataset = 1\n\"\"\"]\ndataset = \"mnist\"\ndataset = \"mnist\"\n"
        ),
        "c.toml:6:1: duplicate key `data.dataset` (first set on line 5)"
    );
    // Where the lines do not show it (inside an inline table), toml's words stand.
    assert_eq!(
        err("[model]\nconv = [{ channels = 6, channels = 8 }]\n"),
        "c.toml:2:25: duplicate key"
    );
}

#[test]
fn a_pace_of_any_wrong_type_or_value_names_the_bounds() {
    let bounds = "expected \"full\" or a rate between 1 and 1000000000 examples/sec, got";
    for (value, got) in [
        ("1e-300", "1e-300"),
        ("2.5", "2.5"),
        ("0", "0"),
        ("-5", "-5"),
        ("1000000001", "1000000001"),
        ("\"slow\"", "\"slow\""),
        ("true", "true"),
        ("[2000]", "an array"),
        ("{ rate = 2000 }", "a table"),
    ] {
        assert_eq!(
            err(&format!("[train]\npace = {value}\n")),
            format!("c.toml:2:8: key `train.pace`: {bounds} {got}"),
            "pace = {value}"
        );
    }
    for (value, pace) in [
        ("\"full\"", Pace::Full),
        ("2000", Pace::PerSecond(2000)),
        ("\"2000\"", Pace::PerSecond(2000)),
    ] {
        let cfg = parse(&format!("[train]\npace = {value}\n"), Path::new("c.toml")).unwrap();
        assert_eq!(cfg.train.pace, Some(pace), "pace = {value}");
    }
}

#[test]
fn a_section_of_the_wrong_type_names_its_header_and_what_it_got() {
    for (text, want) in [
        (
            "train = 5",
            "c.toml:1:9: key `train`: expected a table ([train]), got an integer",
        ),
        (
            "data = \"x\"",
            "c.toml:1:8: key `data`: expected a table ([data]), got a string",
        ),
        (
            "model = 1.5",
            "c.toml:1:9: key `model`: expected a table ([model]), got a float",
        ),
        (
            "ui = true",
            "c.toml:1:6: key `ui`: expected a table ([ui]), got a boolean",
        ),
        (
            "capture = [1]",
            "c.toml:1:11: key `capture`: expected a table ([capture]), got an array",
        ),
        (
            "checkpoints = 1",
            "c.toml:1:15: key `checkpoints`: expected a table ([checkpoints]), got an integer",
        ),
        (
            "history = 1",
            "c.toml:1:11: key `history`: expected a table ([history]), got an integer",
        ),
        (
            "keys = [\"q\"]",
            "c.toml:1:8: key `keys`: expected a table ([keys]), got an array",
        ),
        (
            "[data]\nmirror = 1",
            "c.toml:2:10: key `data.mirror`: expected a table ([data.mirror]), got an integer",
        ),
        (
            "race = 5",
            "c.toml:1:8: key `race`: expected an array of tables ([[race]]), got an integer",
        ),
        (
            "race = { lr = 0.1 }",
            "c.toml:1:8: key `race`: expected an array of tables ([[race]]), got a table",
        ),
        (
            "race = [1]",
            "c.toml:1:9: key `race[0]`: expected a table ([[race]]), got an integer",
        ),
    ] {
        assert_eq!(err(text), want, "{text}");
    }
    // Errors inside a section still name their own key and line.
    let e = err("[[race]]\nlr = 0.1\n[[race]]\npool = \"min\"\n");
    assert!(e.starts_with("c.toml:4:8: key `race[1].pool`"), "{e}");
    let cfg = parse(
        "[train]\nepochs = 3\n[[race]]\nact = \"relu\"\n[[race]]\npool = \"max\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        (cfg.train.epochs.map(|e| e.get()), cfg.race.len()),
        (Some(3), 2)
    );
}

#[test]
fn a_resume_must_ask_for_more_epochs_than_the_run_has_trained() {
    let asking = |n: i64| Overrides {
        epochs: Some(Epochs::try_from(n).unwrap()),
        ..Default::default()
    };
    let at = Path::new("/runs/r1/epoch-045");
    assert_eq!(
        asking(5).check_epochs_left(45.0, at, "r1").unwrap_err(),
        "--epochs 5: the run at /runs/r1/epoch-045 has already trained 45 epochs; ask for \
         more than 45 (e.g. --epochs 55) to go on, or replay it with lenet-tui replay r1"
    );
    let e = asking(45).check_epochs_left(45.0, at, "r1").unwrap_err();
    assert!(
        e.starts_with("--epochs 45: the run at /runs/r1/epoch-045 has already trained 45 epochs, so there is nothing to train; ask for more than 45"),
        "{e}"
    );
    // Part of an epoch done: that epoch can still be finished.
    assert_eq!(asking(45).check_epochs_left(44.5, at, "r1"), Ok(()));
    let e = asking(44).check_epochs_left(44.5, at, "r1").unwrap_err();
    assert!(
        e.contains("already trained 44.50 epochs; ask for more than 44.50 (e.g. --epochs 54)"),
        "{e}"
    );
    assert_eq!(asking(46).check_epochs_left(45.0, at, "r1"), Ok(()));
    // No --epochs: the run's own, whatever it is.
    assert_eq!(
        Overrides::default().check_epochs_left(45.0, at, "r1"),
        Ok(())
    );
    let e = asking(10_000).check_epochs_left(9_995.0, at, "r1");
    assert_eq!(e, Ok(()));
    let e = asking(10_000)
        .check_epochs_left(10_000.0, at, "r1")
        .unwrap_err();
    assert!(
        e.contains("(e.g. --epochs 10000)"),
        "kept within the bounds: {e}"
    );
}
