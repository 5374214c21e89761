//! The store at rest: sealed values, hashed index keys, private modes, the migration of a store
//! written in clear, a wrong key and a damaged store, on real sled files.

mod common;

use std::path::Path;

use baoxue_shared::codec::encode;
use baoxue_shared::revision::StudentInit;
use baoxue_shared::state::fold;
use baoxue_shared::{Change, Date, Hlc, RecordId, RecordKind, RevId, Revision};
use baoxue_store::{Store, StoreError};

const NAME: &str = "欧阳晓珺";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

fn init(i: u16) -> StudentInit {
    StudentInit {
        name: format!("{NAME}{i}"),
        guardian: Some("欧阳建国".into()),
        phone: Some("13912345678".into()),
        ..common::student(i)
    }
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// The needles found in any file under `dir` (file, needle).
fn leaks(dir: &Path, needles: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (p, bytes) in files(dir) {
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((p.display().to_string(), n.clone()));
            }
        }
    }
    found
}

fn needles(n: u16) -> Vec<String> {
    let mut v: Vec<String> = (1..=n).map(|i| init(i).id_number.unwrap().as_str().to_string()).collect();
    v.push(NAME.into());
    v.push("欧阳建国".into());
    v.push("13912345678".into());
    v.push("BEGIN".into());
    v
}

#[test]
fn nothing_readable_lies_in_the_store_files_and_modes_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    {
        let s = Store::open(&dir).unwrap();
        for i in 1..=20u16 {
            let rec = common::new_record();
            s.commit(
                "node-a",
                "王老师",
                Date::ymd(2026, 9, 1),
                vec![(rec, RecordKind::Student, Change::CreateStudent(Box::new(init(i))))],
            )
            .unwrap();
        }
        s.put_meta("node_config", &PEM.to_string()).unwrap();
        s.flush().unwrap();
        let id = init(3).id_number.unwrap();
        assert_eq!(s.by_id_number(id.as_str()).unwrap().len(), 1);
        assert_eq!(s.by_student_no(&format!("G{}", id.as_str())).unwrap().len(), 1);
    }
    // Found by the test itself in clear (so that the search can fail)…
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("x"), format!("{}{PEM}", needles(20).join(","))).unwrap();
    assert_eq!(leaks(&plain, &needles(20)).len(), needles(20).len());
    // …and nowhere in the store's files.
    assert_eq!(leaks(&dir, &needles(20)), Vec::<(String, String)>::new());
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.get_meta::<String>("node_config").unwrap().as_deref(), Some(PEM));
    assert_eq!(s.record_count(), 20);
    drop(s);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for (p, _) in files(&dir) {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        // The key lies outside the directory, private.
        assert_eq!(mode(&tmp.path().join("node.key")), 0o600);
    }
}

