//! Checkpoints written, read back, damaged and refused.
use super::*;
use crate::train::TrainSettings;
use std::fs;

fn meta(position: Position) -> Meta {
    Meta {
        format: FORMAT,
        program: "lenet-tui test".into(),
        saved_at: "2026-11-30T00:00:00+00:00".into(),
        reason: SaveReason::EpochEnd,
        architecture: Architecture::default(),
        settings: TrainSettings::default(),
        position,
        data: DataFacts {
            description: "test".into(),
            dir: None,
            train_examples: 10,
            test_examples: 5,
            classes: vec!["a".into(), "b".into()],
        },
        history: History::default(),
        weights: WeightsFacts { bytes: 0, crc32: 0 },
        rng: crate::rng::ALGORITHM.into(),
    }
}

fn params(v: f32) -> Vec<(String, Tensor)> {
    vec![
        (
            "a.weight".into(),
            Tensor::full(v, (2, 3), &Device::Cpu).unwrap(),
        ),
        ("a.bias".into(), Tensor::full(v, 2, &Device::Cpu).unwrap()),
    ]
}

fn shapes() -> Vec<(String, Vec<usize>)> {
    vec![("a.bias".into(), vec![2]), ("a.weight".into(), vec![2, 3])]
}

#[test]
fn saves_load_back_and_only_the_newest_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = RunDir::create(tmp.path(), 2, None).unwrap();
    let mut last = PathBuf::new();
    for i in 1..=4 {
        let mut p = Position::start(3);
        p.epoch = i;
        last = run.save(&params(i as f32), meta(p)).unwrap();
    }
    let runs = list_runs(tmp.path()).unwrap();
    assert_eq!(runs.len(), 1);
    let names: Vec<String> = runs[0]
        .checkpoints
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ckpt-0003", "ckpt-0004"]);
    assert_eq!(locate(&ResumeFrom::Latest, tmp.path()).unwrap(), last);
    assert_eq!(
        locate(&ResumeFrom::Path(runs[0].dir.clone()), tmp.path()).unwrap(),
        last
    );
    let ckpt = load(&last).unwrap();
    assert_eq!(ckpt.meta.position.epoch, 4);
    let w = ckpt.weights(&shapes(), &Device::Cpu).unwrap();
    assert_eq!(w["a.weight"].to_vec2::<f32>().unwrap(), [[4.0; 3]; 2]);

    // The run is this process's while `run` lives; reopened after a resume, it numbers on.
    assert!(matches!(
        RunLock::acquire(&runs[0].dir),
        Err(CheckpointError::Busy { .. })
    ));
    drop(run);
    let lock = RunLock::acquire(&runs[0].dir).unwrap();
    let mut again = RunDir::open(&runs[0].dir, 2, lock).unwrap();
    let next = again.save(&params(5.0), meta(Position::start(3))).unwrap();
    assert!(next.ends_with("ckpt-0005"), "{}", next.display());
}

#[test]
fn damage_and_mismatch_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = RunDir::create(tmp.path(), 5, None).unwrap();
    let dir = run.save(&params(1.0), meta(Position::start(3))).unwrap();
    let weights = dir.join(WEIGHTS_FILE);

    let wrong: Vec<(String, Vec<usize>)> =
        vec![("a.bias".into(), vec![2]), ("a.weight".into(), vec![3, 2])];
    let e = load(&dir)
        .unwrap()
        .weights(&wrong, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`a.weight` has shape [2, 3]"), "{e}");
    assert!(e.contains("weights.safetensors"), "{e}");

    let mut bytes = fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&weights, &bytes).unwrap();
    let e = load(&dir).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    fs::write(&weights, &bytes[..10]).unwrap();
    let e = load(&dir).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");

    let meta_path = dir.join(META_FILE);
    fs::write(&meta_path, "{\"format\": 99}").unwrap();
    let e = load(&dir).unwrap_err().to_string();
    assert!(e.contains("checkpoint format 99"), "{e}");
    fs::write(&meta_path, "{\"format\": 1, \"program\": 3}").unwrap();
    let e = load(&dir).unwrap_err().to_string();
    assert!(e.contains("checkpoint.json") && e.contains("line 1"), "{e}");

    let e = run
        .save(&params(f32::NAN), meta(Position::start(3)))
        .unwrap_err();
    assert!(matches!(e, CheckpointError::NotFinite(_)), "{e}");
    assert_eq!(list_runs(tmp.path()).unwrap()[0].checkpoints.len(), 1);
}

#[test]
fn an_interrupted_write_is_invisible_and_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = RunDir::create(tmp.path(), 5, None).unwrap();
    let good = run.save(&params(1.0), meta(Position::start(3))).unwrap();
    // What a crash between the two file writes leaves behind.
    let half = run.path().join(".tmp-ckpt-0002");
    fs::create_dir(&half).unwrap();
    fs::write(half.join(WEIGHTS_FILE), b"half").unwrap();
    assert_eq!(locate(&ResumeFrom::Latest, tmp.path()).unwrap(), good);
    run.save(&params(2.0), meta(Position::start(3))).unwrap();
    assert!(!half.exists(), "leftovers are removed at the next save");
}

#[test]
fn resume_targets_are_parsed_and_missing_ones_named() {
    assert_eq!("latest".parse(), Ok(ResumeFrom::Latest));
    assert_eq!(
        "runs/x".parse(),
        Ok(ResumeFrom::Path(PathBuf::from("runs/x")))
    );
    let tmp = tempfile::tempdir().unwrap();
    let e = locate(&ResumeFrom::Latest, tmp.path()).unwrap_err();
    assert!(e.to_string().contains("nothing to resume"), "{e}");
    let e = locate(&ResumeFrom::Path(tmp.path().join("nope")), tmp.path()).unwrap_err();
    assert!(e.to_string().contains("no such checkpoint"), "{e}");
}

#[test]
fn a_checkpoint_from_before_the_generator_was_recorded_reads_as_chacha12() {
    let mut json = serde_json::to_value(meta(Position::start(10))).unwrap();
    assert_eq!(json["rng"], "chacha12");
    json.as_object_mut().unwrap().remove("rng");
    let old: Meta = serde_json::from_value(json).unwrap();
    assert_eq!(old.rng, crate::rng::ALGORITHM);
}
