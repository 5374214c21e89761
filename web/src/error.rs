//! What a page can fail with, as one Chinese line on an error page with the right status.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WebError {
    /// The input cannot be used as given (names the field and how to fix it).
    #[error("{0}")]
    BadRequest(String),
    /// The user may not see or do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The form's token is missing or stale.
    #[error("表单已过期或来源不明（安全校验未通过）：请返回上一页，刷新后重新提交")]
    Csrf,
    /// No live session (expired or logged out) on a request that needs one.
    #[error("登录已过期或尚未登录：请重新登录后再操作（未保存任何内容）")]
    LoginRequired,
    /// Something on the server side (storage, a file) failed.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::LoginRequired => StatusCode::UNAUTHORIZED,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(m) = &self {
            tracing::error!("web: {m}");
        }
        let title = match self.status() {
            StatusCode::FORBIDDEN => "无权访问",
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::BAD_REQUEST => "输入有误",
            _ => "出错了",
        };
        let page = crate::layout::bare_page(
            title,
            maud::html! {
                main { div.card {
                    h1 { (title) }
                    p.flash.flash-error { (self.to_string()) }
                    p { a href="/" { "返回首页" } " · " a href="/login" { "登录" } }
                } }
            },
        );
        (self.status(), Html(page.into_string())).into_response()
    }
}
