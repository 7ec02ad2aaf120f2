//! Reading KDL nodes: each node's arguments, properties and children handed out by type, and
//! every deviation from the expected shape reported once. Shared by every node family; knows no
//! node names except through [`super::example`].

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use super::raw::Sp;
use crate::error::{Code, Problem};

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
    if word.contains('{') {
        // A variant template's name: only an app with the same `variants` fills it in.
        return format!(
            "`{word}` has a placeholder, which only an app with `variants` fills in: name one of the apps ({}), or give this app the same `variants` block",
            backticked(apps)
        );
    }
    did_you_mean(word, apps)
        .unwrap_or_else(|| format!("apps in this manifest: {}", backticked(apps)))
}

pub fn unknown_help(word: &str, candidates: &[&str]) -> String {
    did_you_mean(word, candidates).unwrap_or_else(|| one_of(candidates))
}

pub fn type_name(v: &KdlValue) -> &'static str {
    match v {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

pub fn name_span(node: &KdlNode) -> SourceSpan {
    node.name().span()
}

/// Walks one node's entries, handing out arguments and properties and reporting what is left.
pub struct Entries<'a> {
    pub node: &'a KdlNode,
    pub args: Vec<&'a KdlEntry>,
    pub props: Vec<(&'a str, &'a KdlEntry)>,
    /// The node takes exactly one value and this was it (extra arguments are then most likely
    /// unquoted text).
    single: Option<&'a KdlEntry>,
}

impl<'a> Entries<'a> {
    pub fn new(node: &'a KdlNode, problems: &mut Vec<Problem>) -> Self {
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

    pub fn node_name(&self) -> &str {
        self.node.name().value()
    }

    pub fn prop(&mut self, key: &str) -> Option<&'a KdlEntry> {
        let i = self.props.iter().position(|(k, _)| *k == key)?;
        Some(self.props.remove(i).1)
    }

    pub fn prop_string(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
        let e = self.prop(key)?;
        string_of(e, &format!("property `{key}`"), problems)
    }

    /// Exactly one string argument.
    pub fn one_string(&mut self, what: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
        if self.args.is_empty() {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    name_span(self.node),
                    format!("`{}` needs {what}", self.node_name()),
                )
                .label("value missing")
                .help(match super::example(self.node_name()) {
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
    pub fn one_value<T>(
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
    pub fn strings(
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
    pub fn finish(self, allowed_props: &[&str], problems: &mut Vec<Problem>) {
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

pub fn string_of(e: &KdlEntry, what: &str, problems: &mut Vec<Problem>) -> Option<Sp<String>> {
    match e.value() {
        KdlValue::String(s) => Some(Sp::new(s.clone(), e.span())),
        other => {
            let text = e.to_string();
            let text = text.trim();
            let help = match (other, e.name()) {
                // `mode=644`: quote the value, not the property.
                (KdlValue::Float(_) | KdlValue::Integer(_), Some(name)) => {
                    let value = text.split_once('=').map_or(text, |(_, v)| v.trim());
                    format!(
                        "write it as a string: {}=\"{value}\" (numbers lose leading and trailing zeros)",
                        name.value()
                    )
                }
                (KdlValue::Float(_) | KdlValue::Integer(_), None) => {
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

pub fn no_children(node: &KdlNode, problems: &mut Vec<Problem>) {
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

pub fn children<'a>(node: &'a KdlNode, problems: &mut Vec<Problem>) -> Option<&'a KdlDocument> {
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

pub fn set_once<T>(
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

pub fn unknown_node(node: &KdlNode, name: &str, allowed: &[&str], place: &str) -> Problem {
    let help = match odd_char(name) {
        // `apt‐get` with U+2010: the edit distance would hide the real mistake.
        Some(odd) => {
            let ascii = ascii_lookalike(name);
            if allowed.contains(&ascii.as_str()) {
                format!("the name {odd}: retype it as `{ascii}`")
            } else {
                format!("the name {odd}; {}", unknown_help(&ascii, allowed))
            }
        }
        None => unknown_help(name, allowed),
    };
    Problem::error(
        Code::UnknownNode,
        name_span(node),
        format!("unknown node `{}` in {place}", shown(name)),
    )
    .label("unknown node")
    .help(help)
}

/// A name as messages show it: ASCII as is, anything else (invisible, look-alike or control
/// characters) as `\u{XXXX}`, so that what the user sees is what the file contains.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        }
    }
    out
}

/// Characters that look like an ASCII one (or like nothing) and slip into names copied from
/// documents, chat or web pages.
const LOOKALIKES: &[(char, &str, &str)] = &[
    ('\u{00A0}', "NO-BREAK SPACE", " "),
    ('\u{00AD}', "SOFT HYPHEN", ""),
    ('\u{2010}', "HYPHEN", "-"),
    ('\u{2011}', "NON-BREAKING HYPHEN", "-"),
    ('\u{2012}', "FIGURE DASH", "-"),
    ('\u{2013}', "EN DASH", "-"),
    ('\u{2014}', "EM DASH", "-"),
    ('\u{2212}', "MINUS SIGN", "-"),
    ('\u{FE63}', "SMALL HYPHEN-MINUS", "-"),
    ('\u{FF0D}', "FULLWIDTH HYPHEN-MINUS", "-"),
    ('\u{FF0E}', "FULLWIDTH FULL STOP", "."),
    ('\u{2024}', "ONE DOT LEADER", "."),
    ('\u{200B}', "ZERO WIDTH SPACE", ""),
    ('\u{200C}', "ZERO WIDTH NON-JOINER", ""),
    ('\u{200D}', "ZERO WIDTH JOINER", ""),
    ('\u{2060}', "WORD JOINER", ""),
    ('\u{FEFF}', "ZERO WIDTH NO-BREAK SPACE", ""),
    ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING", ""),
    ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING", ""),
    ('\u{202C}', "POP DIRECTIONAL FORMATTING", ""),
    ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE", ""),
    ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE", ""),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE", ""),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE", ""),
    ('\u{2068}', "FIRST STRONG ISOLATE", ""),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE", ""),
];

/// "contains U+2010 (HYPHEN), which looks like `-`" for the first character of `s` that is not
/// printable ASCII; `None` when there is none.
pub fn odd_char(s: &str) -> Option<String> {
    let c = s.chars().find(|c| !c.is_ascii() || c.is_ascii_control())?;
    let code = format!("U+{:04X}", c as u32);
    Some(match LOOKALIKES.iter().find(|(l, _, _)| *l == c) {
        Some((_, name, "")) => format!("contains the invisible character {code} ({name})"),
        Some((_, name, like)) => format!("contains {code} ({name}), which looks like `{like}`"),
        None if c.is_control() => format!("contains the control character {code}"),
        None => format!("contains the non-ASCII character {code} (`{c}`)"),
    })
}

/// `s` with every look-alike replaced by the ASCII character it imitates.
pub fn ascii_lookalike(s: &str) -> String {
    s.chars()
        .map(|c| match LOOKALIKES.iter().find(|(l, _, _)| *l == c) {
            Some((_, _, like)) => like.to_string(),
            None => c.to_string(),
        })
        .collect()
}
