//! How the image starts: `cmd "ARG"…` and `entrypoint "ARG"…` (written in JSON form, after
//! every other step) and `expose PORT[/tcp|udp]…`. `cmd` and `entrypoint` override through
//! `defaults` and `extends`; ports append. The stacks' ENTRYPOINT (tini, then `start.sh`, which
//! runs the start-up hooks) is kept unless the manifest replaces it: jcx warns then.

use kdl::{KdlNode, KdlValue};

use super::check::Checker;
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};

pub static CMD: Setting = Setting {
    name: "cmd",
    shape: Shape::Words {
        what: "argument (the program first)",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("cmd \"start-notebook.py\" \"--ServerApp.default_url=/lab\""),
    check: check_command,
    explain: Explain::Rows,
};

pub static ENTRYPOINT: Setting = Setting {
    name: "entrypoint",
    shape: Shape::Words {
        what: "argument (the program first)",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("entrypoint \"tini\" \"-g\" \"--\" \"start.sh\""),
    check: check_command,
    explain: Explain::Rows,
};

pub static EXPOSE: Setting = Setting {
    name: "expose",
    shape: Shape::Custom(read_expose),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("expose 8888 \"8080/tcp\""),
    check: check_expose,
    explain: Explain::Rows,
};

/// `expose 8888 "9000/udp"`: numbers and strings, kept as words (numbers as written).
fn read_expose(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let args = std::mem::take(&mut en.args);
    en.finish(&[], problems);
    no_children(node, problems);
    if args.is_empty() {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                super::decode::name_span(node),
                "`expose` needs at least one port",
            )
            .label("nothing listed")
            .help("for example `expose 8888 \"8080/tcp\"`"),
        );
        return None;
    }
    let mut words = Vec::new();
    for e in args {
        match e.value() {
            KdlValue::Integer(i) => words.push(Sp::new(i.to_string(), e.span())),
            KdlValue::String(s) => words.push(Sp::new(s.clone(), e.span())),
            other => problems.push(
                Problem::error(
                    Code::WrongType,
                    e.span(),
                    format!(
                        "`expose` takes whole port numbers or strings, not {}",
                        match other {
                            KdlValue::Float(_) => "a decimal number",
                            _ => super::decode::type_name(other),
                        }
                    ),
                )
                .label("not a port")
                .help("write `expose 8888`, or `expose \"9000/udp\"` with a protocol"),
            ),
        }
    }
    Some(Value::Words(words))
}

fn check_command(cx: &mut Checker<'_>, v: &Value) {
    let words = v.words();
    for w in words {
        cx.safe(w, "the argument", false);
    }
    let Some(first) = words.first() else { return };
    if first.v.trim().is_empty() || first.v.trim() != first.v || first.v.contains(' ') {
        let parts: Vec<String> = first
            .v
            .split_whitespace()
            .map(|p| format!("\"{p}\""))
            .collect();
        let help = if parts.len() > 1 {
            format!(
                "each argument is a string of its own (the JSON form runs no shell): {}",
                parts.join(" ")
            )
        } else {
            "the first argument is the program to run, such as \"start-notebook.py\"".into()
        };
        cx.push(
            Problem::error(
                Code::InvalidCommand,
                first.span,
                format!("`{}` is not a program name", first.v.escape_debug()),
            )
            .label("program")
            .help(help),
        );
    }
}

/// `8888`, `8888/tcp`, `9000/udp`.
pub fn port_ok(p: &str) -> bool {
    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    matches!(proto, "tcp" | "udp")
        && !num.starts_with('0')
        && num.len() <= 5
        && num.bytes().all(|b| b.is_ascii_digit())
        && num.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
}

