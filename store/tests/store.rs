//! The store on real sled files: idempotent apply, order-independent state, indexes, reopen.

mod common;

use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{AbsenceKind, Placement, Status};
use baoxue_shared::revision::{Assign, StudentInit};
use std::collections::BTreeSet;

use baoxue_shared::{Change, Date, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use baoxue_store::Store;

fn init(i: u16) -> StudentInit {
    common::student(i)
}

/// Commits the creation of student `init(i)` as record `rec` on `day` at node-a.
fn create(s: &Store, rec: RecordId, i: u16, day: Date) -> Vec<Revision> {
    s.commit("node-a", "王老师", day, vec![(rec, RecordKind::Student, Change::CreateStudent(Box::new(init(i))))])
        .unwrap()
}

#[test]
fn commit_apply_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a")).unwrap();
    let rec = common::new_record();
    let made = create(&a, rec, 1, Date::ymd(2026, 9, 1));
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
    assert_eq!(RecordId::created_by(made[0].id), rec, "a record is named by its creating revision");
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

/// 学籍号 lookups: a national number (G + 身份证号) is found through the 身份证号 index, any
/// other number through its own; a change of either keeps both lookups right, and a case with
/// the same 身份证号 is never taken for a student.
#[test]
fn student_numbers_are_found_national_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let (national, local) = (common::new_record(), common::new_record());
    let mut other = init(2);
    other.student_no = StudentNo::parse("L410329201605010029").unwrap();
    s.commit(
        "node-a",
        "王老师",
        Date::ymd(2026, 9, 1),
        vec![
            (national, RecordKind::Student, Change::CreateStudent(Box::new(init(1)))),
            (local, RecordKind::Student, Change::CreateStudent(Box::new(other))),
        ],
    )
    .unwrap();
    let g1 = init(1).student_no;
    assert_eq!(s.by_student_no(g1.as_str()).unwrap(), vec![national]);
    assert_eq!(s.by_student_no("L410329201605010029").unwrap(), vec![local]);
    assert!(s.by_student_no(&format!("G{}", init(2).id_number.unwrap().as_str())).unwrap().is_empty());
    assert!(s.by_student_no("G").unwrap().is_empty());

    // The national student's 身份证号 is corrected: the number stays findable, the old
    // 身份证号 is gone, the new one found.
    let fixed = make_id("410329", Date::ymd(2016, 5, 1).0, 7);
    s.commit(
        "node-a",
        "王老师",
        Date::ymd(2026, 9, 2),
        vec![(
            national,
            RecordKind::Student,
            Change::Update(vec![Assign {
                field: Field::IdNumber,
                value: Value::Id(Some(fixed.clone())),
                supersedes: vec![national.creating_revision()],
            }]),
        )],
    )
    .unwrap();
    drop(s);
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.by_student_no(g1.as_str()).unwrap(), vec![national]);
    assert!(s.by_id_number(init(1).id_number.unwrap().as_str()).unwrap().is_empty());
    assert_eq!(s.by_id_number(fixed.as_str()).unwrap(), vec![national]);
    assert!(s.by_student_no(&format!("G{}", fixed.as_str())).unwrap().is_empty());
}

