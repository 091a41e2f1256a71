//! Test hooks for failures that cannot be caused from outside: a crash in the middle of
//! a checkpoint write, a panic in the dashboard or the trainer; and `slow-batches:MS`,
//! which makes every training batch take at least MS milliseconds, so tests that need
//! training in progress when something happens hold it there whatever the machine's
//! speed. `LENET_TUI_FAILPOINT` arms one or more, comma-separated (`NAME`, or `NAME:N`
//! for its N-th pass, or `NAME:MS` for a delay); unset, each check is one environment
//! lookup on paths that run at most once per batch.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The environment variable that arms failpoints.
pub const ENV: &str = "LENET_TUI_FAILPOINT";

/// Whether failpoint `name` fires on this pass; `passes` counts the passes of its site.
pub fn hit(name: &str, passes: &AtomicU32) -> bool {
    let Ok(armed) = std::env::var(ENV) else {
        return false;
    };
    let Some(nth) = armed_pass(name, &armed) else {
        return false;
    };
    let pass = passes.fetch_add(1, Ordering::Relaxed) + 1;
    nth == Some(pass)
}

/// The delay armed for failpoint `name` (`NAME:MS`), if it is armed.
pub fn delay(name: &str) -> Option<Duration> {
    armed_delay(name, &std::env::var(ENV).ok()?)
}

/// The argument of `name` in `armed` (the variable's value): `None` if `name` is not
/// armed, `Some(None)` if its argument is not a number.
fn armed_argument(name: &str, armed: &str) -> Option<Option<u64>> {
    armed.split(',').map(str::trim).find_map(|entry| {
        let (n, arg) = match entry.split_once(':') {
            Some((n, arg)) => (n, Some(arg)),
            None => (entry, None),
        };
        (n == name).then(|| match arg {
            Some(arg) => arg.parse().ok(),
            // A bare name fires on its first pass.
            None => Some(1),
        })
    })
}

/// The pass on which `name` fires, if it is armed in `armed`.
fn armed_pass(name: &str, armed: &str) -> Option<Option<u32>> {
    armed_argument(name, armed).map(|n| n.and_then(|n| u32::try_from(n).ok()))
}

/// The delay `armed` sets for failpoint `name` (a bare name sets none).
fn armed_delay(name: &str, armed: &str) -> Option<Duration> {
    let has_argument = armed
        .split(',')
        .any(|e| e.trim().split_once(':').is_some_and(|(n, _)| n == name));
    has_argument
        .then(|| {
            armed_argument(name, armed)
                .flatten()
                .map(Duration::from_millis)
        })
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

    #[test]
    fn several_failpoints_can_be_armed_at_once() {
        let armed = "slow-batches:20, dashboard-panic:5";
        assert_eq!(
            armed_delay("slow-batches", armed),
            Some(Duration::from_millis(20))
        );
        assert_eq!(armed_pass("dashboard-panic", armed), Some(Some(5)));
        assert_eq!(armed_pass("trainer-panic", armed), None);
        assert_eq!(armed_pass("trainer-panic", "trainer-panic"), Some(Some(1)));
        assert_eq!(armed_pass("trainer-panic", "trainer-panic:x"), Some(None));
    }
}
