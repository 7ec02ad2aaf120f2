//! `env { NAME "value" }`: environment variables of the image. Inherited by name: a child's
//! value for a name replaces the parent's.

use std::collections::HashMap;

use miette::SourceSpan;

use super::check::Checker;
use super::raw::{RawSettings, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};

pub static ENV: Setting = Setting {
    name: "env",
    shape: Shape::Map,
    inherit: Inherit::ByKey,
    once: false,
    app_only: false,
    example: None,
    check,
    explain: Explain::Rows,
};

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: HashMap<&str, SourceSpan> = HashMap::new();
    for (k, val) in v.map() {
        let name_ok = !k.v.is_empty()
            && !k.v.starts_with(|c: char| c.is_ascii_digit())
            && k.v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !name_ok {
            cx.push(
                Problem::error(
                    Code::InvalidEnvName,
                    k.span,
                    format!(
                        "`{}` is not a valid environment variable name",
                        k.v.escape_debug()
                    ),
                )
                .label("variable name")
                .help("use letters, digits and `_`, not starting with a digit, such as `HF_HOME`"),
            );
        }
        if let Some(first) = seen.insert(&k.v, k.span) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    k.span,
                    format!("environment variable `{}` is set twice", k.v),
                )
                .label("set again")
                .also(first, "first set here")
                .help("keep one of them"),
            );
        }
        cx.safe(val, "the environment value", false);
    }
}

pub fn model(s: &RawSettings) -> Vec<(String, String)> {
    s.map(&ENV)
        .iter()
        .map(|(k, v)| (k.v.clone(), v.v.clone()))
        .collect()
}
