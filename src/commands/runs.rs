//! `lenet-tui runs`: one line per saved run.

use anyhow::Result;

use crate::cli::RunsArgs;
use crate::config;
use crate::session;
use crate::train::checkpoint;

/// `lenet-tui runs`: one line per saved run.
pub fn run(args: &RunsArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let dir = session::runs_dir(&config)?;
    let runs = checkpoint::list_runs(&dir)?;
    if runs.is_empty() {
        println!("no saved runs in {}", dir.display());
        return Ok(());
    }
    println!("runs in {}", dir.display());
    println!(
        "{:<22} {:>11} {:>9}  {:<24} LAST CHECKPOINT",
        "RUN", "EPOCHS", "BEST TEST", "SETTINGS"
    );
    for run in runs {
        let name = run
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let Some(newest) = run.checkpoints.last() else {
            continue;
        };
        let ckpt_name = newest
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match checkpoint::load(newest) {
            Ok(c) => {
                let m = &c.meta;
                let s = &m.settings;
                println!(
                    "{:<22} {:>11} {:>9}  {:<24} {} ({})",
                    name,
                    format!("{:.2}/{}", m.position.at(), s.epochs),
                    m.best_test_acc()
                        .map_or_else(|| "-".into(), |a| format!("{a:.3}")),
                    format!("{}/{} lr {}", s.pooling, s.activation, s.learning_rate),
                    ckpt_name,
                    m.reason
                );
            }
            Err(e) => println!(
                "{name:<22} {:>11} {:>9}  {:<24} {ckpt_name} (unreadable: {e})",
                "?", "?", "?"
            ),
        }
    }
    Ok(())
}
