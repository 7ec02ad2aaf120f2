//! KDL document -> raw, still spanned, Option-heavy structs. This stage knows the *shape* of the
//! language (which nodes exist, their arguments, properties and children, and their KDL types)
//! and reports every deviation; it does not judge values (that is `validate`).

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use crate::error::{Code, Problem};

/// A value and the place in the manifest it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub v: T,
    pub span: SourceSpan,
}

impl<T> Sp<T> {
    pub fn new(v: T, span: SourceSpan) -> Self {
        Sp { v, span }
    }
}

#[derive(Debug, Default)]
pub struct RawManifest {
    pub version: Option<Sp<i128>>,
    /// A `manifest-version` node exists (even if its value was refused): no "missing" error then.
    pub version_given: bool,
    pub registry: Option<RawRegistry>,
    /// A `registry` node exists (even if its value was refused).
    pub registry_given: bool,
    /// How many `app` nodes the document has, parsed or not.
    pub app_nodes: usize,
    pub defaults: Option<RawSettings>,
    pub mirrors: RawMirrors,
    pub actions: Vec<RawAction>,
    pub check_workflow: Option<RawCheckWorkflow>,
    pub apps: Vec<RawApp>,
}

/// One `actions` entry: key (`checkout`), reference, and its `version=` label.
pub type RawAction = (Sp<String>, Sp<String>, Option<Sp<String>>);

#[derive(Debug)]
pub struct RawRegistry {
    pub span: SourceSpan,
    pub host: Sp<String>,
    pub namespace: Option<Sp<String>>,
    pub username_secret: Option<Sp<String>>,
    pub password_secret: Option<Sp<String>>,
}

#[derive(Debug, Default)]
pub struct RawMirrors {
    pub pypi: Option<Sp<String>>,
    pub pytorch: Option<Sp<String>>,
    pub apt: Option<Sp<String>>,
    pub conda: Option<Sp<String>>,
}

#[derive(Debug)]
pub struct RawCheckWorkflow {
    pub span: SourceSpan,
    pub jcx_version: Option<Sp<String>>,
    pub repository: Option<Sp<String>>,
}

#[derive(Debug)]
pub struct RawApp {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub extends: Option<Sp<String>>,
    pub settings: RawSettings,
}

