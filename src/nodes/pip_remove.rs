//! `pip-remove PACKAGE…`: pip packages the base image has, removed with `pip uninstall` after
//! jcx's pip steps (a package that is not installed fails the build, so a misspelt name is
//! caught). Lists append through `defaults` and `extends`. An app may not remove what it
//! installs itself, nor, with `cuda`, the PyTorch family its constraints file holds.

use super::check::Checker;
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};

pub static PIP_REMOVE: Setting = Setting {
    name: "pip-remove",
    shape: Shape::Words {
        what: "package name",
    },
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("pip-remove jupyter-server-terminals"),
    check,
    explain: Explain::Rows,
};

/// A distribution name as PEP 508 allows it: letters and digits, with `.`, `_`, `-` inside.
pub fn is_package_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<(String, miette::SourceSpan)> = Vec::new();
    for p in v.words() {
        if !cx.safe(p, "the package name", false) {
            continue;
        }
        if !is_package_name(&p.v) {
            let help = if p.v.contains(['=', '<', '>', '~', '!', '@', ';', '[', ' ']) {
                "`pip uninstall` takes names only: write the name without a version, extras or marker"
            } else {
                "a pip package name: letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit"
            };
            cx.push(
                Problem::error(
                    Code::InvalidPipRemove,
                    p.span,
                    format!("`{}` is not a pip package name", p.v.escape_debug()),
                )
                .label("package name")
                .help(help),
            );
            continue;
        }
        let name = super::pip::normalize_pkg(&p.v);
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    p.span,
                    format!("`{}` is listed twice", p.v),
                )
                .label("listed again")
                .also(*first, "first listed here")
                .help("remove one of them"),
            );
        }
        seen.push((name, p.span));
    }
}

/// The packages the app removes, each once (as first written), after the rules that need the
/// whole app: not one it installs with `pip` or `mamba`, not the PyTorch family of a `cuda` app.
pub fn model(cx: &mut Checker<'_>, r: &Resolved) -> Vec<String> {
    let s = &r.settings;
    let removed = s.words(&PIP_REMOVE);
    if removed.is_empty() {
        return Vec::new();
    }
    // What the app installs: (normalized name, where, how).
    let mut installs: Vec<(String, miette::SourceSpan, &str)> = super::pip::requirements(r)
        .into_iter()
        .map(|p| (p.name, p.span, "`pip`"))
        .collect();
    for f in s.items::<super::pip::RawPipFile>(&super::pip::PIP) {
        if let Some(file) = cx.files.requirements.get(&f.path.v) {
            installs.extend(
                file.reqs
                    .iter()
                    .map(|q| (q.pip.name.clone(), f.span, "a requirements file of `pip`")),
            );
        }
    }
    for m in s.items::<Sp<String>>(&super::packages::MAMBA) {
        let name = super::pip::normalize_pkg(super::packages::conda_name(&m.v));
        installs.push((name, m.span, "`mamba`"));
    }
    let cuda = super::cuda::cuda_of(s).is_some();
    let mut out: Vec<String> = Vec::new();
    for p in removed {
        let name = super::pip::normalize_pkg(&p.v);
        if cuda && super::pip::TORCH_FAMILY.contains(&name.as_str()) {
            cx.push(
                Problem::error(
                    Code::InvalidPipRemove,
                    p.span,
                    format!("`{}` is installed by `cuda` from the PyTorch index", p.v),
                )
                .label("the PyTorch family")
                .help("an app with `cuda` keeps torch, torchvision and torchaudio (its constraints file holds them); remove `cuda` for an image without PyTorch"),
            );
        } else if let Some((_, at, how)) = installs.iter().find(|(n, ..)| *n == name) {
            cx.push(
                Problem::error(
                    Code::InvalidPipRemove,
                    p.span,
                    format!("the app installs `{}` itself, with {how}", p.v),
                )
                .label("removed here")
                .also(*at, "installed here")
                .help("remove the package from the app's packages instead; `pip-remove` is for packages of the base image"),
            );
        } else if !out.iter().any(|o| super::pip::normalize_pkg(o) == name) {
            out.push(p.v.clone());
        }
    }
    out
}
