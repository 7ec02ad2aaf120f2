//! `env { NAME "value" }`: environment variables of the image. Inherited by name: a child's
//! value for a name replaces the parent's.

use super::check::{Checker, duplicate_names, is_variable_name};
use super::raw::{RawSettings, Sp, Value};
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
    for (k, val) in v.map() {
        if !is_variable_name(&k.v) {
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
        if cx.safe(val, "the environment value", false) {
            reserved(cx, k, val);
        }
    }
    duplicate_names(cx, v.map(), "environment variable");
}

/// The Jupyter Docker Stacks' own variables. jcx's Dockerfile ends with `USER ${NB_UID}` and
/// copies files `--chown=${NB_UID}:${NB_GID}`, and the stacks' start-up scripts read these: a
/// custom notebook user is legitimate, root is not, and the paths belong to the base image.
fn reserved(cx: &mut Checker<'_>, k: &Sp<String>, val: &Sp<String>) {
    let v = val.v.as_str();
    let id_ok = |v: &str| {
        !v.is_empty()
            && v.len() <= 10
            && v.bytes().all(|c| c.is_ascii_digit())
            && !v.starts_with('0')
            && v.parse::<u64>().is_ok_and(|n| n < 1 << 31)
    };
    let (ok, help) = match k.v.as_str() {
        "NB_UID" | "NB_GID" => (
            id_ok(v),
            format!(
                "`{}` must be a positive number (not 0, which is root): the image ends with `USER ${{NB_UID}}`. The stacks default to 1000 (uid) and 100 (gid)",
                k.v
            ),
        ),
        "NB_USER" => (
            v != "root"
                && !v.is_empty()
                && v.len() <= 32
                && v.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && v.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-".contains(&c)),
            "`NB_USER` must be a user name (lowercase letters, digits, `_`, `-`), not `root`"
                .to_string(),
        ),
        "HOME" | "CONDA_DIR" => (
            false,
            format!(
                "`{}` belongs to the base image: jcx's steps and the stacks' start-up scripts use its value. Build a base image with another layout instead",
                k.v
            ),
        ),
        _ => return,
    };
    if !ok {
        cx.push(
            Problem::error(
                Code::ReservedEnv,
                val.span,
                format!("`{}` cannot be set to `{}`", k.v, v.escape_debug()),
            )
            .label("reserved variable")
            .also(k.span, "a Jupyter Docker Stacks variable")
            .help(help),
        );
    }
}

pub fn model(s: &RawSettings) -> Vec<(String, String)> {
    s.map(&ENV)
        .iter()
        .map(|(k, v)| (k.v.clone(), v.v.clone()))
        .collect()
}