/// Settings shared by `defaults` and `app` blocks. `None`/empty means "not given here".
#[derive(Debug, Default, Clone)]
pub struct RawSettings {
    pub description: Option<Sp<String>>,
    pub base: Option<Sp<String>>,
    pub python: Option<Sp<String>>,
    pub image_name: Option<Sp<String>>,
    pub image_suffix: Option<Sp<String>>,
    pub cuda: Option<Sp<String>>,
    /// `cuda "13.2" index="cu132"`: an index declared by the manifest, taken as written.
    pub cuda_index: Option<Sp<String>>,
    pub apt: Vec<Sp<String>>,
    pub mamba: Vec<Sp<String>>,
    pub code_server: Option<RawCodeServer>,
    pub pip: Vec<RawPip>,
    pub env: Vec<(Sp<String>, Sp<String>)>,
    pub branches: Option<Vec<Sp<String>>>,
    pub runs_on: Option<Vec<Sp<String>>>,
    pub platforms: Option<Vec<Sp<String>>>,
    pub dockerfile: Vec<RawDockerfile>,
    pub free_disk_space: Option<Sp<bool>>,
    pub timeout_minutes: Option<Sp<i128>>,
    /// Settings written in this block whose value parse already refused: validation does not
    /// report them missing as well.
    pub refused: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct RawCodeServer {
    pub span: SourceSpan,
    /// The `code-server` node name, where "no version" points.
    pub name_span: SourceSpan,
    pub version: Option<Sp<String>>,
    pub extensions: Vec<Sp<String>>,
}

/// One pip requirement as written: `- "spec"`, `name "version"` or a bare `name`.
#[derive(Debug, Clone)]
pub struct RawPip {
    pub span: SourceSpan,
    /// The PEP 508 text jcx will parse (for `name "1.0"` this is `name==1.0`).
    pub text: Sp<String>,
}

#[derive(Debug, Clone)]
pub struct RawDockerfile {
    pub span: SourceSpan,
    pub text: Sp<String>,
    pub as_root: bool,
}

pub const TOP_NODES: &[&str] = &[
    "manifest-version",
    "registry",
    "defaults",
    "mirrors",
    "actions",
    "check-workflow",
    "app",
];

pub const SETTING_NODES: &[&str] = &[
    "description",
    "base",
    "python",
    "image-name",
    "image-suffix",
    "cuda",
    "apt",
    "mamba",
    "code-server",
    "pip",
    "env",
    "branches",
    "runs-on",
    "platforms",
    "dockerfile",
    "free-disk-space",
    "timeout-minutes",
];

/// Settings that only make sense on one app, not in `defaults`.
const APP_ONLY: &[&str] = &["description", "image-name", "image-suffix"];

pub const MIRROR_NODES: &[&str] = &["pypi", "pytorch", "apt", "conda"];
pub const ACTION_KEYS: &[&str] = &[
    "checkout",
    "setup-qemu",
    "setup-buildx",
    "login",
    "metadata",
    "build-push",
    "cache",
];

/// A complete example of a node that takes one value, for "value missing" help.
fn example(node: &str) -> Option<&'static str> {
    Some(match node {
        "app" => "app jupyter-pytorch { ... }",
        "registry" => "registry \"ghcr.io\" namespace=my-lab",
        "base" => "base \"quay.io/jupyter/scipy-notebook:python-3.11\"",
        "cuda" => "cuda \"11.8\"",
        "python" => "python \"3.11\"",
        "description" => "description \"PyTorch 2.2 on CUDA 11.8\"",
        "image-name" => "image-name pytorch-notebook",
        "image-suffix" => "image-suffix qlora",
        "code-server" => "code-server \"4.22.1\"",
        "dockerfile" => "dockerfile #\"RUN echo hi\"#",
        _ => return None,
    })
}

/// Names people bring from other tools, and the jcx node that means the same thing. Checked
/// before edit distance, which would suggest `cuda` for `conda`.
const ALIASES: &[(&str, &str)] = &[
    ("conda", "mamba"),
    ("micromamba", "mamba"),
    ("apt-get", "apt"),
    ("apt-packages", "apt"),
    ("packages", "apt"),
    ("pip-packages", "pip"),
    ("requirements", "pip"),
    ("python-packages", "pip"),
    ("vscode", "code-server"),
    ("vs-code", "code-server"),
    ("image", "base"),
    ("from", "base"),
    ("base-image", "base"),
    ("name", "image-name"),
    ("suffix", "image-suffix"),
    ("tag", "image-suffix"),
    ("runner", "runs-on"),
    ("runs_on", "runs-on"),
    ("platform", "platforms"),
    ("branch", "branches"),
    ("environment", "env"),
    ("variables", "env"),
    ("version", "manifest-version"),
    ("apps", "app"),
    ("default", "defaults"),
    ("python-version", "python"),
    ("cuda-version", "cuda"),
    ("timeout", "timeout-minutes"),
    ("run", "dockerfile"),
];

/// "did you mean `x`?" for a misspelt name, when one candidate is close enough.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> Option<String> {
    if let Some((_, to)) = ALIASES
        .iter()
        .find(|(from, to)| *from == word && candidates.contains(to))
    {
        return Some(format!("did you mean `{to}`?"));
    }
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, _)| *d < 3 && *d < word.len().max(1))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// "`a`, `b`, `c`": names as they are written in help texts.
pub fn backticked(items: &[&str]) -> String {
    let list: Vec<String> = items.iter().map(|c| format!("`{c}`")).collect();
    list.join(", ")
}

fn one_of(candidates: &[&str]) -> String {
    format!("expected one of {}", backticked(candidates))
}

