//! Apps built on apps: `base app=NAME` builds an app FROM the image of app NAME. This module
//! reads the `base` node (an image reference or `app=`), links every app to its parent, refuses
//! what cannot be built (a missing parent, a cycle, `base app=` in `defaults`), and checks that a
//! child agrees with what its parent image already fixed (PyTorch, Python, platforms, branches).
//! What the parent image already has is taken out of the child in [`super::delta`].

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children, suggest_app};
use super::identity::{BASE, PYTHON, Resolved};
use super::pip::{TORCH_FAMILY, requirements};
use super::publish::NATIVE_RUNNERS;
use super::raw::{Sp, Value};
use super::triggers::{GIT_TAGS, PULL_REQUESTS, RELEASE, SCHEDULE};
use super::workflow::{BRANCHES, PLATFORMS_SETTING};
use super::{RawManifest, cuda};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, Torch};

/// `base app=NAME`: the image of app NAME.
#[derive(Debug, Clone)]
pub struct RawBaseApp {
    pub app: Sp<String>,
}

/// `base "IMAGE"` (a [`Value::Text`], as every one-string setting) or `base app=NAME` (a
/// [`RawBaseApp`]): a reference can never be read as an app name, or the other way round.
pub fn read_base(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let app_given = en.props.iter().any(|(k, _)| *k == "app");
    let value = match en.prop_string("app", problems) {
        Some(app) => {
            if let Some(first) = en.args.first() {
                problems.push(
                    Problem::error(
                        Code::UnexpectedArgument,
                        first.span(),
                        "`base` takes an image reference or `app=NAME`, not both",
                    )
                    .label("image reference")
                    .help(format!(
                        "to build on app `{}`, write `base app={}` alone; to build on an image, remove `app=`",
                        app.v, app.v
                    )),
                );
                en.args.clear();
            }
            Some(Value::One(Box::new(RawBaseApp { app })))
        }
        // `app=` with a value of the wrong type: already reported.
        None if app_given => None,
        None => en
            .one_string("a base image reference, or `app=NAME`", problems)
            .map(Value::Text),
    };
    for (key, e) in std::mem::take(&mut en.props) {
        problems.push(
            Problem::error(
                Code::UnknownProperty,
                e.span(),
                format!("unknown property `{key}` on `base`"),
            )
            .label("unknown property")
            .help("`base` takes an image reference with its tag (`base \"quay.io/jupyter/scipy-notebook:python-3.11\"`), or `app=NAME` to build on the image of another app"),
        );
    }
    en.finish(&["app"], problems);
    no_children(node, problems);
    value
}

/// The app an app's resolved `base` names, if it is `base app=NAME`.
pub fn parent_name(r: &Resolved) -> Option<&Sp<String>> {
    r.settings.one::<RawBaseApp>(&BASE).map(|b| &b.app)
}

/// `defaults { base app=NAME }` would put every app, NAME itself included, on NAME. Returns
/// whether `defaults` is sound (no app is linked otherwise).
pub fn check_defaults(cx: &mut Checker<'_>, raw: &RawManifest) -> bool {
    let Some(b) = raw
        .defaults
        .as_ref()
        .and_then(|d| d.one::<RawBaseApp>(&BASE))
    else {
        return true;
    };
    cx.push(
        Problem::error(
            Code::BaseAppInDefaults,
            b.app.span,
            format!("`base app={}` cannot be a default", b.app.v),
        )
        .label("in `defaults`")
        .help(format!(
            "every app would be built on `{0}`, `{0}` itself included: keep an image in `defaults` and write `base app={0}` in the apps built on it",
            b.app.v
        )),
    );
    false
}

