//! `stage NAME { base …; apt …; env { … }; file …; workdir …; run … }`: builder stages. A stage
//! has its own base image and steps, is built before the app (`FROM … AS jcx-stage-NAME`), and
//! only what an app's `copy-from` names leaves it, so a toolchain compiles without being
//! shipped. Stages are top-level, shared by every app that copies from them; one stage may be
//! built on another (`base stage=NAME`). Validated like apps: a pinned base, no unknown stage,
//! no cycle; a stage nothing copies from is a warning.

use std::collections::HashMap;

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, duplicate_names, is_variable_name};
use super::decode::{
    Entries, backticked, did_you_mean, name_span, no_children, set_once, shown, unknown_node,
};
use super::raw::{Sp, Value};
use super::setting::read_map;
use super::{RawManifest, copy_from, files, packages};
use crate::dockerfile_block::{self, Issue};
use crate::error::{Code, Problem};
use crate::image::parse_image_ref;
use crate::model::{Stage, StageStep};

/// The Dockerfile name of a stage: never one a user could write, never a jcx stage of its own.
pub const ALIAS_PREFIX: &str = "jcx-stage-";

/// The nodes of a `stage` block.
const STEPS: &[&str] = &["base", "apt", "env", "file", "workdir", "run"];

#[derive(Debug, Clone)]
pub struct RawStage {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub base: Option<RawBase>,
    /// A `base` node exists (even if its value was refused): no "missing" error then.
    pub base_given: bool,
    pub steps: Vec<RawStep>,
}

#[derive(Debug, Clone)]
pub enum RawBase {
    Image(Sp<String>),
    /// `base stage=NAME`.
    Stage(Sp<String>),
}

#[derive(Debug, Clone)]
pub enum RawStep {
    Apt(Vec<Sp<String>>),
    Env(Vec<(Sp<String>, Sp<String>)>),
    File { src: Sp<String>, to: Sp<String> },
    Workdir(Sp<String>),
    Run(Sp<String>),
}

pub fn read_stage(
    node: &KdlNode,
    m: &mut RawManifest,
    _seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let mut en = Entries::new(node, problems);
    let name = en.one_string("a name", problems);
    en.finish(&[], problems);
    let mut stage = RawStage {
        span: node.span(),
        name: name.unwrap_or_else(|| Sp::new(String::new(), name_span(node))),
        base: None,
        base_given: false,
        steps: Vec::new(),
    };
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for child in node.children().map_or(&[][..], |c| c.nodes()) {
        read_step(child, &mut stage, &mut seen, problems);
    }
    if !stage.name.v.is_empty() {
        m.stages.push(stage);
    }
}

fn read_step(
    node: &KdlNode,
    stage: &mut RawStage,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let name = node.name().value();
    if name != "env" && STEPS.contains(&name) {
        // `env { … }` is the only step with children.
        no_children(node, problems);
    }
    match name {
        "base" => {
            stage.base_given = true;
            let base = read_base(node, problems);
            set_once(&mut stage.base, base, node, seen, problems);
        }
        "apt" => {
            let mut en = Entries::new(node, problems);
            let words = en.strings("package", true, problems);
            en.finish(&[], problems);
            stage.steps.push(RawStep::Apt(words));
        }
        "env" => stage.steps.push(RawStep::Env(read_map(node, problems))),
        "file" => {
            let mut en = Entries::new(node, problems);
            let src = en.one_string("a path in the images repository", problems);
            let to = en.prop_string("to", problems);
            en.finish(&["to"], problems);
            match (src, to) {
                (Some(src), Some(to)) => stage.steps.push(RawStep::File { src, to }),
                (Some(_), None) => problems.push(
                    Problem::error(
                        Code::MissingArgument,
                        node.span(),
                        "`file` needs `to=`, the path in the stage",
                    )
                    .label("destination missing")
                    .help("for example `file \"tools/hello.c\" to=\"/src/hello.c\"`"),
                ),
                _ => {}
            }
        }
        "workdir" | "run" => {
            let mut en = Entries::new(node, problems);
            let what = if name == "run" {
                "a shell script (a raw string such as #\"make install\"#)"
            } else {
                "an absolute path"
            };
            let v = en.one_string(what, problems);
            en.finish(&[], problems);
            if let Some(v) = v {
                stage.steps.push(if name == "run" {
                    RawStep::Run(v)
                } else {
                    RawStep::Workdir(v)
                });
            }
        }
        _ => {
            let mut p = unknown_node(node, name, STEPS, "a `stage` block");
            if super::setting(name).is_some() || name == "copy-from" {
                p = p.help(format!(
                    "a stage takes {}; `{name}` is an app setting",
                    backticked(STEPS)
                ));
            }
            problems.push(p);
        }
    }
}