/// Help for a name that is not an app: the closest app, or the list of apps.
pub fn suggest_app(word: &str, apps: &[&str]) -> String {
    did_you_mean(word, apps)
        .unwrap_or_else(|| format!("apps in this manifest: {}", backticked(apps)))
}

fn unknown_help(word: &str, candidates: &[&str]) -> String {
    did_you_mean(word, candidates).unwrap_or_else(|| one_of(candidates))
}

fn type_name(v: &KdlValue) -> &'static str {
    match v {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

fn name_span(node: &KdlNode) -> SourceSpan {
    node.name().span()
}

/// Walks one node's entries, handing out arguments and properties and reporting what is left.
struct Entries<'a> {
    node: &'a KdlNode,
    args: Vec<&'a KdlEntry>,
    props: Vec<(&'a str, &'a KdlEntry)>,
    /// The node takes exactly one value and this was it (extra arguments are then most likely
    /// unquoted text).
    single: Option<&'a KdlEntry>,
}

impl<'a> Entries<'a> {
    fn new(node: &'a KdlNode, problems: &mut Vec<Problem>) -> Self {
        let mut args = Vec::new();
        let mut props: Vec<(&'a str, &'a KdlEntry)> = Vec::new();
        for e in node.entries() {
            if let Some(ty) = e.ty() {
                problems.push(
                    Problem::error(
                        Code::WrongType,
                        ty.span(),
                        format!(
                            "type annotations are not used in jcx manifests (`({})`)",
                            ty.value()
                        ),
                    )
                    .label("remove this annotation")
                    .help(format!(
                        "remove `({})`; jcx knows each value's type",
                        ty.value()
                    )),
                );
            }
            match e.name() {
                Some(n) => {
                    if let Some((_, first)) = props.iter().find(|(k, _)| *k == n.value()) {
                        problems.push(
                            Problem::error(
                                Code::Duplicate,
                                e.span(),
                                format!("property `{}` is given twice", n.value()),
                            )
                            .label("given again here")
                            .also(first.span(), "first given here")
                            .help("keep one of them"),
                        );
                    } else {
                        props.push((n.value(), e));
                    }
                }
                None => args.push(e),
            }
        }
        Entries {
            node,
            args,
            props,
            single: None,
        }
    }

    fn node_name(&self) -> &str {
        self.node.name().value()
    }

