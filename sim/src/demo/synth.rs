//! A synthetic county shaped like 伊川 (001 附件1): its townships, schools, responsible people
//! and rolls. Deterministic for a seed; used by the demo and the nightly benchmark.

use std::collections::{BTreeMap, HashSet};

use baoxue_shared::dates::{Date, SchoolYear};
use baoxue_shared::ids::{make_id, IdNumber, StudentNo};
use baoxue_shared::model::{Placement, SchoolType, Sex, SpecialGroup, Status};
use baoxue_shared::org::{Org, School, Township};
use baoxue_shared::revision::StudentInit;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// 伊川's fifteen townships, in the order of its 2019 table.
pub const YICHUAN_TOWNSHIPS: [&str; 15] = [
    "城关", "河滨", "鸦岭", "高山", "平等", "鸣皋", "酒后", "葛寨", "白元", "水寨", "白沙", "半坡", "江左", "吕店",
    "彭婆",
];

/// 伊川县's administrative area code.
pub const AREA: &str = "410329";
/// Neighbouring counties' codes, for children whose 户籍 is elsewhere (随迁子女).
const OTHER_AREAS: [&str; 4] = ["410381", "410322", "410327", "411122"];

const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾",
    "彭", "吕",
];
const GIVEN_BOY: [&str; 30] = [
    "浩", "宇", "轩", "博", "俊", "杰", "明", "辉", "鹏", "强", "磊", "涛", "晨", "阳", "子", "一", "文", "泽", "然",
    "凯", "豪", "瑞", "航", "奕", "嘉", "铭", "睿", "鑫", "诚", "伟",
];
const GIVEN_GIRL: [&str; 30] = [
    "欣", "怡", "涵", "萱", "琪", "雨", "思", "佳", "梓", "诺", "婷", "静", "悦", "彤", "妍", "颖", "蕾", "娜", "洁",
    "雪", "梦", "瑶", "晴", "可", "心", "语", "馨", "月", "嘉", "一",
];
const ADULT_GIVEN: [&str; 24] = [
    "建国", "建军", "国强", "志刚", "卫东", "红梅", "秀英", "丽华", "海燕", "春生", "满仓", "振华", "玉兰", "桂芳",
    "晓东", "学军", "新民", "爱民", "保国", "金凤", "宏伟", "永强", "艳红", "少华",
];
const VILLAGE_PARTS_A: [&str; 16] =
    ["东", "西", "南", "北", "上", "下", "王", "李", "张", "刘", "杨", "马", "槐", "柳", "石", "沙"];
const VILLAGE_PARTS_B: [&str; 12] = ["庄", "沟", "岭", "坡", "河", "寨", "店", "营", "屯", "湾", "窑", "洼"];

/// The synthetic county: its org and the villages of each township.
#[derive(Debug, Clone)]
pub struct County {
    pub org: Org,
    pub villages: BTreeMap<String, Vec<String>>,
    /// Township name → its schools with their share of the township's pupils, by stage.
    pub plan: BTreeMap<String, TownshipPlan>,
}

#[derive(Debug, Clone, Default)]
pub struct TownshipPlan {
    /// (school, weight) for grades 1–3, 4–6 and 7–9.
    pub lower: Vec<(String, u32)>,
    pub upper: Vec<(String, u32)>,
    pub junior: Vec<(String, u32)>,
}

pub fn person(rng: &mut StdRng) -> String {
    format!("{}{}", SURNAMES.choose(rng).unwrap(), ADULT_GIVEN.choose(rng).unwrap())
}

pub fn child_name(rng: &mut StdRng, sex: Sex) -> String {
    let pool: &[&str] = if sex == Sex::Male { &GIVEN_BOY } else { &GIVEN_GIRL };
    let mut s = SURNAMES.choose(rng).unwrap().to_string();
    s.push_str(pool.choose(rng).unwrap());
    if rng.gen_bool(0.7) {
        s.push_str(pool.choose(rng).unwrap());
    }
    s
}

