//! `conda-config { KEY VALUE… }`: conda settings of the image, written with `conda config
//! --system` into `${CONDA_DIR}/.condarc` before jcx's conda steps (so `channel_priority` and
//! friends apply to them too). Keys come from [`KEYS`], conda's documented settings with their
//! types; a list (`channels`) is prepended to the base image's. Inherited by key.

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, children, did_you_mean, name_span, no_children, type_name};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, CondaSetting};

pub static CONDA_CONFIG: Setting = Setting {
    name: "conda-config",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: Some("conda-config { channel_priority strict; }"),
    check,
    explain: Explain::Custom(explain),
};

/// What a key's value is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    /// A whole number, 0 or more.
    Int,
    /// A number of seconds (`60`, `9.15`), 0 or more.
    Number,
    Choice(&'static [&'static str]),
    /// One line of text (`env_prompt`).
    Text,
    /// An `https://` URL without credentials (`channel_alias`).
    Url,
    /// `#true`, or the path of a CA bundle (`ssl_verify`).
    TrueOrPath,
    List(Item),
}

/// What one item of a list key is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    /// A channel name or `https://` URL.
    Channel,
    /// An absolute directory (`~` for the user's home allowed).
    Path,
    /// A conda match spec.
    Spec,
    /// A plain word (`track_features`, `repodata_fns`).
    Word,
}

/// conda's settings (`conda config --describe`) that an image may set, with their types.
const KEYS: &[(&str, Kind)] = &[
    ("channels", Kind::List(Item::Channel)),
    ("default_channels", Kind::List(Item::Channel)),
    ("allowlist_channels", Kind::List(Item::Channel)),
    ("denylist_channels", Kind::List(Item::Channel)),
    ("channel_alias", Kind::Url),
    (
        "channel_priority",
        Kind::Choice(&["strict", "flexible", "disabled"]),
    ),
    ("override_channels_enabled", Kind::Bool),
    ("show_channel_urls", Kind::Bool),
    ("allow_non_channel_urls", Kind::Bool),
    ("add_anaconda_token", Kind::Bool),
    ("use_only_tar_bz2", Kind::Bool),
    ("repodata_fns", Kind::List(Item::Word)),
    ("number_channel_notices", Kind::Int),
    ("remote_connect_timeout_secs", Kind::Number),
    ("remote_read_timeout_secs", Kind::Number),
    ("remote_max_retries", Kind::Int),
    ("remote_backoff_factor", Kind::Int),
    ("local_repodata_ttl", Kind::Int),
    ("offline", Kind::Bool),
    ("ssl_verify", Kind::TrueOrPath),
    ("fetch_threads", Kind::Int),
    ("repodata_threads", Kind::Int),
    ("verify_threads", Kind::Int),
    ("execute_threads", Kind::Int),
    ("default_threads", Kind::Int),
    ("solver", Kind::Choice(&["libmamba", "classic"])),
    ("always_yes", Kind::Bool),
    ("auto_update_conda", Kind::Bool),
    ("notify_outdated_conda", Kind::Bool),
    ("auto_activate_base", Kind::Bool),
    ("auto_activate", Kind::Bool),
    ("auto_stack", Kind::Int),
    ("changeps1", Kind::Bool),
    ("env_prompt", Kind::Text),
    ("pip_interop_enabled", Kind::Bool),
    ("add_pip_as_python_dependency", Kind::Bool),
    ("allow_conda_downgrades", Kind::Bool),
    (
        "update_modifier",
        Kind::Choice(&[
            "freeze_installed",
            "update_deps",
            "update_specs",
            "update_all",
        ]),
    ),
    ("pinned_packages", Kind::List(Item::Spec)),
    ("create_default_packages", Kind::List(Item::Spec)),
    ("aggressive_update_packages", Kind::List(Item::Spec)),
    ("disallowed_packages", Kind::List(Item::Spec)),
    ("track_features", Kind::List(Item::Word)),
    (
        "safety_checks",
        Kind::Choice(&["disabled", "warn", "enabled"]),
    ),
    ("extra_safety_checks", Kind::Bool),
    (
        "path_conflict",
        Kind::Choice(&["clobber", "warn", "prevent"]),
    ),
    ("report_errors", Kind::Bool),
    ("unsatisfiable_hints", Kind::Bool),
    ("unsatisfiable_hints_check_depth", Kind::Int),
    ("envs_dirs", Kind::List(Item::Path)),
    ("pkgs_dirs", Kind::List(Item::Path)),
    ("always_copy", Kind::Bool),
    ("always_softlink", Kind::Bool),
    ("allow_softlinks", Kind::Bool),
    ("register_envs", Kind::Bool),
    ("rollback_enabled", Kind::Bool),
    ("use_index_cache", Kind::Bool),
    ("anaconda_upload", Kind::Bool),
    ("verbosity", Kind::Int),
];

