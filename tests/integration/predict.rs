//! `lenet-tui predict` on the user's own files: test images made into the kind of file
//! a user brings (upscaled, dark on light, RGB, PNG and JPEG) read as the originals
//! are, and bad files named in one line each.

use std::path::{Path, PathBuf};

use image::{Luma, Rgb};
use lenet_tui::data::Dataset;

use crate::common::lenet_in;

/// One test image of each class of the embedded subset.
fn one_per_class(data: &Dataset) -> Vec<usize> {
    (0..data.classes.len())
        .filter_map(|c| data.test.first_of_class(c))
        .collect()
}

/// Trains the chapter's relu/max variant `epochs` epochs on the embedded subset, saved under `home`.
fn train(home: &Path, epochs: &str) {
    let out = lenet_in(
        home,
        &[
            "train",
            "--headless",
            "--data",
            "embedded",
            "--epochs",
            epochs,
            "--act",
            "relu",
            "--pool",
            "max",
            "--lr",
            "0.1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test image `i` as a user's file: 3× larger, dark on light, in RGB.
fn as_photo(data: &Dataset, i: usize) -> image::RgbImage {
    let pixels = data.test.image_bytes(i);
    image::ImageBuffer::from_fn(84, 84, |x, y| {
        let v = 255 - pixels[(y / 3) as usize * 28 + (x / 3) as usize];
        Rgb([v, v, v])
    })
}

fn original(data: &Dataset, i: usize) -> image::GrayImage {
    let pixels = data.test.image_bytes(i);
    image::ImageBuffer::from_fn(28, 28, |x, y| Luma([pixels[y as usize * 28 + x as usize]]))
}

/// The top-1 class per file of `predict --json` (files in order).
fn predicted(home: &Path, extra: &[&str], files: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["predict", "--json"];
    args.extend_from_slice(extra);
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let out = lenet_in(home, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());
    for line in &lines {
        let p = line["probabilities"].as_array().unwrap();
        assert_eq!(p.len(), 10, "every class: {line}");
        let sum: f64 = p.iter().map(|c| c["probability"].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to 1: {sum}");
        let image = line["image"].as_array().unwrap();
        assert_eq!(image.len(), 28, "28 rows");
        assert!(image.iter().all(|r| r.as_array().unwrap().len() == 28));
    }
    lines
        .iter()
        .map(|l| l["predicted"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn photos_of_test_images_are_read_as_the_test_images_are() {
    let home = tempfile::tempdir().unwrap();
    train(home.path(), "10");
    let data = Dataset::embedded();
    let ids = one_per_class(&data);
    assert_eq!(ids.len(), 10);
    let dir = home.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let mut originals = Vec::new();
    let mut pngs = Vec::new();
    let mut jpegs = Vec::new();
    for &i in &ids {
        let o = dir.join(format!("test-{i}.png"));
        original(&data, i).save(&o).unwrap();
        originals.push(o);
        let photo = as_photo(&data, i);
        let png = dir.join(format!("photo-{i}.png"));
        photo.save(&png).unwrap();
        pngs.push(png);
        let jpeg = dir.join(format!("photo-{i}.jpg"));
        photo.save(&jpeg).unwrap();
        jpegs.push(jpeg);
    }
    let truth = predicted(home.path(), &["--raw"], &originals);
    for (kind, files) in [("PNG", &pngs), ("JPEG", &jpegs)] {
        let seen = predicted(home.path(), &[], files);
        let same = truth.iter().zip(&seen).filter(|(a, b)| a == b).count();
        assert!(
            same >= 9,
            "{kind}: {same} of 10 agree with the originals\n{truth:?}\n{seen:?}"
        );
    }
}

#[test]
fn bad_files_are_named_once_and_the_rest_still_predicted() {
    let home = tempfile::tempdir().unwrap();
    train(home.path(), "1");
    let data = Dataset::embedded();
    let dir = home.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.jpg");
    as_photo(&data, 0).save(&good).unwrap();
    let text = dir.join("notes.png");
    std::fs::write(&text, "not a picture\n").unwrap();
    let full = dir.join("full.png");
    as_photo(&data, 1).save(&full).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let huge = dir.join("huge.png");
    let mut header = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut header, 60_000, 60_000);
        encoder.set_color(png::ColorType::Grayscale);
        drop(encoder.write_header().unwrap());
    }
    std::fs::write(&huge, header).unwrap();
    let seen = dir.join("seen");
    let args: Vec<String> = [&text, &good, &cut, &huge]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut all = vec!["predict", "--save-preprocessed", seen.to_str().unwrap()];
    all.extend(args.iter().map(String::as_str));
    let out = lenet_in(home.path(), &all);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "one line per bad file:\n{stderr}");
    assert!(
        lines[0].contains("notes.png") && lines[0].contains("not an image"),
        "{stderr}"
    );
    assert!(
        lines[1].contains("cut.png") && lines[1].contains("PNG"),
        "{stderr}"
    );
    assert!(
        lines[2].contains("huge.png") && lines[2].contains("60000×60000"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("{}: ", good.display())),
        "{stdout}"
    );
    assert_eq!(stdout.matches('%').count(), 3, "top three: {stdout}");
    // What the network read is saved, and reads back as it was.
    let saved = seen.join("good.png");
    assert!(saved.is_file());
    assert!(stdout.contains(&saved.display().to_string()), "{stdout}");
    let img = image::open(&saved).unwrap().to_luma8();
    assert_eq!(img.dimensions(), (28, 28));
}

#[test]
fn without_a_saved_run_predict_says_so() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("x.png");
    original(&Dataset::embedded(), 0).save(&file).unwrap();
    let out = lenet_in(home.path(), &["predict", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("latest"), "{stderr}");
}

#[test]
fn made_up_inputs_are_predicted_and_a_near_miss_names_the_choices() {
    let home = super::common::Home::new();
    let out = home.run(&super::common::quick(&["--epochs", "1"]));
    assert!(out.status.success(), "{out:?}");
    let out = home.run(&["predict", "noise", "blank", "white:", "invert:3", "--json"]);
    let text = super::common::stdout(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    for line in [&lines[0], &lines[1], &lines[3]] {
        let probs: Vec<f64> = line["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["probability"].as_f64().unwrap())
            .collect();
        assert_eq!(probs.len(), 10, "{line}");
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{line}");
    }
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("made-up inputs are"),
        "{}",
        lines[2]
    );
    assert!(!out.status.success(), "one of them failed: exit 1");
    let out = home.run(&["predict", "nois"]);
    assert!(!out.status.success());
    let err = super::common::stderr(&out);
    assert!(
        err.contains("nois: no such file, nor a made-up input"),
        "{err}"
    );
    assert!(
        err.contains("noise[:SEED], blank, white, invert:N"),
        "{err}"
    );
}

/// `explain --json` with `args` on the newest checkpoint in `home`.
fn explain(home: &super::common::Home, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["explain", "--json"];
    all.extend(args);
    let out = home.run(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(super::common::stdout(&out).trim()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().unwrap()],
    }
}

#[test]
fn explain_shows_the_arithmetic_that_the_weights_and_the_image_make() {
    let home = super::common::Home::new();
    let out = home.run(&super::common::quick(&["--epochs", "1"]));
    assert!(out.status.success(), "{out:?}");
    // Layer 1, map 2, row 10, column 12 of test image 7: a 5×5 patch at rows 8–12,
    // columns 10–14 of the image (the padding of 2 moves it up and left).
    let w = explain(
        &home,
        &[
            "--image", "7", "--layer", "1", "--map", "2", "--at", "10,12",
        ],
    );
    let patch = floats(&w["patch"]);
    let kernel = floats(&w["kernel"]);
    assert_eq!((patch.len(), kernel.len()), (25, 25));
    let test = lenet_tui::data::Dataset::embedded().test;
    let image = test.image_bytes(7);
    for (i, &p) in patch.iter().enumerate() {
        let (r, c) = (8 + i / 5, 10 + i % 5);
        let expected = f64::from(image[r * 28 + c]) / 255.0;
        assert!(
            (p - expected).abs() < 1e-6,
            "patch {i}: {p} against {expected}"
        );
    }
    // The kernel is the checkpoint's conv1 weights for map 2, read from its file.
    let newest = home.checkpoints().pop().unwrap();
    let bytes = std::fs::read(newest.join("weights.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let conv1 = tensors.tensor("conv1.weight").unwrap();
    let weights: Vec<f32> = conv1
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    for (i, &k) in kernel.iter().enumerate() {
        assert!(
            (k - f64::from(weights[2 * 25 + i])).abs() < 1e-6,
            "kernel {i}"
        );
    }
    let bias = w["bias"].as_f64().unwrap();
    let pre = w["pre"].as_f64().unwrap();
    let sum: f64 = patch.iter().zip(&kernel).map(|(p, k)| p * k).sum();
    assert!(
        (sum + bias - pre).abs() < 1e-5,
        "{sum} + {bias} against {pre}"
    );
    let act = w["act"].as_f64().unwrap();
    assert!(
        (1.0 / (1.0 + (-pre).exp()) - act).abs() < 1e-5,
        "sigmoid({pre}) against {act}"
    );
    let window = floats(&w["pool"]["window"]);
    assert!(
        window.iter().any(|&v| (v - act).abs() < 1e-6),
        "the cell is in its window"
    );
    let pooled = w["pool"]["value"].as_f64().unwrap();
    assert!(
        (window.iter().sum::<f64>() / 4.0 - pooled).abs() < 1e-5,
        "average pooling"
    );

    // Layer 2 sums over the six maps of layer 1.
    let w2 = explain(
        &home,
        &["--image", "7", "--layer", "2", "--map", "5", "--at", "3,4"],
    );
    assert_eq!(w2["patch"].as_array().unwrap().len(), 6);
    let partial = floats(&w2["partial"]);
    let total = partial.iter().sum::<f64>() + w2["bias"].as_f64().unwrap();
    assert!((total - w2["pre"].as_f64().unwrap()).abs() < 1e-5);

    // The output's probabilities are predict's for the same input.
    let out = explain(&home, &["--image", "noise:3", "--layer", "out"]);
    let probs = floats(&out["probs"]);
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    let predicted = home.run(&["predict", "noise:3", "--json"]);
    let line: serde_json::Value =
        serde_json::from_str(super::common::stdout(&predicted).trim()).unwrap();
    for (i, p) in line["probabilities"].as_array().unwrap().iter().enumerate() {
        let q = p["probability"].as_f64().unwrap();
        assert!(
            (q - probs[i]).abs() < 1e-5,
            "class {i}: predict {q}, explain {}",
            probs[i]
        );
    }
    // A place outside the map is a clear error.
    let bad = home.run(&["explain", "--layer", "1", "--at", "30,0"]);
    assert!(!bad.status.success());
    assert!(super::common::stderr(&bad).contains("layer 1's maps are 28×28"));
}
