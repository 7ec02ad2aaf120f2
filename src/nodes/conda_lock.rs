//! Explicit conda lock files of the repository: `mamba lock="conda-linux-64.lock"`. The file
//! `conda-lock` (`--kind explicit`) or `conda list --explicit --md5` writes: `@EXPLICIT`, then one
//! package URL per line with its checksum. conda installs exactly those files, without solving,
//! and checks each against its checksum.

use std::collections::BTreeSet;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::check::Checker;
use super::raw::Sp;
use super::reqfile::FileCheck;
use crate::error::{Code, Problem};

/// A lock file as read; every span points into it.
#[derive(Debug)]
pub struct LockFile {
    pub source: Arc<NamedSource<String>>,
    /// The conda platforms (`subdir`s) of its packages other than `noarch`: `linux-64`,
    /// `linux-aarch64`.
    pub subdirs: BTreeSet<String>,
    /// Where the first package of each platform is, for messages.
    pub first_of: Vec<(String, SourceSpan)>,
    /// Package lines, read or refused.
    pub packages: usize,
    pub problems: Vec<Problem>,
}

/// The conda platform of each Docker architecture jcx builds.
pub const SUBDIRS: [(&str, &str); 2] = [("amd64", "linux-64"), ("arm64", "linux-aarch64")];

pub fn read(path: &str, text: &str) -> LockFile {
    let mut fc = FileCheck::new(path, text);
    let mut lock = LockFile {
        source: Arc::clone(&fc.source),
        subdirs: BTreeSet::new(),
        first_of: Vec::new(),
        packages: 0,
        problems: Vec::new(),
    };
    if fc.printable(&format!("`{path}`")) {
        lines(&mut fc, &mut lock, path, text);
    }
    lock.problems = fc.problems;
    lock
}

fn lines(fc: &mut FileCheck<'_>, lock: &mut LockFile, path: &str, text: &str) {
    let mut explicit = false;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let at = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start().len();
        let t = line.trim();
        let span = SourceSpan::from((at + lead, t.len()));
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !explicit {
            if t == "@EXPLICIT" {
                explicit = true;
                continue;
            }
            fc.push(not_explicit(path, span, t));
            return;
        }
        if let Err(p) = package(lock, t, span) {
            fc.push(*p);
        }
    }
    if !explicit {
        fc.push(not_explicit(path, SourceSpan::from((0, 0)), ""));
    } else if lock.packages == 0 {
        fc.push(
            Problem::error(
                Code::InvalidPackageFile,
                SourceSpan::from((0, 0)),
                format!("`{path}` lists no package"),
            )
            .label("empty")
            .help("write the lock again with `conda-lock --kind explicit`"),
        );
    }
}

fn not_explicit(path: &str, span: SourceSpan, line: &str) -> Problem {
    let help = if line.starts_with("version:")
        || line.starts_with("metadata:")
        || line.starts_with("package:")
    {
        "this is conda-lock's unified `conda-lock.yml`: render an explicit lock from it with `conda-lock render --kind explicit --platform linux-64` and name that file"
    } else if line.starts_with("name:")
        || line.starts_with("channels:")
        || line.starts_with("dependencies:")
    {
        "this is an environment file: name it with `mamba environment=\"…\"`"
    } else {
        "an explicit lock starts with `@EXPLICIT` (what `conda-lock --kind explicit` and `conda list --explicit --md5` write); for a list of conda specs, write them in `mamba`"
    };
    Problem::error(
        Code::InvalidPackageFile,
        span,
        format!("`{path}` is not an explicit conda lock file"),
    )
    .label("expected `@EXPLICIT`")
    .help(help)
}

