//! Image metadata and build settings: `labels { KEY "value" }`, `workdir "/path"` and
//! `build-args { NAME "default" }`. Labels and build arguments are inherited by name, the
//! working directory overrides.

use super::check::{Checker, duplicate_names, is_variable_name};
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};

pub static LABELS: Setting = Setting {
    name: "labels",
    shape: Shape::Map,
    inherit: Inherit::ByKey,
    once: false,
    app_only: false,
    example: None,
    check: check_labels,
    explain: Explain::Rows,
};

pub static WORKDIR: Setting = Setting {
    name: "workdir",
    shape: Shape::Text {
        what: "an absolute directory in the image",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("workdir \"/home/jovyan/work\""),
    check: check_workdir,
    explain: Explain::Rows,
};

pub static BUILD_ARGS: Setting = Setting {
    name: "build-args",
    shape: Shape::Map,
    inherit: Inherit::ByKey,
    once: false,
    app_only: false,
    example: None,
    check: check_build_args,
    explain: Explain::Rows,
};

/// Build arguments jcx's own Dockerfile steps declare; a manifest may not redefine them.
const JCX_ARGS: &[&str] = &[
    "BASE_IMAGE",
    "APT_MIRROR",
    "CONDA_CHANNEL",
    "PYPI_INDEX_URL",
    "PYTORCH_INDEX_URL",
    "CODE_SERVER_RELEASES",
    "TARGETARCH",
];

fn check_labels(cx: &mut Checker<'_>, v: &Value) {
    for (k, val) in v.map() {
        // The OCI annotation key grammar, lowercase: reverse-DNS components.
        let key_ok = !k.v.is_empty()
            && k.v.len() <= 128
            && k.v
                .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && k.v
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_/".contains(&c));
        if cx.safe(k, "the label name", false) && !key_ok {
            cx.push(
                Problem::error(Code::InvalidLabel, k.span, format!("`{}` is not a label name", k.v.escape_debug()))
                    .label("label name")
                    .help("label names are lowercase reverse-DNS words, such as `org.opencontainers.image.authors` or `edu.example.course`"),
            );
        }
        if cx.safe(val, "the label value", false) && val.v.chars().count() > 1000 {
            cx.push(
                Problem::error(
                    Code::TooLong,
                    val.span,
                    "the label value is longer than 1000 characters",
                )
                .label("too long")
                .help("labels are short metadata; link to longer text instead"),
            );
        }
    }
    duplicate_names(cx, v.map(), "label");
}

fn check_workdir(cx: &mut Checker<'_>, v: &Value) {
    let Some(w) = v.text() else { return };
    if !cx.safe(w, "the working directory", false) {
        return;
    }
    let rest = w.v.replace("${NB_USER}", "u").replace("${HOME}", "/h");
    let ok = rest.starts_with('/')
        && !rest.split('/').any(|c| c == "..")
        && !rest
            .chars()
            .any(|c| "\"$\\`'*?[]{}".contains(c) || c.is_whitespace());
    if !ok {
        cx.push(
            Problem::error(Code::InvalidFile, w.span, format!("`{}` is not a working directory jcx can set", w.v.escape_debug()))
                .label("working directory")
                .help("write an absolute path such as `/home/${NB_USER}/work` (it may use `${HOME}` and `${NB_USER}`), without spaces, quotes or other `$`"),
        );
    }
}

fn check_build_args(cx: &mut Checker<'_>, v: &Value) {
    for (k, val) in v.map() {
        if !is_variable_name(&k.v) {
            cx.push(
                Problem::error(
                    Code::InvalidEnvName,
                    k.span,
                    format!("`{}` is not a build argument name", k.v.escape_debug()),
                )
                .label("argument name")
                .help(
                    "use letters, digits and `_`, not starting with a digit, such as `COURSE_YEAR`",
                ),
            );
        } else if JCX_ARGS.contains(&k.v.as_str())
            || k.v.starts_with("NB_")
            || k.v.starts_with("DOWNLOAD_")
        {
            cx.push(
                Problem::error(Code::ReservedEnv, k.span, format!("`{}` is a build argument jcx's Dockerfile already uses", k.v))
                    .label("reserved")
                    .help("choose another name; mirrors and the base image are set with `mirrors` and `base`"),
            );
        }
        cx.safe(val, "the build argument's default", false);
    }
    duplicate_names(cx, v.map(), "build argument");
}

/// `LABEL` pairs of an app, in manifest order.
pub fn labels(s: &RawSettings) -> Vec<(String, String)> {
    pairs(s.map(&LABELS))
}

pub fn build_args(s: &RawSettings) -> Vec<(String, String)> {
    pairs(s.map(&BUILD_ARGS))
}

fn pairs(m: &[(Sp<String>, Sp<String>)]) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.v.clone(), v.v.clone())).collect()
}

pub fn workdir(s: &RawSettings) -> Option<String> {
    s.text(&WORKDIR).map(|w| w.v.clone())
}
