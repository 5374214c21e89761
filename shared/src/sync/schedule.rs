//! When a node syncs: one slot a night with a fixed per-node jitter, and the retry backoff.

/// The users' time zone (UTC+8), in milliseconds.
pub const TZ_OFFSET_MS: u64 = crate::dates::USERS_UTC_OFFSET_SECS as u64 * 1000;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The night (a day number in UTC+8, days since 1970-01-01) a wall-clock millisecond falls in.
pub fn night_of(ms: u64) -> u64 {
    (ms + TZ_OFFSET_MS) / DAY_MS
}

/// A node's delay after the nightly hour on `night`: spread over `[0, jitter_minutes)` so the
/// county's nodes do not all call at once, and fixed for the night (the same after a restart of
/// `run`), so a night has one slot.
pub fn night_jitter_ms(node: &str, night: u64, jitter_minutes: u32) -> u64 {
    let range = u64::from(jitter_minutes) * 60_000;
    if range == 0 {
        return 0;
    }
    // FNV-1a of the name, then splitmix64 with the night: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.as_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ night.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % range
}

/// The sync slot of `night`: `hour`:00 (UTC+8) of that day plus the night's jitter.
pub fn night_slot(night: u64, hour: u8, jitter_ms: u64) -> u64 {
    (night * DAY_MS + u64::from(hour.min(23)) * 3600 * 1000 + jitter_ms).saturating_sub(TZ_OFFSET_MS)
}

/// The next scheduled sync: `(night, at)` of the first night whose slot is after `now_ms` and
/// that is after `done` (the night of the last scheduled sync, once it succeeded or was given
/// up), so a node syncs once a night whatever the jitter. `jitter(night)` gives each night's
/// delay ([`night_jitter_ms`]).
pub fn next_sync_at(now_ms: u64, hour: u8, jitter: impl Fn(u64) -> u64, done: Option<u64>) -> (u64, u64) {
    // The night before today's may still be ahead when its jitter runs past midnight.
    let mut night = night_of(now_ms).saturating_sub(1);
    if let Some(d) = done {
        night = night.max(d + 1);
    }
    loop {
        let at = night_slot(night, hour, jitter(night));
        if at > now_ms {
            return (night, at);
        }
        night += 1;
    }
}

/// The first wait of the retry back-off while the hub is unreachable (`run --retry-base-secs`).
pub const DEFAULT_RETRY_BASE_MS: u64 = 30_000;
/// The longest wait between two retries.
pub const RETRY_MAX_MS: u64 = 30 * 60_000;