/// conda settings that are mappings: `conda config --set` cannot write them.
const MAPPINGS: &[&str] = &[
    "proxy_servers",
    "custom_channels",
    "custom_multichannels",
    "channel_settings",
    "conda_build",
];

/// One value as written: the types conda's settings take.
#[derive(Debug, Clone, PartialEq)]
pub enum CondaValue {
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
}

impl CondaValue {
    /// As `conda config` reads it on its command line.
    pub fn word(&self) -> String {
        match self {
            CondaValue::Bool(b) => b.to_string(),
            CondaValue::Int(i) => i.to_string(),
            CondaValue::Float(f) => f.to_string(),
            CondaValue::Text(t) => t.clone(),
        }
    }
}

/// `KEY VALUE…`, one child of a `conda-config` block.
#[derive(Debug, Clone)]
pub struct RawCondaKey {
    pub key: Sp<String>,
    pub values: Vec<Sp<CondaValue>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    Entries::new(node, problems).finish(&[], problems);
    let doc = children(node, problems)?;
    let mut items: Vec<Box<dyn super::raw::Custom>> = Vec::new();
    for child in doc.nodes() {
        let mut en = Entries::new(child, problems);
        let args = std::mem::take(&mut en.args);
        en.finish(&[], problems);
        no_children(child, problems);
        let key = Sp::new(child.name().value().to_string(), name_span(child));
        if args.is_empty() {
            problems.push(
                Problem::error(
                    Code::MissingArgument,
                    key.span,
                    format!("`{}` needs a value", key.v),
                )
                .label("value missing")
                .help(format!(
                    "write the value after the key: `{} …` (a list takes several values)",
                    key.v
                )),
            );
            continue;
        }
        let mut values = Vec::new();
        for e in args {
            let v = match e.value() {
                KdlValue::String(s) => CondaValue::Text(s.clone()),
                KdlValue::Integer(i) => CondaValue::Int(*i),
                KdlValue::Float(f) if f.is_finite() => CondaValue::Float(*f),
                KdlValue::Bool(b) => CondaValue::Bool(*b),
                other => {
                    problems.push(
                        Problem::error(
                            Code::WrongType,
                            e.span(),
                            format!("`{}` cannot take {}", key.v, type_name(other)),
                        )
                        .label("not a conda value")
                        .help("conda settings take `#true`/`#false`, numbers or strings"),
                    );
                    continue;
                }
            };
            values.push(Sp::new(v, e.span()));
        }
        items.push(Box::new(RawCondaKey { key, values }));
    }
    Some(Value::Items(items))
}

/// By key: a child's key replaces the inherited one (a list whole), the others stay.
fn merge(base: &mut Value, over: &Value) {
    let keys: Vec<&str> = over
        .items::<RawCondaKey>()
        .map(|k| k.key.v.as_str())
        .collect();
    if let Some(items) = base.boxed_items() {
        items.retain(|i| {
            (**i)
                .as_any()
                .downcast_ref::<RawCondaKey>()
                .is_none_or(|k| !keys.contains(&k.key.v.as_str()))
        });
    }
    base.extend(over.clone());
}

/// The type of a key's value, for `jcx import` (which reads `conda config` command lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Flag,
    Whole,
    Seconds,
    Text,
    /// `#true` or a path (`ssl_verify`).
    FlagOrText,
    List,
}

pub fn value_kind(key: &str) -> Option<ValueKind> {
    Some(match kind_of(key)? {
        Kind::Bool => ValueKind::Flag,
        Kind::Int => ValueKind::Whole,
        Kind::Number => ValueKind::Seconds,
        Kind::Choice(_) | Kind::Text | Kind::Url => ValueKind::Text,
        Kind::TrueOrPath => ValueKind::FlagOrText,
        Kind::List(_) => ValueKind::List,
    })
}

fn kind_of(key: &str) -> Option<Kind> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

fn problem(span: SourceSpan, message: String, label: &str, help: String) -> Problem {
    Problem::error(Code::InvalidCondaConfig, span, message)
        .label(label)
        .help(help)
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for k in v.items::<RawCondaKey>() {
        if let Some(first) = seen.iter().find(|s| s.v == k.key.v) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    k.key.span,
                    format!("conda setting `{}` is set twice", k.key.v),
                )
                .label("set again")
                .also(first.span, "first set here")
                .help("keep one of them; a list takes several values on one line"),
            );
            continue;
        }
        seen.push(&k.key);
        let Some(kind) = kind_of(&k.key.v) else {
            cx.push(unknown_key(&k.key));
            continue;
        };
        if let Kind::List(item) = kind {
            for val in &k.values {
                list_item(cx, &k.key.v, val, item);
            }
            continue;
        }
        if let Some(extra) = k.values.get(1) {
            cx.push(problem(
                extra.span,
                format!("`{}` takes one value", k.key.v),
                "extra value",
                "remove the other values".into(),
            ));
        }
        scalar(cx, &k.key.v, &k.values[0], kind);
    }
}

