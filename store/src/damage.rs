//! Opening a damaged store: sled panics on some truncated or overwritten files instead of
//! returning an error. The open runs under [`guard`], which turns such a panic (or sled's
//! corruption error) into one clear line ([`StoreError::Damaged`]) and keeps the panic's own
//! message off the terminal.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Once;

use crate::{Result, StoreError};

thread_local! {
    /// Set while this thread opens a store: its panics are reported as damage, not printed.
    static OPENING: Cell<bool> = const { Cell::new(false) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !OPENING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `open`, reporting a panic or sled's corruption error as [`StoreError::Damaged`].
pub(crate) fn guard<T>(dir: &Path, open: impl FnOnce() -> Result<T>) -> Result<T> {
    install_hook();
    let was = OPENING.with(|o| o.replace(true));
    let r = std::panic::catch_unwind(AssertUnwindSafe(open));
    OPENING.with(|o| o.set(was));
    let damaged = |detail: String| StoreError::Damaged { path: dir.display().to_string(), detail };
    match r {
        Ok(Err(StoreError::Open { source: sled::Error::Corruption { .. }, .. }))
        | Ok(Err(StoreError::Sled(sled::Error::Corruption { .. }))) => Err(damaged("数据库文件校验失败".into())),
        Ok(Err(StoreError::Open { source: sled::Error::Unsupported(m), .. })) => Err(damaged(m)),
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let what: String = what.chars().filter(|c| !c.is_control()).take(120).collect();
            Err(damaged(if what.is_empty() {
                "数据库程序异常".into()
            } else {
                format!("数据库程序异常：{what}")
            }))
        }
    }
}
