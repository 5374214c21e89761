//! `student import|add|list|show|status|transfer|accept|edit`.

use std::collections::BTreeMap;
use std::path::Path;

use baoxue_shared::dates::{age_at_reference, is_school_age};
use baoxue_shared::ids::{mask, IdNumber, StudentNo};
use baoxue_shared::model::{Placement, SpecialGroup, Status, TransferTarget};
use baoxue_shared::revision::StudentInit;
use baoxue_shared::roster::{self, Context, StudentInput};
use baoxue_shared::table::{Encoding, RowError, Source};
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, RevId, Value};
use serde_json::json;

use crate::error::{invalid, refused, NodeError, Result};
use crate::ledger::{assign, ensure_settled, placement_change, who, Ledger, PLACEMENT_FIELDS};
use crate::output::{
    class_of, closed_of, conflict_lines, history_json, history_lines, ident, json_text, status_text, student_json,
    Output,
};

/// Who records, and on which business day.
pub struct Stamp {
    pub author: String,
    pub date: Date,
}

fn roster_context<'a>(l: &'a Ledger, date: Date) -> Context<'a> {
    Context { org: &l.config.org, township: Some(l.township()), school_year: l.school_year(date) }
}

/// The student already on this node with this 学籍号, if any.
fn existing_no(l: &Ledger, no: &StudentNo) -> Result<Option<Record>> {
    for id in l.store.by_student_no(no.as_str())? {
        if let Some(r) = l.store.record(id)? {
            if r.kind == RecordKind::Student {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// The student already on this node with this 身份证号, if any (cases share the index).
fn existing_id(l: &Ledger, id: &IdNumber) -> Result<Option<Record>> {
    for rid in l.store.by_id_number(id.as_str())? {
        if let Some(r) = l.store.record(rid)? {
            if r.kind == RecordKind::Student {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// Checks a new student against the students this node already holds.
fn duplicate_of(l: &Ledger, s: &StudentInit) -> Result<Option<(&'static str, String, String)>> {
    if let Some(r) = existing_no(l, &s.student_no)? {
        return Ok(Some((
            "学籍号",
            s.student_no.masked(),
            format!("本节点已有此学籍号的学生（{}，{}）", r.name(), class_of(&r)),
        )));
    }
    if let Some(id) = &s.id_number {
        if let Some(r) = existing_id(l, id)? {
            return Ok(Some((
                "身份证号",
                id.masked(),
                format!(
                    "本节点已有此身份证号的学生（{}，学籍号 {}）",
                    r.name(),
                    r.student_no().map(|n| n.masked()).unwrap_or_default()
                ),
            )));
        }
    }
    Ok(None)
}

// --- import -------------------------------------------------------------------------------

/// Students per durable commit of an import (a township's whole roster, usually).
const IMPORT_STEP: usize = 10_000;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub dry_run: bool,
    pub skip_bad: bool,
}

/// Imports a roster CSV: every bad row is reported; nothing is written if any row is bad
/// (unless `--skip-bad`); the good rows go in ONE durable commit.
pub fn import(l: &Ledger, a: &ImportArgs, stamp: &Stamp) -> Result<Output> {
    let path = a.file.display().to_string();
    l.check_write_date(stamp.date, None, None)?;
    // Refused by size before it is read: memory stays bounded whatever the file.
    let size = std::fs::metadata(a.file).map_err(|source| NodeError::Read { path: path.clone(), source })?.len();
    if size > roster::MAX_ROSTER_BYTES {
        return Err(invalid(format!(
            "花名册 {path} 有 {:.1} MB，超过单次导入上限 {} MB（约 {} 行）：请按学校拆分成几个文件分批导入",
            size as f64 / 1e6,
            roster::MAX_ROSTER_BYTES / 1_000_000,
            roster::MAX_ROSTER_ROWS_HINT
        )));
    }
    let bytes = std::fs::read(a.file).map_err(|source| NodeError::Read { path: path.clone(), source })?;
    let checked =
        roster::check(&bytes, &roster_context(l, stamp.date)).map_err(|e| invalid(format!("花名册 {path}：{e}")))?;
    let mut errors: Vec<RowError> = checked.errors;
    let age_warnings = checked.warnings;
    let checked_source = checked.source;
    let mut good = Vec::with_capacity(checked.good.len());
    for (row, s) in checked.good {
        match duplicate_of(l, &s)? {
            Some((column, value, reason)) => errors.push(RowError { row, column: column.into(), value, reason }),
            None => good.push((row, s)),
        }
    }
    for e in &mut errors {
        if e.column == "学籍号" && e.value.chars().count() >= 18 {
            e.value = mask(&e.value);
        }
    }
    errors.sort_by_key(|e| e.row);
    let bad_rows = {
        let mut r: Vec<usize> = errors.iter().map(|e| e.row).collect();
        r.dedup();
        r.len()
    };
    let trial = if a.dry_run { "（试运行）" } else { "" };
    if !errors.is_empty() && !a.skip_bad {
        let hint = if good.is_empty() {
            String::new()
        } else {
            format!("（改正后重新导入，或用 --skip-bad 只导入正确的 {} 行）", good.len())
        };
        // One problem: one line that says it all. Several: a line per problem, then a summary
        // that still names the first one, so the last line alone tells where to look.
        let first = &errors[0];
        let summary = if errors.len() == 1 {
            format!("花名册 {path}{trial}：{first}；未导入任何学生{hint}")
        } else {
            let at = if first.column.is_empty() {
                format!("第 {} 行", first.row)
            } else {
                format!("第 {} 行，列「{}」", first.row, first.column)
            };
            format!(
                "花名册 {path}{trial}：{} 处错误，涉及 {bad_rows} 行（第一处在{at}），未导入任何学生{hint}",
                errors.len()
            )
        };
        return Err(NodeError::Rows { summary, rows: errors });
    }
    // Remarks on rows that are imported (a row skipped as bad says why it was skipped instead).
    let imported: std::collections::HashSet<usize> = good.iter().map(|(r, _)| *r).collect();
    let mut warnings: Vec<String> =
        age_warnings.into_iter().filter(|(row, _)| imported.contains(row)).map(|(_, w)| format!("提示：{w}")).collect();
    if !matches!(checked_source, Source::Csv(Encoding::Utf8 | Encoding::Utf8Bom)) {
        warnings.insert(0, format!("提示：已按 {} 读取 {path}", checked_source.label()));
    }
    warnings.extend(errors.iter().map(|e| format!("已跳过：{e}")));
    if !errors.is_empty() {
        warnings.push(format!("共跳过 {bad_rows} 行有错误的记录"));
    }
    if good.is_empty() {
        return Err(invalid(format!("花名册 {path} 中没有可导入的学生")));
    }
    let mut per_school: BTreeMap<String, usize> = BTreeMap::new();
    for (_, s) in &good {
        *per_school.entry(s.placement.school.clone()).or_default() += 1;
    }
    let by_school = per_school.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join("、");
    if a.dry_run {
        return Ok(Output {
            text: format!("检查通过：{} 名学生可以导入（{by_school}）；试运行，未写入\n", good.len()),
            warnings,
        });
    }
    let n = good.len();
    // Durable steps of IMPORT_STEP students: a township's roster is one commit, and a large file
    // never holds the store's whole write in memory at once. Were the import cut off part-way,
    // the steps done are kept and importing the same file again with --skip-bad completes it
    // (the rows already imported are reported as already present).
    let mut rows = good.into_iter().peekable();
    while rows.peek().is_some() {
        let items = rows
            .by_ref()
            .take(IMPORT_STEP)
            .map(|(_, s)| {
                (RecordId::created_by(RevId::random()), RecordKind::Student, Change::CreateStudent(Box::new(s)))
            })
            .collect();
        l.commit(&stamp.author, stamp.date, items)?;
    }
    Ok(Output { text: format!("已导入 {n} 名学生（{by_school}），已写入磁盘\n"), warnings })
}

// --- add ----------------------------------------------------------------------------------

pub fn add(l: &Ledger, input: &StudentInput, stamp: &Stamp) -> Result<Output> {
    let s = roster::validate(input, &roster_context(l, stamp.date)).map_err(|errs| {
        let parts: Vec<String> = errs
            .iter()
            .map(|e| {
                let v = if e.value.chars().count() >= 18 { mask(&e.value) } else { e.value.clone() };
                format!("{}「{}」：{}", e.column, v, e.reason)
            })
            .collect();
        invalid(format!("学生「{}」的信息有误：{}", input.name.trim(), parts.join("；")))
    })?;
    if let Some((column, value, reason)) = duplicate_of(l, &s)? {
        return Err(refused(format!("不能添加学生「{}」：{column}「{value}」{reason}", s.name)));
    }
    l.check_write_date(stamp.date, None, Some(s.birth)).map_err(|e| invalid(format!("学生「{}」：{e}", s.name)))?;
    let line =
        format!("已添加学生 {}（{}）：{} {}年级，在读\n", s.student_no.masked(), s.name, s.placement.school, s.grade);
    let warnings =
        roster::age_warning(&s, l.school_year(stamp.date)).map(|w| format!("提示：{w}")).into_iter().collect();
    l.commit(
        &stamp.author,
        stamp.date,
        vec![(RecordId::created_by(RevId::random()), RecordKind::Student, Change::CreateStudent(Box::new(s)))],
    )?;
    Ok(Output { text: line, warnings })
}

// --- list and show ------------------------------------------------------------------------

pub struct ListArgs<'a> {
    pub school: Option<&'a str>,
    pub status: Option<&'a str>,
    pub all: bool,
    pub json: bool,
    pub unmasked: bool,
}

pub fn list(l: &Ledger, a: &ListArgs) -> Result<Output> {
    let status = a.status.map(|s| s.parse::<Status>().map_err(|e| invalid(e.to_string()))).transpose()?;
    if let Some(s) = a.school {
        if l.config.org.school(s).is_none() {
            return Err(invalid(format!("学校「{s}」不在本县组织机构中")));
        }
    }
    let mut rows: Vec<Record> = l
        .all(RecordKind::Student)?
        .into_iter()
        .filter(|r| a.all || l.is_ours(r) || l.is_incoming(r))
        .filter(|r| a.school.map(|s| r.school() == Some(s)).unwrap_or(true))
        .filter(|r| status.map(|s| r.status() == Some(s)).unwrap_or(true))
        .collect();
    rows.sort_by(|x, y| {
        (x.school(), x.grade(), x.text(Field::Class), x.student_no()).cmp(&(
            y.school(),
            y.grade(),
            y.text(Field::Class),
            y.student_no(),
        ))
    });
    if a.json {
        let v: Vec<_> = rows.iter().map(|r| student_json(l, r, a.unmasked)).collect();
        return Ok(json_text(&serde_json::Value::Array(v)).into());
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = format!(
            "{}  {}  {}  {}  {}",
            r.student_no().map(|s| ident(s.as_str(), a.unmasked)).unwrap_or_default(),
            r.name(),
            r.sex().map(|s| s.label()).unwrap_or(""),
            class_of(r),
            status_text(r)
        );
        if !r.conflicts().is_empty() {
            line.push_str("  ⚠ 有冲突");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("共 {} 名学生\n", rows.len()));
    Ok(out.into())
}

pub fn show(l: &Ledger, arg: &str, json: bool, unmasked_json: bool) -> Result<Output> {
    let r = l.student(arg)?;
    let history = l.store.history(r.id)?;
    let cases = l.cases_of(&r)?;
    if json {
        let mut v = student_json(l, &r, unmasked_json);
        v["absence_list"] = json!(r
            .absences_sorted()
            .iter()
            .map(|(d, k)| json!({"date": d.to_string(), "kind": k.key(), "label": k.label()}))
            .collect::<Vec<_>>());
        v["cases"] = json!(cases
            .iter()
            .map(|c| {
                let (closed, outcome, _) = closed_of(c.case_state());
                json!({
                    "id": c.id.short(),
                    "state": c.case_state().map(|s| s.key()),
                    "opened": c.case.as_ref().map(|i| i.opened.to_string()),
                    "closed": closed,
                    "outcome": outcome,
                })
            })
            .collect::<Vec<_>>());
        v["history"] = history_json(&history);
        v["read_only"] = json!(!l.is_ours(&r));
        return Ok(json_text(&v).into());
    }
    let mut o = String::new();
    let p = |o: &mut String, s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    p(
        &mut o,
        format!(
            "学生 {}  学籍号 {}  身份证号 {}",
            r.name(),
            r.student_no().map(|s| s.as_str().to_string()).unwrap_or_default(),
            r.id_number().map(|s| s.as_str().to_string()).unwrap_or_else(|| "（无）".into())
        ),
    );
    p(
        &mut o,
        format!(
            "性别 {}  出生日期 {}  {}  学籍状态 {}",
            r.sex().map(|s| s.label()).unwrap_or(""),
            r.birth().map(|d| d.to_string()).unwrap_or_default(),
            class_of(&r),
            r.placement().map(|p| p.to_string()).unwrap_or_default()
        ),
    );
    if let Some(reason) = r.text(Field::Reason) {
        p(&mut o, format!("异动原因 {reason}"));
    }
    let opt = |f: Field| r.text(f).unwrap_or("—").to_string();
    p(
        &mut o,
        format!(
            "户籍 {} {}  入学年份 {}  特殊群体 {}",
            opt(Field::HukouTownship),
            opt(Field::HukouVillage),
            r.entry_year().map(|y| y.to_string()).unwrap_or_else(|| "—".into()),
            Value::Groups(r.groups().to_vec())
        ),
    );
    if let Some(c) = baoxue_shared::handover::hukou_county(&r) {
        p(&mut o, format!("户籍所在县 {c}（外县户籍：确认辍学后须向户籍地通报移交，000 §三(二)）"));
    }
    p(&mut o, format!("监护人 {}  电话 {}", opt(Field::Guardian), opt(Field::Phone)));
    if !l.is_ours(&r) {
        p(&mut o, format!("（本乡镇只读：该生现属{}）", l.township_of(&r).unwrap_or("外县或未知乡镇")));
    }
    let absences = r.absences_sorted();
    p(&mut o, format!("缺勤（{} 天）：", absences.len()));
    for (d, k) in &absences {
        p(&mut o, format!("  {d}  {k}"));
    }
    p(&mut o, format!("案件（{}）：", cases.len()));
    for c in &cases {
        let init = c.case.as_ref();
        p(
            &mut o,
            format!(
                "  {}  {}  立案 {}  起算日 {}  措施 {} 项",
                c.id.short(),
                c.case_state().map(|s| s.label()).unwrap_or_default(),
                init.map(|i| i.opened.to_string()).unwrap_or_default(),
                init.map(|i| i.clock_start.to_string()).unwrap_or_default(),
                c.actions.len()
            ),
        );
    }
    let conflicts = conflict_lines(&r);
    if !conflicts.is_empty() {
        p(&mut o, "冲突（并发修改，待县级处理）：".into());
        for c in conflicts {
            p(&mut o, format!("  {c}"));
        }
    }
    p(&mut o, format!("历史（{} 条修订）：", history.len()));
    for h in history_lines(&history) {
        p(&mut o, format!("  {h}"));
    }
    Ok(o.into())
}

// --- status, transfer, accept ---------------------------------------------------------------

/// Refuses any status change while a case is open: the case's closing sets the status.
fn ensure_no_open_case(l: &Ledger, r: &Record, what: &str) -> Result<()> {
    if let Some(c) = l.open_case_of(r)? {
        return Err(refused(format!(
            "{} 有未销号案件 {}（{}）：不能{what}，请先用 case close 销号（复学、转学核实、豁免或死亡），学籍状态随之更新",
            who(r),
            c.id.short(),
            c.case_state().map(|s| s.label()).unwrap_or_default()
        )));
    }
    Ok(())
}

fn current_placement(r: &Record) -> Result<Placement> {
    r.placement().cloned().ok_or_else(|| refused(format!("{} 的学籍状态不完整（创建记录尚未到达）", who(r))))
}

pub fn set_status(l: &Ledger, arg: &str, to: &str, reason: Option<&str>, stamp: &Stamp) -> Result<Output> {
    let to: Status = to.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string()))?;
    let r = l.student(arg)?;
    ensure_settled(&r, PLACEMENT_FIELDS)?;
    l.ensure_writable(&r)?;
    let cur = current_placement(&r)?;
    if cur.status == to {
        return Err(refused(format!("{} 当前状态已是{to}，无需更改", who(&r))));
    }
    if !cur.status.can_become(to) {
        return Err(refused(format!("{} 当前状态为{}，不能改为{to}", who(&r), cur.status)));
    }
    match to {
        Status::DroppedOut => {
            return Err(refused(format!(
                "{} 不能直接改为辍学：请先立案（case open），再用 case confirm 确认辍学",
                who(&r)
            )))
        }
        Status::TransferredOut => {
            return Err(refused(format!("{} 不能直接改为转出：请用 student transfer 办理转学", who(&r))))
        }
        Status::HomeDelivered => ensure_home_delivery_fits(l, &r, stamp.date)?,
        Status::Graduated if !matches!(r.grade(), Some(6) | Some(9)) => {
            return Err(refused(format!(
                "{} 在读 {} 年级，不能毕业（只有 6 年级或 9 年级学生可以毕业）",
                who(&r),
                r.grade().unwrap_or(0)
            )));
        }
        _ => {}
    }
    ensure_no_open_case(l, &r, &format!("改为{to}"))?;
    l.check_write_date(stamp.date, Some(&r), None)?;
    let reason = reason.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let p = Placement { status: to, school: cur.school.clone(), transfer: None };
    let change = placement_change(&r, p, reason.clone())?;
    l.commit(&stamp.author, stamp.date, vec![(r.id, RecordKind::Student, change)])?;
    let why = reason.map(|x| format!("，原因：{x}")).unwrap_or_default();
    Ok(format!("已将{} 的学籍状态由{}改为{to}{why}\n", who(&r), cur.status).into())
}

/// 送教上门 (home-delivered teaching) is for severely disabled children of 6–16 who cannot come
/// to school (002 §四(三)3 "6至16岁重度残疾儿童少年", docs/FORMULAS.md "School year and age"):
/// the student must carry the 残疾儿童少年 group and be of that age at the reference date of the
/// school year.
fn ensure_home_delivery_fits(l: &Ledger, r: &Record, date: Date) -> Result<()> {
    if !r.groups().contains(&SpecialGroup::Disabled) {
        return Err(refused(format!(
            "{} 不能改为送教上门：送教上门只适用于特殊群体为「{}」的学生，请先用 student edit --groups 登记",
            who(r),
            SpecialGroup::Disabled.label()
        )));
    }
    let year = l.school_year(date);
    let Some(birth) = r.birth() else {
        return Err(refused(format!("{} 没有出生日期，不能核对送教上门的年龄（6–16 岁）", who(r))));
    };
    if !is_school_age(birth, year, true) {
        return Err(refused(format!(
            "{} 不能改为送教上门：出生日期 {birth}，{} 周岁 {}，送教上门只适用于 6–16 岁的残疾儿童少年",
            who(r),
            Date::ymd(year.first_calendar_year(), 8, 31),
            age_at_reference(birth, year)
        )));
    }
    Ok(())
}

pub enum TransferTo<'a> {
    School(&'a str),
    OutOfCounty(&'a str),
}

pub fn transfer(l: &Ledger, arg: &str, to: TransferTo, stamp: &Stamp) -> Result<Output> {
    let r = l.student(arg)?;
    ensure_settled(&r, PLACEMENT_FIELDS)?;
    l.ensure_writable(&r)?;
    let cur = current_placement(&r)?;
    if !cur.status.can_become(Status::TransferredOut) {
        return Err(refused(format!("{} 当前状态为{}，不能办理转出", who(&r), cur.status)));
    }
    let (target, note) = match to {
        TransferTo::School(s) => {
            let s = s.trim();
            let Some(school) = l.config.org.school(s) else {
                return Err(invalid(format!("转入学校「{s}」不在本县组织机构中")));
            };
            if school.name == cur.school {
                return Err(invalid(format!("{} 已在{s}就读，转入学校不能与原学校相同", who(&r))));
            }
            if let Some(g) = r.grade() {
                if !school.teaches(g) {
                    return Err(invalid(format!("转入学校「{s}」是{}，不设 {g} 年级", school.kind)));
                }
            }
            let note = if school.township == l.township() {
                format!("转入本乡镇{s}，请在接收后用 student accept 确认")
            } else {
                format!("转入{}{s}，经县级平台同步后由{}节点确认接收", school.township, school.township)
            };
            (TransferTarget::School(s.to_string()), note)
        }
        TransferTo::OutOfCounty(place) => {
            let place = place.trim();
            if place.is_empty() {
                return Err(invalid("--out-of-county 需要写明转往何处（如：广东省东莞市）"));
            }
            (TransferTarget::OutOfCounty(place.to_string()), format!("转往县外：{place}"))
        }
    };
    l.check_write_date(stamp.date, Some(&r), None)?;
    let p = Placement { status: Status::TransferredOut, school: cur.school.clone(), transfer: Some(target) };
    l.commit(&stamp.author, stamp.date, vec![(r.id, RecordKind::Student, placement_change(&r, p, None)?)])?;
    let mut text = format!("已为{} 办理转出：{note}\n", who(&r));
    if let Some(c) = l.open_case_of(&r)? {
        text.push_str(&format!(
            "提示：该生有未销号案件 {}，核实已在新学校就读后用 case close {} --outcome transferred 销号\n",
            c.id.short(),
            c.id.short()
        ));
    }
    Ok(text.into())
}

pub fn accept(l: &Ledger, arg: &str, stamp: &Stamp) -> Result<Output> {
    let r = l.student(arg)?;
    ensure_settled(&r, PLACEMENT_FIELDS)?;
    let cur = current_placement(&r)?;
    let target = match (&cur.status, &cur.transfer) {
        (Status::TransferredOut, Some(TransferTarget::School(s))) => s.clone(),
        _ => return Err(refused(format!("{} 当前状态为{}，没有待确认的转入", who(&r), cur))),
    };
    let township = l.config.org.township_of(&target).unwrap_or("");
    if township != l.township() {
        return Err(refused(format!(
            "{} 转入的学校{target}属于{township}，应由{township}的节点确认接收，本乡镇（{}）不能确认",
            who(&r),
            l.township()
        )));
    }
    l.check_write_date(stamp.date, Some(&r), None)?;
    let p = Placement { status: Status::Enrolled, school: target.clone(), transfer: None };
    l.commit(&stamp.author, stamp.date, vec![(r.id, RecordKind::Student, placement_change(&r, p, None)?)])?;
    let mut text = format!("已确认转入：{} 自{}转入{target}，在读\n", who(&r), cur.school);
    // 籍随人走: an open case of the child closes as 转学核实 on this day.
    let now = l.student(arg)?;
    for line in crate::cmd::case::close_transferred(l, Some(std::slice::from_ref(&now)), &stamp.author)? {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text.into())
}

// --- edit ---------------------------------------------------------------------------------

#[derive(Default)]
pub struct EditArgs<'a> {
    pub name: Option<&'a str>,
    pub class: Option<&'a str>,
    pub grade: Option<&'a str>,
    pub guardian: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub groups: Option<&'a str>,
    pub hukou_township: Option<&'a str>,
    pub hukou_village: Option<&'a str>,
    /// 户籍所在县, only for a 户籍 in another county (shared::handover); "" clears it.
    pub hukou_county: Option<&'a str>,
}

/// Field updates; each names the values it replaces, so concurrent edits of different fields
/// merge and concurrent edits of the same field stay visible as a conflict.
pub fn edit(l: &Ledger, arg: &str, a: &EditArgs, stamp: &Stamp) -> Result<Output> {
    let r = l.student(arg)?;
    l.ensure_writable(&r)?;
    l.check_write_date(stamp.date, Some(&r), None)?;
    let mut wanted: Vec<(Field, Value)> = Vec::new();
    let opt_text = |s: &str| {
        let t = s.trim();
        Value::OptText((!t.is_empty()).then(|| t.to_string()))
    };
    if let Some(n) = a.name {
        let n = n.trim();
        if n.is_empty() {
            return Err(invalid("姓名不能为空"));
        }
        wanted.push((Field::Name, Value::Text(n.to_string())));
    }
    if let Some(c) = a.class {
        wanted.push((Field::Class, opt_text(c)));
    }
    if let Some(g) = a.grade {
        let grade = g.trim().trim_end_matches("年级").parse::<u8>().ok().filter(|g| (1..=9).contains(g));
        let Some(grade) = grade else {
            return Err(invalid(format!("年级「{}」无效：义务教育年级应为 1–9", g.trim())));
        };
        let school = r.school().and_then(|s| l.config.org.school(s));
        if let Some(s) = school {
            if !s.teaches(grade) {
                return Err(invalid(format!("年级「{grade}」无效：{}是{}，不设 {grade} 年级", s.name, s.kind)));
            }
        }
        wanted.push((Field::Grade, Value::Grade(grade)));
    }
    if let Some(g) = a.guardian {
        wanted.push((Field::Guardian, opt_text(g)));
    }
    if let Some(p) = a.phone {
        wanted.push((Field::Phone, opt_text(p)));
    }
    if let Some(g) = a.groups {
        let groups = SpecialGroup::parse_list(g).map_err(|e| invalid(e.to_string()))?;
        wanted.push((Field::Groups, Value::Groups(groups)));
    }
    if let Some(t) = a.hukou_township {
        wanted.push((Field::HukouTownship, opt_text(t)));
    }
    if let Some(v) = a.hukou_village {
        wanted.push((Field::HukouVillage, opt_text(v)));
    }
    if let Some(c) = a.hukou_county {
        let own = l.config.county_name.trim();
        if !own.is_empty() && c.trim() == own {
            return Err(invalid(format!(
                "--hukou-county「{}」是本县：户籍所在县只为外县户籍填写（本县户籍留空）",
                c.trim()
            )));
        }
        wanted.push((Field::HukouCounty, opt_text(c)));
    }
    if wanted.is_empty() {
        return Err(invalid("没有要修改的字段：请用 --name、--class、--grade、--guardian、--phone、--groups 等指定"));
    }
    let assigns: Vec<_> = wanted
        .into_iter()
        .filter(|(f, v)| {
            let reg = r.register(*f);
            let settled_same = reg.map(|g| !g.in_conflict() && g.value() == Some(v)).unwrap_or(false);
            !settled_same
        })
        .map(|(f, v)| assign(&r, f, v))
        .collect::<Result<_>>()?;
    if assigns.is_empty() {
        return Ok(format!("{} 的信息没有变化，未记录\n", who(&r)).into());
    }
    let what = assigns.iter().map(|a| format!("{} → {}", a.field.label(), a.value)).collect::<Vec<_>>().join("；");
    l.commit(&stamp.author, stamp.date, vec![(r.id, RecordKind::Student, Change::Update(assigns))])?;
    Ok(format!("已修改{}：{what}\n", who(&r)).into())
}
