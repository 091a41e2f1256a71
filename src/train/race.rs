//! Variants racing on one device. Each variant is a trainer thread of its own (its
//! model, engine, position, history and checkpoints), and [`Turns`] makes them take
//! the device batch by batch in a fixed order, so at every point each has trained as
//! many batches as the others (give or take the one under way) and each batch has the
//! whole device (all worker threads, or the GPU) to itself. A variant that pauses
//! (the user, or a divergence) leaves the ring and the others go on without it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::handle::{TrainerHandle, TrainerSpec, spawn};
use super::messages::SaveReason;

/// The most variants a race has, the base run included (the dashboard's keys `1`–`4`).
pub const MAX_VARIANTS: usize = 4;

/// Whose turn it is, among the variants that are training.
#[derive(Debug)]
struct Ring {
    turn: usize,
    /// Variants in the ring: training, or about to (a paused one has left).
    live: Vec<bool>,
}

impl Ring {
    /// The next live variant after `lane`, going round; `lane` itself when alone.
    fn next_after(&self, lane: usize) -> usize {
        let n = self.live.len();
        (1..=n)
            .map(|k| (lane + k) % n)
            .find(|&l| self.live[l])
            .unwrap_or(lane)
    }
}

/// The device's turns, shared by the variants of a race.
#[derive(Debug)]
pub struct Turns {
    ring: Mutex<Ring>,
    changed: Condvar,
}

impl Turns {
    /// One [`Turn`] for each of `lanes` variants, all in the ring, the first to go
    /// first.
    pub fn deal(lanes: usize) -> Vec<Turn> {
        let turns = Arc::new(Turns {
            ring: Mutex::new(Ring {
                turn: 0,
                live: vec![true; lanes],
            }),
            changed: Condvar::new(),
        });
        (0..lanes)
            .map(|lane| Turn {
                turns: turns.clone(),
                lane,
            })
            .collect()
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // The ring is a few plain values, whole after any panic.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One variant's place in the ring.
#[derive(Debug)]
pub struct Turn {
    turns: Arc<Turns>,
    lane: usize,
}

impl Turn {
    /// Joins the ring if out of it, and waits until it is this variant's turn.
    pub fn take(&self) {
        let mut ring = self.turns.ring();
        ring.live[self.lane] = true;
        loop {
            if ring.turn == self.lane {
                return;
            }
            if !ring.live[ring.turn] {
                // Whoever had it has left: it goes on round.
                let skip = ring.turn;
                ring.turn = ring.next_after(skip);
                continue;
            }
            ring = self
                .turns
                .changed
                .wait(ring)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Hands the turn on to the next variant in the ring.
    pub fn pass(&self) {
        let mut ring = self.turns.ring();
        if ring.turn == self.lane {
            ring.turn = ring.next_after(self.lane);
        }
        drop(ring);
        self.turns.changed.notify_all();
    }

    /// Leaves the ring (paused, finished or gone), so the others go on without it;
    /// [`Turn::take`] joins it again.
    pub fn leave(&self) {
        let mut ring = self.turns.ring();
        ring.live[self.lane] = false;
        if ring.turn == self.lane {
            ring.turn = ring.next_after(self.lane);
        }
        drop(ring);
        self.turns.changed.notify_all();
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.leave();
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Three variants each taking `batches` turns record the order they went in.
    fn race(batches: usize, leave_after: Option<(usize, usize)>) -> Vec<usize> {
        let order = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = Turns::deal(3)
            .into_iter()
            .enumerate()
            .map(|(lane, turn)| {
                let (order, inside) = (order.clone(), inside.clone());
                std::thread::spawn(move || {
                    for b in 0..batches {
                        if leave_after == Some((lane, b)) {
                            turn.leave();
                            return;
                        }
                        turn.take();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "one at a time");
                        order.lock().unwrap().push(lane);
                        std::thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        turn.pass();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(order).unwrap().into_inner().unwrap()
    }

    #[test]
    fn variants_take_the_device_in_turn_one_batch_each() {
        let order = race(5, None);
        assert_eq!(order, [0, 1, 2].repeat(5));
    }

    #[test]
    fn a_variant_that_leaves_holds_up_nobody() {
        let order = race(6, Some((1, 2)));
        // Two rounds of three, then the other two go on alone.
        let mut expected = [0, 1, 2].repeat(2);
        expected.extend([0, 2].repeat(4));
        assert_eq!(order, expected);
    }

    #[test]
    fn a_variant_that_comes_back_takes_its_place_in_the_round() {
        let mut turns = Turns::deal(2);
        let (second, first) = (turns.pop().unwrap(), turns.pop().unwrap());
        second.leave();
        let order = Arc::new(Mutex::new(Vec::new()));
        let log = order.clone();
        let alone = std::thread::spawn(move || {
            for _ in 0..40 {
                first.take();
                log.lock().unwrap().push(0);
                std::thread::sleep(Duration::from_micros(300));
                first.pass();
            }
        });
        std::thread::sleep(Duration::from_millis(2));
        for _ in 0..3 {
            second.take();
            order.lock().unwrap().push(1);
            second.pass();
        }
        second.leave();
        alone.join().unwrap();
        let order = order.lock().unwrap();
        assert_eq!(order.iter().filter(|&&l| l == 1).count(), 3);
        assert!(
            order.windows(2).all(|w| w != [1, 1]),
            "back in the ring, it waits its turn: {order:?}"
        );
    }
}
