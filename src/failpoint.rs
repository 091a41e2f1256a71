//! Test hooks for failures that cannot be caused from outside: a crash in the middle of
//! a checkpoint write, a panic in the dashboard or the trainer; and `slow-batches:MS`,
//! which makes every training batch take at least MS milliseconds, so tests that send a
//! signal in the middle of an epoch hit one whatever the machine's speed.
//! `LENET_TUI_FAILPOINT` names one (`NAME`, or `NAME:N` for its N-th pass); unset, each
//! check is one environment lookup on paths that run at most once per batch.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

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

/// The delay armed for failpoint `name` (`NAME:MS`), if it is the armed one.
pub fn delay(name: &str) -> Option<Duration> {
    armed_delay(name, &std::env::var(ENV).ok()?)
}

/// The delay `armed` (the variable's value) sets for failpoint `name`.
fn armed_delay(name: &str, armed: &str) -> Option<Duration> {
    let (armed_name, ms) = armed.split_once(':')?;
    (armed_name == name)
        .then(|| ms.parse().ok().map(Duration::from_millis))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_is_read_only_for_its_own_name_and_a_number() {
        let ms = Duration::from_millis;
        assert_eq!(armed_delay("slow-batches", "slow-batches:20"), Some(ms(20)));
        assert_eq!(armed_delay("slow-batches", "trainer-panic:20"), None);
        assert_eq!(armed_delay("slow-batches", "slow-batches"), None);
        assert_eq!(armed_delay("slow-batches", "slow-batches:soon"), None);
    }
}
