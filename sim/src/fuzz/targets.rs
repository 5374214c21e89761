//! What the fuzzer attacks, each with valid samples to mutate: the sync frames (net's length
//! prefix and `shared::codec`'s messages), the roster, org and census readers (CSV, and .xlsx and
//! .xls through the `sheet` crate), the node bundle and the policy. A target returns normally
//! whatever its input; a panic (an assertion here included) is a finding. Where a parser
//! accepts its input, what it accepted must also survive a round trip (written back, read back,
//! equal), as the configuration files must (issue 14, point 1).

use std::path::Path;

use baoxue_shared::codec;
use baoxue_shared::dates::SchoolYear;
use baoxue_shared::ids::make_id;
use baoxue_shared::org::Org;
use baoxue_shared::policy::Policy;
use baoxue_shared::sync::{
    decode_frame, encode_frame, Bundle, CountyConfig, Cursor, Hello, Message, PullAck, PullBatch, PushAck, PushBatch,
    Rejected, Side, Welcome, BUNDLE_FORMAT,
};
use baoxue_shared::{Date, RecordId, RecordKind, RevId, Revision};
use baoxue_sheet::write::{Book, Cell, Column};
use rand::rngs::StdRng;
use rand::Rng;
use serde::Serialize;

use super::mutate::hostile_text;

/// One target of `fuzz --target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Frame,
    Roster,
    Org,
    Census,
    Xlsx,
    Bundle,
    Policy,
}

impl Target {
    pub const ALL: [Target; 7] =
        [Target::Frame, Target::Roster, Target::Org, Target::Census, Target::Xlsx, Target::Bundle, Target::Policy];

    pub fn name(self) -> &'static str {
        match self {
            Target::Frame => "frame",
            Target::Roster => "roster",
            Target::Org => "org",
            Target::Census => "census",
            Target::Xlsx => "xlsx",
            Target::Bundle => "bundle",
            Target::Policy => "policy",
        }
    }

    /// `frame`, …, or `all`.
    pub fn parse_list(s: &str) -> Result<Vec<Target>, String> {
        if s == "all" {
            return Ok(Target::ALL.to_vec());
        }
        s.split(',')
            .map(|one| {
                Target::ALL.into_iter().find(|t| t.name() == one.trim()).ok_or_else(|| {
                    format!("未知的模糊测试对象：{one}（可选 frame、roster、org、census、xlsx、bundle、policy、all）")
                })
            })
            .collect()
    }
}

/// The test county's org file: two townships, the schools a roster names.
pub const ORG_CSV: &str = "\
乡镇,学校,类型,校长,包校领导,乡镇分管领导,乡镇主要领导
鸦岭,鸦岭中心小学,小学,王校长,李局长,赵副镇长,钱镇长
鸦岭,\"鸦岭小学,东校区\",小学,周校长,李局长,赵副镇长,钱镇长
鸦岭,鸦岭初中,初中,孙校长,李局长,赵副镇长,钱镇长
鸦岭,鸦岭九年制学校,九年一贯制,吴校长,李局长,赵副镇长,钱镇长
白沙,白沙小学,小学,郑校长,冯局长,陈副镇长,褚镇长
白沙,白沙教学点,教学点,,,,
";

const ROSTER_HEADER: &str =
    "学籍号,身份证号,姓名,性别,出生日期,学校,年级,班级,户籍乡镇,户籍村,入学年份,特殊群体,监护人,监护人电话";

/// Valid roster rows of 鸦岭 (as the end-to-end tests make them).
fn roster_rows(n: u32) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| {
            let (school, grade) = match i % 3 {
                0 => ("鸦岭中心小学", 1 + (i % 6) as u8),
                1 => ("鸦岭小学,东校区", 1 + (i % 6) as u8),
                _ => ("鸦岭初中", 7 + (i % 3) as u8),
            };
            let year = 2026 - 6 - i32::from(grade);
            let birth = Date::ymd(year, 1 + i % 12, 1 + i % 28);
            let id = make_id("410329", birth.0, (i % 1000) as u16);
            let odd = (id.as_str().as_bytes()[16] - b'0') % 2 == 1;
            vec![
                format!("G{}", id.as_str()),
                id.as_str().to_string(),
                format!("学生{i}"),
                if odd { "男" } else { "女" }.into(),
                birth.to_string(),
                school.into(),
                grade.to_string(),
                format!("{}班", 1 + i % 3),
                "鸦岭".into(),
                "东村".into(),
                (2026 - i32::from(grade) + 1).to_string(),
                if i % 4 == 0 { "留守儿童".into() } else { String::new() },
                format!("学生{i}家长"),
                format!("1390000{:04}", i),
            ]
        })
        .collect()
}

