//! 籍随人走 (003 §一(四) "人籍一致，籍随人走"): a child accepted at another school while a case
//! is open is in school there. The case closes as 转学核实 on the acceptance date and its clock
//! stops on that day. One rule for the node that accepts the child (`student accept`, and after
//! every sync for cases that arrive later), for every node's and the hub's alerts (which treat
//! such a case as closed from the acceptance date even before the closing revision reaches
//! them), and for the closing itself.

use crate::dates::Date;
use crate::model::{CaseState, ClosureEvidence, Outcome, Status};
use crate::revision::{Field, Value};
use crate::state::Record;

/// The day the case's student was accepted at a school other than the case's, and that
/// school, when the student is 在读 there on `on` and the acceptance is not before the case was
/// opened. Whether the case is still open is the caller's question.
pub fn accepted_elsewhere_on(case: &Record, student: &Record, on: Date) -> Option<(Date, String)> {
    let init = case.case.as_deref()?;
    if init.student != Some(student.id) {
        return None;
    }
    let p = student.placement_on(on)?;
    if p.status != Status::Enrolled || init.school.as_deref() == Some(p.school.as_str()) {
        return None;
    }
    let school = p.school.clone();
    let since = student.run_start(
        Field::Placement,
        on,
        |v| matches!(v, Value::Placement(q) if q.status == Status::Enrolled && q.school == school),
    )?;
    (since >= init.opened).then_some((since, school))
}

/// As [`accepted_elsewhere_on`], on the student's current placement.
pub fn accepted_elsewhere(case: &Record, student: &Record) -> Option<(Date, String)> {
    accepted_elsewhere_on(case, student, Date::ymd(9999, 12, 31))
}

/// The closing of such a case: 转学核实 on the acceptance date, the accepting school as its
/// evidence.
pub fn transfer_closure(on: Date, school: &str) -> (CaseState, ClosureEvidence) {
    let state = CaseState::Closed {
        outcome: Outcome::Transferred,
        evidence: Some(format!("{school}已确认接收（籍随人走）")),
        on,
    };
    (state, ClosureEvidence { school: Some(school.to_string()), ..ClosureEvidence::default() })
}
