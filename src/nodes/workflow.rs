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
    shape: Shape::Custom(read_branches),
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: check_branches,
    explain: Explain::Custom(explain_branches),
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
    pub aws_role: Option<Sp<String>>,
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
    _seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    m.registry_given = true;
    let mut en = Entries::new(node, problems);
    let host = en.one_string("a registry host, such as \"ghcr.io\"", problems);
    let namespace = en.prop_string("namespace", problems);
    let username_secret = en.prop_string("username-secret", problems);
    let password_secret = en.prop_string("password-secret", problems);
    let aws_role = en.prop_string("aws-role", problems);
    en.finish(
        &[
            "namespace",
            "username-secret",
            "password-secret",
            "aws-role",
        ],
        problems,
    );
    no_children(node, problems);
    if let Some(host) = host {
        m.registries.push(RawRegistry {
            span: node.span(),
            host,
            namespace,
            username_secret,
            password_secret,
            aws_role,
        });
    }
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

/// Every declared registry, checked; `None` when one of them is refused (reported).
pub fn registries(cx: &mut Checker<'_>, raw: &RawManifest) -> Option<Vec<Registry>> {
    if raw.registries.is_empty() {
        if !raw.registry_given {
            cx.push(
                Problem::error(
                    Code::MissingNode,
                    SourceSpan::from(0..0),
                    "the manifest has no `registry`",
                )
                .label("add it here")
                .help(
                    "declare where images are pushed: `registry \"ghcr.io\" namespace=\"my-lab\"`",
                ),
            );
        }
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, r) in raw.registries.iter().enumerate() {
        if let Some(first) = raw.registries[..i].iter().find(|f| f.host.v == r.host.v) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    r.host.span,
                    format!("registry `{}` is declared twice", r.host.v),
                )
                .label("declared again")
                .also(first.host.span, "first declared here")
                .help("declare each registry once; apps choose among them with `registries`"),
            );
            ok = false;
            continue;
        }
        match registry(cx, r) {
            Some(reg) => out.push((reg, r)),
            None => ok = false,
        }
    }
    shared_secrets(cx, &out);
    ok.then(|| out.into_iter().map(|(r, _)| r).collect())
}

/// Two registries never read the same password secret: each has its own credentials.
fn shared_secrets(cx: &mut Checker<'_>, regs: &[(Registry, &RawRegistry)]) {
    let secret = |r: &Registry| -> Option<String> {
        if r.aws_role.is_some() || r.uses_github_token() {
            return None;
        }
        Some(
            r.password_secret
                .clone()
                .unwrap_or_else(|| DEFAULT_PASSWORD_SECRET.to_string()),
        )
    };
    for (i, (r, raw)) in regs.iter().enumerate() {
        let Some(s) = secret(r) else { continue };
        if let Some((_, first)) = regs[..i]
            .iter()
            .find(|(f, _)| secret(f).as_deref() == Some(&s))
        {
            let at = raw.password_secret.as_ref().map_or(raw.span, |p| p.span);
            cx.push(
                Problem::error(Code::Duplicate, at, format!("registries `{}` and `{}` would both log in with the secret `{s}`", first.host.v, r.host))
                    .label("same password secret")
                    .also(first.password_secret.as_ref().map_or(first.span, |p| p.span), "first use")
                    .help(format!("give each registry its own secrets: `registry \"{}\" … username-secret=… password-secret=…`", r.host)),
            );
        }
    }
}

fn registry(cx: &mut Checker<'_>, r: &RawRegistry) -> Option<Registry> {
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
    let aws_role = r.aws_role.as_ref().map(|role| {
        ok &= aws_role(cx, r, role);
        role.v.clone()
    });
    ok.then(|| Registry {
        host: r.host.v.clone(),
        namespace,
        username_secret,
        password_secret,
        aws_role,
    })
}

/// `aws-role=` assumes an IAM role through GitHub's OIDC token: only for an ECR host, and then
/// without stored secrets.
fn aws_role(cx: &mut Checker<'_>, r: &RawRegistry, role: &Sp<String>) -> bool {
    if !cx.safe(role, "the AWS role", false) {
        return false;
    }
    let refuse = |cx: &mut Checker<'_>, message: String, help: &str| {
        cx.push(
            Problem::error(Code::InvalidRegistry, role.span, message)
                .label("aws-role")
                .help(help.to_string()),
        );
        false
    };
    if crate::model::ecr_region(&r.host.v).is_none() {
        return refuse(
            cx,
            format!(
                "`aws-role` is for AWS ECR, and `{}` is not an ECR host",
                r.host.v
            ),
            "an ECR host is `<12-digit account>.dkr.ecr.<region>.amazonaws.com`; other registries log in with `username-secret=`/`password-secret=`",
        );
    }
    if r.username_secret.is_some() || r.password_secret.is_some() {
        return refuse(
            cx,
            "`aws-role` and registry secrets together: the role gives the credentials".into(),
            "remove `username-secret=` and `password-secret=` (OIDC needs no stored secret), or remove `aws-role=`",
        );
    }
    if !is_role_arn(&role.v) {
        return refuse(
            cx,
            format!("`{}` is not an IAM role ARN", role.v.escape_debug()),
            "write the role's ARN: `arn:aws:iam::123456789012:role/github-push`",
        );
    }
    true
}

/// `arn:aws[-cn|-us-gov]:iam::<12 digits>:role/<path and name>`.
pub fn is_role_arn(s: &str) -> bool {
    let Some((partition, rest)) = s.strip_prefix("arn:").and_then(|r| r.split_once(":iam::"))
    else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":role/") else {
        return false;
    };
    matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && account.len() == 12
        && account.bytes().all(|c| c.is_ascii_digit())
        && !name.is_empty()
        && name.len() <= 512
        && !name.starts_with('/')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&c))
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

/// `branches PATTERN…`, or `branches #false`: no branch pushes build (publishing on tags,
/// releases or a schedule only).
fn read_branches(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    if let Some(e) = en.args.first().copied()
        && let kdl::KdlValue::Bool(b) = e.value()
    {
        en.args.remove(0);
        en.finish(&[], problems);
        no_children(node, problems);
        if *b {
            problems.push(
                Problem::error(Code::WrongType, e.span(), "`branches #true` names no branch")
                    .label("#true here")
                    .help("list the branch patterns (`branches main \"feat/**\"`), or write `branches #false` for no branch builds"),
            );
            return None;
        }
        return Some(Value::Flag(Sp::new(false, e.span())));
    }
    let words = en.strings("branch pattern", true, problems);
    en.finish(&[], problems);
    no_children(node, problems);
    Some(Value::Words(words))
}

fn explain_branches(cx: &mut crate::explain::Ctx<'_>, r: &super::identity::Resolved, app: &App) {
    match r.settings.get(&BRANCHES) {
        Some(Value::Flag(f)) => {
            let o = cx.origin(f.span);
            cx.push("branches", "#false (no branch builds)", o);
        }
        Some(_) => cx.rows(&BRANCHES, &r.settings),
        None => cx.push(
            "branches",
            app.branches.join(" "),
            crate::explain::Origin::JcxDefault {
                note: String::new(),
            },
        ),
    }
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

pub fn is_branch_pattern(s: &str) -> bool {
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
