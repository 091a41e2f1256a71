//! The TOML config file and how it merges with the command line: command line beats
//! config file beats the chapter's defaults. Every error names the file, line, column
//! and key.

//!
//! [`schema`] is the file's shape (every section and bounded value, each checked as
//! it is parsed), [`load`] reads it with errors at file:line:col, and [`resolve`]
//! merges the command line over it.

pub mod load;
pub mod race;
pub mod resolve;
pub mod schema;

pub use load::{ConfigError, default_path, load, parse};
pub use race::{GivenSpec, RaceSpec, SpecOrigin, Variant};
pub use resolve::{Overrides, Resolved};
pub use schema::*;

#[cfg(test)]
mod tests;