/// Each resolved app's parent (an index into `resolved`), or `None`. A `base app=` that names
/// no app, or one whose links run into a cycle, is reported here; apps declared but left out of
/// `resolved` (their own errors already reported) give `Err(())`: build nothing on them.
pub fn parents(
    cx: &mut Checker<'_>,
    raw: &RawManifest,
    resolved: &[Resolved],
) -> Vec<Result<Option<usize>, ()>> {
    let names: Vec<&str> = raw.apps.iter().map(|a| a.name.v.as_str()).collect();
    let mut out: Vec<Result<Option<usize>, ()>> = resolved
        .iter()
        .map(|r| {
            let Some(p) = parent_name(r) else {
                return Ok(None);
            };
            if let Some(i) = resolved.iter().position(|q| q.name.v == p.v) {
                return Ok(Some(i));
            }
            if !names.contains(&p.v.as_str()) {
                cx.push(
                    Problem::error(
                        Code::UnknownBaseApp,
                        p.span,
                        format!(
                            "app `{}` is built on `{}`, which is not declared",
                            r.name.v, p.v
                        ),
                    )
                    .label("no such app")
                    .help(suggest_app(&p.v, &names)),
                );
            }
            Err(())
        })
        .collect();
    for start in 0..out.len() {
        let mut path = vec![start];
        let mut at = start;
        while let Ok(Some(next)) = out[at] {
            if let Some(pos) = path.iter().position(|&i| i == next) {
                if pos == 0 {
                    report_cycle(cx, raw, resolved, &path);
                }
                out[start] = Err(());
                break;
            }
            path.push(next);
            at = next;
        }
    }
    out
}

/// Reports a cycle once, at the app of the cycle declared first; every link is labelled.
fn report_cycle(cx: &mut Checker<'_>, raw: &RawManifest, resolved: &[Resolved], cycle: &[usize]) {
    let first = cycle
        .iter()
        .min_by_key(|&&i| resolved[i].name.span.offset())
        .copied()
        .unwrap_or(cycle[0]);
    if first != cycle[0] {
        return;
    }
    let link = |i: usize| parent_name(&resolved[i]).expect("a cycle is made of `base app=` links");
    let mut names: Vec<&str> = cycle.iter().map(|&i| resolved[i].name.v.as_str()).collect();
    names.push(&resolved[cycle[0]].name.v);
    let message = if cycle.len() == 1 {
        format!("app `{}` is built on itself", names[0])
    } else {
        format!("`base app=` links form a cycle: {}", names.join(" -> "))
    };
    let mut p = Problem::error(Code::BaseAppCycle, link(cycle[0]).span, message)
        .label(format!("`{}` is built on `{}`{}", names[0], names[1], inherited(raw, &resolved[cycle[0]])))
        .help("an image cannot contain itself: let one app of the cycle build on an image (`base \"IMAGE:TAG\"`); an app that `extends` another inherits its `base` too, so give it its own");
    for (k, &i) in cycle.iter().enumerate().skip(1) {
        p = p.also(
            link(i).span,
            format!(
                "`{}` is built on `{}`{}",
                names[k],
                names[k + 1],
                inherited(raw, &resolved[i])
            ),
        );
    }
    cx.push(p);
}

/// " (inherited through `extends`)" when the app's `base app=` is written outside its block.
fn inherited(raw: &RawManifest, r: &Resolved) -> &'static str {
    let own = raw
        .apps
        .iter()
        .find(|a| a.name.v == r.name.v)
        .map(|a| a.span);
    match (own, parent_name(r)) {
        (Some(own), Some(p))
            if !(own.offset()..own.offset() + own.len()).contains(&p.span.offset()) =>
        {
            " (inherited through `extends`)"
        }
        _ => "",
    }
}

/// The index of every app after its parent's (parents first), for apps whose links are sound
/// all the way to an image.
pub fn build_order(parents: &[Result<Option<usize>, ()>]) -> Vec<usize> {
    // 0: not visited, 1: in the order, 2: left out.
    let mut state = vec![0u8; parents.len()];
    let mut order = Vec::with_capacity(parents.len());
    for start in 0..parents.len() {
        let mut path = Vec::new();
        let mut at = start;
        let ok = loop {
            match state[at] {
                1 => break true,
                2 => break false,
                _ => {}
            }
            if path.contains(&at) {
                break false;
            }
            path.push(at);
            match parents[at] {
                Ok(Some(p)) => at = p,
                Ok(None) => break true,
                Err(()) => break false,
            }
        };
        // `path` runs from `start` towards the root: add it root first.
        for &i in path.iter().rev() {
            if state[i] == 0 {
                let parent_ok = match parents[i] {
                    Ok(Some(p)) => state[p] == 1,
                    Ok(None) => true,
                    Err(()) => false,
                };
                state[i] = if ok && parent_ok { 1 } else { 2 };
                if state[i] == 1 {
                    order.push(i);
                }
            }
        }
    }
    order
}

