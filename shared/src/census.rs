//! Census matching (三比对, 003 §二(二)): another department's list of school-age children (police
//! 户籍, civil affairs, poverty office, disabled persons' federation) or the Ministry's
//! suspected-out-of-school list, matched against every student record of the county.
//!
//! - Exact 身份证号 (the record's ID, or the ID inside its G 学籍号) → **matched**.
//! - Otherwise the same (name, birth date, sex) → **suggested**: a person must confirm; the
//!   candidate records are reported (IDs masked).
//! - Otherwise **unmatched**. An unmatched child of school age (6–15 at the reference date of the
//!   school year of `as_of`; to 16 for a child listed as 残疾儿童少年, 002 §四(三)3), not exempt,
//!   not deceased, not known to be schooled elsewhere, without an open case and with a
//!   household-registration township of the county gets a [`CaseInit`] for a 失学 case.
//! - **Known schooled elsewhere**: an earlier case of the child closed as 转学核实
//!   ([`Outcome::Transferred`], verified enrolled at a school outside the county's rolls) on or
//!   after the first day of the school year of `as_of`. A verification from an earlier school
//!   year is not trusted for this one (a child verified in another county's school last year may
//!   have left it since; the 三比对 is repeated every year for that reason): the child gets a new
//!   case, linked to the old one.
//!
//! A census row whose ID number fails validation (a mistyped check character, a wrong length)
//! is kept with no ID and a warning, so that name + birth date + sex can still find the child.
//! A row whose valid ID disagrees with its stated birth date or sex is rejected (docs/FORMULAS.md),
//! with a message naming both values.

use std::collections::HashMap;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::dates::{age_at_reference, is_school_age, Date, SchoolYear, SchoolYearStart};
use crate::ids::{mask, IdNumber};
use crate::model::{CaseSource, CaseState, Cause, Outcome, Sex, SpecialGroup, Status};
use crate::org::Org;
use crate::revision::{CaseInit, Child, RecordId, RecordKind};
use crate::state::Record;
use crate::table::{RowError, Table, TableError};

/// The census CSV's columns (docs/CLI.md "Census CSV").
pub const CENSUS_COLUMNS: [&str; 7] = ["身份证号", "姓名", "性别", "出生日期", "户籍乡镇", "户籍村", "特殊群体"];
/// The columns a census file must have; 户籍村 and 特殊群体 may be absent.
pub const CENSUS_REQUIRED: [&str; 5] = ["身份证号", "姓名", "性别", "出生日期", "户籍乡镇"];

/// One child of a census list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusRow {
    /// The row number as Excel shows it.
    pub row: usize,
    /// `None` when empty or invalid (then a warning names the row).
    pub id_number: Option<IdNumber>,
    pub name: String,
    pub sex: Sex,
    pub birth: Date,
    pub hukou_township: String,
    pub hukou_village: Option<String>,
    pub groups: Vec<SpecialGroup>,
}

/// A parsed census file: good rows, rejected rows, warnings on kept rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CensusFile {
    pub rows: Vec<CensusRow>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
    /// What the file was (CSV in which encoding, .xlsx, .xls).
    pub source: Option<crate::table::Source>,
}

/// Reads a census list (CSV, .xlsx or .xls), checking every row.
pub fn parse_census(bytes: &[u8]) -> Result<CensusFile, TableError> {
    parse_census_with(bytes, &crate::table::Aliases::builtin())
}

