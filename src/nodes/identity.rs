//! App identity and inheritance: `manifest-version`, `defaults`, `app NAME extends=OTHER`, and
//! the settings that name or found an image (`description`, `base`, `python`, `image-name`,
//! `image-suffix`). Resolves `defaults` -> `extends` chain -> app, and assembles each app's model
//! from its families.

use std::collections::HashMap;

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::{Checker, MAX_NAME_LEN, lowercase_name_ok};
use super::decode::{
    Entries, ascii_lookalike, children, did_you_mean, no_children, odd_char, set_once, shown,
    suggest_app,
};
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape, merge, read_block};
use super::{RawManifest, code_server, cuda, dockerfile, env, packages, workflow};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::image::{is_path_component, parse_image_ref};
use crate::model::{App, Parent, Registry};

pub const MANIFEST_VERSION: i128 = 1;

pub static DESCRIPTION: Setting = Setting {
    name: "description",
    shape: Shape::Text {
        what: "a description",
    },
    inherit: Inherit::Never,
    once: true,
    app_only: true,
    example: Some("description \"PyTorch 2.2 on CUDA 11.8\""),
    check: check_description,
    explain: Explain::Rows,
};

pub static BASE: Setting = Setting {
    name: "base",
    // `base "IMAGE:TAG"` or `base app=NAME` (an app's image: see `chain`).
    shape: Shape::Custom(super::chain::read_base),
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("base \"quay.io/jupyter/scipy-notebook:python-3.11\""),
    check: check_base,
    explain: Explain::Custom(super::chain::explain_base),
};

pub static PYTHON: Setting = Setting {
    name: "python",
    shape: Shape::Text {
        what: "a Python version such as \"3.11\"",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("python \"3.11\""),
    check: check_python,
    explain: Explain::Custom(explain_python),
};

pub static IMAGE_NAME: Setting = Setting {
    name: "image-name",
    shape: Shape::Text {
        what: "an image name",
    },
    inherit: Inherit::Never,
    once: true,
    app_only: true,
    example: Some("image-name pytorch-notebook"),
    check: check_image_name,
    explain: Explain::Custom(explain_image),
};

pub static IMAGE_SUFFIX: Setting = Setting {
    name: "image-suffix",
    shape: Shape::Text {
        what: "an image name suffix",
    },
    inherit: Inherit::Never,
    once: true,
    app_only: true,
    example: Some("image-suffix qlora"),
    check: check_image_suffix,
    explain: Explain::In("image-name"),
};

#[derive(Debug)]
pub struct RawApp {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub extends: Option<Sp<String>>,
    pub settings: RawSettings,
    /// The variant this app was expanded from (`variants`), if any.
    pub variant: Option<super::variants::RawVariant>,
}

/// The settings of one app after `defaults` and `extends`, still spanned (for `explain`).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: Sp<String>,
    pub extends_chain: Vec<String>,
    pub settings: RawSettings,
}

pub fn read_version(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    m.version_given = true;
    let mut en = Entries::new(node, problems);
    let v = en.one_value(
        "an integer",
        "write `manifest-version 1` (a number, without quotes)",
        |v| match v {
            KdlValue::Integer(i) => Some(*i),
            _ => None,
        },
        problems,
    );
    en.finish(&[], problems);
    no_children(node, problems);
    set_once(&mut m.version, v, node, seen, problems);
}

pub fn read_defaults(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let en = Entries::new(node, problems);
    en.finish(&[], problems);
    let s = children(node, problems).map(|c| read_block(c, false, problems));
    set_once(&mut m.defaults, s, node, seen, problems);
}

pub fn read_app(
    node: &KdlNode,
    m: &mut RawManifest,
    _seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    m.app_nodes += 1;
    let mut en = Entries::new(node, problems);
    let app_name = en.one_string("a name", problems);
    let mut extends = en.prop_string("extends", problems);
    // Recover the parent from a misspelt `extends=` property or an `extends` child node (both
    // still reported) so the app's other settings are not reported missing as well.
    if extends.is_none()
        && let Some((_, e)) = en
            .props
            .iter()
            .find(|(k, _)| did_you_mean(k, &["extends"]).is_some())
        && let KdlValue::String(v) = e.value()
    {
        extends = Some(Sp::new(v.clone(), e.span()));
    }
    if extends.is_none()
        && let Some(child) = node
            .children()
            .and_then(|c| c.nodes().iter().find(|n| n.name().value() == "extends"))
        && let Some(e) = child.entries().first()
        && let KdlValue::String(v) = e.value()
    {
        extends = Some(Sp::new(v.clone(), e.span()));
    }
    en.finish(&["extends"], problems);
    let settings = match node.children() {
        Some(c) => read_block(c, true, problems),
        None => RawSettings::default(),
    };
    if let Some(name) = app_name {
        m.apps.push(RawApp {
            span: node.span(),
            name,
            extends,
            settings,
            variant: None,
        });
    }
}

