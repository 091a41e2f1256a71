//! Live runs over their sockets: `attach --json`, `stop`, `runs`' viewers, view-only
//! and controlling viewers, and connections that send garbage or stall. The training
//! process is held in progress with `--pace`; nothing here depends on how fast it
//! trains.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use lenet_tui::live::{self, Want};
use lenet_tui::train::{Change, Command, Event};

use super::common::{Home, quick, signal, stdout, wait_exit};
use super::tmux_e2e::Tmux;

/// A headless run of many epochs at `pace` examples a second, its output discarded.
fn start_run(home: &Home, pace: &str) -> Child {
    home.command(&quick(&["--epochs", "100", "--pace", pace]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The socket of the run trained by `child`, once the run is live.
/// Live means both: the socket listens (opened as the run starts) and the run's
/// directory is held (taken at its first checkpoint, a moment later), which is what
/// `attach latest` and `stop latest` look for.
fn socket_of(home: &Home, child: &Child) -> PathBuf {
    let path = home
        .path()
        .join("run/lenet-tui")
        .join(format!("{}.sock", child.id()));
    let held = || {
        lenet_tui::checkpoint::list_runs(&home.runs_dir())
            .unwrap_or_default()
            .iter()
            .any(|r| lenet_tui::checkpoint::holder(&r.dir) == Some(Some(child.id())))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() || !held() {
        assert!(
            Instant::now() < deadline,
            "no live run at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    path
}

/// `command` (an `attach --json`) started, and its output's lines.
fn json_viewer(
    mut command: std::process::Command,
) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The next event on `events` that `want` picks, within a minute.
fn wait_event(events: &Receiver<Event>, what: &str, want: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match events.recv_deadline(deadline) {
            Ok(event) if want(&event) => return event,
            Ok(_) => {}
            Err(e) => panic!("no {what}: {e}"),
        }
    }
}

/// `--resume latest` takes the newest checkpoint and trains one epoch past it.
fn resume_one_more_epoch(home: &Home) {
    let newest = home.checkpoints().pop().expect("a checkpoint");
    let done = lenet_tui::checkpoint::load(&newest)
        .unwrap()
        .meta
        .position
        .epoch;
    let epochs = (done + 1).to_string();
    let resumed = home.run(&quick(&[
        "--resume", "latest", "--epochs", &epochs, "--pace", "full",
    ]));
    assert!(resumed.status.success(), "{resumed:?}");
}

/// Stops the run with `lenet-tui stop latest`, which must exit 0 once it has.
fn stop(home: &Home, run: &mut Child) {
    let out = home.run(&["stop", "latest"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("newest checkpoint"),
        "{}",
        stdout(&out)
    );
    let (status, _) = wait_exit(run, Duration::from_secs(60));
    assert!(!status.success(), "ended by SIGTERM: {status:?}");
}

#[test]
fn attach_json_follows_a_live_run_and_stop_ends_it_with_a_checkpoint() {
    let home = Home::new();
    let mut run = start_run(&home, "3000");
    socket_of(&home, &run);
    let (mut viewer, mut lines) = json_viewer(home.command(&["attach", "--json", "latest"]));
    for _ in 0..3 {
        let line = lines.next().expect("a line").unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(json["event"].is_string(), "{line}");
        assert!(json["epochs"] == 100, "{line}");
    }
    // The viewer goes; the run does not.
    viewer.kill().unwrap();
    let _ = viewer.wait();
    let runs = stdout(&home.run(&["runs"]));
    assert!(runs.contains(&format!("pid {}", run.id())), "{runs}");
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    stop(&home, &mut run);
    resume_one_more_epoch(&home);
}

#[test]
fn view_only_viewers_cannot_drive_the_run_and_controllers_can() {
    let home = Home::new();
    let mut run = start_run(&home, "2000");
    let path = socket_of(&home, &run);
    let watcher = live::attach(&path, Want::View).unwrap();
    assert!(!watcher.welcome.control);
    let events = watcher.lanes[0].events();
    wait_event(events, "the start, caught up", |e| {
        matches!(e, Event::Started(_))
    });
    watcher.lanes[0].send(Command::Pause);
    let rejected = wait_event(events, "a refusal", |e| matches!(e, Event::Rejected(_)));
    assert!(
        format!("{rejected:?}").contains("view only"),
        "{rejected:?}"
    );
    let driver = live::attach(&path, Want::Control).unwrap();
    assert!(driver.welcome.control);
    let status = live::status(&path).unwrap();
    assert_eq!(status.viewers, 2);
    assert_eq!(status.pid, run.id());
    driver.lanes[0].send(Command::Pause);
    // Every viewer sees what one controller did.
    let paused = |e: &Event| {
        matches!(
            e,
            Event::Changed {
                change: Change::Paused,
                ..
            }
        )
    };
    wait_event(driver.lanes[0].events(), "the pause", paused);
    wait_event(events, "the pause, seen by the watcher", paused);
    drop(driver);
    drop(watcher);
    stop(&home, &mut run);
}

#[test]
fn garbage_oversized_and_cut_connections_leave_the_run_and_its_viewers_alone() {
    let home = Home::new();
    let mut run = start_run(&home, "3000");
    let path = socket_of(&home, &run);
    let watcher = live::attach(&path, Want::View).unwrap();
    let events = watcher.lanes[0].events();
    wait_event(events, "the start", |e| matches!(e, Event::Started(_)));

    // Random bytes: closed, never answered with anything but the greeting.
    let closed = |mut s: UnixStream| {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.len() < 64, "the run said only its greeting: {rest:?}");
    };
    let mut junk = UnixStream::connect(&path).unwrap();
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = junk.write_all(&noise);
    closed(junk);

    // A real greeting, then a frame announced far over the limit.
    let mut huge = UnixStream::connect(&path).unwrap();
    live::wire::send_greeting(&mut huge).unwrap();
    let _ = huge.write_all(&((live::wire::MAX_FRAME as u32) + 1).to_le_bytes());
    closed(huge);

    // A greeting and a hello, then a frame cut short.
    let mut cut = UnixStream::connect(&path).unwrap();
    live::wire::send_greeting(&mut cut).unwrap();
    live::wire::send(&mut cut, &live::wire::ToRun::Hello(Want::View)).unwrap();
    let _ = cut.write_all(&[200, 0, 0, 0, 1, 2, 3]);
    drop(cut);

    // The run goes on, the watcher still hears it, and a new viewer attaches.
    let at = |e: &Event| match e {
        Event::Progress(p) => Some(p.at),
        _ => None,
    };
    let first = at(&wait_event(events, "progress", |e| at(e).is_some())).unwrap();
    let later = wait_event(events, "more progress", |e| {
        at(e).is_some_and(|a| a > first)
    });
    assert!(at(&later).unwrap() > first);
    let newcomer = live::attach(&path, Want::View).unwrap();
    wait_event(
        newcomer.lanes[0].events(),
        "the start for a newcomer",
        |e| matches!(e, Event::Started(_)),
    );
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    drop(newcomer);
    drop(watcher);
    stop(&home, &mut run);
}

#[test]
fn a_stalled_viewer_never_holds_the_run_back() {
    let home = Home::new();
    let mut run = start_run(&home, "6000");
    let path = socket_of(&home, &run);
    let (mut stalled, mut lines) = json_viewer(home.command(&["attach", "--json", "latest"]));
    lines.next().expect("a first line").unwrap();
    signal(&stalled, "STOP");
    // Whole epochs go by while it is stopped.
    let watcher = live::attach(&path, Want::View).unwrap();
    let epochs = |e: &Event| match e {
        Event::EpochFinished(s) => Some(s.epoch),
        _ => None,
    };
    let events = watcher.lanes[0].events();
    let first = epochs(&wait_event(events, "an epoch", |e| epochs(e).is_some())).unwrap();
    wait_event(events, "two more epochs", |e| {
        epochs(e).is_some_and(|n| n >= first + 2)
    });
    // Woken, it carries on printing.
    signal(&stalled, "CONT");
    let line = lines.next().expect("a line after waking").unwrap();
    assert!(line.starts_with('{'), "{line}");
    stalled.kill().unwrap();
    let _ = stalled.wait();
    drop(watcher);
    stop(&home, &mut run);
}

#[test]
fn attach_names_a_run_that_is_not_live() {
    let home = Home::new();
    let out = home.run(&quick(&["--epochs", "1"]));
    assert!(out.status.success(), "{out:?}");
    let out = home.run(&["attach", "latest"]);
    assert!(!out.status.success());
    let err = super::common::stderr(&out);
    assert!(err.contains("no live run"), "{err}");
    let out = home.run(&["stop", "latest"]);
    assert!(!out.status.success());
    let socket = home.path().join("nowhere.sock");
    let out = home.run(&[
        "attach",
        "--json",
        "--socket",
        &socket.display().to_string(),
    ]);
    let err = super::common::stderr(&out);
    assert!(err.contains("nowhere.sock"), "{err}");
}

/// A tmux pane running `args` as a viewer of `home`'s runs (their socket directory
/// too); `None` where tmux is missing (off CI).
fn viewer_pane(home: &Path, args: &str) -> Option<Tmux> {
    let env = format!("XDG_RUNTIME_DIR={}", home.join("run").display());
    Tmux::launch(home, &env, args)
}

/// The header's first line, which names the pooling on its second.
fn header(screen: &str) -> String {
    screen.lines().take(2).collect::<Vec<_>>().join("\n")
}

#[test]
fn two_viewers_each_at_their_own_size_one_driving_one_watching() {
    let home = Home::new();
    let mut run = start_run(&home, "2000");
    let socket = socket_of(&home, &run);
    let Some(driver) = viewer_pane(home.path(), "attach latest") else {
        let _ = run.kill();
        let _ = run.wait();
        return;
    };
    driver.wait_for("the dashboard", |s| {
        s.contains("● running") && s.contains("Loss")
    });
    let other_home = tempfile::tempdir().unwrap();
    let args = format!("attach --view --socket {}", socket.display());
    let watcher = viewer_pane(other_home.path(), &args).unwrap();
    watcher.resize(80, 24);
    watcher.wait_for("the small dashboard", |s| {
        s.contains("lenet-tui") && s.lines().all(|l| l.chars().count() <= 80)
    });
    watcher.keys(&["p"]);
    watcher.wait_for("view only", |s| s.contains("view only"));
    assert!(header(&watcher.screen()).contains("pool avg"));
    driver.keys(&["p"]);
    watcher.wait_for("the driver's change", |s| header(s).contains("pool max"));
    driver.wait_for("the change here too", |s| header(s).contains("pool max"));
    // One viewer leaves with q, the other is killed: the run goes on.
    driver.keys(&["q"]);
    assert_eq!(driver.wait_exit(), "0");
    let pid = watcher.program_pid();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    let runs = stdout(&home.run(&["runs"]));
    assert!(runs.contains(&format!("pid {}", run.id())), "{runs}");
    stop(&home, &mut run);
}

/// Questions about the model are a screen's own: a view-only viewer may ask them, and
/// the answers reach it through the run's socket.
#[test]
fn a_view_only_viewer_explains_a_value_of_the_live_model() {
    let home = Home::new();
    let mut run = start_run(&home, "2000");
    socket_of(&home, &run);
    let Some(watcher) = viewer_pane(home.path(), "attach latest --view") else {
        let _ = run.kill();
        let _ = run.wait();
        return;
    };
    watcher.wait_for("the dashboard", |s| {
        s.contains("● running") && s.contains("Activations")
    });
    watcher.keys(&["x"]);
    watcher.wait_for("the arithmetic", |s| {
        s.contains("pre-activation") && s.contains("kernel") && s.contains("bias")
    });
    watcher.keys(&["PageDown", "PageDown"]);
    watcher.wait_for("the output's softmax", |s| {
        s.contains("Explain · output") && s.contains("softmax") && s.contains("logit")
    });
    assert!(
        !watcher.screen().contains("view only"),
        "a question is not refused"
    );
    watcher.keys(&["q"]);
    assert_eq!(watcher.wait_exit(), "0");
    stop(&home, &mut run);
}

#[test]
fn a_dashboard_whose_terminal_goes_away_trains_on_detached() {
    let home = Home::new();
    let args = "train --data embedded --batch-size 100 --epochs 100 --pace 2000";
    let Some(pane) = viewer_pane(home.path(), args) else {
        return;
    };
    pane.wait_for("the dashboard", |s| s.contains("● running"));
    let pid = pane.program_pid();
    // The terminal goes: the tmux server and its pane are killed.
    pane.tmux(&["kill-server"]);
    let socket = home.path().join(format!("run/lenet-tui/{pid}.sock"));
    std::thread::sleep(Duration::from_secs(1));
    let runs = stdout(&home.run(&["runs"]));
    assert!(runs.contains(&format!("pid {pid}")), "still live: {runs}");
    assert!(socket.exists());
    let viewer = live::attach(&socket, Want::View).unwrap();
    let events = viewer.lanes[0].events();
    wait_event(events, "the run caught up", |e| {
        matches!(e, Event::CaughtUp)
    });
    wait_event(events, "live progress", |e| matches!(e, Event::Progress(_)));
    drop(viewer);
    let log = super::common::logs_in(home.path());
    assert!(log.contains("training goes on detached"), "{log}");
    let out = home.run(&["stop", "latest"]);
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while socket.exists() {
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    resume_one_more_epoch(&home);
}

#[test]
fn a_detached_run_outlives_the_terminal_that_started_it() {
    let home = Home::new();
    let details = home.path().join("detached.json");
    let args = format!(
        "train --detach --json --data embedded --batch-size 100 --epochs 100 --pace 2000 > {}",
        details.display()
    );
    let started = Instant::now();
    let Some(pane) = viewer_pane(home.path(), &args) else {
        return;
    };
    assert_eq!(pane.wait_exit(), "0");
    // Generous for a loaded machine; it returns in well under a second here.
    assert!(started.elapsed() < Duration::from_secs(30));
    let text = std::fs::read_to_string(&details).unwrap();
    let json: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let pid = json["pid"].as_u64().expect("a pid");
    assert!(json["run"].is_string(), "{json}");
    assert!(Path::new(json["dir"].as_str().unwrap()).is_dir(), "{json}");
    assert!(
        Path::new(json["socket"].as_str().unwrap()).exists(),
        "{json}"
    );
    // The terminal that started it goes; the run stays.
    pane.tmux(&["kill-server"]);
    std::thread::sleep(Duration::from_millis(500));
    let runs = stdout(&home.run(&["runs"]));
    assert!(runs.contains(&format!("pid {pid}")), "{runs}");
    let (mut viewer, mut lines) = json_viewer(home.command(&["attach", "--json"]));
    assert!(lines.next().expect("a line").unwrap().starts_with('{'));
    viewer.kill().unwrap();
    let _ = viewer.wait();
    let out = home.run(&["stop"]);
    assert!(out.status.success(), "{out:?}");
    resume_one_more_epoch(&home);
}

#[test]
fn json_goes_with_headless_or_detach() {
    let home = Home::new();
    let out = home.run(&["train", "--json", "--data", "embedded"]);
    assert_eq!(out.status.code(), Some(1));
    let err = super::common::stderr(&out);
    assert!(err.contains("--json goes with --headless"), "{err}");
}

/// `lenet-tui args` as the user `nobody`, with `home` (open to all) as its dirs;
/// `None` where that cannot be done (not root, or no `runuser`).
fn as_nobody(home: &Path, args: &[&str]) -> Option<std::process::Command> {
    let root = std::process::Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        return None;
    }
    let h = home.display().to_string();
    let mut command = std::process::Command::new("runuser");
    command
        .args(["-u", "nobody", "--", "env"])
        .arg(format!("XDG_CONFIG_HOME={h}"))
        .arg(format!("XDG_DATA_HOME={h}"))
        .arg(format!("XDG_STATE_HOME={h}"))
        .arg(format!("XDG_RUNTIME_DIR={h}/run"))
        .arg(env!("CARGO_BIN_EXE_lenet-tui"))
        .args(args);
    let works = std::process::Command::new("runuser")
        .args([
            "-u",
            "nobody",
            "--",
            env!("CARGO_BIN_EXE_lenet-tui"),
            "--version",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(command)
}

#[test]
fn another_user_is_refused_unless_the_run_is_shared_and_then_watches() {
    use std::os::unix::fs::PermissionsExt;
    let theirs = tempfile::tempdir().unwrap();
    std::fs::set_permissions(theirs.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let Some(mut nobody) = as_nobody(theirs.path(), &[]) else {
        eprintln!("cannot run as nobody here (needs root and runuser); skipping");
        return;
    };
    let home = Home::new();
    let mut private = start_run(&home, "2000");
    let socket = socket_of(&home, &private).display().to_string();
    let out = as_nobody(theirs.path(), &["attach", "--json", "--socket", &socket])
        .unwrap()
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(super::common::stderr(&out).contains("denied"), "{out:?}");
    stop(&home, &mut private);

    let mut shared = home
        .command(&quick(&["--epochs", "100", "--pace", "2000", "--share"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = super::common::wait_for_line(&mut shared, |l| l.contains("others watch with"));
    let line = said.last().unwrap();
    let socket = line
        .split("--socket ")
        .nth(1)
        .unwrap()
        .trim_end_matches('`');
    assert!(Path::new(socket).exists(), "{line}");
    nobody.args(["attach", "--json", "--socket", socket]);
    let (mut watcher, mut lines) = json_viewer(nobody);
    let first = lines.next().expect("a line for another user").unwrap();
    assert!(first.starts_with('{'), "{first}");
    watcher.kill().unwrap();
    let _ = watcher.wait();
    stop(&home, &mut shared);
}

#[test]
fn a_detached_run_learns_exactly_what_a_foreground_one_does() {
    let args = ["--data", "embedded", "--batch-size", "100", "--epochs", "2"];
    let foreground = Home::new();
    let mut headless = vec!["train", "--headless"];
    headless.extend(args);
    let out = foreground.run(&headless);
    assert!(out.status.success(), "{out:?}");
    let detached = Home::new();
    let captures = detached.path().join("captures").display().to_string();
    let mut detach = vec!["train", "--detach", "--json", "--capture-dir", &captures];
    detach.extend(args);
    let out = detached.run(&detach);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let dir = PathBuf::from(json["dir"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    while matches!(lenet_tui::checkpoint::holder(&dir), Some(Some(_))) {
        assert!(Instant::now() < deadline, "the detached run did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = |home: &Home| {
        let newest = home.checkpoints().pop().expect("a final checkpoint");
        let meta = lenet_tui::checkpoint::load(&newest).unwrap().meta;
        meta.history
            .epochs
            .iter()
            .map(|e| (e.epoch, e.train_loss.to_bits(), e.test_acc.to_bits()))
            .collect::<Vec<_>>()
    };
    let ours = history(&detached);
    assert_eq!(ours.len(), 2);
    assert_eq!(ours, history(&foreground), "the same figures, to the bit");
    // Its training figure is saved at the end, as the dashboard's would be.
    let figures: Vec<_> = std::fs::read_dir(&captures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_figure.png"))
        .collect();
    assert_eq!(figures.len(), 1, "{figures:?}");
}

#[test]
fn a_run_that_lost_its_terminal_finishes_and_saves_its_figure() {
    let home = Home::new();
    let captures = home.path().join("captures");
    let args = format!(
        "train --data embedded --batch-size 100 --epochs 2 --pace 3000 --capture-dir {}",
        captures.display()
    );
    let Some(pane) = viewer_pane(home.path(), &args) else {
        return;
    };
    pane.wait_for("the dashboard", |s| s.contains("● running"));
    let pid = pane.program_pid();
    pane.tmux(&["kill-server"]);
    let socket = home.path().join(format!("run/lenet-tui/{pid}.sock"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while socket.exists() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the run did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    let newest = home.checkpoints().pop().expect("a final checkpoint");
    let meta = lenet_tui::checkpoint::load(&newest).unwrap().meta;
    assert_eq!(
        meta.history.epochs.len(),
        2,
        "both epochs, the first begun on screen"
    );
    let figures: Vec<_> = std::fs::read_dir(&captures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_figure.png"))
        .collect();
    assert_eq!(figures.len(), 1, "{figures:?}");
}
