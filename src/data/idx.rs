//! IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or plain.
//!
//! Nothing in a file is trusted before it is checked: the magic number, the rank and
//! dimensions, and the payload length against the header. A header that claims more
//! data than the file holds is refused before any large allocation, so a hostile
//! header cannot make us reserve gigabytes.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;

/// Magic number of an IDX file of unsigned-byte images (rank 3).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (rank 1).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// IDX element type code for unsigned bytes, the only one MNIST-style data uses.
const UNSIGNED_BYTE: u8 = 0x08;
/// Largest side of an image we accept; far above any MNIST-like data set, far below
/// anything that could overflow arithmetic or exhaust memory on its own.
const MAX_SIDE: u64 = 4096;
/// The most data one file may hold: 1 GiB, twenty times the full MNIST training set.
/// Above this even a well-formed file is refused, so a small gzip stream that claims
/// a huge payload (a decompression bomb) cannot exhaust memory.
const MAX_PAYLOAD: u64 = 1 << 30;
/// Up-front buffer limit: beyond this the buffer grows only with data actually read,
/// so a lying header costs at most what the file really contains.
const MAX_PREALLOC: u64 = 64 << 20;

/// Images read from an IDX file: `count` row-major `rows`×`cols` images of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixel values, 0 (background) to 255.
    pub pixels: Vec<u8>,
}

/// Why an IDX file was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdxProblem {
    /// The file could not be opened or read.
    #[error("cannot read file: {0}")]
    Io(#[source] io::Error),
    /// The file has no bytes at all.
    #[error("file is empty")]
    Empty,
    /// The bytes do not start like an IDX file.
    #[error("not an IDX file (starts with bytes {0})")]
    NotIdx(String),
    /// gzip data that ends early or fails its checksum.
    #[error("truncated or corrupt gzip data ({0})")]
    Gzip(#[source] io::Error),
    /// Fewer bytes than the header needs.
    #[error("header is truncated: {found} bytes, an IDX {kind} header needs {needed}")]
    ShortHeader {
        /// What kind of file was expected.
        kind: IdxKind,
        /// Bytes present.
        found: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// Element type other than unsigned byte.
    #[error("unsupported IDX element type 0x{0:02x} (only unsigned bytes, 0x08, are supported)")]
    ElementType(u8),
    /// A valid IDX magic number, but for the other kind of file.
    #[error("wrong magic number {found} (expected {expected}, an IDX {kind} file)")]
    WrongMagic {
        /// What kind of file was expected.
        kind: IdxKind,
        /// The magic number in the file.
        found: u32,
        /// The magic number an IDX file of this kind has.
        expected: u32,
    },
    /// A dimension that is zero or unreasonably large.
    #[error("bad dimensions {dims:?}: {why}")]
    Dimensions {
        /// Dimensions from the header.
        dims: Vec<u32>,
        /// What is wrong with them.
        why: &'static str,
    },
    /// The payload is shorter than the header says.
    #[error("header claims {claimed} bytes of data ({dims}) but the file holds only {found}")]
    ShortPayload {
        /// Dimensions from the header, for the message.
        dims: String,
        /// Payload bytes the header implies.
        claimed: u64,
        /// Payload bytes present.
        found: u64,
    },
    /// Bytes after the payload the header describes.
    #[error("unexpected data after the {claimed}-byte payload the header describes")]
    TrailingBytes {
        /// Payload bytes the header implies.
        claimed: u64,
    },
}

/// The two kinds of IDX file a data set has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// Rank-3 image files (magic 2051).
    Images,
    /// Rank-1 label files (magic 2049).
    Labels,
}

impl IdxKind {
    fn magic(self) -> u32 {
        match self {
            IdxKind::Images => IMAGES_MAGIC,
            IdxKind::Labels => LABELS_MAGIC,
        }
    }

    fn rank(self) -> usize {
        match self {
            IdxKind::Images => 3,
            IdxKind::Labels => 1,
        }
    }
}

impl fmt::Display for IdxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdxKind::Images => "image",
            IdxKind::Labels => "label",
        })
    }
}

/// Reads an IDX image file (gzip or plain, told apart by its first bytes).
pub fn read_images_file(path: &Path) -> Result<IdxImages, IdxProblem> {
    let bytes = std::fs::read(path).map_err(IdxProblem::Io)?;
    parse_images(&bytes)
}

/// Reads an IDX label file (gzip or plain, told apart by its first bytes).
pub fn read_labels_file(path: &Path) -> Result<Vec<u8>, IdxProblem> {
    let bytes = std::fs::read(path).map_err(IdxProblem::Io)?;
    parse_labels(&bytes)
}

