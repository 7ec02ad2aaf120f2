//! `hook before-notebook|start-notebook "NN-NAME" "SCRIPT"` or `... file="PATH"`: start-up
//! hooks the stacks' start script runs from `/usr/local/bin/<stage>.d/` in name order (`*.sh`
//! sourced, other files executed). Inline scripts are generated into `src/<app>/`; both kinds
//! are copied root-owned with mode 0755.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children, string_of};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, Hook};

pub static HOOK: Setting = Setting {
    name: "hook",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: Some("hook before-notebook \"10-git.sh\" file=\"hooks/git.sh\""),
    check,
    explain: Explain::Custom(explain),
};

/// The stacks' hook directories, in the order the start script runs them.
pub const STAGES: &[&str] = &["start-notebook", "before-notebook"];

#[derive(Debug, Clone)]
pub struct RawHook {
    pub span: SourceSpan,
    pub stage: Sp<String>,
    pub name: Sp<String>,
    pub script: Option<Sp<String>>,
    pub file: Option<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let stage = en.one_string("a stage, `before-notebook` or `start-notebook`", problems);
    let name = stage
        .as_ref()
        .and_then(|_| en.one_string("a file name such as \"10-git.sh\"", problems));
    let script = if en.args.is_empty() {
        None
    } else {
        let e = en.args.remove(0);
        string_of(e, "the script of `hook`", problems)
    };
    let file = en.prop_string("file", problems);
    en.finish(&["file"], problems);
    no_children(node, problems);
    let (stage, name) = (stage?, name?);
    if script.is_some() == file.is_some() {
        problems.push(
            Problem::error(
                if script.is_some() { Code::InvalidHook } else { Code::MissingArgument },
                node.span(),
                "`hook` needs either an inline script or `file=`, one of the two",
            )
            .label(if script.is_some() { "both given" } else { "script missing" })
            .help("`hook before-notebook \"10-git.sh\" #\"\"\"...\"\"\"#` or `hook before-notebook \"10-git.sh\" file=\"hooks/git.sh\"`"),
        );
        return None;
    }
    let hook = RawHook {
        span: node.span(),
        stage,
        name,
        script,
        file,
    };
    Some(Value::Items(vec![Box::new(hook)]))
}

/// A name sorts where its two-digit prefix says, whatever the rest.
fn name_ok(n: &str) -> bool {
    let b = n.as_bytes();
    n.len() <= 64
        && b.len() > 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b'-'
        && b[3].is_ascii_alphanumeric()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<(&str, &str, SourceSpan)> = Vec::new();
    for h in v.items::<RawHook>() {
        if !STAGES.contains(&h.stage.v.as_str()) {
            cx.push(
                Problem::error(Code::InvalidHook, h.stage.span, format!("unknown stage `{}`", h.stage.v.escape_debug()))
                    .label("stage")
                    .help("`before-notebook` (runs last, just before the server starts) or `start-notebook` (runs first, as the container starts)"),
            );
        }
        if !name_ok(&h.name.v) {
            cx.push(
                Problem::error(Code::InvalidHook, h.name.span, format!("`{}` is not a hook name jcx accepts", h.name.v.escape_debug()))
                    .label("hook name")
                    .help("two digits, `-`, then letters, digits, `.`, `_` or `-`: `10-git.sh`. The stacks run hooks in name order, so the digits state the order; `.sh` files are sourced by the start script (they can export variables), others are executed"),
            );
        }
        if let Some((_, _, first)) = seen
            .iter()
            .find(|(s, n, _)| *s == h.stage.v && *n == h.name.v)
        {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    h.name.span,
                    format!("hook `{}` is given twice", h.name.v),
                )
                .label("given again here")
                .also(*first, "first given here")
                .help("give each hook of a stage its own name"),
            );
        }
        seen.push((&h.stage.v, &h.name.v, h.name.span));
        let sourced = h.name.v.ends_with(".sh");
        if let Some(s) = &h.script {
            if !cx.safe(s, "the hook script", true) {
                continue;
            }
            if s.v.trim().is_empty() {
                cx.push(
                    Problem::error(Code::InvalidHook, s.span, "the hook script is empty")
                        .label("empty")
                        .help("write the script, or remove the hook"),
                );
            } else if !sourced && !s.v.trim_start().starts_with("#!") {
                cx.push(no_shebang(s.span, &h.name.v));
            }
        }
        if let Some(f) = &h.file {
            check_file(cx, f, &h.name.v, sourced);
        }
    }
}

fn no_shebang(span: SourceSpan, name: &str) -> Problem {
    Problem::error(Code::InvalidHook, span, format!("`{name}` is executed, but has no `#!` line"))
        .label("no interpreter")
        .help("a hook whose name does not end in `.sh` is executed, so it starts with `#!/bin/bash` (or another interpreter); or name it `….sh` to have it sourced")
}

fn check_file(cx: &mut Checker<'_>, f: &Sp<String>, name: &str, sourced: bool) {
    let before = cx.problems.len();
    super::files::check_src(cx, f);
    if cx.problems.len() > before {
        return;
    }
    let Some(root) = cx.root else { return };
    let path = root.join(&f.v);
    if path.is_dir() {
        cx.push(
            Problem::error(
                Code::InvalidHook,
                f.span,
                format!("`{}` is a directory", f.v),
            )
            .label("not a file")
            .help("a hook is one script: name the file"),
        );
    } else if !sourced && !std::fs::read(&path).is_ok_and(|b| b.starts_with(b"#!")) {
        cx.push(no_shebang(f.span, name));
    }
}

/// Appends, a child's hook replacing the inherited one of the same stage and name.
fn merge(base: &mut Value, over: &Value) {
    let keys: Vec<(String, String)> = over
        .items::<RawHook>()
        .map(|h| (h.stage.v.clone(), h.name.v.clone()))
        .collect();
    if let Some(items) = base.boxed_items() {
        items.retain(|i| {
            (**i)
                .as_any()
                .downcast_ref::<RawHook>()
                .is_none_or(|h| !keys.contains(&(h.stage.v.clone(), h.name.v.clone())))
        });
    }
    base.extend(over.clone());
}

pub fn model(s: &RawSettings) -> Vec<Hook> {
    let mut hooks: Vec<Hook> = s
        .items::<RawHook>(&HOOK)
        .map(|h| Hook {
            stage: h.stage.v.clone(),
            name: h.name.v.clone(),
            script: h.script.as_ref().map(|s| s.v.clone()),
            file: h.file.as_ref().map(|f| f.v.clone()),
        })
        .collect();
    hooks.sort_by(|a, b| (&a.stage, &a.name).cmp(&(&b.stage, &b.name)));
    hooks
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for h in r.settings.items::<RawHook>(&HOOK) {
        let from = h
            .file
            .as_ref()
            .map_or("inline script".to_string(), |f| format!("from {}", f.v));
        let o = cx.origin(h.span);
        cx.push("hook", format!("{}.d/{} ({from})", h.stage.v, h.name.v), o);
    }
}
