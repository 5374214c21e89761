//! User accounts: who may log in, with which role and scope, and the argon2id hash of their
//! password. Accounts are local to the app that serves them (the node's are never synced); the
//! app decides where they are kept ([`AccountStore`]) and what a role and a scope mean.
//!
//! Hash format (PHC-like, parameters inside, so verification never depends on today's
//! defaults): `$argon2id$v=19$m=19456,t=2,p=1$<salt hex>$<hash hex>`.

use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::WebError;

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// What the user types to log in (unique, compared case-insensitively).
    pub login: String,
    /// The person's name as pages and the ledger show it (录入人).
    pub name: String,
    /// The app's role key (e.g. `teacher`, `principal`, `township`, `admin`).
    pub role: String,
    /// The app's scope entries (e.g. a school, or classes `学校/年级/班`).
    #[serde(default)]
    pub scope: Vec<String>,
    pub hash: String,
    #[serde(default)]
    pub disabled: bool,
    /// Set by a one-time password: the next login must choose a new password first.
    #[serde(default)]
    pub must_change: bool,
    #[serde(default)]
    pub created: String,
}

/// Every account of an app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub users: Vec<Account>,
}

impl Accounts {
    pub fn find(&self, login: &str) -> Option<&Account> {
        let login = login.trim();
        self.users.iter().find(|a| a.login.eq_ignore_ascii_case(login))
    }

    pub fn find_mut(&mut self, login: &str) -> Option<&mut Account> {
        let login = login.trim();
        self.users.iter_mut().find(|a| a.login.eq_ignore_ascii_case(login))
    }
}

/// Where an app keeps its accounts (the node: its store's meta; tests: memory).
pub trait AccountStore: Send + Sync + 'static {
    fn load(&self) -> Result<Accounts, WebError>;
    fn save(&self, accounts: &Accounts) -> Result<(), WebError>;
}

/// Accounts in memory (tests, demos).
#[derive(Default)]
pub struct MemoryAccounts(pub Mutex<Accounts>);

impl AccountStore for MemoryAccounts {
    fn load(&self) -> Result<Accounts, WebError> {
        Ok(self.0.lock().map_err(|_| WebError::Internal("账户表锁失效".into()))?.clone())
    }
    fn save(&self, accounts: &Accounts) -> Result<(), WebError> {
        *self.0.lock().map_err(|_| WebError::Internal("账户表锁失效".into()))? = accounts.clone();
        Ok(())
    }
}

/// How expensive a new hash is. Tests use [`HashCost::Cheap`]; verification always uses the
/// parameters stored in the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCost {
    /// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
    Standard,
    /// 64 KiB, 1 pass: for tests only.
    Cheap,
}

impl HashCost {
    /// Cheap when `BAOXUE_TEST_CHEAP_ARGON2` is set (the test suites set it), else standard.
    pub fn from_env() -> HashCost {
        if std::env::var_os("BAOXUE_TEST_CHEAP_ARGON2").is_some() {
            HashCost::Cheap
        } else {
            HashCost::Standard
        }
    }

    fn params(self) -> (u32, u32, u32) {
        match self {
            HashCost::Standard => (19 * 1024, 2, 1),
            HashCost::Cheap => (64, 1, 1),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn derive(password: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Option<[u8; 32]> {
    let params = Params::new(m, t, p, Some(32)).ok()?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

/// A new argon2id hash of `password` with a random 16-byte salt.
pub fn hash_password(password: &str, cost: HashCost) -> String {
    let (m, t, p) = cost.params();
    let salt: [u8; 16] = rand::random();
    // The parameters above are valid constants, so derive cannot fail; an empty hash would
    // simply never verify.
    let out = derive(password, &salt, m, t, p).map(|o| hex(&o)).unwrap_or_default();
    format!("$argon2id$v=19$m={m},t={t},p={p}${}${out}", hex(&salt))
}

/// Whether `password` matches a hash made by [`hash_password`] (constant-time comparison).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, "argon2id", "v=19", params, salt, hash] = parts.as_slice() else { return false };
    let mut m = 0;
    let mut t = 0;
    let mut p = 0;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse().unwrap_or(0),
            Some(("t", v)) => t = v.parse().unwrap_or(0),
            Some(("p", v)) => p = v.parse().unwrap_or(0),
            _ => return false,
        }
    }
    let (Some(salt), Some(want)) = (unhex(salt), unhex(hash)) else { return false };
    let Some(got) = derive(password, &salt, m, t, p) else { return false };
    want.len() == got.len() && want.iter().zip(got.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A one-time password to read out at the console: 10 characters without look-alikes.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// A new password must be at least 8 characters and not the login itself.
pub fn check_new_password(login: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("新密码至少 8 个字符".into());
    }
    if password.eq_ignore_ascii_case(login) {
        return Err("新密码不能与登录名相同".into());
    }
    Ok(())
}

/// A login name: 2–32 letters, digits, `_`, `-`, `.` (typed on a phone keyboard).
pub fn check_login(login: &str) -> Result<(), String> {
    let n = login.chars().count();
    if !(2..=32).contains(&n) || !login.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
        return Err(format!("登录名「{login}」无效：应为 2–32 个英文字母、数字或 _ - ."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_its_password_and_keeps_its_parameters() {
        let h = hash_password("correct horse", HashCost::Cheap);
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "garbage"));
        assert_ne!(h, hash_password("correct horse", HashCost::Cheap), "salted");
    }

    #[test]
    fn one_time_passwords_are_long_enough_and_differ() {
        let a = one_time_password();
        assert_eq!(a.len(), 10);
        assert_ne!(a, one_time_password());
        assert!(check_new_password("liu", &a).is_ok());
        assert!(check_new_password("liu", "short").is_err());
    }
}
