//! What the county reviews at the hub: `stats`, `conflicts` and `conflicts resolve`.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::Context;
use crate::conflicts::{ConflictRow, Resolved};
use crate::stats::Stats;

/// `stats`: counts of revisions, students, cases, conflicts, per node; 重复学籍.
pub fn stats(ctx: &Context) -> Result<Stats> {
    let store = ctx.store()?;
    Ok(crate::stats::stats(&ctx.dir, &store)?)
}

/// `conflicts`: every record with a field edited concurrently and not yet resolved.
pub fn conflicts(ctx: &Context) -> Result<Vec<ConflictRow>> {
    let store = ctx.store()?;
    Ok(crate::conflicts::list(&store, &ctx.dir.org()?)?)
}

/// `conflicts resolve`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveArgs {
    /// A record id (prefix), 学籍号 or 身份证号.
    pub id: String,
    /// The value to keep: a revision id prefix or the value's text.
    pub keep: String,
    /// Only this field (`phone`, `status`, …).
    pub field: Option<String>,
    /// Who resolves (default `BAOXUE_OPERATOR`, else the system user, else 县级平台).
    pub by: Option<String>,
    /// The business date (default the context's).
    pub date: Option<String>,
}

/// `conflicts resolve`: one revision at the hub replacing every concurrent value of a field.
pub fn resolve(ctx: &Context, a: &ResolveArgs) -> Result<Resolved> {
    let date = ctx.date(a.date.as_deref(), "--date")?;
    let store = ctx.store()?;
    let by =
        a.by.clone()
            .or_else(|| ctx.operator.clone())
            .or_else(|| std::env::var("USER").ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "县级平台".into());
    Ok(crate::conflicts::resolve(&store, &a.id, &a.keep, a.field.as_deref(), &by, date)?)
}

/// One line about a resolution.
pub fn resolved_text(r: &Resolved) -> String {
    format!(
        "已裁定：记录 {} 的 {} 取值为 {}（修订 {}，取代 {} 个并发值）；各节点下次同步时收到",
        r.record.get(..8).unwrap_or(&r.record),
        baoxue_shared::Field::from_key(&r.field).map(|f| f.label()).unwrap_or(&r.field),
        r.value,
        r.revision.get(..8).unwrap_or(&r.revision),
        r.replaced.len()
    )
}
