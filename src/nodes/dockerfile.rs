//! `dockerfile "..." user=root|notebook`: the escape hatch. Blocks are spliced into the app's
//! single stage in manifest order, so each is read the way BuildKit will read it: no block may
//! start a stage, carry a parser directive or leave an instruction open into jcx's lines.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, DockerfileBlock};

pub static DOCKERFILE: Setting = Setting {
    name: "dockerfile",
    shape: Shape::Custom(read),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("dockerfile #\"RUN echo hi\"#"),
    check,
    explain: Explain::Custom(explain),
};

#[derive(Debug, Clone)]
pub struct RawDockerfile {
    pub span: SourceSpan,
    pub text: Sp<String>,
    pub as_root: bool,
    /// One of [`POSITIONS`].
    pub at: &'static str,
}

/// Where a block can go among jcx's own steps.
pub const POSITIONS: &[&str] = &["start", "after-system", "before-pip", "end"];

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let text = en.one_string(
        "Dockerfile lines (a raw string such as #\"RUN echo hi\"#)",
        problems,
    );
    let user = en.prop_string("user", problems);
    let at = en.prop_string("at", problems);
    en.finish(&["user", "at"], problems);
    no_children(node, problems);
    let as_root = match &user {
        None => false,
        Some(u) if u.v == "root" => true,
        Some(u) if u.v == "notebook" => false,
        Some(u) => {
            problems.push(
                Problem::error(
                    Code::InvalidDockerfile,
                    u.span,
                    format!("unknown user `{}` for a `dockerfile` block", u.v),
                )
                .label("user")
                .help("expected one of `root`, `notebook` (the default)"),
            );
            false
        }
    };
    let at = match &at {
        None => "end",
        Some(a) => match POSITIONS.iter().find(|p| **p == a.v) {
            Some(p) => p,
            None => {
                problems.push(
                    Problem::error(
                        Code::InvalidDockerfile,
                        a.span,
                        format!("unknown position `{}` for a `dockerfile` block", a.v.escape_debug()),
                    )
                    .label("position")
                    .help(format!(
                        "{}; `start` is before system packages, `after-system` after apt and code-server, `before-pip` before requirements.txt, `end` (the default) after everything",
                        super::decode::did_you_mean(&a.v, POSITIONS).unwrap_or_else(|| format!("expected one of {}", super::decode::backticked(POSITIONS)))
                    )),
                );
                "end"
            }
        },
    };
    let block = RawDockerfile {
        span: node.span(),
        text: text?,
        as_root,
        at,
    };
    Some(Value::Items(vec![Box::new(block)]))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for d in v.items::<RawDockerfile>() {
        check_block(cx, d);
    }
}

fn check_block(cx: &mut Checker<'_>, d: &RawDockerfile) {
    if !cx.safe(&d.text, "the `dockerfile` block", true) {
        return;
    }
    if d.text.v.trim().is_empty() {
        cx.push(
            Problem::error(
                Code::InvalidDockerfile,
                d.text.span,
                "the `dockerfile` block is empty",
            )
            .help("write Dockerfile instructions, or remove the node"),
        );
    }
    let reading = crate::dockerfile_block::read(&d.text.v);
    if reading.issues.is_empty() {
        super::block_copy::check(cx, &d.text, &reading);
    }
    for found in reading.issues {
        let span = cx.line_span(d.text.span, found.line, &d.text.v);
        let issue = found.issue;
        cx.push(
            Problem::error(Code::InvalidDockerfile, span, issue.message())
                .label(issue.label())
                .help(issue.help()),
        );
    }
    // `# hadolint ignore=` before a line is the block's own business; `global` switches a check
    // off for the whole generated file.
    for (n, line) in d.text.v.lines().enumerate() {
        let l = line.trim_start().to_ascii_lowercase();
        if l.starts_with('#') && l.contains("hadolint") && l.contains("global") {
            let span = cx.line_span(d.text.span, n, &d.text.v);
            cx.push(
                Problem::error(Code::ToolDirective, span, "a `dockerfile` block may not switch a hadolint check off for the whole Dockerfile")
                    .label("global directive")
                    .help("write `# hadolint ignore=DLxxxx` on the line before the instruction it is about"),
            );
        }
    }
    for ins in reading
        .instructions
        .iter()
        .filter(|i| i.is("ENV") || i.is("ARG"))
    {
        if let Some(key) = assigned_names(&ins.args)
            .into_iter()
            .find(|k| k.contains('$') || RESERVED.contains(&k.as_str()))
        {
            let span = cx.line_span(d.text.span, ins.line, &d.text.v);
            cx.push(
            Problem::error(Code::ReservedEnv, span, format!("a `dockerfile` block may not set `{key}`"))
                .label(format!("sets {}", key.escape_debug()))
                .help("the image ends with `USER ${NB_UID}` and jcx's steps use the stacks' own variables: set a custom notebook user with `env { NB_UID \"1001\" }` (which jcx checks), and leave HOME and CONDA_DIR to the base image"),
        );
        }
    }
}

pub fn model(s: &RawSettings, root: Option<&std::path::Path>) -> Vec<DockerfileBlock> {
    s.items::<RawDockerfile>(&DOCKERFILE)
        .map(|d| DockerfileBlock {
            as_root: d.as_root,
            at: d.at,
            lines: crate::dockerfile_block::read(&d.text.v).lines,
            sources: super::block_copy::context_paths(&d.text.v, root),
        })
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for d in r.settings.items::<RawDockerfile>(&DOCKERFILE) {
        let lines = d.text.v.trim().lines().count();
        let who = if d.as_root {
            "as root"
        } else {
            "as the notebook user"
        };
        let o = cx.origin(d.span);
        cx.push(
            "dockerfile",
            format!("{lines} line{} {who}", if lines == 1 { "" } else { "s" }),
            o,
        );
    }
}

/// The stacks' variables a block may not set: `USER ${NB_UID}` ends every image (see `env`).
const RESERVED: &[&str] = &["NB_UID", "NB_GID", "NB_USER", "HOME", "CONDA_DIR"];

/// The names an `ENV` or `ARG` instruction assigns: `A=1 B="x y"`, or the legacy `ENV A value`.
fn assigned_names(args: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let (mut word, mut quote, mut escaped) = (String::new(), None, false);
    for c in args.chars() {
        match (quote, c) {
            _ if escaped => {
                word.push(c);
                escaped = false;
            }
            (_, '\\') => escaped = true,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, _) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    match words.first() {
        // `ENV NAME value`: one name, the rest is its value.
        Some(first) if !first.contains('=') => vec![first.clone()],
        _ => words
            .iter()
            .map(|w| w.split('=').next().unwrap_or(w).to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_assigned_by_env_and_arg() {
        assert_eq!(assigned_names("NB_UID=0"), ["NB_UID"]);
        assert_eq!(assigned_names("A=\"x y\" NB_UID=0"), ["A", "NB_UID"]);
        assert_eq!(assigned_names("NB_UID 0"), ["NB_UID"]);
        assert_eq!(assigned_names("GREETING hello NB_UID=0"), ["GREETING"]);
        assert_eq!(assigned_names("X"), ["X"]);
    }
}
