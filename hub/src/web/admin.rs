//! The bureau's view of the system itself: the nodes (last sync, last error, missed reporting
//! deadlines), the dated nightly archives, and the audit log (logins, exports, full-ID views).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use baoxue_shared::alerts::SubjectKind;
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::Perm;
use super::view::View;
use super::{access_of, App};

/// One node as the pages show it.
pub struct NodeRow {
    pub name: String,
    pub township: String,
    pub revoked: bool,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
    pub received: u64,
    /// Reporting-deadline alerts in force for this node.
    pub missed: Vec<String>,
    /// Whether the node has synced since the county's configuration (org, policy) last changed:
    /// every session sends it, so a complete one after the change delivered it.
    pub config_current: bool,
    /// Whether the bureau's conflict resolutions concerning the township have reached the node
    /// (from the hub-log position the node confirmed holding).
    pub resolutions: crate::resolutions::Delivery,
    /// Warnings before trouble about this node (its certificate expiring within 30 days).
    pub warnings: Vec<String>,
}

pub fn node_rows(app: &App, v: &View) -> Result<Vec<NodeRow>, WebError> {
    let dir = &app.state.dir;
    let nodes = dir.nodes().map_err(|e| WebError::Internal(e.to_string()))?;
    let statuses = dir.statuses().map_err(|e| WebError::Internal(e.to_string()))?;
    let cert_alerts = crate::health::node_cert_alerts(&nodes, baoxue_shared::Date::today());
    // When `hub.toml` (which carries the configuration's version) was last written.
    let changed_ms = std::fs::metadata(dir.root.join("hub.toml"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Ok(nodes
        .into_iter()
        .map(|n| {
            let s = statuses.get(&n.name);
            let missed = v
                .computed
                .alerts
                .iter()
                .filter(|x| x.subject_kind == SubjectKind::Node && x.subject == n.name)
                .map(|x| format!("{}（{} 起）", x.message, x.due))
                .collect();
            NodeRow {
                resolutions: v.resolutions.delivery(&n.township, s.and_then(|s| s.pulled)),
                township: n.township,
                revoked: n.revoked,
                last_sync: s.and_then(|s| s.last_sync.clone()),
                last_error: s.and_then(|s| s.last_error.clone()),
                received: s.map(|s| s.received).unwrap_or(0),
                missed,
                config_current: s.and_then(|s| s.last_sync_ms).is_some_and(|ms| ms >= changed_ms),
                warnings: cert_alerts.iter().filter(|x| x.subject == n.name).map(|x| x.message.clone()).collect(),
                name: n.name,
            }
        })
        .collect())
}

pub fn node_table(rows: &[NodeRow]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { "尚未签发节点。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "节点" } th { "乡镇" } th { "上次同步" } th.right { "已收修订" } th { "报送" } th { "全县配置" } th { "冲突裁决" } th { "最近错误" } } }
                tbody {
                    @for r in rows {
                        tr class=[(!r.missed.is_empty() || !r.warnings.is_empty()).then_some("row-warning")] {
                            td { (r.name) @if r.revoked { " " span.level.level-urgent { "已吊销" } } }
                            td { (r.township) }
                            td.nowrap { (r.last_sync.clone().unwrap_or_else(|| "从未同步".into())) }
                            td.right { (r.received) }
                            td { @if r.missed.is_empty() { span.level.level-ok { "按时" } } @else { @for m in &r.missed { div.small { span.level.level-warning { "逾期" } " " (m) } } } }
                            td { @if r.config_current { span.level.level-ok { "已送达" } } @else { span.level.level-warning { "未送达" } } }
                            td.resolutions { @if r.resolutions.received() { span.level.level-ok { (r.resolutions.text()) } } @else { span.level.level-warning { (r.resolutions.text()) } } }
                            td.small {
                                @for w in &r.warnings { div { span.level.level-warning { "证书" } " " (w) } }
                                (r.last_error.clone().unwrap_or_default())
                            }
                        }
                    }
                }
            } }
        }
    }
}