fn read_base(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<RawBase> {
    let mut en = Entries::new(node, problems);
    let from_stage = en.prop_string("stage", problems);
    let base = match from_stage {
        Some(s) => Some(RawBase::Stage(s)),
        None if en.args.is_empty() && en.props.is_empty() => {
            problems.push(
                Problem::error(Code::MissingArgument, name_span(node), "`base` needs a base image reference or `stage=`")
                    .label("value missing")
                    .help("for example `base \"docker.io/library/debian:bookworm-slim\"`, or `base stage=OTHER` to build on another stage"),
            );
            None
        }
        None if en.args.is_empty() => None,
        None => en
            .one_string("a base image reference", problems)
            .map(RawBase::Image),
    };
    en.finish(&["stage"], problems);
    base
}

/// A valid stage name: it becomes `jcx-stage-NAME` and `STAGE_NAME_IMAGE`, so only lowercase
/// letters, digits and single `-` (a `_` or `.` would make two names one build argument).
fn name_ok(n: &str) -> bool {
    n.len() <= super::check::MAX_NAME_LEN
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// The build argument that holds a stage's base image.
pub fn arg_name(stage: &str) -> String {
    format!(
        "STAGE_{}_IMAGE",
        stage.to_ascii_uppercase().replace('-', "_")
    )
}

/// Checks every stage and every `copy-from`, and builds the stages' model.
pub fn validate(cx: &mut Checker<'_>, raw: &RawManifest) -> Vec<Stage> {
    let mut by_name: HashMap<&str, &RawStage> = HashMap::new();
    let mut order: Vec<&RawStage> = Vec::new();
    for s in &raw.stages {
        if !check_name(cx, &s.name) {
            continue;
        }
        if let Some(first) = by_name.get(s.name.v.as_str()) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    s.name.span,
                    format!("stage `{}` is declared twice", s.name.v),
                )
                .label("declared again")
                .also(first.name.span, "first declared here")
                .help("rename one of them, or merge their steps"),
            );
            continue;
        }
        by_name.insert(&s.name.v, s);
        order.push(s);
    }
    let names: Vec<&str> = order.iter().map(|s| s.name.v.as_str()).collect();
    let mut stages = Vec::new();
    for s in &order {
        let from = check_base(cx, s, &by_name, &names);
        for step in &s.steps {
            check_step(cx, step);
        }
        if let Some((from, parent)) = from {
            stages.push(model(s, from, parent, cx.root));
        }
    }
    if let Some(used) = copy_from::check_references(cx, raw, &names) {
        unused(cx, &order, &by_name, &used);
    }
    stages
}

fn check_name(cx: &mut Checker<'_>, name: &Sp<String>) -> bool {
    if !cx.safe(name, "the stage name", false) {
        return false;
    }
    if name_ok(&name.v) {
        return true;
    }
    cx.push(
        Problem::error(Code::InvalidStage, name.span, format!("`{}` is not a valid stage name", shown(&name.v)))
            .label("stage name")
            .help(format!("stage names are lowercase letters and digits separated by single `-`, starting with a letter, at most {} characters, such as `rust-tools` (the Dockerfile names the stage `{ALIAS_PREFIX}NAME`)", super::check::MAX_NAME_LEN)),
    );
    false
}

/// The stage's `FROM` (an image reference, or the alias of the stage it builds on, with that
/// stage's name); `None` when the base is missing or refused (reported).
fn check_base(
    cx: &mut Checker<'_>,
    s: &RawStage,
    by_name: &HashMap<&str, &RawStage>,
    names: &[&str],
) -> Option<(String, Option<String>)> {
    match &s.base {
        None => {
            if !s.base_given {
                cx.push(
                    Problem::error(Code::MissingNode, s.name.span, format!("stage `{}` has no base image", s.name.v))
                        .label("no `base`")
                        .help("add `base \"docker.io/library/debian:bookworm-slim\"` (a pinned tag or a digest), or `base stage=OTHER` to build on another stage"),
                );
            }
            None
        }
        Some(RawBase::Image(b)) => check_image(cx, b).map(|r| (r, None)),
        Some(RawBase::Stage(p)) => {
            if !by_name.contains_key(p.v.as_str()) {
                cx.push(
                    Problem::error(
                        Code::UnknownStage,
                        p.span,
                        format!(
                            "stage `{}` is built on `{}`, which is not declared",
                            s.name.v, p.v
                        ),
                    )
                    .label("no such stage")
                    .help(suggest_stage(&p.v, names)),
                );
                return None;
            }
            if let Some(cycle) = cycle(s, by_name) {
                report_cycle(cx, s, &cycle, by_name);
                return None;
            }
            Some((format!("{ALIAS_PREFIX}{}", p.v), Some(p.v.clone())))
        }
    }
}

