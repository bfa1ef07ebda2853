//! Helpers shared by the end-to-end test files: run the `textclf` binary, find the shared
//! data (`../shared/data` beside the repository, or `$TEXTCLF_DATA_DIR`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn data_dir() -> PathBuf {
    match std::env::var_os("TEXTCLF_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

pub fn shared_dir() -> PathBuf {
    data_dir().join("..")
}

pub fn textclf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_textclf"))
        .args(args)
        .output()
        .expect("the textclf binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = textclf(args);
    assert!(
        out.status.success(),
        "textclf {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn fails(args: &[&str]) -> String {
    let out = textclf(args);
    assert!(!out.status.success(), "textclf {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