/// A stored record carries the date of its creating revision (for the hub's nightly rebuild),
/// whichever order its revisions arrive in, and keeps it through later writes.
#[test]
fn a_record_keeps_the_date_of_its_creating_revision() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a")).unwrap();
    let rec = common::new_record();
    let made = create(&a, rec, 1, Date::ymd(2026, 9, 1));
    let absence = Change::Absence { day: Date::ymd(2026, 9, 2), kind: AbsenceKind::Unexcused };
    let more = a.commit("node-a", "王老师", Date::ymd(2026, 9, 2), vec![(rec, RecordKind::Student, absence)]).unwrap();
    let all = |s: &Store| s.records_dated(RecordId(0), RecordId(u128::MAX)).collect::<Result<Vec<_>, _>>().unwrap();
    let held = all(&a);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].1, Some(Date::ymd(2026, 9, 1)), "the create's date, not the absence's");
    assert_eq!(Some(&held[0].0), a.record(rec).unwrap().as_ref());

    // The absence first: no date until the create arrives, then it stays.
    let b = Store::open(&dir.path().join("b")).unwrap();
    b.apply(&more, Some("hub")).unwrap();
    assert_eq!(all(&b)[0].1, None);
    b.apply(&made, Some("hub")).unwrap();
    assert_eq!(all(&b)[0].1, Some(Date::ymd(2026, 9, 1)));
    let later = Revision {
        id: RevId::random(),
        seq: 9,
        hlc: Hlc { ms: more[0].hlc.ms + 1, n: 0 },
        date: Date::ymd(2026, 9, 3),
        change: Change::Absence { day: Date::ymd(2026, 9, 3), kind: AbsenceKind::Sick },
        ..more[0].clone()
    };
    b.apply(&[later], Some("hub")).unwrap();
    drop(b);
    let b = Store::open(&dir.path().join("b")).unwrap();
    let held = all(&b);
    assert_eq!(held[0].1, Some(Date::ymd(2026, 9, 1)));
    assert_eq!(held[0].0.absences.len(), 2);
    // Only the range asked for.
    if let Some(next) = rec.0.checked_add(1) {
        assert!(b.records_dated(RecordId(next), RecordId(u128::MAX)).all(|r| r.unwrap().0.id != rec));
    }
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

/// Revisions of the crash test, in batches: each batch creates 50 students and gives 100
/// students of earlier batches an absence each, so that it touches new and existing records.
fn crash_batches() -> Vec<Vec<Revision>> {
    let mut out = Vec::new();
    let mut next = 1u128;
    // Spread like random ids.
    let id = |n: u128| RevId(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
    let mut students: Vec<RecordId> = Vec::new();
    for b in 0..60u64 {
        let mut batch = Vec::new();
        let stamp = |id: RevId, record: RecordId, change: Change, k: u64| Revision {
            id,
            record,
            kind: RecordKind::Student,
            origin: "node-a".into(),
            seq: b * 1_000 + k,
            hlc: Hlc { ms: 1_790_000_000_000 + b * 1_000 + k, n: 0 },
            author: "王老师".into(),
            date: Date::ymd(2026, 9, 1),
            change,
        };
        for k in 0..100u64 {
            if students.is_empty() {
                break;
            }
            let s = students[(b as usize * 37 + k as usize * 101) % students.len()];
            let day = Date::ymd(2026, 9, 1).add_days((b * 100 + k) as i64);
            next += 1;
            batch.push(stamp(id(next), s, Change::Absence { day, kind: AbsenceKind::Unexcused }, k));
        }
        for k in 0..50u64 {
            next += 1;
            let s = RecordId::created_by(id(next));
            students.push(s);
            let i = (b * 50 + k) as u16;
            batch.push(stamp(s.creating_revision(), s, Change::CreateStudent(Box::new(init(i))), 100 + k));
        }
        out.push(batch);
    }
    out
}

/// Every revision held once, logged once, folded once.
#[track_caller]
fn assert_consistent(s: &Store) {
    let end = s.log_end().unwrap();
    let log = s.log_range(0, usize::MAX).unwrap();
    assert_eq!(log.len() as u64, end, "log entries vs log end");
    let logged: BTreeSet<RevId> = log.iter().map(|(_, e)| e.rev).collect();
    assert_eq!(logged.len() as u64, end, "a revision was logged twice");
    for (pos, e) in &log {
        let r = s.log_revision(e).unwrap().unwrap_or_else(|| panic!("log position {pos} points nowhere"));
        assert_eq!((r.id, r.record), (e.rev, e.record), "log position {pos}");
        assert!(s.contains(e.record, e.rev).unwrap(), "logged {} but its record does not hold it", e.rev);
    }
    let mut in_history = 0;
    for rec in s.records(None) {
        let rec = rec.unwrap();
        let h = s.history(rec.id).unwrap();
        assert_eq!(rec.revisions as usize, h.len(), "record {} folded vs held", rec.id);
        for r in &h {
            assert!(logged.contains(&r.id), "revision {} held but not logged", r.id);
        }
        in_history += h.len();
    }
    assert_eq!(in_history as u64, end, "revisions in histories vs logged");
}

/// Run as a child process by the crash test: applies every batch, until killed.
fn crash_child(dir: &std::path::Path) {
    let s = Store::open(dir).unwrap();
    for b in crash_batches() {
        s.apply(&b, Some("hub")).unwrap();
    }
}

/// Kills a process applying revisions (kill -9) at random points, many times; after each kill
/// the store holds each revision once, logged once and folded once, and replaying everything
/// gives exactly what one uninterrupted run gives.
#[test]
fn kill_9_in_the_middle_of_apply_leaves_a_consistent_store() {
    const CHILD: &str = "BAOXUE_STORE_CRASH_CHILD";
    if let Some(dir) = std::env::var_os(CHILD) {
        crash_child(std::path::Path::new(&dir));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let batches = crash_batches();
    let total: usize = batches.iter().map(Vec::len).sum();
    let mut held = Vec::new();
    for k in 0..12u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_9_in_the_middle_of_apply_leaves_a_consistent_store", "--nocapture"])
            .env(CHILD, &dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40 + rand::random::<u64>() % 150 + k * 20));
        let _ = child.kill();
        let _ = child.wait();
        let s = Store::open(&dir).unwrap();
        assert_consistent(&s);
        held.push(s.log_end().unwrap());
    }
    assert!(held.iter().any(|&n| n > 0 && n < total as u64), "no kill landed mid-way: {held:?}");
    let s = Store::open(&dir).unwrap();
    for b in &batches {
        s.apply(b, Some("hub")).unwrap();
    }
    assert_consistent(&s);
    assert_eq!(s.log_end().unwrap() as usize, total, "held after the kills: {held:?}");
    let once = Store::open(&tmp.path().join("once")).unwrap();
    for b in &batches {
        once.apply(b, Some("hub")).unwrap();
    }
    let all = |s: &Store| s.records(None).map(Result::unwrap).collect::<Vec<_>>();
    assert_eq!(all(&s), all(&once));
}