    fn prop(&mut self, key: &str) -> Option<&'a KdlEntry> {
        let i = self.props.iter().position(|(k, _)| *k == key)?;
        Some(self.props.remove(i).1)
    }

    fn prop_string(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
        let e = self.prop(key)?;
        string_of(e, &format!("property `{key}`"), problems)
    }

    /// Exactly one string argument.
    fn one_string(&mut self, what: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
        if self.args.is_empty() {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    name_span(self.node),
                    format!("`{}` needs {what}", self.node_name()),
                )
                .label("value missing")
                .help(match example(self.node_name()) {
                    Some(ex) => format!("for example `{ex}`"),
                    None => format!("write {what} after `{}`", self.node_name()),
                }),
            );
            return None;
        }
        let e = self.args.remove(0);
        self.single = Some(e);
        string_of(e, &format!("`{}`", self.node_name()), problems)
    }

    /// Exactly one argument of a non-string type, converted by `take` (which returns `None` for
    /// the wrong KDL type). `expected` names the type for messages, `fix` is the help.
    fn one_value<T>(
        &mut self,
        expected: &str,
        fix: &str,
        take: impl Fn(&KdlValue) -> Option<T>,
        problems: &mut Vec<Problem>,
    ) -> Option<Sp<T>> {
        let name = self.node_name().to_string();
        if self.args.is_empty() {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    name_span(self.node),
                    format!("`{name}` needs {expected}"),
                )
                .label("value missing")
                .help(fix),
            );
            return None;
        }
        let e = self.args.remove(0);
        match take(e.value()) {
            Some(v) => Some(Sp::new(v, e.span())),
            None => {
                let found = type_name(e.value());
                problems.push(
                    Problem::error(
                        Code::WrongType,
                        e.span(),
                        format!("`{name}` expects {expected}, not {found}"),
                    )
                    .label(format!("{found} here"))
                    .help(fix),
                );
                None
            }
        }
    }

    /// One or more string arguments.
    fn strings(
        &mut self,
        what: &str,
        at_least_one: bool,
        problems: &mut Vec<Problem>,
    ) -> Vec<Sp<String>> {
        if self.args.is_empty() && at_least_one {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    name_span(self.node),
                    format!("`{}` needs at least one {what}", self.node_name()),
                )
                .label("nothing listed")
                .help(format!(
                    "list them after the name, separated by spaces (`{} a b c`), or remove the node",
                    self.node_name()
                )),
            );
        }
        let name = format!("`{}`", self.node_name());
        std::mem::take(&mut self.args)
            .into_iter()
            .filter_map(|e| string_of(e, &name, problems))
            .collect()
    }

    /// Reports every argument and property nobody asked for.
    fn finish(self, allowed_props: &[&str], problems: &mut Vec<Problem>) {
        let node_name = self.node.name().value().to_string();
        // All extra arguments are one mistake: report them once, over their whole extent.
        if let (Some(first), Some(last)) = (self.args.first(), self.args.last()) {
            let start = first.span().offset();
            let end = last.span().offset() + last.span().len();
            let n = self.args.len();
            let bare = |e: &KdlEntry| !e.to_string().trim_start().starts_with(['"', '#']);
            let help = match self.single {
                // `description PyTorch notebook`: text that needed quotes.
                Some(value) if bare(value) && self.args.iter().all(|e| bare(e)) => {
                    let words: Vec<String> = std::iter::once(value)
                        .chain(self.args.iter().copied())
                        .map(|e| match e.value() {
                            KdlValue::String(s) => s.clone(),
                            _ => e.to_string().trim().to_string(),
                        })
                        .collect();
                    format!(
                        "`{node_name}` takes one value; to write text with spaces, quote all of it: `{node_name} \"{}\"`",
                        words.join(" ").escape_default()
                    )
                }
                Some(_) => format!("`{node_name}` takes one value; remove the rest"),
                None => format!(
                    "`{node_name}` takes no arguments; remove {}",
                    if n == 1 { "it" } else { "them" }
                ),
            };
            problems.push(
                Problem::error(
                    Code::UnexpectedArgument,
                    SourceSpan::from(start..end),
                    if n == 1 {
                        format!("unexpected argument to `{node_name}`")
                    } else {
                        format!("{n} unexpected arguments to `{node_name}`")
                    },
                )
                .label("not expected here")
                .help(help),
            );
        }
        for (key, e) in self.props {
            let help = if allowed_props.is_empty() {
                format!("`{node_name}` takes no properties")
            } else {
                unknown_help(key, allowed_props)
            };
            problems.push(
                Problem::error(
                    Code::UnknownProperty,
                    e.span(),
                    format!("unknown property `{key}` on `{node_name}`"),
                )
                .label("unknown property")
                .help(help),
            );
        }
    }
}

fn string_of(e: &KdlEntry, what: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
    match e.value() {
        KdlValue::String(s) => Some(Sp::new(s.clone(), e.span())),
        other => {
            let text = e.to_string();
            let text = text.trim();
            let help = match other {
                KdlValue::Float(_) | KdlValue::Integer(_) => {
                    format!(
                        "write it as a string: \"{}\" (numbers lose trailing zeros)",
                        text
                    )
                }
                _ => "write it as a quoted string".to_string(),
            };
            problems.push(
                Problem::error(
                    Code::WrongType,
                    e.span(),
                    format!("{what} expects a string, not {}", type_name(other)),
                )
                .label(format!("{} here", type_name(other)))
                .help(help),
            );
            None
        }
    }
}

fn no_children(node: &KdlNode, problems: &mut Vec<Problem>) {
    if let Some(children) = node.children() {
        problems.push(
            Problem::error(
                Code::UnexpectedChildren,
                children.span(),
                format!("`{}` does not take a children block", node.name().value()),
            )
            .label("unexpected block")
            .help("remove the `{ ... }` block"),
        );
    }
}

