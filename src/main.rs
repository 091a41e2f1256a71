//! The `lenet-tui` binary: parses the command line and hands over to the library.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;

use lenet_tui::bench::{BenchSpec, Variant};
use lenet_tui::capture;
use lenet_tui::checkpoint::{self, Checkpoint};
use lenet_tui::cli::{
    BenchArgs, CaptureArgs, Cli, CliCommand, CompareArgs, DataCommand, DownloadArgs, RunArgs,
    RunsArgs, TrainArgs, UiArgs,
};
use lenet_tui::config::{self, Config, OutputLimit};
use lenet_tui::data::download::{self as dl, DownloadSpec, FileState, Mirror, StderrProgress};
use lenet_tui::data::{self, DataLocation, DataSpec, Dataset, KnownDataset, Labels};
use lenet_tui::device;
use lenet_tui::headless::{self, HeadlessError, Report, Snapshots};
use lenet_tui::model::{Activation, Architecture, LeNet, Pooling};
use lenet_tui::signals;
use lenet_tui::train::{self, LearningRate, TrainerHandle, TrainerSpec};
use lenet_tui::ui::CaptureOptions;
use lenet_tui::ui::app::{App, RunState};
use lenet_tui::ui::keys::KeyMap;
use lenet_tui::ui::theme::{ColorDepth, Theme};

