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

/// A repository of `(path, text)` files imported by `jcx import` in a temporary directory: the
/// manifest, what import printed, and the directory (the manifest compiled there).
pub struct Imported {
    pub dir: tempfile::TempDir,
    pub manifest: String,
    pub stderr: String,
    pub stdout: String,
}

impl Imported {
    /// The summary line of one file: (mapped, blocks, comments).
    pub fn counts(&self, file: &str) -> (usize, usize, usize) {
        let line = self.summary(file);
        let n = |what: &str| -> usize {
            let before = line.split(what).next().unwrap();
            before
                .rsplit(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
                .unwrap()
                .parse()
                .unwrap()
        };
        (
            n(" mapped to settings"),
            n(" into dockerfile blocks"),
            n(" kept as comments"),
        )
    }

    /// The summary line of one file.
    pub fn summary(&self, file: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{file}:")))
            .unwrap_or_else(|| panic!("no summary for {file}:\n{}", self.stdout))
    }

    /// The manifest without its comment lines.
    pub fn nodes(&self) -> String {
        self.manifest
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Writes the files into a temporary directory, runs `jcx import` there (it must succeed) and
/// `jcx compile --force` (the imported manifest must compile).
pub fn import(files: &[(&str, &str)]) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let r = run(dir.path(), &["import"]);
    assert_eq!(r.code, 0, "import failed: {}", r.stderr);
    let manifest = std::fs::read_to_string(dir.path().join("apps.kdl")).unwrap();
    let c = run(dir.path(), &["compile", "--force"]);
    assert_eq!(
        c.code, 0,
        "the imported manifest does not compile:\n{manifest}\n{}",
        c.stderr
    );
    Imported {
        dir,
        manifest,
        stderr: r.stderr,
        stdout: r.stdout,
    }
}
