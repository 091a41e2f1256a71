//! Timelines written, read back, damaged and refused.
use super::*;
use crate::model::{Activation, ConvBlock, Pooling};

fn facts(architecture: Architecture) -> RunFacts {
    RunFacts {
        program: "lenet-tui test".into(),
        saved_at: "2026-12-03T00:00:00+00:00".into(),
        architecture,
        settings: TrainSettings::default(),
        data: DataFacts {
            description: "test".into(),
            dir: None,
            train_examples: 10,
            test_examples: 5,
            classes: (0..10).map(|c| format!("class {c}")).collect(),
        },
        batches_per_epoch: 4,
        history: History::default(),
        at: 1.0,
    }
}

/// A timeline of `architecture` with snapshots at 0, 0.25, … 1.0 whose weights are
/// all `k` at the k-th.
fn timeline(architecture: &Architecture) -> Timeline {
    let parameters = expected_parameters(architecture).unwrap();
    let mut t = Timeline::with_thinning(parameters.clone(), Thinning::new(100));
    for k in 0..5 {
        let at = k as f64 / 4.0;
        t.push(Snapshot {
            moment: Moment {
                at,
                epoch: 1 + (k / 4) as u32,
                batch: k % 4,
                batches: 4,
                pooling: if k < 3 { Pooling::Avg } else { Pooling::Max },
                activation: Activation::Sigmoid,
                learning_rate: 0.9 / (1 + k) as f64,
            },
            weights: parameters
                .iter()
                .map(|(_, s)| vec![k as f32; s.iter().product()])
                .collect(),
        });
    }
    let mut m = crate::engine::ConfusionMatrix::new(10);
    m.record(3, 4);
    t.push_confusion(1, m);
    t
}

fn written(architecture: Architecture) -> (tempfile::TempDir, PathBuf) {
    let run = tempfile::tempdir().unwrap();
    let (path, bytes) = write(
        run.path(),
        &timeline(&architecture),
        facts(architecture),
        64,
    )
    .unwrap();
    assert_eq!(path, path_in(run.path()));
    assert_eq!(bytes, fs::metadata(&path).unwrap().len());
    (run, path)
}

#[test]
fn a_timeline_reads_back_as_written() {
    let (run, path) = written(Architecture::default());
    let saved = read(run.path()).unwrap();
    assert_eq!(saved.path, path);
    assert_eq!(saved.facts, facts(Architecture::default()));
    let original = timeline(&Architecture::default());
    assert_eq!(saved.timeline.parameters(), original.parameters());
    assert!(saved.timeline.snapshots().eq(original.snapshots()));
    assert_eq!(saved.timeline.confusions(), original.confusions());
    // Nothing but the file is left behind (the temporary one is renamed).
    let names: Vec<_> = fs::read_dir(run.path().join(DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [FILE]);
}

#[test]
fn another_architectures_timeline_reads_with_its_own_shapes() {
    let mut wide = Architecture::default();
    wide.convs[0] = ConvBlock::new(8, 3, 1);
    let (run, _) = written(wide.clone());
    let saved = read(run.path()).unwrap();
    assert_eq!(saved.facts.architecture, wide);
    assert_eq!(
        saved.timeline.parameters(),
        expected_parameters(&wide).unwrap()
    );
}

#[test]
fn a_run_without_history_is_refused_saying_so() {
    let run = tempfile::tempdir().unwrap();
    let err = read(run.path()).unwrap_err();
    assert!(matches!(err, CheckpointError::NotFound(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no saved history"), "{text}");
    assert!(text.contains(&run.path().display().to_string()), "{text}");
}

#[test]
fn a_truncated_timeline_is_refused_naming_the_file() {
    let (run, path) = written(Architecture::default());
    let bytes = fs::read(&path).unwrap();
    for keep in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        fs::write(&path, &bytes[..keep]).unwrap();
        let err = read(run.path()).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Damaged { .. }),
            "{keep}: {err:?}"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn a_flipped_weight_fails_the_checksum() {
    let (run, path) = written(Architecture::default());
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let err = read(run.path()).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn another_models_weights_are_refused() {
    // Tensors of one model under a header naming another.
    let run = tempfile::tempdir().unwrap();
    let other = Architecture {
        dense: vec![100, 50],
        ..Architecture::default()
    };
    write(
        run.path(),
        &timeline(&Architecture::default()),
        facts(other),
        64,
    )
    .unwrap();
    let err = read(run.path()).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Incompatible { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("another model"), "{err}");

    // A checkpoint's weights file where the timeline should be.
    let path = path_in(run.path());
    let model = LeNet::new(
        &Architecture::default(),
        Pooling::Avg,
        Activation::Sigmoid,
        &candle_core::Device::Cpu,
        &mut <crate::rng::SeededRng as rand::SeedableRng>::seed_from_u64(1),
    )
    .unwrap();
    let tensors: HashMap<String, candle_core::Tensor> = model
        .parameter_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let t = candle_core::Tensor::zeros(
                shape,
                candle_core::DType::F32,
                &candle_core::Device::Cpu,
            )
            .unwrap();
            (name, t)
        })
        .collect();
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let err = read(run.path()).unwrap_err().to_string();
    assert!(err.contains("not a lenet-tui timeline"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_failed_write_keeps_the_previous_timeline() {
    let (run, path) = written(Architecture::default());
    let before = fs::read(&path).unwrap();
    // A directory where the temporary file goes makes the write fail.
    fs::create_dir(run.path().join(DIR).join(TMP_FILE)).unwrap();
    let err = write(
        run.path(),
        &timeline(&Architecture::default()),
        facts(Architecture::default()),
        64,
    );
    assert!(err.is_err());
    assert_eq!(fs::read(&path).unwrap(), before);
    assert!(read(run.path()).is_ok());
}

#[test]
fn the_file_keeps_within_its_megabytes_by_spreading_the_snapshots() {
    let architecture = Architecture::default();
    let mut t = Timeline::with_thinning(
        expected_parameters(&architecture).unwrap(),
        Thinning::new(1000),
    );
    let template = timeline(&architecture).snapshots().next().unwrap().clone();
    for k in 0..=100 {
        let mut s = template.clone();
        s.moment.at = f64::from(k) / 10.0;
        t.push(s);
    }
    let run = tempfile::tempdir().unwrap();
    // 247 KB a snapshot: 4 MB hold 16 of the 101.
    let (_, bytes) = write(run.path(), &t, facts(architecture), 4).unwrap();
    assert!(bytes <= 4 << 20, "{bytes}");
    let saved = read(run.path()).unwrap().timeline;
    assert!(saved.len() <= 16 && saved.len() >= 8, "{}", saved.len());
    let first = saved.snapshots().next().unwrap().moment.at;
    let last = saved.snapshots().last().unwrap().moment.at;
    assert_eq!((first, last), (0.0, 10.0), "the first and the newest");
}
