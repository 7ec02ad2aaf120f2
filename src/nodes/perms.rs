//! `permissions "/PATH"… [owner=notebook|root] [mode="MODE"] [recursive=#true]`: the owner and
//! mode of paths that already exist (the base image's, a download's, a `dir`'s), `chown` and
//! `chmod` in the root file-system step (`super::fs`), after the directories and the appends,
//! before the links. Paths follow `remove`; only a recursive change refuses the protected
//! directories. A path jcx removes, links over or writes after the step is a collision.

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, name_span, no_children};
use super::files::{Writer, Writes, canonical_dest};
use super::fs::{REMOVE, RawRemove, RawSymlink, SYMLINK, at_or_under, protected, trimmed};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, Permissions};

pub static PERMISSIONS: Setting = Setting {
    name: "permissions",
    shape: Shape::Custom(read),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("permissions \"/opt/tools\" owner=notebook recursive=#true"),
    check,
    explain: Explain::Custom(explain),
};

#[derive(Debug, Clone)]
pub struct RawPermissions {
    pub span: SourceSpan,
    pub paths: Vec<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub mode: Option<Sp<String>>,
    pub recursive: Option<Sp<bool>>,
}

impl RawPermissions {
    fn recursive(&self) -> bool {
        self.recursive.as_ref().is_some_and(|r| r.v)
    }
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let paths = en.strings("path in the image", true, problems);
    let owner = en.prop_string("owner", problems);
    let mode = en.prop_string("mode", problems);
    let recursive = super::downloads::prop_value(
        &mut en,
        "recursive",
        "#true or #false",
        "write `recursive=#true` to change everything under a directory too",
        |v| match v {
            KdlValue::Bool(b) => Some(*b),
            _ => None,
        },
        problems,
    );
    let given = |k: &str| {
        node.entries()
            .iter()
            .any(|e| e.name().is_some_and(|n| n.value() == k))
    };
    if !given("owner") && !given("mode") {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                name_span(node),
                "`permissions` needs `owner=`, `mode=` or both",
            )
            .label("nothing to change")
            .help("for example `permissions \"/opt/tools\" owner=notebook recursive=#true` or `permissions \"/usr/local/bin/tool\" mode=\"+x\"`"),
        );
    }
    en.finish(&["owner", "mode", "recursive"], problems);
    no_children(node, problems);
    (!paths.is_empty() && (owner.is_some() || mode.is_some())).then(|| {
        Value::Items(vec![Box::new(RawPermissions {
            span: node.span(),
            paths,
            owner,
            mode,
            recursive,
        })])
    })
}

/// A mode as `chmod` takes it: 3 or 4 octal digits, or symbolic clauses joined by `,`, each
/// `[ugoa]*` then one or more `+`/`-`/`=` actions with permissions `rwxXst` (or one of `ugo`,
/// copying that class's). Nothing else, so the mode is one safe shell word.
pub fn mode_ok(m: &str) -> bool {
    let octal = (3..=4).contains(&m.len()) && m.bytes().all(|c| (b'0'..=b'7').contains(&c));
    octal
        || (!m.is_empty()
            && m.split(',').all(|clause| {
                let actions = clause.trim_start_matches(['u', 'g', 'o', 'a']);
                actions.starts_with(['+', '-', '=']) && actions_ok(actions)
            }))
}

/// `+rx-w=X`, `=u`: each action's permissions are letters of `rwxXst`, or one class letter;
/// only `=` may have none (`o=` clears).
fn actions_ok(actions: &str) -> bool {
    let mut rest = actions;
    while let Some(op) = rest.chars().next() {
        if !matches!(op, '+' | '-' | '=') {
            return false;
        }
        let end = rest[1..]
            .find(['+', '-', '='])
            .map_or(rest.len(), |e| e + 1);
        let perms = &rest[1..end];
        let copy = matches!(perms, "u" | "g" | "o");
        if (perms.is_empty() && op != '=')
            || (!copy && !perms.chars().all(|c| "rwxXst".contains(c)))
        {
            return false;
        }
        rest = &rest[end..];
    }
    true
}

