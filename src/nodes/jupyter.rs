//! `jupyter { ... }`: Jupyter configuration written as structured KDL and rendered as JSON
//! files where the stacks' Jupyter reads them:
//!
//! - `default-url "/lab"` and `server { Class { trait value } }`: a server config file in
//!   `${CONDA_DIR}/etc/jupyter/jupyter_server_config.d/`;
//! - `lab-settings "PLUGIN-ID" { ... }`: JupyterLab's `overrides.json`;
//! - `extension "NAME" enabled=#false`: `disabledExtensions` of `labconfig/page_config.json`.
//!
//! KDL maps to JSON one way only (see [`json`]). Inherited by deep merge: objects merge by key,
//! anything else is replaced by the child's value.

use kdl::{KdlDocument, KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, children, name_span, no_children, string_of, unknown_node};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, Json, Jupyter};

pub static JUPYTER: Setting = Setting {
    name: "jupyter",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: true,
    app_only: false,
    example: None,
    check,
    explain: Explain::Custom(explain),
};

const CHILDREN: &[&str] = &["default-url", "server", "lab-settings", "extension"];

/// A JSON value with the places its strings and keys were written.
#[derive(Debug, Clone)]
pub enum RawJson {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Sp<String>),
    Array(Vec<RawJson>),
    Object(Vec<(Sp<String>, RawJson)>),
}

type Object = Vec<(Sp<String>, RawJson)>;

#[derive(Debug, Clone)]
pub struct RawJupyter {
    pub span: SourceSpan,
    pub default_url: Option<Sp<String>>,
    /// `server { ... }`: configurable class -> traits.
    pub server: Object,
    /// `lab-settings "PLUGIN" { ... }`, plugin id -> settings.
    pub lab: Object,
    /// `extension "NAME" enabled=...`.
    pub extensions: Vec<(Sp<String>, Sp<bool>)>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    Entries::new(node, problems).finish(&[], problems);
    let doc = children(node, problems)?;
    let mut j = RawJupyter {
        span: node.span(),
        default_url: None,
        server: Vec::new(),
        lab: Vec::new(),
        extensions: Vec::new(),
    };
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for child in doc.nodes() {
        let name = child.name().value();
        match name {
            "default-url" | "server" => {
                if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
                    problems.push(twice(name_span(child), *first, name));
                    continue;
                }
                seen.push((name.to_string(), name_span(child)));
                if name == "server" {
                    Entries::new(child, problems).finish(&[], problems);
                    if let Some(d) = children(child, problems) {
                        j.server = object(d, problems);
                    }
                } else {
                    let mut en = Entries::new(child, problems);
                    j.default_url = en.one_string("a path such as \"/lab\"", problems);
                    en.finish(&[], problems);
                    no_children(child, problems);
                }
            }
            "lab-settings" => {
                let mut en = Entries::new(child, problems);
                let plugin = en.one_string(
                    "a plugin id such as \"@jupyterlab/apputils-extension:themes\"",
                    problems,
                );
                en.finish(&[], problems);
                let settings = children(child, problems).map(|d| object(d, problems));
                if let (Some(p), Some(s)) = (plugin, settings) {
                    if let Some((first, _)) = j.lab.iter().find(|(k, _)| k.v == p.v) {
                        problems.push(twice(p.span, first.span, "lab-settings"));
                    } else {
                        j.lab.push((p, RawJson::Object(s)));
                    }
                }
            }
            "extension" => read_extension(child, &mut j, problems),
            _ => problems.push(unknown_node(child, name, CHILDREN, "`jupyter`")),
        }
    }
    Some(Value::One(Box::new(j)))
}

fn twice(span: SourceSpan, first: SourceSpan, what: &str) -> Problem {
    Problem::error(
        Code::Duplicate,
        span,
        format!("`{what}` is given twice in `jupyter`"),
    )
    .label("given again here")
    .also(first, "first given here")
    .help("keep one of them")
}

