//! The real binary in a real terminal: tmux runs the dashboard, `send-keys` types and
//! `capture-pane` reads the screen. `.ci/run` installs tmux; where it is missing (and
//! not on CI) the test says so and passes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One tmux server running lenet-tui in a 160×48 pane.
pub(crate) struct Tmux {
    socket: String,
    dir: PathBuf,
    _home: Option<tempfile::TempDir>,
}

/// Each session gets a tmux server of its own, so tests can run side by side.
static SESSIONS: AtomicU32 = AtomicU32::new(0);

impl Tmux {
    fn start(args: &str) -> Option<Tmux> {
        let home = tempfile::tempdir().unwrap();
        let mut t = Tmux::start_in(home.path(), args)?;
        t._home = Some(home);
        Some(t)
    }

    /// A session with extra environment `env` (`NAME=value …`) before the program.
    fn start_with_env(env: &str, args: &str) -> Option<Tmux> {
        let home = tempfile::tempdir().unwrap();
        let mut t = Tmux::launch(home.path(), env, args)?;
        t._home = Some(home);
        Some(t)
    }

    /// A session whose config, data and state dirs are `home` (which outlives it).
    fn start_in(home: &Path, args: &str) -> Option<Tmux> {
        Tmux::launch(home, "", args)
    }