pub fn check_version(cx: &mut Checker<'_>, raw: &RawManifest) {
    match &raw.version {
        None if raw.version_given => {}
        None => cx.push(
            Problem::error(
                Code::MissingNode,
                SourceSpan::from(0..0),
                "the manifest has no `manifest-version`",
            )
            .label("add it here")
            .help("start the manifest with `manifest-version 1`"),
        ),
        Some(v) if v.v != MANIFEST_VERSION => cx.push(
            Problem::error(
                Code::UnsupportedVersion,
                v.span,
                format!(
                    "manifest version {} is not supported by jcx {}",
                    v.v,
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .label("unsupported version")
            .help("this jcx reads `manifest-version 1`; upgrade jcx for newer manifests"),
        ),
        Some(_) => {}
    }
}

/// Tools that read instructions from comments. A description becomes a comment in the
/// Dockerfile, so it must not switch a checker off for the whole file.
const TOOL_DIRECTIVES: &[&str] = &[
    "hadolint",
    "yamllint",
    "zizmor",
    "shellcheck",
    "actionlint",
    "syntax=",
    "escape=",
    "check=",
];

fn check_description(cx: &mut Checker<'_>, v: &Value) {
    let Some(d) = v.text() else { return };
    if !cx.safe(d, "the description", false) {
        return;
    }
    let lower = d.v.to_ascii_lowercase();
    if let Some(tool) = TOOL_DIRECTIVES.iter().find(|t| lower.contains(*t)) {
        cx.push(
            Problem::error(
                Code::ToolDirective,
                d.span,
                format!("the description contains `{tool}`, which a checker reads as an instruction"),
            )
            .label("becomes a comment in the Dockerfile")
            .help("the description is written as a comment, where `# hadolint ignore=...` and the like would switch checks off for the whole file; reword it"),
        );
    } else if d.v.contains("{{") || d.v.contains("}}") {
        cx.push(
            Problem::error(
                Code::Injection,
                d.span,
                "the description contains `{{` or `}}`, which docker/metadata-action reads as a template",
            )
            .label("becomes an image label")
            .help("reword it without double braces"),
        );
    } else if d.v.chars().count() > 300 {
        cx.push(
            Problem::error(
                Code::TooLong,
                d.span,
                format!(
                    "the description is {} characters long; the limit is 300",
                    d.v.chars().count()
                ),
            )
            .label("too long")
            .help("keep it to one short sentence; it becomes an image label and a comment"),
        );
    }
}

fn check_base(cx: &mut Checker<'_>, v: &Value) {
    let Some(b) = v.text() else { return };
    if !cx.safe(b, "the base image", false) {
        return;
    }
    if let Some((scheme, rest)) = b.v.split_once("://") {
        cx.push(
            Problem::error(
                Code::InvalidImage,
                b.span,
                format!("an image reference has no `{scheme}://`"),
            )
            .label("base image")
            .help(format!(
                "write the reference without a scheme: `base \"{rest}\"`"
            )),
        );
    } else {
        match parse_image_ref(&b.v) {
            Err(e) => cx.push(
                Problem::error(Code::InvalidImage, b.span, e.message)
                    .label("base image")
                    .help(e.help),
            ),
            Ok(r) if !b.v.starts_with(&format!("{}/", r.registry)) => cx.push(
                Problem::warning(
                    Code::ImplicitRegistry,
                    b.span,
                    format!("`{}` names no registry: it means `{}`", b.v, r.full()),
                )
                .label("no registry host")
                .help(format!(
                    "write the full reference, `base \"{}\"`, so it is clear the image comes from Docker Hub (Jupyter's images are on `quay.io/jupyter/...`)",
                    r.full()
                )),
            ),
            Ok(_) => {}
        }
    }
}

fn check_python(cx: &mut Checker<'_>, v: &Value) {
    let Some(p) = v.text() else { return };
    if cx.safe(p, "the Python version", false) && !is_python_version(&p.v) {
        cx.push(
            Problem::error(
                Code::InvalidPython,
                p.span,
                format!("`{}` is not a Python version", p.v),
            )
            .label("Python version")
            .help("write major.minor, such as \"3.11\""),
        );
    }
}

fn check_image_name(cx: &mut Checker<'_>, v: &Value) {
    let Some(n) = v.text() else { return };
    if cx.safe(n, "the image name", false)
        && !(n.v.split('/').all(is_path_component) && n.v.len() <= 128)
    {
        cx.push(
            Problem::error(Code::InvalidName, n.span, format!("`{}` is not a valid image name", n.v))
                .label("image name")
                .help("an image name is lowercase letters and digits separated by `.`, `_` or `-`, such as `pytorch-notebook`"),
        );
    }
}

fn check_image_suffix(cx: &mut Checker<'_>, v: &Value) {
    let Some(n) = v.text() else { return };
    if cx.safe(n, "the image suffix", false)
        && !(lowercase_name_ok(&n.v) && is_path_component(&n.v))
    {
        cx.push(
            Problem::error(Code::InvalidName, n.span, format!("`{}` is not a valid image suffix", n.v.escape_debug()))
                .label("image suffix")
                .help(format!("a suffix is lowercase letters and digits separated by `.`, `_` or `-`, at most {MAX_NAME_LEN} characters, such as `qlora`")),
        );
    }
}

fn explain_python(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    match r.settings.text(&PYTHON) {
        Some(p) => cx.one("python", p),
        None => {
            if let Some(p) = &app.python {
                cx.push(
                    "python",
                    p.clone(),
                    Origin::Derived {
                        note: format!("from the base image tag `{}`", app.base.tag),
                    },
                );
            }
        }
    }
}

fn explain_image(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    let s = &r.settings;
    let image_origin = match (s.text(&IMAGE_NAME), s.text(&IMAGE_SUFFIX)) {
        (_, Some(sfx)) => cx.origin(sfx.span),
        (Some(n), None) => cx.origin(n.span),
        (None, None) => Origin::JcxDefault {
            note: "<registry>/<namespace>/<base image name>".into(),
        },
    };
    cx.push("image", app.image.clone(), image_origin);
}

/// The app name rules: it becomes a directory and an image name.
fn check_app_name(cx: &mut Checker<'_>, app: &RawApp) -> bool {
    if !cx.safe(&app.name, "the app name", false) {
        return false;
    }
    if lowercase_name_ok(&app.name.v) {
        return true;
    }
    let lower = ascii_lookalike(&app.name.v)
        .to_ascii_lowercase()
        .replace([' ', '_', '/'], "-");
    let help = if let Some(odd) = odd_char(&app.name.v) {
        if lowercase_name_ok(&lower) {
            format!("the name {odd}: retype it as `{lower}`")
        } else {
            format!("the name {odd}; app names are lowercase `[a-z0-9][a-z0-9._-]*`")
        }
    } else if lowercase_name_ok(&lower) {
        format!(
            "app names are lowercase `[a-z0-9][a-z0-9._-]*` (they become directory and image names): try `{lower}`"
        )
    } else {
        format!(
            "app names are lowercase `[a-z0-9][a-z0-9._-]*`, at most {MAX_NAME_LEN} characters, without `..` (they become directory and image names)"
        )
    };
    let message = if app.name.v.len() > MAX_NAME_LEN {
        format!(
            "app name `{}` is {} characters long; the limit is {MAX_NAME_LEN}",
            shown(&app.name.v),
            app.name.v.len()
        )
    } else {
        format!("`{}` is not a valid app name", shown(&app.name.v))
    };
    cx.push(
        Problem::error(Code::InvalidName, app.name.span, message)
            .label("app name")
            .help(help),
    );
    false
}

/// `defaults` -> `extends` chain -> app, for every app with a valid, unique name.
pub fn resolve(cx: &mut Checker<'_>, raw: &RawManifest) -> Vec<Resolved> {
    let mut by_name: HashMap<&str, &RawApp> = HashMap::new();
    let mut order: Vec<&RawApp> = Vec::new();
    for app in &raw.apps {
        if !check_app_name(cx, app) {
            continue;
        }
        if let Some(first) = by_name.get(app.name.v.as_str()) {
            cx.push(
                Problem::error(
                    Code::DuplicateApp,
                    app.name.span,
                    format!("app `{}` is declared twice", app.name.v),
                )
                .label("declared again")
                .also(first.name.span, "first declared here")
                .help("rename one of them, or merge their settings"),
            );
            continue;
        }
        by_name.insert(&app.name.v, app);
        order.push(app);
    }
    let names: Vec<&str> = order.iter().map(|a| a.name.v.as_str()).collect();
    let mut out = Vec::new();
    for app in &order {
        let Some(chain) = extends_chain(cx, app, &by_name, &names) else {
            continue;
        };
        let mut settings = raw.defaults.clone().unwrap_or_default();
        for level in chain.iter().rev() {
            settings = merge(settings, &level.settings);
        }
        out.push(Resolved {
            name: app.name.clone(),
            extends_chain: chain.iter().skip(1).map(|c| c.name.v.clone()).collect(),
            settings,
        });
    }
    out
}

/// The app and the apps it extends, nearest first; `None` when the chain is broken (reported
/// once, at the app that breaks it).
fn extends_chain<'a>(
    cx: &mut Checker<'_>,
    app: &'a RawApp,
    by_name: &HashMap<&str, &'a RawApp>,
    names: &[&str],
) -> Option<Vec<&'a RawApp>> {
    let mut chain: Vec<&RawApp> = vec![app];
    while let Some(parent) = &chain.last().unwrap().extends {
        if parent.v == chain.last().unwrap().name.v {
            if chain.len() == 1 {
                cx.push(
                    Problem::error(
                        Code::SelfExtends,
                        parent.span,
                        format!("app `{}` extends itself", parent.v),
                    )
                    .label("extends itself")
                    .help("remove `extends`, or name another app"),
                );
            }
            return None;
        }
        let Some(p) = by_name.get(parent.v.as_str()) else {
            if chain.len() == 1 {
                cx.push(
                    Problem::error(
                        Code::UnknownExtends,
                        parent.span,
                        format!(
                            "app `{}` extends `{}`, which is not declared",
                            app.name.v, parent.v
                        ),
                    )
                    .label("no such app")
                    .help(suggest_app(&parent.v, names)),
                );
            }
            return None;
        };
        if let Some(pos) = chain.iter().position(|c| c.name.v == p.name.v) {
            if pos == 0 {
                report_cycle(cx, app, &chain, p);
            }
            return None;
        }
        chain.push(p);
    }
    Some(chain)
}

