//! Server-side sessions. The browser holds only a random token (HttpOnly, SameSite=Strict);
//! the server holds who it is, the session's CSRF token and when it expires. A session ends
//! after `idle` seconds without a request or `max` seconds after login, whichever comes first,
//! and when the account is disabled or its password reset. Sessions live in memory: restarting
//! the server logs everyone out, which is acceptable for a school app and keeps no secret on disk.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;

/// A 256-bit random token as 64 hex digits.
pub fn token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone)]
pub struct Session {
    pub login: String,
    pub csrf: String,
    pub created: i64,
    pub last_seen: i64,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Seconds without a request before the session ends.
    pub idle: i64,
    /// Seconds after login before the session ends regardless.
    pub max: i64,
}

impl Default for Lifetimes {
    /// Two idle hours, a working day at most.
    fn default() -> Self {
        Lifetimes { idle: 2 * 3600, max: 12 * 3600 }
    }
}

pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    pub lifetimes: Lifetimes,
    pub clock: Clock,
}

impl Sessions {
    pub fn new(lifetimes: Lifetimes, clock: Clock) -> Sessions {
        Sessions { map: Mutex::new(HashMap::new()), lifetimes, clock }
    }

    /// A new session for `login`; returns its token.
    pub fn create(&self, login: &str) -> (String, Session) {
        let now = self.clock.now();
        let s = Session { login: login.to_string(), csrf: token(), created: now, last_seen: now };
        let t = token();
        if let Ok(mut m) = self.map.lock() {
            m.retain(|_, v| !self.expired(v, now));
            m.insert(t.clone(), s.clone());
        }
        (t, s)
    }

    fn expired(&self, s: &Session, now: i64) -> bool {
        now - s.last_seen > self.lifetimes.idle || now - s.created > self.lifetimes.max
    }

    /// The live session of a token (and marks it used), or None if unknown or expired.
    pub fn get(&self, token: &str) -> Option<Session> {
        let now = self.clock.now();
        let mut m = self.map.lock().ok()?;
        let expired = self.expired(m.get(token)?, now);
        if expired {
            m.remove(token);
            return None;
        }
        let s = m.get_mut(token)?;
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn remove(&self, token: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(token);
        }
    }

    /// Ends every session of an account (disabled, password reset).
    pub fn remove_user(&self, login: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.retain(|_, s| !s.login.eq_ignore_ascii_case(login));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_maximum() {
        let clock = Clock::default();
        let s = Sessions::new(Lifetimes { idle: 100, max: 250 }, clock.clone());
        let (t, _) = s.create("liu");
        clock.advance(90);
        assert!(s.get(&t).is_some(), "used within the idle time");
        clock.advance(90);
        assert!(s.get(&t).is_some());
        clock.advance(90);
        assert!(s.get(&t).is_none(), "270 s after login: past the maximum");
        let (t2, _) = s.create("liu");
        clock.advance(101);
        assert!(s.get(&t2).is_none(), "idle too long");
    }
}
