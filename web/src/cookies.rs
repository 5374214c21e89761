//! Cookies by hand: the app sets two (the session, and the login form's CSRF token) and reads
//! them from the `Cookie` header; a crate would add more than it saves.

use axum::http::HeaderMap;

/// The session cookie's name.
pub const SESSION: &str = "bx_session";
/// The login form's CSRF cookie (before any session exists).
pub const PRE_LOGIN: &str = "bx_pre";

/// The value of cookie `name` in the request, if present.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    for value in headers.get_all(axum::http::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(';') {
            let part = part.trim();
            if let Some((k, v)) = part.split_once('=') {
                if k.trim() == name {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and Secure over HTTPS.
/// `max_age` None makes a cookie that ends with the browser session; Some(0) deletes it.
pub fn set(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several_and_sets_strict_httponly() {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; bx_session=abc ; c=3".parse().expect("header"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, "zz"), None);
        let c = set(SESSION, "v", Some(60), true);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure") && c.contains("Max-Age=60")
        );
    }
}
