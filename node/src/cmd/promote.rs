//! Year-end promotion and graduation of one school, as one reviewed step: [`plan`] shows what
//! would change (the preview), [`promote`] writes it in ONE durable commit. Students in 在读 (and
//! 送教上门) move up one grade; those in the school's last grade (6 at a primary school, 9 at a
//! junior or nine-year school) become 毕业. Class names carry over unchanged for the school
//! admin to adjust. A student with an open case is left out and named: the case decides first.

use baoxue_shared::model::{Placement, Status};
use baoxue_shared::{Change, Field, Record, RecordKind, Value};
use serde::Serialize;

use crate::cmd::student::Stamp;
use crate::error::{invalid, Result};
use crate::ledger::{assign, placement_change, Item, Ledger};

/// What promotion would do to one school.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub school: String,
    /// (student record, from grade, to grade).
    pub promoted: Vec<(String, u8, u8)>,
    /// Students of the last grade who graduate.
    pub graduated: Vec<(String, u8)>,
    /// Left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

fn candidates(l: &Ledger, school: &str) -> Result<Vec<Record>> {
    Ok(l.all(RecordKind::Student)?
        .into_iter()
        .filter(|r| l.is_ours(r) && r.school() == Some(school))
        .filter(|r| matches!(r.status(), Some(Status::Enrolled | Status::HomeDelivered | Status::DroppedOut)))
        .collect())
}

pub fn plan(l: &Ledger, school: &str) -> Result<(Plan, Vec<Item>)> {
    let s = l
        .config
        .org
        .school(school)
        .filter(|s| s.township == l.township())
        .ok_or_else(|| invalid(format!("学校「{school}」不是本乡镇的学校")))?;
    let last = *s.kind.grades().end();
    let mut plan = Plan { school: school.to_string(), ..Plan::default() };
    let mut items = Vec::new();
    for r in candidates(l, school)? {
        let label = format!("{}（{}）", r.name(), r.student_no().map(|n| n.masked()).unwrap_or_default());
        let Some(g) = r.grade() else {
            plan.skipped.push((label, "没有年级".into()));
            continue;
        };
        if let Some(c) = l.open_case_of(&r)? {
            plan.skipped.push((label, format!("有未销号案件 {}，请先处理", c.id.short())));
            continue;
        }
        if r.status() == Some(Status::DroppedOut) {
            plan.skipped.push((label, "辍学（保留学籍），复学后再升级".into()));
            continue;
        }
        if g >= last {
            if !r.status().map(|st| st.can_become(Status::Graduated)).unwrap_or(false) {
                plan.skipped.push((label, "当前学籍状态不能改为毕业".into()));
                continue;
            }
            let p = Placement { status: Status::Graduated, school: school.to_string(), transfer: None };
            match placement_change(&r, p, Some("学年结束，毕业".into())) {
                Ok(change) => {
                    items.push((r.id, RecordKind::Student, change));
                    plan.graduated.push((label, g));
                }
                Err(e) => plan.skipped.push((label, e.to_string())),
            }
        } else {
            match assign(&r, Field::Grade, Value::Grade(g + 1)) {
                Ok(a) => {
                    items.push((r.id, RecordKind::Student, Change::Update(vec![a])));
                    plan.promoted.push((label, g, g + 1));
                }
                Err(e) => plan.skipped.push((label, e.to_string())),
            }
        }
    }
    Ok((plan, items))
}

/// Writes the plan of a school in one commit; returns what was written.
pub fn promote(l: &Ledger, school: &str, stamp: &Stamp) -> Result<Plan> {
    let (plan, items) = plan(l, school)?;
    if items.is_empty() {
        return Err(invalid(format!("{school} 没有可升级或毕业的学生")));
    }
    l.commit(&stamp.author, stamp.date, items)?;
    Ok(plan)
}