/// Parses the bytes of an IDX image file.
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, IdxProblem> {
    let (dims, pixels) = parse(bytes, IdxKind::Images)?;
    let [count, rows, cols] = [dims[0], dims[1], dims[2]].map(|d| d as usize);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// Parses the bytes of an IDX label file.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxProblem> {
    parse(bytes, IdxKind::Labels).map(|(_, labels)| labels)
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

fn parse(bytes: &[u8], kind: IdxKind) -> Result<(Vec<u32>, Vec<u8>), IdxProblem> {
    if bytes.is_empty() {
        return Err(IdxProblem::Empty);
    }
    let gzip = is_gzip(bytes);
    let mut reader: Box<dyn Read + '_> = if gzip {
        Box::new(GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let io_problem = |e: io::Error| {
        if gzip {
            IdxProblem::Gzip(e)
        } else {
            IdxProblem::Io(e)
        }
    };

    let needed = 4 + 4 * kind.rank();
    let dims = read_header(&mut reader, kind).map_err(|e| e.or_io(io_problem))?;
    check_dims(&dims, kind)?;
    // At most 2^32 * 4096 * 4096 = 2^56: no overflow in u64.
    let claimed: u64 = dims.iter().map(|&d| u64::from(d)).product();
    let dims_text = || {
        dims.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("×")
    };

    let check_length = |found: u64| match found.cmp(&claimed) {
        std::cmp::Ordering::Less => Err(IdxProblem::ShortPayload {
            dims: dims_text(),
            claimed,
            found,
        }),
        std::cmp::Ordering::Greater => Err(IdxProblem::TrailingBytes { claimed }),
        std::cmp::Ordering::Equal => Ok(()),
    };
    if !gzip {
        // The whole file is in memory already: compare before copying anything.
        check_length((bytes.len() - needed) as u64)?;
        return Ok((dims, bytes[needed..].to_vec()));
    }

    let mut payload = Vec::with_capacity(claimed.min(MAX_PREALLOC) as usize);
    // One byte more than claimed tells trailing data apart from an exact fit, and makes
    // the decoder reach the end of the stream, where it checks the CRC.
    reader
        .by_ref()
        .take(claimed + 1)
        .read_to_end(&mut payload)
        .map_err(io_problem)?;
    check_length(payload.len() as u64)?;
    Ok((dims, payload))
}

/// A problem reading the header: the file's, or the reader's.
enum HeaderProblem {
    Idx(IdxProblem),
    Io(io::Error),
}

impl HeaderProblem {
    fn or_io(self, io_problem: impl FnOnce(io::Error) -> IdxProblem) -> IdxProblem {
        match self {
            HeaderProblem::Idx(p) => p,
            HeaderProblem::Io(e) => io_problem(e),
        }
    }
}

impl From<IdxProblem> for HeaderProblem {
    fn from(p: IdxProblem) -> Self {
        HeaderProblem::Idx(p)
    }
}

/// The header's dimensions, after its magic number: two zero bytes, the element
/// type (unsigned bytes), the rank of `kind`.
fn read_header(reader: &mut dyn Read, kind: IdxKind) -> Result<Vec<u32>, HeaderProblem> {
    let needed = 4 + 4 * kind.rank();
    let mut header = [0u8; 16];
    let header = &mut header[..needed];
    let found = read_up_to(reader, header).map_err(HeaderProblem::Io)?;
    if header[..found.min(2)].iter().any(|&b| b != 0) {
        return Err(IdxProblem::NotIdx(hex_prefix(&header[..found.min(4)])).into());
    }
    let short = IdxProblem::ShortHeader {
        kind,
        found,
        needed,
    };
    if found < 4 {
        return Err(short.into());
    }
    if header[2] != UNSIGNED_BYTE {
        return Err(IdxProblem::ElementType(header[2]).into());
    }
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if magic != kind.magic() {
        return Err(IdxProblem::WrongMagic {
            kind,
            found: magic,
            expected: kind.magic(),
        }
        .into());
    }
    if found < needed {
        return Err(short.into());
    }
    Ok(header[4..]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn check_dims(dims: &[u32], kind: IdxKind) -> Result<(), IdxProblem> {
    let bad = |why| {
        Err(IdxProblem::Dimensions {
            dims: dims.to_vec(),
            why,
        })
    };
    if dims.contains(&0) {
        return bad("a dimension is zero");
    }
    if kind == IdxKind::Images && dims[1..].iter().any(|&d| u64::from(d) > MAX_SIDE) {
        return bad("image side larger than 4096 pixels");
    }
    if dims.iter().map(|&d| u64::from(d)).product::<u64>() > MAX_PAYLOAD {
        return bad("more than 1 GiB of data, beyond any MNIST-like data set");
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encodes images as a gzip-compressed IDX file.
pub fn encode_images_gz(images: &IdxImages) -> io::Result<Vec<u8>> {
    let dims = [images.count, images.rows, images.cols];
    encode_gz(IMAGES_MAGIC, &dims, &images.pixels)
}

/// Encodes labels as a gzip-compressed IDX file.
pub fn encode_labels_gz(labels: &[u8]) -> io::Result<Vec<u8>> {
    encode_gz(LABELS_MAGIC, &[labels.len()], labels)
}

/// Encodes an IDX file without compression (header + payload).
pub fn encode_plain(magic: u32, dims: &[usize], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + payload.len());
    out.extend_from_slice(&magic.to_be_bytes());
    for &d in dims {
        let d = u32::try_from(d).expect("IDX dimensions fit in u32");
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn encode_gz(magic: u32, dims: &[usize], payload: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&encode_plain(magic, dims, payload))?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(count: usize) -> IdxImages {
        IdxImages {
            count,
            rows: 3,
            cols: 2,
            pixels: (0..count * 6).map(|i| i as u8).collect(),
        }
    }

    #[test]
    fn gzip_and_plain_round_trip() {
        let imgs = images(4);
        let gz = encode_images_gz(&imgs).unwrap();
        assert!(is_gzip(&gz));
        assert_eq!(parse_images(&gz).unwrap(), imgs);
        let plain = encode_plain(IMAGES_MAGIC, &[4, 3, 2], &imgs.pixels);
        assert_eq!(parse_images(&plain).unwrap(), imgs);
        let labels = vec![1, 2, 3];
        assert_eq!(
            parse_labels(&encode_labels_gz(&labels).unwrap()).unwrap(),
            labels
        );
    }

    #[test]
    fn label_file_is_not_an_image_file() {
        let gz = encode_labels_gz(&[1, 2]).unwrap();
        let err = parse_images(&gz).unwrap_err();
        assert!(
            matches!(err, IdxProblem::WrongMagic { found: 2049, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("expected 2051"), "{err}");
    }

    #[test]
    fn billions_of_images_are_refused_without_allocating() {
        // Header claims 3e9 images of 28×28: 2.3 TB. Plain and gzip both refuse it
        // from the header alone, however much a gzip stream could expand to.
        let plain = encode_plain(IMAGES_MAGIC, &[3_000_000_000, 28, 28], &[0; 100]);
        let err = parse_images(&plain).unwrap_err();
        assert!(matches!(err, IdxProblem::Dimensions { .. }), "{err}");
        assert!(err.to_string().contains("more than 1 GiB"), "{err}");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        let err = parse_images(&enc.finish().unwrap()).unwrap_err();
        assert!(matches!(err, IdxProblem::Dimensions { .. }), "{err}");
        // Under the limit, a header that lies is caught by the payload length.
        let plain = encode_plain(IMAGES_MAGIC, &[1_000_000, 28, 28], &[0; 100]);
        let err = parse_images(&plain).unwrap_err();
        assert!(
            matches!(err, IdxProblem::ShortPayload { found: 100, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("784000000 bytes"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_reported_as_such() {
        let gz = encode_images_gz(&images(50)).unwrap();
        let err = parse_images(&gz[..gz.len() - 20]).unwrap_err();
        assert!(matches!(err, IdxProblem::Gzip(_)), "{err}");
        let err = parse_images(&gz[..12]).unwrap_err();
        assert!(matches!(err, IdxProblem::Gzip(_)), "{err}");
    }

    #[test]
    fn corrupt_gzip_checksum_is_reported() {
        let mut gz = encode_images_gz(&images(50)).unwrap();
        let n = gz.len();
        gz[n - 6] ^= 0xff; // inside the CRC32 trailer
        assert!(matches!(parse_images(&gz), Err(IdxProblem::Gzip(_))));
    }

    #[test]
    fn short_and_long_payloads_and_headers() {
        let plain = encode_plain(IMAGES_MAGIC, &[2, 3, 2], &[0; 11]);
        assert!(matches!(
            parse_images(&plain),
            Err(IdxProblem::ShortPayload {
                claimed: 12,
                found: 11,
                ..
            })
        ));
        let plain = encode_plain(IMAGES_MAGIC, &[2, 3, 2], &[0; 13]);
        assert!(matches!(
            parse_images(&plain),
            Err(IdxProblem::TrailingBytes { claimed: 12 })
        ));
        let err = parse_images(&plain[..9]).unwrap_err();
        assert!(
            matches!(
                err,
                IdxProblem::ShortHeader {
                    found: 9,
                    needed: 16,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(parse_images(&[]), Err(IdxProblem::Empty)));
    }

    #[test]
    fn other_bytes_are_not_idx() {
        let err = parse_labels(b"<html>404 not found</html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an IDX file (starts with bytes 3c 68 74 6d)"
        );
        let err = parse_labels(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap_err();
        assert!(matches!(err, IdxProblem::ElementType(0x0d)), "{err}");
    }

    #[test]
    fn zero_and_huge_dimensions_are_refused() {
        let plain = encode_plain(IMAGES_MAGIC, &[2, 0, 2], &[]);
        assert!(matches!(
            parse_images(&plain),
            Err(IdxProblem::Dimensions { .. })
        ));
        let plain = encode_plain(IMAGES_MAGIC, &[1, 100_000, 100_000], &[]);
        assert!(matches!(
            parse_images(&plain),
            Err(IdxProblem::Dimensions { .. })
        ));
    }
}
