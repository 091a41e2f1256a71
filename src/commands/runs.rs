//! `lenet-tui runs`: one line per saved run.

use anyhow::Result;

use crate::cli::RunsArgs;
use crate::config;
use crate::live;
use crate::session;
use crate::train::checkpoint;
use crate::train::timeline::file;

/// The LIVE column: `pid `, a pid of up to seven digits, and its viewers.
const LIVE_WIDTH: usize = 24;

/// `pid 4242, 2 viewers`: the process training a run, and who watches it (asked on its
/// socket; just the pid when the socket does not answer).
fn live_column(pid: u32) -> String {
    let viewers = live::place::find_socket(pid)
        .ok()
        .and_then(|path| live::status(&path).ok())
        .map(|s| s.viewers);
    match viewers {
        Some(1) => format!("pid {pid}, 1 viewer"),
        Some(n) => format!("pid {pid}, {n} viewers"),
        None => format!("pid {pid}"),
    }
}

/// `lenet-tui runs`: one line per saved run, those a live process trains marked with
/// its pid.
pub fn run(args: &RunsArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let dir = session::runs_dir(&config)?;
    let runs = checkpoint::list_runs(&dir)?;
    if runs.is_empty() {
        println!("no saved runs in {}", dir.display());
        return Ok(());
    }
    // A race's variants are named inside their race (`<stamp>-race/2-max`), which is
    // also what `replay`, `compare` and `--resume` take.
    let name_of = |run: &checkpoint::RunEntry| {
        run.dir
            .strip_prefix(&dir)
            .unwrap_or(&run.dir)
            .display()
            .to_string()
    };
    let width = runs
        .iter()
        .map(|r| name_of(r).chars().count())
        .max()
        .unwrap_or(0)
        .max(22);
    println!("runs in {}", dir.display());
    println!(
        "{:<width$} {:>11} {:>9}  {:<24} {:>8}  {:<LIVE_WIDTH$}  LAST CHECKPOINT",
        "RUN", "EPOCHS", "BEST TEST", "SETTINGS", "HISTORY", "LIVE"
    );
    for run in &runs {
        let name = name_of(run);
        let Some(newest) = run.checkpoints.last() else {
            continue;
        };
        // The saved snapshots' size (what replaying the run reads).
        let history = std::fs::metadata(file::path_in(&run.dir)).map_or_else(
            |_| "-".into(),
            |m| format!("{:.1} MB", m.len() as f64 / 1e6),
        );
        // Which process trains it now, asked without disturbing it.
        let live = match checkpoint::holder(&run.dir) {
            Some(Some(pid)) => live_column(pid),
            Some(None) => "yes".into(),
            None => "-".into(),
        };
        let ckpt_name = newest
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match checkpoint::load(newest) {
            Ok(c) => {
                let m = &c.meta;
                let s = &m.settings;
                println!(
                    "{:<width$} {:>11} {:>9}  {:<24} {:>8}  {:<LIVE_WIDTH$}  {} ({})",
                    name,
                    format!("{:.2}/{}", m.position.at(), s.epochs),
                    m.best_test_acc()
                        .map_or_else(|| "-".into(), |a| format!("{a:.3}")),
                    format!("{}/{} lr {}", s.pooling, s.activation, s.learning_rate),
                    history,
                    live,
                    ckpt_name,
                    m.reason
                );
            }
            Err(e) => println!(
                "{name:<width$} {:>11} {:>9}  {:<24} {history:>8}  {live:<LIVE_WIDTH$}  {ckpt_name} (unreadable: {e})",
                "?", "?", "?"
            ),
        }
    }
    println!(
        "play one back with `lenet-tui replay RUN` (or `latest`); go on with `--resume latest`"
    );
    Ok(())
}
