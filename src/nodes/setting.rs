//! One declaration per setting: its name, the shape of its node, how it is inherited through
//! `defaults` and `extends`, where it may be written, its value rules and how `explain` shows
//! it. Reading a `defaults`/`app` block, merging blocks and `explain` all work from these
//! declarations (registered in [`super::SETTINGS`]), so none of them can forget a setting.

use kdl::{KdlDocument, KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, children, name_span, no_children, set_once, unknown_node};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::App;

/// The shape of a setting's node.
pub enum Shape {
    /// One string argument: `base "quay.io/..."`. `what` names it in "needs ..." messages.
    Text { what: &'static str },
    /// One or more string arguments: `apt curl vim`.
    Words { what: &'static str },
    /// `#true` or `#false`; `fix` is the help for a wrong value.
    Flag { fix: &'static str },
    /// An integer.
    Number {
        expected: &'static str,
        fix: &'static str,
    },
    /// Children `NAME "value"`: `env { HF_HOME "/data" }`.
    Map,
    /// A family's own reader, for nodes with children or properties.
    Custom(fn(&KdlNode, &mut Vec<Problem>) -> Option<Value>),
}

/// How a value reaches an app from `defaults` and the apps it `extends` (child over parent).
pub enum Inherit {
    /// The nearest value wins.
    Override,
    /// Lists append, parent first.
    Append,
    /// Names one app: never inherited.
    Never,
    /// `NAME value` pairs: the child's value for a name replaces the parent's.
    ByKey,
    /// The family's own rule: `merge(parent, child)`.
    Custom(fn(&mut Value, &Value)),
}

/// How `jcx explain` shows a setting.
pub enum Explain {
    /// One row per value (per manifest line for lists, per name for maps); none when unset.
    Rows,
    /// As `Rows`, or jcx's default (computed from the app) with a note when unset.
    RowsOr(fn(&App) -> String, &'static str),
    /// The family's own rows.
    Custom(fn(&mut Ctx<'_>, &Resolved, &App)),
    /// Shown in the rows of the named setting.
    In(&'static str),
}

pub struct Setting {
    pub name: &'static str,
    pub shape: Shape,
    pub inherit: Inherit,
    /// Given at most once per block (a second node is an error); lists that append may repeat.
    pub once: bool,
    /// Names one app: not allowed in `defaults`.
    pub app_only: bool,
    /// A complete example, for "value missing" help.
    pub example: Option<&'static str>,
    /// The value's rules, checked once where the value is written.
    pub check: fn(&mut Checker<'_>, &Value),
    pub explain: Explain,
}

/// For settings whose rules are all in their shape.
pub fn no_check(_: &mut Checker<'_>, _: &Value) {}

/// Reads the nodes of a `defaults` (`in_app == false`) or `app` block.
pub fn read_block(doc: &KdlDocument, in_app: bool, problems: &mut Vec<Problem>) -> RawSettings {
    let mut s = RawSettings::default();
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for node in doc.nodes() {
        let mark = problems.len();
        read_node(node, in_app, &mut s, &mut seen, problems);
        if problems[mark..].iter().any(Problem::is_error)
            && let Some(def) = super::setting(node.name().value())
        {
            s.refused.push(def.name);
        }
    }
    s
}

fn read_node(
    node: &KdlNode,
    in_app: bool,
    s: &mut RawSettings,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let name = node.name().value();
    let Some(def) = super::setting(name) else {
        let place = if in_app {
            "an `app` block"
        } else {
            "`defaults`"
        };
        problems.push(unknown_setting(node, name, place));
        return;
    };
    if !in_app && def.app_only {
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
    let value = read_value(def, node, problems);
    if def.once {
        let mut slot = None;
        set_once(&mut slot, value, node, seen, problems);
        if let Some(v) = slot {
            s.set(def, v);
        }
    } else if let Some(v) = value {
        match s.get_mut(def) {
            Some(slot) => slot.extend(v),
            None => s.set(def, v),
        }
    }
}

fn read_value(def: &Setting, node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let simple = |problems: &mut Vec<Problem>,
                  f: &dyn Fn(&mut Entries, &mut Vec<Problem>) -> Option<Value>| {
        let mut en = Entries::new(node, problems);
        let v = f(&mut en, problems);
        en.finish(&[], problems);
        no_children(node, problems);
        v
    };
    match &def.shape {
        Shape::Text { what } => simple(problems, &|en, p| en.one_string(what, p).map(Value::Text)),
        Shape::Words { what } => simple(problems, &|en, p| {
            Some(Value::Words(en.strings(what, true, p)))
        }),
        Shape::Flag { fix } => simple(problems, &|en, p| {
            let take = |v: &KdlValue| match v {
                KdlValue::Bool(b) => Some(*b),
                _ => None,
            };
            en.one_value("#true or #false", fix, take, p)
                .map(Value::Flag)
        }),
        Shape::Number { expected, fix } => simple(problems, &|en, p| {
            let take = |v: &KdlValue| match v {
                KdlValue::Integer(i) => Some(*i),
                _ => None,
            };
            en.one_value(expected, fix, take, p).map(Value::Number)
        }),
        Shape::Map => Some(Value::Map(read_map(node, problems))),
        Shape::Custom(read) => read(node, problems),
    }
}

/// `NAME { KEY "value" ... }`.
pub(super) fn read_map(
    node: &KdlNode,
    problems: &mut Vec<Problem>,
) -> Vec<(Sp<String>, Sp<String>)> {
    let en = Entries::new(node, problems);
    en.finish(&[], problems);
    let mut out = Vec::new();
    if let Some(c) = children(node, problems) {
        for child in c.nodes() {
            let mut en = Entries::new(child, problems);
            let v = en.one_string("a value", problems);
            en.finish(&[], problems);
            no_children(child, problems);
            if let Some(v) = v {
                out.push((
                    Sp::new(child.name().value().to_string(), name_span(child)),
                    v,
                ));
            }
        }
    }
    out
}

fn unknown_setting(node: &KdlNode, name: &str, place: &str) -> Problem {
    let names: Vec<&str> = super::SETTINGS.iter().map(|s| s.name).collect();
    let p = unknown_node(node, name, &names, place);
    match name {
        "app" | "registry" | "defaults" => {
            p.help(format!("`{name}` belongs at the top level of the manifest"))
        }
        "extends" => p.help("write `extends` as a property: `app NAME extends=OTHER { ... }`"),
        "pip-requirement" | "requirements" => p.help("pip packages go in a `pip { ... }` block"),
        _ => p,
    }
}

/// Child over parent, setting by setting, each by its [`Inherit`] rule.
pub fn merge(mut base: RawSettings, over: &RawSettings) -> RawSettings {
    for def in super::SETTINGS {
        let Some(v) = over.get(def) else {
            if matches!(def.inherit, Inherit::Never) {
                base.remove(def);
            }
            continue;
        };
        match (&def.inherit, base.get_mut(def)) {
            (Inherit::Override | Inherit::Never, _) | (_, None) => base.set(def, v.clone()),
            (Inherit::Append, Some(b)) => b.extend(v.clone()),
            (Inherit::ByKey, Some(Value::Map(b))) => {
                for (k, val) in v.map() {
                    b.retain(|(bk, _)| bk.v != k.v);
                    b.push((k.clone(), val.clone()));
                }
            }
            (Inherit::ByKey, Some(b)) => *b = v.clone(),
            (Inherit::Custom(f), Some(b)) => f(b, v),
        }
    }
    base.refused.extend(over.refused.iter().copied());
    base
}
