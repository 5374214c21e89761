//! The page shell and the components both apps share. Templates hold no logic beyond loops and
//! conditions; what a page shows is decided by its handler.

use maud::{html, Markup, DOCTYPE};

use crate::assets;
use crate::auth::CurrentUser;

/// A link of the top navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: String,
    pub label: String,
}

impl NavItem {
    pub fn new(href: &str, label: &str) -> NavItem {
        NavItem { href: href.into(), label: label.into() }
    }
}

/// What surrounds every page of an app: its name, the navigation the user may follow, and the
/// footer (the node shows its last and next sync there).
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub app_name: String,
    pub nav: Vec<NavItem>,
    pub footer: Vec<String>,
}

/// A message shown once at the top of a page (after a save, a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Ok(String),
    Error(String),
    Info(String),
}

pub fn flash(f: &Flash) -> Markup {
    let (class, text) = match f {
        Flash::Ok(t) => ("flash flash-ok", t),
        Flash::Error(t) => ("flash flash-error", t),
        Flash::Info(t) => ("flash flash-info", t),
    };
    html! { p class=(class) role="status" { (text) } }
}

/// The alert levels, one colour everywhere; the word is always written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Urgent,
    Warning,
    Info,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Urgent => "紧急",
            Level::Warning => "警告",
            Level::Info => "提示",
        }
    }
    /// The CSS suffix (`level-urgent`, `row-urgent`, `alert-item urgent`).
    pub fn class(self) -> &'static str {
        match self {
            Level::Urgent => "urgent",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
    /// From the Chinese word.
    pub fn from_word(w: &str) -> Option<Level> {
        match w {
            "紧急" => Some(Level::Urgent),
            "警告" => Some(Level::Warning),
            "提示" => Some(Level::Info),
            _ => None,
        }
    }
}

/// `[紧急]` as a coloured badge.
pub fn level_badge(l: Level) -> Markup {
    html! { span class={ "level level-" (l.class()) } { (l.word()) } }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(crate::csrf::FIELD) value=(token); }
}

fn head(title: &str, app: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (app) }
            link rel="icon" href="/favicon.svg" type="image/svg+xml";
            link rel="stylesheet" href=(assets::css_url());
            script src=(assets::js_url()) defer {}
        }
    }
}

/// A full page with the app's chrome. `path` marks the active navigation item.
pub fn page(title: &str, chrome: &Chrome, user: Option<&CurrentUser>, path: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title, &chrome.app_name))
            body {
                header.topbar {
                    a.app href="/" { (chrome.app_name) }
                    nav aria-label="主导航" {
                        @for item in &chrome.nav {
                            @let active = item.href == path || (item.href != "/" && path.starts_with(&item.href));
                            a href=(item.href) class=[active.then_some("active")] { (item.label) }
                        }
                    }
                    @if let Some(u) = user {
                        div.who {
                            span { (u.name) "（" (u.role_label) "）" }
                            form method="post" action="/logout" {
                                (csrf_field(&u.csrf))
                                button.secondary type="submit" { "退出" }
                            }
                        }
                    }
                }
                main { (body) }
                @if !chrome.footer.is_empty() {
                    footer.foot { @for f in &chrome.footer { span { (f) } } }
                }
            }
        }
    }
}

/// A page without navigation (errors, login).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title, "保学"))
            body { (body) }
        }
    }
}

/// An official document on A4: only the document prints; a toolbar to print and go back
/// shows on screen.
pub fn document(title: &str, back: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title, "保学"))
            body {
                main {
                    div.doc-toolbar.no-print {
                        button type="button" data-print="1" { "打印" }
                        a.button.secondary href=(back) { "返回" }
                        span.muted.small { "用 A4 纸纵向打印；在打印设置中关闭“页眉和页脚”。" }
                    }
                    article.doc { (body) }
                }
            }
        }
    }
}

/// The login page.
pub fn login_page(app_name: &str, error: Option<&str>, csrf: &str, next: &str, login: &str) -> Markup {
    bare_page(
        "登录",
        html! {
            main.login {
                div.card {
                    h1 { (app_name) }
                    @if let Some(e) = error { p.flash.flash-error role="alert" { (e) } }
                    form.stack method="post" action="/login" {
                        (csrf_field(csrf))
                        input type="hidden" name="next" value=(next);
                        label { "登录名" input type="text" name="login" value=(login) autocomplete="username" autocapitalize="none" required autofocus; }
                        label { "密码" input type="password" name="password" autocomplete="current-password" required; }
                        button type="submit" { "登录" }
                    }
                    p.muted.small { "忘记密码请联系本校管理员，在服务器上用 baoxue-node user reset 重置。" }
                }
            }
        },
    )
}
