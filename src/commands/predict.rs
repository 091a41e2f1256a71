//! `lenet-tui predict`: a saved run's model on the user's own image files, prepared
//! as the data set's images were made; the top three classes per file, or JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use candle_core::Device;
use rand::SeedableRng;
use serde::Serialize;

use crate::cli::PredictArgs;
use crate::config;
use crate::data::Split;
use crate::data::own::made_up::MadeUp;
use crate::data::own::{Framing, OwnImage, Preparation, encode_png};
use crate::engine::{argmax, probe_pixels};
use crate::model::LeNet;
use crate::rng::SeededRng;
use crate::session;
use crate::train::checkpoint::{self, Checkpoint, ResumeFrom};

/// Classes printed per file.
const TOP: usize = 3;

/// One file's answer in `--json`.
#[derive(Serialize)]
struct Prediction<'a> {
    file: &'a Path,
    predicted: &'a str,
    /// Every class in label order.
    probabilities: Vec<ClassProbability<'a>>,
    /// The rows of pixel bytes the network read (÷ 255 for its inputs).
    image: Vec<&'a [u8]>,
}

#[derive(Serialize)]
struct ClassProbability<'a> {
    class: &'a str,
    probability: f32,
}

/// A file that could not be read, in `--json`.
#[derive(Serialize)]
struct Unreadable<'a> {
    file: &'a Path,
    error: String,
}

pub fn command(args: &PredictArgs) -> Result<ExitCode> {
    let config = config::load(args.config.as_deref())?;
    let (checkpoint, model) = trained_model(args.resume.as_ref(), &config)?;
    let classes = &checkpoint.meta.data.classes;
    let [_, rows, cols] = checkpoint.meta.architecture.input;
    let how = Preparation {
        frame: rows,
        framing: Framing::of(classes),
        raw: args.raw,
    };
    if let Some(dir) = &args.save_preprocessed {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    tracing::info!(
        "predict: {} file(s) with {}",
        args.files.len(),
        checkpoint.dir.display()
    );
    let test = test_images_if_inverted(args, &checkpoint)?;
    let mut stdout = std::io::stdout().lock();
    let mut failed = false;
    for file in &args.files {
        let read = own_image(file, how, test.as_ref())
            .map_err(|e| e.to_string())
            .and_then(|image| {
                let seen = match &args.save_preprocessed {
                    Some(dir) => Some(save_seen(dir, file, &image.pixels, (rows, cols))?),
                    None => None,
                };
                Ok((image, seen))
            });
        let (image, seen) = match read {
            Ok(read) => read,
            Err(why) => {
                failed = true;
                tracing::warn!("predict: {why}");
                eprintln!("lenet-tui: error: {why}");
                if args.json {
                    let line = serde_json::to_string(&Unreadable { file, error: why })?;
                    writeln!(stdout, "{line}")?;
                }
                continue;
            }
        };
        let probe = probe_pixels(&model, image.pixels.clone(), (rows, cols))?
            .pop()
            .context("the model answered nothing")?;
        let answer = Answer {
            file,
            probabilities: &probe.probabilities,
            classes,
        };
        let line = if args.json {
            answer.json(image.pixels.chunks(cols).collect())?
        } else {
            answer.text(seen.as_deref())
        };
        writeln!(stdout, "{line}")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The checkpoint `--resume` names (the newest by default) and its model, on the
/// CPU: small images, one at a time, are answered at once and need no GPU.
pub(super) fn trained_model(
    resume: Option<&ResumeFrom>,
    config: &config::Config,
) -> Result<(Checkpoint, LeNet)> {
    let from = resume.cloned().unwrap_or(ResumeFrom::Latest);
    let (checkpoint, warning) = checkpoint::load_resumable(&from, &session::runs_dir(config)?)
        .with_context(|| format!("cannot load the model of {from}"))?;
    if let Some(w) = warning {
        eprintln!("lenet-tui: warning: {w}");
    }
    let meta = &checkpoint.meta;
    let device = Device::Cpu;
    let model = LeNet::new(
        &meta.architecture,
        meta.settings.pooling,
        meta.settings.activation,
        &device,
        &mut SeededRng::seed_from_u64(0),
    )?;
    model.set_parameters(&checkpoint.weights(&model.parameter_shapes(), &device)?)?;
    Ok((checkpoint, model))
}

/// A made-up input (`noise`, `blank`, `white`, `invert:N`), else the file.
fn own_image(
    file: &Path,
    how: Preparation,
    test: Option<&Split>,
) -> Result<OwnImage, crate::data::own::OwnImageError> {
    match OwnImage::made_up(&file.to_string_lossy(), how, test)? {
        Some(image) => Ok(image),
        None => OwnImage::load(file, None, how),
    }
}

/// The run's test images, read only when an `invert:N` asks for one of them.
fn test_images_if_inverted(args: &PredictArgs, checkpoint: &Checkpoint) -> Result<Option<Split>> {
    let inverts = args.files.iter().any(|f| {
        matches!(
            MadeUp::parse(&f.to_string_lossy()),
            Ok(Some(MadeUp::Invert(_)))
        )
    });
    if !inverts {
        return Ok(None);
    }
    Ok(Some(super::replay::run_data(&checkpoint.meta.data)?.test))
}

/// What the model made of one file.
struct Answer<'a> {
    file: &'a Path,
    probabilities: &'a [f32],
    classes: &'a [String],
}

impl Answer<'_> {
    fn class(&self, i: usize) -> &str {
        self.classes.get(i).map_or("?", String::as_str)
    }

    /// `coat.png: Coat 61.0%, Pullover 30.2%, Shirt 5.1%  (seen: …)`.
    fn text(&self, seen: Option<&Path>) -> String {
        let p = self.probabilities;
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let top: Vec<String> = order
            .iter()
            .take(TOP)
            .map(|&i| format!("{} {:.1}%", self.class(i), p[i] * 100.0))
            .collect();
        let seen = seen.map_or_else(String::new, |s| format!("  (seen: {})", s.display()));
        format!("{}: {}{seen}", self.file.display(), top.join(", "))
    }

    /// The JSON line, with the image as the network saw it, row by row.
    fn json(&self, image: Vec<&[u8]>) -> serde_json::Result<String> {
        let p = self.probabilities;
        serde_json::to_string(&Prediction {
            file: self.file,
            predicted: self.class(argmax(p)),
            probabilities: p
                .iter()
                .enumerate()
                .map(|(i, &probability)| ClassProbability {
                    class: self.class(i),
                    probability,
                })
                .collect(),
            image,
        })
    }
}

/// Writes what the network read from `file` as `dir/STEM.png`, never over a file.
fn save_seen(
    dir: &Path,
    file: &Path,
    pixels: &[u8],
    (rows, cols): (usize, usize),
) -> Result<std::path::PathBuf, String> {
    let stem = file
        .file_stem()
        .map_or_else(|| "image".into(), |s| s.to_string_lossy());
    let target = dir.join(format!("{stem}.png"));
    let png = encode_png(pixels, cols, rows)
        .map_err(|e| format!("{}: cannot encode: {e}", target.display()))?;
    crate::files::write_new(&target, &png).map_err(|e| format!("{}: {e}", target.display()))
}
