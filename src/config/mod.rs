//! The TOML config file and how it merges with the command line: command line beats
//! config file beats the chapter's defaults. Every error names the file, line, column
//! and key.

//!
//! [`values`] are the bounded values, each checked as it is parsed; [`race`] the
//! race specs; [`schema`] the file's shape (every section) built of both; [`load`]
//! reads it with errors at file:line:col; [`variants`] turns the race specs into
//! variants (reading a spec's model file with [`load`]); and [`resolve`] merges the
//! command line over it all. Each imports only those before it.

pub mod load;
pub mod race;
pub mod resolve;
pub mod schema;
pub mod values;
pub mod variants;

pub use load::{ConfigError, default_path, load, parse};
pub use race::{GivenSpec, RaceSpec, SpecOrigin};
pub use resolve::{Overrides, Resolved};
pub use schema::*;
pub use values::*;
pub use variants::Variant;

#[cfg(test)]
mod tests;
