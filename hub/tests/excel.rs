//! Excel in and out through the `baoxue-hub` binary: `org import` of an .xlsx whose header sits
//! under a title row and uses the national system's names; `census import` of a CSV saved in
//! GB18030 (as Excel and WPS do on a Chinese Windows) with 性别 1/2 and YYYYMMDD dates, and of an
//! .xlsx whose ID number Excel stored as a number (refused on its row, never imported);
//! `report township-table --format xlsx` read back with calamine: the 001 附件1 layout, counts
//! as numbers, no formula anywhere — even for a school named like a formula.

use std::path::Path;
use std::process::{Command, Stdio};

use baoxue_shared::ids::make_id;
use baoxue_shared::Date;
use baoxue_sheet::read::{formula_cells, read, In};
use baoxue_sheet::{Book, Cell, Column};

fn hub(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-hub"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("BAOXUE_OPERATOR", "县教育局基教股")
        .env_remove("BAOXUE_DATA")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(data: &Path, args: &[&str]) -> String {
    let (code, out, err) = hub(data, args);
    assert_eq!(code, 0, "baoxue-hub {args:?}\nstdout: {out}\nstderr: {err}");
    out + &err
}

fn xlsx(columns: &[&str], rows: Vec<Vec<Cell>>) -> Vec<u8> {
    baoxue_sheet::write::xlsx(&Book {
        title: "学校名单".into(),
        columns: columns.iter().map(|c| Column::text(*c)).collect(),
        rows,
        ..Book::default()
    })
    .unwrap()
}

#[test]
fn excel_in_and_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    ok(&data, &["init", "--county-code", "410329", "--name", "伊川县", "--policy", "yichuan"]);

    // Org from .xlsx: a title row, a date row, then a header with the aliases 乡镇名称/学校名称/学校类型.
    let school = "=HYPERLINK(\"http://x\")小学";
    let org = xlsx(
        &["乡镇名称", "学校名称", "学校类型"],
        vec![vec!["鸦岭".into(), "鸦岭小学".into(), "小学".into()], vec!["白沙".into(), school.into(), "小学".into()]],
    );
    let org_path = tmp.path().join("org.xlsx");
    std::fs::write(&org_path, org).unwrap();
    let out = ok(&data, &["org", "import", &org_path.to_string_lossy()]);
    assert!(out.contains("2 个乡镇") && out.contains("2 所学校"), "{out}");

    // Census in GB18030 with the national forms: 身份证件号, 性别 2, 出生日期 YYYYMMDD.
    let a = make_id("410329", Date::ymd(2016, 3, 9).0, 124);
    let b = make_id("410329", Date::ymd(2015, 5, 1).0, 131);
    let text = format!(
        "公安户籍比对名单\r\n身份证件号,姓名,性别,出生日期,户口所在地\r\n{},李小红,2,20160309,鸦岭\r\n{},王大明,1,20150501,白沙\r\n",
        a.as_str(),
        b.as_str()
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file really is GBK");
    let census = tmp.path().join("census.csv");
    std::fs::write(&census, &gbk).unwrap();
    let out = ok(&data, &["census", "import", &census.to_string_lossy(), "--source", "police", "--date", "2026-09-20"]);
    assert!(out.contains("GB18030"), "says which encoding was read: {out}");
    assert!(out.contains("立失学案件 2"), "{out}");

    // An .xlsx whose 身份证号 Excel stored as a number: that row is refused with how to fix it.
    let c = make_id("410329", Date::ymd(2016, 7, 1).0, 135);
    let list = xlsx(
        &["身份证号", "姓名", "性别", "出生日期", "户籍乡镇"],
        vec![vec![
            Cell::Number(c.as_str().parse::<f64>().unwrap()),
            "赵小军".into(),
            "男".into(),
            "2016-07-01".into(),
            "鸦岭".into(),
        ]],
    );
    let list_path = tmp.path().join("census.xlsx");
    std::fs::write(&list_path, list).unwrap();
    let out =
        ok(&data, &["census", "import", &list_path.to_string_lossy(), "--source", "civil", "--date", "2026-09-20"]);
    assert!(out.contains("Excel 工作簿"), "{out}");
    assert!(out.contains("第 4 行") && out.contains("4.10329E+17") && out.contains("文本"), "{out}");
    assert!(out.contains("立失学案件 0"), "nothing imported under a wrong number: {out}");

    // The township table as .xlsx: 001 附件1's layout, numbers as numbers, no formula.
    let xlsx_path = tmp.path().join("乡镇统计表.xlsx");
    let out = ok(
        &data,
        &[
            "report",
            "township-table",
            "--format",
            "xlsx",
            "--as-of",
            "2026-09-30",
            "--out",
            &xlsx_path.to_string_lossy(),
        ],
    );
    assert!(out.contains("已写入"), "{out}");
    let bytes = std::fs::read(&xlsx_path).unwrap();
    assert!(formula_cells(&bytes).unwrap().is_empty(), "no formula in the file");
    let g = read(&bytes).unwrap();
    let cell = |r: usize, c: usize| g.rows[r].cells.get(c).cloned().unwrap_or(In::Empty);
    assert_eq!(cell(0, 0), In::Text("伊川县各乡镇辍学学生未返校情况统计表".into()));
    assert_eq!(cell(1, 0), In::Text("统计日期".into()));
    assert_eq!(cell(1, 1), In::Text("2026-09-30".into()));
    let header: Vec<String> = g.rows[2].cells.iter().map(In::text).collect();
    assert_eq!(
        header,
        ["序号", "单位", "在籍辍学未返校人数", "疑似失学儿童名单未返校人数", "其他部门比对未返校人数", "合计"]
    );
    let row_of = |name: &str| g.rows.iter().position(|r| r.cells.get(1) == Some(&In::Text(name.into()))).unwrap();
    let y = row_of("鸦岭");
    assert_eq!(cell(y, 0), In::Float((y - 2) as f64), "序号 counts the rows under the header");
    assert_eq!((cell(y, 4), cell(y, 5)), (In::Float(1.0), In::Float(1.0)), "李小红: one census case");
    let total = g.rows.iter().position(|r| r.cells.first() == Some(&In::Text("合计".into()))).unwrap();
    assert_eq!(cell(total, 5), In::Float(2.0));
    let footer = g.rows.last().unwrap();
    assert!(footer.cells[0].text().starts_with("填报单位（盖章）"), "{footer:?}");

    // A report naming the formula-like school keeps it as text in CSV and .xlsx.
    let csv = ok(&data, &["report", "dropout", "--format", "csv", "--as-of", "2026-09-30"]);
    assert!(csv.contains(&format!("\"'{}\"", school.replace('"', "\"\""))), "{csv}");
    let dropout = tmp.path().join("dropout.xlsx");
    ok(&data, &["report", "dropout", "--format", "xlsx", "--as-of", "2026-09-30", "--out", &dropout.to_string_lossy()]);
    let bytes = std::fs::read(&dropout).unwrap();
    assert!(formula_cells(&bytes).unwrap().is_empty());
    let g = read(&bytes).unwrap();
    assert!(g.rows.iter().any(|r| r.cells.get(1) == Some(&In::Text(school.into()))), "the name as text");
}
