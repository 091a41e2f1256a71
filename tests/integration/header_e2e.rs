//! The header in a real terminal at the sizes a lecture uses, with `--pace 2000`: the
//! pace reads `2,000` whole or not at all, and line 2 never ends in a cut word (items
//! are left out whole, with `…`).

use crate::tmux_e2e::Tmux;

/// The header's two lines.
fn header(screen: &str) -> (String, String) {
    let mut lines = screen.lines().map(str::to_owned);
    (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    )
}

#[test]
fn at_80_100_120_and_160_columns_the_header_never_cuts_a_number_or_a_word() {
    let home = tempfile::tempdir().unwrap();
    let Some(t) = Tmux::launch(
        home.path(),
        "",
        "train --data embedded --epochs 50 --pace 2000",
    ) else {
        return;
    };
    let whole = t.wait_for("the header", |s| header(s).0.contains("ex/s"));
    let words: Vec<String> = header(&whole)
        .1
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(whole.contains("2,000"), "{whole}");
    for (w, h) in [(80, 24), (100, 30), (120, 36), (160, 48)] {
        t.resize(w, h);
        std::thread::sleep(std::time::Duration::from_millis(400));
        let screen = t.wait_for("the resized header", |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.trim_end().chars().count() <= usize::from(w))
                && header(s).0.contains("ex/s")
        });
        let (one, two) = header(&screen);
        for line in [&one, &two] {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            for pair in tokens.windows(2) {
                if pair[0] == "pace" {
                    assert_eq!(pair[1], "2,000", "{w}×{h}: {line}");
                }
            }
            assert!(
                tokens
                    .iter()
                    .all(|t| !t.starts_with("2,0") || *t == "2,000"),
                "{w}×{h}: {line}"
            );
        }
        // Line 2's settings and data: every word one of the whole line's, or the
        // `…` that says something was left out.
        for word in two.split_whitespace() {
            assert!(
                word == "…" || words.iter().any(|x| x == word),
                "{w}×{h}: `{word}` is cut: {two}"
            );
        }
    }
    t.keys(&["C-c"]);
}
