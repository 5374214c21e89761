//! `backup --out FILE [--recipient age1…]` and `restore FILE --identity FILE`: the node's store
//! as an archive encrypted to the county's backup public key (age), restorable by the bureau
//! with its offline identity into a new directory under a new key; the restored store has a new
//! epoch, so the hub resyncs with it (what the node had not yet pushed when the backup was
//! taken, and everything since, comes back from the hub or is pushed again).

use std::path::Path;

use baoxue_store::backup::{parse_recipient, read_backup, write_backup, BackupHeader};
use baoxue_store::StoreOptions;

use crate::cmd::init::{ensure_fresh, key_notice};
use crate::config::{NodeConfig, META_CONFIG};
use crate::error::{invalid, NodeError, Result};
use crate::ledger::Ledger;
use crate::output::Output;

/// Meta key of the county's backup public key, remembered from the first `--recipient`.
pub const META_BACKUP_RECIPIENT: &str = "backup_recipient";
/// Environment variable that may give the recipient instead.
pub const ENV_RECIPIENT: &str = "BAOXUE_BACKUP_RECIPIENT";

pub fn backup(dir: &Path, out: &Path, recipient: Option<&str>) -> Result<Output> {
    let ledger = Ledger::open(dir)?;
    let given = recipient.map(str::to_string).or_else(|| std::env::var(ENV_RECIPIENT).ok().filter(|s| !s.is_empty()));
    let recipient = match given {
        Some(r) => {
            parse_recipient(&r)?;
            ledger.store.put_meta(META_BACKUP_RECIPIENT, &r.trim().to_string())?;
            ledger.store.flush()?;
            r.trim().to_string()
        }
        None => ledger.store.get_meta::<String>(META_BACKUP_RECIPIENT)?.ok_or_else(|| {
            invalid(
                "没有县级备份公钥：请用 --recipient age1… 指定（县教育局执行 baoxue-hub backup-key 可查看），之后会记住"
                    .to_string(),
            )
        })?,
    };
    let header = BackupHeader {
        kind: "node".into(),
        created: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        epoch: ledger.store.epoch()?,
    };
    // The school app's audit log, in clear inside the archive (the archive is encrypted to the
    // county's key; a restore seals it again under the new machine's key).
    let mut files = Vec::new();
    let audit = crate::web::audit_path(dir);
    if let (true, Some(s)) = (audit.is_file(), crate::web::audit_sealer(&ledger.store)) {
        let bytes =
            std::fs::read(&audit).map_err(|source| NodeError::Read { path: audit.display().to_string(), source })?;
        files.push((crate::web::AUDIT_FILE.to_string(), s.open_log(&bytes)));
    }
    let n = write_backup(&ledger.store, &header, &files, &recipient, out)?;
    Ok(format!(
        "已备份节点 {}（{}）：{} 条修订，写入 {}（已用县级备份公钥加密，仅县教育局的备份私钥可以恢复）\n",
        ledger.config.origin,
        ledger.config.township,
        n.revisions,
        out.display()
    )
    .into())
}

pub fn restore(dir: &Path, file: &Path, identity: &Path) -> Result<Output> {
    ensure_fresh(dir)?;
    let id = std::fs::read_to_string(identity)
        .map_err(|source| NodeError::Read { path: identity.display().to_string(), source })?;
    let r = read_backup(file, &id, dir, StoreOptions::default(), None)?;
    if r.header.kind != "node" {
        return Err(invalid(format!("{} 是县级平台的备份，不是节点的", file.display())));
    }
    let cfg: NodeConfig =
        r.store.get_meta(META_CONFIG)?.ok_or_else(|| invalid(format!("{} 中没有节点配置", file.display())))?;
    // A restored store is a new incarnation of the node: the hub accepts it once and from then on
    // refuses a machine still running on the old epoch (克隆身份).
    crate::sync::start_new_incarnation(&r.store)?;
    for (name, clear) in &r.files {
        if name == crate::web::AUDIT_FILE {
            let path = crate::web::audit_path(dir);
            let sealed = match crate::web::audit_sealer(&r.store) {
                Some(s) => s.seal_log(clear),
                None => clear.clone(),
            };
            let write = || -> std::io::Result<()> {
                baoxue_store::crypt::create_private_dir(path.parent().unwrap_or(dir))?;
                baoxue_store::crypt::write_private(&path, &sealed)
            };
            write().map_err(|e| invalid(format!("无法写入 {}：{e}", path.display())))?;
        }
    }
    let mut out: Output = format!(
        "已恢复节点 {}（{}）到 {}：{} 条修订（备份于 {}）\n下次同步时与县级平台重新核对：备份之后的记录从平台取回，节点未上报的记录若不在备份中则已丢失\n",
        cfg.origin,
        cfg.township,
        dir.display(),
        r.count.revisions,
        r.header.created
    )
    .into();
    key_notice(&r.store, &mut out);
    Ok(out)
}