#[test]
fn a_store_written_in_clear_by_the_previous_version_is_sealed_on_open() {
    #[derive(serde::Serialize)]
    struct LogChunk {
        from: Option<String>,
        entries: Vec<(RevId, RecordId, RevId, u32)>,
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    let rec = common::new_record();
    let rev = Revision {
        id: rec.creating_revision(),
        record: rec,
        kind: RecordKind::Student,
        origin: "node-a".into(),
        seq: 1,
        hlc: Hlc { ms: 1_790_000_000_000, n: 0 },
        author: "王老师".into(),
        date: Date::ymd(2026, 9, 1),
        change: Change::CreateStudent(Box::new(init(1))),
    };
    let id = init(1).id_number.unwrap().as_str().to_string();
    {
        // Layout 3, derived version 4, everything in clear, as the previous version wrote it.
        let db = sled::open(&dir).unwrap();
        let (data, meta) = (db.open_tree("data").unwrap(), db.open_tree("meta").unwrap());
        let key = |tag: u8, rest: &[&[u8]]| [&[tag][..], &rest.concat()].concat();
        let enc = encode(&rev).unwrap();
        let group = [&(enc.len() as u32).to_le_bytes()[..], &enc].concat();
        data.insert(key(b'g', &[&rec.to_bytes(), &rev.id.to_bytes()]), group).unwrap();
        let chunk = LogChunk { from: None, entries: vec![(rev.id, rec, rev.id, 0)] };
        data.insert(key(b'o', &[&0u64.to_be_bytes()]), encode(&chunk).unwrap()).unwrap();
        data.insert(key(b'c', &[b"log_end"]), encode(&1u64).unwrap()).unwrap();
        data.insert(key(b'c', &[b"seq"]), encode(&1u64).unwrap()).unwrap();
        data.insert(key(b'c', &[b"hlc"]), encode(&rev.hlc).unwrap()).unwrap();
        let state = fold(rec, RecordKind::Student, std::slice::from_ref(&rev));
        let v = [encode(&state).unwrap(), encode(&rev.date).unwrap()].concat();
        data.insert(key(b's', &[&rec.to_bytes()]), v).unwrap();
        data.insert(key(b'i', &[b"i", id.as_bytes(), &[0], &rec.to_bytes()]), &[]).unwrap();
        meta.insert("layout_version", encode(&3u32).unwrap()).unwrap();
        meta.insert("derived_version", encode(&4u32).unwrap()).unwrap();
        meta.insert("epoch", encode(&42u64).unwrap()).unwrap();
        meta.insert("node_config", encode(&PEM.to_string()).unwrap()).unwrap();
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.epoch().unwrap(), 42, "cursors stay valid: same epoch");
        assert_eq!(s.log_end().unwrap(), 1);
        assert_eq!(s.history(rec).unwrap(), vec![rev.clone()]);
        assert_eq!(s.record(rec).unwrap().unwrap().name(), format!("{NAME}1"));
        assert_eq!(s.by_id_number(&id).unwrap(), vec![rec]);
        assert_eq!(s.by_student_no(&format!("G{id}")).unwrap(), vec![rec]);
        assert_eq!(s.get_meta::<String>("node_config").unwrap().as_deref(), Some(PEM));
        let (_, e) = s.log_range(0, 10).unwrap().pop().unwrap();
        assert_eq!(s.log_revision(&e).unwrap(), Some(rev.clone()));
    }
    // No value or key left in clear (read through sled: what the current trees hold).
    let db = sled::open(&dir).unwrap();
    for tree in ["data", "meta"] {
        for kv in db.open_tree(tree).unwrap().iter() {
            let (k, v) = kv.unwrap();
            for n in [id.as_bytes(), NAME.as_bytes(), b"BEGIN"] {
                assert!(!k.windows(n.len()).any(|w| w == n), "key of {tree}");
                assert!(!v.windows(n.len()).any(|w| w == n), "value of {tree}");
            }
        }
    }
}

#[test]
fn a_wrong_key_is_refused_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    drop(Store::open(&dir).unwrap());
    std::fs::write(tmp.path().join("node.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let e = Store::open(&dir).err().expect("refused");
    assert!(matches!(e, StoreError::Key(baoxue_store::KeyError::WrongKey { .. })), "{e:?}");
    let line = e.to_string();
    assert!(line.contains("密钥不对") && !line.contains('\n'), "{line}");
}

#[test]
fn a_truncated_store_is_reported_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    // Cut to nothing, into the header, and into the data.
    for cut in [0usize, 100, 4096, 70_000] {
        let dir = tmp.path().join(format!("cut{cut}"));
        {
            let s = Store::open(&dir).unwrap();
            for i in 1..=50u16 {
                s.commit(
                    "node-a",
                    "王老师",
                    Date::ymd(2026, 9, 1),
                    vec![(common::new_record(), RecordKind::Student, Change::CreateStudent(Box::new(init(i))))],
                )
                .unwrap();
            }
        }
        let db = dir.join("db");
        let len = std::fs::metadata(&db).unwrap().len() as usize;
        assert!(len > cut);
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(cut as u64).unwrap();
        drop(f);
        let r = std::panic::catch_unwind(|| Store::open(&dir).map(|s| s.record_count()));
        let r = r.expect("no panic escapes the store");
        match r {
            Err(e) => {
                let line = e.to_string();
                assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}");
                assert!(line.contains("已损坏") && line.contains("备份") && !line.contains('\n'), "{line}");
            }
            // sled may also open it as a consistent prefix (an older state, which the epoch
            // machinery resyncs like a restored backup); never as a new empty store.
            Ok(n) => assert!((1..=50).contains(&n), "cut {cut}: {n} records"),
        }
    }
    // A cut configuration file: sled's own error, reported the same way.
    let dir = tmp.path().join("conf");
    drop(Store::open(&dir).unwrap());
    let conf = std::fs::read(dir.join("conf")).unwrap();
    std::fs::write(dir.join("conf"), &conf[..conf.len() / 2]).unwrap();
    let e = Store::open(&dir).err().expect("refused");
    assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}");
}
