//! JupyterHub registration: the top-level `jupyterhub` node (which profile is the default, which
//! extended resource a GPU is) and the app setting `hub-profile` (an app's display name, its GPU
//! count, or leaving it out). Builds the profiles that `render::jupyterhub` writes for Zero to
//! JupyterHub, its pre-puller and DockerSpawner.

use std::collections::HashMap;

use kdl::{KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children, set_once, suggest_app, type_name};
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use super::{RawManifest, cuda, workflow};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, HubProfile, JupyterHub, Latest, TagPart, TagTemplate};

pub const DEFAULT_GPU_RESOURCE: &str = "nvidia.com/gpu";
/// More GPUs than any single node offers today; a bigger number is a typo.
pub const MAX_GPUS: i128 = 16;
const MAX_DISPLAY_NAME: usize = 100;

pub static HUB_PROFILE: Setting = Setting {
    name: "hub-profile",
    shape: Shape::Custom(read_profile),
    inherit: Inherit::Never,
    once: true,
    app_only: true,
    example: Some("hub-profile display-name=\"PyTorch (GPU)\" gpus=1"),
    check: check_profile,
    explain: Explain::Custom(explain_profile),
};

/// `hub-profile #false`, or `hub-profile [display-name="…"] [gpus=N]`.
#[derive(Debug, Clone)]
pub struct RawHubProfile {
    pub span: SourceSpan,
    pub offered: Option<Sp<bool>>,
    pub display_name: Option<Sp<String>>,
    pub gpus: Option<Sp<i128>>,
}

/// `jupyterhub [default=APP] [gpu-resource="nvidia.com/gpu"]`.
#[derive(Debug)]
pub struct RawHub {
    pub span: SourceSpan,
    pub default: Option<Sp<String>>,
    pub gpu_resource: Option<Sp<String>>,
}

fn integer_prop(e: &KdlEntry, key: &str, problems: &mut Vec<Problem>) -> Option<Sp<i128>> {
    match e.value() {
        KdlValue::Integer(i) => Some(Sp::new(*i, e.span())),
        other => {
            problems.push(
                Problem::error(
                    Code::WrongType,
                    e.span(),
                    format!(
                        "property `{key}` expects an integer, not {}",
                        type_name(other)
                    ),
                )
                .label(format!("{} here", type_name(other)))
                .help(format!("write a number without quotes: `{key}=1`")),
            );
            None
        }
    }
}

fn read_profile(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mark = problems.len();
    let mut en = Entries::new(node, problems);
    let offered = if en.args.is_empty() {
        None
    } else {
        en.one_value(
            "#true or #false",
            "write `hub-profile #false` to leave the app out of the hub",
            |v| match v {
                KdlValue::Bool(b) => Some(*b),
                _ => None,
            },
            problems,
        )
    };
    let display_name = en.prop_string("display-name", problems);
    let gpus = en
        .prop("gpus")
        .and_then(|e| integer_prop(e, "gpus", problems));
    en.finish(&["display-name", "gpus"], problems);
    no_children(node, problems);
    if offered.is_none() && display_name.is_none() && gpus.is_none() && problems.len() == mark {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                node.name().span(),
                "`hub-profile` needs `#false`, `display-name=` or `gpus=`",
            )
            .label("nothing set")
            .help("for example `hub-profile display-name=\"PyTorch (GPU)\" gpus=1`, or `hub-profile #false` to leave the app out of the hub; without the node the app is offered as it is"),
        );
    }
    Some(Value::One(Box::new(RawHubProfile {
        span: node.span(),
        offered,
        display_name,
        gpus,
    })))
}

/// Characters with a meaning in HTML: KubeSpawner's form writes the display name into the page
/// unescaped, and DockerSpawner's form uses it as an attribute value that is posted back.
const HTML_SPECIAL: &[char] = &['<', '>', '&', '"', '\''];

