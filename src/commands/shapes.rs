//! `lenet-tui shapes`: the configured model's layer table, from a dry run of one
//! input.

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::config;
use crate::model::{Architecture, LeNet};
use crate::session;

/// Prints the model and its layer table.
pub fn run(args: &RunArgs) -> Result<()> {
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
    .with_context(|| session::model_source(args.config.as_deref()))?;
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
