//! Config files good and bad.
use super::*;
use std::path::{Path, PathBuf};

use crate::device::DeviceChoice;
use crate::model::Pooling;
use crate::train::TrainSettings;

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
