//! `lenet-tui data download` and `data info`.

use anyhow::{Context, Result};

use crate::cli::{DownloadArgs, RunsArgs};
use crate::config::{self, Config};
use crate::data::download::{self as dl, DownloadSpec, FileState, Mirror, StderrProgress};
use crate::data::{self, DataLocation, Dataset, KnownDataset};

/// `lenet-tui data download`: progress on stderr, the outcome on stdout.
pub fn download(args: &DownloadArgs) -> Result<()> {
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
pub fn info(args: &RunsArgs) -> Result<()> {
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
