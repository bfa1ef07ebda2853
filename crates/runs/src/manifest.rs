//! `manifest.json`: the size and checksum of every file of a saved model or checkpoint,
//! and the run it belongs to, written last and verified on load. A file damaged, cut off
//! or replaced after it was saved (another run's weights copied in, a flipped bit) is
//! refused with the file named, instead of being used.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::write_json;
use crate::error::{Result, RunsError};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One file's size and checksum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    /// xxh3-64 of the content, as 16 hex digits.
    pub xxh3: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The fingerprint of the run that wrote the folder, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub files: BTreeMap<String, FileEntry>,
}

impl Manifest {
    pub const FORMAT: u32 = 1;
}

fn checksum(path: &Path) -> Result<FileEntry> {
    let mut f = std::fs::File::open(path).map_err(|e| RunsError::io(path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| RunsError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        bytes,
        xxh3: format!("{:016x}", h.digest()),
    })
}

/// Files a manifest covers: the regular, non-hidden files directly in `dir`.
fn covered(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| RunsError::io(dir, e))? {
        let e = e.map_err(|e| RunsError::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == MANIFEST_FILE || name.starts_with('.') || !e.path().is_file() {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// Writes `<dir>/manifest.json` over the files now in `dir`.
pub fn write_manifest(dir: &Path, run: Option<&str>) -> Result<Manifest> {
    let mut files = BTreeMap::new();
    for name in covered(dir)? {
        files.insert(name.clone(), checksum(&dir.join(&name))?);
    }
    let m = Manifest {
        format: Manifest::FORMAT,
        run: run.map(str::to_string),
        files,
    };
    write_json(&dir.join(MANIFEST_FILE), &m)?;
    Ok(m)
}

/// Checks `dir` against its manifest: `Ok(None)` when there is none (a folder saved before
/// manifests, or by another tool); an error naming the first file that is missing or
/// differs in size or checksum. `what` names the folder in messages ("the checkpoint").
pub fn verify_manifest(dir: &Path, what: &str) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunsError::io(&path, e)),
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|source| RunsError::Json {
        path: path.clone(),
        source,
    })?;
    if m.format > Manifest::FORMAT {
        return Err(RunsError::Invalid(format!(
            "{}: format {} was written by a newer textclf; upgrade textclf",
            path.display(),
            m.format
        )));
    }
    for (name, want) in &m.files {
        let p = dir.join(name);
        if !p.is_file() {
            return Err(RunsError::Invalid(format!(
                "{what} in {} lacks {name}, which its manifest lists: the folder is incomplete; restore it{}",
                dir.display(),
                if what == "the checkpoint" { ", or start the run again with --overwrite" } else { " or save the model again" }
            )));
        }
        let got = checksum(&p)?;
        if &got != want {
            return Err(RunsError::Invalid(format!(
                "{} does not match the manifest {what} was saved with ({}): it was damaged, cut off or replaced after it was saved; restore it{}",
                p.display(),
                if got.bytes != want.bytes {
                    format!("{} bytes instead of {}", got.bytes, want.bytes)
                } else {
                    "same size, different content".to_string()
                },
                if what == "the checkpoint" { ", or start the run again with --overwrite" } else { " or save the model again" }
            )));
        }
    }
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_missing_or_cut_file_is_named_and_an_intact_folder_passes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("model.safetensors"), vec![7u8; 5000]).unwrap();
        std::fs::write(d.join("config.json"), "{}").unwrap();
        std::fs::write(d.join(".hidden"), "x").unwrap();
        assert_eq!(verify_manifest(d, "the model").unwrap(), None);
        let m = write_manifest(d, Some("fp")).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(verify_manifest(d, "the model").unwrap(), Some(m));
        // One flipped bit, same size.
        let mut b = std::fs::read(d.join("model.safetensors")).unwrap();
        b[4000] ^= 1;
        std::fs::write(d.join("model.safetensors"), &b).unwrap();
        let e = verify_manifest(d, "the model").unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors") && e.contains("same size, different content"),
            "{e}"
        );
        std::fs::write(d.join("model.safetensors"), &b[..100]).unwrap();
        let e = verify_manifest(d, "the model").unwrap_err().to_string();
        assert!(e.contains("100 bytes instead of 5000"), "{e}");
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        let e = verify_manifest(d, "the checkpoint")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lacks model.safetensors") && e.contains("--overwrite"),
            "{e}"
        );
        // A manifest of a newer format is refused, whatever the files.
        let m = write_manifest(d, None).unwrap();
        assert_eq!(verify_manifest(d, "the model").unwrap(), Some(m));
        let path = d.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let newer = text.replace(
            &format!("\"format\": {}", Manifest::FORMAT),
            &format!("\"format\": {}", Manifest::FORMAT + 1),
        );
        assert_ne!(newer, text);
        std::fs::write(&path, newer).unwrap();
        let e = verify_manifest(d, "the model").unwrap_err().to_string();
        assert!(
            e.contains(&format!("format {}", Manifest::FORMAT + 1)) && e.contains("newer textclf"),
            "{e}"
        );
    }
}