/// Whether a checked mode, applied to every directory of a tree, takes its owner's `x` away
/// (octal without it, `u-x`, `a=r`, …): the directories could no longer be entered.
pub fn locks_directories(m: &str) -> bool {
    if m.bytes().all(|c| c.is_ascii_digit()) {
        return !super::files::owner_can_enter(m);
    }
    let mut locked = false;
    for clause in m.split(',') {
        let at = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let who = &clause[..at];
        let owner = who.is_empty() || who.contains(['u', 'a']);
        let mut rest = &clause[at..];
        while let Some(op) = rest.chars().next() {
            let end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |e| e + 1);
            let perms = &rest[1..end];
            let x = perms.contains(['x', 'X']);
            if owner {
                match op {
                    '+' if x => locked = false,
                    '-' if x => locked = true,
                    '=' => locked = !x && perms != "u",
                    _ => {}
                }
            }
            rest = &rest[end..];
        }
    }
    locked
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for n in v.items::<RawPermissions>() {
        for p in &n.paths {
            if !super::fs::check_plain_path(cx, p) {
                continue;
            }
            if n.recursive() && protected(&canonical_dest(&trimmed(&p.v))) {
                cx.push(
                    Problem::error(
                        Code::ProtectedPath,
                        p.span,
                        format!("`permissions \"{}\" recursive=#true` would change a whole directory of the system or of the stacks", p.v),
                    )
                    .label("protected")
                    .help("name the directory inside it that you mean, such as `/opt/tools`, or drop `recursive=#true` to change this directory alone; HOME and CONDA_DIR need nothing: the stacks' `fix-permissions` keeps them the notebook user's"),
                );
                continue;
            }
            if let Some(o) = &n.owner {
                super::files::check_owner(cx, o, Some(p));
            }
        }
        if n.paths.is_empty()
            && let Some(o) = &n.owner
        {
            super::files::check_owner(cx, o, None);
        }
        if let Some(m) = &n.mode {
            check_mode(cx, m, n.recursive());
        }
    }
}

fn check_mode(cx: &mut Checker<'_>, m: &Sp<String>, recursive: bool) {
    if !mode_ok(&m.v) {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                m.span,
                format!("`{}` is not a mode `permissions` takes", m.v.escape_debug()),
            )
            .label("mode")
            .help("write octal permissions (`mode=\"0755\"`) or a symbolic mode as `chmod` takes it (`mode=\"+x\"`, `mode=\"a+rX\"`, `mode=\"g-s\"`, `mode=\"u+x,go-w\"`): `u`, `g`, `o`, `a`, then `+`, `-` or `=` and letters of `rwxXst`"),
        );
    } else if recursive && locks_directories(&m.v) {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                m.span,
                format!("mode {} makes every directory of the tree impossible to enter", m.v),
            )
            .label("takes the owner's `x` away")
            .help("a recursive mode applies to the directories too: use `X` (execute for directories and for files already executable), such as `mode=\"a+rX\"` or `mode=\"u=rwX,go=rX\"`"),
        );
    }
}