fn report_cycle(cx: &mut Checker<'_>, app: &RawApp, chain: &[&RawApp], back: &RawApp) {
    let mut cycle: Vec<&str> = chain.iter().map(|c| c.name.v.as_str()).collect();
    cycle.push(&back.name.v);
    let mut problem = Problem::error(
        Code::ExtendsCycle,
        app.extends.as_ref().map_or(app.name.span, |e| e.span),
        format!("`extends` forms a cycle: {}", cycle.join(" -> ")),
    )
    .label("starts the cycle")
    .help("break the cycle: one of these apps must not extend another");
    for c in chain.iter().skip(1) {
        if let Some(e) = &c.extends {
            problem = problem.also(e.span, format!("`{}` extends `{}`", c.name.v, e.v));
        }
    }
    // Report the cycle once, from its first app in manifest order.
    let first_in_cycle = chain.iter().map(|c| c.span.offset()).min().unwrap_or(0);
    if app.span.offset() == first_in_cycle {
        cx.push(problem);
    }
}

/// The model of one resolved app; `None` when something it needs was refused (already reported).
/// An app built on another (`base app=`) gets the full model of that app as `parent`: it takes
/// its root image, Python and PyTorch from it. The model is whole (as if the app were built on
/// the root image); [`super::delta`] then takes out what the parent image has.
pub fn build_app(
    cx: &mut Checker<'_>,
    r: &Resolved,
    registries: Option<&[Registry]>,
    parent: Option<&App>,
) -> Option<App> {
    let s = &r.settings;
    let name = r.name.v.clone();
    let (base, python) = match parent {
        Some(p) => (p.base.clone(), p.python.clone()),
        None => {
            let Some(base_sp) = s.text(&BASE) else {
                if s.refused.contains(&BASE.name) {
                    return None;
                }
                cx.push(
                    Problem::error(Code::MissingNode, r.name.span, format!("app `{name}` has no base image"))
                        .label("no `base`")
                        .help("add `base \"quay.io/jupyter/scipy-notebook:python-3.11\"` to the app or to `defaults`"),
                );
                return None;
            };
            let base = parse_image_ref(&base_sp.v).ok()?;
            let python = match s.text(&PYTHON) {
                Some(p) => Some(p.v.clone()),
                None => python_from_tag(&base.tag),
            };
            (base, python)
        }
    };
    let (torch, general) = match parent.and_then(|p| p.torch.as_ref()) {
        Some(t) => (Some(t.clone()), super::chain::inherited_torch(cx, r, t)),
        None => cuda::split_torch(cx, r, python.as_deref()),
    };
    let pip_files = super::reqfile::app_files(cx, r);
    let code_server = code_server::model(cx, r);
    let curl = code_server.is_some() || s.has(&super::downloads::DOWNLOAD);
    let gnupg = s.has(&super::apt_repository::APT_REPOSITORY);
    let mut apt = packages::apt_model(s, curl || gnupg, gnupg);
    super::locale::add_apt(s, &mut apt);
    let image_base = s
        .text(&IMAGE_NAME)
        .map_or(base.name.clone(), |n| n.v.clone());
    let image_repo = match s.text(&IMAGE_SUFFIX) {
        Some(sfx) => format!("{image_base}-{}", sfx.v),
        None => image_base,
    };
    let registries = registries?;
    let (kernels, removed_kernels) = super::kernels::model(cx, r);
    let mut app = App {
        name,
        description: s.text(&DESCRIPTION).map(|d| d.v.clone()),
        base,
        python,
        image: String::new(),
        torch,
        apt,
        mamba: packages::mamba_model(s),
        conda_environments: packages::environments_model(cx, s),
        code_server,
        pip: general,
        pip_files,
        pip_packages: super::pip_package::model(r),
        env: env::model(s),
        branches: Vec::new(),
        git_tags: Vec::new(),
        release: false,
        schedule: Vec::new(),
        pull_requests: true,
        paths: Vec::new(),
        image_tags: crate::model::ImageTags {
            templates: Vec::new(),
            latest: crate::model::Latest::Never,
        },
        pushes: Vec::new(),
        cache: crate::model::Cache::Gha,
        sbom: false,
        provenance: None,
        sign: false,
        native_runners: false,
        list_packages: true,
        runs_on: Vec::new(),
        platforms: Vec::new(),
        files: super::files::model(s, cx.root, &r.name.v),
        fs: super::fs::model(s),
        downloads: Vec::new(),
        apt_repositories: Vec::new(),
        labels: super::metadata::labels(s),
        build_args: super::metadata::build_args(s),
        workdir: super::metadata::workdir(s),
        apt_recommends: s.flag(&packages::APT_RECOMMENDS).is_some_and(|f| f.v),
        pip_pre: s.flag(&super::pip::PIP_PRE).is_some_and(|f| f.v),
        dockerfile: dockerfile::model(s, cx.root),
        setup: crate::model::Setup {
            timezone: super::locale::timezone(s),
            locales: super::locale::locales(s),
            conda_config: super::conda_config::model(s),
            pip_remove: super::pip_remove::model(cx, r),
            pip_remove_again: Vec::new(),
            kernel_install: super::kernel_install::model(s),
            cmd: super::runtime::command(s, &super::runtime::CMD),
            entrypoint: super::runtime::command(s, &super::runtime::ENTRYPOINT),
            expose: super::runtime::ports(s),
        },
        jupyter: super::jupyter::model(s),
        hooks: super::hooks::model(s),
        kernels,
        removed_kernels,
        free_disk_space: false,
        timeout_minutes: 0,
        stage_copies: super::copy_from::model(s),
        variant: None,
        parent: parent.map(|p| Parent {
            app: p.name.clone(),
            image: p.image.clone(),
            torch: p.torch.as_ref().map(|t| t.cuda.clone()),
        }),
        chain_root: parent.map_or_else(|| r.name.v.clone(), |p| p.chain_root.clone()),
    };
    workflow::apply(s, &mut app);
    super::triggers::apply(s, &mut app);
    super::publish::apply(cx, r, &mut app, registries, &image_repo)?;
    app.image_tags = super::image_tags::model(cx, r, &app);
    app.downloads = super::downloads::model(cx, r, &app.platforms);
    packages::check_lock_platforms(cx, r, &app.platforms);
    app.apt_repositories = super::apt_repository::model(cx, r, &app.platforms);
    super::kernels::native_kernel_config(cx, r, &mut app);
    super::files::check_destinations(cx, r, &app);
    Some(app)
}

pub fn is_python_version(s: &str) -> bool {
    let mut it = s.split('.');
    matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None)
        if !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

/// `python-3.11`, `python-3.11.9`, `2024-05-01-python-3.11` -> `3.11`.
pub fn python_from_tag(tag: &str) -> Option<String> {
    let i = tag.find("python-")?;
    let rest = &tag[i + "python-".len()..];
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    Some(format!("{major}.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_tags() {
        assert_eq!(python_from_tag("python-3.11").as_deref(), Some("3.11"));
        assert_eq!(
            python_from_tag("2024-05-01-python-3.12.3").as_deref(),
            Some("3.12")
        );
        assert_eq!(python_from_tag("latest"), None);
    }
}
