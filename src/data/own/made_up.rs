//! Inputs unlike any the model was trained on, for the chapter's question of what the
//! layers do with them: random noise, a blank or a white frame, a test image inverted.
//! Named where an image file is (`--image`, the `o` prompt, `predict`); none has a true
//! class.

use rand::{Rng, SeedableRng};

use super::OwnImage;
use crate::data::Split;
use crate::rng::SeededRng;

/// The made-up inputs, as an error names them.
pub const CHOICES: &str = "noise[:SEED], blank, white, invert:N (test image N inverted)";

/// A made-up input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeUp {
    /// Uniform random pixels from this seed.
    Noise(u64),
    /// Every pixel 0: the background.
    Blank,
    /// Every pixel 255.
    White,
    /// Test image N with dark and light swapped.
    Invert(usize),
}

impl MadeUp {
    /// `spec` as a made-up input: `Ok(None)` when it names none (it is a file); an
    /// error naming the choices when it looks like one but is not (`nois`,
    /// `invert:x`). The caller names `spec` in the error.
    pub fn parse(spec: &str) -> Result<Option<Self>, String> {
        match Self::known(spec) {
            Some(made_up) => made_up.map(Some),
            None if looks_made_up(spec) && !std::path::Path::new(spec).exists() => Err(format!(
                "no such file, nor a made-up input (made-up inputs: {CHOICES})"
            )),
            None => Ok(None),
        }
    }

    /// The made-up input `name` is exactly, as its image is called (no files looked at).
    pub fn named(name: &str) -> Option<Self> {
        Self::known(name).and_then(Result::ok)
    }

    /// `spec` if it begins with a made-up input's word: the input, or what is wrong
    /// with its argument.
    fn known(spec: &str) -> Option<Result<Self, String>> {
        let (word, arg) = match spec.split_once(':') {
            Some((w, a)) => (w, Some(a)),
            None => (spec, None),
        };
        let number = |what: &str| -> Result<u64, String> {
            arg.unwrap_or_default()
                .parse()
                .map_err(|_| format!("{what} must be a whole number (made-up inputs: {CHOICES})"))
        };
        Some(match (word, arg) {
            ("noise", None) => Ok(MadeUp::Noise(1)),
            ("noise", Some(_)) => number("the seed").map(MadeUp::Noise),
            ("blank", None) => Ok(MadeUp::Blank),
            ("white", None) => Ok(MadeUp::White),
            ("invert", Some(_)) => number("the test image").map(|n| MadeUp::Invert(n as usize)),
            ("blank" | "white" | "invert", _) => Err(format!("made-up inputs are {CHOICES}")),
            _ => return None,
        })
    }

    /// What it is called in the image list.
    pub fn name(self) -> String {
        match self {
            MadeUp::Noise(seed) => format!("noise:{seed}"),
            MadeUp::Blank => "blank".into(),
            MadeUp::White => "white".into(),
            MadeUp::Invert(n) => format!("invert:{n}"),
        }
    }

    /// The image, `side` pixels square; `test` is needed to invert one of its images.
    pub fn image(self, side: usize, test: Option<&Split>) -> Result<OwnImage, String> {
        let n = side * side;
        let pixels = match self {
            MadeUp::Noise(seed) => {
                let mut rng = SeededRng::seed_from_u64(seed);
                (0..n).map(|_| rng.random::<u8>()).collect()
            }
            MadeUp::Blank => vec![0; n],
            MadeUp::White => vec![255; n],
            MadeUp::Invert(i) => {
                let test = test.ok_or("invert:N needs the run's test images")?;
                if i >= test.len() {
                    return Err(format!(
                        "invert:{i}: the test set has images 0 to {}",
                        test.len().saturating_sub(1)
                    ));
                }
                test.image_bytes(i).iter().map(|&p| 255 - p).collect()
            }
        };
        Ok(OwnImage::new(self.name(), None, pixels))
    }
}

/// Whether `spec` is near a made-up input's name: a typo rather than a file's name.
fn looks_made_up(spec: &str) -> bool {
    let word = spec
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["noise", "blank", "white", "invert"]
        .iter()
        .any(|name| word.len() >= 3 && (name.starts_with(&word) || word.starts_with(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_near_misses_name_the_choices() {
        assert_eq!(MadeUp::parse("noise").unwrap(), Some(MadeUp::Noise(1)));
        assert_eq!(MadeUp::parse("noise:7").unwrap(), Some(MadeUp::Noise(7)));
        assert_eq!(MadeUp::parse("blank").unwrap(), Some(MadeUp::Blank));
        assert_eq!(MadeUp::parse("white").unwrap(), Some(MadeUp::White));
        assert_eq!(
            MadeUp::parse("invert:12").unwrap(),
            Some(MadeUp::Invert(12))
        );
        assert_eq!(MadeUp::parse("shoe.png").unwrap(), None);
        // An image's name tells a made-up input without looking at files.
        assert_eq!(MadeUp::named("noise:3"), Some(MadeUp::Noise(3)));
        assert_eq!(
            MadeUp::named(&MadeUp::Invert(4).name()),
            Some(MadeUp::Invert(4))
        );
        assert_eq!(MadeUp::named("nois"), None);
        assert_eq!(MadeUp::named("whiteboard.png"), None);
        for bad in ["nois", "invert", "invert:x", "noise:-1", "blank:3", "whit"] {
            let err = MadeUp::parse(bad).unwrap_err();
            assert!(
                err.contains("noise[:SEED], blank, white, invert:N"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn made_up_images_are_what_they_say() {
        let blank = MadeUp::Blank.image(28, None).unwrap();
        assert_eq!((blank.pixels.len(), blank.label), (784, None));
        assert!(blank.pixels.iter().all(|&p| p == 0));
        assert!(
            MadeUp::White
                .image(28, None)
                .unwrap()
                .pixels
                .iter()
                .all(|&p| p == 255)
        );
        let a = MadeUp::Noise(3).image(28, None).unwrap();
        assert_eq!(a.pixels, MadeUp::Noise(3).image(28, None).unwrap().pixels);
        assert_ne!(a.pixels, MadeUp::Noise(4).image(28, None).unwrap().pixels);
        let test = crate::data::Dataset::embedded().test;
        let inverted = MadeUp::Invert(5).image(28, Some(&test)).unwrap();
        let original = test.image_bytes(5);
        assert!(
            inverted
                .pixels
                .iter()
                .zip(original)
                .all(|(&i, &o)| i == 255 - o)
        );
        assert!(MadeUp::Invert(5).image(28, None).is_err());
        let err = MadeUp::Invert(test.len())
            .image(28, Some(&test))
            .unwrap_err();
        assert!(err.contains("the test set has images 0 to"), "{err}");
    }
}