fn main() -> ExitCode {
    pin_candle_threads();
    lenet_tui::engine::cpu::start_worker_threads();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` keeps the whole cause chain on one line.
            eprintln!("lenet-tui: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit status when training diverged (README: exit statuses).
const EXIT_DIVERGED: u8 = 3;

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

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(CliCommand::Shapes(args)) => shapes(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Runs(args)) => runs(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Compare(args)) => compare(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Bench(args)) => bench(&args).map(|()| ExitCode::SUCCESS),
        Some(CliCommand::Data(DataCommand::Download(args))) => {
            data_download(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Data(DataCommand::Info(args))) => {
            data_info(&args).map(|()| ExitCode::SUCCESS)
        }
        Some(CliCommand::Train(args)) if args.headless => train_headless(&args),
        Some(CliCommand::Train(args)) => dashboard(&args.run, &args.ui),
        None => dashboard(&cli.run, &cli.ui),
    }
}

fn shapes(args: &RunArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let s = config.resolve(&args.overrides()).settings;
    // Every data set lenet-tui reads has 28×28 images in 10 classes.
    let architecture = config.model.architecture(28, 28, 10);
    let mut rng = rand::SeedableRng::seed_from_u64(s.seed);
    let model = LeNet::new(
        &architecture,
        s.pooling,
        s.activation,
        &candle_core::Device::Cpu,
        &mut rng,
    )
    .with_context(|| model_source(args))?;
    println!(
        "{} ({} pooling, {} activation)",
        if architecture == Architecture::default() {
            "LeNet-5".to_string()
        } else {
            format!("LeNet variant: {}", architecture.summary())
        },
        s.pooling,
        s.activation
    );
    println!("{}", model.layer_table()?);
    Ok(())
}

/// Where the model's layout came from, for errors about it.
fn model_source(args: &RunArgs) -> String {
    match &args.config {
        Some(path) => format!("the [model] in {}", path.display()),
        None => match config::default_path() {
            Some(p) if p.is_file() => format!("the [model] in {}", p.display()),
            _ => "the default model".into(),
        },
    }
}

/// Loads config, data, device and the checkpoint to resume, and starts the trainer.
fn start(
    config: &Config,
    args: &RunArgs,
    reports_per_epoch: u32,
) -> Result<(Arc<Dataset>, TrainerHandle)> {
    let overrides = args.overrides();
    let resolved = config.resolve(&overrides);
    let policy = config.checkpoints.policy();
    let resume = args
        .resume
        .as_ref()
        .map(|from| -> Result<Checkpoint> {
            let runs_dir = config
                .checkpoints
                .runs_dir()
                .context("no data directory for saved runs; set checkpoints.dir")?;
            let path = checkpoint::locate(from, &runs_dir)?;
            checkpoint::load(&path)
                .with_context(|| format!("cannot resume from {}", path.display()))
        })
        .transpose()?;
    let dataset = Arc::new(match &resume {
        // A resumed run reads the data it was trained on, with its class names,
        // unless told otherwise.
        Some(c) if overrides.data.is_none() && overrides.dataset.is_none() => {
            let location = data::source::resolve(
                Some(&match &c.meta.data.dir {
                    Some(dir) => DataSpec::Dir(dir.clone()),
                    None => DataSpec::Embedded,
                }),
                None,
            )?;
            Dataset::load_as(&location, &Labels::from_names(&c.meta.data.classes))?
        }
        _ => {
            let (location, labels) = config.data(&overrides)?;
            Dataset::load_as(&location, &labels)?
        }
    });
    // A resumed run keeps the model it was trained with.
    let configured = config.model.architecture(
        dataset.train.rows,
        dataset.train.cols,
        dataset.classes.len(),
    );
    // A resumed run keeps the model it was trained with, unless the config sets
    // another layout, which is then refused by `check_fits` below.
    let architecture = match &resume {
        Some(c) if !config.model.sets_layout() => c.meta.architecture.clone(),
        _ => configured,
    };
    architecture.plan().with_context(|| model_source(args))?;
    let opened = device::open(resolved.device)?;
    let mut settings = match &resume {
        Some(c) => {
            c.check_fits(&architecture, &dataset)?;
            overrides
                .over_checkpoint(&c.meta.settings)
                .map_err(anyhow::Error::msg)?
        }
        None => resolved.settings,
    };
    settings.reports_per_epoch = reports_per_epoch;
    let trainer = train::spawn(TrainerSpec {
        dataset: dataset.clone(),
        device: opened,
        architecture,
        settings,
        checkpoints: policy,
        resume,
    });
    Ok((dataset, trainer))
}

/// `lenet-tui bench`: a table (or JSON lines) of examples/sec per variant.
fn bench(args: &BenchArgs) -> Result<()> {
    let config = config::load(args.run.config.as_deref())?;
    let overrides = args.run.overrides();
    let resolved = config.resolve(&overrides);
    let (location, labels) = config.data(&overrides)?;
    let dataset = Arc::new(Dataset::load_as(&location, &labels)?);
    let opened = device::open(resolved.device)?;
    let s = &resolved.settings;
    let lr = |default: f64| {
        overrides
            .lr
            .or(config.train.lr)
            .unwrap_or_else(|| LearningRate::try_from(default).expect("a valid default"))
    };
    let variants = if overrides.pooling.is_some() || overrides.activation.is_some() {
        vec![Variant {
            pooling: s.pooling,
            activation: s.activation,
            learning_rate: s.learning_rate,
        }]
    } else {
        vec![
            Variant {
                pooling: Pooling::Avg,
                activation: Activation::Sigmoid,
                learning_rate: lr(0.9),
            },
            Variant {
                pooling: Pooling::Max,
                activation: Activation::Relu,
                learning_rate: lr(0.1),
            },
        ]
    };
    let architecture = config.model.architecture(
        dataset.train.rows,
        dataset.train.cols,
        dataset.classes.len(),
    );
    architecture
        .plan()
        .with_context(|| model_source(&args.run))?;
    let spec = BenchSpec {
        architecture,
        dataset,
        device: opened.device,
        device_name: opened.name,
        batch_size: s.batch_size.as_usize(),
        variants,
        warmup: args.warmup as usize,
        batches: args.batches as usize,
        repeats: args.repeats as usize,
        seed: s.seed,
    };
    if !args.json {
        println!(
            "lenet-tui bench: {} ({} threads), batch {}, {} timed batches × {} repeats after {} warm-up; data: {}",
            spec.device_name,
            rayon::current_num_threads(),
            spec.batch_size,
            spec.batches,
            spec.repeats,
            spec.warmup,
            spec.dataset
        );
        println!("{}", lenet_tui::bench::table_header());
    }
    lenet_tui::bench::run(&spec, |r| {
        if args.json {
            println!("{}", serde_json::to_string(r).expect("results serialise"));
        } else {
            println!("{}", lenet_tui::bench::table_row(r));
        }
    })?;
    Ok(())
}

/// `lenet-tui runs`: one line per saved run.
fn runs(args: &RunsArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let dir = config
        .checkpoints
        .runs_dir()
        .context("no data directory for saved runs; set checkpoints.dir")?;
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

/// `lenet-tui data download`: progress on stderr, the outcome on stdout.
fn data_download(args: &DownloadArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let dataset = args.dataset;
    let mirror = args
        .mirror
        .clone()
        .or_else(|| config.data.mirror.get(dataset).cloned())
        .unwrap_or_else(|| Mirror::default_for(dataset));
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => dataset
            .user_dir()
            .context("this system has no user data directory; pass --dir DIR")?,
    };
    eprintln!("{dataset}: from {mirror} into {}", dir.display());
    let spec = DownloadSpec::new(dataset, mirror, dir.clone());
    let report = {
        let mut progress = StderrProgress::default();
        dl::download(&spec, |event| progress.show(event))
            .with_context(|| format!("downloading {dataset}"))?
    };
    println!(
        "{dataset} installed in {}: {} fetched, {} already there, all four MD5-verified",
        dir.display(),
        report.fetched,
        report.skipped
    );
    if dataset == KnownDataset::FashionMnist {
        println!("a plain `lenet-tui` run uses: {}", plain_run_data(&config));
    } else {
        println!(
            "train on it with `lenet-tui --dataset {}` (or `dataset = \"{}\"` in [data])",
            dataset.cli_name(),
            dataset.cli_name()
        );
    }
    Ok(())
}

