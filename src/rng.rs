//! The random number generator every seeded stream of a run comes from (weight init,
//! shuffles), named so that a seed means the same run on every build: `rand`'s
//! `StdRng` may change its algorithm between versions, ChaCha12 stays ChaCha12.

/// The generator of weight initialisation and shuffling.
pub type SeededRng = rand_chacha::ChaCha12Rng;

/// [`SeededRng`]'s name, recorded in checkpoints; a resume with another is refused.
pub const ALGORITHM: &str = "chacha12";
