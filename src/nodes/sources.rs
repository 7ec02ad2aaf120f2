//! Mirrors and actions: `mirrors { pypi pytorch apt conda }` (download sources written into the
//! build) and `actions { checkout ... }` (the action references of generated workflows).

use std::collections::BTreeMap;

use kdl::KdlNode;
use miette::SourceSpan;

use super::RawManifest;
use super::check::Checker;
use super::decode::{Entries, children, name_span, no_children, set_once, unknown_node};
use super::raw::Sp;
use crate::error::{Code, Problem};
use crate::model::{ActionRef, Actions, Mirrors};

pub const MIRROR_NODES: &[&str] = &["pypi", "pytorch", "apt", "conda"];
pub const ACTION_KEYS: &[&str] = &[
    "checkout",
    "setup-qemu",
    "setup-buildx",
    "login",
    "metadata",
    "build-push",
    "cache",
    "cosign-installer",
    "aws-credentials",
    "upload-artifact",
    "download-artifact",
];

/// Default action references: full commit SHAs of the named releases (see
/// `docs/generated-files.md` for the evidence and the policy). The manifest's `actions` block
/// overrides each one.
pub const DEFAULT_ACTIONS: &[(&str, &str, &str)] = &[
    (
        "checkout",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
    ),
    (
        "setup-qemu",
        "docker/setup-qemu-action@99012661954931238ded8c8b007157a8430204e1",
        "v4.4.0",
    ),
    (
        "setup-buildx",
        "docker/setup-buildx-action@f87e5991a6d7451dcb8d9637bfbc97413f497069",
        "v4.4.1",
    ),
    (
        "login",
        "docker/login-action@dbcb813823bdd20940b903addbd779551569679f",
        "v4.6.0",
    ),
    (
        "metadata",
        "docker/metadata-action@dc802804100637a589fabce1cb79ff13a1411302",
        "v6.2.0",
    ),
    (
        "build-push",
        "docker/build-push-action@c3c9e263c25d99ce0380d002d59b67737d91b0dc",
        "v7.4.0",
    ),
    (
        "cache",
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
    ),
    (
        "cosign-installer",
        "sigstore/cosign-installer@6f9f17788090df1f26f669e9d70d6ae9567deba6",
        "v4.1.2",
    ),
    (
        "aws-credentials",
        "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
    ),
    (
        "upload-artifact",
        "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
    ),
    (
        "download-artifact",
        "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
    ),
];

#[derive(Debug, Default)]
pub struct RawMirrors {
    pub pypi: Option<Sp<String>>,
    pub pytorch: Option<Sp<String>>,
    pub apt: Option<Sp<String>>,
    pub conda: Option<Sp<String>>,
}

/// One `actions` entry: key (`checkout`), reference, and its `version=` label.
pub type RawAction = (Sp<String>, Sp<String>, Option<Sp<String>>);

pub fn read_mirrors(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let en = Entries::new(node, problems);
    en.finish(&[], problems);
    let mut mirrors = RawMirrors::default();
    if let Some(c) = children(node, problems) {
        let mut seen_m = Vec::new();
        for child in c.nodes() {
            let slot = match child.name().value() {
                "pypi" => &mut mirrors.pypi,
                "pytorch" => &mut mirrors.pytorch,
                "apt" => &mut mirrors.apt,
                "conda" => &mut mirrors.conda,
                other => {
                    problems.push(unknown_node(child, other, MIRROR_NODES, "mirrors"));
                    continue;
                }
            };
            let mut en = Entries::new(child, problems);
            let v = en.one_string("a URL", problems);
            en.finish(&[], problems);
            no_children(child, problems);
            set_once(slot, v, child, &mut seen_m, problems);
        }
    }
    let mut once: Option<()> = None;
    set_once(&mut once, Some(()), node, seen, problems);
    m.mirrors = mirrors;
}

