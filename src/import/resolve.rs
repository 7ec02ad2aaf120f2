//! `ENV`, `ARG` and `LABEL`, and the end of the walk: variables are decided once every block
//! is known (an `ENV` a block placed before jcx's `ENV` lines uses stays in a block; an `ARG`
//! only jcx's own steps used disappears with them), copies whose files pip read are absorbed,
//! and consecutive block pieces of the same place and user are joined.

use super::dockerfile::Instr;
use super::draft::{Counts, Entry, Item, Kind, Origin};
use super::map::{AT, AppResult, Piece, Status, Step, User, Walker};
use super::shell;

/// A value as Docker keeps it: surrounding quotes removed, `$VAR` references kept.
fn docker_value(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.replace("\\ ", " ")
    }
}

/// `NAME=value` pairs (or the legacy `NAME value` form) of ENV, ARG and LABEL.
pub(super) fn pairs(i: &Instr) -> Option<Vec<(String, Option<String>)>> {
    let words: Vec<String> = shell::tokenize(&i.args)
        .into_iter()
        .map(|t| match t.tok {
            shell::Tok::Word(w) => Some(w),
            shell::Tok::Op(_) => None,
        })
        .collect::<Option<_>>()?;
    let first = words.first()?;
    if i.keyword != "ARG" && !first.contains('=') {
        let rest = i.args[first.len()..].trim();
        return Some(vec![(first.clone(), Some(docker_value(rest)))]);
    }
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => Some((docker_value(n), Some(docker_value(v)))),
            None if i.keyword == "ARG" => Some((w.clone(), None)),
            None => None,
        })
        .collect()
}

/// The value an `ARG NAME[=default]` has in the build: the workflow's `build-args`, else its
/// default, else the value an `ARG` before `FROM` gave it.
pub fn arg_value(w: &Walker<'_>, name: &str, default: Option<String>) -> Option<String> {
    w.src
        .build_args
        .get(name)
        .cloned()
        .or(default)
        .or_else(|| w.pre_args.get(name).cloned())
}

/// `ENV` or `ARG`: decided at the end.
pub fn var(w: &mut Walker<'_>, i: &Instr) {
    let Some(pairs) = pairs(i) else {
        return w.escape(i, "jcx import cannot read these variables");
    };
    let env = i.keyword == "ENV";
    let o = w.origin(i.first, i.last);
    for (name, value) in pairs {
        let value = if env {
            value
        } else {
            arg_value(w, &name, value)
        };
        let mut expanded = None;
        if let Some(v) = &value {
            let e = shell::unquote(&format!("\"{}\"", v.replace('"', "\\\"")), &w.vars)
                .unwrap_or_else(|| v.clone());
            w.vars.insert(name.clone(), e.clone());
            expanded = Some(e);
        }
        w.steps.push(Step::Var {
            env,
            name,
            value,
            expanded,
            at: w.at,
            user: w.user.clone(),
            origin: o.clone(),
        });
    }
    w.mark(i.first, i.last, Status::Mapped);
}

/// `LABEL`.
pub fn label(w: &mut Walker<'_>, i: &Instr) {
    let Some(pairs) = pairs(i) else {
        return w.escape(i, "jcx import cannot read these labels");
    };
    let o = w.origin(i.first, i.last);
    let items = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = v.unwrap_or_default();
            let mut item = Item::new(Entry::Label(k.clone(), v.clone()), Some(o.clone()));
            item.fallback = vec![Entry::Dockerfile {
                root: false,
                at: "end",
                lines: vec![format!("LABEL {k}={}", quoted(&v))],
            }];
            item
        })
        .collect();
    w.mapped(i, items);
}

/// `MAINTAINER NAME`: the label it stands for, `maintainer`.
pub fn maintainer(w: &mut Walker<'_>, i: &Instr) {
    let v = i.args.trim().to_string();
    let o = w.origin(i.first, i.last);
    let mut item = Item::new(Entry::Label("maintainer".into(), v.clone()), Some(o));
    item.fallback = vec![Entry::Dockerfile {
        root: false,
        at: "end",
        lines: vec![format!("LABEL maintainer={}", quoted(&v))],
    }];
    w.mapped(i, vec![item]);
}

fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

const AUTOMATIC: [&str; 8] = [
    "TARGETARCH",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDARCH",
    "BUILDOS",
    "BUILDVARIANT",
];

