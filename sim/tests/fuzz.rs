//! The fuzzer as a command keeps compiling and working: a few hundred cases a target (the long
//! runs are `baoxue-sim fuzz --cases 100000`, not CI's).

use baoxue_sim::fuzz::{self, FuzzOptions, Target};

#[test]
fn a_short_run_reaches_every_target_and_finds_no_panic() {
    let out = tempfile::tempdir().unwrap();
    let opts = FuzzOptions {
        cases: 300,
        seed: 14,
        targets: Target::ALL.to_vec(),
        out: out.path().to_path_buf(),
        progress: false,
    };
    let r = fuzz::run(&opts, |m| eprintln!("{m}")).unwrap();
    assert_eq!(r.targets.len(), 7);
    for t in &r.targets {
        assert_eq!(t.cases, 300, "{:?}", t.target);
    }
    let found: Vec<_> = r.targets.iter().flat_map(|t| &t.findings).map(|f| &f.message).collect();
    assert_eq!(r.total_panics, 0, "panics: {found:?}");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "no reproducer written");
}

#[test]
fn targets_parse_by_name_and_all() {
    assert_eq!(Target::parse_list("all").unwrap().len(), 7);
    assert_eq!(Target::parse_list("frame,xlsx").unwrap(), vec![Target::Frame, Target::Xlsx]);
    assert!(Target::parse_list("nope").is_err());
}

#[test]
fn a_replayed_valid_sample_does_not_panic() {
    let org = "乡镇,学校,类型\n鸦岭,\"鸦岭小学,东校区\",小学\n";
    assert_eq!(fuzz::replay(Target::Org, org.as_bytes()), None);
    assert_eq!(fuzz::replay(Target::Roster, b"\xff\xfe\x00garbage"), None);
}
