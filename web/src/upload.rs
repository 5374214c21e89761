//! A form upload: one file and its text fields read from a multipart body, and the file put
//! where a command that takes a path can read it. Both apps' upload screens use it, so the
//! error lines and the clean-up are the same everywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;

use crate::WebError;

/// What a multipart form carried: the file field `file` and every other field as text.
#[derive(Debug, Default)]
pub struct Upload {
    /// The file's name as the browser gave it (empty when none).
    pub name: String,
    /// The file's bytes (none when the form had no file or an empty one).
    pub bytes: Option<Vec<u8>>,
    fields: BTreeMap<String, String>,
}

fn failed(e: impl std::fmt::Display) -> WebError {
    WebError::BadRequest(format!("上传失败：{e}"))
}

impl Upload {
    /// Reads the whole form; `default_name` names a file the browser sent without one.
    pub async fn read(mut mp: Multipart, default_name: &str) -> Result<Upload, WebError> {
        let mut up = Upload::default();
        while let Some(field) = mp.next_field().await.map_err(failed)? {
            let key = field.name().unwrap_or("").to_string();
            if key == "file" {
                up.name = field.file_name().unwrap_or(default_name).to_string();
                up.bytes = Some(field.bytes().await.map_err(failed)?.to_vec());
            } else {
                let text = field.text().await.map_err(failed)?;
                up.fields.insert(key, text);
            }
        }
        Ok(up)
    }

    /// A text field, trimmed (empty when absent).
    pub fn text(&self, key: &str) -> &str {
        self.fields.get(key).map(|s| s.trim()).unwrap_or("")
    }

    /// Whether a field (a checkbox) was sent.
    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The file's bytes, or `missing` as the one line the user sees.
    pub fn file(&self, missing: &str) -> Result<&[u8], WebError> {
        self.bytes.as_deref().filter(|b| !b.is_empty()).ok_or_else(|| WebError::BadRequest(missing.into()))
    }

    /// The file's extension among `known` (lower case), else `fallback`.
    pub fn extension<'a>(&self, known: &[&'a str], fallback: &'a str) -> &'a str {
        let lower = self.name.to_lowercase();
        known.iter().copied().find(|e| lower.ends_with(&format!(".{e}"))).unwrap_or(fallback)
    }
}

/// An uploaded file written under a private directory for a command that reads a path; removed
/// when dropped. Messages naming its path are shown with the user's file name instead.
pub struct TempFile {
    path: PathBuf,
    shown: String,
}

impl TempFile {
    /// Writes `bytes` as `<dir>/<random>.<ext>`; `shown` is the name the user knows it by.
    pub fn write(dir: &Path, ext: &str, bytes: &[u8], shown: &str) -> Result<TempFile, WebError> {
        let internal = |e: std::io::Error| WebError::Internal(e.to_string());
        std::fs::create_dir_all(dir).map_err(internal)?;
        let path = dir.join(format!("{:016x}.{ext}", rand::random::<u64>()));
        std::fs::write(&path, bytes).map_err(internal)?;
        Ok(TempFile { path, shown: shown.to_string() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `text` with this file's path replaced by the user's name for it.
    pub fn shown(&self, text: &str) -> String {
        text.replace(&self.path.display().to_string(), &self.shown)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