/// Townships (伊川's, repeated with a suffix past 15), schools and responsible people.
pub fn county(n_townships: usize, rng: &mut StdRng) -> County {
    let mut org = Org::default();
    let mut villages = BTreeMap::new();
    let mut plan = BTreeMap::new();
    let leaders: Vec<String> = (0..6).map(|_| person(rng)).collect();
    for i in 0..n_townships.max(1) {
        let base = YICHUAN_TOWNSHIPS[i % YICHUAN_TOWNSHIPS.len()];
        let t = if i < YICHUAN_TOWNSHIPS.len() {
            base.to_string()
        } else {
            format!("{base}{}", i / YICHUAN_TOWNSHIPS.len() + 1)
        };
        org.townships
            .insert(t.clone(), Township { name: t.clone(), deputy: Some(person(rng)), head: Some(person(rng)) });
        let mut vs: Vec<String> = Vec::new();
        while vs.len() < 8 {
            let v = format!("{}{}村", VILLAGE_PARTS_A.choose(rng).unwrap(), VILLAGE_PARTS_B.choose(rng).unwrap());
            if !vs.contains(&v) {
                vs.push(v);
            }
        }
        let leader = leaders[i % leaders.len()].clone();
        let mut add = |name: String, kind: SchoolType, rng: &mut StdRng| {
            org.schools.insert(
                name.clone(),
                School {
                    name: name.clone(),
                    township: t.clone(),
                    kind,
                    principal: Some(person(rng)),
                    bureau_leader: Some(leader.clone()),
                },
            );
            name
        };
        let mut p = TownshipPlan::default();
        let center = add(format!("{t}中心小学"), SchoolType::Primary, rng);
        p.lower.push((center.clone(), 6));
        p.upper.push((center, 8));
        let n_village = 2 + (i % 3);
        for v in vs.iter().take(n_village) {
            let s = add(format!("{t}{}小学", v.trim_end_matches('村')), SchoolType::Primary, rng);
            p.lower.push((s.clone(), 3));
            p.upper.push((s, 3));
        }
        for v in vs.iter().skip(n_village).take(1 + i % 2) {
            let s = add(format!("{t}{}教学点", v.trim_end_matches('村')), SchoolType::TeachingPoint, rng);
            p.lower.push((s, 1));
        }
        let junior = add(format!("{t}一中"), SchoolType::Junior, rng);
        p.junior.push((junior, 100));
        // A few nine-year schools, as in 伊川's towns: the same share of every grade, so that
        // their own cohorts stay (mostly) their own.
        if i % 5 == 0 {
            let s = add(format!("{t}实验学校"), SchoolType::NineYear, rng);
            let lower: u32 = p.lower.iter().map(|x| x.1).sum();
            let upper: u32 = p.upper.iter().map(|x| x.1).sum();
            p.lower.push((s.clone(), 3));
            p.upper.push((s.clone(), (3 * upper).div_ceil(lower)));
            p.junior.push((s, 100 * 3 / lower));
        }
        villages.insert(t.clone(), vs);
        plan.insert(t, p);
    }
    County { org, villages, plan }
}

fn pick<'a>(rng: &mut StdRng, w: &'a [(String, u32)]) -> &'a str {
    let total: u32 = w.iter().map(|x| x.1).sum();
    let mut r = rng.gen_range(0..total);
    for (s, k) in w {
        if r < *k {
            return s;
        }
        r -= k;
    }
    &w[0].0
}

/// Special groups at plausible rates (留守 common in 伊川's villages, 随迁 in the towns).
fn groups(rng: &mut StdRng, urban: bool, migrant: bool) -> Vec<SpecialGroup> {
    let mut g = Vec::new();
    let mut flag = |p: f64, grp: SpecialGroup, rng: &mut StdRng| {
        if rng.gen_bool(p) {
            g.push(grp);
        }
    };
    flag(if urban { 0.04 } else { 0.18 }, SpecialGroup::LeftBehind, rng);
    flag(0.05, SpecialGroup::RegisteredPoor, rng);
    flag(0.01, SpecialGroup::UnstablePoor, rng);
    flag(0.03, SpecialGroup::LowIncome, rng);
    flag(0.04, SpecialGroup::SingleParent, rng);
    flag(0.005, SpecialGroup::Disabled, rng);
    flag(0.005, SpecialGroup::ChildOfDisabled, rng);
    flag(0.001, SpecialGroup::Orphan, rng);
    flag(0.002, SpecialGroup::Unsupported, rng);
    flag(0.0005, SpecialGroup::PrisonersChild, rng);
    if migrant {
        g.push(SpecialGroup::Migrant);
    }
    g.sort();
    g.dedup();
    g
}

