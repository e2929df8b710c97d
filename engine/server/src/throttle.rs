//! Failed logins slow a password guesser down: after a few failures for a
//! name, that name is refused for a while, whatever the password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed in [`WINDOW`] before a name is locked.
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names tracked at most; older entries go first when full.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl LoginThrottle {
    /// How long `name` must wait before trying again, if it must.
    pub fn wait(&self, name: &str) -> Option<Duration> {
        let map = self.failures.lock().expect("throttle lock");
        let (count, since) = map.get(&key(name))?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    pub fn failed(&self, name: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() >= CAPACITY {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(key(name)).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(&key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_after_repeated_failures_and_freed_by_success() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("Alice");
        }
        assert_eq!(t.wait("alice"), None);
        t.failed(" alice ");
        assert!(t.wait("ALICE").unwrap() > WINDOW - Duration::from_secs(5));
        assert_eq!(t.wait("bob"), None);
        t.succeeded("alice");
        assert_eq!(t.wait("alice"), None);
    }
}