fn mismatch(span: SourceSpan, link: &Sp<String>, message: String) -> Problem {
    Problem::error(Code::ParentMismatch, span, message)
        .also(link.span, format!("built on `{}`", link.v))
}

/// The pip requirements of a child whose parent image has PyTorch from a wheel index: its torch
/// family must be the parent's (the parent's constraints file holds it), and so must `cuda`.
/// Returns the general requirements.
pub fn inherited_torch(cx: &mut Checker<'_>, r: &Resolved, torch: &Torch) -> Vec<String> {
    let link = parent_name(r).expect("only children inherit PyTorch");
    if let Some(c) = cuda::cuda_of(&r.settings)
        && cuda::index_tag(c).is_some_and(|t| t != torch.index.tag())
    {
        cx.push(
            mismatch(
                c.version.span,
                link,
                format!(
                    "app `{}` asks for PyTorch for CUDA `{}`, but the image of `{}` has it for {}",
                    r.name.v,
                    c.version.v,
                    link.v,
                    if torch.cuda == "cpu" { "the CPU".to_string() } else { format!("CUDA {}", torch.cuda) }
                ),
            )
            .label("another PyTorch build")
            .help(format!(
                "an app keeps the PyTorch of the image it is built on: write `cuda \"{}\"` (or no `cuda`), or build `{}` on an image, not on `{}`",
                torch.cuda, r.name.v, link.v
            )),
        );
    }
    let (family, general): (Vec<_>, Vec<_>) = requirements(r)
        .into_iter()
        .partition(|p| TORCH_FAMILY.contains(&p.name.as_str()));
    for p in family {
        let parents = |name: &str| {
            torch
                .requirements
                .iter()
                .find(|t| super::pip::requirement_name(t).as_deref() == Some(name))
        };
        let same = match parents(&p.name) {
            Some(t) => p.text == p.name || super::pip::same_requirement(t, &p.canonical),
            None => false,
        };
        if !same {
            let has = parents(&p.name)
                .map_or_else(|| format!("has no `{}`", p.name), |t| format!("has `{t}`"));
            cx.push(
                mismatch(
                    p.span,
                    link,
                    format!("`{}` is not what the image of `{}` has: it {has}", p.text, link.v),
                )
                .label("another PyTorch requirement")
                .help(format!(
                    "the PyTorch of `{}` is held by its constraints file and cannot be replaced in an app built on it: remove this requirement, or write the parent's",
                    link.v
                )),
            );
        }
    }
    general.into_iter().map(|p| p.text).collect()
}

