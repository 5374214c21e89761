//! The demo at a small size, end to end, and the county commands it relies on.

use baoxue_sim::demo::{run, DemoOptions};

fn small(keep: Option<&std::path::Path>) -> DemoOptions {
    DemoOptions {
        townships: 3,
        students: 600,
        keep: keep.map(|p| p.to_path_buf()),
        seed: 7,
        policy: None,
        progress: false,
    }
}

/// 18 digits (or 17 and X) standing alone (not part of a longer token or a decimal fraction):
/// a full ID number. A G 学籍号 carries one too, so `G` + 18 is caught as well.
fn full_ids(text: &str) -> Vec<String> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0
                || !(b[i - 1].is_ascii_digit()
                    || b[i - 1] == '.'
                    || (b[i - 1].is_ascii_alphabetic() && b[i - 1] != 'G')))
        {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let mut len = j - i;
            if len == 17 && j < b.len() && (b[j] == 'X' || b[j] == 'x') {
                len += 1;
                j += 1;
            }
            if len == 18 && (j == b.len() || !b[j].is_ascii_alphanumeric()) {
                out.push(b[i..j].iter().collect());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn id_detector_works() {
    assert_eq!(full_ids("a 41032920150309123X b"), vec!["41032920150309123X"]);
    assert_eq!(full_ids("x,G410329201503091234,"), vec!["410329201503091234"]);
    assert!(full_ids("410329********1234 and 12345678901234567, 0.004830917874396135").is_empty());
}

#[test]
fn small_demo_completes_with_consistent_reports() {
    let kept = tempfile::tempdir().unwrap();
    let o = run(&small(Some(&kept.path().join("demo")))).unwrap();
    let ind = &o.indicators;

    // The township table's total is the sum of its rows.
    let t = &ind.township_table;
    let sum = |f: fn(&baoxue_shared::indicators::TownshipRow) -> u64| t.rows.iter().map(f).sum::<u64>();
    assert_eq!(t.total.roll_unreturned, sum(|r| r.roll_unreturned));
    assert_eq!(t.total.suspected_list_unreturned, sum(|r| r.suspected_list_unreturned));
    assert_eq!(t.total.census_unreturned, sum(|r| r.census_unreturned));
    assert_eq!(t.total.total, sum(|r| r.total));
    for r in &t.rows {
        assert_eq!(r.total, r.roll_unreturned + r.suspected_list_unreturned + r.census_unreturned, "{r:?}");
    }
    assert!(t.total.total > 0, "a school year of the demo leaves some children out of school");

    // The ranking names every township once.
    let mut ranked: Vec<&str> = ind.ranking.rows.iter().map(|r| r.township.as_str()).collect();
    ranked.sort();
    assert_eq!(ranked, vec!["城关", "河滨", "鸦岭"]);

    // Rates are never negative; above 100% they are flagged, never capped.
    for c in &ind.consolidation {
        for u in std::iter::once(&c.county).chain(&c.townships).chain(&c.schools) {
            if let Some(r) = u.rate {
                assert!(r >= 0.0, "{u:?}");
                if r > 1.0 {
                    assert_eq!(u.flag.as_deref(), Some("rate_above_100"), "{u:?}");
                }
            }
        }
    }
    assert!(ind.consolidation[0].county.rate.is_some_and(|r| r > 0.8), "{:?}", ind.consolidation[0].county);
    for u in std::iter::once(&ind.dropout.county).chain(&ind.dropout.townships).chain(&ind.dropout.schools) {
        assert!(u.rate.unwrap_or(0.0) >= 0.0, "{u:?}");
    }

    // No full ID number in any report, the alerts or the printout.
    for (name, text) in o.rendered.iter().map(|(n, t)| (n.as_str(), t.as_str())).chain([("printout", o.text.as_str())])
    {
        let ids = full_ids(text);
        assert!(ids.is_empty(), "{name} carries full ID numbers: {ids:?}");
    }

    // The Ministry's list: one mistyped ID found as a suggestion; 失学 cases opened.
    assert_eq!(o.ministry.suggested, 1, "{:?}", o.ministry);
    assert!(o.ministry.matched >= 1 && o.ministry.cases_opened >= 1, "{:?}", o.ministry);

    // Alerts: the data problems the demo plants are found.
    let rules: Vec<&str> = o.alerts.iter().map(|a| a.rule.as_str()).collect();
    assert!(rules.contains(&"duplicate_enrolment"), "{rules:?}");
    assert!(rules.contains(&"unresolved_conflict"), "{rules:?}");
    // The late township's node missed June's report (伊川: the last day of the month), and only it.
    let late = o.late_township.as_deref().expect("a county of three has a late township");
    assert_eq!(late, "鸦岭");
    let missed: Vec<(&str, baoxue_shared::alerts::SubjectKind)> =
        o.alerts.iter().filter(|a| a.rule == "monthly_report").map(|a| (a.township.as_str(), a.subject_kind)).collect();
    assert_eq!(missed, [(late, baoxue_shared::alerts::SubjectKind::Node)], "{missed:?}");
    let a = o.alerts.iter().find(|a| a.rule == "monthly_report").unwrap();
    assert!(a.message.contains("2026-06-30") && a.clause == "001 §三(三)2", "{a:?}");
    assert!(o.text.contains("最紧急的 10 条预警"));

    // The hub archived every month's reports; and the data directories are real (a node per
    // township, set up from its bundle).
    let hub = kept.path().join("demo/hub");
    for d in ["2025-09-30", "2026-03-31", "2026-07-10"] {
        assert!(hub.join("reports").join(d).join("township-table.csv").is_file(), "{d}");
    }
    assert!(kept.path().join("demo/nodes/城关.bundle").is_file());
    // A nightly run per month, the later ones incremental.
    assert!(o.nightly.len() >= 10);
    assert!(
        o.nightly.iter().skip(1).all(|r| !r.refresh.rebuilt),
        "{:?}",
        o.nightly.iter().map(|r| r.refresh).collect::<Vec<_>>()
    );
}

/// `DEMO_TOWNSHIPS=15 DEMO_STUDENTS=60000 cargo test --release -p baoxue-sim --test demo
/// print_demo -- --ignored --nocapture`: the demo's printout, without the binary.
#[test]
#[ignore]
fn print_demo() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
    let o = run(&DemoOptions {
        townships: env("DEMO_TOWNSHIPS", 15),
        students: env("DEMO_STUDENTS", 60_000),
        ..DemoOptions::default()
    })
    .unwrap();
    println!("{}", o.text);
}

mod county {
    use baoxue_hub::county::{County, ReportKind, ReportOptions};
    use baoxue_hub::nightly;
    use baoxue_shared::ids::make_id;
    use baoxue_shared::indicators::CohortStage;
    use baoxue_shared::model::CaseSource;
    use baoxue_shared::org::Org;
    use baoxue_shared::policy::Policy;
    use baoxue_shared::report::Format;
    use baoxue_shared::revision::StudentInit;
    use baoxue_shared::{Change, Date, RecordId, RecordKind, RevId};
    use baoxue_store::Store;

    fn county(dir: &std::path::Path) -> County {
        let org = Org::parse_csv(
            "乡镇,学校,类型\n鸦岭,鸦岭中心小学,小学\n鸦岭,鸦岭一中,初中\n白沙,白沙中心小学,小学\n".as_bytes(),
        )
        .unwrap();
        let store = Store::open(&dir.join("store")).unwrap();
        County::new(store, org, Policy::preset("yichuan").unwrap(), dir, Vec::new())
    }

    fn pupil(name: &str, birth: Date, seq: u16, school: &str, grade: u8) -> StudentInit {
        StudentInit {
            hukou_township: Some("鸦岭".into()),
            entry_year: Some(2025 - i32::from(grade) + 1),
            ..baoxue_shared::testkit::pupil(name, birth, seq, school, grade)
        }
    }

    #[test]
    fn census_with_a_mistyped_id_suggests_and_opens_cases_for_the_unmatched() {
        let dir = tempfile::tempdir().unwrap();
        let c = county(dir.path());
        let a = pupil("张伟", Date::ymd(2016, 3, 9), 123, "鸦岭中心小学", 3);
        let b = pupil("李娜", Date::ymd(2012, 5, 1), 222, "鸦岭一中", 7);
        let (a_id, b_id) = (a.id_number.clone().unwrap(), b.id_number.clone().unwrap());
        let items = [a, b]
            .into_iter()
            .map(|s| (RecordId::created_by(RevId::random()), RecordKind::Student, Change::CreateStudent(Box::new(s))))
            .collect();
        c.store.commit("鸦岭中心校", "t", Date::ymd(2025, 9, 1), items).unwrap();
        // 张伟 with the last digit mistyped; 李娜 exact; a child on no roll; a 17-year-old.
        let mut wrong = a_id.as_str().to_string();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '1' { '2' } else { '1' });
        let missing = make_id("410329", Date::ymd(2014, 7, 7).0, 301);
        let old = make_id("410329", Date::ymd(2008, 1, 1).0, 303);
        let csv = format!(
            "身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n{wrong},张伟,男,2016-03-09,鸦岭,,\n{},李娜,女,2012-05-01,鸦岭,,\n{},王强,男,2014-07-07,白沙,东庄村,留守儿童\n{},赵大,男,2008-01-01,白沙,,\n",
            b_id.as_str(),
            missing.as_str(),
            old.as_str()
        );
        let r = c.import_census(csv.as_bytes(), CaseSource::Ministry, Date::ymd(2026, 3, 16), "县教育局").unwrap();
        let n = r.outcome.counts();
        assert_eq!((n.matched, n.suggested, n.unmatched, n.cases_opened), (1, 1, 2, 1), "{:?}", r.outcome);
        assert_eq!(r.outcome.suggested[0].candidates[0].name, "张伟");
        // The case is the hub's, for the 户籍 township's node, on the Ministry's column.
        assert_eq!(r.opened[0].1, "白沙");
        let case = c.store.record(r.opened[0].0).unwrap().unwrap();
        let rev = c.store.revision(case.id, case.id.creating_revision()).unwrap().unwrap();
        assert_eq!(rev.origin, baoxue_shared::sync::HUB_ORIGIN);
        let (snap, _) = c.snapshot().unwrap();
        let table = c
            .report(
                &snap,
                &ReportOptions {
                    kind: ReportKind::TownshipTable,
                    format: Format::Json,
                    as_of: Date::ymd(2026, 3, 31),
                    stage: CohortStage::NineYear,
                    school_year: None,
                },
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&table).unwrap();
        assert_eq!(v["total"]["suspected_list_unreturned"], 1, "{table}");
        // Importing the same list again opens nothing new (the child already has an open case).
        let again = c.import_census(csv.as_bytes(), CaseSource::Ministry, Date::ymd(2026, 3, 17), "县教育局").unwrap();
        assert_eq!(again.opened.len(), 0);
    }

    #[test]
    fn nightly_archives_dated_reports_and_folds_in_only_what_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let c = county(dir.path());
        let s = pupil("张伟", Date::ymd(2016, 3, 9), 123, "鸦岭中心小学", 3);
        c.store
            .commit(
                "鸦岭中心校",
                "t",
                Date::ymd(2025, 9, 1),
                vec![(RecordId::created_by(RevId::random()), RecordKind::Student, Change::CreateStudent(Box::new(s)))],
            )
            .unwrap();
        let first = nightly::run(&c, Date::ymd(2025, 9, 30)).unwrap();
        assert!(first.refresh.rebuilt);
        let day = dir.path().join("reports").join("2025-09-30");
        for f in [
            "consolidation.json",
            "consolidation.csv",
            "consolidation.md",
            "dropout.csv",
            "township-table.csv",
            "township-table.md",
            "ranking.json",
            "ranking.md",
            "alerts.json",
            "summary.json",
        ] {
            assert!(day.join(f).is_file(), "{f} missing");
        }
        // Archives are sealed with the data key (they name children); read back with it.
        let raw = std::fs::read(day.join("township-table.csv")).unwrap();
        assert!(!raw.starts_with(&[0xEF, 0xBB, 0xBF]), "sealed at rest");
        let csv = c.store.key().unwrap().read_file(&day.join("township-table.csv")).unwrap();
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "CSV opens in Excel: UTF-8 with BOM");
        // Nothing new: the next run reads nothing from the log.
        let second = nightly::run(&c, Date::ymd(2025, 10, 1)).unwrap();
        assert!(!second.refresh.rebuilt);
        assert_eq!(second.refresh.revisions, 0);
        // Once a day at the policy's hour (plus the nodes' window).
        let early = chrono::NaiveDate::from_ymd_opt(2025, 10, 2).unwrap().and_hms_opt(1, 0, 0).unwrap();
        let late = chrono::NaiveDate::from_ymd_opt(2025, 10, 2).unwrap().and_hms_opt(3, 0, 0).unwrap();
        assert_eq!(nightly::due(&c, early).unwrap(), None);
        assert_eq!(nightly::due(&c, late).unwrap(), Some(Date::ymd(2025, 10, 2)));
        // Issue 14: a hub once started with its clock years ahead recorded its last run in the
        // future; the nightly still runs today, and then once a day again.
        nightly::run(&c, Date::ymd(2031, 1, 1)).unwrap();
        assert_eq!(nightly::due(&c, late).unwrap(), Some(Date::ymd(2025, 10, 2)));
        nightly::run(&c, Date::ymd(2025, 10, 2)).unwrap();
        assert_eq!(nightly::due(&c, late).unwrap(), None);
    }
}
