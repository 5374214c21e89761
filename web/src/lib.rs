//! # baoxue-web
//!
//! The web foundation both front ends stand on: the node's school app (`baoxue-node serve`)
//! and the hub's county dashboard. It knows HTTP, HTML and the security every page needs; it
//! knows nothing of students or cases. Pages are server-rendered with maud (compile-time
//! checked, escaped by default, and — unlike file templates — plain Rust functions, so the two
//! apps share the layout and components across crates without template-path configuration).
//!
//! # Layout
//! - [`layout`]: the page shell (top bar, navigation, footer), the login page, the A4 document
//!   shell for printables, and small components (alert level badge, flash message, CSRF field).
//! - [`chart`]: bar and line charts as server-rendered SVG.
//! - [`assets`]: the stylesheet and script, embedded in the binary and served with a content
//!   hash in their URL; no CDN, no font download.
//! - [`accounts`]: user accounts with argon2id hashes, one-time passwords, the storage trait.
//! - [`session`]: server-side sessions behind an HttpOnly, SameSite=Strict cookie, with idle and
//!   absolute expiry on an injectable clock.
//! - [`upload`]: a multipart form's file and fields, and the file handed to a command by path.
//! - [`clock`]: the time sessions and login limits read, shiftable in tests.
//! - [`cookies`]: reading the `Cookie` header and writing `Set-Cookie`.
//! - [`csrf`]: the token every form carries, checked by one middleware for every unsafe method.
//! - [`headers`]: security headers (a strict CSP among them) on every response.
//! - [`ratelimit`]: failed logins per account and per address.
//! - [`audit`]: the log of logins and sensitive views (JSON lines in the data directory).
//! - [`auth`]: login, logout, password change, and the middleware that puts the
//!   [`auth::CurrentUser`] in every protected request; [`auth::app`] assembles a front end.
//! - [`serve`]: serving a router on 127.0.0.1 or over HTTPS (certificates from `baoxue-net`).
//! - [`error`]: [`WebError`], one Chinese line per failure, rendered as a page.
//! - `browser` (feature `browser`): drives Debian's Chromium over the DevTools protocol for
//!   end-to-end tests, PDF printing and screenshots.
//!
//! **Invariants.** Every response carries the security headers; every request with an unsafe
//! method is refused unless it carries the session's CSRF token; a protected route never runs
//! without a live session; no page loads anything from outside the binary.

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod auth;
#[cfg(feature = "browser")]
pub mod browser;
pub mod chart;
pub mod clock;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod layout;
pub mod ratelimit;
pub mod serve;
pub mod session;
pub mod upload;

pub use auth::{Auth, AuthConfig, CurrentUser};
pub use error::WebError;
pub use maud::{html, Markup, PreEscaped};