/// [`parse_census`] with a county's column aliases.
pub fn parse_census_with(bytes: &[u8], aliases: &crate::table::Aliases) -> Result<CensusFile, TableError> {
    let table = Table::parse_with(bytes, &CENSUS_REQUIRED, aliases)?;
    let mut out = CensusFile { errors: table.ragged.clone(), warnings: table.remarks.clone(), ..Default::default() };
    out.source = Some(table.source);
    for row in table.rows() {
        let before = out.errors.len();
        let id_raw = row.get("身份证号");
        let id_number = if id_raw.is_empty() {
            None
        } else {
            match IdNumber::parse(id_raw) {
                Ok(id) => Some(id),
                Err(e) => {
                    let mut w = row.error("身份证号", format!("{e}；按姓名、出生日期、性别比对"));
                    w.value = mask(id_raw);
                    out.warnings.push(w);
                    None
                }
            }
        };
        let name = row.get("姓名").to_string();
        if name.is_empty() {
            out.errors.push(row.error("姓名", "不能为空"));
        }
        let sex = match row.get("性别").parse::<Sex>() {
            Ok(s) => Some(s),
            Err(e) => {
                out.errors.push(row.error("性别", e.to_string()));
                None
            }
        };
        let birth = match Date::parse(row.get("出生日期")) {
            Ok(d) => Some(d),
            Err(e) => {
                out.errors.push(row.error("出生日期", e.to_string()));
                None
            }
        };
        if let (Some(id), Some(b)) = (&id_number, birth) {
            if let Ok(idb) = id.birth() {
                if idb != b.0 {
                    out.errors.push(
                        row.error("出生日期", format!("与身份证号中的出生日期 {} 不一致（填写为 {}）", Date(idb), b)),
                    );
                }
            }
        }
        if let (Some(id), Some(s)) = (&id_number, sex) {
            if id.sex() != s {
                out.errors
                    .push(row.error("性别", format!("与身份证号所示性别「{}」不一致（填写为「{}」）", id.sex(), s)));
            }
        }
        let hukou_township = row.get("户籍乡镇").to_string();
        if hukou_township.is_empty() {
            out.errors.push(row.error("户籍乡镇", "不能为空"));
        }
        let groups = match SpecialGroup::parse_list(row.get("特殊群体")) {
            Ok(g) => g,
            Err(e) => {
                out.errors.push(row.error("特殊群体", e.to_string()));
                Vec::new()
            }
        };
        if out.errors.len() > before {
            continue;
        }
        let (Some(sex), Some(birth)) = (sex, birth) else {
            continue;
        };
        out.rows.push(CensusRow {
            row: row.number,
            id_number,
            name,
            sex,
            birth,
            hukou_township,
            hukou_village: row.opt("户籍村"),
            groups,
        });
    }
    out.errors.sort_by_key(|e| e.row);
    Ok(out)
}

type Person<'a> = (&'a str, Date, Sex);

/// Every student and case of the county, indexed for matching (borrowing the records).
#[derive(Debug, Default)]
pub struct CensusIndex<'a> {
    students_by_id: HashMap<&'a str, Vec<&'a Record>>,
    students_by_person: HashMap<Person<'a>, Vec<&'a Record>>,
    cases_by_id: HashMap<&'a str, Vec<&'a Record>>,
    cases_by_person: HashMap<Person<'a>, Vec<&'a Record>>,
}

impl<'a> CensusIndex<'a> {
    /// Indexes complete student and case records (others are skipped).
    pub fn new(records: impl IntoIterator<Item = &'a Record>) -> CensusIndex<'a> {
        let mut ix = CensusIndex::default();
        for r in records {
            if !r.is_complete() {
                continue;
            }
            match r.kind {
                RecordKind::Student => {
                    let mut ids: Vec<&'a str> = Vec::with_capacity(2);
                    if let Some(id) = r.id_number() {
                        ids.push(id.as_str());
                    }
                    if let Some(no) = r.student_no() {
                        if no.as_str().starts_with('G') && no.id_number().is_some() {
                            ids.push(&no.as_str()[1..]);
                        }
                    }
                    ids.dedup();
                    for id in ids {
                        ix.students_by_id.entry(id).or_default().push(r);
                    }
                    if let (Some(sex), Some(birth)) = (r.sex(), r.birth()) {
                        ix.students_by_person.entry((r.name().trim(), birth, sex)).or_default().push(r);
                    }
                }
                RecordKind::Case => {
                    let Some(init) = r.case.as_deref() else {
                        continue;
                    };
                    if let Some(id) = &init.child.id_number {
                        ix.cases_by_id.entry(id.as_str()).or_default().push(r);
                    }
                    ix.cases_by_person
                        .entry((init.child.name.trim(), init.child.birth, init.child.sex))
                        .or_default()
                        .push(r);
                }
            }
        }
        ix
    }

    /// The cases of the child of a census row: by ID number; and by (name, birth, sex) among
    /// cases whose child has no ID number (or all of them, for a row without one).
    fn cases_of(&self, row: &CensusRow) -> Vec<&'a Record> {
        let mut out: Vec<&'a Record> = Vec::new();
        if let Some(id) = &row.id_number {
            out.extend(self.cases_by_id.get(id.as_str()).into_iter().flatten());
        }
        for r in self.cases_by_person.get(&(row.name.as_str(), row.birth, row.sex)).into_iter().flatten() {
            let child_id = r.case.as_deref().and_then(|c| c.child.id_number.as_ref());
            if (row.id_number.is_none() || child_id.is_none()) && !out.iter().any(|x| x.id == r.id) {
                out.push(r);
            }
        }
        out
    }
}