/// One package line: `https://HOST/…/SUBDIR/NAME-VERSION-BUILD.conda#CHECKSUM`.
fn package(lock: &mut LockFile, t: &str, span: SourceSpan) -> Result<(), Box<Problem>> {
    lock.packages += 1;
    let refuse = |message: String, help: &str| {
        Box::new(
            Problem::error(Code::InvalidPackageFile, span, message)
                .label("package")
                .help(help.to_string()),
        )
    };
    let (url, hash) = t.split_once('#').unwrap_or((t, ""));
    let md5 = hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let sha = hash
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !(md5 || sha) {
        return Err(refuse(
            format!("`{}` has no checksum", short(url)),
            "each package needs its checksum after `#` (an md5, or `sha256:…`), which conda checks: `conda-lock` writes them, and so does `conda list --explicit --md5`",
        ));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(refuse(
            format!("`{}` is not an https URL", short(url)),
            "conda fetches the packages from these URLs during the build: only `https://` URLs (`file://` and local paths do not exist there)",
        ));
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/%+:".contains(c);
    let host = rest.split('/').next().unwrap_or_default();
    if host.contains('@') || !rest.chars().all(plain) {
        return Err(refuse(
            format!("`{}` is not a plain package URL", short(url)),
            "write `https://host/channel/subdir/package.conda#md5`, without credentials, spaces or quotes",
        ));
    }
    let mut parts = rest.rsplit('/');
    let file = parts.next().unwrap_or_default();
    let subdir = parts.next().unwrap_or_default();
    if !(file.ends_with(".conda") || file.ends_with(".tar.bz2")) {
        return Err(refuse(
            format!("`{}` is not a conda package", short(url)),
            "conda packages end in `.conda` or `.tar.bz2`",
        ));
    }
    match subdir {
        "noarch" => {}
        s if SUBDIRS.iter().any(|(_, d)| *d == s) => {
            if lock.subdirs.insert(s.to_string()) {
                lock.first_of.push((s.to_string(), span));
            }
        }
        s => {
            return Err(refuse(
                format!("`{file}` is a package for `{s}`, not for Linux"),
                "a Jupyter image is Linux: lock for `linux-64` (and `linux-aarch64` in a file of its own) with `conda-lock --platform linux-64`",
            ));
        }
    }
    Ok(())
}

fn short(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Checks the lock file a `mamba lock=` names: its path (at the node) and its content (in the
/// file). Read once per path.
pub(super) fn check(cx: &mut Checker<'_>, src: &Sp<String>) -> Option<Arc<LockFile>> {
    let file =
        super::files::cached_package_file(cx, src, "conda lock file", |c| &mut c.locks, read)?;
    for p in &file.problems {
        cx.push(p.clone());
    }
    Some(file)
}

/// A lock file is for one platform: each platform the app builds needs its packages, and the
/// file holds no other platform's.
pub(super) fn check_platforms(
    cx: &mut Checker<'_>,
    src: &Sp<String>,
    file: &LockFile,
    platforms: &[String],
    app: &str,
) {
    let archs: Vec<&str> = platforms
        .iter()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .collect();
    if archs.len() > 1 && !file.subdirs.is_empty() {
        cx.push(
            Problem::error(
                Code::InvalidPackageFile,
                src.span,
                format!("app `{app}` builds for {}, and a conda lock file is for one platform", platforms.join(" and ")),
            )
            .label("lock file")
            .help("build this app for one platform (`platforms \"linux/amd64\"`), or use `mamba environment=\"environment.yml\"`, which conda solves for each platform"),
        );
        return;
    }
    for (subdir, span) in &file.first_of {
        let arch = SUBDIRS.iter().find(|(_, d)| d == subdir).map(|(a, _)| *a);
        if arch.is_some_and(|a| !archs.contains(&a)) {
            cx.push(
                Problem::error(
                    Code::InvalidPackageFile,
                    *span,
                    format!("`{}` holds packages for `{subdir}`, and app `{app}` builds for {}", src.v, platforms.join(", ")),
                )
                .label(subdir.clone())
                .help("lock for the app's platform (`conda-lock --platform linux-64` for linux/amd64, `linux-aarch64` for linux/arm64)")
                .in_file(&file.source),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "0123456789abcdef0123456789abcdef";

    fn problems(text: &str) -> Vec<String> {
        read("conda-linux-64.lock", text)
            .problems
            .iter()
            .map(|p| p.message.clone())
            .collect()
    }

    #[test]
    fn reads_explicit_locks() {
        let text = format!(
            "# Generated by conda-lock.\n# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda#{MD5}\nhttps://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2#{MD5}\n"
        );
        let lock = read("conda-linux-64.lock", &text);
        assert!(lock.problems.is_empty(), "{:?}", lock.problems);
        assert_eq!(lock.packages, 2);
        assert_eq!(lock.subdirs.iter().collect::<Vec<_>>(), vec!["linux-64"]);
    }

    #[test]
    fn refuses_what_conda_would_not_install_exactly() {
        let cases = [
            (
                "name: x\ndependencies:\n  - numpy\n",
                "is not an explicit conda lock file",
            ),
            (
                "version: 1\nmetadata: {}\n",
                "is not an explicit conda lock file",
            ),
            ("@EXPLICIT\n", "lists no package"),
            (
                "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/a-1-0.conda\n",
                "has no checksum",
            ),
            (
                "@EXPLICIT\nhttp://conda.anaconda.org/conda-forge/linux-64/a-1-0.conda#0123456789abcdef0123456789abcdef\n",
                "is not an https URL",
            ),
            (
                "@EXPLICIT\nhttps://u:p@example.org/linux-64/a-1-0.conda#0123456789abcdef0123456789abcdef\n",
                "is not a plain package URL",
            ),
            (
                "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/osx-arm64/a-1-0.conda#0123456789abcdef0123456789abcdef\n",
                "not for Linux",
            ),
            (
                "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/a-1-0.whl#0123456789abcdef0123456789abcdef\n",
                "is not a conda package",
            ),
        ];
        for (text, want) in cases {
            let got = problems(text);
            assert!(got.iter().any(|m| m.contains(want)), "{text:?}: {got:?}");
        }
    }
}
