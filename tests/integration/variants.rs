//! The chapter's exercises as `[model]` configs: each variant shows its shape table
//! and learns for an epoch on the embedded subset; impossible layouts are refused
//! before training, naming the layer and the shapes up to it.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `config` written to a file, away from the user's own files.
fn lenet_with(config: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("variant.toml");
    std::fs::write(&file, config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lenet-tui"))
        .args(args)
        .arg("--config")
        .arg(&file)
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .output()
        .expect("run lenet-tui")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(layer, output shape, parameters)` rows of `lenet-tui shapes`.
fn shape_rows(config: &str) -> Vec<(String, String, String)> {
    let out = lenet_with(config, &["shapes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .skip(2)
        .filter(|l| !l.starts_with("input") && !l.starts_with("total"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].into(), f[1].into(), f[2].into())
        })
        .collect()
}

fn rows(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|&(a, b, c)| (a.into(), b.into(), c.into()))
        .collect()
}

/// Trains `config` for one epoch on the embedded subset; the final test accuracy.
fn test_accuracy_after_one_epoch(config: &str) -> f64 {
    let out = lenet_with(
        config,
        &[
            "train",
            "--headless",
            "--json",
            "--data",
            "embedded",
            "--epochs",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let finished = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "done")
        .expect("a done event");
    finished["test_acc"].as_f64().expect("test_acc")
}

/// ReLU and max pooling learn fast at lr 0.1: well above chance (0.1) in one epoch of
/// the 6,000-image subset. (The chapter's sigmoid needs several epochs to move.)
const LEARNED: f64 = 0.25;

const RELU_MAX: &str = "[train]\nlr = 0.1\n[model]\npooling = \"max\"\nactivation = \"relu\"\n";

#[test]
fn relu_and_max_pooling() {
    let config = format!("{RELU_MAX}init = \"kaiming\"\n");
    assert_eq!(
        shape_rows(&config),
        rows(&[
            ("Conv2d", "1×6×28×28", "156"),
            ("ReLU", "1×6×28×28", "0"),
            ("MaxPool2d", "1×6×14×14", "0"),
            ("Conv2d", "1×16×10×10", "2,416"),
            ("ReLU", "1×16×10×10", "0"),
            ("MaxPool2d", "1×16×5×5", "0"),
            ("Flatten", "1×400", "0"),
            ("Linear", "1×120", "48,120"),
            ("ReLU", "1×120", "0"),
            ("Linear", "1×84", "10,164"),
            ("ReLU", "1×84", "0"),
            ("Linear", "1×10", "850"),
        ])
    );
    let acc = test_accuracy_after_one_epoch(&config);
    assert!(acc > LEARNED, "test acc {acc}");
}

#[test]
fn three_by_three_kernels() {
    let config = format!(
        "{RELU_MAX}[[model.conv]]\nchannels = 6\nkernel = 3\npadding = 1\n\
         [[model.conv]]\nchannels = 16\nkernel = 3\n"
    );
    assert_eq!(
        shape_rows(&config),
        rows(&[
            ("Conv2d", "1×6×28×28", "60"),
            ("ReLU", "1×6×28×28", "0"),
            ("MaxPool2d", "1×6×14×14", "0"),
            ("Conv2d", "1×16×12×12", "880"),
            ("ReLU", "1×16×12×12", "0"),
            ("MaxPool2d", "1×16×6×6", "0"),
            ("Flatten", "1×576", "0"),
            ("Linear", "1×120", "69,240"),
            ("ReLU", "1×120", "0"),
            ("Linear", "1×84", "10,164"),
            ("ReLU", "1×84", "0"),
            ("Linear", "1×10", "850"),
        ])
    );
    let acc = test_accuracy_after_one_epoch(&config);
    assert!(acc > LEARNED, "test acc {acc}");
}

#[test]
fn three_conv_blocks_the_last_unpooled_and_one_strided() {
    let config = format!(
        "{RELU_MAX}[[model.conv]]\nchannels = 8\nkernel = 5\npadding = 2\n\
         [[model.conv]]\nchannels = 16\nkernel = 3\npadding = 1\nstride = 2\npool = 1\n\
         [[model.conv]]\nchannels = 32\nkernel = 3\npadding = 1\n"
    );
    assert_eq!(
        shape_rows(&config),
        rows(&[
            ("Conv2d", "1×8×28×28", "208"),
            ("ReLU", "1×8×28×28", "0"),
            ("MaxPool2d", "1×8×14×14", "0"),
            ("Conv2d", "1×16×7×7", "1,168"),
            ("ReLU", "1×16×7×7", "0"),
            ("Conv2d", "1×32×7×7", "4,640"),
            ("ReLU", "1×32×7×7", "0"),
            ("MaxPool2d", "1×32×3×3", "0"),
            ("Flatten", "1×288", "0"),
            ("Linear", "1×120", "34,680"),
            ("ReLU", "1×120", "0"),
            ("Linear", "1×84", "10,164"),
            ("ReLU", "1×84", "0"),
            ("Linear", "1×10", "850"),
        ])
    );
    let acc = test_accuracy_after_one_epoch(&config);
    assert!(acc > LEARNED, "test acc {acc}");
}

#[test]
fn one_dense_layer() {
    let config = format!("{RELU_MAX}dense = []\n");
    assert_eq!(
        shape_rows(&config),
        rows(&[
            ("Conv2d", "1×6×28×28", "156"),
            ("ReLU", "1×6×28×28", "0"),
            ("MaxPool2d", "1×6×14×14", "0"),
            ("Conv2d", "1×16×10×10", "2,416"),
            ("ReLU", "1×16×10×10", "0"),
            ("MaxPool2d", "1×16×5×5", "0"),
            ("Flatten", "1×400", "0"),
            ("Linear", "1×10", "4,010"),
        ])
    );
    let acc = test_accuracy_after_one_epoch(&config);
    assert!(acc > LEARNED, "test acc {acc}");
}

#[test]
fn impossible_layouts_are_refused_before_training_naming_the_layer() {
    let cases = [
        (
            // Unpadded 5×5 kernels shrink 28 → 24 → 12 → 8 → 4: a third one cannot fit.
            "[model]\n[[model.conv]]\nchannels = 6\nkernel = 5\n[[model.conv]]\nchannels = 16\n\
             kernel = 5\n[[model.conv]]\nchannels = 32\nkernel = 5\n",
            "model: conv3: a 5×5 kernel does not fit a 4×4 input with padding 0\n  \
             shapes: input 1×28×28 → conv1 6×24×24 → pool1 6×12×12 → conv2 16×8×8 → \
             pool2 16×4×4 → conv3 ✗",
        ),
        (
            "[model]\n[[model.conv]]\nchannels = 4\nkernel = 3\nstride = 8\npool = 8\n",
            "model: pool1: a 8×8 pooling window does not fit a 4×4 input\n  \
             shapes: input 1×28×28 → conv1 4×4×4 → pool1 ✗",
        ),
    ];
    for (config, expected) in cases {
        for args in [
            &["shapes"][..],
            &["train", "--headless", "--data", "embedded"],
        ] {
            let out = lenet_with(config, args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let err = text(&out.stderr);
            assert!(err.contains(expected), "{args:?}: {err}");
            assert!(err.contains("variant.toml"), "names the file: {err}");
            assert!(
                out.stdout.is_empty(),
                "nothing trained: {}",
                text(&out.stdout)
            );
        }
    }
}

#[test]
fn the_example_config_is_the_chapters_lenet() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap();
    let out = lenet_with(&example, &["shapes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("LeNet-5 (avg pooling"), "{table}");
    assert!(table.contains("61,706"), "{table}");
}