/// Where and how to match.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext<'a> {
    pub org: &'a Org,
    /// The department the list came from (`--source`); never [`CaseSource::Roll`].
    pub source: CaseSource,
    /// The report date: school age is judged for its school year; new cases open on it.
    pub as_of: Date,
    /// The school year's first day (policy; default (9, 1)).
    pub year_start: SchoolYearStart,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CensusError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("来源「{0}」不是比对名单的来源（可选：police、civil、poverty、disability、ministry）")]
    RollSource(CaseSource),
}

fn ser_rev<S: Serializer>(id: &RecordId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.hex())
}

/// A student record that may be the child of a census row. Identifiers masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    #[serde(serialize_with = "ser_rev")]
    pub record: RecordId,
    pub student_no: Option<String>,
    pub id_number: Option<String>,
    pub name: String,
    pub school: Option<String>,
    pub grade: Option<u8>,
    pub status: Option<Status>,
}

/// A census row with a suggested match on (name, birth date, sex). Identifiers masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub row: usize,
    pub name: String,
    pub id_number: Option<String>,
    pub sex: Sex,
    pub birth: Date,
    pub hukou_township: String,
    pub candidates: Vec<Candidate>,
}

/// What a census import found.
#[derive(Debug, Clone, Default)]
pub struct CensusOutcome {
    /// The day it was matched (the cases' opening day).
    pub as_of: Option<Date>,
    pub matched: usize,
    pub suggested: Vec<Suggestion>,
    pub unmatched: usize,
    /// 失学 cases to open (one per child).
    pub cases: Vec<CaseInit>,
    /// Unmatched rows that get no case, with the reason (not of school age, exempt, already an
    /// open case, township not of the county, same child twice in the file).
    pub skipped: Vec<RowError>,
    /// Rows kept with a remark (an invalid ID number, a name differing from the matched record).
    pub warnings: Vec<RowError>,
    /// Rows rejected.
    pub errors: Vec<RowError>,
}

/// docs/CLI.md `census import --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusCounts {
    pub matched: usize,
    pub suggested: usize,
    pub unmatched: usize,
    pub cases_opened: usize,
}

impl CensusOutcome {
    pub fn counts(&self) -> CensusCounts {
        CensusCounts {
            matched: self.matched,
            suggested: self.suggested.len(),
            unmatched: self.unmatched,
            cases_opened: self.cases.len(),
        }
    }
}

fn candidate(r: &Record) -> Candidate {
    Candidate {
        record: r.id,
        student_no: r.student_no().map(|n| n.masked()),
        id_number: r.id_number().map(IdNumber::masked),
        name: r.name().to_string(),
        school: r.school().map(str::to_string),
        grade: r.grade(),
        status: r.status(),
    }
}

fn skip(row: &CensusRow, column: &str, value: &str, reason: String) -> RowError {
    RowError { row: row.row, column: column.to_string(), value: value.to_string(), reason }
}

