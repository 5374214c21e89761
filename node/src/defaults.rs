//! Defaults taken from the environment: the data directory, the operator, today's date.

use std::path::PathBuf;

use baoxue_shared::Date;

use crate::error::{invalid, Result};

/// `--data`, else `BAOXUE_DATA`, else the per-user data directory
/// (`$XDG_DATA_HOME/baoxue-node`, `~/.local/share/baoxue-node`, `%APPDATA%\baoxue-node`).
pub fn data_dir(given: Option<PathBuf>) -> PathBuf {
    if let Some(d) = given {
        return d;
    }
    if let Some(d) = std::env::var_os("BAOXUE_DATA").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("baoxue-node");
    }
    if cfg!(windows) {
        if let Some(a) = std::env::var_os("APPDATA") {
            return PathBuf::from(a).join("baoxue-node");
        }
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local").join("share").join("baoxue-node"),
        None => PathBuf::from("baoxue-data"),
    }
}

/// `--operator`/`--by`, else `BAOXUE_OPERATOR`, else the OS user.
pub fn operator(given: Option<String>) -> Result<String> {
    let name = given
        .or_else(|| std::env::var("BAOXUE_OPERATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "未署名".to_string());
    if name.chars().count() > 40 {
        return Err(invalid(format!("操作员姓名「{name}」过长（最多 40 字）")));
    }
    Ok(name)
}

/// A strict `YYYY-MM-DD` (`2026-02-30` is an error), default today.
pub fn date(given: Option<&str>, flag: &str) -> Result<Date> {
    match given {
        None => Ok(Date::today()),
        Some(s) => {
            Date::parse(s).map_err(|_| invalid(format!("{flag} 日期「{s}」无效：应为 YYYY-MM-DD 格式的真实日期")))
        }
    }
}
