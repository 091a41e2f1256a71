//! lenet-tui's integration tests, one binary with a module per area: one link of
//! Candle instead of eleven, and shared helpers in [`common`].

mod capture;
mod cli;
mod common;
mod datasets;
mod download;
mod errors32;
mod export;
mod full_dataset;
mod fuzz;
mod golden;
mod header_e2e;
mod inside;
mod live_runs;
mod logging;
mod lr_find;
mod nothing_lost;
mod predict;
mod race;
mod recovery;
mod replay;
mod tmux_e2e;
mod trainer_thread;
mod ui_frames;
mod variants;