/// Matches a parsed census file against the county's records.
pub fn match_census(file: &CensusFile, index: &CensusIndex, ctx: &MatchContext) -> Result<CensusOutcome, CensusError> {
    if ctx.source == CaseSource::Roll {
        return Err(CensusError::RollSource(ctx.source));
    }
    let mut out = CensusOutcome {
        as_of: Some(ctx.as_of),
        errors: file.errors.clone(),
        warnings: file.warnings.clone(),
        ..Default::default()
    };
    // Ages are judged for the school year the census prepares (census_school_year); a
    // 转学核实 counts for the school year the census is run in.
    let year = census_school_year(ctx.as_of);
    let year_start = SchoolYear::of(ctx.as_of, ctx.year_start).first_day(ctx.year_start);
    // Children given a case in this run: by ID number and by (name, birth, sex) → row.
    let mut opened_id: HashMap<&str, usize> = HashMap::new();
    let mut opened_person: HashMap<Person, usize> = HashMap::new();
    for row in &file.rows {
        if let Some(id) = &row.id_number {
            if let Some(recs) = index.students_by_id.get(id.as_str()) {
                out.matched += 1;
                if !recs.iter().any(|r| r.name().trim() == row.name) {
                    let mut w =
                        skip(row, "姓名", &row.name, format!("身份证号与学籍一致，但学籍姓名为「{}」", recs[0].name()));
                    w.reason.push_str("，请核对");
                    out.warnings.push(w);
                }
                continue;
            }
        }
        let person: Person = (row.name.as_str(), row.birth, row.sex);
        if let Some(recs) = index.students_by_person.get(&person) {
            out.suggested.push(Suggestion {
                row: row.row,
                name: row.name.clone(),
                id_number: row.id_number.as_ref().map(IdNumber::masked),
                sex: row.sex,
                birth: row.birth,
                hukou_township: row.hukou_township.clone(),
                candidates: recs.iter().map(|r| candidate(r)).collect(),
            });
            continue;
        }
        out.unmatched += 1;

        // Severely disabled children taught at home stay in scope to 16 (002 §四(三)3); a census
        // row says only 残疾儿童少年, so that group decides.
        let disabled = row.groups.contains(&SpecialGroup::Disabled);
        if !is_school_age(row.birth, year, disabled) {
            let age = age_at_reference(row.birth, year);
            out.skipped.push(skip(
                row,
                "出生日期",
                &row.birth.to_string(),
                format!("{year} 学年 {age} 周岁，不在义务教育适龄范围，未立案"),
            ));
            continue;
        }
        let cases = index.cases_of(row);
        let closed_with = |o: Outcome| {
            cases.iter().any(|r| matches!(r.case_state(), Some(CaseState::Closed { outcome, .. }) if *outcome == o))
        };
        if closed_with(Outcome::Exempt) {
            out.skipped.push(skip(row, "姓名", &row.name, "已豁免（经批准的免于入学申请），未立案".into()));
            continue;
        }
        if closed_with(Outcome::Deceased) {
            out.skipped.push(skip(row, "姓名", &row.name, "台账记录该儿童已死亡销号，未立案，请核实名单".into()));
            continue;
        }
        // Verified enrolled elsewhere (转学核实) this school year: known schooled elsewhere. An
        // older verification says nothing about this year (the child may have left that school
        // since), so the child is a 失学 case again, linked to the old one.
        let verified = cases
            .iter()
            .filter_map(|r| match r.case_state() {
                Some(CaseState::Closed { outcome: Outcome::Transferred, on, .. }) => Some(*on),
                _ => None,
            })
            .max();
        if let Some(on) = verified.filter(|on| *on >= year_start) {
            out.skipped.push(skip(
                row,
                "姓名",
                &row.name,
                format!("{on} 已核实在外地学校就读（转学核实销号），本学年内有效，未立案"),
            ));
            continue;
        }
        if let Some(open) = cases.iter().find(|r| !matches!(r.case_state(), Some(st) if !st.is_open())) {
            out.skipped.push(skip(row, "姓名", &row.name, format!("已有在办案件 {}，未重复立案", open.id.short())));
            continue;
        }
        let first = row
            .id_number
            .as_ref()
            .and_then(|id| opened_id.get(id.as_str()))
            .or_else(|| opened_person.get(&person))
            .copied();
        if let Some(first) = first {
            out.skipped.push(skip(row, "姓名", &row.name, format!("与第 {first} 行为同一儿童，未重复立案")));
            continue;
        }
        if !ctx.org.townships.contains_key(&row.hukou_township) {
            out.skipped.push(skip(
                row,
                "户籍乡镇",
                &row.hukou_township,
                "不是本县的乡镇，未立案（请核对乡镇名称）".into(),
            ));
            continue;
        }
        let previous = cases.iter().filter_map(|r| r.case.as_deref().map(|c| (c.opened, r.id))).max().map(|(_, id)| id);
        if let Some(id) = &row.id_number {
            opened_id.insert(id.as_str(), row.row);
        }
        opened_person.insert(person, row.row);
        out.cases.push(CaseInit {
            student: None,
            child: Child {
                name: row.name.clone(),
                id_number: row.id_number.clone(),
                student_no: None,
                sex: row.sex,
                birth: row.birth,
                hukou_township: Some(row.hukou_township.clone()),
                hukou_village: row.hukou_village.clone(),
                groups: row.groups.clone(),
            },
            township: row.hukou_township.clone(),
            school: None,
            grade: None,
            source: ctx.source,
            opened: ctx.as_of,
            clock_start: ctx.as_of,
            cause: Cause::Unknown,
            previous,
        });
    }
    Ok(out)
}

