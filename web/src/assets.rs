//! The stylesheet and script, embedded in the binary. Their URLs carry a hash of their content,
//! so a browser may cache them for a year and still gets the new file after an upgrade.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub const CSS: &str = include_str!("assets/app.css");
pub const JS: &str = include_str!("assets/app.js");
/// A small favicon (the brand colour, 保).
pub const FAVICON: &str = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='6' fill='#0b5394'/><text x='16' y='23' font-size='20' text-anchor='middle' fill='#fff'>保</text></svg>";

/// FNV-1a of a text, as 8 hex digits (cache busting, not security).
fn fnv(text: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

pub fn css_url() -> String {
    format!("/assets/app.css?v={}", fnv(CSS))
}

pub fn js_url() -> String {
    format!("/assets/app.js?v={}", fnv(JS))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        body,
    )
        .into_response()
}

/// `/assets/app.css`, `/assets/app.js`, `/favicon.svg` (public: the login page needs them).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON) }))
}