/// A store written by the first layout (a tree per kind of key, counters in `meta`) opens as
/// the same store: revisions, log, history, records, indexes, clock and sequence carry over;
/// a revision held but not logged (what a crash of the old `apply` left) is dropped, so that
/// it is received again.
#[test]
fn a_store_of_the_first_layout_is_migrated_on_open() {
    use baoxue_shared::codec::encode;
    use baoxue_shared::Record;

    /// A log entry as the first layout stored it.
    #[derive(serde::Serialize)]
    struct LogEntry {
        rev: RevId,
        from: Option<String>,
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    let batches = crash_batches();
    let create = batches[0][0].clone();
    let rec_id = create.record;
    let absence = Revision {
        id: RevId(7),
        change: Change::Absence { day: Date::ymd(2026, 9, 3), kind: AbsenceKind::Unexcused },
        seq: 9,
        hlc: Hlc { ms: create.hlc.ms + 1, n: 0 },
        ..create.clone()
    };
    let unlogged = Revision { id: RevId(8), seq: 10, hlc: Hlc { ms: create.hlc.ms + 2, n: 0 }, ..absence.clone() };
    let mut state = Record::new(rec_id, RecordKind::Student);
    state.apply(&create);
    state.apply(&absence);
    {
        let db = sled::open(&dir).unwrap();
        let (revs, log, by_record, records, idx, meta) = (
            db.open_tree("revs").unwrap(),
            db.open_tree("log").unwrap(),
            db.open_tree("by_record").unwrap(),
            db.open_tree("records").unwrap(),
            db.open_tree("idx").unwrap(),
            db.open_tree("meta").unwrap(),
        );
        for (pos, r) in [&create, &absence].into_iter().enumerate() {
            revs.insert(r.id.to_bytes(), encode(r).unwrap()).unwrap();
            log.insert((pos as u64).to_be_bytes(), encode(&LogEntry { rev: r.id, from: Some("hub".into()) }).unwrap())
                .unwrap();
            let mut k = rec_id.to_bytes().to_vec();
            k.extend_from_slice(&r.id.to_bytes());
            by_record.insert(k, &[]).unwrap();
        }
        // Held, not logged; and a log entry beyond the log's end.
        revs.insert(unlogged.id.to_bytes(), encode(&unlogged).unwrap()).unwrap();
        log.insert(2u64.to_be_bytes(), encode(&LogEntry { rev: unlogged.id, from: None }).unwrap()).unwrap();
        records.insert(rec_id.to_bytes(), encode(&state).unwrap()).unwrap();
        let mut k = vec![b'n'];
        k.extend_from_slice(state.student_no().unwrap().as_str().as_bytes());
        k.push(0);
        k.extend_from_slice(&rec_id.to_bytes());
        idx.insert(k, &[]).unwrap();
        meta.insert("epoch", encode(&42u64).unwrap()).unwrap();
        meta.insert("log_end", encode(&2u64).unwrap()).unwrap();
        meta.insert("hlc", encode(&unlogged.hlc).unwrap()).unwrap();
        meta.insert("seq", encode(&10u64).unwrap()).unwrap();
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.epoch().unwrap(), 42);
        assert_eq!((s.log_end().unwrap(), s.revision_count()), (2, 2));
        let log: Vec<RevId> = s.log_range(0, 10).unwrap().into_iter().map(|(_, e)| e.rev).collect();
        assert_eq!(log, vec![create.id, absence.id]);
        let e = &s.log_range(1, 10).unwrap()[0].1;
        assert_eq!((e.rev, e.from.as_deref(), e.record), (absence.id, Some("hub"), rec_id));
        assert_eq!(s.log_revision(e).unwrap(), Some(absence.clone()));
        assert!(!s.contains(rec_id, unlogged.id).unwrap(), "held but not logged: dropped");
        assert_eq!(s.record(rec_id).unwrap(), Some(state.clone()));
        assert_eq!(s.history(rec_id).unwrap(), vec![create.clone(), absence.clone()]);
        assert_eq!(s.by_student_no(state.student_no().unwrap().as_str()).unwrap(), vec![rec_id]);
        assert_eq!(s.clock().unwrap(), unlogged.hlc);
        assert_consistent(&s);
    }
    let s = Store::open(&dir).unwrap();
    let made = s
        .commit("node-a", "王老师", Date::ymd(2026, 9, 4), vec![(rec_id, RecordKind::Student, absence.change.clone())])
        .unwrap();
    assert_eq!(made[0].seq, 11, "the sequence carries over");
    assert_eq!(s.log_range(2, 10).unwrap()[0].1.rev, made[0].id);
    // The first layout's records are rebuilt from the revisions on opening (derived version
    // 1), so they gain their creating revision's date like records written now.
    let dated: Vec<_> = s.records_dated(RecordId(0), RecordId(u128::MAX)).collect::<Result<_, _>>().unwrap();
    assert_eq!((dated.len(), dated[0].1), (1, Some(create.date)));
    assert_eq!(dated[0].0.absences.len(), 2);
}