    pub(crate) fn launch(home: &Path, env: &str, args: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is required on CI (.ci/run installs it)"
            );
            eprintln!("tmux not installed; skipping the end-to-end test");
            return None;
        }
        let t = Tmux {
            socket: format!(
                "lenet-tui-test-{}-{}",
                std::process::id(),
                SESSIONS.fetch_add(1, Ordering::Relaxed)
            ),
            dir: home.to_path_buf(),
            _home: None,
        };
        let exit_file = t.exit_file();
        let _ = std::fs::remove_file(&exit_file);
        let script = format!(
            "{env} XDG_STATE_HOME={d} XDG_CONFIG_HOME={d} XDG_DATA_HOME={d} {bin} {args} 2>{d}/stderr; echo $? > {exit}; sleep 60",
            d = t.dir.display(),
            env = env,
            bin = env!("CARGO_BIN_EXE_lenet-tui"),
            args = args.replace("CAPTURES", &t.dir.join("captures").display().to_string()),
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
        self.dir.join("exit-status")
    }

    /// The exit status once the program has ended.
    pub(crate) fn wait_exit(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.exit_file().exists() {
            assert!(
                Instant::now() < deadline,
                "did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(self.exit_file())
            .unwrap()
            .trim()
            .to_string()
    }

    /// The pid of lenet-tui: the child of the pane's shell.
    pub(crate) fn program_pid(&self) -> u32 {
        let out = self.tmux(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .expect("the shell runs lenet-tui")
            .parse()
            .unwrap()
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Waits until the screen satisfies `ok`, failing with the last screen.
    pub(crate) fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
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

    pub(crate) fn resize(&self, w: u16, h: u16) {
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
    let captures = t.dir.join("captures");
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

    // b, c and k show the probabilities, the confusion matrix and the kernels beside
    // the activations; all three fit at 160×48, and each hides again.
    let panels = [
        ("b", "Probabilities"),
        ("c", "Confusion"),
        ("k", "Kernels · layer 1, 6 of 5×5"),
    ];
    for (key, title) in panels {
        t.keys(&[key]);
        t.wait_for(title, |s| s.contains(title));
    }
    // `c` put its cursor on the most confused cell, which the line under the matrix
    // names with what Enter does.
    let screen = t.wait_for("the first epoch's confusion matrix", |s| {
        s.contains(" · Enter shows them") && s.contains("Confusion · epoch ")
    });
    assert!(
        panels.iter().all(|(_, title)| screen.contains(title)) && !screen.contains("no room"),
        "all three panels at once:\n{screen}"
    );
    for (key, title) in panels {
        t.keys(&[key]);
        t.wait_for(&format!("{title} hidden"), |s| !s.contains(title));
    }

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
    t.wait_for("avg pooling again", |s| !s.contains("MaxPool2d"));

    // Max pooling, then a restart: the avg run's curves stay, faint and labelled.
    t.keys(&["p"]);
    t.wait_for("max pooling", |s| s.contains("MaxPool2d"));
    t.keys(&["r"]);
    t.wait_for("restart confirmation", |s| s.contains("Restart?"));
    t.keys(&["r"]);
    t.wait_for("the earlier run's labels", |s| {
        s.contains("restarted with fresh weights")
            && s.contains("avg/sigmoid")
            && s.contains("max/sigmoid")
    });

    // q asks first while training runs; q again quits with status 0.
    t.keys(&["q"]);
    t.wait_for("quit confirmation", |s| s.contains("Press q again to quit"));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "0");
    // The terminal is restored: out of the alternate screen, cursor shown.
    let alt = t.tmux(&[
        "display-message",
        "-p",
        "-t",
        "e2e",
        "#{alternate_on} #{cursor_flag}",
    ]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0 1");
    let log = super::common::logs_in(&t.dir);
    assert!(
        log.contains("run started") && log.contains("data=embedded"),
        "events are logged to a file: {log}"
    );
}

/// The leftmost column of the Loss chart that has a plotted point (a braille cell).
fn first_plotted_column(screen: &str) -> Option<usize> {
    screen
        .lines()
        .skip(3)
        .take(14)
        .filter_map(|l| {
            l.chars()
                .take(62)
                .position(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
        })
        .min()
}

#[test]
fn hangup_with_on_hangup_stop_saves_and_resume_latest_continues_with_the_history() {
    let home = tempfile::tempdir().unwrap();
    // The old way out, kept on request (a hang-up otherwise trains on detached:
    // live_runs tests that).
    let args = "--data embedded --batch-size 32 --epochs 3 --on-hangup stop";
    // 188 batches of at least 10 ms an epoch: the hangup lands in epoch 2 however
    // fast the machine trains.
    let slow = "LENET_TUI_FAILPOINT=slow-batches:10";
    let Some(t) = Tmux::launch(home.path(), slow, args) else {
        return;
    };
    t.wait_for("epoch 2", |s| header(s).contains("epoch 2/3"));
    // kill -HUP is what the terminal sends when the SSH connection drops.
    let pid = t.program_pid();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(t.wait_exit(), "129", "SIGHUP exits with 128 + 1");
    let runs = lenet_tui::checkpoint::list_runs(&home.path().join("lenet-tui/runs")).unwrap();
    let newest = runs
        .last()
        .and_then(|r| r.checkpoints.last())
        .expect("a checkpoint");
    let saved = lenet_tui::checkpoint::load(newest).unwrap();
    assert_eq!(saved.meta.reason, lenet_tui::train::SaveReason::Hangup);
    assert_eq!(saved.meta.position.epoch, 2, "{:?}", saved.meta.position);
    assert!(saved.meta.position.batch > 0, "in the middle of the epoch");
    assert_eq!(saved.meta.history.epochs.len(), 1);
    drop(t);

    // Slow too, so the screen is caught while the resumed run is still in epoch 2.
    let Some(t) = Tmux::launch(home.path(), slow, "--resume latest") else {
        return;
    };
    let screen = t.wait_for("the resumed run", |s| {
        header(s).contains("epoch 2/3") && s.contains("restored")
    });
    // Epoch 1's curve is back: the loss line starts at the chart's left edge, not
    // where the resumed run began (a third of the way across).
    let first = first_plotted_column(&screen).expect("a plotted loss curve");
    assert!(first < 12, "loss curve starts at column {first}:\n{screen}");
    t.keys(&["q"]);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "0");
}

#[test]
fn a_diverging_run_pauses_and_u_restores_with_a_lower_rate() {
    let Some(t) = Tmux::start("--data embedded --lr 100 --epochs 2") else {
        return;
    };
    let screen = t.wait_for("the divergence", |s| {
        s.contains("diverged at epoch 1 batch") && header(s).contains("diverged")
    });
    assert!(
        screen.contains("back to the last good checkpoint, learning rate ÷ 10"),
        "{screen}"
    );
    t.keys(&["u"]);
    t.wait_for("the restored run at lr 10", |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("lr 10 "))
    });
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), "0");
}

#[test]
fn resize_storms_and_tiny_windows_never_break_the_dashboard() {
    let Some(t) = Tmux::start("--data embedded --epochs 1") else {
        return;
    };
    t.wait_for("the dashboard", |s| s.contains("Layers"));
    // With every optional panel, so their layout goes through the storm too.
    t.keys(&["b", "c", "k"]);
    t.wait_for("the panels", |s| s.contains("Kernels"));
    for (w, h) in [
        (1, 1),
        (2, 1),
        (1, 3),
        (200, 60),
        (79, 23),
        (80, 24),
        (3, 200),
    ] {
        t.resize(w, h);
    }
    for i in 0..60u16 {
        t.resize(1 + i * 5 % 170, 1 + i * 7 % 55);
    }
    // Detach-like: no client, tiny window, then back.
    t.resize(1, 1);
    std::thread::sleep(Duration::from_millis(500));
    t.resize(160, 48);
    t.wait_for("the dashboard after the storm", |s| {
        s.contains("Layers") && s.contains("Activations")
    });
    assert!(!t.exit_file().exists(), "still running");
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), "0");
}