/// What a child must agree on with its parent: Python (the parent's), platforms (a subset of
/// the parent's, none on native runners of their own) and triggers (the chain builds in one
/// workflow, on its root's triggers).
pub fn check_against_parent(
    cx: &mut Checker<'_>,
    r: &Resolved,
    child: &App,
    parent: &App,
    root: &App,
) {
    let link = parent_name(r).expect("only children have parents");
    if let Some(p) = r.settings.text(&PYTHON)
        && parent.python.as_ref() != Some(&p.v)
    {
        cx.push(
            mismatch(
                p.span,
                link,
                format!(
                    "app `{}` asks for Python {}, but the image of `{}` has Python {}",
                    r.name.v,
                    p.v,
                    link.v,
                    parent.python.as_deref().unwrap_or("(unknown)")
                ),
            )
            .label("another Python")
            .help("an app built on another keeps its Python: remove `python`, or build it on an image with that Python"),
        );
    }
    let missing: Vec<&str> = child
        .platforms
        .iter()
        .filter(|p| !parent.platforms.contains(p))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let span = r
            .settings
            .words_opt(&PLATFORMS_SETTING)
            .and_then(|w| w.first())
            .map_or(r.name.span, |w| w.span);
        cx.push(
            mismatch(
                span,
                link,
                format!(
                    "app `{}` is built for {}, which the image of `{}` is not",
                    r.name.v,
                    missing.join(", "),
                    link.v
                ),
            )
            .label("platform the parent lacks")
            .help(format!(
                "build `{}` for the platforms of `{}` ({}) or fewer",
                r.name.v,
                link.v,
                parent.platforms.join(", ")
            )),
        );
    }
    // The chain builds in its root's workflow, on its root's triggers.
    let triggers = |a: &App| {
        (
            a.branches.clone(),
            a.git_tags.clone(),
            a.release,
            a.schedule.clone(),
            a.pull_requests,
        )
    };
    if triggers(child) != triggers(root) {
        let span = [&BRANCHES, &GIT_TAGS, &RELEASE, &SCHEDULE, &PULL_REQUESTS]
            .iter()
            .find_map(|def| r.settings.get(def).and_then(value_span))
            .unwrap_or(r.name.span);
        cx.push(
            mismatch(
                span,
                link,
                format!(
                    "app `{}` builds on other triggers than `{}`, whose workflow builds it",
                    r.name.v, root.name
                ),
            )
            .label("other triggers")
            .help(format!(
                "an app and the apps built on it build in one workflow, on the triggers of `{}` (`branches`, `git-tags`, `release`, `schedule`, `pull-requests`): give them the same ones (in `defaults`, for instance)",
                root.name
            )),
        );
    }
    if child.split_platforms() || parent.split_platforms() {
        let span = r
            .settings
            .get(&NATIVE_RUNNERS)
            .and_then(value_span)
            .unwrap_or(r.name.span);
        cx.push(
            mismatch(
                span,
                link,
                format!(
                    "app `{}` and the app it is built on cannot build their platforms on native runners",
                    r.name.v
                ),
            )
            .label("native runners")
            .help("apps built on apps build all their platforms in one job each (with QEMU): the parent's one image, by digest, is what its children build on. Remove `native-runners`, or build one platform"),
        );
    }
    for (span, message) in super::conda_config::dropped_by_child(r, parent) {
        cx.push(
            mismatch(span, link, message)
                .label("drops a value of the parent image")
                .help(format!(
                    "a `conda-config` list is put before the values the image already has: the image of `{}` keeps its values. List them too, or build the app on an image",
                    link.v
                )),
        );
    }
}

/// Where a setting's value is written, for settings of a simple shape.
fn value_span(v: &Value) -> Option<SourceSpan> {
    match v {
        Value::Text(t) => Some(t.span),
        Value::Words(w) => w.first().map(|w| w.span),
        Value::Flag(f) => Some(f.span),
        Value::Number(n) => Some(n.span),
        Value::Map(m) => m.first().map(|(k, _)| k.span),
        Value::One(_) | Value::Items(_) => None,
    }
}

/// `base`: the image, or the app it is built on and that app's image.
pub fn explain_base(cx: &mut Ctx<'_>, r: &crate::nodes::Resolved, app: &App) {
    match (r.settings.text(&BASE), parent_name(r), &app.parent) {
        (Some(image), _, _) => cx.one("base", image),
        (None, Some(link), Some(parent)) => {
            let o = cx.origin(link.span);
            cx.push("base", format!("app={}", link.v), o);
            cx.push(
                "parent image",
                format!("{}:{}", parent.image, app.base.tag),
                Origin::Derived {
                    note: format!(
                        "CI builds FROM the exact image of `{}`; what it has is not installed again",
                        parent.app
                    ),
                },
            );
            cx.push(
                "root base",
                app.base.full(),
                Origin::Derived {
                    note: "the first image of the chain: names and tags derive from it".into(),
                },
            );
        }
        _ => {}
    }
}