/// The names around the cycle `s` starts, if following `base stage=` from `s` comes back to it.
fn cycle(s: &RawStage, by_name: &HashMap<&str, &RawStage>) -> Option<Vec<String>> {
    let mut chain = vec![s.name.v.clone()];
    let mut at = s;
    while let Some(RawBase::Stage(p)) = &at.base {
        if p.v == s.name.v {
            chain.push(p.v.clone());
            return Some(chain);
        }
        if chain.contains(&p.v) {
            return None; // a cycle further up, reported at its own stages
        }
        at = by_name.get(p.v.as_str())?;
        chain.push(p.v.clone());
    }
    None
}

fn report_cycle(
    cx: &mut Checker<'_>,
    s: &RawStage,
    cycle: &[String],
    by_name: &HashMap<&str, &RawStage>,
) {
    // Once, from the cycle's first stage in manifest order.
    let first = cycle
        .iter()
        .filter_map(|n| by_name.get(n.as_str()))
        .map(|st| st.span.offset())
        .min();
    if first != Some(s.span.offset()) {
        return;
    }
    let Some(RawBase::Stage(p)) = &s.base else {
        return;
    };
    let message = if cycle.len() == 2 {
        format!("stage `{}` is built on itself", s.name.v)
    } else {
        format!("`base stage=` forms a cycle: {}", cycle.join(" -> "))
    };
    let mut problem = Problem::error(Code::StageCycle, p.span, message)
        .label("starts the cycle")
        .help("build one of these stages on an image, `base \"IMAGE:TAG\"`, to break the cycle");
    for n in &cycle[1..cycle.len() - 1] {
        if let Some(RawBase::Stage(next)) = by_name.get(n.as_str()).and_then(|st| st.base.as_ref())
        {
            problem = problem.also(next.span, format!("`{n}` is built on `{}`", next.v));
        }
    }
    cx.push(problem);
}

pub fn suggest_stage(word: &str, names: &[&str]) -> String {
    match did_you_mean(word, names) {
        Some(d) => d,
        None if names.is_empty() => {
            "the manifest declares no stage: add one, `stage NAME { base \"IMAGE:TAG\"; run … }`"
                .into()
        }
        None => format!("stages in this manifest: {}", backticked(names)),
    }
}

/// A stage base: a full reference pinned by a tag other than `latest`, or by a digest. Returns
/// the reference the Dockerfile writes (registry made explicit).
fn check_image(cx: &mut Checker<'_>, b: &Sp<String>) -> Option<String> {
    if !cx.safe(b, "the base image", false) {
        return None;
    }
    // A digest pins the image without a tag: parse it with a stand-in tag, then drop it.
    let (rest, digest) = match b.v.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (b.v.as_str(), None),
    };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    let tagless = digest.is_some() && !last.contains(':');
    let parsed = if tagless {
        parse_image_ref(&format!("{rest}:pinned@{}", digest.unwrap_or_default()))
    } else {
        parse_image_ref(&b.v)
    };
    let r = match parsed {
        Ok(r) => r,
        Err(e) => {
            let help = if digest.is_none() && !last.contains(':') {
                "pin the stage's base by tag or digest (`docker.io/library/debian:bookworm-slim`), so builds are repeatable".to_string()
            } else {
                e.help
            };
            cx.push(
                Problem::error(Code::InvalidImage, b.span, e.message)
                    .label("stage base image")
                    .help(help),
            );
            return None;
        }
    };
    if r.tag == "latest" && digest.is_none() {
        cx.push(
            Problem::error(Code::InvalidImage, b.span, format!("`{}` is not pinned: `latest` moves", b.v))
                .label("moving tag")
                .help("pin a version tag (`docker.io/library/debian:bookworm-slim`) or a digest (`…@sha256:…`), so that the same manifest builds the same stage"),
        );
        return None;
    }
    let full = r.full();
    let full = if tagless {
        full.replacen(":pinned@", "@", 1)
    } else {
        full
    };
    if !b.v.starts_with(&format!("{}/", r.registry)) {
        cx.push(
            Problem::warning(
                Code::ImplicitRegistry,
                b.span,
                format!("`{}` names no registry: it means `{full}`", b.v),
            )
            .label("no registry host")
            .help(format!(
                "write the full reference, `base \"{full}\"`, so it is clear where the image comes from"
            )),
        );
    }
    Some(full)
}

