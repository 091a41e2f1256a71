//! lenet-tui: trains LeNet-5 on Fashion-MNIST and lets a class watch it learn.
//!
//! The modules follow the data: [`data`] knows the data sets, downloads them, and reads
//! and checks IDX files, [`model`] is LeNet in Candle, [`train`] runs it on a thread
//! behind typed channels and saves [`checkpoint`]s, [`signals`] turn
//! SIGHUP/SIGTERM/SIGINT into events, [`device`] picks CPU or CUDA, [`config`] and
//! [`cli`] read the user's settings, [`headless`] turns training events into lines of
//! text or JSON, [`compare`] sets two saved runs side by side, and [`ui`] is the
//! dashboard.

pub mod capture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod device;
pub mod engine;
pub mod failpoint;
pub mod files;
pub mod headless;
pub mod live;
pub mod logging;
pub mod model;
pub mod rng;
pub mod session;
pub mod signals;
pub mod train;
pub mod ui;

/// Checkpoints belong to the training half; the path most callers know them by.
pub use train::checkpoint;
