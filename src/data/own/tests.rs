use std::path::{Path, PathBuf};

use image::{Luma, Rgb, Rgba};

use super::prepare::*;
use super::*;

fn grey(width: usize, height: usize, values: &[f32]) -> Grey {
    Grey::new(width, height, values.to_vec())
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn dark_ink_on_white_is_inverted() {
    let p = grey(3, 3, &[1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(
        to_ink(&p).values,
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn grey_paper_becomes_black_and_the_strongest_ink_white() {
    // Paper at 0.9, pencil at 0.3 and 0.6: inverted 0.1, 0.7, 0.4; less the paper's
    // 0.1 gives 0.6 and 0.3; over the peak, 1 and ½.
    let p = grey(3, 3, &[0.9, 0.9, 0.9, 0.9, 0.3, 0.6, 0.9, 0.9, 0.9]);
    assert!(close(
        &to_ink(&p).values,
        &[0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0]
    ));
}

#[test]
fn light_ink_on_black_is_kept_and_stretched() {
    let p = grey(3, 3, &[0.0, 0.0, 0.0, 0.0, 0.5, 0.25, 0.0, 0.0, 0.0]);
    assert!(close(
        &to_ink(&p).values,
        &[0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0]
    ));
}

#[test]
fn a_flat_picture_has_no_content() {
    let flat = grey(4, 4, &[0.7; 16]);
    assert_eq!(content_bounds(&to_ink(&flat)), None);
    assert_eq!(prepare(&flat, 28, Framing::Garment), None);
}

#[test]
fn content_bounds_hold_everything_above_the_threshold() {
    let mut ink = Grey::blank(5, 4);
    ink.values[5 + 1] = 0.8; // (1, 1)
    ink.values[2 * 5 + 3] = 0.2; // (3, 2)
    ink.values[3 * 5 + 4] = CONTENT_THRESHOLD; // not above it
    assert_eq!(content_bounds(&ink), Some((1, 1, 3, 2)));
    let cropped = crop(&ink, (1, 1, 3, 2));
    assert_eq!(cropped.values, [0.8, 0.0, 0.0, 0.0, 0.0, 0.2]);
}

#[test]
fn area_averaging_down_by_two_averages_blocks() {
    let p = grey(4, 2, &[0.0, 1.0, 0.5, 0.5, 1.0, 0.0, 0.25, 0.75]);
    assert!(close(&resize_area(&p, 2, 1).values, &[0.5, 0.5]));
}

#[test]
fn area_averaging_weighs_partly_covered_pixels() {
    // 3 → 2: the first new pixel covers all of the first and half of the second.
    let p = grey(3, 1, &[0.0, 0.6, 0.9]);
    let expected = [(0.0 + 0.5 * 0.6) / 1.5, (0.5 * 0.6 + 0.9) / 1.5];
    assert!(close(&resize_area(&p, 2, 1).values, &expected));
}

#[test]
fn area_averaging_up_repeats_pixels() {
    let p = grey(2, 1, &[0.2, 0.8]);
    assert!(close(
        &resize_area(&p, 4, 2).values,
        &[0.2, 0.2, 0.8, 0.8, 0.2, 0.2, 0.8, 0.8]
    ));
}

#[test]
fn fitting_keeps_the_aspect() {
    let p = Grey::blank(10, 5);
    let f = fit(&p, 20);
    assert_eq!((f.width, f.height), (20, 10));
    let tall = fit(&Grey::blank(3, 300), 28);
    assert_eq!(
        (tall.width, tall.height),
        (1, 28),
        "never narrower than a pixel"
    );
}

#[test]
fn centre_of_mass_is_in_pixel_units() {
    let p = grey(4, 1, &[0.0, 0.0, 0.0, 1.0]);
    assert_eq!(centre_of_mass(&p), (3.5, 0.5));
    let p = grey(2, 2, &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(centre_of_mass(&p), (1.0, 1.0));
    assert_eq!(centre_of_mass(&Grey::blank(4, 2)), (2.0, 1.0));
}

#[test]
fn garments_are_centred_by_their_box() {
    assert_eq!(offset(&Grey::blank(20, 10), 28, Framing::Garment), (4, 9));
    assert_eq!(offset(&Grey::blank(28, 28), 28, Framing::Garment), (0, 0));
    // 15 rows leave 13: 7 above, 6 below.
    assert_eq!(offset(&Grey::blank(28, 15), 28, Framing::Garment), (0, 7));
}

#[test]
fn digits_are_centred_by_their_mass_and_never_past_an_edge() {
    // All the mass in the top-left pixel of a 2×2: its centre (0.5, 0.5) goes to
    // (14, 14), so the picture moves by 13.5, rounded to 14.
    let p = grey(2, 2, &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(offset(&p, 28, Framing::Digit), (14, 14));
    // A 20-wide stroke with its mass at its far left would move 14 to the right, past
    // the edge: it stops at 8.
    let mut wide = Grey::blank(20, 1);
    wide.values[0] = 1.0;
    assert_eq!(offset(&wide, 28, Framing::Digit).0, 8);
    // With its mass at the far right it would move left: it stays at 0.
    wide.values.reverse();
    assert_eq!(offset(&wide, 28, Framing::Digit).0, 0);
}

#[test]
fn placing_puts_content_at_its_offset() {
    let p = grey(2, 1, &[0.5, 1.0]);
    let out = place(&p, 4, (1, 2));
    let mut expected = vec![0.0; 16];
    expected[2 * 4 + 1] = 0.5;
    expected[2 * 4 + 2] = 1.0;
    assert_eq!(out.values, expected);
}

/// A `w × h` white picture with a black `rw × rh` rectangle at (x, y).
fn rectangle_on_white(w: usize, h: usize, (x, y, rw, rh): (usize, usize, usize, usize)) -> Grey {
    let mut p = Grey::new(w, h, vec![1.0; w * h]);
    for row in y..y + rh {
        for col in x..x + rw {
            p.values[row * w + col] = 0.0;
        }
    }
    p
}

fn lit(p: &Grey) -> Vec<(usize, usize)> {
    (0..p.height)
        .flat_map(|y| (0..p.width).map(move |x| (x, y)))
        .filter(|&(x, y)| p.at(x, y) > 0.5)
        .collect()
}

#[test]
fn a_garment_photo_fills_the_frame_on_its_longer_side() {
    let photo = rectangle_on_white(100, 60, (30, 20, 28, 14));
    let out = prepare(&photo, 28, Framing::Garment).unwrap();
    let expected: Vec<(usize, usize)> =
        (7..21).flat_map(|y| (0..28).map(move |x| (x, y))).collect();
    assert_eq!(lit(&out), expected);
}

#[test]
fn a_digit_fits_twenty_pixels_centred_by_mass() {
    let photo = rectangle_on_white(100, 60, (30, 20, 28, 14));
    let out = prepare(&photo, 28, Framing::Digit).unwrap();
    // 28×14 → 20×10, its centre of mass (10, 5) moved to (14, 14).
    let expected: Vec<(usize, usize)> =
        (9..19).flat_map(|y| (4..24).map(move |x| (x, y))).collect();
    assert_eq!(lit(&out), expected);
}

#[test]
fn framing_follows_the_data_set() {
    use crate::data::KnownDataset;
    let names = |d: KnownDataset| {
        d.classes()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(Framing::of(&names(KnownDataset::Mnist)), Framing::Digit);
    assert_eq!(
        Framing::of(&names(KnownDataset::FashionMnist)),
        Framing::Garment
    );
    assert_eq!(Framing::Digit.content_box(28), 20);
}

// Decoding: files of every kind the issue names, written here with the encoders.

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

const HOW: Preparation = Preparation {
    frame: 28,
    framing: Framing::Garment,
    raw: false,
};

/// A 40×20 picture: a dark 10×10 square at (5, 5) on white.
fn square(x: u32, y: u32) -> f32 {
    if (5..15).contains(&x) && (5..15).contains(&y) {
        0.0
    } else {
        1.0
    }
}

fn decoded_square(path: &Path) {
    let g = decode(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!((g.width, g.height), (40, 20));
    assert!(g.at(0, 0) > 0.95, "{}: white corner", path.display());
    assert!(g.at(10, 10) < 0.05, "{}: dark square", path.display());
}

#[test]
fn decodes_grey_rgb_and_16_bit_png_jpeg_and_pnm() {
    let d = dir();
    let byte = |x, y| (square(x, y) * 255.0) as u8;
    let grey8 = image::ImageBuffer::from_fn(40, 20, |x, y| Luma([byte(x, y)]));
    let rgb = image::ImageBuffer::from_fn(40, 20, |x, y| Rgb([byte(x, y); 3]));
    let grey16 =
        image::ImageBuffer::from_fn(40, 20, |x, y| Luma([(square(x, y) * 65535.0) as u16]));
    for (name, saved) in [
        ("grey.png", grey8.save(d.path().join("grey.png"))),
        ("rgb.png", rgb.save(d.path().join("rgb.png"))),
        ("grey16.png", grey16.save(d.path().join("grey16.png"))),
        ("photo.jpg", rgb.save(d.path().join("photo.jpg"))),
        ("grey.pgm", grey8.save(d.path().join("grey.pgm"))),
        ("rgb.ppm", rgb.save(d.path().join("rgb.ppm"))),
    ] {
        saved.unwrap_or_else(|e| panic!("{name}: {e}"));
        decoded_square(&d.path().join(name));
    }
}

#[test]
fn transparency_is_read_as_white_paper() {
    let d = dir();
    // A drawing program's export: black strokes on a transparent (black) background.
    let rgba = image::ImageBuffer::from_fn(40, 20, |x, y| {
        Rgba([0u8, 0, 0, if square(x, y) == 0.0 { 255 } else { 0 }])
    });
    let path = d.path().join("rgba.png");
    rgba.save(&path).unwrap();
    decoded_square(&path);
}

#[test]
fn decodes_palette_png() {
    let d = dir();
    let path = d.path().join("palette.png");
    let file = std::fs::File::create(&path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 40, 20);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 255, 255, 0, 0, 0]);
    let mut writer = encoder.write_header().unwrap();
    let indices: Vec<u8> = (0..20)
        .flat_map(|y| (0..40).map(move |x| u8::from(square(x, y) == 0.0)))
        .collect();
    writer.write_image_data(&indices).unwrap();
    writer.finish().unwrap();
    decoded_square(&path);
}

fn error_of(path: &Path) -> String {
    OwnImage::load(path, None, HOW).unwrap_err().to_string()
}

#[test]
fn a_text_file_named_png_is_not_an_image() {
    let d = dir();
    let path = d.path().join("notes.png");
    std::fs::write(&path, "these are my lecture notes\n").unwrap();
    let e = error_of(&path);
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert!(e.contains("not an image"), "{e}");
}

#[test]
fn a_truncated_png_is_damaged() {
    let d = dir();
    let full = d.path().join("full.png");
    image::ImageBuffer::from_fn(64, 64, |x, y| Luma([((x * y) % 256) as u8]))
        .save(&full)
        .unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let path = d.path().join("cut.png");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = error_of(&path);
    assert!(e.contains("cut.png") && e.contains("PNG"), "{e}");
}

/// A PNG that claims `width × height` pixels and stops after its header.
fn header_only_png(path: &Path, width: u32, height: u32) {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let writer = encoder.write_header().unwrap();
        drop(writer);
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_enormous_png_is_refused_before_its_pixels() {
    let d = dir();
    let path = d.path().join("huge.png");
    header_only_png(&path, 60_000, 60_000);
    let e = error_of(&path);
    assert!(e.contains("huge.png") && e.contains("60000×60000"), "{e}");
    assert!(e.contains("50 megapixels"), "{e}");
}

#[test]
fn a_missing_file_is_named() {
    let e = error_of(&PathBuf::from("/nonexistent/shoe.png"));
    assert!(e.starts_with("/nonexistent/shoe.png: cannot read"), "{e}");
}

#[test]
fn raw_images_must_be_the_frame_size() {
    let d = dir();
    let path = d.path().join("big.png");
    image::ImageBuffer::from_fn(40, 20, |_, _| Luma([0u8]))
        .save(&path)
        .unwrap();
    let raw = Preparation { raw: true, ..HOW };
    let e = OwnImage::load(&path, None, raw).unwrap_err().to_string();
    assert!(e.contains("40×20") && e.contains("28×28"), "{e}");
    let exact = d.path().join("exact.png");
    image::ImageBuffer::from_fn(28, 28, |x, _| Luma([(x * 9) as u8]))
        .save(&exact)
        .unwrap();
    let own = OwnImage::load(&exact, Some(3), raw).unwrap();
    assert_eq!(own.name, "exact.png");
    assert_eq!(own.label, Some(3));
    assert_eq!(&own.pixels[..3], &[0, 9, 18], "raw pixels kept as they are");
}

#[test]
fn a_flat_file_is_refused() {
    let d = dir();
    let path = d.path().join("white.png");
    image::ImageBuffer::from_fn(30, 30, |_, _| Luma([255u8]))
        .save(&path)
        .unwrap();
    assert!(error_of(&path).contains("one flat colour"));
}

#[test]
fn loaded_images_get_their_own_ids() {
    let a = OwnImage::new("a", None, vec![0; 4]);
    let b = OwnImage::new("a", None, vec![0; 4]);
    assert_ne!(a.id, b.id);
}

#[test]
fn an_image_spec_may_name_its_class() {
    let classes: Vec<String> = ["T-shirt/top", "Trouser", "Coat"]
        .map(String::from)
        .to_vec();
    assert_eq!(split_class("shoe.png", &classes), Ok(("shoe.png", None)));
    assert_eq!(
        split_class("coat.jpg=coat", &classes),
        Ok(("coat.jpg", Some(2)))
    );
    assert_eq!(split_class("x.png=1", &classes), Ok(("x.png", Some(1))));
    let e = split_class("x.png=Boot", &classes).unwrap_err();
    assert!(
        e.contains("`Boot` is not a class") && e.contains("Trouser"),
        "{e}"
    );
    let e = OwnImage::from_spec("x.png=Boot", &classes, HOW, None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.png=Boot: `Boot` is not a class"), "{e}");
}

#[test]
fn encoders_round_trip_what_prepare_makes() {
    // `--save-preprocessed` writes what the network saw; reading it back raw gives the
    // same bytes.
    let d = dir();
    let photo = rectangle_on_white(60, 60, (10, 20, 30, 15));
    let bytes = prepare(&photo, 28, Framing::Garment).unwrap().to_bytes();
    let path = d.path().join("seen.png");
    std::fs::write(&path, encode_png(&bytes, 28, 28).unwrap()).unwrap();
    let back = OwnImage::load(&path, None, Preparation { raw: true, ..HOW }).unwrap();
    assert_eq!(back.pixels, bytes);
}
