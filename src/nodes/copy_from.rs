//! `copy-from STAGE "/path/in/stage" to="/path/in/image" [owner=notebook|root] [mode="0755"]`:
//! what an app takes out of a builder stage (`stage`, see `stages.rs`), as `COPY --from`. The
//! destination, owner and mode follow the rules of `file`; the stage must be declared.

use kdl::KdlNode;
use miette::SourceSpan;

use super::RawManifest;
use super::check::Checker;
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use super::stages::{check_stage_path, suggest_stage};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, StageCopy};

pub static COPY_FROM: Setting = Setting {
    name: "copy-from",
    shape: Shape::Custom(read),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("copy-from rust-tools \"/out/bin/rg\" to=\"/usr/local/bin/rg\""),
    check,
    explain: Explain::Custom(explain),
};

#[derive(Debug, Clone)]
pub struct RawCopy {
    pub span: SourceSpan,
    pub stage: Sp<String>,
    pub src: Sp<String>,
    pub to: Sp<String>,
    pub owner: Option<Sp<String>>,
    pub mode: Option<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let stage = en.one_string("a stage name and a path in that stage", problems);
    let src = stage
        .as_ref()
        .and_then(|_| en.one_string("a path in the stage after the stage name", problems));
    let to = en.prop_string("to", problems);
    let owner = en.prop_string("owner", problems);
    let mode = en.prop_string("mode", problems);
    en.finish(&["to", "owner", "mode"], problems);
    no_children(node, problems);
    if to.is_none() && src.is_some() {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                node.span(),
                "`copy-from` needs `to=`, the path in the image",
            )
            .label("destination missing")
            .help("for example `copy-from rust-tools \"/out/bin/rg\" to=\"/usr/local/bin/rg\"`"),
        );
    }
    let copy = RawCopy {
        span: node.span(),
        stage: stage?,
        src: src?,
        to: to?,
        owner,
        mode,
    };
    Some(Value::Items(vec![Box::new(copy)]))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for c in v.items::<RawCopy>() {
        check_stage_path(cx, &c.src, "the path in the stage");
        super::files::check_dest(cx, &c.to);
        if let Some(o) = &c.owner {
            if !matches!(o.v.as_str(), "notebook" | "root") {
                cx.push(
                    Problem::error(Code::InvalidFile, o.span, format!("unknown owner `{}`", o.v.escape_debug()))
                        .label("owner")
                        .help("expected `notebook` (the default: the notebook user, who can change the file) or `root`"),
                );
            } else if let Some(tree) = crate::model::stacks_tree(&c.to.v).filter(|_| o.v == "root")
            {
                cx.push(
                    Problem::error(Code::InvalidFile, o.span, format!("`{}` lies in `{tree}`, which belongs to the notebook user", c.to.v))
                        .label("root-owned")
                        .also(c.to.span, "destination")
                        .help("the stacks keep HOME and CONDA_DIR writable by the notebook user's group: copy there with `owner=notebook` (the default), or copy root-owned files elsewhere, such as `/usr/local/bin/`"),
                );
            }
        }
        if let Some(m) = &c.mode
            && !((3..=4).contains(&m.v.len()) && m.v.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        {
            cx.push(
                Problem::error(
                    Code::InvalidFile,
                    m.span,
                    format!("`{}` is not a file mode", m.v.escape_debug()),
                )
                .label("mode")
                .help("write octal permissions as a string, such as `mode=\"0755\"`"),
            );
        }
    }
}

/// Every `copy-from` (in `defaults` and apps, where it is written) names a declared stage.
/// Returns the stages copied from; `None` when a `copy-from` was refused (which stage it names
/// is then unknown).
pub fn check_references(
    cx: &mut Checker<'_>,
    raw: &RawManifest,
    names: &[&str],
) -> Option<Vec<String>> {
    let blocks = raw
        .defaults
        .iter()
        .chain(raw.apps.iter().map(|a| &a.settings));
    let mut used: Vec<String> = Vec::new();
    let mut refused = false;
    for s in blocks {
        refused |= s.refused.contains(&COPY_FROM.name);
        for c in s.items::<RawCopy>(&COPY_FROM) {
            if names.contains(&c.stage.v.as_str()) {
                if !used.contains(&c.stage.v) {
                    used.push(c.stage.v.clone());
                }
                continue;
            }
            cx.push(
                Problem::error(
                    Code::UnknownStage,
                    c.stage.span,
                    format!(
                        "`copy-from` names stage `{}`, which is not declared",
                        c.stage.v.escape_debug()
                    ),
                )
                .label("no such stage")
                .help(suggest_stage(&c.stage.v, names)),
            );
        }
    }
    (!refused).then_some(used)
}

/// What an app copies out of stages, in manifest order (inherited first).
pub fn model(s: &RawSettings) -> Vec<StageCopy> {
    s.items::<RawCopy>(&COPY_FROM)
        .map(|c| StageCopy {
            stage: c.stage.v.clone(),
            // `/out/` and `/out` copy the same (a directory's contents); `/` stays `/`.
            src: match c.src.v.trim_end_matches('/') {
                "" => "/".to_string(),
                s => s.to_string(),
            },
            to: c.to.v.clone(),
            root_owned: c.owner.as_ref().is_some_and(|o| o.v == "root"),
            mode: c.mode.as_ref().map(|m| m.v.clone()),
        })
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for c in r.settings.items::<RawCopy>(&COPY_FROM) {
        let owner = c.owner.as_ref().map_or("notebook", |o| o.v.as_str());
        let mode = c
            .mode
            .as_ref()
            .map_or(String::new(), |m| format!(", mode {}", m.v));
        let o = cx.origin(c.span);
        cx.push(
            "copy-from",
            format!("{}:{} -> {} ({owner}{mode})", c.stage.v, c.src.v, c.to.v),
            o,
        );
    }
}