fn unknown_key(key: &Sp<String>) -> Problem {
    let names: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    let underscored = key.v.replace('-', "_");
    let help = if MAPPINGS.contains(&key.v.as_str()) {
        format!(
            "`{}` is a mapping, which `conda config --set` cannot write: copy a whole `.condarc` with `file \"condarc\" to=\"${{CONDA_DIR}}/.condarc\"` instead",
            key.v
        )
    } else if underscored != key.v && names.contains(&underscored.as_str()) {
        format!("conda's settings are written with `_`: `{underscored}`")
    } else {
        did_you_mean(&key.v, &names).unwrap_or_else(|| {
            "jcx knows conda's documented settings (`conda config --describe`), such as `channels`, `channel_priority`, `auto_update_conda`, `remote_max_retries`".into()
        })
    };
    problem(
        key.span,
        format!(
            "`{}` is not a conda setting jcx knows",
            super::decode::shown(&key.v)
        ),
        "conda setting",
        help,
    )
}

fn wrong_type(key: &str, v: &Sp<CondaValue>, expected: &str, example: &str) -> Problem {
    let found = match &v.v {
        CondaValue::Bool(_) => "a boolean",
        CondaValue::Int(_) => "an integer",
        CondaValue::Float(_) => "a number",
        CondaValue::Text(_) => "a string",
    };
    Problem::error(
        Code::WrongType,
        v.span,
        format!("`{key}` takes {expected}, not {found}"),
    )
    .label(format!("{found} here"))
    .help(format!("for example `{key} {example}`"))
}

fn scalar(cx: &mut Checker<'_>, key: &str, v: &Sp<CondaValue>, kind: Kind) {
    match (kind, &v.v) {
        (Kind::Bool, CondaValue::Bool(_)) => {}
        (Kind::Bool, _) => cx.push(wrong_type(key, v, "`#true` or `#false`", "#false")),
        (Kind::Int, CondaValue::Int(i)) if (0..=1_000_000).contains(i) => {}
        (Kind::Number, CondaValue::Int(i)) if (0..=1_000_000).contains(i) => {}
        (Kind::Number, CondaValue::Float(f)) if (0.0..=1e6).contains(f) => {}
        (Kind::Int | Kind::Number, CondaValue::Int(_) | CondaValue::Float(_)) => {
            cx.push(problem(
                v.span,
                format!("`{key}` is out of range"),
                "number",
                "give a number from 0 to 1000000".into(),
            ))
        }
        (Kind::Int, _) => cx.push(wrong_type(key, v, "a whole number", "3")),
        (Kind::Number, _) => cx.push(wrong_type(key, v, "a number of seconds", "60")),
        (Kind::Choice(choices), CondaValue::Text(t)) if choices.contains(&t.as_str()) => {}
        (Kind::Choice(choices), CondaValue::Text(t)) => cx.push(problem(
            v.span,
            format!("`{key}` cannot be `{}`", super::decode::shown(t)),
            "value",
            super::decode::unknown_help(t, choices),
        )),
        (Kind::Choice(choices), _) => cx.push(wrong_type(key, v, "a word", choices[0])),
        (Kind::Text, CondaValue::Text(t)) => {
            text(cx, key, &Sp::new(t.clone(), v.span));
        }
        (Kind::Text, _) => cx.push(wrong_type(key, v, "a string", "\"(conda) \"")),
        (Kind::Url, CondaValue::Text(t)) => {
            super::sources::url(cx, &Sp::new(t.clone(), v.span), &format!("`{key}`"), false);
        }
        (Kind::Url, _) => cx.push(wrong_type(key, v, "a URL", "\"https://conda.example.org\"")),
        (Kind::TrueOrPath, CondaValue::Bool(true)) => {}
        (Kind::TrueOrPath, CondaValue::Bool(false)) => cx.push(problem(
            v.span,
            format!("`{key} #false` turns off TLS certificate checks for every conda download"),
            "no TLS checks",
            "conda checks no package signature: without TLS checks anyone on the way could replace packages (of the build and of every user). Give the path of a CA bundle that trusts your proxy instead: `ssl_verify \"/etc/ssl/certs/ca-certificates.crt\"`".into(),
        )),
        (Kind::TrueOrPath, CondaValue::Text(t)) => {
            path(cx, key, &Sp::new(t.clone(), v.span));
        }
        (Kind::TrueOrPath, _) => cx.push(wrong_type(
            key,
            v,
            "`#true` or the path of a CA bundle",
            "\"/etc/ssl/certs/ca-certificates.crt\"",
        )),
        (Kind::List(_), _) => {}
    }
}