fn children<'a>(node: &'a KdlNode, problems: &mut Vec<Problem>) -> Option<&'a KdlDocument> {
    match node.children() {
        Some(c) => Some(c),
        None => {
            problems.push(
                Problem::error(
                    Code::MissingChildren,
                    node.span(),
                    format!("`{}` needs a `{{ ... }}` block", node.name().value()),
                )
                .label("block missing"),
            );
            None
        }
    }
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: Option<T>,
    node: &KdlNode,
    first: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let name = node.name().value().to_string();
    if let Some((_, first_span)) = first.iter().find(|(n, _)| *n == name) {
        problems.push(
            Problem::error(
                Code::Duplicate,
                name_span(node),
                format!("`{name}` is given twice in the same block"),
            )
            .label("given again here")
            .also(*first_span, "first given here")
            .help("keep one of them (lists can be written as several arguments on one node)"),
        );
        return;
    }
    first.push((name, name_span(node)));
    if value.is_some() {
        *slot = value;
    }
}

pub fn parse(doc: &KdlDocument, problems: &mut Vec<Problem>) -> RawManifest {
    let mut m = RawManifest::default();
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for node in doc.nodes() {
        let name = node.name().value();
        match name {
            "manifest-version" => {
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
                set_once(&mut m.version, v, node, &mut seen, problems);
            }
            "registry" => {
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
                set_once(&mut m.registry, r, node, &mut seen, problems);
            }
            "defaults" => {
                let en = Entries::new(node, problems);
                en.finish(&[], problems);
                let s = children(node, problems).map(|c| parse_settings(c, false, problems));
                set_once(&mut m.defaults, s, node, &mut seen, problems);
            }
            "mirrors" => {
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
                let mut dummy: Option<()> = None;
                set_once(&mut dummy, Some(()), node, &mut seen, problems);
                m.mirrors = mirrors;
            }
            "actions" => {
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
                            m.actions.push((
                                Sp::new(key.to_string(), name_span(child)),
                                v,
                                comment,
                            ));
                        }
                    }
                }
                let mut dummy: Option<()> = None;
                set_once(&mut dummy, Some(()), node, &mut seen, problems);
            }
            "check-workflow" => {
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
                set_once(&mut m.check_workflow, cw, node, &mut seen, problems);
            }
            "app" => {
                m.app_nodes += 1;
                let mut en = Entries::new(node, problems);
                let app_name = en.one_string("a name", problems);
                let mut extends = en.prop_string("extends", problems);
                // Recover the parent from a misspelt `extends=` property or an `extends` child
                // node (both still reported) so the app's other settings are not reported
                // missing as well.
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
                    Some(c) => parse_settings(c, true, problems),
                    None => RawSettings::default(),
                };
                if let Some(name) = app_name {
                    m.apps.push(RawApp {
                        span: node.span(),
                        name,
                        extends,
                        settings,
                    });
                }
            }
            other => {
                let mut p = unknown_node(node, other, TOP_NODES, "the top level of the manifest");
                if SETTING_NODES.contains(&other) {
                    p = p.help(format!(
                        "`{other}` is a setting: put it inside `defaults {{ ... }}` or an `app` block"
                    ));
                }
                problems.push(p);
            }
        }
    }
    m
}

fn unknown_node(node: &KdlNode, name: &str, allowed: &[&str], place: &str) -> Problem {
    Problem::error(
        Code::UnknownNode,
        name_span(node),
        format!("unknown node `{name}` in {place}"),
    )
    .label("unknown node")
    .help(unknown_help(name, allowed))
}

fn parse_settings(doc: &KdlDocument, in_app: bool, problems: &mut Vec<Problem>) -> RawSettings {
    let mut s = RawSettings::default();
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for node in doc.nodes() {
        let mark = problems.len();
        parse_setting(node, in_app, &mut s, &mut seen, problems);
        if problems[mark..].iter().any(Problem::is_error)
            && let Some(name) = SETTING_NODES.iter().find(|n| **n == node.name().value())
        {
            s.refused.push(name);
        }
    }
    s
}