/// The school year a census run on `as_of` prepares: the one that starts in `as_of`'s calendar
/// year. 000 §二(二) has the townships survey every child "每年年初" and report by the end of
/// April "本年秋季学期应入学、复学" children; 003 §二(二) runs the census in July, before the
/// autumn term. So a census from January to August looks at the coming September (next autumn's
/// first graders are found; a child who turns 16 before it is not chased), and one from
/// September on at the school year under way. Ages are whole years on 31 August of that school
/// year's first year ([`age_at_reference`]).
pub fn census_school_year(as_of: Date) -> SchoolYear {
    SchoolYear(as_of.year())
}

/// Parses and matches in one go.
pub fn import_census<'a>(
    bytes: &[u8],
    records: impl IntoIterator<Item = &'a Record>,
    ctx: &MatchContext,
) -> Result<CensusOutcome, CensusError> {
    let file = parse_census(bytes)?;
    let index = CensusIndex::new(records);
    match_census(&file, &index, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::sim::Sim;
    use crate::model::CaseSource;
    use crate::report::{render, Format};
    use crate::state::fold_all;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::ymd(y, m, day)
    }

    fn org() -> Org {
        Org::parse_csv("乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n白沙,白沙小学,小学\n".as_bytes()).unwrap()
    }

    /// The ID with its check character replaced by a wrong one.
    fn mistype(id: &IdNumber) -> String {
        let mut s = id.as_str().to_string();
        let last = s.pop().unwrap();
        s.push(if last == '1' { '2' } else { '1' });
        s
    }

    struct County {
        sim: Sim,
        zhang: IdNumber,
        li: IdNumber,
        zhao: IdNumber,
        qian: IdNumber,
        zheng: IdNumber,
        returned_case: RecordId,
        li_record: RecordId,
    }

    /// Students 张三 (鸦岭小学) and 李四 (白沙小学, female, born 2016-05-05); an open police case
    /// for 赵六; an exemption for 钱七; a closed (returned) case for 郑十一, since back out.
    fn county() -> County {
        let mut s = Sim::new();
        let init = s.init("张三", "鸦岭小学", 3, d(2017, 3, 1), Sex::Male);
        let zhang = init.id_number.clone().unwrap();
        s.create(d(2026, 9, 1), init);
        let init = s.init("李四", "白沙小学", 4, d(2016, 5, 5), Sex::Female);
        let li = init.id_number.clone().unwrap();
        let li_record = s.create(d(2026, 9, 1), init);

        let zhao = s.id(d(2015, 1, 1), Sex::Male);
        let child = s.child("赵六", d(2015, 1, 1), Sex::Male, Some(zhao.clone()));
        s.case(d(2026, 10, 1), "鸦岭", CaseSource::Police, child, None);

        let qian = s.id(d(2014, 2, 2), Sex::Female);
        let child = s.child("钱七", d(2014, 2, 2), Sex::Female, Some(qian.clone()));
        let c = s.case(d(2026, 10, 1), "白沙", CaseSource::Civil, child, None);
        s.case_state(
            c,
            d(2026, 11, 1),
            CaseState::Closed { outcome: Outcome::Exempt, evidence: Some("病休申请".into()), on: d(2026, 11, 1) },
        );

        let zheng = s.id(d(2016, 6, 6), Sex::Male);
        let child = s.child("郑十一", d(2016, 6, 6), Sex::Male, Some(zheng.clone()));
        let returned_case = s.case(d(2026, 3, 1), "鸦岭", CaseSource::Police, child, None);
        s.case_state(
            returned_case,
            d(2026, 4, 1),
            CaseState::Closed { outcome: Outcome::Returned, evidence: None, on: d(2026, 4, 1) },
        );
        County { sim: s, zhang, li, zhao, qian, zheng, returned_case, li_record }
    }

    fn ctx(org: &Org) -> MatchContext<'_> {
        MatchContext { org, source: CaseSource::Police, as_of: d(2027, 3, 1), year_start: SchoolYearStart::DEFAULT }
    }

    #[test]
    fn census_matching() {
        let c = county();
        let org = org();
        let records = fold_all(&c.sim.revs);
        let new_id = crate::ids::make_id("410329", d(2015, 8, 8).0, 501);
        let csv = format!(
            "身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n\
             {zhang},张三,男,2017-03-01,鸦岭,东庄村,\n\
             {li_typo},李四,女,2016-05-05,白沙,,留守儿童\n\
             {new},孙八,男,2015-08-08,鸦岭,西沟村,留守儿童、孤儿\n\
             {zhao},赵六,男,2015-01-01,鸦岭,,\n\
             {qian},钱七,女,2014-02-02,白沙,,\n\
             ,周九,男,2009-05-01,鸦岭,,\n\
             {new},孙八,男,2015-08-08,鸦岭,西沟村,\n\
             ,吴十,女,2016-01-01,外县乡,,\n\
             {zheng},郑十一,男,2016-06-06,鸦岭,,\n\
             {new},孙八,男,2015-08-09,鸦岭,,\n\
             ,错性别,男女,2016-01-01,鸦岭,,\n",
            zhang = c.zhang.as_str(),
            li_typo = mistype(&c.li),
            new = new_id.as_str(),
            zhao = c.zhao.as_str(),
            qian = c.qian.as_str(),
            zheng = c.zheng.as_str(),
        );
        let out = import_census(csv.as_bytes(), records.values(), &ctx(&org)).unwrap();

        // Row 2 matched by ID; row 3 (mistyped check character) kept, warned and suggested.
        assert_eq!(out.matched, 1);
        assert_eq!(out.warnings.len(), 1);
        assert_eq!((out.warnings[0].row, out.warnings[0].column.as_str()), (3, "身份证号"));
        assert!(out.warnings[0].reason.contains("校验位"), "{}", out.warnings[0]);
        assert!(!out.warnings[0].value.contains(&c.li.as_str()[6..14]), "the ID is masked");
        assert_eq!(out.suggested.len(), 1);
        let sug = &out.suggested[0];
        assert_eq!((sug.row, sug.name.as_str()), (3, "李四"));
        assert_eq!(sug.candidates.len(), 1);
        assert_eq!(sug.candidates[0].record, c.li_record);
        assert_eq!(sug.candidates[0].school.as_deref(), Some("白沙小学"));
        assert_eq!(sug.candidates[0].id_number.as_deref(), Some(c.li.masked().as_str()));
        assert_eq!(sug.id_number, None);

        // Rows 4–10 unmatched: 孙八 gets a case; 赵六 has one open; 钱七 is exempt; 周九 is 17;
        // row 8 is 孙八 again; 吴十's township is not the county's; 郑十一 gets a new episode.
        assert_eq!(out.unmatched, 7);
        let skipped: Vec<(usize, &str)> = out.skipped.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(skipped, [(5, "姓名"), (6, "姓名"), (7, "出生日期"), (8, "姓名"), (9, "户籍乡镇")]);
        assert!(out.skipped[0].reason.contains("在办案件"));
        assert!(out.skipped[1].reason.contains("豁免"));
        // A March 2027 census prepares school year 2027: 周九 is 18 on 2027-08-31.
        assert!(out.skipped[2].reason.contains("2027 学年 18 周岁"), "{}", out.skipped[2]);
        assert!(out.skipped[3].reason.contains("第 4 行"));
        assert_eq!(out.cases.len(), 2);
        let k = &out.cases[0];
        assert_eq!(k.child.id_number.as_ref(), Some(&new_id));
        assert_eq!((k.township.as_str(), k.source, k.cause), ("鸦岭", CaseSource::Police, Cause::Unknown));
        assert_eq!((k.opened, k.clock_start, k.student, k.previous), (d(2027, 3, 1), d(2027, 3, 1), None, None));
        assert_eq!(k.child.groups, [SpecialGroup::Orphan, SpecialGroup::LeftBehind]);
        assert_eq!(k.child.hukou_village.as_deref(), Some("西沟村"));
        assert_eq!(out.cases[1].child.name, "郑十一");
        assert_eq!(out.cases[1].previous, Some(c.returned_case));

        // Rejected: an ID whose birth date disagrees (row 11), a bad sex (row 12).
        let errs: Vec<(usize, &str)> = out.errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(errs, [(11, "出生日期"), (12, "性别")]);
        assert!(out.errors[0].reason.contains("2015-08-08") && out.errors[0].reason.contains("2015-08-09"));

        assert_eq!(out.counts(), CensusCounts { matched: 1, suggested: 1, unmatched: 7, cases_opened: 2 });
        let v: serde_json::Value = serde_json::from_str(&render(&out, Format::Json)).unwrap();
        assert_eq!(v, serde_json::json!({"matched": 1, "suggested": 1, "unmatched": 7, "cases_opened": 2}));
        let md = render(&out, Format::Md);
        assert!(md.contains("李四") && md.contains(&c.li.masked()), "{md}");
        assert!(!md.contains(c.li.as_str()) && !md.contains(c.zhang.as_str()), "no full ID in a report");
        assert!(
            render(&out, Format::Csv)
                .starts_with("\u{feff}比对结果：疑似匹配待核实名单\r\n统计日期,2027-03-01\r\n行号,姓名,身份证号"),
            "{}",
            render(&out, Format::Csv)
        );
    }

    /// 转学核实 of this school year means schooled elsewhere; of an earlier year it does not. A
    /// disabled child of 16 is in scope (送教上门, 002 §四(三)3); another child of 16 is not.
    #[test]
    fn verified_elsewhere_and_disabled_sixteen() {
        let mut s = Sim::new();
        let closed =
            |on| CaseState::Closed { outcome: Outcome::Transferred, evidence: Some("外县学校证明".into()), on };
        // 冯一: verified on 2026-09-10 (school year 2026, that of the census).
        let feng = s.id(d(2015, 4, 4), Sex::Male);
        let child = s.child("冯一", d(2015, 4, 4), Sex::Male, Some(feng.clone()));
        let c = s.case(d(2026, 9, 2), "鸦岭", CaseSource::Police, child, None);
        s.case_state(c, d(2026, 9, 10), closed(d(2026, 9, 10)));
        // 陈二: verified on 2026-08-31, the last day of the school year before.
        let chen = s.id(d(2015, 5, 5), Sex::Female);
        let child = s.child("陈二", d(2015, 5, 5), Sex::Female, Some(chen.clone()));
        let old = s.case(d(2026, 6, 1), "鸦岭", CaseSource::Police, child, None);
        s.case_state(old, d(2026, 8, 31), closed(d(2026, 8, 31)));
        let records = fold_all(&s.revs);
        let org = org();
        // Both 16 on 2027-08-31, the reference day of the school year a March 2027 census
        // prepares (born 2011-06-01 and 2011-07-01): 卫三 disabled, 蒋四 not.
        let wei = crate::ids::make_id("410329", d(2011, 6, 1).0, 11);
        let jiang = crate::ids::make_id("410329", d(2011, 7, 1).0, 13);
        let csv = format!(
            "身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n\
             {feng},冯一,男,2015-04-04,鸦岭,,\n\
             {chen},陈二,女,2015-05-05,鸦岭,,\n\
             {wei},卫三,男,2011-06-01,白沙,,残疾儿童少年\n\
             {jiang},蒋四,男,2011-07-01,白沙,,\n",
            feng = feng.as_str(),
            chen = chen.as_str(),
            wei = wei.as_str(),
            jiang = jiang.as_str(),
        );
        let out = import_census(csv.as_bytes(), records.values(), &ctx(&org)).unwrap();
        assert_eq!(out.unmatched, 4);
        let skipped: Vec<(usize, &str)> = out.skipped.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(skipped, [(2, "姓名"), (5, "出生日期")], "{:?}", out.skipped);
        assert!(out.skipped[0].reason.contains("2026-09-10") && out.skipped[0].reason.contains("转学核实"));
        assert!(out.skipped[1].reason.contains("16 周岁"), "{}", out.skipped[1]);
        let opened: Vec<(&str, Option<RecordId>)> =
            out.cases.iter().map(|c| (c.child.name.as_str(), c.previous)).collect();
        assert_eq!(opened, [("陈二", Some(old)), ("卫三", None)]);
        assert_eq!(out.cases[1].child.groups, [SpecialGroup::Disabled]);
        assert_eq!(out.as_of, Some(d(2027, 3, 1)));
        // On the first day of the next school year 冯一's verification (2026-09-10) has expired:
        // a new case, linked to the closed one. 卫三 is still 16 (school year 2027).
        let next = MatchContext { as_of: d(2027, 9, 1), ..ctx(&org) };
        let out = import_census(csv.as_bytes(), records.values(), &next).unwrap();
        assert!(out.cases.iter().any(|c| c.child.name == "冯一" && c.previous == Some(c_id(&records, "冯一"))));
        assert!(out.cases.iter().any(|c| c.child.name == "卫三"));
        // A census of January 2028 prepares school year 2028: 卫三 is 17, disabled or not.
        let later = MatchContext { as_of: d(2028, 1, 10), ..ctx(&org) };
        let out = import_census(csv.as_bytes(), records.values(), &later).unwrap();
        assert!(out.cases.iter().all(|c| c.child.name != "卫三"), "17 in 2028, disabled or not");
    }

    fn c_id(records: &std::collections::BTreeMap<RecordId, Record>, name: &str) -> RecordId {
        records.values().find(|r| r.case.as_ref().is_some_and(|c| c.child.name == name)).unwrap().id
    }

    /// A July census looks at the coming September (003 §二(二), 000 §二(二)): ages on
    /// 2026-08-31 decide, day −1 / day / day +1 around both ends of 6–15.
    #[test]
    fn july_census_ages_on_the_coming_school_year() {
        let records = fold_all(&Sim::new().revs);
        let org = org();
        let x = MatchContext { as_of: d(2026, 7, 15), ..ctx(&org) };
        assert_eq!(census_school_year(x.as_of), SchoolYear(2026));
        let rows = [
            ("甲", d(2020, 8, 30)), // 6 on 2026-08-31: next autumn's first grader, found
            ("乙", d(2020, 8, 31)), // 6 on the day: found
            ("丙", d(2020, 9, 1)),  // 5: not yet
            ("丁", d(2010, 8, 31)), // 16: aged out, not chased
            ("戊", d(2010, 9, 1)),  // 15: found
            ("己", d(2010, 9, 2)),  // 15: found
        ];
        let mut csv = String::from("身份证号,姓名,性别,出生日期,户籍乡镇\n");
        for (name, b) in rows {
            csv.push_str(&format!(",{name},男,{b},鸦岭\n"));
        }
        let out = import_census(csv.as_bytes(), records.values(), &x).unwrap();
        let found: Vec<&str> = out.cases.iter().map(|c| c.child.name.as_str()).collect();
        assert_eq!(found, ["甲", "乙", "戊", "己"]);
        let skipped: Vec<&str> = out.skipped.iter().map(|e| e.reason.as_str()).collect();
        assert!(skipped[0].contains("2026 学年 5 周岁") && skipped[1].contains("2026 学年 16 周岁"), "{skipped:?}");
        // The same list in October judges the school year under way (also 2026).
        let oct = MatchContext { as_of: d(2026, 10, 8), ..ctx(&org) };
        assert_eq!(import_census(csv.as_bytes(), records.values(), &oct).unwrap().cases.len(), 4);
    }

    #[test]
    fn roll_is_not_a_census_source() {
        let org = org();
        let mut x = ctx(&org);
        x.source = CaseSource::Roll;
        let e = match_census(&CensusFile::default(), &CensusIndex::default(), &x).unwrap_err();
        assert_eq!(e, CensusError::RollSource(CaseSource::Roll));
    }

    #[test]
    fn header_is_checked() {
        let e = parse_census("身份证号,姓名,性别,出生日期\n".as_bytes()).unwrap_err();
        assert!(matches!(e, TableError::MissingColumn(c, _) if c == "户籍乡镇"));
        // 户籍村 and 特殊群体 may be absent.
        let f = parse_census("姓名,性别,出生日期,户籍乡镇,身份证号\n王一,女,2016-01-01,鸦岭,\n".as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].id_number, None);
        assert!(f.warnings.is_empty());
    }
}
