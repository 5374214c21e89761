//! Property tests of the merge (shared::state): the same set of revisions gives the same state
//! whatever the order of arrival, with duplicates and partitions, and matches a simple model;
//! and the state on a past day (`Record::value_on`) is the merge of the revisions dated up to
//! that day, in any order.

use std::collections::{BTreeMap, BTreeSet};

use baoxue_shared::model::{AbsenceKind, Placement, Sex, Status};
use baoxue_shared::revision::{Assign, StudentInit};
use baoxue_shared::state::fold_all;
use baoxue_shared::testkit::pupil;
use baoxue_shared::{Change, Date, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use proptest::prelude::*;

/// One step of a generated history: which replica acts, on which record, doing what.
#[derive(Debug, Clone)]
enum Step {
    Edit {
        replica: usize,
        record: usize,
        field: usize,
        value: u8,
        /// Business date: days after 2026-09-01 (a write may be backdated before earlier ones).
        day: u8,
    },
    Absence {
        replica: usize,
        record: usize,
        day: u8,
    },
    /// The replica learns everything another replica knows (a sync).
    Sync {
        from: usize,
        to: usize,
    },
}

const FIELDS: [Field; 3] = [Field::Name, Field::Class, Field::Placement];

fn value(field: Field, v: u8) -> Value {
    match field {
        Field::Name => Value::Text(format!("名{v}")),
        Field::Class => Value::OptText(Some(format!("{v}班"))),
        _ => Value::Placement(Placement {
            status: [Status::Enrolled, Status::Suspended, Status::DroppedOut][usize::from(v) % 3],
            school: "鸦岭小学".into(),
            transfer: None,
        }),
    }
}

fn create(i: usize) -> Revision {
    let init = StudentInit {
        sex: Sex::Male,
        ..pupil(&format!("学生{i}"), Date::ymd(2016, 1, 1), i as u16 + 1, "鸦岭小学", 3)
    };
    let rid = RevId(1000 + i as u128);
    Revision {
        id: rid,
        record: RecordId::created_by(rid),
        kind: RecordKind::Student,
        origin: "hub".into(),
        seq: i as u64 + 1,
        hlc: Hlc { ms: 1, n: i as u32 },
        author: "导入".into(),
        date: Date::ymd(2026, 9, 1),
        change: Change::CreateStudent(Box::new(init)),
    }
}

/// Plays the steps: each replica writes against its own current view (so writes that did not
/// see each other are concurrent), and syncs copy knowledge. Returns every revision made and
/// the knowledge of each replica.
fn play(records: usize, replicas: usize, steps: &[Step]) -> (Vec<Revision>, Vec<BTreeSet<usize>>) {
    let mut all: Vec<Revision> = (0..records).map(create).collect();
    let mut known: Vec<BTreeSet<usize>> = vec![(0..records).collect(); replicas];
    let mut seq = vec![0u64; replicas];
    let mut next_id = 1u128 << 64;
    for (t, step) in steps.iter().enumerate() {
        match *step {
            Step::Edit { replica, record, field, value: v, day } => {
                let (replica, record) = (replica % replicas, record % records);
                let field = FIELDS[field % FIELDS.len()];
                let view = fold_all(known[replica].iter().map(|&i| &all[i]));
                let rec = &view[&all[record].record];
                let supersedes = rec.register(field).map(|r| r.head_ids()).unwrap_or_default();
                seq[replica] += 1;
                next_id += 1;
                all.push(Revision {
                    id: RevId(next_id),
                    record: all[record].record,
                    kind: RecordKind::Student,
                    origin: format!("node{replica}"),
                    seq: seq[replica],
                    hlc: Hlc { ms: 10 + t as u64 / 3, n: 0 },
                    author: "教师".into(),
                    date: Date::ymd(2026, 9, 1).add_days(i64::from(day % 20)),
                    change: Change::Update(vec![Assign { field, value: value(field, v), supersedes }]),
                });
                known[replica].insert(all.len() - 1);
            }
            Step::Absence { replica, record, day } => {
                let (replica, record) = (replica % replicas, record % records);
                seq[replica] += 1;
                next_id += 1;
                all.push(Revision {
                    id: RevId(next_id),
                    record: all[record].record,
                    kind: RecordKind::Student,
                    origin: format!("node{replica}"),
                    seq: seq[replica],
                    hlc: Hlc { ms: 10 + t as u64, n: 0 },
                    author: "教师".into(),
                    date: Date::ymd(2026, 9, 2),
                    change: Change::Absence {
                        day: Date::ymd(2026, 9, 1).add_days(i64::from(day % 20)),
                        kind: AbsenceKind::Unexcused,
                    },
                });
                known[replica].insert(all.len() - 1);
            }
            Step::Sync { from, to } => {
                let k = known[from % replicas].clone();
                known[to % replicas].extend(k);
            }
        }
    }
    (all, known)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..3usize, 0..3usize, 0..4u8, 0..20u8).prop_map(|(replica, record, field, value, day)| Step::Edit { replica, record, field, value, day }),
        1 => (0..3usize, 0..3usize, 0..30u8).prop_map(|(replica, record, day)| Step::Absence { replica, record, day }),
        2 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

/// The model: a field's live values are the writes nobody replaced.
fn model_heads(all: &[Revision]) -> BTreeMap<(RecordId, Field), BTreeSet<RevId>> {
    let mut writes: BTreeMap<(RecordId, Field), BTreeSet<RevId>> = BTreeMap::new();
    let mut replaced: BTreeSet<(RecordId, Field, RevId)> = BTreeSet::new();
    for r in all {
        match &r.change {
            Change::CreateStudent(init) => {
                for (f, _) in init.fields() {
                    writes.entry((r.record, f)).or_default().insert(r.id);
                }
            }
            Change::Update(assigns) => {
                for a in assigns {
                    writes.entry((r.record, a.field)).or_default().insert(r.id);
                    for s in &a.supersedes {
                        replaced.insert((r.record, a.field, *s));
                    }
                }
            }
            _ => {}
        }
    }
    writes
        .into_iter()
        .map(|((rec, f), ids)| {
            let live = ids.into_iter().filter(|id| !replaced.contains(&(rec, f, *id))).collect();
            ((rec, f), live)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any order, with duplicates, gives the same state; and the state matches the model.
    #[test]
    fn order_and_duplicates_do_not_matter(
        steps in prop::collection::vec(step(), 1..40),
        order_seed in any::<u64>(),
        dup_every in 1usize..5,
    ) {
        let (all, _) = play(3, 3, &steps);
        let reference = fold_all(all.iter());

        // A shuffled copy with duplicates.
        let mut shuffled: Vec<&Revision> = all.iter().collect();
        for (i, r) in all.iter().enumerate() {
            if i % dup_every == 0 { shuffled.push(r); }
        }
        let mut rng = order_seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let other = fold_all(shuffled.into_iter());
        prop_assert_eq!(&reference, &other);

        // The stored (compact) encoding gives back the same record.
        for rec in reference.values() {
            let bytes = baoxue_shared::codec::encode(rec).unwrap();
            let back: baoxue_shared::state::Record = baoxue_shared::codec::decode(&bytes).unwrap();
            prop_assert_eq!(rec, &back);
        }

        for ((rec, field), live) in model_heads(&all) {
            let heads: BTreeSet<RevId> = reference[&rec].register(field).map(|r| r.heads.keys().copied().collect()).unwrap_or_default();
            prop_assert_eq!(heads, live);
        }
    }

    /// The status on any day is what merging only the revisions dated up to that day gives —
    /// whatever order the revisions arrived in, with duplicates — and none before the record
    /// existed.
    #[test]
    fn state_on_a_day_is_the_merge_of_what_was_dated_by_then(
        steps in prop::collection::vec(step(), 1..40),
        order_seed in any::<u64>(),
    ) {
        let (all, _) = play(3, 3, &steps);
        let mut shuffled: Vec<&Revision> = all.iter().chain(all.iter().step_by(3)).collect();
        let mut rng = order_seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let state = fold_all(shuffled.into_iter());
        for offset in -1..22i64 {
            let day = Date::ymd(2026, 9, 1).add_days(offset);
            let by_then = fold_all(all.iter().filter(|r| r.date <= day));
            for (id, rec) in &state {
                let want = by_then.get(id).and_then(|r| r.register(Field::Placement)).and_then(|r| r.value());
                prop_assert_eq!(rec.value_on(Field::Placement, day), want, "record {:?} on {}", id, day);
            }
        }
        // Far enough ahead, the state on a day is the current state.
        for rec in state.values() {
            prop_assert_eq!(
                rec.value_on(Field::Placement, Date::ymd(2027, 1, 1)),
                rec.register(Field::Placement).and_then(|r| r.value())
            );
        }
    }

    /// Replicas that saw different subsets (partitions) converge once they exchange everything,
    /// and a fully-synced single writer never produces a conflict.
    #[test]
    fn partitions_converge(steps in prop::collection::vec(step(), 1..40)) {
        let (all, known) = play(3, 3, &steps);
        let merged: BTreeSet<usize> = known.iter().flatten().copied().collect();
        // Each replica: its own knowledge first, then the rest, in reverse.
        let mut states = Vec::new();
        for k in &known {
            let mut order: Vec<&Revision> = k.iter().map(|&i| &all[i]).collect();
            order.extend(merged.iter().rev().filter(|i| !k.contains(i)).map(|&i| &all[i]));
            states.push(fold_all(order.into_iter()));
        }
        prop_assert_eq!(&states[0], &states[1]);
        prop_assert_eq!(&states[1], &states[2]);
    }

    /// Writes by one replica only (always up to date) never conflict.
    #[test]
    fn sequential_writes_never_conflict(values in prop::collection::vec((0..3usize, 0..3usize, 0..4u8), 1..30)) {
        let steps: Vec<Step> = values.into_iter().map(|(record, field, value)| Step::Edit { replica: 0, record, field, value, day: 1 }).collect();
        let (all, _) = play(3, 1, &steps);
        let state = fold_all(all.iter());
        for rec in state.values() {
            prop_assert!(rec.conflicts().is_empty());
        }
    }
}

#[test]
fn concurrent_same_field_is_a_conflict_with_a_deterministic_winner_and_resolves() {
    let steps = [
        Step::Edit { replica: 0, record: 0, field: 2, value: 0, day: 1 },
        Step::Edit { replica: 1, record: 0, field: 2, value: 2, day: 1 },
    ];
    let (mut all, _) = play(1, 2, &steps);
    let state = fold_all(all.iter());
    let rec = &state[&all[0].record];
    let reg = rec.register(Field::Placement).unwrap();
    assert!(reg.in_conflict());
    assert_eq!(reg.heads.len(), 2);
    // Same clock: the interim winner is decided by origin node name, the same everywhere.
    let (_, w) = reg.winner().unwrap();
    assert_eq!(w.origin, "node1");
    // Different fields edited concurrently merge by themselves.
    assert!(rec.register(Field::Name).map(|r| !r.in_conflict()).unwrap_or(true));
    // A resolving write naming both heads settles it.
    let heads = reg.head_ids();
    all.push(Revision {
        id: RevId(99),
        record: all[0].record,
        kind: RecordKind::Student,
        origin: "hub".into(),
        seq: 1,
        hlc: Hlc { ms: 100, n: 0 },
        author: "基教股".into(),
        date: Date::ymd(2026, 9, 3),
        change: Change::Update(vec![Assign {
            field: Field::Placement,
            value: value(Field::Placement, 0),
            supersedes: heads,
        }]),
    });
    let state = fold_all(all.iter());
    assert!(state[&all[0].record].conflicts().is_empty());
    assert_eq!(state[&all[0].record].status(), Some(Status::Enrolled));
}

/// A withdrawn absence is gone whatever the order the absence and its withdrawal arrive in,
/// and the record is the same either way.
#[test]
fn a_withdrawal_folds_the_same_in_either_order() {
    let created = create(0);
    let rev = |id: u128, change: Change| Revision {
        id: RevId(id),
        record: created.record,
        kind: RecordKind::Student,
        origin: "node0".into(),
        seq: id as u64,
        hlc: Hlc { ms: 100 + id as u64, n: 0 },
        author: "教师".into(),
        date: Date::ymd(2026, 10, 12),
        change,
    };
    let day = Date::ymd(2026, 10, 12);
    let absence = rev(2, Change::Absence { day, kind: AbsenceKind::Unexcused });
    let other = rev(3, Change::Absence { day: Date::ymd(2026, 10, 13), kind: AbsenceKind::Sick });
    let withdraw =
        rev(4, Change::WithdrawAbsence { absence: RevId(2), day, kind: AbsenceKind::Unexcused, reason: "误点".into() });
    let forward = fold_all(&[created.clone(), absence.clone(), other.clone(), withdraw.clone()]);
    let backward = fold_all(&[withdraw, other, absence, created]);
    assert_eq!(forward, backward);
    let r = forward.values().next().expect("the record");
    assert_eq!(r.absences_sorted(), vec![(Date::ymd(2026, 10, 13), AbsenceKind::Sick)]);
    assert!(r.holds(RevId(2)) && r.holds(RevId(4)), "both revisions are held");
    assert_eq!(r.revisions, 4);
}
