//! The store on real sled files: idempotent apply, order-independent state, indexes, reopen.

use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{AbsenceKind, Placement, Sex, Status};
use baoxue_shared::revision::{Assign, StudentInit};
use baoxue_shared::{Change, Date, Field, RecordKind, RevId, Value};
use baoxue_store::Store;

fn init(i: u16) -> StudentInit {
    let id = make_id("410329", Date::ymd(2016, 5, 1).0, i);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
        id_number: Some(id),
        name: format!("学生{i}"),
        sex: if i % 2 == 1 { Sex::Male } else { Sex::Female },
        birth: Date::ymd(2016, 5, 1),
        grade: 4,
        class: None,
        hukou_township: None,
        hukou_village: None,
        entry_year: Some(2023),
        groups: vec![],
        guardian: None,
        phone: None,
        placement: Placement { status: Status::Enrolled, school: "鸦岭小学".into(), transfer: None },
    }
}

#[test]
fn commit_apply_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a")).unwrap();
    let rec = RevId::random();
    let made = a
        .commit(
            "node-a",
            "王老师",
            Date::ymd(2026, 9, 1),
            vec![(rec, RecordKind::Student, Change::CreateStudent(Box::new(init(1))))],
        )
        .unwrap();
    let heads = a.record(rec).unwrap().unwrap().register(Field::Placement).unwrap().head_ids();
    let more = a
        .commit(
            "node-a",
            "王老师",
            Date::ymd(2026, 9, 2),
            vec![
                (
                    rec,
                    RecordKind::Student,
                    Change::Absence { day: Date::ymd(2026, 9, 2), kind: AbsenceKind::Unexcused },
                ),
                (
                    rec,
                    RecordKind::Student,
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: Value::Placement(Placement {
                            status: Status::Suspended,
                            school: "鸦岭小学".into(),
                            transfer: None,
                        }),
                        supersedes: heads,
                    }]),
                ),
            ],
        )
        .unwrap();
    assert_eq!(made[0].id, rec, "a record is named by its creating revision");
    assert_eq!((more[0].seq, more[1].seq), (2, 3));
    assert!(more[0].hlc < more[1].hlc);

    // Another store receives them in reverse order, twice.
    let b = Store::open(&dir.path().join("b")).unwrap();
    let mut all: Vec<_> = made.iter().chain(more.iter()).cloned().collect();
    all.reverse();
    let first = b.apply(&all, Some("hub")).unwrap();
    assert_eq!(first.new.len(), 3);
    let again = b.apply(&all, Some("hub")).unwrap();
    assert_eq!((again.new.len(), again.known), (0, 3));
    assert_eq!(b.log_end().unwrap(), 3);
    assert_eq!(a.record(rec).unwrap(), b.record(rec).unwrap());
    assert_eq!(b.record(rec).unwrap().unwrap().status(), Some(Status::Suspended));

    // Indexes and history survive a reopen.
    let no = init(1).student_no;
    drop(b);
    let b = Store::open(&dir.path().join("b")).unwrap();
    assert_eq!(b.by_student_no(no.as_str()).unwrap(), vec![rec]);
    assert_eq!(b.by_id_number(init(1).id_number.unwrap().as_str()).unwrap(), vec![rec]);
    let h = b.history(rec).unwrap();
    assert_eq!(h.len(), 3);
    assert!(matches!(h[0].change, Change::CreateStudent(_)));
    let log = b.log_range(0, 10).unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|(_, e)| e.from.as_deref() == Some("hub")));
    assert_eq!(b.by_id_prefix(&rec.short()).unwrap(), vec![rec]);
}

#[test]
fn epochs_are_random_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let e = s.epoch().unwrap();
    let e2 = s.new_epoch().unwrap();
    assert_ne!(e, e2);
    drop(s);
    assert_eq!(Store::open(dir.path()).unwrap().epoch().unwrap(), e2);
}
