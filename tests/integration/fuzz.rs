//! Bounded fuzzing of everything that reads files a user (or an attacker, or a full
//! disk) may hand us: IDX data, checkpoint metadata and checkpoint weights. Random
//! bytes and random damage to valid files must give an error, never a panic, and a
//! file that parses must be consistent with itself. Each property runs a fixed number
//! of cases, so the suite's time is bounded; `PROPTEST_CASES` raises it for a longer run.

use std::path::Path;

use candle_core::{Device, Tensor};
use lenet_tui::checkpoint::{self, Meta};
use lenet_tui::data::idx::{self, IMAGES_MAGIC, IdxImages, LABELS_MAGIC};
use proptest::collection::vec;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(2000),
        // Failures are reported with the shrunk input; no files are written.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn valid_images() -> IdxImages {
    IdxImages {
        count: 5,
        rows: 4,
        cols: 3,
        pixels: (0..60).map(|i| (i * 7) as u8).collect(),
    }
}

/// Damage: overwrite bytes at random places, then maybe cut the tail off.
fn damage(
    mut bytes: Vec<u8>,
    edits: &[(proptest::sample::Index, u8)],
    cut: Option<proptest::sample::Index>,
) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    for (at, value) in edits {
        let i = at.index(bytes.len());
        bytes[i] = *value;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len()));
    }
    bytes
}

fn check_idx(bytes: &[u8]) {
    if let Ok(images) = idx::parse_images(bytes) {
        assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
    }
    if let Ok(labels) = idx::parse_labels(bytes) {
        assert!(labels.len() <= bytes.len().max(1 << 20));
    }
}

/// Metadata as the program writes it (once: writing fsyncs).
fn valid_meta() -> Vec<u8> {
    static META: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    META.get_or_init(|| {
        let home = tempfile::tempdir().unwrap();
        let (params, meta) = sample_checkpoint();
        let mut run = checkpoint::RunDir::create(home.path(), 1, None).unwrap();
        let dir = run.save(&params, meta).unwrap();
        std::fs::read(dir.join(checkpoint::META_FILE)).unwrap()
    })
    .clone()
}

fn sample_checkpoint() -> (Vec<(String, Tensor)>, Meta) {
    let params = vec![
        (
            "fc1.bias".to_string(),
            Tensor::new(&[0.5f32, -1.0], &Device::Cpu).unwrap(),
        ),
        (
            "fc1.weight".to_string(),
            Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &Device::Cpu).unwrap(),
        ),
    ];
    let meta: Meta = serde_json::from_value(serde_json::json!({
        "format": checkpoint::FORMAT,
        "program": "lenet-tui test",
        "saved_at": "2026-11-30T00:00:00+00:00",
        "reason": "epoch_end",
        "architecture": {"input": [1, 28, 28], "convs": [], "dense": [], "classes": 2},
        "settings": {"epochs": 3, "learning_rate": 0.9, "batch_size": 256, "pooling": "avg",
                     "activation": "sigmoid", "seed": 42, "reports_per_epoch": 5},
        "position": {"epoch": 2, "batch": 0, "batches": 4, "orders_drawn": 1, "restarts": 0,
                     "loss_sum": 0.0, "correct": 0, "seen": 0, "train_seconds": 0.0},
        "data": {"description": "test", "dir": null, "train_examples": 8, "test_examples": 2,
                 "classes": ["a", "b"]},
        "history": {"progress": [], "epochs": [], "changes": []},
        "weights": {"bytes": 0, "crc32": 0}
    }))
    .unwrap();
    (params, meta)
}

fn valid_weights() -> Vec<u8> {
    let (params, _) = sample_checkpoint();
    safetensors::serialize(params.iter().map(|(n, t)| (n, t)), None).unwrap()
}

fn shapes() -> Vec<(String, Vec<usize>)> {
    vec![
        ("fc1.bias".into(), vec![2]),
        ("fc1.weight".into(), vec![2, 3]),
    ]
}

fn check_weights(bytes: &[u8]) {
    let path = Path::new("weights.safetensors");
    if let Ok(map) = checkpoint::parse_weights(bytes, &shapes(), &Device::Cpu, path) {
        assert_eq!(map.len(), 2);
        assert_eq!(map["fc1.weight"].dims(), [2, 3]);
        assert_eq!(map["fc1.bias"].dims(), [2]);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idx_random_bytes_are_refused_without_panic(bytes in vec(any::<u8>(), 0..512)) {
        check_idx(&bytes);
    }

    #[test]
    fn idx_headers_with_any_dimensions_are_handled(
        magic in prop_oneof![Just(IMAGES_MAGIC), Just(LABELS_MAGIC), any::<u32>()],
        dims in vec(any::<u32>(), 0..4),
        payload in vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = magic.to_be_bytes().to_vec();
        for d in &dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(&payload);
        check_idx(&bytes);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            e.finish().unwrap()
        };
        check_idx(&gz);
    }

    #[test]
    fn idx_damaged_files_are_refused_or_consistent(
        gzip in any::<bool>(),
        edits in vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let images = valid_images();
        let bytes = if gzip {
            idx::encode_images_gz(&images).unwrap()
        } else {
            idx::encode_plain(IMAGES_MAGIC, &[5, 4, 3], &images.pixels)
        };
        check_idx(&damage(bytes, &edits, cut));
    }

    #[test]
    fn checkpoint_metadata_random_bytes_are_refused(bytes in vec(any::<u8>(), 0..512)) {
        let _ = checkpoint::parse_meta(&bytes, Path::new("checkpoint.json"));
    }

    #[test]
    fn checkpoint_metadata_damage_is_refused_or_consistent(
        edits in vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let bytes = damage(valid_meta(), &edits, cut);
        if let Ok(meta) = checkpoint::parse_meta(&bytes, Path::new("checkpoint.json")) {
            let p = &meta.position;
            prop_assert!(p.batches > 0 && p.batch <= p.batches && p.epoch > 0);
            prop_assert!(p.at().is_finite());
        }
    }

    #[test]
    fn checkpoint_weights_random_bytes_are_refused(bytes in vec(any::<u8>(), 0..512)) {
        check_weights(&bytes);
    }

    #[test]
    fn checkpoint_weights_damage_is_refused_or_consistent(
        edits in vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        check_weights(&damage(valid_weights(), &edits, cut));
    }
}

#[test]
fn the_fuzzed_samples_are_valid_to_begin_with() {
    // Otherwise the properties above would only ever see garbage.
    let images = valid_images();
    assert_eq!(
        idx::parse_images(&idx::encode_images_gz(&images).unwrap()).unwrap(),
        images
    );
    checkpoint::parse_meta(&valid_meta(), Path::new("checkpoint.json")).unwrap();
    let w = checkpoint::parse_weights(
        &valid_weights(),
        &shapes(),
        &Device::Cpu,
        Path::new("weights.safetensors"),
    )
    .unwrap();
    assert_eq!(
        w["fc1.weight"].to_vec2::<f32>().unwrap(),
        [[1., 2., 3.], [4., 5., 6.]]
    );
    // A length header claiming far more than the file holds is refused unread.
    let mut huge = (u64::MAX / 2).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert!(checkpoint::parse_weights(&huge, &shapes(), &Device::Cpu, Path::new("w")).is_err());
}
