//! Test hooks for failures that cannot be caused from outside: a crash in the middle of
//! a checkpoint write, a panic in the dashboard or the trainer. `LENET_TUI_FAILPOINT`
//! names one (`NAME`, or `NAME:N` for its N-th pass); unset, each check is one
//! environment lookup on paths that run at most once per batch.

use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable that arms a failpoint.
pub const ENV: &str = "LENET_TUI_FAILPOINT";

/// Whether failpoint `name` fires on this pass; `passes` counts the passes of its site.
pub fn hit(name: &str, passes: &AtomicU32) -> bool {
    let Ok(armed) = std::env::var(ENV) else {
        return false;
    };
    let (armed_name, nth) = match armed.split_once(':') {
        Some((n, k)) => (n, k.parse::<u32>().ok()),
        None => (armed.as_str(), Some(1)),
    };
    if armed_name != name {
        return false;
    }
    let pass = passes.fetch_add(1, Ordering::Relaxed) + 1;
    nth == Some(pass)
}