fn csv_of(header: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header.split(','));
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

fn gb18030(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    bytes.into_owned()
}

fn census_rows() -> Vec<Vec<String>> {
    (0..12u32)
        .map(|i| {
            let birth = Date::ymd(2015 + (i % 4) as i32, 1 + i % 12, 1 + i % 28);
            let id = make_id("410329", birth.0, (i % 1000) as u16);
            let odd = (id.as_str().as_bytes()[16] - b'0') % 2 == 1;
            vec![
                if i == 5 { String::new() } else { id.as_str().to_string() },
                format!("儿童{i}"),
                if odd { "男" } else { "女" }.into(),
                birth.to_string(),
                if i % 2 == 0 { "鸦岭" } else { "白沙" }.into(),
                "西村".into(),
                if i % 3 == 0 { "建档立卡" } else { "" }.into(),
            ]
        })
        .collect()
}

const CENSUS_HEADER: &str = "身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体";

/// A workbook of `header` and `rows` (as the one writer makes reports: title rows above).
pub fn workbook(header: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let book = Book {
        title: "学籍名册".into(),
        unit: None,
        as_of: None,
        columns: header.split(',').map(Column::text).collect(),
        rows: rows.iter().map(|r| r.iter().map(|c| Cell::Text(c.clone())).collect()).collect(),
        total: None,
        notes: vec![],
        sheet_name: None,
    };
    baoxue_sheet::write::xlsx(&book).unwrap_or_default()
}

/// A roster workbook with hostile cells put in at random (generated per case).
pub fn hostile_workbook(rng: &mut StdRng) -> Vec<u8> {
    let (header, mut rows) = match rng.gen_range(0..3) {
        0 => (ROSTER_HEADER, roster_rows(rng.gen_range(1..12))),
        1 => (CENSUS_HEADER, census_rows()),
        _ => ("乡镇,学校,类型", vec![vec!["鸦岭".into(), "鸦岭中心小学".into(), "小学".into()]]),
    };
    for _ in 0..rng.gen_range(1..6) {
        let r = rng.gen_range(0..rows.len());
        let c = rng.gen_range(0..rows[r].len());
        rows[r][c] = hostile_text(rng);
    }
    workbook(header, &rows)
}

/// The sync messages of a session, as frames with their length prefixes, and some revisions.
fn frame_samples(revisions: &[Revision]) -> Vec<Vec<u8>> {
    let config = CountyConfig {
        version: 3,
        county_code: "410329".into(),
        county_name: "测试县".into(),
        org_csv: ORG_CSV.into(),
        policy_toml: Policy::default_preset().to_toml().unwrap_or_default(),
    };
    let last = revisions.last().map(|r| r.id);
    let msgs = vec![
        Message::Hello(Hello {
            node_epoch: 1,
            node_log_end: revisions.len() as u64,
            pull: Some(Cursor { epoch: 7, pos: 12, last }),
            refetch_own_below: 0,
            node_clock_ms: 1_790_000_000_000,
            config_version: 2,
        }),
        Message::Welcome(Box::new(Welcome {
            node: "鸦岭节点".into(),
            township: "鸦岭".into(),
            hub_epoch: 7,
            hub_log_end: 40,
            push_from: 0,
            push_check: last,
            reset_epoch: false,
            pull_from: 12,
            refetch_own_below: 0,
            hub_clock_ms: 1_790_000_000_000,
            future_bound_ms: 86_400_000,
            config: Some(config),
        })),
        Message::PushBatch(PushBatch { from: 0, up_to: revisions.len() as u64, last, revisions: revisions.to_vec() }),
        Message::PushDone,
        Message::PushAck(PushAck {
            up_to: 3,
            new: 2,
            known: 1,
            rejected: vec![Rejected {
                revision: RevId::random(),
                record: RecordId::created_by(RevId::random()),
                reason: "不属于本乡镇".into(),
            }],
            conflicts: vec![RecordId::created_by(RevId::random())],
        }),
        Message::PullBatch(PullBatch {
            from: 12,
            up_to: 14,
            last,
            revisions: revisions.iter().take(2).cloned().collect(),
            done: true,
        }),
        Message::PullAck(PullAck { up_to: 14 }),
        Message::Bye,
        Message::Error("平台拒绝：证书已吊销".into()),
    ];
    let framed = |m: &Message| {
        let payload = encode_frame(m).unwrap_or_default();
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&payload);
        f
    };
    let mut out: Vec<Vec<u8>> = msgs.iter().map(framed).collect();
    // A whole session in one stream.
    out.push(msgs.iter().flat_map(framed).collect());
    out
}

