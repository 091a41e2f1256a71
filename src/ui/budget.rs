//! A byte budget for what the dashboard writes to the terminal, which over SSH is
//! what the connection carries. Redrawing the activation heatmaps is by far the
//! largest write (tens of KB at 160×48, most cells change colour as the model learns),
//! so routine refreshes wait while the output of the last seconds is over the budget;
//! keys, charts and images the user asks for never wait.

use std::time::{Duration, Instant};

use crate::train::Event;

/// The budget unless configured otherwise, in KB/s: heatmaps refresh about every 2 s
/// at 120×36, every 4–5 s at 160×48.
pub const DEFAULT_KB_PER_SEC: u32 = 8;

/// How many seconds of output may go out in one burst before refreshes wait.
const BURST_SECONDS: f64 = 2.0;

/// A token bucket over bytes written: it fills at `rate` bytes a second up to a
/// burst of two seconds' worth, every write empties it, and it may go into debt.
#[derive(Debug, Clone)]
pub struct OutputBudget {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl OutputBudget {
    /// A full budget of `bytes_per_sec` (which must be positive).
    pub fn new(bytes_per_sec: f64, now: Instant) -> Self {
        Self {
            rate: bytes_per_sec,
            tokens: bytes_per_sec * BURST_SECONDS,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * BURST_SECONDS);
        self.last = now;
    }

    /// Counts `bytes` just written.
    pub fn spend(&mut self, bytes: u64, now: Instant) {
        self.refill(now);
        self.tokens -= bytes as f64;
    }

    /// Whether a routine refresh may be drawn now (the budget is out of debt).
    pub fn allows(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 0.0
    }

    /// Whether `event` should wait for the budget: a periodic heatmap refresh while
    /// heatmaps are already `showing` and the budget is in debt.
    pub fn holds_back(&mut self, event: &Event, showing: bool, now: Instant) -> bool {
        matches!(event, Event::Activations { periodic: true, .. }) && showing && !self.allows(now)
    }

    /// How long until [`allows`](Self::allows) holds.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_waits_until_the_debt_is_paid() {
        let t0 = Instant::now();
        let mut b = OutputBudget::new(1000.0, t0);
        assert!(b.allows(t0));
        b.spend(2000, t0);
        assert!(b.allows(t0), "two seconds' worth is the burst");
        b.spend(3000, t0);
        assert!(!b.allows(t0));
        let wait = b.wait(t0);
        assert!((wait.as_secs_f64() - 3.0).abs() < 1e-9, "{wait:?}");
        assert!(!b.allows(t0 + Duration::from_millis(2900)));
        assert!(b.allows(t0 + Duration::from_secs(3)));
    }

    #[test]
    fn only_periodic_refreshes_over_a_shown_map_wait() {
        let t0 = Instant::now();
        let mut b = OutputBudget::new(1000.0, t0);
        let refresh = |periodic| Event::Activations {
            reports: Vec::new(),
            kernels: None,
            periodic,
        };
        assert!(!b.holds_back(&refresh(true), true, t0), "within budget");
        b.spend(5000, t0);
        assert!(b.holds_back(&refresh(true), true, t0));
        assert!(
            !b.holds_back(&refresh(true), false, t0),
            "nothing shown yet"
        );
        assert!(
            !b.holds_back(&refresh(false), true, t0),
            "asked for by a key"
        );
        assert!(!b.holds_back(&Event::Rejected("x".into()), true, t0));
    }

    #[test]
    fn idle_time_refills_no_further_than_the_burst() {
        let t0 = Instant::now();
        let mut b = OutputBudget::new(1000.0, t0);
        b.spend(1, t0 + Duration::from_secs(3600));
        b.spend(2000, t0 + Duration::from_secs(3600));
        assert!(!b.allows(t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn refreshes_gated_by_the_budget_average_at_most_its_rate() {
        // A 30 KB refresh offered every 2 s plus 400 B/s of charts, against 8 KB/s:
        // what the budget lets through stays within 8 KB/s over a minute, give or take
        // the opening burst and the one refresh that may overdraw it.
        let t0 = Instant::now();
        let mut b = OutputBudget::new(8000.0, t0);
        let mut written = 0u64;
        for tick in 0..600 {
            let now = t0 + Duration::from_millis(100 * tick);
            b.spend(40, now);
            written += 40;
            if tick % 20 == 0 && b.allows(now) {
                b.spend(30_000, now);
                written += 30_000;
            }
        }
        let rate = written as f64 / 60.0;
        assert!(rate <= 8000.0 + (16_000.0 + 30_000.0) / 60.0, "{rate} B/s");
        assert!(rate > 4000.0, "refreshes still go out: {rate} B/s");
    }
}