/// Wait before retry number `attempt` (0-based) while the hub is unreachable: `base_ms`,
/// doubling, at most [`RETRY_MAX_MS`] (or `base_ms` if larger); of that, the first half fixed and
/// the second half drawn from `random`, so that nodes cut off together do not retry in lockstep.
pub fn backoff_ms(attempt: u32, base_ms: u64, random: u64) -> u64 {
    let cap = base_ms.max(1).saturating_mul(1u64 << attempt.min(32)).min(RETRY_MAX_MS.max(base_ms));
    let fixed = cap / 2;
    fixed + random % (cap - fixed + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sync::testkit::*;
    use crate::sync::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn schedule_one_sync_a_night() {
        let none = |_: u64| 0;
        // NOW is 08:00 in UTC+8. The 02:00 sync is tomorrow; the 20:00 one today.
        let (night, at) = next_sync_at(NOW, 2, none, None);
        assert_eq!(clock_text(at), "2026-03-02 02:00:00");
        assert_eq!(night, night_of(at));
        let (today, at) = next_sync_at(NOW, 20, |_| 5 * 60_000, None);
        assert_eq!(clock_text(at), "2026-03-01 20:05:00");
        // Done tonight: tomorrow's, even if a fresh jitter would put tonight's slot still ahead.
        let (night, next) = next_sync_at(at + 60_000, 20, |n| if n == today { 50 * 60_000 } else { 0 }, Some(today));
        assert_eq!((night, clock_text(next).as_str()), (today + 1, "2026-03-02 20:00:00"));
        // Without the night recorded (a restart of `run`), the night's jitter is fixed, so the slot
        // just passed is not found again.
        let j = |n: u64| night_jitter_ms("鸦岭中心校", n, 60);
        let (n1, slot) = next_sync_at(NOW, 20, j, None);
        let (n2, again) = next_sync_at(slot + 1, 20, j, None);
        assert!(n2 > n1 && again > slot + 20 * 3_600_000, "{} then {}", clock_text(slot), clock_text(again));
        // Step through thirty days at five-minute ticks: exactly one slot per night.
        let mut nights = BTreeMap::new();
        let mut done = None;
        let mut t = NOW;
        while t < NOW + 30 * 24 * 3_600_000 {
            let (night, at) = next_sync_at(t, 2, j, done);
            if at <= t + 5 * 60_000 {
                *nights.entry(night).or_insert(0) += 1;
                done = Some(night);
            }
            t += 5 * 60_000;
        }
        assert_eq!(nights.len(), 30);
        assert!(nights.values().all(|n| *n == 1), "{nights:?}");
        // A jitter running past midnight still belongs to its night.
        let late = |_: u64| 90 * 60_000;
        let (night, at) = next_sync_at(NOW, 23, late, None);
        assert_eq!(clock_text(at), "2026-03-02 00:30:00");
        assert_eq!(night, night_of(NOW));
        let (night2, _) = next_sync_at(at + 1, 23, late, Some(night));
        assert_eq!(night2, night + 1);
    }

    #[test]
    fn nightly_jitter_is_fixed_per_night_and_spread_between_nodes_and_nights() {
        let n = night_of(NOW);
        assert_eq!(night_jitter_ms("鸦岭中心校", n, 60), night_jitter_ms("鸦岭中心校", n, 60));
        assert_eq!(night_jitter_ms("鸦岭中心校", n, 0), 0);
        let by_night: BTreeSet<u64> = (0..30).map(|k| night_jitter_ms("鸦岭中心校", n + k, 60)).collect();
        let by_node: BTreeSet<u64> = (0..30).map(|k| night_jitter_ms(&format!("节点{k}"), n, 60)).collect();
        assert!(by_night.len() > 20 && by_node.len() > 20, "{by_night:?} {by_node:?}");
        assert!(by_night.iter().chain(&by_node).all(|j| *j < 60 * 60_000));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = DEFAULT_RETRY_BASE_MS;
        // The first half of each wait is fixed, the second half random.
        assert_eq!(backoff_ms(0, base, 0), 15_000);
        assert_eq!(backoff_ms(0, base, u64::MAX - (u64::MAX % 15_001)), 15_000);
        assert_eq!(backoff_ms(0, base, 15_000), 30_000);
        assert_eq!(backoff_ms(1, base, 0), 30_000);
        assert_eq!(backoff_ms(2, base, 0), 60_000);
        assert_eq!(backoff_ms(6, base, 0), 15 * 60_000);
        assert_eq!(backoff_ms(100, base, u64::MAX), RETRY_MAX_MS / 2 + u64::MAX % (RETRY_MAX_MS / 2 + 1));
        let mut rng = StdRng::seed_from_u64(3);
        for attempt in 0..12 {
            let cap = (base << attempt).min(RETRY_MAX_MS);
            let waits: BTreeSet<u64> = (0..50).map(|_| backoff_ms(attempt, base, rng.gen())).collect();
            assert!(waits.iter().all(|w| *w >= cap / 2 && *w <= cap), "attempt {attempt}: {waits:?}");
            assert!(waits.len() > 40, "nodes retrying together spread out: {waits:?}");
        }
        // A short base (tests): one second, doubling.
        assert!((500..=1_000).contains(&backoff_ms(0, 1_000, 12_345)));
        assert!((1_000..=2_000).contains(&backoff_ms(1, 1_000, 12_345)));
    }
}