fn check_step(cx: &mut Checker<'_>, step: &RawStep) {
    match step {
        RawStep::Apt(words) => (packages::APT.check)(cx, &Value::Words(words.clone())),
        RawStep::Env(vars) => {
            for (k, v) in vars {
                if !is_variable_name(&k.v) {
                    cx.push(
                        Problem::error(Code::InvalidEnvName, k.span, format!("`{}` is not a valid environment variable name", k.v.escape_debug()))
                            .label("variable name")
                            .help("use letters, digits and `_`, not starting with a digit, such as `CFLAGS`"),
                    );
                }
                cx.safe(v, "the environment value", false);
            }
            duplicate_names(cx, vars, "environment variable");
        }
        RawStep::File { src, to } => {
            files::check_src(cx, src);
            check_stage_path(cx, to, "the destination");
        }
        RawStep::Workdir(w) => {
            check_stage_path(cx, w, "the working directory");
        }
        RawStep::Run(r) => check_run(cx, r),
    }
}

/// An absolute path in a stage, written into `COPY`/`WORKDIR` as is.
pub(super) fn check_stage_path(cx: &mut Checker<'_>, p: &Sp<String>, what: &str) -> bool {
    if !cx.safe(p, what, false) {
        return false;
    }
    if p.v.starts_with('/') && safe_path(&p.v) {
        return true;
    }
    cx.push(
        Problem::error(Code::InvalidStage, p.span, format!("`{}` is not an absolute path jcx can write", p.v.escape_debug()))
            .label(what.trim_start_matches("the ").to_string())
            .help("write an absolute path such as `/out/bin/` (a trailing `/` means a directory), without `..`, spaces, quotes, `$` or glob characters"),
    );
    false
}

/// A path COPY and WORKDIR read literally: no `..`, blanks, quotes, `$`, glob characters.
pub(super) fn safe_path(p: &str) -> bool {
    !p.split('/').any(|c| c == "..")
        && !p
            .chars()
            .any(|c| "\"$\\`'*?[]{}".contains(c) || c.is_control() || c.is_whitespace())
}