/// A store whose derived state was written by an older version (here: records in an encoding
/// that no longer decodes, an index key lost, no version in `meta`) has its derived records
/// and indexes rebuilt from the stored revisions when opened; nothing else changes, and a
/// second open does not rebuild again.
#[test]
fn an_older_derived_version_is_rebuilt_from_the_revisions() {
    use baoxue_shared::state::fold;
    use baoxue_store::DERIVED_VERSION;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let (a, b) = (common::new_record(), common::new_record());
    let (want_a, want_b, epoch, end, no_a) = {
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.derived_version().unwrap(), DERIVED_VERSION, "a new store records the current version");
        s.commit(
            "node-a",
            "王老师",
            Date::ymd(2026, 9, 1),
            vec![
                (a, RecordKind::Student, Change::CreateStudent(Box::new(init(1)))),
                (b, RecordKind::Student, Change::CreateStudent(Box::new(init(2)))),
            ],
        )
        .unwrap();
        let heads = s.record(a).unwrap().unwrap().register(Field::Placement).unwrap().head_ids();
        let mut p = init(1).placement;
        p.status = Status::DroppedOut;
        s.commit(
            "node-a",
            "王老师",
            Date::ymd(2026, 9, 9),
            vec![(
                a,
                RecordKind::Student,
                Change::Update(vec![Assign { field: Field::Placement, value: Value::Placement(p), supersedes: heads }]),
            )],
        )
        .unwrap();
        let ra = s.record(a).unwrap().unwrap();
        assert_eq!(ra, fold(a, RecordKind::Student, &s.history(a).unwrap()));
        let no_a = ra.student_no().unwrap().as_str().to_string();
        (ra, s.record(b).unwrap().unwrap(), s.epoch().unwrap(), s.log_end().unwrap(), no_a)
    };
    // Make it look written by version 1: undecodable records, a lost index key, no version.
    {
        let db = sled::open(&dir).unwrap();
        let data = db.open_tree("data").unwrap();
        let meta = db.open_tree("meta").unwrap();
        for id in [a, b] {
            let mut k = vec![b's'];
            k.extend_from_slice(&id.to_bytes());
            data.insert(k, &[0xff, 0x01, 0x02][..]).unwrap();
        }
        // The 身份证号 key, which also finds the national 学籍号 (a keyed hash of the number,
        // followed by the record's id).
        let keys: Vec<_> =
            data.scan_prefix(b"ii").keys().map(Result::unwrap).filter(|k| k.ends_with(&a.to_bytes())).collect();
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].windows(6).any(|w| no_a.as_bytes()[1..].windows(6).any(|x| x == w)), "the number is hashed");
        assert!(data.remove(&keys[0]).unwrap().is_some());
        meta.remove("derived_version").unwrap();
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.derived_version().unwrap(), DERIVED_VERSION);
        assert_eq!(s.record(a).unwrap(), Some(want_a.clone()));
        assert_eq!(s.record(b).unwrap(), Some(want_b.clone()));
        assert_eq!(s.by_student_no(&no_a).unwrap(), vec![a]);
        assert_eq!((s.epoch().unwrap(), s.log_end().unwrap()), (epoch, end), "facts and cursors untouched");
        // The rebuilt record answers for past days from the business dates.
        let r = s.record(a).unwrap().unwrap();
        assert_eq!(r.status_on(Date::ymd(2026, 9, 8)), Some(Status::Enrolled));
        assert_eq!(r.status_on(Date::ymd(2026, 9, 9)), Some(Status::DroppedOut));
        assert_eq!(r.status_on(Date::ymd(2026, 8, 31)), None);
        // The rebuilt records keep their creating revision's date (the nightly reads it).
        let dated = s.records_dated(RecordId(0), RecordId(u128::MAX)).collect::<Result<Vec<_>, _>>().unwrap();
        assert!(dated.iter().all(|(_, d)| *d == Some(Date::ymd(2026, 9, 1))), "{dated:?}");
        assert_consistent(&s);
    }
    // A version from the future is refused rather than misread.
    let key = Store::open(&dir).unwrap().key().unwrap().clone();
    {
        let db = sled::open(&dir).unwrap();
        let meta = db.open_tree("meta").unwrap();
        let v = baoxue_shared::codec::encode(&(DERIVED_VERSION + 1)).unwrap();
        meta.insert("derived_version", key.seal(b"meta:derived_version", &v)).unwrap();
        db.flush().unwrap();
    }
    let e = Store::open(&dir).err().expect("refused");
    assert!(e.to_string().contains("高于本程序支持"), "{e}");
}