/// The data a plain `lenet-tui` run would use, loaded and counted, or why it cannot.
fn plain_run_data(config: &Config) -> String {
    config
        .data(&Default::default())
        .and_then(|(location, labels)| Dataset::load_as(&location, &labels))
        .map_or_else(
            |e| format!("none: it would stop with `{e}`"),
            |d| d.to_string(),
        )
}

/// `lenet-tui data info`: every place each known data set can be, file by file.
fn data_info(args: &RunsArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let used = data::source::resolve(None, config.data.dir.as_ref()).ok();
    for dataset in KnownDataset::ALL {
        let classes = dataset.classes();
        println!(
            "{dataset} (`{}`), {} classes: {}",
            dataset.cli_name(),
            classes.len(),
            classes.join(", ")
        );
        let files: Vec<_> = dataset.files().into_iter().map(Into::into).collect();
        let places = [
            ("user data dir", dataset.user_dir()),
            ("system package", dataset.system_dir().map(Into::into)),
        ];
        let mut installed = false;
        for (label, dir) in places {
            let Some(dir) = dir else { continue };
            let states = dl::check_installed(&dir, &files);
            let is_used = dataset == KnownDataset::FashionMnist
                && matches!(&used, Some(DataLocation::Dir { path, .. }) if *path == dir);
            let mark = if is_used {
                "  <- a plain run uses this"
            } else {
                ""
            };
            if !states.iter().any(FileState::is_present) {
                println!("  {label:<15} {}: not installed", dir.display());
                continue;
            }
            installed = true;
            println!("  {label:<15} {}:{mark}", dir.display());
            for (file, state) in files.iter().zip(&states) {
                println!("    {:<28} {state}", file.name);
            }
        }
        if dataset.has_embedded_subset() {
            let mark = if used == Some(DataLocation::Embedded) {
                "  <- a plain run uses this"
            } else {
                ""
            };
            println!(
                "  {:<15} {} train / {} test images, compiled in{mark}",
                "embedded subset",
                data::embedded::TRAIN_PER_CLASS * classes.len(),
                data::embedded::TEST_PER_CLASS * classes.len()
            );
        }
        if !installed {
            println!(
                "  to install it: lenet-tui data download {}",
                dataset.cli_name()
            );
        }
    }
    println!("a plain `lenet-tui` run uses: {}", plain_run_data(&config));
    Ok(())
}

/// `lenet-tui compare`: the two runs' figure into the capture dir, its path and a
/// table of their epochs on stdout.
fn compare(args: &CompareArgs) -> Result<()> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = config
        .checkpoints
        .runs_dir()
        .context("no data directory for saved runs; set checkpoints.dir")?;
    let a = lenet_tui::compare::load_run(&args.run_a, &runs_dir)?;
    let b = lenet_tui::compare::load_run(&args.run_b, &runs_dir)?;
    let dir = capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref());
    let scale = args
        .png_scale
        .or(config.capture.png_scale.map(|s| s.0))
        .unwrap_or(capture::DEFAULT_SCALE);
    let data = lenet_tui::compare::figure_data(&a, &b);
    let stem = lenet_tui::compare::figure_stem(&a, &b);
    let path = capture::figure::write_figure(&data, &dir, &stem, scale)
        .with_context(|| format!("writing the figure into {}", dir.display()))?;
    print!("{}", lenet_tui::compare::table(&a, &b));
    println!("figure: {} (and .svg)", path.display());
    Ok(())
}

fn capture_options(
    config: &Config,
    args: &CaptureArgs,
    record: Option<&std::path::Path>,
) -> CaptureOptions {
    CaptureOptions {
        dir: capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref()),
        png_scale: args
            .png_scale
            .or(config.capture.png_scale.map(|s| s.0))
            .unwrap_or(capture::DEFAULT_SCALE),
        record: record.map(std::path::Path::to_path_buf),
        every_epoch: args.snapshot_every.is_some(),
    }
}