fn check_expose(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<(String, miette::SourceSpan)> = Vec::new();
    for p in v.words() {
        if !cx.safe(p, "the port", false) {
            continue;
        }
        if !port_ok(&p.v) {
            cx.push(
                Problem::error(
                    Code::InvalidPort,
                    p.span,
                    format!("`{}` is not a port", p.v.escape_debug()),
                )
                .label("port")
                .help("a port number from 1 to 65535, optionally with `/tcp` or `/udp`: `8888`, `\"9000/udp\"`"),
            );
            continue;
        }
        let norm = if p.v.contains('/') {
            p.v.clone()
        } else {
            format!("{}/tcp", p.v)
        };
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == norm) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    p.span,
                    format!("port `{}` is listed twice", p.v),
                )
                .label("listed again")
                .also(*first, "first listed here")
                .help("remove one of them"),
            );
        }
        seen.push((norm, p.span));
    }
}

/// Whether an ENTRYPOINT still runs the stacks' `start.sh` (and so the start-up hooks).
fn runs_start_sh(words: &[Sp<String>]) -> bool {
    words
        .iter()
        .any(|w| w.v == "start.sh" || w.v.ends_with("/start.sh"))
}

/// The rules of a resolved app: an ENTRYPOINT without the stacks' `start.sh` drops what it does
/// (an error when the app has hooks, which would never run), and any ENTRYPOINT resets the
/// base image's CMD unless the app gives one.
pub fn check_app(cx: &mut Checker<'_>, r: &Resolved) {
    let s = &r.settings;
    let Some(entry) = s.words_opt(&ENTRYPOINT) else {
        return;
    };
    let Some(first) = entry.first() else { return };
    let span = first.span;
    if !runs_start_sh(entry) {
        let hooks: Vec<_> = s
            .items::<super::hooks::RawHook>(&super::hooks::HOOK)
            .collect();
        match hooks.first() {
            Some(h) => cx.push(
                Problem::error(
                    Code::EntrypointOverride,
                    span,
                    "this ENTRYPOINT does not run `start.sh`, so the app's hooks would never run",
                )
                .label("no start.sh")
                .also(h.span, "a hook of this app")
                .help("keep the stacks' start script: `entrypoint \"tini\" \"-g\" \"--\" \"start.sh\"` (then your command with `cmd`), or remove the hooks"),
            ),
            None => cx.push(
                Problem::warning(
                    Code::EntrypointOverride,
                    span,
                    "this ENTRYPOINT replaces the stacks' `tini -g -- start.sh`",
                )
                .label("no start.sh")
                .help("JupyterHub's spawners keep the image's ENTRYPOINT: without `start.sh` no start-up hook runs (`start-notebook.d`, `before-notebook.d`), NB_UID/NB_USER changes and `GRANT_SUDO` are ignored, and no init process reaps zombies. Keep `\"tini\" \"-g\" \"--\" \"start.sh\"` first: a wrapper of yours can follow it"),
            ),
        }
    }
    if !s.has(&CMD) {
        cx.push(
            Problem::warning(
                Code::EntrypointOverride,
                span,
                "setting ENTRYPOINT resets the base image's CMD",
            )
            .label("the image gets no CMD")
            .help("Docker drops an inherited CMD when a Dockerfile sets ENTRYPOINT: give the command too, such as `cmd \"start-notebook.py\"` (the stacks' CMD)"),
        );
    }
}

/// The arguments of `cmd` or `entrypoint`, when written.
pub fn command(s: &RawSettings, def: &Setting) -> Option<Vec<String>> {
    s.words_opt(def)
        .map(|w| w.iter().map(|a| a.v.clone()).collect())
}

/// The app's ports, each once (`8888` and `8888/tcp` are one port).
pub fn ports(s: &RawSettings) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let norm = |p: &str| {
        if p.contains('/') {
            p.to_string()
        } else {
            format!("{p}/tcp")
        }
    };
    for p in s.words(&EXPOSE) {
        if !out.iter().any(|o| norm(o) == norm(&p.v)) {
            out.push(p.v.clone());
        }
    }
    out
}