fn check_profile(cx: &mut Checker<'_>, v: &Value) {
    let Some(p) = v.one::<RawHubProfile>() else {
        return;
    };
    if p.offered.as_ref().is_some_and(|o| !o.v) {
        for span in [
            p.display_name.as_ref().map(|d| d.span),
            p.gpus.as_ref().map(|g| g.span),
        ]
        .into_iter()
        .flatten()
        {
            cx.push(
                Problem::error(
                    Code::InvalidHub,
                    span,
                    "an app left out of the hub (`hub-profile #false`) has no profile to set",
                )
                .label("has no effect")
                .help("remove `#false` to offer the app, or remove this property"),
            );
        }
    }
    if let Some(d) = &p.display_name
        && cx.safe(d, "the display name", false)
    {
        let problem = if d.v.trim().is_empty() {
            Some("the display name is empty".to_string())
        } else if let Some(c) = d.v.chars().find(|c| HTML_SPECIAL.contains(c)) {
            Some(format!("the display name contains `{c}`"))
        } else if d.v.chars().count() > MAX_DISPLAY_NAME {
            Some(format!(
                "the display name is {} characters long; the limit is {MAX_DISPLAY_NAME}",
                d.v.chars().count()
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            cx.push(
                Problem::error(Code::InvalidHub, d.span, message)
                    .label("display name")
                    .help("a display name is a short label without `<`, `>`, `&` and quotes: KubeSpawner writes it into the spawn page as HTML, DockerSpawner posts it back as the chosen image"),
            );
        }
    }
    if let Some(g) = &p.gpus
        && !(0..=MAX_GPUS).contains(&g.v)
    {
        cx.push(
            Problem::error(
                Code::InvalidNumber,
                g.span,
                format!("`gpus` must be between 0 and {MAX_GPUS}, not {}", g.v),
            )
            .label("GPUs")
            .help("the number of GPUs one user server gets; 0 gives a CUDA app none"),
        );
    }
}

pub fn read_hub(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let mut en = Entries::new(node, problems);
    let default = en.prop_string("default", problems);
    let gpu_resource = en.prop_string("gpu-resource", problems);
    en.finish(&["default", "gpu-resource"], problems);
    no_children(node, problems);
    let hub = Some(RawHub {
        span: node.span(),
        default,
        gpu_resource,
    });
    set_once(&mut m.jupyterhub, hub, node, seen, problems);
}

/// A Kubernetes extended resource name: `domain/name`, as device plugins register them.
pub fn is_extended_resource(s: &str) -> bool {
    let Some((domain, name)) = s.split_once('/') else {
        return false;
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    domain.len() <= 253 && domain.contains('.') && domain.split('.').all(label) && name_ok
}

/// A branch name the workflow can push a tag for: a pattern without glob characters.
pub fn is_literal_branch(b: &str) -> bool {
    !b.contains(['*', '+', '!', '?', '['])
}

/// The moving tag a profile names, and which builds move it: the first `image-tags` template
/// made of literal text, `{base}` and `{branch}` for the app's first plain branch (jcx's
/// default scheme: `<base tag>-<branch>`); else the first fixed template (pushed by every
/// build); else `latest` when it moves.
pub fn hub_tag(app: &App) -> Option<(String, String)> {
    let branch = app.branches.iter().find(|b| is_literal_branch(b));
    let only = |t: &TagTemplate, branch_ok: bool| {
        t.parts.iter().all(|p| {
            matches!(p, TagPart::Text(_) | TagPart::Base) || (branch_ok && *p == TagPart::Branch)
        })
    };
    let render = |t: &TagTemplate, branch: &str| -> String {
        t.parts
            .iter()
            .map(|p| match p {
                TagPart::Text(x) => x.as_str(),
                TagPart::Base => app.base.tag.as_str(),
                _ => branch,
            })
            .collect()
    };
    let templates = &app.image_tags.templates;
    if let Some(b) = branch
        && let Some(t) = templates
            .iter()
            .find(|t| t.parts.contains(&TagPart::Branch) && only(t, true))
    {
        return Some((
            sanitize_tag(&render(t, b)),
            format!("the newest push of branch `{b}`"),
        ));
    }
    if let Some(t) = templates.iter().find(|t| only(t, false)) {
        return Some((render(t, ""), "the newest build".into()));
    }
    match app.image_tags.latest {
        Latest::Never => None,
        Latest::DefaultBranch => Some((
            "latest".into(),
            "the newest build of the default branch".into(),
        )),
        Latest::Release => Some(("latest".into(), "the newest release".into())),
    }
}

/// The tag the build-push workflow moves to the newest build of `branch`: metadata-action's
/// `type=ref,event=branch` with the base tag as prefix, where every run of characters a tag
/// cannot hold becomes `-`.
pub fn moving_tag(base_tag: &str, branch: &str) -> String {
    sanitize_tag(&format!("{base_tag}-{branch}"))
}

/// metadata-action's sanitising: every run of characters a tag cannot hold becomes `-`.
fn sanitize_tag(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_run = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || "._-".contains(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}

fn is_cuda_app(r: &Resolved) -> bool {
    cuda::cuda_of(&r.settings).is_some_and(|c| c.version.v != "cpu")
}

fn gpu_resource(cx: &mut Checker<'_>, hub: &RawHub) -> String {
    let Some(g) = &hub.gpu_resource else {
        return DEFAULT_GPU_RESOURCE.to_string();
    };
    if cx.safe(g, "the GPU resource", false) && !is_extended_resource(&g.v) {
        cx.push(
            Problem::error(Code::InvalidHub, g.span, format!("`{}` is not a Kubernetes extended resource name", g.v.escape_debug()))
                .label("GPU resource")
                .help("write the resource the GPU device plugin registers, `DOMAIN/NAME`: \"nvidia.com/gpu\" (the default), \"amd.com/gpu\", \"gpu.intel.com/i915\""),
        );
    }
    g.v.clone()
}

/// The hub's profiles, one per app that is not left out, in manifest order; `None` without a
/// `jupyterhub` node (then a `hub-profile` only gets a warning).
pub fn model(
    cx: &mut Checker<'_>,
    raw: &RawManifest,
    resolved: &[Resolved],
    apps: &[App],
) -> Option<JupyterHub> {
    let Some(hub) = &raw.jupyterhub else {
        for r in resolved {
            if let Some(p) = r.settings.one::<RawHubProfile>(&HUB_PROFILE) {
                cx.push(
                    Problem::warning(Code::InvalidHub, p.span, format!("`hub-profile` of app `{}` has no effect: the manifest has no `jupyterhub` node", r.name.v))
                        .label("no hub files are generated")
                        .help("add `jupyterhub` at the top level to generate the JupyterHub profiles, or remove `hub-profile`"),
                );
            }
        }
        return None;
    };
    let gpu_resource = gpu_resource(cx, hub);
    let mut profiles: Vec<HubProfile> = Vec::new();
    let mut left_out: Vec<&str> = Vec::new();
    let mut display_names: HashMap<String, SourceSpan> = HashMap::new();
    for r in resolved {
        let Some(app) = apps.iter().find(|a| a.name == r.name.v) else {
            continue;
        };
        let p = r.settings.one::<RawHubProfile>(&HUB_PROFILE);
        if p.and_then(|p| p.offered.as_ref()).is_some_and(|o| !o.v) {
            left_out.push(&app.name);
            continue;
        }
        let Some((tag, moved_by)) = hub_tag(app) else {
            let span = r
                .settings
                .words_opt(&workflow::BRANCHES)
                .and_then(|w| w.first())
                .map_or(r.name.span, |w| w.span);
            cx.push(
                Problem::error(Code::InvalidHub, span, format!("app `{}` pushes no moving tag the hub can name: its `branches` are all patterns (or none), and no other template or `latest` moves", app.name))
                    .label("no plain branch name")
                    .help("the profile names the tag of the app's first plain branch (`<base tag>-<branch>`): list one, `branches main \"feat/**\"`; or give `image-tags` a fixed template or `latest=`; or leave the app out of the hub with `hub-profile #false`"),
            );
            continue;
        };
        let (display_name, name_span) = match p.and_then(|p| p.display_name.as_ref()) {
            Some(d) => (d.v.clone(), d.span),
            None => (app.name.clone(), r.name.span),
        };
        if let Some(first) = display_names.insert(display_name.clone(), name_span) {
            cx.push(
                Problem::error(
                    Code::InvalidHub,
                    name_span,
                    format!("two hub profiles are called `{display_name}`"),
                )
                .label("same display name")
                .also(first, "first profile with that name")
                .help("users choose a profile by its display name: give one of them another `hub-profile display-name=`"),
            );
        }
        let gpus = p
            .and_then(|p| p.gpus.as_ref())
            .map_or(u32::from(is_cuda_app(r)), |g| g.v.clamp(0, MAX_GPUS) as u32);
        profiles.push(HubProfile {
            slug: app.name.clone(),
            display_name,
            description: app.description.clone(),
            image: app.image.clone(),
            moved_by,
            tag,
            gpus,
            gpu_resource: gpu_resource.clone(),
            default: false,
        });
    }
    choose_default(cx, hub, resolved, &left_out, &mut profiles);
    if profiles.is_empty() && !left_out.is_empty() && left_out.len() == apps.len() {
        cx.push(
            Problem::error(
                Code::InvalidHub,
                hub.span,
                "every app is left out of the hub (`hub-profile #false`)",
            )
            .label("no profile to offer")
            .help("offer at least one app, or remove the `jupyterhub` node"),
        );
    }
    Some(JupyterHub { profiles })
}

fn choose_default(
    cx: &mut Checker<'_>,
    hub: &RawHub,
    resolved: &[Resolved],
    left_out: &[&str],
    profiles: &mut [HubProfile],
) {
    let Some(d) = &hub.default else {
        if let Some(first) = profiles.first_mut() {
            first.default = true;
        }
        return;
    };
    if let Some(p) = profiles.iter_mut().find(|p| p.slug == d.v) {
        p.default = true;
    } else if left_out.contains(&d.v.as_str()) {
        cx.push(
            Problem::error(
                Code::InvalidHub,
                d.span,
                format!("the default profile `{}` is left out of the hub", d.v),
            )
            .label("left out by `hub-profile #false`")
            .help("name an app the hub offers, or offer this one"),
        );
    } else if !resolved.iter().any(|r| r.name.v == d.v) {
        let names: Vec<&str> = resolved.iter().map(|r| r.name.v.as_str()).collect();
        cx.push(
            Problem::error(
                Code::InvalidHub,
                d.span,
                format!("`default={}` names no app", d.v.escape_debug()),
            )
            .label("no such app")
            .help(suggest_app(&d.v, &names)),
        );
    }
}

fn explain_profile(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    let written = r.settings.one::<RawHubProfile>(&HUB_PROFILE);
    if let Some(p) = written {
        let mut parts: Vec<String> = Vec::new();
        if let Some(o) = &p.offered {
            parts.push(format!("#{}", o.v));
        }
        if let Some(d) = &p.display_name {
            parts.push(format!("display-name=\"{}\"", d.v));
        }
        if let Some(g) = &p.gpus {
            parts.push(format!("gpus={}", g.v));
        }
        let o = cx.origin(p.span);
        cx.push("hub-profile", parts.join(" "), o);
    }
    let Some(hub) = &cx.manifest().jupyterhub else {
        return;
    };
    let Some(profile) = hub.profiles.iter().find(|p| p.slug == r.name.v) else {
        return;
    };
    let image = format!("{}:{}", profile.image, profile.tag);
    let gpus = if profile.gpus == 0 {
        "no GPU".to_string()
    } else {
        format!("{} {}", profile.gpus, profile.gpu_resource)
    };
    let note = format!(
        "{}, {gpus}{}",
        profile.moved_by,
        if profile.default { ", the default" } else { "" }
    );
    cx.push("hub image", image, Origin::Derived { note });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_tags_as_metadata_action_writes_them() {
        assert_eq!(moving_tag("python-3.11", "main"), "python-3.11-main");
        assert_eq!(
            moving_tag("python-3.11", "release/2026@x"),
            "python-3.11-release-2026-x"
        );
        assert_eq!(moving_tag("2024-05-01", "a//b"), "2024-05-01-a-b");
        // A run of refused characters becomes one `-`, next to a `-` that was there.
        assert_eq!(moving_tag("x", "a-/b"), "x-a--b");
    }

    #[test]
    fn extended_resources() {
        for ok in ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915"] {
            assert!(is_extended_resource(ok), "{ok}");
        }
        for bad in [
            "gpu",
            "nvidia.com/",
            "/gpu",
            "Nvidia.com/gpu",
            "nvidia/gpu",
            "a.b/c d",
        ] {
            assert!(!is_extended_resource(bad), "{bad}");
        }
    }

    #[test]
    fn literal_branches() {
        assert!(is_literal_branch("main") && is_literal_branch("release/1.0"));
        assert!(!is_literal_branch("feat/**") && !is_literal_branch("v+"));
    }
}
