//! Screenshot formats against the frame they come from, and recordings against the
//! asciicast v2 format (and asciinema's own reader where it is installed).

use crate::common;

use lenet_tui::capture::{self, CELL_H, CELL_W, Palette};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

/// A small frame with text, colours, half blocks, braille and box drawing.
fn frame() -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, 24, 4));
    buf.set_string(0, 0, "╭ Loss ──────╮ <&>", Style::default().fg(Color::Gray));
    buf.set_string(
        0,
        1,
        "│⢰⠢⣀ train   │",
        Style::default().fg(Color::Indexed(75)),
    );
    buf.set_string(
        0,
        2,
        "▀▀▀▀",
        Style::default()
            .fg(Color::Rgb(252, 255, 164))
            .bg(Color::Rgb(0, 0, 4)),
    );
    buf.set_string(
        5,
        2,
        "● REC",
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    );
    buf.set_string(
        0,
        3,
        "p = 82%",
        Style::default().add_modifier(Modifier::REVERSED),
    );
    buf
}

#[test]
fn svg_parses_and_renders_to_the_png_size() {
    let buf = frame();
    for scale in [1, 2, 3] {
        let svg = capture::svg::frame_svg(&buf, &Palette::DARK, scale, Some("a <title>"));
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let mut options = resvg::usvg::Options::default();
        options.fontdb_mut().load_system_fonts();
        let tree = resvg::usvg::Tree::from_str(&svg, &options).expect("a valid SVG");
        let size = tree.size().to_int_size();
        let png = capture::png::frame_canvas(&buf, &Palette::DARK, scale);
        assert_eq!((size.width(), size.height()), (png.width(), png.height()));
        assert_eq!(png.width(), 24 * CELL_W * scale);
        assert_eq!(png.height(), 4 * CELL_H * scale);
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::default(),
            &mut pixmap.as_mut(),
        );
        // The half blocks are rectangles: top half bright, bottom half dark, exactly.
        let px = |x: u32, y: u32| {
            let p = pixmap.pixel(x, y).unwrap();
            [p.red(), p.green(), p.blue()]
        };
        let (cw, ch) = (CELL_W * scale, CELL_H * scale);
        assert_eq!(px(cw / 2, 2 * ch + ch / 4), [252, 255, 164]);
        assert_eq!(px(cw / 2, 2 * ch + 3 * ch / 4), [0, 0, 4]);
    }
}

#[test]
fn svg_keeps_every_character_and_colour() {
    let svg = capture::svg::frame_svg(&frame(), &Palette::DARK, 2, None);
    for text in ["Loss", "train", "&lt;&amp;&gt;", "⢰⠢⣀", "REC", "p", "82%"] {
        assert!(svg.contains(text), "{text} missing");
    }
    assert!(svg.contains(r##"fill="#fcffa4""##), "half-block colour");
    assert!(svg.contains(r#"font-weight="bold""#));
    assert!(svg.contains("DejaVu Sans Mono"));
}

#[test]
fn png_has_the_exact_size_and_decodes() {
    let buf = frame();
    let bytes = capture::png::frame_png(&buf, &Palette::LIGHT, 2).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    assert_eq!(
        (reader.info().width, reader.info().height),
        (24 * CELL_W * 2, 4 * CELL_H * 2)
    );
}

#[test]
fn text_matches_the_buffer() {
    let buf = frame();
    let text = capture::text::frame_text(&buf);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    for (y, line) in lines.iter().enumerate() {
        let expected: String = (0..24).map(|x| buf[(x, y as u16)].symbol()).collect();
        assert_eq!(*line, expected);
    }
    assert!(lines[1].starts_with("│⢰⠢⣀ train"));
}

#[test]
fn screenshots_write_three_files_and_never_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new/sub");
    let first = capture::write_screenshot(&frame(), &Palette::DARK, 2, &target, "shot").unwrap();
    let names: Vec<String> = first
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["shot.svg", "shot.png", "shot.txt"]);
    let second = capture::write_screenshot(&frame(), &Palette::DARK, 2, &target, "shot").unwrap();
    assert!(second[0].ends_with("shot-2.svg"));
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 6);
}

#[test]
fn an_unwritable_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err =
        capture::write_screenshot(&frame(), &Palette::DARK, 1, &file.join("sub"), "s").unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[test]
fn recordings_are_asciicast_v2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.cast");
    let mut r = capture::cast::Recorder::create(&path, 80, 24, "test").unwrap();
    r.output("\x1b[2J\x1b[Hhello ▀".as_bytes()).unwrap();
    r.marker("pooling max").unwrap();
    r.resize(100, 30).unwrap();
    drop(r);
    assert_eq!(common::check_cast(&path), ["pooling max"]);
}
