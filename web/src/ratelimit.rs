//! Failed logins are limited per account and per client address: after 5 failures for an
//! account (or 20 from one address) within 15 minutes, further attempts are refused until the
//! oldest failure is 15 minutes old. A success clears the account's failures.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;

pub const WINDOW: i64 = 15 * 60;
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl LoginLimiter {
    fn keys(login: &str, ip: &str) -> [(String, usize); 2] {
        [(format!("u:{}", login.trim().to_ascii_lowercase()), PER_ACCOUNT), (format!("a:{ip}"), PER_ADDRESS)]
    }

    /// Ok, or the seconds to wait before the next attempt.
    pub fn check(&self, clock: &Clock, login: &str, ip: &str) -> Result<(), i64> {
        let now = clock.now();
        let Ok(mut m) = self.failures.lock() else { return Ok(()) };
        for (key, limit) in Self::keys(login, ip) {
            if let Some(v) = m.get_mut(&key) {
                v.retain(|t| now - t < WINDOW);
                if v.len() >= limit {
                    let oldest = v.iter().min().copied().unwrap_or(now);
                    return Err(WINDOW - (now - oldest));
                }
            }
        }
        Ok(())
    }

    pub fn failure(&self, clock: &Clock, login: &str, ip: &str) {
        let now = clock.now();
        if let Ok(mut m) = self.failures.lock() {
            for (key, _) in Self::keys(login, ip) {
                m.entry(key).or_default().push(now);
            }
        }
    }

    pub fn success(&self, login: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(&format!("u:{}", login.trim().to_ascii_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_account_for_the_window() {
        let c = Clock::default();
        let l = LoginLimiter::default();
        for _ in 0..PER_ACCOUNT {
            assert!(l.check(&c, "liu", "1.2.3.4").is_ok());
            l.failure(&c, "liu", "1.2.3.4");
        }
        assert!(l.check(&c, "liu", "5.6.7.8").is_err(), "locked whatever the address");
        assert!(l.check(&c, "wang", "5.6.7.8").is_ok(), "other accounts unaffected");
        c.advance(WINDOW);
        assert!(l.check(&c, "liu", "1.2.3.4").is_ok(), "unlocked after the window");
    }
}