fn list_item(cx: &mut Checker<'_>, key: &str, v: &Sp<CondaValue>, item: Item) {
    let CondaValue::Text(t) = &v.v else {
        cx.push(wrong_type(key, v, "strings", "\"conda-forge\""));
        return;
    };
    let sp = Sp::new(t.clone(), v.span);
    match item {
        Item::Channel => {
            if cx.safe(&sp, "the channel", false)
                && let Some(p) = super::conda_env::channel_problem(&sp)
            {
                cx.push(p);
            }
        }
        Item::Path => path(cx, key, &sp),
        Item::Spec => super::packages::check_conda_specs(cx, std::slice::from_ref(&sp)),
        Item::Word => {
            let ok = !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if cx.safe(&sp, "the value", false) && !ok {
                cx.push(problem(
                    v.span,
                    format!("`{}` is not a word `{key}` takes", super::decode::shown(t)),
                    "value",
                    "letters, digits, `.`, `_` and `-`".into(),
                ));
            }
        }
    }
}

/// A value written into a single-quoted shell word: no `'`, nothing that injects.
fn text(cx: &mut Checker<'_>, key: &str, v: &Sp<String>) {
    if cx.safe(v, &format!("the value of `{key}`"), false) && v.v.contains('\'') {
        cx.push(problem(
            v.span,
            format!("the value of `{key}` contains `'`"),
            "quote",
            "jcx writes the value as a single-quoted shell word: leave out `'`".into(),
        ));
    }
}

/// An absolute path (or `~/...`) without characters a shell word would need quoted.
fn path(cx: &mut Checker<'_>, key: &str, v: &Sp<String>) {
    let ok = (v.v.starts_with('/') || v.v.starts_with("~/"))
        && !v.v.split('/').any(|c| c == "..")
        && v.v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+@~-".contains(&b));
    if cx.safe(v, &format!("the path of `{key}`"), false) && !ok {
        cx.push(problem(
            v.span,
            format!(
                "`{}` is not a path `{key}` can take",
                super::decode::shown(&v.v)
            ),
            "path",
            "an absolute path (or `~/…`) of letters, digits and `/._+@-`, without `..`".into(),
        ));
    }
}

/// The app's conda settings, inherited first, as `conda config` writes them.
pub fn model(s: &RawSettings) -> Vec<CondaSetting> {
    s.items::<RawCondaKey>(&CONDA_CONFIG)
        .map(|k| CondaSetting {
            key: k.key.v.clone(),
            list: matches!(kind_of(&k.key.v), Some(Kind::List(_))),
            values: k.values.iter().map(|v| v.v.word()).collect(),
        })
        .collect()
}

/// For an app built on `parent` (`base app=`): the list keys whose values leave out one the
/// parent image's list has. A list is prepended to what the image has, so the child's image
/// would keep that value, unlike the same app built on the root image.
pub fn dropped_by_child(r: &Resolved, parent: &App) -> Vec<(SourceSpan, String)> {
    let mut out = Vec::new();
    for k in r.settings.items::<RawCondaKey>(&CONDA_CONFIG) {
        let Some(theirs) = parent.setup.conda_config.iter().find(|c| c.key == k.key.v) else {
            continue;
        };
        if !theirs.list {
            continue;
        }
        let mine: Vec<String> = k.values.iter().map(|v| v.v.word()).collect();
        let dropped: Vec<&str> = theirs
            .values
            .iter()
            .filter(|v| !mine.contains(v))
            .map(String::as_str)
            .collect();
        if !dropped.is_empty() {
            out.push((
                k.key.span,
                format!(
                    "`{}` leaves out {} of the parent image's list",
                    k.key.v,
                    super::decode::backticked(&dropped)
                ),
            ));
        }
    }
    out
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for k in r.settings.items::<RawCondaKey>(&CONDA_CONFIG) {
        let words: Vec<String> = k.values.iter().map(|v| v.v.word()).collect();
        let o = cx.origin(k.key.span);
        cx.push(
            "conda-config",
            format!("{}={}", k.key.v, words.join(" ")),
            o,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_lowercase() {
        let mut names: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        assert!(names.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        assert!(MAPPINGS.iter().all(|m| kind_of(m).is_none()));
    }

    #[test]
    fn words() {
        assert_eq!(CondaValue::Bool(false).word(), "false");
        assert_eq!(CondaValue::Float(9.15).word(), "9.15");
        assert_eq!(CondaValue::Int(5).word(), "5");
    }
}