#[test]
fn a_dashboard_panic_restores_the_terminal_and_keeps_a_checkpoint() {
    // Batches of at least 100 ms hold training in the middle of epoch 1 when the
    // second progress report (at most ~0.3 s in) makes the dashboard panic, on any
    // machine: the epoch's 24 batches take 2.4 s or more, so the checkpoint asked for
    // on the way out comes well before the epoch's end (whose checkpoint would already
    // hold that state).
    let Some(t) = Tmux::start_with_env(
        "LENET_TUI_FAILPOINT=slow-batches:100,dashboard-panic:2",
        "--data embedded --epochs 3",
    ) else {
        return;
    };
    let err = t.wait_panic_exit("failpoint dashboard-panic");
    let saved = newest_checkpoint(&t);
    assert_eq!(saved.meta.reason, lenet_tui::train::SaveReason::Panic);
    assert_eq!(saved.meta.position.epoch, 1, "{:?}", saved.meta.position);
    assert!(saved.meta.position.batch > 0, "{:?}", saved.meta.position);
    assert!(
        err.contains(&saved.dir.display().to_string()),
        "names the panic checkpoint: {err}"
    );
}

/// After the run has finished, its final checkpoint already holds everything (the
/// weights, the whole history, the position at the end), so a panic then writes no
/// new one and names that one.
#[test]
fn a_dashboard_panic_after_the_run_names_its_final_checkpoint() {
    let Some(t) = Tmux::start_with_env(
        "LENET_TUI_FAILPOINT=dashboard-panic-finished",
        "--data embedded --epochs 2",
    ) else {
        return;
    };
    let err = t.wait_panic_exit("failpoint dashboard-panic-finished");
    let runs = lenet_tui::checkpoint::list_runs(&t.dir.join("lenet-tui/runs")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].checkpoints.len(),
        3,
        "start and two epoch ends, no panic checkpoint: {:?}",
        runs[0].checkpoints
    );
    let saved = newest_checkpoint(&t);
    assert_eq!(saved.meta.reason, lenet_tui::train::SaveReason::EpochEnd);
    assert_eq!(saved.meta.position.epoch, 3, "past the last epoch");
    assert_eq!(saved.meta.position.batch, 0);
    assert_eq!(saved.meta.history.epochs.len(), 2);
    assert!(
        err.contains(&format!("checkpoint saved: {}", saved.dir.display())),
        "names the final checkpoint: {err}"
    );
}

impl Tmux {
    /// Waits for a panic's exit (101) and checks the terminal was restored and the
    /// message, the log and a checkpoint were named; returns stderr.
    fn wait_panic_exit(&self, message: &str) -> String {
        assert_eq!(
            self.wait_exit(),
            "101",
            "a panic exits with Rust's status 101"
        );
        let err = std::fs::read_to_string(self.dir.join("stderr")).unwrap();
        assert!(err.contains(message), "{err}");
        assert!(
            err.contains("log: ") && err.contains("lenet-tui/logs/") && err.contains("-train.log"),
            "{err}"
        );
        assert!(err.contains("checkpoint saved: "), "{err}");
        let alt = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            "e2e",
            "#{alternate_on} #{cursor_flag}",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&alt.stdout).trim(),
            "0 1",
            "terminal restored"
        );
        err
    }
}

/// The newest checkpoint of the only run in `t`'s home.
fn newest_checkpoint(t: &Tmux) -> lenet_tui::checkpoint::Checkpoint {
    let runs = lenet_tui::checkpoint::list_runs(&t.dir.join("lenet-tui/runs")).unwrap();
    let newest = runs
        .last()
        .and_then(|r| r.checkpoints.last())
        .expect("a checkpoint");
    lenet_tui::checkpoint::load(newest).unwrap()
}

