//! Times `Store::apply` of revisions made elsewhere (like a hub's initial sync), in batches of
//! the sync protocol's size (`BATCH_MAX_REVISIONS`):
//! `cargo run --release -p baoxue-store --example apply_bench [N]`.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{AbsenceKind, Placement, Sex, Status};
use baoxue_shared::revision::{Assign, StudentInit};
use baoxue_shared::{Change, Date, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use baoxue_store::Store;

fn student(i: usize) -> StudentInit {
    let birth = Date::ymd(2012, 1, 1).add_days((i / 1000) as i64 % 3000);
    let id = make_id("410329", birth.0, (i % 1000) as u16);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
        id_number: Some(id),
        name: format!("学生{i}"),
        sex: if i.is_multiple_of(2) { Sex::Male } else { Sex::Female },
        birth,
        grade: 1 + (i % 6) as u8,
        class: Some(format!("{}班", 1 + i % 4)),
        hukou_township: Some("城关".into()),
        hukou_village: Some("东村".into()),
        entry_year: Some(2020),
        groups: vec![],
        guardian: Some("家长".into()),
        phone: None,
        placement: Placement { status: Status::Enrolled, school: "城关小学".into(), transfer: None },
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let node = Store::open(&dir.path().join("node")).unwrap();
    let mut items = Vec::new();
    let mut i = 0;
    while items.len() < n {
        let id = RecordId::created_by(RevId::random());
        items.push((id, RecordKind::Student, Change::CreateStudent(Box::new(student(i)))));
        for d in 0..3u32 {
            items.push((
                id,
                RecordKind::Student,
                Change::Absence { day: Date::ymd(2026, 3, 2 + d), kind: AbsenceKind::Unexcused },
            ));
        }
        items.push((
            id,
            RecordKind::Student,
            Change::Update(vec![Assign {
                field: Field::Phone,
                value: Value::OptText(Some(format!("139{:08}", i))),
                supersedes: vec![id.creating_revision()],
            }]),
        ));
        i += 1;
    }
    items.truncate(n);
    let revs: Vec<Revision> = if std::env::var_os("COMMIT").is_some() {
        let t = Instant::now();
        let mut revs = Vec::new();
        for chunk in items.chunks(10_000) {
            revs.extend(node.commit("node-a", "王老师", Date::ymd(2026, 3, 2), chunk.to_vec()).unwrap());
        }
        let c = t.elapsed().as_secs_f64();
        eprintln!("commit: {:.0} rev/s", n as f64 / c);
        revs
    } else {
        // Stamped as `commit` would, without a store.
        let now = baoxue_shared::revision::now_ms();
        items
            .into_iter()
            .enumerate()
            .map(|(k, (record, kind, change))| Revision {
                id: if matches!(change, Change::CreateStudent(_)) {
                    record.creating_revision()
                } else {
                    RevId::random()
                },
                record,
                kind,
                origin: "node-a".into(),
                seq: k as u64 + 1,
                hlc: Hlc { ms: now, n: k as u32 },
                author: "王老师".into(),
                date: Date::ymd(2026, 3, 2),
                change,
            })
            .collect()
    };
    let hub = Store::open(&dir.path().join("hub")).unwrap();
    let t = Instant::now();
    for b in revs.chunks(baoxue_shared::sync::BATCH_MAX_REVISIONS) {
        hub.apply(b, Some("node-a")).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!("apply: {n} revisions in {s:.3} s, {:.0} rev/s", n as f64 / s);
    let t = Instant::now();
    for b in revs.chunks(baoxue_shared::sync::BATCH_MAX_REVISIONS) {
        hub.apply(b, Some("node-a")).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!("re-apply (all known): {:.0} rev/s", n as f64 / s);
    assert_eq!(hub.log_end().unwrap(), n as u64);
}
