//! The `lenet-tui` binary: parses the command line and dispatches to the subcommand.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use lenet_tui::cli::{Cli, CliCommand, DataCommand};
use lenet_tui::commands;

fn main() -> ExitCode {
    pin_candle_threads();
    if let Err(e) = lenet_tui::signals::survive_file_size_limit() {
        eprintln!("lenet-tui: warning: cannot catch SIGXFSZ: {e}");
    }
    lenet_tui::engine::cpu::start_worker_threads();
    let cli = Cli::parse();
    // Commands that train, replay or download keep a log; the others only print.
    let _logging = log_name(&cli).map(|name| {
        let (logging, warnings) = lenet_tui::logging::start(name, cli.log_level);
        for warning in warnings {
            eprintln!("lenet-tui: warning: {warning}");
        }
        logging
    });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            // `{:#}` keeps the whole cause chain on one line.
            eprintln!("lenet-tui: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Candle asks for its thread count before every matrix product and, unless
/// `RAYON_NUM_THREADS` is set, works it out from `/proc/cpuinfo` each time: up to 15 %
/// of a CPU training step. Setting it once at start-up makes that a variable lookup.
fn pin_candle_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
}

/// The word a command's log file is named with, if the command keeps a log.
fn log_name(cli: &Cli) -> Option<&'static str> {
    match &cli.command {
        Some(CliCommand::Train(_)) | None => Some("train"),
        Some(CliCommand::Replay(_)) => Some("replay"),
        Some(CliCommand::Attach(_)) => Some("attach"),
        Some(CliCommand::Data(DataCommand::Download(_))) => Some("download"),
        Some(CliCommand::Bench(_)) => Some("bench"),
        Some(CliCommand::LrFind(_)) => Some("lr-find"),
        _ => None,
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(CliCommand::Shapes(args)) => commands::shapes::run(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Runs(args)) => commands::runs::run(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Compare(args)) => {
            commands::compare::command(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Replay(args)) => commands::replay::command(&args),
        Some(CliCommand::Predict(args)) => commands::predict::command(&args),
        Some(CliCommand::Attach(args)) => commands::attach::command(&args),
        Some(CliCommand::Explain(args)) => commands::explain::command(&args),
        Some(CliCommand::Stop(args)) => commands::attach::stop(&args),
        Some(CliCommand::Export(args)) => {
            commands::export::command(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::LrFind(args)) => {
            commands::lr_find::command(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Completions(args)) => {
            commands::docs::completions(args.shell, &mut std::io::stdout().lock())
                .map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Man) => {
            commands::docs::man(&mut std::io::stdout().lock()).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Bench(args)) => {
            commands::bench::command(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Data(DataCommand::Download(args))) => {
            commands::data::download(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Data(DataCommand::Info(args))) => {
            commands::data::info(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Train(args)) if args.json && !args.headless && !args.detach => {
            anyhow::bail!(
                "--json goes with --headless (the events as JSON lines) or --detach (the \
                 detached run's details)"
            )
        }
        Some(CliCommand::Train(args)) if args.detach => commands::detach::command(&args),
        Some(CliCommand::Train(args)) if args.headless => commands::train::headless(&args),
        Some(CliCommand::Train(args)) => commands::train::dashboard(&args.run, &args.ui),
        None => commands::train::dashboard(&cli.run, &cli.ui),
    }
}