/// Turns the steps into items.
/// For each step, where its text is written (a block position, 3 for `ENV`/`LABEL` values)
/// and the variables it uses.
fn references(steps: &[Step]) -> Vec<(usize, usize, Vec<String>)> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(k, s)| match s {
            Step::Piece(p) => Some((k, p.at, shell::references(&p.lines.join("\n")))),
            // `ENV` and `LABEL` values are written after every block but the last.
            Step::Items(items) => {
                let values: Vec<String> = items
                    .iter()
                    .filter_map(|i| match &i.entry {
                        Entry::Env(_, v) | Entry::Label(_, v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                Some((k, 3, shell::references(&values.join(" "))))
            }
            Step::Var {
                env: true,
                value: Some(v),
                ..
            } => Some((k, 3, shell::references(v))),
            _ => None,
        })
        .collect()
}

/// An `ENV` or `ARG`, decided: an `env` or `build-args` item, a block line, or nothing (it
/// went with the mapped commands that used it).
#[allow(clippy::too_many_arguments)]
fn decide_var(
    w: &mut Walker<'_>,
    refs: &[(usize, usize, Vec<String>)],
    k: usize,
    env: bool,
    name: String,
    value: Option<String>,
    at: usize,
    user: User,
    origin: Origin,
    out: &mut Vec<Step>,
) {
    let used = |early: bool| {
        refs.iter()
            .any(|(j, a, r)| *j > k && (!early || *a < 3) && r.contains(&name))
    };
    let piece = |line: String| Piece {
        user: user.clone(),
        at,
        cwd: None,
        lines: vec![line],
        origin: origin.clone(),
    };
    let value_text = value.clone().unwrap_or_default();
    if env && used(true) {
        w.mark(origin.first, origin.last, Status::Escaped);
        w.warn(
            Kind::Escaped,
            origin.clone(),
            format!(
                "`{name}` is used by a `dockerfile` block that jcx writes before its `ENV` lines"
            ),
        );
        out.push(Step::Piece(piece(format!(
            "ENV {name}={}",
            quoted(&value_text)
        ))));
    } else if env && (used(false) || !w.mapped_refs.contains(&name)) {
        let mut item = Item::new(
            Entry::Env(name.clone(), value_text.clone()),
            Some(origin.clone()),
        );
        item.fallback = vec![Entry::Dockerfile {
            root: false,
            at: AT[at],
            lines: vec![format!("ENV {name}={}", quoted(&value_text))],
        }];
        out.push(Step::Items(vec![item]));
    } else if !env && used(false) {
        if value.is_some() && !AUTOMATIC.contains(&name.as_str()) {
            let mut item = Item::new(
                Entry::BuildArg(name.clone(), value_text.clone()),
                Some(origin.clone()),
            );
            item.fallback = vec![Entry::Dockerfile {
                root: false,
                at: AT[at],
                lines: vec![format!("ARG {name}={}", quoted(&value_text))],
            }];
            out.push(Step::Items(vec![item]));
        } else {
            out.push(Step::Piece(piece(format!("ARG {name}"))));
        }
    }
}

pub fn finish(w: &mut Walker<'_>, result: &mut AppResult) {
    let mut steps = std::mem::take(&mut w.steps);
    super::reserved::settle(w, &mut steps);
    let refs = references(&steps);
    let mut out: Vec<Step> = Vec::new();
    for (k, step) in steps.into_iter().enumerate() {
        match step {
            Step::Var {
                env,
                name,
                value,
                at,
                user,
                origin,
                ..
            } => decide_var(w, &refs, k, env, name, value, at, user, origin, &mut out),
            Step::Copy(piece, items) => {
                let consumed = items.iter().any(
                    |i| matches!(&i.entry, Entry::File { src, .. } if w.consumed.contains(src)),
                );
                let kept: Vec<Item> = items
                    .into_iter()
                    .filter(|i| !consumed || !matches!(&i.entry, Entry::File { src, .. } if w.consumed.contains(src) || src.ends_with("/noop.txt") || src == "noop.txt"))
                    .map(|mut i| {
                        i.fallback.push(Entry::Dockerfile { root: piece.user != User::Notebook, at: AT[piece.at], lines: piece.lines.clone() });
                        i
                    })
                    .collect();
                if !kept.is_empty() {
                    out.push(Step::Items(kept));
                }
            }
            other => out.push(other),
        }
    }
    result.items = assemble(w, out);
    if let Some((dir, o)) = w.workdir.take() {
        let mut item = Item::new(Entry::Workdir(dir.clone()), Some(o));
        item.fallback = vec![Entry::Dockerfile {
            root: false,
            at: "end",
            lines: vec![format!("WORKDIR {dir}")],
        }];
        result.items.push(item);
    }
    let mut c = Counts {
        file: w.src.path.clone(),
        ..Counts::default()
    };
    for (n, s) in w.status.iter().enumerate() {
        if *s != Status::Other {
            c.lines.insert(n + 1, *s);
        }
        match s {
            Status::Other => c.other += 1,
            Status::Mapped => c.mapped += 1,
            Status::Escaped => c.escaped += 1,
            Status::Dropped => c.dropped += 1,
        }
    }
    result.counts = std::iter::once(c).chain(w.counts.drain(..)).collect();
    super::smallmap::apt_mirror_note(w);
    result.warnings = std::mem::take(&mut w.warnings);
    result.mirror = w.mirror.take();
    result.apt_mirror = w.apt_mirror.take();
    result.stages = std::mem::take(&mut w.stages);
}

/// Items in order; consecutive pieces of one place and user joined into one block.
fn assemble(w: &mut Walker<'_>, steps: Vec<Step>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut block: Vec<Piece> = Vec::new();
    let mut drops: Vec<(Origin, Vec<String>)> = Vec::new();
    for step in steps {
        match step {
            Step::Items(i) => {
                // An item jcx may refuse becomes a block where it stands: the blocks before
                // it must come first in the manifest, which is their order in a position.
                let may_be_block = i.iter().any(|it| {
                    it.fallback
                        .iter()
                        .any(|f| matches!(f, Entry::Dockerfile { .. }))
                });
                if may_be_block && !block.is_empty() {
                    items.push(block_item(w, std::mem::take(&mut block)));
                }
                items.extend(i);
            }
            Step::Piece(p) => {
                if let Some(last) = block.last()
                    && (last.user != p.user || last.at != p.at || last.cwd != p.cwd)
                {
                    items.push(block_item(w, std::mem::take(&mut block)));
                }
                block.push(p);
            }
            Step::Drop(o, lines) => drops.push((o, lines)),
            Step::Var { .. } | Step::Copy(..) => {}
        }
    }
    if !block.is_empty() {
        items.push(block_item(w, block));
    }
    for (o, lines) in drops {
        let mut item = Item::new(Entry::Comment(lines), Some(o.clone()));
        item.note = Some(format!("Not carried over ({o}):"));
        items.push(item);
    }
    items
}

/// One `dockerfile` entry from pieces of one place and user.
fn block_item(w: &mut Walker<'_>, pieces: Vec<Piece>) -> Item {
    let first = &pieces[0];
    let mut lines = Vec::new();
    if let User::Other(u) = &first.user {
        lines.push(format!("USER {u}"));
    }
    if let Some(d) = &first.cwd {
        lines.push(format!("WORKDIR {d}"));
    }
    for p in &pieces {
        lines.extend(p.lines.iter().cloned());
    }
    let origins: Vec<String> = pieces.iter().map(|p| p.origin.to_string()).collect();
    let entry = Entry::Dockerfile {
        root: first.user != User::Notebook,
        at: AT[first.at],
        lines,
    };
    let mut item = Item::new(entry, Some(first.origin.clone()));
    item.also = pieces[1..].iter().map(|p| p.origin.clone()).collect();
    item.note = Some(format!(
        "From {} (see the warnings of `jcx import`):",
        join_origins(&origins)
    ));
    let _ = w;
    item
}

/// `a:1-2, a:5` -> `a:1-2 and 5`.
fn join_origins(o: &[String]) -> String {
    let mut out = String::new();
    let mut file = "";
    for (n, s) in o.iter().enumerate() {
        let (f, lines) = s.rsplit_once(':').unwrap_or((s, ""));
        if n > 0 {
            out.push_str(if n + 1 == o.len() { " and " } else { ", " });
        }
        if f == file {
            out.push_str(lines);
        } else {
            out.push_str(s);
        }
        file = f;
    }
    out
}