/// The hub's own warnings before trouble (its certificates, its disk, its last backup), above
/// the nodes' health; nothing when there are none.
pub fn hub_warnings(app: &App) -> Markup {
    let list = crate::health::facts(&app.state.dir, &app.state.store).alerts(
        crate::health::HUB_SUBJECT,
        "",
        baoxue_shared::Date::today(),
    );
    html! {
        @for x in &list {
            div class={ "alert-item " (super::dashboard::web_level(x.level).class()) } {
                (baoxue_web::layout::level_badge(super::dashboard::web_level(x.level))) " 县级平台：" (x.message)
            }
        }
    }
}

/// `/nodes`: the nodes and the nightly archives (county-wide roles).
pub async fn nodes(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if !a.county_wide() {
        return Err(WebError::Forbidden("乡镇账户不能查看全县节点".into()));
    }
    let v = app.view()?;
    let rows = node_rows(&app, &v)?;
    let mut days: Vec<String> = std::fs::read_dir(app.state.dir.root.join("reports"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    days.retain(|d| baoxue_shared::Date::parse(d).is_ok());
    days.sort();
    days.reverse();
    let body = html! {
        h1 { "节点（" (rows.len()) " 个）" }
        (hub_warnings(&app))
        (node_table(&rows))
        @if a.may(Perm::Users) {
            h2 { "签发节点" }
            form.inline method="post" action="/nodes/add" {
                (baoxue_web::layout::csrf_field(&user.csrf))
                label { "节点名称 " input type="text" name="name" placeholder="如：鸦岭中心校" required; }
                label { "乡镇 " select name="township" { @for (t, _) in &v.org.townships { option value=(t) { (t) } } } }
                button type="submit" { "签发并下载配置包" }
            }
            p.small.muted { "配置包含该节点的私钥，只下载这一次，请安全送达乡镇。" }
            @let live: Vec<&NodeRow> = rows.iter().filter(|r| !r.revoked).collect();
            @if !live.is_empty() {
                h2 { "吊销节点" }
                form.inline method="post" action="/nodes/revoke" data-confirm="吊销后该节点的连接一律拒绝，确定？" {
                    (baoxue_web::layout::csrf_field(&user.csrf))
                    label { "节点 " select name="name" { @for r in &live { option value=(r.name) { (r.name) "（" (r.township) "）" } } } }
                    button.danger type="submit" { "吊销" }
                }
            }
        }
        p.small.muted { "全县配置（学校名单、政策）每次同步都随之下发：节点在最近一次更改之后同步成功即为已送达。冲突裁决：节点确认已收到的平台数据位置在该乡镇最新一条裁决之后，即为已收到（以节点自己的确认为准，仅已发送不算）。" }
        p { "夜间汇总存档 " (days.len()) " 份：" a href="/archives" { "查看与下载" } }
    };
    let flash = super::flash_of(&q);
    Ok(app.page("节点", &user, "/nodes", flash.as_ref(), body))
}

/// `/audit`: the latest logins, exports and full-ID views.
pub async fn audit(State(app): State<Arc<App>>, Extension(user): Extension<CurrentUser>) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Audit)?;
    let events = app.auth.audit.recent(300);
    let kind = |k: &str| match k {
        "login_ok" => "登录",
        "login_failed" => "登录失败",
        "login_limited" => "登录受限",
        "logout" => "退出",
        "password" => "修改密码",
        "full_id" => "查看完整身份证号",
        "export" => "下载",
        "resolve" => "裁定冲突",
        "policy" => "更换政策",
        "node" => "节点",
        "sent" => "标记已上报",
        "census" => "普查比对",
        _ => "其他",
    };
    let body = html! {
        h1 { "审计日志" }
        p.muted.small { "最近 " (events.len()) " 条；完整记录在数据目录 web/audit.jsonl。" }
        div.table-wrap { table {
            thead { tr { th { "时间" } th { "类别" } th { "账户" } th { "地址" } th { "内容" } } }
            tbody {
                @for e in &events {
                    tr { td.nowrap { (e.at) } td.nowrap { (kind(&e.kind)) } td { (e.login) } td { (e.address) } td { (e.detail) } }
                }
            }
        } }
    };
    Ok(app.page("审计", &user, "/audit", None, body))
}