/// One node of a `defaults` or `app` block.
fn parse_setting(
    node: &KdlNode,
    in_app: bool,
    s: &mut RawSettings,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let place = if in_app {
        "an `app` block"
    } else {
        "`defaults`"
    };
    let name = node.name().value();
    if !in_app && APP_ONLY.contains(&name) {
        problems.push(
            Problem::error(
                Code::UnknownNode,
                name_span(node),
                format!("`{name}` belongs to one app, not to `defaults`"),
            )
            .label("not allowed in defaults")
            .help(format!("move `{name}` into the `app` blocks that need it")),
        );
        return;
    }
    match name {
        "description" | "base" | "python" | "image-name" | "image-suffix" | "cuda" => {
            let what = match name {
                "description" => "a description",
                "base" => "a base image reference",
                "python" => "a Python version such as \"3.11\"",
                "image-name" => "an image name",
                "image-suffix" => "an image name suffix",
                _ => "a CUDA version such as \"11.8\", or `cpu`",
            };
            let mut en = Entries::new(node, problems);
            let v = en.one_string(what, problems);
            if name == "cuda" {
                // Kept with its `cuda` (a repeated `cuda` is refused below, with its index).
                let index = en.prop_string("index", problems);
                if s.cuda.is_none() {
                    s.cuda_index = index;
                }
                en.finish(&["index"], problems);
            } else {
                en.finish(&[], problems);
            }
            no_children(node, problems);
            let slot = match name {
                "description" => &mut s.description,
                "base" => &mut s.base,
                "python" => &mut s.python,
                "image-name" => &mut s.image_name,
                "image-suffix" => &mut s.image_suffix,
                _ => &mut s.cuda,
            };
            set_once(slot, v, node, seen, problems);
        }
        "apt" | "mamba" => {
            let mut en = Entries::new(node, problems);
            let v = en.strings("package", true, problems);
            en.finish(&[], problems);
            no_children(node, problems);
            if name == "apt" {
                s.apt.extend(v)
            } else {
                s.mamba.extend(v)
            }
        }
        "branches" | "runs-on" | "platforms" => {
            let what = match name {
                "branches" => "branch pattern",
                "runs-on" => "runner label",
                _ => "platform",
            };
            let mut en = Entries::new(node, problems);
            let v = en.strings(what, true, problems);
            en.finish(&[], problems);
            no_children(node, problems);
            let slot = match name {
                "branches" => &mut s.branches,
                "runs-on" => &mut s.runs_on,
                _ => &mut s.platforms,
            };
            set_once(slot, Some(v), node, seen, problems);
        }
        "code-server" => {
            let mut en = Entries::new(node, problems);
            let version = if en.args.is_empty() && node.children().is_some() {
                None
            } else {
                en.one_string("a code-server version such as \"4.22.1\"", problems)
            };
            en.finish(&[], problems);
            let mut extensions = Vec::new();
            if let Some(c) = node.children() {
                for child in c.nodes() {
                    if child.name().value() != "extensions" {
                        problems.push(unknown_node(
                            child,
                            child.name().value(),
                            &["extensions"],
                            "`code-server`",
                        ));
                        continue;
                    }
                    let mut en = Entries::new(child, problems);
                    extensions.extend(en.strings("extension id", true, problems));
                    en.finish(&[], problems);
                    no_children(child, problems);
                }
            }
            let cs = Some(RawCodeServer {
                span: node.span(),
                name_span: name_span(node),
                version,
                extensions,
            });
            set_once(&mut s.code_server, cs, node, seen, problems);
        }
        "pip" => {
            let en = Entries::new(node, problems);
            if node.children().is_none() && !en.args.is_empty() {
                // `pip numpy pandas`: one mistake (the block form), reported once.
                let items: Vec<String> = en
                    .args
                    .iter()
                    .map(|e| match e.value() {
                        KdlValue::String(s) => format!("- {s:?}"),
                        _ => format!("- {}", e.to_string().trim()),
                    })
                    .collect();
                problems.push(
                    Problem::error(
                        Code::MissingChildren,
                        node.span(),
                        "pip requirements go in a `pip { ... }` block",
                    )
                    .label("not a block")
                    .help(format!(
                        "write `pip {{ {} }}`, one requirement per line",
                        items.join("; ")
                    )),
                );
                return;
            }
            en.finish(&[], problems);
            if let Some(c) = children(node, problems) {
                for child in c.nodes() {
                    if let Some(p) = parse_pip(child, problems) {
                        s.pip.push(p);
                    }
                }
            }
        }
        "env" => {
            let en = Entries::new(node, problems);
            en.finish(&[], problems);
            if let Some(c) = children(node, problems) {
                for child in c.nodes() {
                    let mut en = Entries::new(child, problems);
                    let v = en.one_string("a value", problems);
                    en.finish(&[], problems);
                    no_children(child, problems);
                    if let Some(v) = v {
                        s.env.push((
                            Sp::new(child.name().value().to_string(), name_span(child)),
                            v,
                        ));
                    }
                }
            }
        }
        "dockerfile" => {
            let mut en = Entries::new(node, problems);
            let text = en.one_string(
                "Dockerfile lines (a raw string such as #\"RUN echo hi\"#)",
                problems,
            );
            let user = en.prop_string("user", problems);
            en.finish(&["user"], problems);
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
            if let Some(text) = text {
                s.dockerfile.push(RawDockerfile {
                    span: node.span(),
                    text,
                    as_root,
                });
            }
        }
        "free-disk-space" => {
            let mut en = Entries::new(node, problems);
            let v = en.one_value(
                "#true or #false",
                "write `free-disk-space #true` or `free-disk-space #false`",
                |v| match v {
                    KdlValue::Bool(b) => Some(*b),
                    _ => None,
                },
                problems,
            );
            en.finish(&[], problems);
            no_children(node, problems);
            set_once(&mut s.free_disk_space, v, node, seen, problems);
        }
        "timeout-minutes" => {
            let mut en = Entries::new(node, problems);
            let v = en.one_value(
                "a number of minutes",
                "write for example `timeout-minutes 120`",
                |v| match v {
                    KdlValue::Integer(i) => Some(*i),
                    _ => None,
                },
                problems,
            );
            en.finish(&[], problems);
            no_children(node, problems);
            set_once(&mut s.timeout_minutes, v, node, seen, problems);
        }
        other => {
            let mut p = unknown_node(node, other, SETTING_NODES, place);
            if other == "app" || other == "registry" || other == "defaults" {
                p = p.help(format!(
                    "`{other}` belongs at the top level of the manifest"
                ));
            } else if other == "extends" {
                p = p.help("write `extends` as a property: `app NAME extends=OTHER { ... }`");
            } else if other == "pip-requirement" || other == "requirements" {
                p = p.help("pip packages go in a `pip { ... }` block");
            }
            problems.push(p);
        }
    }
}

fn parse_pip(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<RawPip> {
    let name = node.name().value();
    let mut en = Entries::new(node, problems);
    let pip = if name == "-" {
        let text = en.one_string(
            "a requirement, such as `- \"transformers==4.28.1\"`",
            problems,
        )?;
        RawPip {
            span: node.span(),
            text,
        }
    } else if en.args.is_empty() {
        RawPip {
            span: node.span(),
            text: Sp::new(name.to_string(), name_span(node)),
        }
    } else {
        let version = en.one_string("a version", problems)?;
        let text = if version.v.starts_with(|c: char| "=<>!~".contains(c)) {
            format!("{name}{}", version.v)
        } else {
            format!("{name}=={}", version.v)
        };
        RawPip {
            span: node.span(),
            text: Sp::new(text, node.span()),
        }
    };
    en.finish(&[], problems);
    no_children(node, problems);
    Some(pip)
}