fn read_extension(child: &KdlNode, j: &mut RawJupyter, problems: &mut Vec<Problem>) {
    let mut en = Entries::new(child, problems);
    let name = en.one_string("an extension name such as \"jupyterlab-git\"", problems);
    let enabled = en.prop("enabled");
    en.finish(&["enabled"], problems);
    no_children(child, problems);
    let enabled = match enabled.map(|e| (e.value(), e.span())) {
        Some((KdlValue::Bool(b), span)) => Some(Sp::new(*b, span)),
        Some((_, span)) => {
            problems.push(
                Problem::error(Code::WrongType, span, "`enabled=` takes #true or #false")
                    .label("not a boolean")
                    .help("`extension \"jupyterlab-git\" enabled=#false`"),
            );
            None
        }
        None => {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    child.span(),
                    "`extension` needs `enabled=#true` or `enabled=#false`",
                )
                .label("state missing")
                .help("`extension \"jupyterlab-git\" enabled=#false` disables it"),
            );
            None
        }
    };
    let (Some(name), Some(enabled)) = (name, enabled) else {
        return;
    };
    if let Some((first, _)) = j.extensions.iter().find(|(k, _)| k.v == name.v) {
        problems.push(twice(name.span, first.span, "extension"));
    } else {
        j.extensions.push((name, enabled));
    }
}

/// The children of a block as a JSON object; a key written twice is an error.
fn object(doc: &KdlDocument, problems: &mut Vec<Problem>) -> Object {
    let mut out: Object = Vec::new();
    for child in doc.nodes() {
        let key = Sp::new(child.name().value().to_string(), name_span(child));
        let Some(v) = json(child, problems) else {
            continue;
        };
        if let Some((first, _)) = out.iter().find(|(k, _)| k.v == key.v) {
            problems.push(
                Problem::error(
                    Code::Duplicate,
                    key.span,
                    format!("key `{}` is given twice in one object", key.v),
                )
                .label("given again here")
                .also(first.span, "first given here")
                .help("keep one of them; for a list, write its items as arguments or `- item` children"),
            );
        } else {
            out.push((key, v));
        }
    }
    out
}

/// One node's value: one argument is that value, several an array, a block of `-` nodes an
/// array, any other block an object. Properties are refused (a block says the same thing).
pub fn json(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<RawJson> {
    let mut en = Entries::new(node, problems);
    let args = std::mem::take(&mut en.args);
    en.finish(&[], problems);
    let name = node.name().value();
    match (args.len(), node.children()) {
        (0, None) => {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    name_span(node),
                    format!("`{name}` has no value"),
                )
                .label("value missing")
                .help("write a value (`\"text\"`, `42`, `1.5`, `#true`, `#null`), several values for an array, or a `{ ... }` block for an object"),
            );
            None
        }
        (_, Some(block)) if !args.is_empty() => {
            problems.push(
                Problem::error(
                    Code::UnexpectedChildren,
                    block.span(),
                    format!("`{name}` has both values and a block"),
                )
                .label("block after values")
                .help("a key holds values (an array when there are several) or a `{ ... }` block (an object), not both"),
            );
            None
        }
        (1, None) => scalar(args[0], problems),
        (_, None) => {
            let items: Vec<RawJson> = args.iter().filter_map(|e| scalar(e, problems)).collect();
            (items.len() == args.len()).then_some(RawJson::Array(items))
        }
        (_, Some(block)) => {
            let dashes = block
                .nodes()
                .iter()
                .filter(|n| n.name().value() == "-")
                .count();
            if dashes == 0 {
                return Some(RawJson::Object(object(block, problems)));
            }
            if dashes < block.nodes().len() {
                problems.push(
                    Problem::error(
                        Code::UnexpectedChildren,
                        block.span(),
                        format!("`{name}` mixes `-` items (an array) with keys (an object)"),
                    )
                    .label("array or object?")
                    .help("write only `- value` children for an array, or only named keys for an object"),
                );
                return None;
            }
            let items: Vec<RawJson> = block
                .nodes()
                .iter()
                .filter_map(|n| json(n, problems))
                .collect();
            (items.len() == dashes).then_some(RawJson::Array(items))
        }
    }
}

