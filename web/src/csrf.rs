//! CSRF: every request with an unsafe method (POST, PUT, PATCH, DELETE) must carry the
//! session's token — in an `x-csrf-token` header, a `_csrf` query parameter (how multipart
//! upload forms carry it, in their action URL) or a `_csrf` field of a url-encoded form. Before
//! login the token is the `bx_pre` cookie's value (double submit). One middleware checks it for
//! every route; handlers never repeat the check. SameSite=Strict cookies already keep other
//! sites' requests from carrying the session; this makes the rule independent of browsers.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::cookies;
use crate::error::WebError;

/// The form field (and query parameter) that carries the token.
pub const FIELD: &str = "_csrf";
/// The largest url-encoded form body read for its token (a roll call of a big class fits).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn from_query(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned())
}

pub async fn verify(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let expected = match req.extensions().get::<CurrentUser>() {
        Some(u) => Some(u.csrf.clone()),
        // Without a session only the login form may be sent; anything else asks to log in.
        None if req.uri().path() != "/login" => return WebError::LoginRequired.into_response(),
        None => cookies::get(req.headers(), cookies::PRE_LOGIN),
    };
    let Some(expected) = expected.filter(|e| !e.is_empty()) else { return WebError::Csrf.into_response() };
    let given = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| from_query(&req));
    if let Some(g) = given {
        return if equal(&g, &expected) { next.run(req).await } else { WebError::Csrf.into_response() };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("application/x-www-form-urlencoded"))
        .unwrap_or(false);
    if !is_form {
        return WebError::Csrf.into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return WebError::BadRequest("表单过大".into()).into_response();
    };
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == FIELD && equal(&v, &expected));
    if !ok {
        return WebError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