pub fn read_actions(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let en = Entries::new(node, problems);
    en.finish(&[], problems);
    if let Some(c) = children(node, problems) {
        let mut seen_a: Vec<(String, SourceSpan)> = Vec::new();
        for child in c.nodes() {
            let key = child.name().value();
            if !ACTION_KEYS.contains(&key) {
                problems.push(unknown_node(child, key, ACTION_KEYS, "actions"));
                continue;
            }
            let mut en = Entries::new(child, problems);
            let v = en.one_string(
                "an action reference such as \"actions/checkout@v5\"",
                problems,
            );
            let comment = en.prop_string("version", problems);
            en.finish(&["version"], problems);
            no_children(child, problems);
            let mut slot = None;
            set_once(&mut slot, v, child, &mut seen_a, problems);
            if let Some(v) = slot {
                m.actions
                    .push((Sp::new(key.to_string(), name_span(child)), v, comment));
            }
        }
    }
    let mut once: Option<()> = None;
    set_once(&mut once, Some(()), node, seen, problems);
}

/// A mirror or repository URL: `https://host[:port]/path`, with no credentials and no
/// characters that could leave a shell word or YAML scalar. `http://` only where the content
/// is signed (`allow_http`: apt checks its archives' signatures).
pub fn url(cx: &mut Checker<'_>, v: &Sp<String>, what: &str, allow_http: bool) -> bool {
    if !cx.safe(v, what, false) {
        return false;
    }
    let refuse = |cx: &mut Checker<'_>, message: String, help: &str| {
        cx.push(
            Problem::error(Code::InvalidUrl, v.span, message)
                .label("URL")
                .help(help.to_string()),
        );
        false
    };
    let (scheme, rest) = v.v.split_once("://").unwrap_or(("", ""));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let plain = !rest.is_empty()
        && !v
            .v
            .chars()
            .any(|c| c.is_whitespace() || "\"'`\\$;<>|&(){}^#".contains(c));
    if !matches!(scheme, "https" | "http") || !plain {
        return refuse(
            cx,
            format!("{what} `{}` is not a plain https URL", v.v),
            "write a full URL such as \"https://mirror.example.org/pypi/simple\", without quotes, spaces, `#` or shell characters",
        );
    }
    if authority.contains('@') {
        return refuse(
            cx,
            format!(
                "{what} `{}` carries credentials (`user@` before the host)",
                v.v
            ),
            "the URL is written into the public workflow and the build log: give a URL without credentials (and know that `https://a@b/` means host `b`)",
        );
    }
    if !crate::image::is_registry_host(authority) {
        return refuse(
            cx,
            format!("{what} `{}` has no valid host name", v.v),
            "write `https://host.example.org/path`",
        );
    }
    if scheme == "http" && !allow_http {
        return refuse(
            cx,
            format!("{what} `{}` is not https", v.v),
            "packages from it are not signed: anyone between the builder and that host could replace them. Use the mirror's https URL",
        );
    }
    true
}

pub fn mirrors(cx: &mut Checker<'_>, raw: &RawManifest) -> Mirrors {
    let m = &raw.mirrors;
    let mut get = |v: &Option<Sp<String>>, what: &str| -> Option<String> {
        let v = v.as_ref()?;
        url(cx, v, what, what.contains("apt")).then(|| v.v.trim_end_matches('/').to_string())
    };
    Mirrors {
        pypi: get(&m.pypi, "the PyPI mirror"),
        pytorch: get(&m.pytorch, "the PyTorch wheel mirror"),
        apt: get(&m.apt, "the apt mirror"),
        conda: get(&m.conda, "the conda channel mirror"),
    }
}

