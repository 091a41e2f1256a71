//! The real binary in a real terminal: tmux runs the dashboard, `send-keys` types and
//! `capture-pane` reads the screen. `.ci/run` installs tmux; where it is missing (and
//! not on CI) the test says so and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(args: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is required on CI (.ci/run installs it)"
            );
            eprintln!("tmux not installed; skipping the end-to-end test");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let t = Tmux {
            socket: format!("lenet-tui-test-{}", std::process::id()),
            dir,
        };
        let exit_file = t.exit_file();
        let script = format!(
            "XDG_STATE_HOME={d} XDG_CONFIG_HOME={d} XDG_DATA_HOME={d} {bin} {args}; echo $? > {exit}; sleep 60",
            d = t.dir.path().display(),
            bin = env!("CARGO_BIN_EXE_lenet-tui"),
            args = args.replace(
                "CAPTURES",
                &t.dir.path().join("captures").display().to_string()
            ),
            exit = exit_file.display(),
        );
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "160",
            "-y",
            "48",
            &script,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(t)
    }

    fn exit_file(&self) -> PathBuf {
        self.dir.path().join("exit-status")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Waits until the screen satisfies `ok`, failing with the last screen.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn resize(&self, w: u16, h: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "e2e",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

fn shown_class(screen: &str) -> String {
    // The caption under the image: `#INDEX CLASS`.
    screen
        .lines()
        .find_map(|l| {
            let start = l.find('#')?;
            let rest = &l[start..];
            // Class names are words (`Ankle boot`, `T-shirt/top`); the maps beside
            // them are block glyphs.
            let words: Vec<&str> = rest
                .split_whitespace()
                .skip(1)
                .take_while(|w| w.chars().any(char::is_alphabetic))
                .collect();
            Some(words.join(" "))
        })
        .unwrap_or_default()
}

#[test]
fn dashboard_in_a_real_terminal() {
    let Some(t) = Tmux::start("--data embedded --batch-size 32 --epochs 50 --capture-dir CAPTURES")
    else {
        return;
    };
    let captures = t.dir.path().join("captures");
    let screen = t.wait_for("all panels and a first prediction", |s| {
        [
            "Loss",
            "Accuracy",
            "Layers",
            "Activations",
            "Space pause",
            "AvgPool2d",
            "pred ",
        ]
        .iter()
        .all(|w| s.contains(w))
            && header(s).contains("running")
    });
    assert!(
        screen.contains("Pullover"),
        "starts on a pullover:\n{screen}"
    );

    // Space pauses: the header says so and nothing moves for two seconds.
    t.keys(&["Space"]);
    let paused = t.wait_for("paused", |s| header(s).contains("paused"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(paused, t.screen(), "the screen changed while paused");
    t.keys(&["Space"]);
    t.wait_for("running again", |s| header(s).contains("running"));

    // p swaps the table's pooling rows to MaxPool2d, and back.
    t.keys(&["p"]);
    t.wait_for("max pooling", |s| {
        s.matches("MaxPool2d").count() == 2 && !s.contains("AvgPool2d")
    });
    t.keys(&["p"]);
    t.wait_for("avg pooling", |s| {
        s.matches("AvgPool2d").count() == 2 && !s.contains("MaxPool2d")
    });

    // → moves to the next test image, of another class.
    let before = shown_class(&t.screen());
    t.keys(&["Right"]);
    t.wait_for("another image", |s| {
        let now = shown_class(s);
        !now.is_empty() && now != before
    });

    // Tab shows two images: the second is a coat.
    t.keys(&["Tab"]);
    t.wait_for("two images", |s| {
        s.contains("Coat") && s.matches("pred ").count() == 2
    });

    // ? shows the help, generated from the keymap; any key closes it.
    t.keys(&["?"]);
    t.wait_for("help", |s| {
        s.contains("Keys") && s.contains("swap pooling: avg ↔ max")
    });
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("swap pooling: avg ↔ max"));

    // A resize below the minimum and back.
    t.resize(70, 20);
    t.wait_for("too-small notice", |s| s.contains("terminal too small"));
    t.resize(160, 48);
    t.wait_for("the dashboard again", |s| {
        s.contains("Layers") && s.contains("Activations")
    });

    // s saves the frame as SVG, PNG and text.
    t.keys(&["s"]);
    t.wait_for("screenshot saved", |s| s.contains("saved "));
    let files = |ext: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&captures)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == ext))
                    .collect()
            })
            .unwrap_or_default()
    };
    for ext in ["svg", "png", "txt"] {
        assert_eq!(files(ext).len(), 1, "one .{ext} in {}", captures.display());
    }
    let name = files("svg")[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("lenet-tui_") && name.ends_with("_avg-sigmoid.svg"),
        "{name}"
    );
    let txt = std::fs::read_to_string(&files("txt")[0]).unwrap();
    assert!(
        txt.contains("Activations") && txt.contains("AvgPool2d"),
        "{txt}"
    );

    // R records; a pooling swap leaves a marker; R again stops.
    t.keys(&["R"]);
    t.wait_for("recording", |s| header(s).contains("● REC"));
    t.keys(&["p"]);
    t.wait_for("max pooling", |s| s.contains("MaxPool2d"));
    t.keys(&["R"]);
    t.wait_for("recording saved", |s| {
        !header(s).contains("● REC") && s.contains("recording saved")
    });
    let casts = files("cast");
    assert_eq!(casts.len(), 1);
    let markers = common::check_cast(&casts[0]);
    assert!(markers.iter().any(|m| m == "pooling max"), "{markers:?}");
    t.keys(&["p"]);

    // q asks first while training runs; q again quits with status 0.
    t.keys(&["q"]);
    t.wait_for("quit confirmation", |s| s.contains("Press q again to quit"));
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.exit_file().exists() {
        assert!(
            Instant::now() < deadline,
            "did not exit; screen:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::fs::read_to_string(t.exit_file()).unwrap();
    assert_eq!(status.trim(), "0");
    // The terminal is restored: out of the alternate screen, cursor shown.
    let alt = t.tmux(&[
        "display-message",
        "-p",
        "-t",
        "e2e",
        "#{alternate_on} #{cursor_flag}",
    ]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0 1");
    let log = Path::new(t.dir.path()).join("lenet-tui/lenet-tui.log");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        log.contains("start: data embedded"),
        "events are logged to a file: {log}"
    );
}
