//! Registry and workflow settings: `registry`, `check-workflow` (top level) and `branches`,
//! `runs-on`, `platforms`, `free-disk-space`, `timeout-minutes` (per app). The value lists
//! override through inheritance: an app's `branches` replace the inherited ones.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, is_variable_name};
use super::decode::{Entries, did_you_mean, no_children, set_once};
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape, no_check};
use super::{RawManifest, sources::url};
use crate::error::{Code, Problem};
use crate::image::{is_path_component, is_registry_host};
use crate::model::{App, CheckWorkflow, Registry, TorchIndex};
use crate::torch::Ver;

pub const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];
pub const DEFAULT_BRANCHES: &[&str] = &["main"];
pub const DEFAULT_RUNNER: &str = "ubuntu-latest";
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 120;
pub const DEFAULT_USERNAME_SECRET: &str = "REGISTRY_USERNAME";
pub const DEFAULT_PASSWORD_SECRET: &str = "REGISTRY_PASSWORD";

pub static BRANCHES: Setting = Setting {
    name: "branches",
    shape: Shape::Words {
        what: "branch pattern",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: check_branches,
    explain: Explain::RowsOr(|app| app.branches.join(" "), ""),
};

pub static RUNS_ON: Setting = Setting {
    name: "runs-on",
    shape: Shape::Words {
        what: "runner label",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: check_runs_on,
    explain: Explain::RowsOr(|app| app.runs_on.join(" "), ""),
};

pub static PLATFORMS_SETTING: Setting = Setting {
    name: "platforms",
    shape: Shape::Words { what: "platform" },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: check_platforms,
    explain: Explain::RowsOr(|app| app.platforms.join(" "), ""),
};

pub static FREE_DISK_SPACE: Setting = Setting {
    name: "free-disk-space",
    shape: Shape::Flag {
        fix: "write `free-disk-space #true` or `free-disk-space #false`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(
        |app| app.free_disk_space.to_string(),
        "on for CUDA apps on GitHub-hosted runners",
    ),
};

pub static TIMEOUT_MINUTES: Setting = Setting {
    name: "timeout-minutes",
    shape: Shape::Number {
        expected: "a number of minutes",
        fix: "write for example `timeout-minutes 120`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: check_timeout,
    explain: Explain::RowsOr(|app| app.timeout_minutes.to_string(), ""),
};

#[derive(Debug)]
pub struct RawRegistry {
    pub span: SourceSpan,
    pub host: Sp<String>,
    pub namespace: Option<Sp<String>>,
    pub username_secret: Option<Sp<String>>,
    pub password_secret: Option<Sp<String>>,
}

#[derive(Debug)]
pub struct RawCheckWorkflow {
    pub span: SourceSpan,
    pub jcx_version: Option<Sp<String>>,
    pub repository: Option<Sp<String>>,
}

pub fn read_registry(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    m.registry_given = true;
    let mut en = Entries::new(node, problems);
    let host = en.one_string("a registry host, such as \"ghcr.io\"", problems);
    let namespace = en.prop_string("namespace", problems);
    let username_secret = en.prop_string("username-secret", problems);
    let password_secret = en.prop_string("password-secret", problems);
    en.finish(
        &["namespace", "username-secret", "password-secret"],
        problems,
    );
    no_children(node, problems);
    let r = host.map(|host| RawRegistry {
        span: node.span(),
        host,
        namespace,
        username_secret,
        password_secret,
    });
    set_once(&mut m.registry, r, node, seen, problems);
}

pub fn read_check_workflow(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let mut en = Entries::new(node, problems);
    let jcx_version = en.prop_string("jcx-version", problems);
    let repository = en.prop_string("repository", problems);
    en.finish(&["jcx-version", "repository"], problems);
    no_children(node, problems);
    let cw = Some(RawCheckWorkflow {
        span: node.span(),
        jcx_version,
        repository,
    });
    set_once(&mut m.check_workflow, cw, node, seen, problems);
}

fn secret_name(cx: &mut Checker<'_>, v: &Option<Sp<String>>) -> Option<String> {
    let v = v.as_ref()?;
    let ok = is_variable_name(&v.v) && !v.v.to_ascii_uppercase().starts_with("GITHUB_");
    if !ok {
        cx.push(
            Problem::error(Code::InvalidSecretName, v.span, format!("`{}` is not a valid GitHub secret name", v.v.escape_debug()))
                .label("secret name")
                .help("secret names are letters, digits and `_`, do not start with a digit or `GITHUB_`, for example `REGISTRY_PASSWORD`"),
        );
    }
    Some(v.v.clone())
}

pub fn registry(cx: &mut Checker<'_>, raw: &RawManifest) -> Option<Registry> {
    let Some(r) = &raw.registry else {
        if raw.registry_given {
            return None;
        }
        cx.push(
            Problem::error(
                Code::MissingNode,
                SourceSpan::from(0..0),
                "the manifest has no `registry`",
            )
            .label("add it here")
            .help("declare where images are pushed: `registry \"ghcr.io\" namespace=\"my-lab\"`"),
        );
        return None;
    };
    let mut ok = cx.safe(&r.host, "the registry host", false);
    if ok && !is_registry_host(&r.host.v) {
        cx.push(
            Problem::error(
                Code::InvalidRegistry,
                r.host.span,
                format!("`{}` is not a registry host", r.host.v),
            )
            .label("registry host")
            .help(
                "write only the host (and port), without a scheme or path: `registry \"ghcr.io\"`",
            ),
        );
        ok = false;
    }
    let namespace = match &r.namespace {
        None => {
            cx.push(
                Problem::error(Code::MissingArgument, r.span, "`registry` needs a `namespace`")
                    .label("namespace missing")
                    .help(format!("add the account or organisation images are pushed under: `registry \"{}\" namespace=\"my-lab\"`", r.host.v)),
            );
            ok = false;
            String::new()
        }
        Some(ns) => {
            if cx.safe(ns, "the namespace", false) && !ns.v.split('/').all(is_path_component) {
                cx.push(
                    Problem::error(Code::InvalidRegistry, ns.span, format!("`{}` is not a valid registry namespace", ns.v))
                        .label("namespace")
                        .help("a namespace is lowercase letters and digits separated by `.`, `_`, `-` (and `/` between parts)"),
                );
                ok = false;
            }
            ns.v.clone()
        }
    };
    let username_secret = secret_name(cx, &r.username_secret);
    let password_secret = secret_name(cx, &r.password_secret);
    ok.then(|| Registry {
        host: r.host.v.clone(),
        namespace,
        username_secret,
        password_secret,
    })
}

pub fn check_workflow(cx: &mut Checker<'_>, raw: &RawManifest) -> Option<CheckWorkflow> {
    raw.check_workflow.as_ref().map(|cw| {
        let jcx_version = cw.jcx_version.as_ref().map_or_else(
            || env!("CARGO_PKG_VERSION").to_string(),
            |v| {
                if cx.safe(v, "the jcx version", false)
                    && !(Ver::parse(&v.v).is_some_and(|x| x.patch.is_some())
                        && v.v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
                {
                    cx.push(
                        Problem::error(
                            Code::InvalidCodeServerVersion,
                            v.span,
                            format!("`{}` is not a jcx version", v.v),
                        )
                        .help("write a release version such as \"0.1.0\""),
                    );
                }
                v.v.clone()
            },
        );
        // Without `repository=`, the workflow installs the wheel `jcx-cli==<version>` from PyPI
        // (a published version's files never change there); with it, it builds that tag from
        // source. Not `cargo install jcx`: the crate named `jcx` is not this project.
        let repository = cw.repository.as_ref().map(|r| {
            url(cx, r, "the jcx repository", false);
            r.v.clone()
        });
        CheckWorkflow {
            jcx_version,
            repository,
        }
    })
}

fn check_branches(cx: &mut Checker<'_>, v: &Value) {
    for b in v.words() {
        if cx.safe(b, "the branch pattern", false) && !is_branch_pattern(&b.v) {
            cx.push(
                Problem::error(Code::InvalidBranch, b.span, format!("`{}` is not a valid branch pattern", b.v.escape_debug()))
                    .label("branch pattern")
                    .help("a branch pattern is a git branch name with optional `*`/`**` globs, such as `main` or `feat/**`; no spaces, `..`, `~^:?[\\`, quotes or leading `-`"),
            );
        }
    }
}

fn check_runs_on(cx: &mut Checker<'_>, v: &Value) {
    for r in v.words() {
        if cx.safe(r, "the runner label", false)
            && !(r.v.len() <= 100
                && r.v
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
                && !r.v.is_empty())
        {
            cx.push(
                Problem::error(Code::InvalidRunner, r.span, format!("`{}` is not a valid runner label", r.v.escape_debug()))
                    .label("runner label")
                    .help("runner labels are letters, digits, `.`, `_` and `-`, such as `ubuntu-latest` or `self-hosted`"),
            );
        }
    }
}

fn check_platforms(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&str> = Vec::new();
    for p in v.words() {
        if !PLATFORMS.contains(&p.v.as_str()) {
            let help = did_you_mean(&p.v, PLATFORMS)
                .unwrap_or_else(|| "expected one of `linux/amd64`, `linux/arm64` (the platforms Jupyter images and code-server publish)".into());
            cx.push(
                Problem::error(
                    Code::InvalidPlatform,
                    p.span,
                    format!("`{}` is not a supported platform", p.v.escape_debug()),
                )
                .label("platform")
                .help(help),
            );
        } else if seen.contains(&p.v.as_str()) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    p.span,
                    format!("platform `{}` is listed twice", p.v),
                )
                .help("remove one of them"),
            );
        }
        seen.push(&p.v);
    }
}

fn check_timeout(cx: &mut Checker<'_>, v: &Value) {
    if let Some(t) = v.number()
        && !(1..=7200).contains(&t.v)
    {
        cx.push(
            Problem::error(
                Code::InvalidNumber,
                t.span,
                format!("`timeout-minutes` must be between 1 and 7200, not {}", t.v),
            )
            .label("minutes")
            .help(
                "GitHub-hosted jobs stop after 360 minutes, self-hosted ones after 5 days (7200)",
            ),
        );
    }
}

/// The workflow settings of an app (after its torch is known: free disk space depends on it).
pub fn apply(s: &RawSettings, app: &mut App) {
    let words = |def: &Setting, default: &[&str]| -> Vec<String> {
        s.words_opt(def).map_or_else(
            || default.iter().map(|d| d.to_string()).collect(),
            |ws| ws.iter().map(|w| w.v.clone()).collect(),
        )
    };
    app.branches = words(&BRANCHES, DEFAULT_BRANCHES);
    app.runs_on = words(&RUNS_ON, &[DEFAULT_RUNNER]);
    app.platforms = super::check::dedup(words(&PLATFORMS_SETTING, &["linux/amd64"]).into_iter());
    let cuda_build = app
        .torch
        .as_ref()
        .is_some_and(|t| t.index != TorchIndex::Cpu);
    app.free_disk_space = s
        .flag(&FREE_DISK_SPACE)
        .map_or(cuda_build && !app.self_hosted(), |f| f.v);
    app.timeout_minutes = s
        .number(&TIMEOUT_MINUTES)
        .map_or(DEFAULT_TIMEOUT_MINUTES, |t| t.v as u32);
}

fn is_branch_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.contains("..")
        && !s.contains("//")
        && !s.contains("@{")
        && !s.ends_with(".lock")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/*-_.+!".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_patterns() {
        assert!(
            is_branch_pattern("main")
                && is_branch_pattern("feat/**")
                && is_branch_pattern("release-*")
        );
        assert!(
            !is_branch_pattern("a b")
                && !is_branch_pattern("a..b")
                && !is_branch_pattern("-x")
                && !is_branch_pattern("a'b")
        );
    }
}