/// A reference is immutable only as a full commit SHA: a tag or branch (`@v4`, `@main`) can be
/// moved to other code by whoever controls the action's repository. The login action receives
/// the registry password, so for it a movable reference is an error and another owner than
/// the default's a warning; for the others a movable reference is a warning.
fn pin_policy(
    cx: &mut Checker<'_>,
    key: &Sp<String>,
    uses: &Sp<String>,
    version: Option<&Sp<String>>,
) {
    let (path, r) = uses.v.split_once('@').unwrap_or((&uses.v, ""));
    let sha = r.len() == 40 && r.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    // The login action receives the registry password, the AWS one the OIDC token that
    // assumes the push role.
    let login = key.v == "login" || key.v == "aws-credentials";
    let secret = if key.v == "login" {
        "the registry password"
    } else {
        "the token that assumes the AWS push role"
    };
    if let Some(v) = version.filter(|_| !sha) {
        cx.push(
            Problem::error(Code::InvalidActionRef, v.span, format!("`version=` labels a commit SHA, but `@{r}` is not one"))
                .label("version label")
                .also(uses.span, "not a full commit SHA")
                .help("pin the action to the full 40-character commit SHA of that release, and keep `version=` as its label"),
        );
    }
    if !sha {
        let message = format!(
            "`{}` can change under you: `@{r}` is not a commit SHA",
            uses.v
        );
        let problem = if login {
            Problem::error(Code::MutableActionRef, uses.span, message)
                .help(format!("the `{}` action receives {secret}: pin it to a full commit SHA, with `version=\"vX.Y.Z\"`", key.v))
        } else {
            Problem::warning(Code::MutableActionRef, uses.span, message)
                .help("pin it to the full commit SHA of a release, with `version=\"vX.Y.Z\"` (jcx's defaults are pinned that way)")
        };
        cx.push(problem.label("movable reference"));
    }
    let default_owner = DEFAULT_ACTIONS
        .iter()
        .find(|(k, _, _)| *k == key.v)
        .and_then(|(_, u, _)| u.split('/').next());
    let owner = path.split('/').next().unwrap_or("");
    if login && default_owner.is_some_and(|d| !d.eq_ignore_ascii_case(owner)) {
        cx.push(
            Problem::warning(
                Code::MutableActionRef,
                uses.span,
                format!(
                    "{secret} goes to an action of `{owner}`, not of `{}`",
                    default_owner.unwrap_or_default()
                ),
            )
            .label(format!("receives {secret}"))
            .help(format!(
                "make sure you trust this action's owner with it; jcx's default is {}",
                DEFAULT_ACTIONS
                    .iter()
                    .find(|(k, _, _)| *k == key.v)
                    .and_then(|(_, u, _)| u.split('@').next())
                    .unwrap_or_default()
            )),
        );
    }
}

pub fn actions(cx: &mut Checker<'_>, raw: &RawManifest) -> Actions {
    let mut refs: BTreeMap<&str, ActionRef> = DEFAULT_ACTIONS
        .iter()
        .map(|(k, uses, c)| {
            (
                *k,
                ActionRef {
                    uses: uses.to_string(),
                    comment: Some(c.to_string()),
                },
            )
        })
        .collect();
    for (key, uses, comment) in &raw.actions {
        let ok = cx.safe(uses, "the action reference", false)
            && {
                let valid = uses.v.split_once('@').is_some_and(|(path, r)| {
                    let parts: Vec<&str> = path.split('/').collect();
                    parts.len() >= 2
                        && parts.iter().all(|p| {
                            !p.is_empty()
                                && p.bytes()
                                    .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
                        })
                        && !r.is_empty()
                        && r.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"._-/".contains(&c))
                });
                if !valid {
                    cx.push(
                    Problem::error(Code::InvalidActionRef, uses.span, format!("`{}` is not an action reference", uses.v))
                        .label("action reference")
                        .help("write `owner/repo@ref`, preferably a full commit SHA with `version=\"vX.Y.Z\"`"),
                );
                }
                valid
            };
        let comment_ok = comment.as_ref().is_none_or(|c| {
            let ok = cx.safe(c, "the action version", false)
                && c.v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok && !c.v.contains("${{") {
                cx.push(
                    Problem::error(
                        Code::InvalidActionRef,
                        c.span,
                        format!("`{}` is not a version label", c.v),
                    )
                    .help("write the release tag the SHA points to, such as \"v5.0.0\""),
                );
            }
            ok
        });
        if ok && comment_ok {
            pin_policy(cx, key, uses, comment.as_ref());
        }
        if ok && comment_ok {
            let key = ACTION_KEYS
                .iter()
                .find(|k| **k == key.v)
                .copied()
                .unwrap_or("checkout");
            refs.insert(
                key,
                ActionRef {
                    uses: uses.v.clone(),
                    comment: comment.as_ref().map(|c| c.v.clone()),
                },
            );
        }
    }
    let mut take = |k: &str| refs.remove(k).expect("every action has a default");
    Actions {
        checkout: take("checkout"),
        setup_qemu: take("setup-qemu"),
        setup_buildx: take("setup-buildx"),
        login: take("login"),
        metadata: take("metadata"),
        build_push: take("build-push"),
        cache: take("cache"),
        cosign_installer: take("cosign-installer"),
        aws_credentials: take("aws-credentials"),
        upload_artifact: take("upload-artifact"),
        download_artifact: take("download-artifact"),
    }
}