/// A store of the second layout (a key per revision under `r`, id-list histories under `h`,
/// id-only log chunks under `l`) is moved to record groups and located log entries when
/// opened, twice over (the second open finds nothing to do), with every fact and cursor kept.
#[test]
fn a_store_of_the_second_layout_is_migrated_on_open() {
    use baoxue_shared::codec::encode;

    #[derive(serde::Serialize)]
    struct V2LogChunk {
        from: Option<String>,
        revs: Vec<RevId>,
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v2");
    let batches = crash_batches();
    let (a, b) = (batches[0][0].clone(), batches[0][1].clone());
    let absences: Vec<Revision> = (0..3u32)
        .map(|k| Revision {
            id: RevId(1000 + u128::from(k)),
            change: Change::Absence { day: Date::ymd(2026, 9, 3 + k), kind: AbsenceKind::Unexcused },
            seq: 100 + u64::from(k),
            hlc: Hlc { ms: a.hlc.ms + 10 + u64::from(k), n: 0 },
            ..a.clone()
        })
        .collect();
    // Two writes: a and b together, then the absences of a.
    let order: Vec<&Revision> = [&a, &b].into_iter().chain(absences.iter()).collect();
    {
        let db = sled::open(&dir).unwrap();
        let (data, meta) = (db.open_tree("data").unwrap(), db.open_tree("meta").unwrap());
        let key = |tag: u8, rest: &[u8]| [&[tag][..], rest].concat();
        for r in &order {
            data.insert(key(b'r', &r.id.to_bytes()), encode(*r).unwrap()).unwrap();
        }
        let hist = |rec: RecordId, first: RevId| key(b'h', &[rec.to_bytes(), first.to_bytes()].concat());
        data.insert(hist(a.record, a.id), &[]).unwrap();
        data.insert(hist(b.record, b.id), &[]).unwrap();
        let more: Vec<u8> = absences[1..].iter().flat_map(|r| r.id.to_bytes()).collect();
        data.insert(hist(a.record, absences[0].id), more).unwrap();
        let chunk = |from: Option<&str>, revs: &[&Revision]| {
            encode(&V2LogChunk { from: from.map(str::to_string), revs: revs.iter().map(|r| r.id).collect() }).unwrap()
        };
        data.insert(key(b'l', &0u64.to_be_bytes()), chunk(None, &order[..2])).unwrap();
        data.insert(key(b'l', &2u64.to_be_bytes()), chunk(Some("hub"), &order[2..])).unwrap();
        data.insert(key(b'c', b"log_end"), encode(&5u64).unwrap()).unwrap();
        data.insert(key(b'c', b"hlc"), encode(&absences[2].hlc).unwrap()).unwrap();
        data.insert(key(b'c', b"seq"), encode(&102u64).unwrap()).unwrap();
        // Records in an encoding the current code does not read: rebuilt from the revisions.
        data.insert(key(b's', &a.record.to_bytes()), &[0xff, 0x01][..]).unwrap();
        meta.insert("epoch", encode(&42u64).unwrap()).unwrap();
        meta.insert("derived_version", encode(&2u32).unwrap()).unwrap();
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let s = Store::open(&dir).unwrap();
        assert_eq!((s.epoch().unwrap(), s.log_end().unwrap()), (42, 5));
        let log = s.log_range(0, 10).unwrap();
        assert_eq!(log.iter().map(|(_, e)| e.rev).collect::<Vec<_>>(), order.iter().map(|r| r.id).collect::<Vec<_>>());
        assert_eq!(
            log.iter().map(|(_, e)| e.from.as_deref()).collect::<Vec<_>>(),
            [None, None, Some("hub"), Some("hub"), Some("hub")]
        );
        for ((_, e), want) in log.iter().zip(&order) {
            assert_eq!(s.log_revision(e).unwrap().as_ref(), Some(*want));
        }
        let mut hist_a = vec![a.clone()];
        hist_a.extend(absences.iter().cloned());
        assert_eq!(s.history(a.record).unwrap(), hist_a);
        let rec = s.record(a.record).unwrap().unwrap();
        assert_eq!((rec.revisions, rec.absences.len()), (4, 3));
        assert!(hist_a.iter().all(|r| rec.holds(r.id)));
        assert_eq!(s.record(b.record).unwrap().unwrap().revisions, 1);
        assert_eq!(s.clock().unwrap(), absences[2].hlc);
        assert_consistent(&s);
        // A replay of everything is known, and nothing is added.
        let all: Vec<Revision> = order.iter().map(|r| (*r).clone()).collect();
        let applied = s.apply(&all, Some("hub")).unwrap();
        assert_eq!((applied.new.len(), applied.known, s.log_end().unwrap()), (0, 5, 5));
    }
    // No key of the old layout is left.
    drop(Store::open(&dir).unwrap());
    let db = sled::open(&dir).unwrap();
    let data = db.open_tree("data").unwrap();
    for tag in [b'r', b'h', b'l'] {
        assert!(data.scan_prefix([tag]).next().is_none(), "old keys under {:?} left", tag as char);
    }
}

#[test]
fn a_revision_larger_than_the_sync_allows_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("a")).unwrap();
    let mut big = init(1);
    big.name = "名".repeat(baoxue_shared::sync::REVISION_MAX_BYTES / 3 + 1);
    let err = s
        .commit(
            "node-a",
            "王老师",
            Date::ymd(2026, 9, 1),
            vec![(common::new_record(), RecordKind::Student, Change::CreateStudent(Box::new(big)))],
        )
        .unwrap_err();
    assert!(err.to_string().contains("修订过大"), "{err}");
    assert_eq!(s.log_end().unwrap(), 0, "nothing written");
    create(&s, common::new_record(), 2, Date::ymd(2026, 9, 1));
    assert_eq!(s.log_end().unwrap(), 1);
}
