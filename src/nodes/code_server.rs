//! `code-server "X.Y.Z" { extensions ... }`: VS Code in the browser, installed from its release
//! package, with extensions. The version overrides through inheritance; extensions append.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, WordRule, dedup};
use super::decode::{Entries, name_span, no_children, unknown_node};
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, CodeServer};

pub static CODE_SERVER: Setting = Setting {
    name: "code-server",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: true,
    app_only: false,
    example: Some("code-server \"4.22.1\""),
    check,
    explain: Explain::Custom(explain),
};

#[derive(Debug, Clone)]
pub struct RawCodeServer {
    pub span: SourceSpan,
    /// The `code-server` node name, where "no version" points.
    pub name_span: SourceSpan,
    pub version: Option<Sp<String>>,
    pub extensions: Vec<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
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
    Some(Value::One(Box::new(RawCodeServer {
        span: node.span(),
        name_span: name_span(node),
        version,
        extensions,
    })))
}

/// The child's version replaces the parent's; extensions append.
fn merge(base: &mut Value, over: &Value) {
    let (Some(b), Some(o)) = (base.one_mut::<RawCodeServer>(), over.one::<RawCodeServer>()) else {
        return;
    };
    if o.version.is_some() {
        b.version = o.version.clone();
        b.span = o.span;
    }
    b.extensions.extend(o.extensions.iter().cloned());
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let Some(cs) = v.one::<RawCodeServer>() else {
        return;
    };
    if let Some(v) = &cs.version
        && cx.safe(v, "the code-server version", false)
        && !is_xyz(&v.v)
    {
        let help = if let Some(stripped) = v.v.strip_prefix('v') {
            format!("write the version without `v`: \"{stripped}\"")
        } else {
            "write a release version X.Y.Z, such as \"4.22.1\"".to_string()
        };
        cx.push(
            Problem::error(
                Code::InvalidCodeServerVersion,
                v.span,
                format!("`{}` is not a code-server release version", v.v),
            )
            .label("version")
            .help(help),
        );
    }
    cx.word_list(
        &cs.extensions,
        WordRule {
            what: "the extension id",
            quoted: false,
            valid: is_extension_id,
            code: Code::InvalidExtension,
            noun: "a VS Code extension id",
            label: "extension id",
            help: "write `publisher.name`, optionally `@version`, such as `ms-python.python`",
        },
    );
}

/// The app's code-server, if it has one with a version.
pub fn model(cx: &mut Checker<'_>, r: &Resolved) -> Option<CodeServer> {
    let cs = r.settings.one::<RawCodeServer>(&CODE_SERVER)?;
    let Some(version) = &cs.version else {
        // A version that was written but refused (`code-server 4.22`) is already reported.
        if r.settings.refused.contains(&CODE_SERVER.name) {
            return None;
        }
        cx.push(
            Problem::error(
                Code::MissingArgument,
                cs.name_span,
                format!(
                    "app `{}` lists code-server extensions but no code-server version",
                    r.name.v
                ),
            )
            .label("version missing")
            .help("write the version on the node: `code-server \"4.22.1\" { ... }`"),
        );
        return None;
    };
    Some(CodeServer {
        version: version.v.clone(),
        extensions: dedup(cs.extensions.iter().map(|e| e.v.clone())),
        install: true,
    })
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    let Some(cs) = r.settings.one::<RawCodeServer>(&CODE_SERVER) else {
        return;
    };
    match &cs.version {
        Some(v) => cx.one("code-server", v),
        None => {
            let o = cx.origin(cs.span);
            cx.push("code-server", "", o);
        }
    }
    cx.list("extensions", &cs.extensions);
}

/// `X.Y.Z`, digits only.
pub fn is_xyz(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|c| c.is_ascii_digit()))
}

fn is_extension_id(s: &str) -> bool {
    let (id, version) = match s.split_once('@') {
        Some((i, v)) => (i, Some(v)),
        None => (s, None),
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.as_bytes()[0].is_ascii_alphanumeric()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    matches!(id.split_once('.'), Some((publisher, name)) if part(publisher) && part(name))
        && version.is_none_or(is_xyz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_ids() {
        assert!(
            is_extension_id("ms-python.python")
                && is_extension_id("zhuangtongfa.material-theme@3.16.2")
        );
        assert!(!is_extension_id("python") && !is_extension_id("a.b;c"));
    }
}