/// The theme from the command line over the config file, at `depth`.
fn theme(config: &Config, ui: &UiArgs, depth: ColorDepth) -> Theme {
    Theme::new(
        ui.theme.or(config.ui.theme).unwrap_or_default(),
        depth,
        ui.marker.or(config.ui.marker).unwrap_or_default(),
    )
}

fn train_headless(args: &TrainArgs) -> Result<ExitCode> {
    let config = config::load(args.run.config.as_deref())?;
    let report = if args.json {
        Report::Json
    } else {
        Report::Text
    };
    let signals = signals::listen().context("catching signals")?;
    // The chapter's animator plots five points per epoch.
    let (dataset, trainer) = start(&config, &args.run, 5)?;
    let snapshots = args.ui.capture.snapshot_every.map(|_| {
        let size = args.size.map_or((160, 48), |s| (s.cols, s.rows));
        // Exported files carry exact colours whatever this terminal can show.
        let theme = theme(&config, &args.ui, ColorDepth::Truecolor);
        Snapshots {
            app: App::new(dataset, theme, KeyMap::default()),
            size,
            capture: capture_options(&config, &args.ui.capture, None),
        }
    });
    headless_outcome(headless::run(trainer, report, snapshots, &signals))
}

/// The exit status of a headless run, with a line on stderr for the ways it can end
/// early.
fn headless_outcome(result: Result<headless::Outcome, HeadlessError>) -> Result<ExitCode> {
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(HeadlessError::Signal { signal, saved }) => {
            match saved {
                Ok(path) => eprintln!(
                    "lenet-tui: stopped by {}; checkpoint saved: {} (continue with --resume {})",
                    signal.name(),
                    path.display(),
                    path.display()
                ),
                Err(why) => eprintln!(
                    "lenet-tui: stopped by {}; no checkpoint saved: {why}",
                    signal.name()
                ),
            }
            Ok(ExitCode::from(signal.exit_status()))
        }
        Err(e @ HeadlessError::Diverged(_)) => {
            eprintln!("lenet-tui: error: {e}");
            Ok(ExitCode::from(EXIT_DIVERGED))
        }
        Err(e) => Err(anyhow::Error::new(e).context("headless training")),
    }
}

/// Progress events per epoch on the dashboard: a smooth curve, and activations
/// refreshed every couple of seconds even on a slow CPU, at negligible cost.
const DASHBOARD_REPORTS_PER_EPOCH: u32 = 40;

fn dashboard(args: &RunArgs, ui: &UiArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let signals = signals::listen().context("catching signals")?;
    if !std::io::stdout().is_terminal() {
        // Drawing into a pipe or file would only make garbage.
        eprintln!("lenet-tui: stdout is not a terminal; training headless");
        let (_, trainer) = start(&config, args, 5)?;
        return headless_outcome(headless::run(trainer, Report::Text, None, &signals));
    }
    let depth = ui.color.or(config.ui.color).unwrap_or_default().depth();
    let theme = theme(&config, ui, depth);
    let keymap = config.keys.clone().map_or_else(KeyMap::default, |k| k.0);
    let (dataset, trainer) = start(&config, args, DASHBOARD_REPORTS_PER_EPOCH)?;
    let mut app = App::new(dataset, theme, keymap);
    app.exit_on_finish = ui.exit_on_finish;
    app.max_output = config
        .ui
        .max_output_kb
        .unwrap_or(OutputLimit::DEFAULT)
        .bytes_per_sec();
    let capture = capture_options(&config, &ui.capture, ui.record.as_deref());
    let outcome =
        lenet_tui::ui::run(trainer, app, capture, &signals).context("running the dashboard")?;
    let log = outcome
        .log_path
        .map_or_else(String::new, |p| format!(" (log: {})", p.display()));
    match &outcome.checkpoint {
        Some(Ok(path)) => eprintln!(
            "lenet-tui: checkpoint: {} (continue with --resume latest)",
            path.display()
        ),
        Some(Err(why)) => eprintln!("lenet-tui: no checkpoint saved: {why}"),
        None => {}
    }
    if let RunState::Error(message) = outcome.state {
        bail!("training failed: {message}{log}");
    }
    if let Some(status) = outcome.status {
        eprintln!("lenet-tui: {status}{log}");
    }
    Ok(match outcome.signal {
        Some(signal) => {
            eprintln!("lenet-tui: stopped by {}", signal.name());
            ExitCode::from(signal.exit_status())
        }
        None => ExitCode::SUCCESS,
    })
}