/// Revisions made by a real store (in a temporary directory, removed at once).
fn make_revisions(tmp: &Path) -> Vec<Revision> {
    let Ok(store) = baoxue_store::Store::open(tmp) else {
        return vec![];
    };
    let mut items = Vec::new();
    for i in 0..4 {
        let id = RecordId::created_by(RevId::random());
        items.push((id, RecordKind::Student, baoxue_shared::Change::CreateStudent(Box::new(crate::bench::student(i)))));
        items.push((
            id,
            RecordKind::Student,
            baoxue_shared::Change::Absence {
                day: Date::ymd(2026, 3, 2),
                kind: baoxue_shared::model::AbsenceKind::Unexcused,
            },
        ));
    }
    store.commit("鸦岭节点", "王老师", Date::ymd(2026, 3, 2), items).unwrap_or_default()
}

fn bundle_sample() -> Bundle {
    Bundle {
        format: BUNDLE_FORMAT.into(),
        node: "鸦岭节点".into(),
        township: "鸦岭".into(),
        county_code: "410329".into(),
        county_name: "测试县".into(),
        hub_addr: "127.0.0.1:7443".into(),
        server_name: "hub.410329.baoxue".into(),
        issued: "2026-09-01".into(),
        config_version: 2,
        ca_cert: "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n".into(),
        node_cert: "-----BEGIN CERTIFICATE-----\nMIIBdDCCARqgAwIBAgIU\n-----END CERTIFICATE-----\n".into(),
        node_key: "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n".into(),
        org_csv: ORG_CSV.into(),
        policy_toml: "[sync]\nhour = 22\n".into(),
        backup_recipient: None,
    }
}

/// The valid samples of every target, made once per run.
pub struct Corpus {
    pub frame: Vec<Vec<u8>>,
    pub roster: Vec<Vec<u8>>,
    pub org: Vec<Vec<u8>>,
    pub census: Vec<Vec<u8>>,
    pub xlsx: Vec<Vec<u8>>,
    pub bundle: Vec<Vec<u8>>,
    pub policy: Vec<Vec<u8>>,
    /// The org the roster reader checks rows against.
    pub org_parsed: Org,
}

impl Corpus {
    pub fn new(tmp: &Path) -> Corpus {
        let revisions = make_revisions(tmp);
        let roster = csv_of(ROSTER_HEADER, &roster_rows(10));
        let census = csv_of(CENSUS_HEADER, &census_rows());
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(&roster);
        let policies: Vec<Vec<u8>> = Policy::preset_names()
            .into_iter()
            .filter_map(|n| Policy::preset(n).ok())
            .filter_map(|p| p.to_toml().ok())
            .map(String::into_bytes)
            .collect();
        let bundle = bundle_sample().to_text().unwrap_or_default().into_bytes();
        let mut xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        xls.extend_from_slice(&[0u8; 504]);
        Corpus {
            frame: frame_samples(&revisions),
            roster: vec![roster.clone(), gb18030(&roster), bom, roster.replace_newlines_with_crlf()],
            org: vec![ORG_CSV.as_bytes().to_vec(), gb18030(ORG_CSV.as_bytes())],
            census: vec![census.clone(), gb18030(&census)],
            xlsx: vec![
                workbook(ROSTER_HEADER, &roster_rows(6)),
                workbook(CENSUS_HEADER, &census_rows()),
                workbook("乡镇,学校,类型", &[vec!["鸦岭".into(), "鸦岭中心小学".into(), "小学".into()]]),
                xls,
            ],
            bundle: vec![bundle],
            policy: policies,
            org_parsed: Org::parse_csv(ORG_CSV.as_bytes()).unwrap_or_default(),
        }
    }

    pub fn samples(&self, t: Target) -> &[Vec<u8>] {
        match t {
            Target::Frame => &self.frame,
            Target::Roster => &self.roster,
            Target::Org => &self.org,
            Target::Census => &self.census,
            Target::Xlsx => &self.xlsx,
            Target::Bundle => &self.bundle,
            Target::Policy => &self.policy,
        }
    }
}

