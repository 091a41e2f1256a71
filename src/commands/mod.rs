//! The subcommands, one file each: what `main` dispatches to. Each reads the config,
//! does its job through the library, and prints for the user.

pub mod attach;
pub mod bench;
pub mod compare;
pub mod data;
pub mod detach;
pub mod docs;
pub mod explain;
pub mod export;
pub mod lr_find;
pub mod predict;
pub mod replay;
pub mod runs;
pub mod shapes;
pub mod train;