/// `[` three times: an eighth of the measured speed, in the header; `]` back to full.
#[test]
fn pace_keys_slow_the_run_down_and_speed_it_up_again() {
    let Some(t) = Tmux::start("--data embedded --epochs 500") else {
        return;
    };
    t.wait_for("a measured speed at full speed", |s| {
        let h = header(s);
        h.contains("full speed") && !h.contains("– ex/s")
    });
    t.keys(&["[", "[", "["]);
    let screen = t.wait_for("a pace in the header", |s| {
        header(s).contains("of work · pace ")
    });
    let pace: u32 = header(&screen)
        .split("· pace ")
        .nth(1)
        .and_then(|rest| rest.split(" ex/s").next())
        .map(|n| n.replace(',', ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pace in {}", header(&screen)));
    assert!(pace >= 32, "{pace}");
    for _ in 0..6 {
        if header(&t.screen()).contains("full speed") {
            break;
        }
        t.keys(&["]"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    t.wait_for("full speed again", |s| header(s).contains("full speed"));
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

/// Space, then `n` steps exactly one batch at a time (the header counts them), and `N`
/// goes to the end of the epoch.
#[test]
fn stepping_while_paused_advances_one_batch_at_a_time() {
    let Some(t) = Tmux::start("--data embedded --epochs 500") else {
        return;
    };
    t.wait_for("training under way", |s| {
        !header(s).contains("– ex/s") && header(s).contains("running")
    });
    t.keys(&["Space"]);
    t.wait_for("paused", |s| header(s).contains("paused"));
    let batch = |s: &str| -> Option<(u32, u32)> {
        let rest = header(s).split(" batch ").nth(1)?;
        let (b, n) = rest.split_whitespace().next()?.split_once('/')?;
        Some((b.parse().ok()?, n.parse().ok()?))
    };
    let before = batch(&t.screen());
    t.keys(&["n"]);
    let screen = t.wait_for("the first step", |s| {
        batch(s).is_some() && batch(s) != before
    });
    let (first, batches) = batch(&screen).unwrap();
    for k in 1..=2 {
        t.keys(&["n"]);
        t.wait_for(&format!("step {k} after the first"), |s| {
            batch(s) == Some(((first + k - 1) % batches + 1, batches))
        });
    }
    assert!(header(&t.screen()).contains("paused"), "{}", t.screen());
    t.keys(&["N"]);
    t.wait_for("the epoch's end", |s| batch(s) == Some((batches, batches)));
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

/// The activation panel's rows with their colours: what the heatmaps show.
fn heatmap_rows(t: &Tmux) -> Vec<String> {
    let out = t.tmux(&["capture-pane", "-p", "-e", "-t", "e2e"]);
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("Activations"))
        .unwrap_or_else(|| panic!("no activations panel:\n{screen}"));
    // Up to the footer, whose status line changes with every key.
    lines[top + 1..lines.len().saturating_sub(2)]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// `,` looks back while paused: the header and the charts say so; `Home` shows the
/// fresh weights, whose heatmaps differ from the live ones; `End` returns to live and
/// the live heatmaps come back.
#[test]
fn comma_looks_back_and_end_returns_to_live() {
    // ReLU at 0.1 learns within the first epoch, so the fresh weights look different.
    let Some(t) = Tmux::start("--data embedded --epochs 500 --act relu --lr 0.1") else {
        return;
    };
    t.wait_for("a few epochs trained", |s| {
        let h = header(s);
        h.contains("running") && !h.contains("epoch 1/") && !h.contains("epoch 2/")
    });
    t.keys(&["Space"]);
    t.wait_for("paused", |s| header(s).contains("paused"));
    // A step refreshes the heatmaps at once, whatever the output budget held back.
    let batch = |s: &str| header(s).split(" batch ").nth(1).map(str::to_owned);
    let before = batch(&t.screen());
    t.keys(&["n"]);
    t.wait_for("a step", |s| batch(s).is_some() && batch(s) != before);
    std::thread::sleep(Duration::from_millis(500));
    let live = heatmap_rows(&t);
    t.keys(&[","]);
    let screen = t.wait_for("history in the header", |s| {
        header(s).contains("◀ history: epoch ")
    });
    assert!(
        screen.contains("◀ history @ "),
        "the charts mark it: {screen}"
    );
    t.keys(&["Home"]);
    let screen = t.wait_for("the first snapshot", |s| {
        header(s).contains("◀ history: epoch 0.00 of 500")
    });
    assert!(screen.contains("history @ epoch 0.00"), "{screen}");
    std::thread::sleep(Duration::from_millis(300));
    assert_ne!(heatmap_rows(&t), live, "the fresh weights' heatmaps");
    t.keys(&["."]);
    t.wait_for("one snapshot on", |s| {
        header(s).contains("◀ history: epoch ") && !header(s).contains("epoch 0.00 of")
    });
    t.keys(&["End"]);
    t.wait_for("live again", |s| !header(s).contains("history"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(heatmap_rows(&t), live, "the live heatmaps again");
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

/// Every file under `dir` with its bytes, for comparing a directory before and after.
fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The header's `NN%` of the run played so far.
fn percent(screen: &str) -> Option<u32> {
    header(screen)
        .split_whitespace()
        .find_map(|w| w.strip_suffix('%')?.parse().ok())
}

/// `lenet-tui replay latest` on a run trained before: it starts at the beginning and
/// plays, Space pauses (and the head stays put), `.` steps, `s` saves a screenshot
/// whose header shows the replayed epoch, `q` exits 0, and the run's files are the
/// same bytes afterwards.
#[test]
fn replay_latest_plays_a_saved_run_and_changes_nothing_in_it() {
    let home = tempfile::tempdir().unwrap();
    let trained = common::lenet_in(
        home.path(),
        &["train", "--headless", "--data", "embedded", "--epochs", "3"],
    );
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let runs = home.path().join("lenet-tui/runs");
    let before = files_in(&runs);
    assert!(
        before
            .iter()
            .any(|(p, _)| p.ends_with("history/timeline.safetensors")),
        "the run saved its history"
    );
    // 500 examples a second: 12 s an epoch of the 6,000-image subset.
    let Some(t) = Tmux::start_in(
        home.path(),
        "replay latest --pace 500 --capture-dir CAPTURES",
    ) else {
        return;
    };
    let screen = t.wait_for("the replay", |s| header(s).contains("▶ replaying"));
    assert!(header(&screen).contains("epoch 1/3"), "{screen}");
    assert!(
        percent(&screen).unwrap() <= 5,
        "starts at the beginning: {screen}"
    );
    assert!(screen.contains("replay of "), "{screen}");
    t.wait_for("the head moving", |s| percent(s).is_some_and(|p| p >= 3));
    t.keys(&["Space"]);
    let paused = t.wait_for("paused", |s| header(s).contains("‖ paused"));
    std::thread::sleep(Duration::from_millis(800));
    let held = t.screen();
    assert_eq!(
        header(&held),
        header(&paused),
        "a paused replay stays where it is"
    );
    t.keys(&["."]);
    let stepped = t.wait_for("a step", |s| {
        header(s).contains("‖ paused") && header(s) != header(&paused)
    });
    t.keys(&["s"]);
    t.wait_for("the screenshot", |s| s.contains("saved "));
    let captures = t.dir.join("captures");
    let text = std::fs::read_dir(&captures)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "txt"))
        .expect("a text screenshot");
    let shot = std::fs::read_to_string(&text).unwrap();
    let replayed = header(&stepped)
        .split("epoch ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(
        header(&shot).contains(&format!("epoch {replayed}")),
        "the screenshot's header shows epoch {replayed}: {shot}"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "0");
    assert!(
        files_in(&runs) == before,
        "replaying changed nothing in the run directory"
    );
}

/// Over SSH `COLORTERM` rarely arrives: at 256 colours the heatmaps keep their colour
/// map (many cube colours off the grey diagonal), the help names the depth, `NO_COLOR`
/// has no colour and `FORCE_COLOR=3` truecolor.
#[test]
fn at_256_colours_the_heatmaps_are_in_colour() {
    // The activations panel's escape codes, and the help's line about colours.
    let look = |env: &str| -> Option<(String, String)> {
        let t = Tmux::start_with_env(env, "--data embedded --epochs 500")?;
        t.wait_for("the heatmaps", |s| s.contains("layer 2"));
        std::thread::sleep(Duration::from_millis(500));
        // The activations panel only: the rest of the dashboard has colours of its own.
        let heatmaps = heatmap_rows(&t).join("\n");
        t.keys(&["?"]);
        let help = t.wait_for("the help", |s| s.contains("colours:"));
        let line = help.lines().find(|l| l.contains("colours:")).unwrap();
        let colours = line[line.find("colours:").unwrap()..]
            .split('│')
            .next()
            .unwrap()
            .trim()
            .to_string();
        t.keys(&["?", "q", "q"]);
        assert_eq!(t.wait_exit(), "0");
        Some((heatmaps, colours))
    };
    let cube = |screen: &str| -> usize {
        let mut found = std::collections::BTreeSet::new();
        for part in screen.split("5;").skip(1) {
            let n: String = part.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(i) = n.parse::<u8>()
                && (16..=231).contains(&i)
            {
                let c = i - 16;
                if !(c / 36 == c / 6 % 6 && c / 6 % 6 == c % 6) {
                    found.insert(i);
                }
            }
        }
        found.len()
    };
    let rgb = |screen: &str| screen.matches("8;2;").count();
    let Some((heatmaps, help)) = look("env -u COLORTERM TERM=xterm-256color") else {
        return;
    };
    assert!(
        cube(&heatmaps) >= 12,
        "{} cube colours at 256",
        cube(&heatmaps)
    );
    assert_eq!(rgb(&heatmaps), 0, "no 24-bit colours at 256");
    assert_eq!(help, "colours: 256, detected (--color sets it)");
    let (heatmaps, help) = look("env -u COLORTERM TERM=xterm-256color NO_COLOR=1").unwrap();
    assert_eq!(
        cube(&heatmaps) + rgb(&heatmaps),
        0,
        "no colour with NO_COLOR"
    );
    assert_eq!(help, "colours: none, detected (--color sets it)");
    let (heatmaps, help) = look("env -u COLORTERM TERM=xterm-256color FORCE_COLOR=3").unwrap();
    assert!(rgb(&heatmaps) > 100, "24-bit colours with FORCE_COLOR=3");
    assert_eq!(help, "colours: truecolor, detected (--color sets it)");
}

/// Whether the program in the pane has asked tmux for mouse reports.
fn mouse_on(t: &Tmux) -> bool {
    let out = t.tmux(&["display-message", "-p", "-t", "e2e", "#{mouse_any_flag}"]);
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

/// The probabilities panel's bars: what the model makes of the left image.
fn probability_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.rsplit('│').nth(1))
        .filter(|cell| cell.trim_end().ends_with('%'))
        .map(str::to_string)
        .collect()
}

/// The newest `drawing_*.png` in the captures, as 28×28 bytes.
fn newest_drawing(t: &Tmux) -> Vec<u8> {
    let dir = t.dir.join("captures");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        found.retain(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("drawing_") && name.ends_with(".png")
        });
        found.sort();
        if let Some(path) = found.last() {
            let image = image::open(path).unwrap().to_luma8();
            assert_eq!(image.dimensions(), (28, 28));
            std::fs::remove_file(path).unwrap();
            return image.into_raw();
        }
        assert!(
            Instant::now() < deadline,
            "no drawing saved in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Draw mode: `i` turns the left image into a canvas (and only then asks for the
/// mouse); arrows and Space draw a vertical stroke while the probabilities and the
/// activations follow it; Enter keeps it as a file and first in the image list; Esc
/// leaves; SGR mouse drags paint too.
#[test]
fn drawing_with_the_keyboard_and_the_mouse() {
    // ReLU at 0.1 tells inputs apart within an epoch or two; the fresh sigmoid net
    // gives every input nearly the same probabilities.
    let Some(t) =
        Tmux::start("--data embedded --epochs 500 --act relu --lr 0.1 --capture-dir CAPTURES")
    else {
        return;
    };
    t.resize(120, 36);
    t.wait_for("a few epochs trained", |s| {
        let h = header(s);
        h.contains("running") && !h.contains("epoch 1/") && !h.contains("epoch 2/")
    });
    t.keys(&["Space", "b"]);
    t.wait_for("paused, with the probabilities", |s| {
        header(s).contains("paused") && s.contains("Probabilities")
    });
    assert!(!mouse_on(&t), "no mouse capture outside draw mode");
    t.keys(&["i"]);
    t.wait_for("draw mode", |s| s.contains("✎ draw mode"));
    assert!(mouse_on(&t), "draw mode captures the mouse");
    // A blank canvas's reading, then a stroke from (14, 6) down to (14, 18).
    std::thread::sleep(Duration::from_millis(600));
    let blank = probability_rows(&t.screen());
    let blank_maps = heatmap_rows(&t);
    assert_eq!(blank.len(), 10, "{blank:?}");
    t.keys(&["Up", "Up", "Up", "Up", "Up", "Up", "Up", "Up", "Space"]);
    for _ in 0..12 {
        t.keys(&["Down"]);
    }
    t.wait_for("the probabilities to follow the stroke", |s| {
        let now = probability_rows(s);
        now.len() == 10 && now != blank
    });
    assert_ne!(
        heatmap_rows(&t),
        blank_maps,
        "the activations follow it too"
    );
    t.keys(&["Enter"]);
    t.wait_for("the drawing kept", |s| s.contains("drawing kept as"));
    assert!(!mouse_on(&t), "mouse capture off again");
    let drawn = newest_drawing(&t);
    let at = |x: usize, y: usize| drawn[y * 28 + x];
    assert!(
        (6..=18).all(|y| at(14, y) > 200),
        "a vertical stroke: {drawn:?}"
    );
    assert_eq!(at(4, 4), 0);
    assert_eq!(at(14, 24), 0, "below the stroke");
    // The kept drawing is the left image now, under its file's name.
    let screen = t.wait_for("the drawing shown", |s| s.contains("drawing_"));
    assert!(!screen.contains("✎ draw mode"), "{screen}");

    // Esc leaves without keeping anything.
    t.keys(&["i", "Space", "Right", "Right"]);
    t.wait_for("draw mode again", |s| s.contains("✎ draw mode"));
    t.keys(&["Escape"]);
    t.wait_for("draw mode left", |s| {
        s.contains("left draw mode") && !s.contains("✎ draw mode")
    });

    // The mouse: a drag along one row of the canvas, which starts one row below the
    // activations' border, one column in (SGR reports count from 1).
    t.keys(&["i"]);
    let screen = t.wait_for("draw mode for the mouse", |s| s.contains("✎ draw mode"));
    let top = screen
        .lines()
        .position(|l| l.contains("Activations"))
        .unwrap();
    let row = top + 1 + 4 + 1;
    let sgr = |code: u32, col: usize, end: char| format!("\x1b[<{code};{col};{row}{end}");
    let mut args = vec![
        "send-keys".to_string(),
        "-t".into(),
        "e2e".into(),
        "-l".into(),
    ];
    args.push(sgr(0, 4, 'M'));
    args.extend((5..=16).map(|c| sgr(32, c, 'M')));
    args.push(sgr(0, 16, 'm'));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.tmux(&args);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["Enter"]);
    t.wait_for("the mouse drawing kept", |s| s.contains("drawing kept as"));
    let drawn = newest_drawing(&t);
    let longest_row = (0..28)
        .map(|y| (0..28).filter(|&x| drawn[y * 28 + x] > 200).count())
        .max()
        .unwrap();
    assert!(longest_row >= 10, "a horizontal line: {drawn:?}");
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

/// `o` opens an image file while the run goes on: a bad one is named in the status
/// line and nothing else changes; a good one is shown first, by its file name.
#[test]
fn o_opens_an_image_file_at_run_time() {
    let Some(t) = Tmux::start("--data embedded --epochs 500") else {
        return;
    };
    t.wait_for("training", |s| header(s).contains("running"));
    let bad = t.dir.join("notes.png");
    std::fs::write(&bad, "not a picture\n").unwrap();
    let good = t.dir.join("shoe.png");
    image::ImageBuffer::from_fn(60, 40, |x, y| {
        image::Luma([if (10..50).contains(&x) && (15..30).contains(&y) {
            0u8
        } else {
            255
        }])
    })
    .save(&good)
    .unwrap();
    t.keys(&["o"]);
    t.wait_for("the prompt", |s| s.contains("Open an image"));
    t.keys(&["-l", &bad.display().to_string()]);
    t.keys(&["Enter"]);
    let screen = t.wait_for("the refusal", |s| s.contains("cannot open:"));
    assert!(screen.contains("not an image"), "{screen}");
    assert!(header(&screen).contains("running"), "the run carries on");
    t.keys(&["o"]);
    t.wait_for("the prompt again", |s| s.contains("Open an image"));
    t.keys(&["-l", &format!("{}=Sneaker", good.display())]);
    t.keys(&["Enter"]);
    let screen = t.wait_for("the image shown", |s| s.contains("shoe.png Sneaker"));
    assert!(screen.contains("added first to the images"), "{screen}");
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

/// The gradient-flow panel's rows below its title, from its left border on.
fn gradient_panel(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some((top, col)) = lines.iter().enumerate().find_map(|(i, l)| {
        let byte = l.find("╭ Gradient flow")?;
        Some((i, l[..byte].chars().count()))
    }) else {
        return Vec::new();
    };
    lines[top + 1..]
        .iter()
        .map(|l| l.chars().skip(col).collect::<String>())
        .take_while(|l| !l.starts_with('╰'))
        .collect()
}

/// `d` shows gradient flow with a row per layer in the table; `a` (paused, so nothing
/// else moves) leaves a marker on its chart and the next reports say "dead" instead
/// of "saturated"; `d` hides it; at 160×48 and 120×36.
#[test]
fn d_shows_gradient_flow_and_a_marks_it() {
    let Some(t) = Tmux::start("--data embedded --epochs 500") else {
        return;
    };
    t.wait_for("training under way", |s| {
        !header(s).contains("– ex/s") && header(s).contains("running")
    });
    t.keys(&["d"]);
    let layers = ["conv1", "conv2", "fc1", "fc2", "fc3"];
    let has_table = |s: &str, what: &str| {
        let panel = gradient_panel(s).join("\n");
        layers.iter().all(|l| panel.contains(l)) && panel.contains(what)
    };
    t.wait_for("the panel with its table", |s| has_table(s, "% saturated"));
    t.keys(&["Space"]);
    t.wait_for("paused", |s| header(s).contains("paused"));
    std::thread::sleep(Duration::from_millis(500));
    let before = gradient_panel(&t.screen());
    t.keys(&["a"]);
    let marked = t.wait_for("a marker on the chart", |s| {
        let now = gradient_panel(s);
        now.len() == before.len() && now != before
    });
    assert!(!has_table(&marked, "% dead"), "no report while paused");
    t.keys(&["Space"]);
    t.wait_for("ReLU's dead units in the table", |s| has_table(s, "% dead"));
    t.resize(120, 36);
    let small = t.wait_for("the panel at 120×36", |s| {
        s.lines().count() <= 36 && has_table(s, "% dead")
    });
    assert!(!small.contains("no room for"), "{small}");
    t.keys(&["d"]);
    t.wait_for("the panel hidden", |s| !s.contains("Gradient flow"));
    t.keys(&["q", "q"]);
    assert_eq!(t.wait_exit(), "0");
}

#[test]
fn a_race_in_the_dashboard_focuses_with_2_and_p_changes_only_the_focused_variant() {
    let home = tempfile::tempdir().unwrap();
    let race = "--data embedded --batch-size 100 --epochs 2 --race pool=max --race act=relu,lr=0.1";
    // 60 batches of at least 40 ms per variant and epoch: the keys land mid-run.
    let Some(t) = Tmux::launch(home.path(), "LENET_TUI_FAILPOINT=slow-batches:40", race) else {
        return;
    };
    let labels = ["1 avg sigmoid lr 0.9", "2 max", "3 relu lr 0.1"];
    // Each label in the header, both chart legends and over its activation column.
    // (The labels are up before the trainers' first reports: wait for all three
    // columns' activations too, however slowly a busy machine starts them.)
    let screen = t.wait_for(
        "every variant named four times, with its activations",
        |s| {
            labels.iter().all(|l| s.matches(l).count() >= 4)
                && s.matches("layer 1 6×28×28").count() == 3
        },
    );
    assert!(screen.contains("Layers: 1 avg sigmoid lr 0.9"), "{screen}");
    t.keys(&["2"]);
    let screen = t.wait_for("the second variant's table", |s| {
        s.contains("Layers: 2 max")
    });
    assert!(screen.contains("MaxPool2d"), "{screen}");
    t.keys(&["p"]);
    t.wait_for("the change marked", |s| s.contains("┆ pool avg @"));
    t.wait_for("all finished", |s| s.matches('✔').count() >= 4);
    t.keys(&["q"]);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "0");
    // The change went to the focused variant alone.
    let runs = lenet_tui::checkpoint::list_runs(&home.path().join("lenet-tui/runs")).unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    let changes: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| {
            let newest = r.checkpoints.last().expect("a checkpoint");
            let saved = lenet_tui::checkpoint::load(newest).unwrap();
            saved
                .meta
                .history
                .changes
                .iter()
                .filter(|c| matches!(c.change, lenet_tui::train::Change::Pooling(_)))
                .map(|c| c.at)
                .collect()
        })
        .collect();
    assert_eq!(
        changes.iter().map(Vec::len).collect::<Vec<_>>(),
        [0, 1, 0],
        "{changes:?}"
    );
    assert!(
        changes[1][0] < 2.0,
        "the change landed mid-run: {changes:?}"
    );
    drop(t);

    // `--resume latest` goes on with all three.
    let out = common::lenet_in(
        home.path(),
        &[
            "train",
            "--headless",
            "--json",
            "--resume",
            "latest",
            "--epochs",
            "3",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for label in ["avg sigmoid lr 0.9", "max", "relu lr 0.1"] {
        let epoch3 = text.lines().any(|l| {
            l.contains(r#""event":"epoch""#)
                && l.contains(&format!(r#""variant":"{label}""#))
                && l.contains(r#""epoch":3.0"#)
        });
        assert!(epoch3, "{label} continued to epoch 3:\n{text}");
    }
}

#[test]
fn a_dashboard_whose_last_checkpoint_cannot_be_written_says_so_and_exits_1() {
    let home = tempfile::tempdir().unwrap();
    // A directory under a regular file can never be made, whoever runs the test.
    let blocker = home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let config = home.path().join("lenet-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let runs = blocker.join("runs");
    std::fs::write(
        &config,
        format!("[checkpoints]\ndir = \"{}\"\n", runs.display()),
    )
    .unwrap();
    let Some(t) = Tmux::start_in(
        home.path(),
        "--data embedded --batch-size 100 --epochs 1 --exit-on-finish",
    ) else {
        return;
    };
    assert_eq!(t.wait_exit(), "1", "nothing was kept: the exit says so");
    let err = std::fs::read_to_string(home.path().join("stderr")).unwrap();
    assert!(err.contains("no checkpoint saved"), "{err}");
    assert!(err.contains("not-a-dir"), "{err}");
}