/// The first line of the script that is not blank or a comment: `RUN ` goes before it.
fn command_start(lines: &[&str]) -> Option<usize> {
    lines.iter().position(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

/// The script as one `RUN` instruction, the way BuildKit reads it: `None` when it is empty.
fn run_text(script: &str) -> Option<(String, usize)> {
    let mut lines: Vec<&str> = script.split('\n').collect();
    let start = command_start(&lines)?;
    let first = format!("RUN {}", lines[start].trim_start());
    lines[start] = &first;
    Some((lines.join("\n"), start))
}

/// A `run` script is one `RUN` instruction as BuildKit reads it: nothing left open, no second
/// instruction (a line without `\` before it starts one), nothing the block rules refuse.
fn check_run(cx: &mut Checker<'_>, r: &Sp<String>) {
    if !cx.safe(r, "the `run` script", true) {
        return;
    }
    let Some((text, start)) = run_text(&r.v) else {
        cx.push(
            Problem::error(Code::InvalidStage, r.span, "the `run` script is empty")
                .label("no command")
                .help("write the commands to run, or remove the node"),
        );
        return;
    };
    let reading = dockerfile_block::read(&text);
    let new_instruction = reading
        .issues
        .iter()
        .filter(|f| f.line > start && matches!(f.issue, Issue::UnknownInstruction(_) | Issue::From))
        .map(|f| f.line)
        .chain(reading.instructions.iter().skip(1).map(|i| i.line))
        .min();
    for found in &reading.issues {
        if Some(found.line) == new_instruction {
            continue;
        }
        let span = cx.line_span(r.span, found.line, &r.v);
        let message = found
            .issue
            .message()
            .replace("the `dockerfile` block", "the `run` script")
            .replace("a `dockerfile` block", "a `run` script");
        cx.push(
            Problem::error(Code::InvalidStage, span, message)
                .label(found.issue.label())
                .help(found.issue.help()),
        );
    }
    if let Some(line) = new_instruction {
        let span = cx.line_span(r.span, line, &r.v);
        cx.push(
            Problem::error(Code::InvalidStage, span, "the `run` script continues into a second instruction")
                .label("read as a new instruction")
                .help("a `run` script is one `RUN`: end every line but the last with ` \\` (joining commands with `&&`), or write a second `run`"),
        );
    }
    for (n, line) in r.v.lines().enumerate() {
        let l = line.trim_start().to_ascii_lowercase();
        if l.starts_with('#') && l.contains("hadolint") && l.contains("global") {
            let span = cx.line_span(r.span, n, &r.v);
            cx.push(
                Problem::error(
                    Code::ToolDirective,
                    span,
                    "a `run` script may not switch a hadolint check off for the whole Dockerfile",
                )
                .label("global directive")
                .help("write `# hadolint ignore=DLxxxx` on a line before the command it is about"),
            );
        }
    }
}

/// Warns about every stage no app copies from, directly or through a stage built on it.
fn unused(
    cx: &mut Checker<'_>,
    order: &[&RawStage],
    by_name: &HashMap<&str, &RawStage>,
    used: &[String],
) {
    let mut needed: Vec<&str> = Vec::new();
    for u in used {
        let mut at = by_name.get(u.as_str()).copied();
        while let Some(s) = at {
            if needed.contains(&s.name.v.as_str()) {
                break;
            }
            needed.push(&s.name.v);
            at = match &s.base {
                Some(RawBase::Stage(p)) => by_name.get(p.v.as_str()).copied(),
                _ => None,
            };
        }
    }
    for s in order {
        if !needed.contains(&s.name.v.as_str()) {
            cx.push(
                Problem::warning(Code::UnusedStage, s.name.span, format!("no app copies from stage `{}`", s.name.v))
                    .label("unused stage")
                    .help(format!("copy its results into an app, `copy-from {} \"/path/in/stage\" to=\"/path/in/image\"`, or remove the stage", s.name.v)),
            );
        }
    }
}

fn model(
    s: &RawStage,
    from: String,
    parent: Option<String>,
    root: Option<&std::path::Path>,
) -> Stage {
    let steps = s
        .steps
        .iter()
        .filter_map(|step| {
            Some(match step {
                RawStep::Apt(words) => StageStep::Apt {
                    packages: words.iter().map(|w| w.v.clone()).collect(),
                },
                RawStep::Env(vars) => StageStep::Env {
                    vars: vars
                        .iter()
                        .map(|(k, v)| (k.v.clone(), v.v.clone()))
                        .collect(),
                },
                RawStep::File { src, to } => {
                    let src = src.v.trim_end_matches('/').to_string();
                    StageStep::File {
                        directory: root.is_some_and(|r| r.join(&src).is_dir()),
                        src,
                        to: to.v.clone(),
                    }
                }
                RawStep::Workdir(w) => StageStep::Workdir { path: w.v.clone() },
                RawStep::Run(r) => StageStep::Run {
                    lines: dockerfile_block::read(&run_text(&r.v)?.0).lines,
                },
            })
        })
        .collect();
    Stage {
        name: s.name.v.clone(),
        alias: format!("{ALIAS_PREFIX}{}", s.name.v),
        arg: parent.is_none().then(|| arg_name(&s.name.v)),
        from,
        parent,
        steps,
    }
}

/// The stages an app's Dockerfile holds, in build order: each one it copies from, after the
/// stages it is built on; otherwise in manifest order.
pub fn needed<'a>(stages: &'a [Stage], copied: &[&str]) -> Vec<&'a Stage> {
    fn add<'a>(stages: &'a [Stage], name: &str, out: &mut Vec<&'a Stage>) {
        let Some(s) = stages.iter().find(|s| s.name == name) else {
            return;
        };
        if out.iter().any(|o| o.name == s.name) {
            return;
        }
        if let Some(p) = &s.parent {
            add(stages, p, out);
        }
        out.push(s);
    }
    let mut out = Vec::new();
    for s in stages.iter().filter(|s| copied.contains(&s.name.as_str())) {
        add(stages, &s.name, &mut out);
    }
    out
}
