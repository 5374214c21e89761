//! The county's own column names for imported files: `columns.toml` in the hub's data
//! directory adds aliases to the built-in table (docs/columns.md), so an export from another
//! department's system loads after adding a line, without a new release:
//!
//! ```toml
//! [aliases]
//! "学籍号" = ["考籍号"]
//! "户籍乡镇" = ["户籍地址乡镇"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use baoxue_shared::table::Aliases;
use serde::Deserialize;

/// The file's name in the data directory.
pub const FILE: &str = "columns.toml";

#[derive(Debug, Default, Deserialize)]
struct ColumnsFile {
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
}

/// The built-in aliases plus the county's (none when the file is absent).
pub fn load(root: &Path) -> Result<Aliases> {
    let p = root.join(FILE);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Aliases::builtin()),
        Err(e) => return Err(e).with_context(|| format!("无法读取 {}", p.display())),
    };
    let f: ColumnsFile = toml::from_str(&text).with_context(|| format!("列名别名文件 {} 格式有误", p.display()))?;
    Aliases::with(&f.aliases).with_context(|| format!("列名别名文件 {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_aliases_are_added() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()).unwrap(), Aliases::builtin());
        std::fs::write(d.path().join(FILE), "[aliases]\n\"学籍号\" = [\"考籍号\"]\n").unwrap();
        assert_eq!(load(d.path()).unwrap().canonical("考籍号"), "学籍号");
        std::fs::write(d.path().join(FILE), "[aliases]\n\"姓名\" = [\"学校名称\"]\n").unwrap();
        assert!(load(d.path()).is_err(), "an alias already meaning another column is refused");
    }
}