fn scalar(e: &kdl::KdlEntry, problems: &mut Vec<Problem>) -> Option<RawJson> {
    Some(match e.value() {
        KdlValue::String(_) => RawJson::Str(string_of(e, "a value", problems)?),
        KdlValue::Integer(i) => RawJson::Int(*i),
        KdlValue::Float(f) if f.is_finite() => RawJson::Float(*f),
        KdlValue::Float(_) => {
            problems.push(
                Problem::error(Code::WrongType, e.span(), "JSON has no infinity or NaN")
                    .label("not a JSON number")
                    .help("write a finite number"),
            );
            return None;
        }
        KdlValue::Bool(b) => RawJson::Bool(*b),
        KdlValue::Null => RawJson::Null,
    })
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let Some(j) = v.one::<RawJupyter>() else {
        return;
    };
    if let Some(u) = &j.default_url
        && cx.safe(u, "the default URL", false)
        && (!u.v.starts_with('/') || u.v.chars().any(char::is_whitespace))
    {
        cx.push(
            Problem::error(Code::InvalidJupyter, u.span, format!("`{}` is not a URL path", u.v.escape_debug()))
                .label("default URL")
                .help("write the path the server opens first, starting with `/`: `\"/lab\"`, `\"/tree\"`, `\"/vscode/\"`"),
        );
    }
    for (class, traits) in &j.server {
        let name_ok = class.v.starts_with(|c: char| c.is_ascii_uppercase())
            && class
                .v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok || !matches!(traits, RawJson::Object(_)) {
            cx.push(
                Problem::error(Code::InvalidJupyter, class.span, format!("`{}` is not a configurable class with a block of settings", class.v.escape_debug()))
                    .label("in `server`")
                    .help("`server` holds classes, each with its settings: `server { ServerApp { terminals_enabled #false } }`"),
            );
        }
        if let (Some(u), RawJson::Object(t)) = (&j.default_url, traits)
            && class.v == "ServerApp"
            && let Some((k, _)) = t.iter().find(|(k, _)| k.v == "default_url")
        {
            cx.push(
                Problem::error(
                    Code::InvalidJupyter,
                    k.span,
                    "the default URL is given twice",
                )
                .label("`ServerApp.default_url`")
                .also(u.span, "`default-url`")
                .help("keep `default-url` and remove `default_url` from `server`"),
            );
        }
    }
    for (plugin, _) in &j.lab {
        if !plugin_id_ok(&plugin.v) {
            cx.push(
                Problem::error(Code::InvalidJupyter, plugin.span, format!("`{}` is not a JupyterLab plugin id", plugin.v.escape_debug()))
                    .label("plugin id")
                    .help("a plugin id is `PACKAGE:PLUGIN`, as in JupyterLab's Settings Editor: `\"@jupyterlab/apputils-extension:themes\"`"),
            );
        }
    }
    for (name, _) in &j.extensions {
        let ok = !name.v.is_empty()
            && name.v.len() <= 214
            && name
                .v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "@/._:-".contains(c));
        if !ok {
            cx.push(
                Problem::error(Code::InvalidJupyter, name.span, format!("`{}` is not a JupyterLab extension or plugin name", name.v.escape_debug()))
                    .label("extension")
                    .help("name the extension as `jupyter labextension list` shows it (`jupyterlab-git`, `@jupyterlab/git`), or one plugin (`@jupyterlab/git:plugin`)"),
            );
        }
    }
    let mut strings = Vec::new();
    collect_strings(&j.server, &mut strings);
    collect_strings(&j.lab, &mut strings);
    for s in strings {
        cx.safe(s, "a Jupyter setting", true);
    }
}

/// `@scope/package:plugin` or `package:plugin`.
fn plugin_id_ok(id: &str) -> bool {
    let Some((package, plugin)) = id.split_once(':') else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    let package_ok = match package.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(a, b)| word(a) && word(b)),
        None => word(package),
    };
    package_ok && word(plugin)
}

fn collect_strings<'a>(o: &'a Object, out: &mut Vec<&'a Sp<String>>) {
    fn walk<'a>(v: &'a RawJson, out: &mut Vec<&'a Sp<String>>) {
        match v {
            RawJson::Str(s) => out.push(s),
            RawJson::Array(a) => a.iter().for_each(|i| walk(i, out)),
            RawJson::Object(o) => collect_strings(o, out),
            _ => {}
        }
    }
    for (k, v) in o {
        out.push(k);
        walk(v, out);
    }
}

