//! Shuffled minibatch order, one permutation per epoch from the run's seeded RNG.

use crate::rng::SeededRng;
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// Yields each epoch's example order; the same seed gives the same orders.
#[derive(Debug, Clone)]
pub struct EpochOrder {
    rng: SeededRng,
    order: Vec<u32>,
}

impl EpochOrder {
    /// An order over `len` examples, shuffled by an RNG seeded with `seed`.
    pub fn new(len: usize, seed: u64) -> Self {
        let len = u32::try_from(len).expect("fewer than 2^32 examples (IDX counts are u32)");
        Self {
            rng: SeededRng::seed_from_u64(seed),
            order: (0..len).collect(),
        }
    }

    /// Shuffles for a new epoch and returns its batches of example indices; the last
    /// batch keeps the remainder, as PyTorch's `DataLoader` does by default.
    pub fn next_epoch(&mut self, batch_size: usize) -> std::slice::Chunks<'_, u32> {
        self.order.shuffle(&mut self.rng);
        self.order.chunks(batch_size.max(1))
    }

    /// Draws and discards `epochs` orders: where a resumed run's shuffling stands.
    pub fn skip_epochs(&mut self, epochs: u64) {
        for _ in 0..epochs {
            self.order.shuffle(&mut self.rng);
        }
    }
}

/// Number of batches an epoch of `len` examples has.
pub fn batches_per_epoch(len: usize, batch_size: usize) -> usize {
    len.div_ceil(batch_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_is_a_permutation_reproducible_by_seed() {
        let mut a = EpochOrder::new(10, 7);
        let mut b = EpochOrder::new(10, 7);
        let first: Vec<Vec<u32>> = a.next_epoch(4).map(<[u32]>::to_vec).collect();
        assert_eq!(first.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        let mut all: Vec<u32> = first.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let again: Vec<Vec<u32>> = b.next_epoch(4).map(<[u32]>::to_vec).collect();
        assert_eq!(first, again);
        let second: Vec<Vec<u32>> = a.next_epoch(4).map(<[u32]>::to_vec).collect();
        assert_ne!(first, second, "a new permutation each epoch");
        let mut c = EpochOrder::new(10, 7);
        c.skip_epochs(1);
        let resumed: Vec<Vec<u32>> = c.next_epoch(4).map(<[u32]>::to_vec).collect();
        assert_eq!(resumed, second, "skipping replays the shuffles");
        assert_eq!(batches_per_epoch(10, 4), 3);
        assert_eq!(batches_per_epoch(60000, 256), 235);
    }
}