trait Crlf {
    fn replace_newlines_with_crlf(&self) -> Vec<u8>;
}

impl Crlf for Vec<u8> {
    fn replace_newlines_with_crlf(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() + 16);
        for b in self {
            if *b == b'\n' {
                out.push(b'\r');
            }
            out.push(*b);
        }
        out
    }
}

/// Runs one input through a target. Returns normally whatever the input; panics on a finding.
pub fn run(t: Target, corpus: &Corpus, input: &[u8]) {
    match t {
        Target::Frame => frames(input),
        Target::Roster => roster(corpus, input),
        Target::Org => org(input),
        Target::Census => {
            let _ = baoxue_shared::census::parse_census(input);
        }
        Target::Xlsx => {
            let _ = baoxue_sheet::read::read(input);
            roster(corpus, input);
            org(input);
            let _ = baoxue_shared::census::parse_census(input);
        }
        Target::Bundle => bundle(input),
        Target::Policy => policy(input),
    }
}

/// A stream of frames as the hub and the node read it: length prefix (net), then the message
/// (shared::codec); anything decoded must encode back to the same bytes.
fn frames(input: &[u8]) {
    let mut rest = input;
    while rest.len() >= 4 {
        let header = [rest[0], rest[1], rest[2], rest[3]];
        let Ok(len) = baoxue_net::frame::frame_len(header) else {
            return;
        };
        rest = &rest[4..];
        let payload = &rest[..len.min(rest.len())];
        rest = &rest[payload.len()..];
        for side in [Side::Hub, Side::Node] {
            if let Ok(msg) = decode_frame(payload, side) {
                if !matches!(msg, Message::Error(_)) {
                    let again = encode_frame(&msg).expect("a decoded message encodes");
                    let back = decode_frame(&again, side).expect("a message decodes from its own encoding");
                    assert_eq!(back, msg, "a frame changed in a round trip");
                }
            }
        }
        if let Ok(r) = codec::decode::<Revision>(payload) {
            let again = codec::encode(&r).expect("a decoded revision encodes");
            assert_eq!(codec::decode::<Revision>(&again).expect("decodes again"), r);
        }
    }
    let _ = decode_frame(rest, Side::Hub);
}

fn roster(corpus: &Corpus, input: &[u8]) {
    let ctx = baoxue_shared::roster::Context {
        org: &corpus.org_parsed,
        township: Some("鸦岭"),
        school_year: SchoolYear(2026),
    };
    let _ = baoxue_shared::roster::check(input, &ctx);
}

/// An org file it accepts must round-trip (a quoted comma once bricked the hub).
fn org(input: &[u8]) {
    if let Ok(org) = Org::parse_csv(input) {
        let text = org.to_csv();
        let back = Org::parse_csv(text.as_bytes())
            .unwrap_or_else(|e| panic!("an accepted org file no longer reads once written back: {e}"));
        assert_eq!(back, org, "an org file changed in a round trip");
    }
}

/// A bundle it accepts must round-trip.
fn bundle(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(b) = Bundle::parse(&text) {
        let again = b.to_text().unwrap_or_else(|e| panic!("an accepted bundle cannot be written: {e}"));
        let back = Bundle::parse(&again).unwrap_or_else(|e| panic!("an accepted bundle no longer reads: {e}"));
        assert_eq!(back, b, "a bundle changed in a round trip");
    }
}

/// A policy it accepts must round-trip: the text it is written as reads back to a policy
/// that is written as the same text. (Not the same value: `to_toml` writes the built-in holiday
/// table inline under the policy's own years, which counts the same days.)
fn policy(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(p) = Policy::from_toml_str(&text) {
        let again = p.to_toml().unwrap_or_else(|e| panic!("an accepted policy cannot be written: {e}"));
        let back = Policy::from_toml_str(&again).unwrap_or_else(|e| panic!("an accepted policy no longer reads: {e}"));
        let third = back.to_toml().unwrap_or_else(|e| panic!("a policy read back cannot be written: {e}"));
        assert!(third == again, "a policy changed in a round trip");
        let fourth = Policy::from_toml_str(&third).unwrap_or_else(|e| panic!("a policy no longer reads: {e}"));
        assert!(fourth == back, "a policy changed in a second round trip");
    }
}
