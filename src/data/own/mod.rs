//! The user's own images: PNG, JPEG or PNM files (and drawings) prepared as the data
//! sets' images were made, so the model reads them beside the test images.

pub mod made_up;
pub mod prepare;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};
use serde::{Deserialize, Serialize};

pub use prepare::{Framing, Grey};

use super::Split;

/// An id no image of this process, or of another, has had: [`OwnImage::id`].
pub fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // The pid in the high bits: a viewer's images travel to the run it watches, beside
    // other viewers' and the run's own, and must not share an id with them.
    (u64::from(std::process::id()) << 32) | NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The most pixels a file may have: refused before its pixels are decoded.
pub const MAX_PIXELS: u64 = 50_000_000;

/// A file that could not be used as an image, named as the user gave it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {why}", file.display())]
pub struct OwnImageError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub why: String,
}

/// How a file becomes an image the model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preparation {
    /// The data set's image size (rows = columns).
    pub frame: usize,
    /// How the data set's images sit in their frame.
    pub framing: Framing,
    /// Use the pixels as they are (the file must already be `frame × frame`).
    pub raw: bool,
}

impl Preparation {
    /// The preparation for the images of `test` with these class names.
    pub fn for_data(test: &Split, classes: &[String], raw: bool) -> Self {
        Self {
            frame: test.rows,
            framing: Framing::of(classes),
            raw,
        }
    }
}

/// One of the user's images, as the network sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnImage {
    /// Unique in this process, so reports find their image.
    pub id: u64,
    /// What the dashboard calls it: the file name, or `drawing`.
    pub name: String,
    /// The class the user says it is, if they said.
    pub label: Option<usize>,
    /// `frame × frame` pixel bytes, as the data sets store them.
    pub pixels: Vec<u8>,
}

impl OwnImage {
    /// An image of `pixels` (already prepared) called `name`.
    pub fn new(name: impl Into<String>, label: Option<usize>, pixels: Vec<u8>) -> Self {
        Self {
            id: next_id(),
            name: name.into(),
            label,
            pixels,
        }
    }

    /// Reads `FILE` or `FILE=CLASS` (a class of `classes`, by name or number) and
    /// prepares it as `how` says; or makes up the input `spec` names
    /// ([`made_up::MadeUp`]: noise, blank, white, or one of `test`'s images inverted).
    pub fn from_spec(
        spec: &str,
        classes: &[String],
        how: Preparation,
        test: Option<&Split>,
    ) -> Result<Self, OwnImageError> {
        if let Some(image) = Self::made_up(spec, how, test)? {
            return Ok(image);
        }
        let (file, label) = split_class(spec, classes).map_err(|why| OwnImageError {
            file: PathBuf::from(spec),
            why,
        })?;
        Self::load(Path::new(file), label, how)
    }

    /// The made-up input `spec` names, if it names one.
    pub fn made_up(
        spec: &str,
        how: Preparation,
        test: Option<&Split>,
    ) -> Result<Option<Self>, OwnImageError> {
        let fail = |why: String| OwnImageError {
            file: PathBuf::from(spec),
            why,
        };
        match made_up::MadeUp::parse(spec).map_err(fail)? {
            Some(m) => Ok(Some(m.image(how.frame, test).map_err(fail)?)),
            None => Ok(None),
        }
    }

    /// Reads `file` and prepares it as `how` says.
    pub fn load(
        file: &Path,
        label: Option<usize>,
        how: Preparation,
    ) -> Result<Self, OwnImageError> {
        let fail = |why: String| OwnImageError {
            file: file.to_path_buf(),
            why,
        };
        let picture = decode(file).map_err(fail)?;
        let prepared = if how.raw {
            if (picture.width, picture.height) != (how.frame, how.frame) {
                return Err(fail(format!(
                    "is {}×{} pixels; --image-raw takes images of exactly {n}×{n}",
                    picture.width,
                    picture.height,
                    n = how.frame
                )));
            }
            picture
        } else {
            prepare::prepare(&picture, how.frame, how.framing).ok_or_else(|| {
                fail("is one flat colour: nothing stands out from its background".into())
            })?
        };
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Ok(Self::new(name, label, prepared.to_bytes()))
    }
}

/// Decodes `file` (PNG, JPEG, PGM/PPM; the format read from its bytes, not its name)
/// into grey, transparent parts as if on white paper.
pub fn decode(file: &Path) -> Result<Grey, String> {
    let opened = File::open(file).map_err(|e| format!("cannot read: {e}"))?;
    let reader = ImageReader::new(BufReader::new(opened))
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    let Some(format) = reader.format() else {
        return Err("not an image lenet-tui reads (PNG, JPEG, PGM or PPM)".into());
    };
    let kind = format
        .extensions_str()
        .first()
        .map_or("image", |e| *e)
        .to_uppercase();
    if let Some((w, h)) = declared_png_size(file)
        && u64::from(w) * u64::from(h) > MAX_PIXELS
    {
        return Err(too_large(Some((w, h))));
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    // RGBA with 16 bits a channel: the largest decoded form of MAX_PIXELS.
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let damaged = |e: ImageError| match e {
        ImageError::Limits(_) => too_large(None),
        ImageError::Unsupported(e) => format!("a {kind} lenet-tui cannot read: {e}"),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("not a valid {kind}: truncated (the file ends early)")
        }
        ImageError::IoError(e) => format!("cannot read: {e}"),
        e => format!("not a valid {kind} (damaged or truncated?): {e}"),
    };
    let decoder = reader.into_decoder().map_err(damaged)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_large(Some((width, height))));
    }
    let image = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    Ok(grey_on_white(&image))
}

