//! The bureau's work at the hub: resolving conflicts (every concurrent value side by side, who
//! wrote it and when; the resolution is the same revision `conflicts resolve` writes) and
//! census lists (upload .xlsx/.xls/.csv; exact matches counted, unmatched children opened as
//! 失学 cases as `census import` does, and each suggested match confirmed or rejected one by
//! one — a rejected one becomes a 失学 case). Every write holds off pushes while it runs and
//! waits for the pages' figures to include it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use baoxue_shared::census::{match_census, parse_census_with, CensusIndex, MatchContext, Suggestion};
use baoxue_shared::model::CaseSource;
use baoxue_shared::{Change, Date, RecordId, RecordKind, RevId};
use baoxue_web::layout::csrf_field;
use baoxue_web::upload::{TempFile, Upload};
use baoxue_web::{html, CurrentUser, WebError};
use serde::Deserialize;

use super::access::Perm;
use super::{access_of, flash_of, with_ok, App};

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

fn refused(e: impl std::fmt::Display) -> WebError {
    WebError::BadRequest(e.to_string())
}

/// `/conflicts`: every record with a field in conflict (county-wide roles).
pub async fn conflicts(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if !a.county_wide() {
        return Err(WebError::Forbidden("乡镇账户不能查看全县冲突".into()));
    }
    let v = app.view()?;
    let ids: Vec<_> = v.conflicts.iter().copied().collect();
    let store = app.state.store.clone();
    let org = v.org.clone();
    let rows = tokio::task::spawn_blocking(move || -> Result<Vec<crate::conflicts::ConflictRow>, WebError> {
        let mut out = Vec::new();
        for id in ids {
            // The store's record: a node may have resolved it since the view was computed.
            if let Some(r) = store.record(id).map_err(internal)? {
                if !r.conflicts().is_empty() {
                    out.push(crate::conflicts::row(&r, &org));
                }
            }
        }
        Ok(out)
    })
    .await
    .map_err(internal)??;
    let may = a.may(Perm::Write);
    let body = html! {
        h1 { "并发修改冲突（" (rows.len()) " 条记录）" }
        p.muted.small { "两个节点（或节点与县级平台）在未看到对方修改时改了同一项。裁定后写入一条取代全部并发值的修订，各节点下次同步时收到。" }
        @if rows.is_empty() { p.flash.flash-ok { "没有待裁定的冲突。" } }
        @for r in &rows {
            div.card {
                h2 {
                    (r.name) "　" span.muted.small { (if r.kind == "case" { "案件" } else { "学生" }) " " (&r.record[..8]) " · " (r.township.clone().unwrap_or_default()) " " (r.school.clone().unwrap_or_default()) }
                    @if r.kind == "case" { "　" a.small href={ "/case/" (r.record) } { "查看案件" } }
                }
                @for f in &r.fields {
                    h3 { (f.label) }
                    div.side {
                        @for val in &f.values {
                            div.card {
                                div.figure { (val.value) }
                                div.small { "录入人 " (val.author) "（节点 " (val.origin) "）" }
                                div.small.muted { (val.at) @if val.interim { "　" span.level.level-info { "暂时显示此值" } } }
                                @if may {
                                    form.inline method="post" action="/conflicts/resolve" data-confirm={ "确认以「" (val.value) "」为准？" } {
                                        (csrf_field(&user.csrf))
                                        input type="hidden" name="record" value=(r.record);
                                        input type="hidden" name="field" value=(f.field);
                                        input type="hidden" name="keep" value=(val.revision);
                                        button type="submit" { "以此为准" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let flash = flash_of(&q);
    Ok(app.page("冲突", &user, "/conflicts", flash.as_ref(), body))
}

#[derive(Deserialize)]
pub struct ResolveForm {
    record: String,
    field: String,
    keep: String,
}

/// `POST /conflicts/resolve`: `conflicts resolve RECORD --keep REVISION --field FIELD` by the
/// user, then the pages are refreshed.
pub async fn resolve(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<ResolveForm>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Write)?;
    let by = user.name.clone();
    let r = app
        .write(move |st| {
            let ctx = super::context(st, &by);
            let args = crate::cmd::review::ResolveArgs {
                id: f.record,
                keep: f.keep,
                field: Some(f.field),
                by: Some(by.clone()),
                date: None,
            };
            crate::cmd::review::resolve(&ctx, &args).map_err(|e| refused(crate::cmd::error_line(&e)))
        })
        .await?;
    let label = baoxue_shared::Field::from_key(&r.field).map(|x| x.label()).unwrap_or(&r.field);
    app.audit(
        "resolve",
        &user,
        &format!("裁定冲突：记录 {} 的{label}取「{}」（修订 {}）", &r.record[..8], r.value, &r.revision[..8]),
    );
    let msg = format!("已裁定：{label}取「{}」，取代 {} 个并发值；各节点下次同步时收到", r.value, r.replaced.len());
    Ok(Redirect::to(&with_ok("/conflicts", &msg)).into_response())
}

// --- census -----------------------------------------------------------------------------------

/// An uploaded census list awaiting decisions on its suggested matches.
pub struct Review {
    pub by: String,
    pub file: String,
    pub bytes: Vec<u8>,
    pub source: CaseSource,
    pub date: Date,
    pub matched: usize,
    pub opened: usize,
    pub unmatched: usize,
    pub skipped: Vec<String>,
    pub errors: Vec<String>,
    pub read_as: Option<String>,
    pub suggested: Vec<Suggestion>,
    /// Row → what was decided.
    pub decided: BTreeMap<usize, String>,
}

/// The reviews in progress (in memory: a restart asks to upload the list again; what was
/// committed stays committed).
#[derive(Default)]
pub struct Reviews(pub std::sync::Mutex<HashMap<String, Review>>);

const SOURCES: [CaseSource; 5] =
    [CaseSource::Police, CaseSource::Civil, CaseSource::Poverty, CaseSource::Disability, CaseSource::Ministry];

/// `/census` (`?review=` shows an upload's suggestions).
pub async fn census_page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    let today = Date::today();
    let reviews = app.reviews.0.lock().map_err(|_| internal("锁失效"))?;
    let review = q.get("review").and_then(|k| reviews.get(k).map(|r| (k.clone(), r)));
    let body = html! {
        h1 { "普查名单比对（三比对）" }
        @if let Some((key, r)) = review {
            h2 { "「" (r.file) "」的比对结果" }
            p {
                (r.source.label()) "，比对日期 " (r.date)
                @if let Some(s) = &r.read_as { "；文件按 " (s) " 读取" }
            }
            div.cards {
                div.card.kpi { div.muted.small { "身份证号一致（在籍）" } div.figure { (r.matched) " 人" } }
                div.card.kpi { div.muted.small { "疑似同一人（待确认）" } div.figure { (r.suggested.len()) " 人" } }
                div.card.kpi { div.muted.small { "未匹配 → 立为失学案件" } div.figure { (r.opened) " 件" } div.terms { "未匹配 " (r.unmatched) " 人" } }
            }
            @if !r.errors.is_empty() {
                h3 { "未导入的行（" (r.errors.len()) "）" }
                ul.small { @for e in &r.errors { li { (e) } } }
            }
            @if !r.skipped.is_empty() {
                h3 { "未立案的行（" (r.skipped.len()) "）" }
                ul.small { @for e in &r.skipped { li { (e) } } }
            }
            @if !r.suggested.is_empty() {
                h3 { "疑似同一人：逐一确认或否认" }
                p.small.muted { "姓名、性别、出生日期与学籍学生一致，但身份证号不一致或缺失。确认：是同一人（在籍，不立案）；否认：不是同一人，立为失学案件。" }
                div.table-wrap { table {
                    thead { tr { th { "行" } th { "名单中的儿童" } th { "学籍中的学生" } th { "处理" } } }
                    tbody {
                        @for s in &r.suggested {
                            tr {
                                td { (s.row) }
                                td { (s.name) "　" (s.sex.label()) "　" (s.birth) div.small.muted { "身份证号 " (s.id_number.clone().unwrap_or_else(|| "（无）".into())) "；户籍 " (s.hukou_township) } }
                                td { @for c in &s.candidates { div { (c.name) "　" (c.school.clone().unwrap_or_default()) @if let Some(g) = c.grade { " " (g) " 年级" } div.small.muted { "身份证号 " (c.id_number.clone().unwrap_or_default()) "；学籍号 " (c.student_no.clone().unwrap_or_default()) } } } }
                                td {
                                    @match r.decided.get(&s.row) {
                                        Some(d) => span.level.level-ok { (d) },
                                        None => {
                                            form.inline method="post" action="/census/decide" {
                                                (csrf_field(&user.csrf))
                                                input type="hidden" name="review" value=(key);
                                                input type="hidden" name="row" value=(s.row);
                                                button type="submit" name="decision" value="confirm" { "确认是同一人" }
                                                button.secondary type="submit" name="decision" value="reject" { "否认，立为失学案件" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            p { a href="/census" { "比对另一份名单" } }
        } @else {
            p.muted { "上传公安、民政、扶贫、残联或教育部下发的名单（.xlsx、.xls 或 .csv），与全县学籍逐一比对：身份证号一致的为在籍；姓名、性别、出生日期一致而身份证号不同的待您确认；其余适龄儿童立为失学案件，同步到其户籍乡镇的节点。" }
            h2 { "比对名单" }
            form.stack method="post" enctype="multipart/form-data" action={ "/census?_csrf=" (user.csrf) } {
                label { "名单文件 " span.hint { "列：身份证号、姓名、性别、出生日期、户籍乡镇（可用别名）" } input type="file" name="file" accept=".xlsx,.xls,.csv" required; }
                label { "名单来源" select name="source" { @for s in SOURCES { option value=(s.key()) { (s.label()) } } } }
                label { "比对日期" input type="date" name="date" value=(today) max=(today) required; }
                p.will-write { "将记录：未匹配的适龄儿童各立一件失学案件；录入人 " (user.name) "（" (user.role_label) "）。" }
                button type="submit" { "上传并比对" }
            }
            h2 { "基线（系统启用前各届入学、转入、转出、死亡）" }
            form.stack method="post" enctype="multipart/form-data" action={ "/baseline?_csrf=" (user.csrf) } {
                label { "基线文件 " span.hint { "列：学校、入学学年、入学年级、入学人数、转入、转出、死亡（.xlsx、.xls 或 .csv）" } input type="file" name="file" accept=".xlsx,.xls,.csv" required; }
                label { "数据截至" input type="date" name="date" value=(today) max=(today) required; }
                p.will-write { "将记录：以此文件替换现有基线，巩固率随即按新基线重算；操作人 " (user.name) "。" }
                button type="submit" { "上传基线" }
            }
        }
    };
    drop(reviews);
    let flash = flash_of(&q);
    Ok(app.page("普查比对", &user, "/census", flash.as_ref(), body))
}

/// `POST /census` (multipart): matches the list, opens the unmatched children's cases, keeps the
/// suggestions for review.
pub async fn census_upload(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    mp: Multipart,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    let up = Upload::read(mp, "名单").await?;
    let name = up.name.clone();
    let (source, date) = (up.text("source"), up.text("date"));
    let bytes = up.file("请选择名单文件")?.to_vec();
    let source = SOURCES
        .into_iter()
        .find(|s| s.key() == source.trim())
        .ok_or_else(|| WebError::BadRequest("名单来源无效：请从列表中选择".into()))?;
    let date = if date.trim().is_empty() {
        Date::today()
    } else {
        Date::parse(date.trim()).map_err(|e| WebError::BadRequest(format!("比对日期：{e}")))?
    };
    let by = user.name.clone();
    let file_bytes = bytes.clone();
    let imported = app
        .write(move |st| {
            let county = st.dir.county(st.store.clone()).map_err(internal)?;
            county.import_census(&file_bytes, source, date, &by).map_err(|e| refused(format!("{e:#}")))
        })
        .await?;
    let o = &imported.outcome;
    let row_text = |e: &baoxue_shared::table::RowError| e.to_string();
    let review = Review {
        by: user.login.clone(),
        file: name.clone(),
        bytes,
        source,
        date,
        matched: o.matched,
        opened: imported.opened.len(),
        unmatched: o.unmatched,
        skipped: o.skipped.iter().map(row_text).collect(),
        errors: o.errors.iter().map(row_text).collect(),
        read_as: imported.read_as.map(|s| s.label()),
        suggested: o.suggested.clone(),
        decided: BTreeMap::new(),
    };
    app.audit(
        "census",
        &user,
        &format!(
            "普查比对「{name}」（{}）：在籍 {}，待确认 {}，立案 {}",
            source.label(),
            o.matched,
            o.suggested.len(),
            imported.opened.len()
        ),
    );
    let key = format!("{:016x}", rand::random::<u64>());
    app.reviews.0.lock().map_err(|_| internal("锁失效"))?.insert(key.clone(), review);
    Ok(Redirect::to(&format!("/census?review={key}")).into_response())
}

#[derive(Deserialize)]
pub struct DecideForm {
    review: String,
    row: usize,
    decision: String,
}

/// `POST /census/decide`: one suggestion confirmed (no write) or rejected (a 失学 case for the
/// row, matched again without the suggested students, so every other rule of `census import`
/// — age, exemption, earlier cases — still applies).
pub async fn census_decide(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<DecideForm>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    let (bytes, source, date, suggestion) = {
        let reviews = app.reviews.0.lock().map_err(|_| internal("锁失效"))?;
        let r = reviews.get(&f.review).ok_or_else(|| WebError::NotFound("比对结果已过期，请重新上传名单".into()))?;
        if r.decided.contains_key(&f.row) {
            return Ok(Redirect::to(&format!("/census?review={}", f.review)).into_response());
        }
        let s = r
            .suggested
            .iter()
            .find(|s| s.row == f.row)
            .cloned()
            .ok_or_else(|| WebError::NotFound(format!("名单第 {} 行没有待确认的匹配", f.row)))?;
        (r.bytes.clone(), r.source, r.date, s)
    };
    let decided = match f.decision.as_str() {
        "confirm" => {
            let who = suggestion.candidates.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join("、");
            app.audit("census", &user, &format!("确认名单第 {} 行 {} 是学籍学生 {who}", f.row, suggestion.name));
            format!("已确认为在籍学生（{}）", user.name)
        }
        "reject" => {
            let by = user.name.clone();
            let row = f.row;
            let exclude: Vec<_> = suggestion.candidates.iter().map(|c| c.record).collect();
            let opened = app
                .write(move |st| {
                    let county = st.dir.county(st.store.clone()).map_err(internal)?;
                    let mut file = parse_census_with(&bytes, &county.aliases).map_err(refused)?;
                    file.rows.retain(|r| r.row == row);
                    file.errors.clear();
                    file.warnings.clear();
                    let mut records = Vec::new();
                    for r in county.store.records(None) {
                        let r = r.map_err(internal)?;
                        if r.is_complete() && !exclude.contains(&r.id) {
                            records.push(r);
                        }
                    }
                    let index = CensusIndex::new(records.iter());
                    let ctx = MatchContext { org: &county.org, source, as_of: date, year_start: county.year_start() };
                    let outcome = match_census(&file, &index, &ctx).map_err(refused)?;
                    if let Some(s) = outcome.skipped.first() {
                        return Ok(Err(s.reason.clone()));
                    }
                    let items: Vec<_> = outcome
                        .cases
                        .iter()
                        .map(|c| {
                            (
                                RecordId::created_by(RevId::random()),
                                RecordKind::Case,
                                Change::CreateCase(Box::new(c.clone())),
                            )
                        })
                        .collect();
                    let n = items.len();
                    if n > 0 {
                        county.store.commit(crate::county::HUB_ORIGIN, &by, date, items).map_err(internal)?;
                    }
                    Ok(Ok(n))
                })
                .await?;
            match opened {
                Ok(n) => {
                    app.audit(
                        "census",
                        &user,
                        &format!("否认名单第 {} 行 {} 的匹配，立失学案件 {n} 件", f.row, suggestion.name),
                    );
                    format!("已否认，立为失学案件（{}）", user.name)
                }
                Err(why) => format!("已否认；未立案：{why}"),
            }
        }
        other => return Err(WebError::BadRequest(format!("处理方式「{other}」无效"))),
    };
    if let Some(r) = app.reviews.0.lock().map_err(|_| internal("锁失效"))?.get_mut(&f.review) {
        r.decided.insert(f.row, decided);
    }
    Ok(Redirect::to(&format!("/census?review={}", f.review)).into_response())
}

/// `POST /baseline` (multipart): `baseline import FILE --date D`.
pub async fn baseline_upload(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    mp: Multipart,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    let up = Upload::read(mp, "基线").await?;
    let name = up.name.clone();
    let date = up.text("date").to_string();
    let bytes = up.file("请选择基线文件")?.to_vec();
    let by = user.name.clone();
    let shown = name.clone();
    let done = app
        .write(move |st| {
            let ctx = super::context(st, &by);
            let tmp = TempFile::write(&super::accounts::web_dir(&st.dir.root).join("tmp"), "upload", &bytes, &shown)?;
            let args = crate::cmd::county::BaselineArgs {
                file: tmp.path().to_path_buf(),
                date: Some(date).filter(|d| !d.is_empty()),
            };
            crate::cmd::county::baseline_import(&ctx, &args)
                .map_err(|e| refused(tmp.shown(&crate::cmd::error_line(&e))))
        })
        .await?;
    let text = done.text().trim().to_string();
    app.audit("census", &user, &format!("上传基线「{name}」：{text}"));
    Ok(Redirect::to(&with_ok("/census", &text)).into_response())
}