/// Deep merge: the child's keys over the parent's, objects merged key by key.
fn merge_object(base: &mut Object, over: &Object) {
    for (k, v) in over {
        match base.iter_mut().find(|(bk, _)| bk.v == k.v) {
            Some((_, RawJson::Object(b))) if matches!(v, RawJson::Object(_)) => {
                let RawJson::Object(o) = v else {
                    unreachable!()
                };
                merge_object(b, o);
            }
            Some(slot) => slot.1 = v.clone(),
            None => base.push((k.clone(), v.clone())),
        }
    }
}

fn merge(base: &mut Value, over: &Value) {
    let (Some(b), Some(o)) = (base.one_mut::<RawJupyter>(), over.one::<RawJupyter>()) else {
        *base = over.clone();
        return;
    };
    if o.default_url.is_some() {
        b.default_url = o.default_url.clone();
    }
    merge_object(&mut b.server, &o.server);
    merge_object(&mut b.lab, &o.lab);
    for (k, v) in &o.extensions {
        match b.extensions.iter_mut().find(|(bk, _)| bk.v == k.v) {
            Some(slot) => slot.1 = v.clone(),
            None => b.extensions.push((k.clone(), v.clone())),
        }
    }
}

fn plain(v: &RawJson) -> Json {
    match v {
        RawJson::Null => Json::Null,
        RawJson::Bool(b) => Json::Bool(*b),
        RawJson::Int(i) => Json::Int(*i),
        RawJson::Float(f) => Json::Float(*f),
        RawJson::Str(s) => Json::Str(s.v.clone()),
        RawJson::Array(a) => Json::Array(a.iter().map(plain).collect()),
        RawJson::Object(o) => plain_object(o),
    }
}

fn plain_object(o: &Object) -> Json {
    Json::Object(o.iter().map(|(k, v)| (k.v.clone(), plain(v))).collect())
}

/// The app's Jupyter files, `None` when it has no `jupyter` block.
pub fn model(s: &RawSettings) -> Option<Jupyter> {
    let j = s.one::<RawJupyter>(&JUPYTER)?;
    let mut server = j.server.clone();
    if let Some(u) = &j.default_url {
        let url = (
            Sp::new("default_url".to_string(), u.span),
            RawJson::Str(u.clone()),
        );
        let app = vec![(
            Sp::new("ServerApp".to_string(), u.span),
            RawJson::Object(vec![url]),
        )];
        merge_object(&mut server, &app);
    }
    let page_config = (!j.extensions.is_empty()).then(|| {
        let disabled = j
            .extensions
            .iter()
            .map(|(k, v)| (k.v.clone(), Json::Bool(!v.v)))
            .collect();
        Json::Object(vec![(
            "disabledExtensions".to_string(),
            Json::Object(disabled),
        )])
    });
    Some(Jupyter {
        server: (!server.is_empty()).then(|| plain_object(&server)),
        lab_overrides: (!j.lab.is_empty()).then(|| plain_object(&j.lab)),
        page_config,
    })
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    let Some(j) = r.settings.one::<RawJupyter>(&JUPYTER) else {
        return;
    };
    if let Some(u) = &j.default_url {
        cx.one("jupyter default-url", u);
    }
    for (class, v) in &j.server {
        let o = cx.origin(class.span);
        cx.push(
            "jupyter server",
            format!("{} {}", class.v, plain(v).compact()),
            o,
        );
    }
    for (plugin, v) in &j.lab {
        let o = cx.origin(plugin.span);
        cx.push(
            "jupyter lab-settings",
            format!("{} {}", plugin.v, plain(v).compact()),
            o,
        );
    }
    for (name, on) in &j.extensions {
        let o = cx.origin(name.span);
        let state = if on.v { "enabled" } else { "disabled" };
        cx.push("jupyter extension", format!("{} {state}", name.v), o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_ids() {
        assert!(plugin_id_ok("@jupyterlab/apputils-extension:themes"));
        assert!(plugin_id_ok("jupyterlab-git:plugin"));
        assert!(!plugin_id_ok("@jupyterlab/apputils-extension"));
        assert!(!plugin_id_ok("@jupyterlab:themes"));
        assert!(!plugin_id_ok("a b:c"));
    }
}
