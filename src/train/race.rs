//! Variants racing on one device. Each variant is a trainer thread of its own (its
//! model, engine, position, history and checkpoints), and [`Turns`] makes them take
//! the device batch by batch in a fixed order, so at every point each has trained as
//! many batches as the others (give or take the one under way) and each batch has the
//! whole device (all worker threads, or the GPU) to itself. A variant that pauses
//! (the user, or a divergence) leaves the ring and the others go on without it.
//! The ring itself is [`super::turns`], a leaf the trainer reads too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::handle::{TrainerHandle, spawn};
use super::messages::SaveReason;
use super::spec::TrainerSpec;
use super::turns::Turns;

/// The most variants a race has, the base run included (the dashboard's keys `1`–`4`).
pub const MAX_VARIANTS: usize = 4;

/// A trainer with the label it races under (`None` when it trains alone).
pub struct Lane {
    /// The variant's label.
    pub label: Option<String>,
    /// Its thread.
    pub trainer: TrainerHandle,
}

/// Starts one trainer thread per variant, taking turns on the device; a single spec
/// trains alone, with no ring and no label.
pub fn spawn_race(variants: Vec<(String, TrainerSpec)>) -> Vec<Lane> {
    if variants.len() == 1 {
        let (_, spec) = variants.into_iter().next().expect("one variant");
        return vec![Lane {
            label: None,
            trainer: spawn(spec),
        }];
    }
    let turns = Turns::deal(variants.len());
    variants
        .into_iter()
        .zip(turns)
        .map(|((label, spec), turn)| Lane {
            label: Some(label),
            trainer: spawn(TrainerSpec {
                turn: Some(turn),
                ..spec
            }),
        })
        .collect()
}

/// Asks every trainer for a checkpoint, each whatever the others answer (a diverged
/// variant refuses and keeps its last good one). `named` pairs each trainer with how a
/// refusal names it. One trainer: its checkpoint. A race: its directory (what
/// `--resume` takes) once any variant saved, each refusal logged; else all refusals.
pub fn save_all<'a>(
    named: impl IntoIterator<Item = (String, &'a TrainerHandle)>,
    reason: SaveReason,
    answer_within: Duration,
    write_within: Duration,
) -> Result<PathBuf, String> {
    let saves: Vec<(String, Result<PathBuf, String>)> = named
        .into_iter()
        .map(|(name, t)| {
            let saved = t.save_now(reason, answer_within, write_within);
            (name, saved.map(|s| s.path))
        })
        .collect();
    gather_saves(saves, reason)
}

/// What the saves of every variant, each with how a refusal names it, come to: one
/// trainer's checkpoint; or a race's directory once any variant saved, each refusal
/// logged; else all refusals.
pub fn gather_saves(
    saves: Vec<(String, Result<PathBuf, String>)>,
    reason: SaveReason,
) -> Result<PathBuf, String> {
    if let [(_, one)] = saves.as_slice() {
        return one.clone();
    }
    let mut saved = None;
    let mut failed = Vec::new();
    for (name, result) in saves {
        match result {
            Ok(path) => saved = saved.or(Some(path)),
            Err(why) => {
                tracing::warn!(%reason, "{name}: no checkpoint: {why}");
                failed.push(format!("{name}: {why}"));
            }
        }
    }
    match saved {
        // `<race>/<variant>/ckpt-NNNN`.
        Some(path) => Ok(path
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| path.clone(), Path::to_path_buf)),
        None => Err(failed.join("; ")),
    }
}
