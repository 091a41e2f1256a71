//! Exercise 3: MNIST instead of Fashion-MNIST, and any directory of IDX files with
//! class names from the config; the names reach the run's reports.

use crate::common;

use std::path::Path;
use std::process::Output;

fn lenet(home: &Path, args: &[&str]) -> Output {
    common::lenet_in(home, args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The run information of a one-epoch headless run's `start` event.
fn started(home: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["train", "--headless", "--json", "--epochs", "1"];
    args.extend_from_slice(extra);
    let out = lenet(home, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "start")
        .expect("a start event")["info"]
        .clone()
}

#[test]
fn mnist_is_found_where_data_download_puts_it() {
    let home = tempfile::tempdir().unwrap();
    let out = lenet(home.path(), &["train", "--headless", "--dataset", "mnist"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("MNIST is not installed; run `lenet-tui data download mnist`"),
        "{err}"
    );
    let dir = home.path().join("lenet-tui/mnist");
    std::fs::create_dir_all(&dir).unwrap();
    common::write_dataset(&dir, 60, 20);
    let run = started(home.path(), &["--dataset", "mnist"]);
    let classes: Vec<&str> = run["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(classes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let data = run["data"].as_str().unwrap();
    assert!(data.starts_with("MNIST in "), "{data}");
    // The same from the config file.
    std::fs::write(
        home.path().join("lenet-tui/config.toml"),
        "[data]\ndataset = \"mnist\"\n",
    )
    .unwrap();
    let run = started(home.path(), &[]);
    assert!(
        run["data"].as_str().unwrap().starts_with("MNIST in "),
        "{run}"
    );
}

#[test]
fn any_directory_with_class_names_from_the_config() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("letters");
    std::fs::create_dir_all(&dir).unwrap();
    common::write_dataset(&dir, 60, 20);
    let names: Vec<String> = ('a'..='j').map(|c| format!("letter {c}")).collect();
    let config = home.path().join("letters.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\ndir = {:?}\nclasses = {names:?}\n",
            dir.display().to_string()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run = started(home.path(), &["--config", config]);
    assert_eq!(run["classes"], serde_json::json!(names));
    assert!(
        run["data"]
            .as_str()
            .unwrap()
            .starts_with("a 10-class data set in "),
        "{run}"
    );

    // Labels beyond the names are refused, naming the file and the label.
    std::fs::write(
        home.path().join("few.toml"),
        format!(
            "[data]\ndir = {:?}\nclasses = [\"x\", \"y\"]\n",
            dir.display().to_string()
        ),
    )
    .unwrap();
    let few = home.path().join("few.toml");
    let out = lenet(
        home.path(),
        &["train", "--headless", "--config", few.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("labels-idx1-ubyte"), "names the file: {err}");
    assert!(err.contains('2'), "names the label: {err}");
}