/// The size a PNG's header declares, read before any decoder: the decoders look for
/// the pixel data first, and a file that only claims to be enormous should be named
/// as such. By the PNG spec the header chunk comes first, at a fixed place.
fn declared_png_size(file: &Path) -> Option<(u32, u32)> {
    use std::io::Read;
    let mut head = [0u8; 24];
    File::open(file).ok()?.read_exact(&mut head).ok()?;
    if &head[..8] != b"\x89PNG\r\n\x1a\n" || &head[12..16] != b"IHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Some((be(16), be(20)))
}

fn too_large(size: Option<(u32, u32)>) -> String {
    let most = MAX_PIXELS / 1_000_000;
    match size {
        Some((w, h)) => format!(
            "{w}×{h} pixels ({} megapixels) is more than the {most} megapixels lenet-tui reads",
            u64::from(w) * u64::from(h) / 1_000_000
        ),
        None => format!("larger than the {most} megapixels lenet-tui reads"),
    }
}

/// The image's brightness with its transparency over white, as a viewer shows it.
fn grey_on_white(image: &DynamicImage) -> Grey {
    let la = image.to_luma_alpha8();
    let (width, height) = (la.width() as usize, la.height() as usize);
    let values = la
        .pixels()
        .map(|p| {
            let [l, a] = p.0;
            let (l, a) = (f32::from(l) / 255.0, f32::from(a) / 255.0);
            l * a + (1.0 - a)
        })
        .collect();
    Grey::new(width, height, values)
}

/// Grey pixel bytes, `width × height`, as a PNG file's bytes: what the network read,
/// saved so that `--image-raw` reads it back unchanged.
pub fn encode_png(pixels: &[u8], width: usize, height: usize) -> Result<Vec<u8>, ImageError> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    image::codecs::png::PngEncoder::new(&mut bytes).write_image(
        pixels,
        size(width),
        size(height),
        image::ExtendedColorType::L8,
    )?;
    Ok(bytes)
}

/// Which image a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageId {
    /// A test image, by index.
    Test(usize),
    /// One of the user's, by [`OwnImage::id`].
    Own(u64),
}

/// An image the model is shown: a test image, or one of the user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeImage {
    /// A test image, by index.
    Test(usize),
    /// One of the user's.
    Own(Arc<OwnImage>),
}

impl ProbeImage {
    /// The test images `indices`.
    pub fn tests(indices: impl IntoIterator<Item = usize>) -> Vec<ProbeImage> {
        indices.into_iter().map(ProbeImage::Test).collect()
    }

    /// Which image this is.
    pub fn id(&self) -> ImageId {
        match self {
            ProbeImage::Test(i) => ImageId::Test(*i),
            ProbeImage::Own(own) => ImageId::Own(own.id),
        }
    }

    /// Its pixel bytes (`test`'s rows × cols).
    pub fn pixels<'a>(&'a self, test: &'a Split) -> &'a [u8] {
        match self {
            ProbeImage::Test(i) => test.image_bytes(*i),
            ProbeImage::Own(own) => &own.pixels,
        }
    }

    /// Its true class, if known.
    pub fn label(&self, test: &Split) -> Option<usize> {
        match self {
            ProbeImage::Test(i) => Some(usize::from(test.labels[*i])),
            ProbeImage::Own(own) => own.label,
        }
    }

    /// What the dashboard calls it: `#N` for a test image, else its name.
    pub fn caption(&self) -> String {
        match self {
            ProbeImage::Test(i) => format!("#{i}"),
            ProbeImage::Own(own) => own.name.clone(),
        }
    }

    /// Why it cannot be shown from `test`, if it cannot (a test index past the end, or
    /// an image of another size).
    pub fn missing(&self, test: &Split) -> Option<String> {
        match self {
            ProbeImage::Test(i) if *i >= test.len() => Some(format!(
                "test image {i} does not exist (the test set has {} images)",
                test.len()
            )),
            ProbeImage::Own(own) if own.pixels.len() != test.image_len() => Some(format!(
                "{} has {} pixels, the data set's images {}",
                own.name,
                own.pixels.len(),
                test.image_len()
            )),
            _ => None,
        }
    }
}

/// `FILE` or `FILE=CLASS` as given to `--image`: the file and the class it names.
pub fn split_class<'a>(
    spec: &'a str,
    classes: &[String],
) -> Result<(&'a str, Option<usize>), String> {
    let Some((file, class)) = spec.rsplit_once('=') else {
        return Ok((spec, None));
    };
    // A file whose own name holds `=` is taken whole.
    if Path::new(spec).exists() && !Path::new(file).exists() {
        return Ok((spec, None));
    }
    let wanted = class.trim();
    let found = classes
        .iter()
        .position(|c| c.eq_ignore_ascii_case(wanted))
        .or_else(|| wanted.parse::<usize>().ok().filter(|&n| n < classes.len()));
    match found {
        Some(label) => Ok((file, Some(label))),
        None => Err(format!(
            "`{wanted}` is not a class of this data set ({})",
            classes.join(", ")
        )),
    }
}
