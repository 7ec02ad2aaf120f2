//! Python packages of the images repository: `pip package="packages/tools" extras="plots"`. A
//! directory of the repository that holds `pyproject.toml` or `setup.py` is copied into the
//! build (allowlisted, in the `paths` filter, like a `file` directory) and installed with
//! `pip install` after the app's requirements, in a step of its own. Never editable: the copy
//! is removed after the install, and the image has no checkout to edit.

use std::path::Path;

use miette::SourceSpan;

use super::check::Checker;
use super::identity::Resolved;
use super::pip::PIP;
use super::raw::Sp;
use super::repo_path::{self, Naming};
use crate::error::{Code, Problem};
use crate::model::PipPackage;

/// The files that make a directory a Python project pip can build.
pub const MARKERS: &[&str] = &["pyproject.toml", "setup.py"];

/// `pip package="DIR" [extras="a,b"]` as written.
#[derive(Debug, Clone)]
pub struct RawPipPackage {
    pub span: SourceSpan,
    pub path: Sp<String>,
    pub extras: Option<Sp<String>>,
}

impl RawPipPackage {
    /// The directory without a trailing `/`: how paths compare.
    pub fn dir(&self) -> &str {
        self.path.v.trim_end_matches('/')
    }
}

/// The extras as listed (`"plots, io"` -> `["plots", "io"]`); empty entries are kept for the
/// check to report.
fn extras_of(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

/// An extra's name as PEP 508 spells one: letters, digits, `.`, `_`, `-`, starting and ending
/// with a letter or digit.
fn is_extra(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A package directory where it is written: the path rules of `file`, a directory, and a
/// `pyproject.toml` or `setup.py` in it; extras that are extra names.
pub(super) fn check(cx: &mut Checker<'_>, p: &RawPipPackage) {
    if let Some(e) = &p.extras
        && cx.safe(e, "the extras", false)
    {
        let bad: Vec<&str> = extras_of(&e.v)
            .into_iter()
            .filter(|x| !is_extra(x))
            .collect();
        if let Some(first) = bad.first() {
            cx.push(
                Problem::error(
                    Code::InvalidPip,
                    e.span,
                    format!("`{}` is not an extra's name", super::decode::shown(first)),
                )
                .label("extras")
                .help("list the extras the package declares (`[project.optional-dependencies]`), separated by commas: `extras=\"plots,io\"`"),
            );
        }
    }
    let Some(on_disk) = repo_path::check(cx, &p.path, false, Naming::Node) else {
        return;
    };
    let Some(root) = cx.root else { return };
    let dir = p.dir();
    if !on_disk.directory {
        let help = if [".whl", ".tar.gz", ".zip"].iter().any(|x| dir.ends_with(x)) {
            "a built wheel or sdist is not installed from the repository: publish it and require it by version, or by an `https://` URL (`pip { - \"name @ https://…\" }`), or name the project's source directory"
        } else {
            "name the directory that holds the package's `pyproject.toml` or `setup.py`"
        };
        cx.push(
            Problem::error(
                Code::InvalidPip,
                p.path.span,
                format!("`{dir}` is a file, not a package directory"),
            )
            .label("not a directory")
            .help(help),
        );
        return;
    }
    if MARKERS.iter().any(|m| root.join(dir).join(m).is_file()) {
        return;
    }
    let help = match nearby_project(root, dir) {
        Some(other) => format!(
            "pip installs a directory holding a Python project: did you mean `{other}`, which holds one?"
        ),
        None => "pip installs a directory holding a Python project: add a `pyproject.toml` (or `setup.py`) to it, or name the project's own directory".to_string(),
    };
    cx.push(
        Problem::error(
            Code::InvalidPip,
            p.path.span,
            format!("`{dir}` holds no `pyproject.toml` or `setup.py`"),
        )
        .label("not a Python project")
        .help(help),
    );
}

/// A directory right under `dir` (or its parent) that holds a project: where a package
/// directory most likely is when `dir` is not one.
fn nearby_project(root: &Path, dir: &str) -> Option<String> {
    let is_project = |d: &Path| MARKERS.iter().any(|m| d.join(m).is_file());
    let mut subs: Vec<String> = std::fs::read_dir(root.join(dir))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir() && is_project(&e.path()))
        .filter_map(|e| e.file_name().to_str().map(|n| format!("{dir}/{n}")))
        .collect();
    subs.sort();
    if let Some(first) = subs.into_iter().next() {
        return Some(first);
    }
    let parent = dir.rsplit_once('/')?.0;
    is_project(&root.join(parent)).then(|| parent.to_string())
}

/// The package directories of a resolved app, in install order (inherited first).
pub fn model(r: &Resolved) -> Vec<PipPackage> {
    r.settings
        .items::<RawPipPackage>(&PIP)
        .enumerate()
        .map(|(i, p)| PipPackage {
            src: p.dir().to_string(),
            dest: super::files::temp_name(i, p.dir()),
            extras: p
                .extras
                .as_ref()
                .map(|e| extras_of(&e.v).join(","))
                .unwrap_or_default(),
        })
        .collect()
}

/// How `explain` shows one: `package=DIR [extras]`.
pub(super) fn shown(p: &RawPipPackage) -> String {
    match &p.extras {
        Some(e) => format!("package={} [{}]", p.dir(), extras_of(&e.v).join(",")),
        None => format!("package={}", p.dir()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_names() {
        assert!(is_extra("plots"));
        assert!(is_extra("io.v2_x-y"));
        assert!(!is_extra(""));
        assert!(!is_extra("-a"));
        assert!(!is_extra("a b"));
        assert_eq!(extras_of("a, b"), ["a", "b"]);
    }
}
