//! lenet-tui: trains LeNet-5 on Fashion-MNIST and lets a class watch it learn.
//!
//! The modules follow the data: [`data`] reads and checks IDX files, [`model`] is
//! LeNet in Candle, [`train`] runs it on a thread behind typed channels, [`device`]
//! picks CPU or CUDA, [`config`] and [`cli`] read the user's settings,
//! [`headless`] turns training events into lines of text or JSON, and [`ui`] is the
//! dashboard.

pub mod capture;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod headless;
pub mod model;
pub mod train;
pub mod ui;
