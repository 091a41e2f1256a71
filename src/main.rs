//! The `lenet-tui` binary: parses the command line and hands over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;

use lenet_tui::cli::{Cli, CliCommand, RunArgs};
use lenet_tui::config::{self, Resolved};
use lenet_tui::data::{self, Dataset};
use lenet_tui::device;
use lenet_tui::headless::{self, Report};
use lenet_tui::model::{Architecture, LeNet};
use lenet_tui::train::{self, TrainerSpec};

fn main() -> ExitCode {
    pin_candle_threads();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(CliCommand::Shapes(args)) => shapes(&args),
        Some(CliCommand::Train(args)) if args.headless => train_headless(
            &args.run,
            if args.json {
                Report::Json
            } else {
                Report::Text
            },
        ),
        Some(CliCommand::Train(_)) | None => bail!(
            "the dashboard is not built yet; run `lenet-tui train --headless` to train with progress lines"
        ),
    }
}

fn resolve(args: &RunArgs) -> Result<Resolved> {
    let config = config::load(args.config.as_deref())?;
    Ok(config.resolve(&args.overrides()))
}

fn shapes(args: &RunArgs) -> Result<()> {
    let resolved = resolve(args)?;
    let s = &resolved.settings;
    let mut rng = rand::SeedableRng::seed_from_u64(s.seed);
    let model = LeNet::new(
        &Architecture::default(),
        s.pooling,
        s.activation,
        &candle_core::Device::Cpu,
        &mut rng,
    )?;
    println!(
        "LeNet-5 ({} pooling, {} activation)",
        s.pooling, s.activation
    );
    println!("{}", model.layer_table()?);
    Ok(())
}

fn train_headless(args: &RunArgs, report: Report) -> Result<()> {
    let resolved = resolve(args)?;
    let location =
        data::source::resolve(resolved.data_cli.as_ref(), resolved.data_config.as_ref())?;
    let dataset = Dataset::load(&location)?;
    let opened = device::open(resolved.device)?;
    let architecture = Architecture::lenet(
        dataset.train.rows,
        dataset.train.cols,
        dataset.classes.len(),
    );
    let trainer = train::spawn(TrainerSpec {
        dataset: Arc::new(dataset),
        device: opened.device,
        device_name: opened.name,
        architecture,
        settings: resolved.settings,
    });
    headless::run(trainer, report).context("headless training")?;
    Ok(())
}