/// The `permissions` of an app, in manifest order (inherited first), each once.
pub fn model(s: &RawSettings) -> Vec<Permissions> {
    let mut out: Vec<Permissions> = Vec::new();
    for n in s.items::<RawPermissions>(&PERMISSIONS) {
        let p = Permissions {
            paths: n.paths.iter().map(|p| trimmed(&p.v)).collect(),
            root_owned: n.owner.as_ref().map(|o| o.v == "root"),
            mode: n.mode.as_ref().map(|m| m.v.clone()),
            recursive: n.recursive(),
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Each path against the removals (they run first), the links (made after: a path at or under
/// one would be changed before the link replaces it) and what jcx writes after the file-system
/// step (the `jupyter` files, the hooks: not there yet).
pub(super) fn check_collisions(cx: &mut Checker<'_>, r: &Resolved, writers: &[Writer]) {
    let s = &r.settings;
    for n in s.items::<RawPermissions>(&PERMISSIONS) {
        for p in &n.paths {
            let canon = canonical_dest(&trimmed(&p.v));
            if n.recursive() && protected(&canon) {
                continue;
            }
            let removed = s
                .items::<RawRemove>(&REMOVE)
                .flat_map(|rm| rm.paths.iter())
                .find(|q| at_or_under(&canon, &canonical_dest(&trimmed(&q.v))));
            let linked = s
                .items::<RawSymlink>(&SYMLINK)
                .map(|l| &l.link)
                .find(|q| at_or_under(&canon, &canonical_dest(&trimmed(&q.v))));
            let later = writers.iter().find(|w| {
                !w.before
                    && matches!(w.writes, Writes::File | Writes::Tree)
                    && at_or_under(&canon, &w.path)
            });
            let (message, other, help) = if let Some(q) = removed {
                (
                    format!(
                        "`permissions \"{}\"` changes what `remove \"{}\"` deletes",
                        p.v, q.v
                    ),
                    Some(q.span),
                    "the removals run first in the file-system step: the path is gone when `permissions` runs; drop one of the two",
                )
            } else if let Some(q) = linked {
                (
                    format!(
                        "`permissions \"{}\"` changes what `symlink \"{}\"` replaces",
                        p.v, q.v
                    ),
                    Some(q.span),
                    "the links are made last in the file-system step, after `permissions`: change the link's target instead",
                )
            } else if let Some(w) = later {
                (
                    format!(
                        "`permissions \"{}\"` runs before {} writes `{}`",
                        p.v, w.who, w.path
                    ),
                    None,
                    "the file-system step runs before jcx writes the `jupyter` files and the hooks: their owner and mode are jcx's",
                )
            } else {
                continue;
            };
            let mut problem = Problem::error(Code::FileCollision, p.span, message)
                .label("changed here")
                .help(help);
            if let Some(span) = other {
                problem = problem.also(span, "the other node");
            }
            cx.push(problem);
        }
    }
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for n in r.settings.items::<RawPermissions>(&PERMISSIONS) {
        let o = cx.origin(n.span);
        let paths: Vec<&str> = n.paths.iter().map(|p| p.v.as_str()).collect();
        let mut what: Vec<String> = Vec::new();
        if let Some(owner) = &n.owner {
            what.push(format!("owner {}", owner.v));
        }
        if let Some(m) = &n.mode {
            what.push(format!("mode {}", m.v));
        }
        if n.recursive() {
            what.push("recursive".into());
        }
        cx.push(
            "permissions",
            format!("{} ({})", paths.join(" "), what.join(", ")),
            o,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_chmod_takes_them() {
        for m in [
            "755",
            "0755",
            "1777",
            "+x",
            "a+rX",
            "g-s",
            "u+x,go-w",
            "u=rwX,go=rX",
            "go=u",
            "o=",
            "-w",
            "ug+rw-x",
        ] {
            assert!(mode_ok(m), "{m}");
        }
        for m in [
            "", "75", "07555", "0855", "x", "+y", "a+rX;", "u+x,", "$MODE", "+x y", "g=uo", "b+x",
            "u+x,,g+r", "--",
        ] {
            assert!(!mode_ok(m), "{m}");
        }
    }

    #[test]
    fn directories_locked_by_a_mode() {
        for m in ["0644", "644", "u-x", "a-x", "a=r", "-x", "u=rw,go=r"] {
            assert!(locks_directories(m), "{m}");
        }
        for m in [
            "0755",
            "a+rX",
            "u=rwX,go=rX",
            "go-w",
            "g-s",
            "+x",
            "o-x",
            "u-x,u+X",
        ] {
            assert!(!locks_directories(m), "{m}");
        }
    }
}