/// Issues unique ID numbers (one per (birth date, sequence)).
#[derive(Default)]
pub struct IdMint {
    used: HashSet<(NaiveDate, u16, &'static str)>,
}

impl IdMint {
    pub fn mint(&mut self, rng: &mut StdRng, area: &'static str, birth: NaiveDate, sex: Sex) -> IdNumber {
        loop {
            let mut seq: u16 = rng.gen_range(1..999);
            let odd = seq % 2 == 1;
            if odd != (sex == Sex::Male) {
                seq += 1;
            }
            if self.used.insert((birth, seq, area)) {
                return make_id(area, birth, seq);
            }
        }
    }
}

/// A birth date for a pupil of `grade` in school year `y` (age 5 + grade at the reference date,
/// a few one year older).
pub fn birth_for(rng: &mut StdRng, grade: u8, y: SchoolYear) -> Date {
    let age = 5 + i32::from(grade) + i32::from(rng.gen_bool(0.04));
    // Born between (y - age - 1)-09-01 and (y - age)-08-31.
    let start = NaiveDate::from_ymd_opt(y.first_calendar_year() - age - 1, 9, 1).unwrap();
    Date(start + chrono::Duration::days(rng.gen_range(0..365)))
}

/// One pupil of `school` in `grade`.
#[allow(clippy::too_many_arguments)]
pub fn student(
    rng: &mut StdRng,
    mint: &mut IdMint,
    county: &County,
    township: &str,
    school: &str,
    grade: u8,
    class_no: u32,
    y: SchoolYear,
) -> StudentInit {
    let sex = if rng.gen_bool(0.52) { Sex::Male } else { Sex::Female };
    let birth = birth_for(rng, grade, y);
    let urban = matches!(township, "城关" | "河滨");
    let migrant = rng.gen_bool(if urban { 0.08 } else { 0.01 });
    let area = if migrant { OTHER_AREAS.choose(rng).copied().unwrap() } else { AREA };
    let id = mint.mint(rng, area, birth.0, sex);
    let name = child_name(rng, sex);
    let vs = &county.villages[township];
    let (hukou_township, hukou_village) =
        if migrant { (None, None) } else { (Some(township.to_string()), Some(vs.choose(rng).unwrap().clone())) };
    let g = groups(rng, urban, migrant);
    let status = if g.contains(&SpecialGroup::Disabled) && rng.gen_bool(0.3) {
        Status::HomeDelivered
    } else if rng.gen_bool(0.001) {
        Status::Suspended
    } else {
        Status::Enrolled
    };
    let guardian = format!("{}{}", name.chars().next().unwrap(), ADULT_GIVEN.choose(rng).unwrap());
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).expect("a valid ID gives a valid G number"),
        id_number: Some(id),
        name,
        sex,
        birth,
        grade,
        class: Some(format!("{grade}年级{class_no}班")),
        hukou_township,
        hukou_village,
        entry_year: Some((y - i32::from(grade) + 1).first_calendar_year()),
        groups: g,
        guardian: Some(guardian),
        phone: Some(format!("13{:09}", rng.gen_range(0..1_000_000_000u64))),
        placement: Placement { status, school: school.to_string(), transfer: None },
    }
}

/// About `total` pupils spread over the county's townships and grades, by township.
pub fn rolls(rng: &mut StdRng, county: &County, total: usize, y: SchoolYear) -> BTreeMap<String, Vec<StudentInit>> {
    let mut mint = IdMint::default();
    let n_t = county.plan.len().max(1);
    let mut out = BTreeMap::new();
    for (i, (t, p)) in county.plan.iter().enumerate() {
        // Townships differ in size (城关 and the big towns have more pupils).
        let share = total / n_t;
        let n = if n_t > 1 { share * (80 + (i * 37) % 41) / 100 } else { share };
        let per_grade = (n / 9).max(1);
        let mut v = Vec::with_capacity(per_grade * 9);
        for grade in 1..=9u8 {
            let w = match grade {
                1..=3 => &p.lower,
                4..=6 => &p.upper,
                _ => &p.junior,
            };
            for k in 0..per_grade {
                let school = pick(rng, w);
                v.push(student(rng, &mut mint, county, t, school, grade, 1 + (k % 6) as u32, y));
            }
        }
        out.insert(t.clone(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn county_shape_and_valid_rolls() {
        let mut rng = StdRng::seed_from_u64(7);
        let c = county(15, &mut rng);
        assert_eq!(c.org.townships.len(), 15);
        assert!(c.org.schools.values().any(|s| s.kind == SchoolType::NineYear));
        let org2 = Org::parse_csv(c.org.to_csv().as_bytes()).unwrap();
        assert_eq!(org2, c.org);
        let rolls = rolls(&mut rng, &c, 3000, SchoolYear(2025));
        let mut ids = HashSet::new();
        for (t, v) in &rolls {
            for s in v {
                let school = &c.org.schools[&s.placement.school];
                assert_eq!(&school.township, t);
                assert!(school.teaches(s.grade), "{} {}", school.name, s.grade);
                let id = s.id_number.as_ref().unwrap();
                assert!(ids.insert(id.clone()));
                assert_eq!(Date(id.birth().unwrap()), s.birth);
                assert_eq!(id.sex(), s.sex);
                let age = baoxue_shared::dates::age_at_reference(s.birth, SchoolYear(2025));
                assert!((6..=15).contains(&age), "{age}");
            }
        }
        let n: usize = rolls.values().map(Vec::len).sum();
        assert!((2000..=3500).contains(&n), "{n}");
    }
}
