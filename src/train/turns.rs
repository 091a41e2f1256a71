//! The device's turns among the variants of a race: a ring that each variant's
//! trainer joins, waits on, passes on and leaves ([`Turn`]), dealt by [`Turns::deal`].
//! A leaf of its own so that the race (which starts trainers) and the trainer (which
//! takes turns) both read it without reading each other.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

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
