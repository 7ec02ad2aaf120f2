//! Shared by the end-to-end tests: which jcx binary they run, and running it.
// Each test crate includes this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The binary under test: `$JCX_BIN` when set (scripts/wheel-test runs the end-to-end tests
/// against the jcx that the Python wheel installed), otherwise the one cargo built.
pub fn jcx_bin() -> PathBuf {
    match std::env::var_os("JCX_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => assert_cmd::cargo::cargo_bin("jcx"),
    }
}

/// What a run of jcx gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs jcx in `dir` without colours, its diagnostics wrapped at 100 columns.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_wide(dir, args, 100)
}

/// [`run`], with diagnostics wrapped at `columns`.
pub fn run_wide(dir: &Path, args: &[&str], columns: u32) -> Run {
    let out = std::process::Command::new(jcx_bin())
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", columns.to_string())
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
