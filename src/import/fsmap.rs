//! File-system commands and files written inline, for `jcx import`. In a `RUN` chain:
//! `mkdir` (with the `chown`/`chmod` of the same directories after it) becomes `dir`, `ln -s`
//! `symlink`, `rm` of the base image's paths `remove`, `echo`/`printf` into a file `file to=
//! content=` (`>>`: `append=#true`, consecutive appends to one file joined), and a `chmod` of a
//! file an earlier `COPY` (or write) put there that file's `mode=`; any other `chown`/`chmod`
//! becomes `permissions` (`perms`); a `RUN cat <<EOF > FILE` and a `COPY <<EOF FILE` become
//! `file content=`. An `echo` that writes nothing changes nothing.
//!
//! Only what maps exactly: literal text (no variable, substitution or escape the shell would
//! expand), the paths `file to=` accepts, the stacks' Jupyter configuration files left alone
//! (they belong to `jupyter`). The file-system step runs after jcx's other steps, so a command is
//! kept with the others (in a block) when a command that stays in a block mentions its path, or
//! when a block that now comes after the step (`at=end`) did.

use std::collections::BTreeMap;

use super::commands;
use super::dockerfile::Instr;
use super::draft::{Entry, Item, Kind, Origin};
use super::fscmd::{Cmd, apply_mode, item, jupyter_config, octal, parse, path_word, refresh};
use super::map::{AT, Step, User, Walker};
use super::shell::{self, Tok, Unit};
use crate::nodes::files::canonical_dest;
use crate::nodes::fs::usable_path;

mod links;
mod perms;

/// What becomes of one command of a `RUN`.
#[derive(Debug)]
pub enum Fs {
    /// These items: a file-system change. `true` when a later instruction uses one of its paths:
    /// the blocks after it then go after jcx's file-system step.
    Items(Vec<Item>, bool),
    /// Folded into an item of an earlier command (of this `RUN` or of an earlier instruction).
    Folded,
    /// Changes nothing in the image (`echo` of a message).
    Nothing,
    /// Stays in a block, for this reason (its path is used by commands that stay there).
    Kept(String),
}

/// Configuration the package steps read (apt, pip, conda, the certificates of downloads). jcx
/// runs those steps before its file-system step, so a change to these stays where it was, in
/// a block.
pub(super) fn feeds_jcx_steps(p: &str) -> bool {
    const READ: &[&str] = &[
        "/etc/apt",
        "/etc/dpkg",
        "/var/lib/dpkg",
        "/etc/ssl",
        "/etc/ca-certificates",
        "/etc/ca-certificates.conf",
        "/usr/local/share/ca-certificates",
        "/usr/share/ca-certificates",
        "/etc/pip.conf",
        "/etc/xdg/pip",
        "/etc/conda",
        "/root",
        "/home/${NB_USER}/.pip",
        "/home/${NB_USER}/.config/pip",
        "/home/${NB_USER}/.condarc",
        "/home/${NB_USER}/.mambarc",
        "/home/${NB_USER}/.conda",
        "${CONDA_DIR}/.condarc",
        "${CONDA_DIR}/condarc",
        "${CONDA_DIR}/condarc.d",
        "${CONDA_DIR}/.mambarc",
        "${CONDA_DIR}/pip.conf",
    ];
    let c = canonical_dest(p);
    READ.iter()
        .any(|r| c == *r || c.starts_with(&format!("{r}/")))
}

/// The ways a Dockerfile may spell a path (for "does this command mention it").
fn spellings(p: &str) -> Vec<String> {
    let canon = canonical_dest(p);
    let mut out = vec![p.to_string(), canon.clone()];
    for (prefix, alts) in [
        (
            "/home/${NB_USER}",
            &["~", "$HOME", "${HOME}", "/home/jovyan", "/home/$NB_USER"][..],
        ),
        ("${CONDA_DIR}", &["$CONDA_DIR", "/opt/conda"][..]),
    ] {
        if let Some(rest) = canon.strip_prefix(prefix) {
            out.extend(alts.iter().map(|a| format!("{a}{rest}")));
        }
    }
    out.retain(|s| !s.is_empty() && s != "~");
    out
}

fn mentions(text: &str, p: &str) -> bool {
    spellings(p).iter().any(|s| text.contains(s.as_str()))
}

/// Whether a block that now comes after jcx's file-system step (placed `at=end` before this
/// command) mentions `p`: the step would run before it, against the original order.
fn later_block_mentions(w: &Walker<'_>, p: &str) -> bool {
    w.steps.iter().any(|s| match s {
        Step::Piece(piece) => piece.at == AT.len() - 1 && mentions(&piece.lines.join("\n"), p),
        _ => false,
    })
}

/// The owner of what the `RUN`'s user makes at `path`: root, except the notebook user's (with
/// a warning) in HOME and CONDA_DIR, which jcx keeps the notebook user's.
fn owner(w: &mut Walker<'_>, path: &str, root: bool, o: &Origin, what: &str) -> bool {
    if root && crate::model::stacks_tree(path).is_some() {
        w.warn(
            Kind::Changed,
            o.clone(),
            format!("{what} `{path}` is the notebook user's, not root's: jcx keeps HOME and CONDA_DIR the notebook user's"),
        );
        return false;
    }
    root
}

/// Something this `RUN` made, that a later command of it may fold into.
struct Made {
    unit: usize,
    item: usize,
    path: String,
    dir: bool,
}

/// The commands of a `RUN` chain this module maps, by index; the others are `None`.
pub fn plan(
    w: &mut Walker<'_>,
    i: &Instr,
    units: &[Unit],
    skip: &[usize],
    mounts: &BTreeMap<String, String>,
) -> Vec<Option<Fs>> {
    let vars = w.vars.clone();
    let cmds: Vec<Option<Cmd>> = units
        .iter()
        .enumerate()
        .map(|(n, u)| {
            if skip.contains(&n) {
                None
            } else {
                parse(u, &vars)
            }
        })
        .collect();
    let texts: Vec<String> = units.iter().map(|u| u.text(&i.args)).collect();
    // Commands that stay in a block pin the paths they mention; that can leave more commands
    // in the block, so until nothing changes.
    let mut kept: Vec<bool> = cmds.iter().map(Option::is_none).collect();
    for _ in 0..=units.len() {
        let mut trial = w.steps.clone();
        std::mem::swap(&mut trial, &mut w.steps);
        let warnings = w.warnings.len();
        let out = attempt(w, i, units, &cmds, &texts, &kept, mounts);
        std::mem::swap(&mut trial, &mut w.steps);
        w.warnings.truncate(warnings);
        let now: Vec<bool> = out
            .iter()
            .map(|o| matches!(o, None | Some(Fs::Kept(_))))
            .collect();
        if now == kept {
            return attempt(w, i, units, &cmds, &texts, &kept, mounts);
        }
        kept = now;
    }
    units.iter().map(|_| None).collect()
}

/// One pass of [`plan`]: `kept` are the commands assumed to stay in a block.
fn attempt(
    w: &mut Walker<'_>,
    i: &Instr,
    units: &[Unit],
    cmds: &[Option<Cmd>],
    texts: &[String],
    kept: &[bool],
    mounts: &BTreeMap<String, String>,
) -> Vec<Option<Fs>> {
    let mut out: Vec<Option<Fs>> = units.iter().map(|_| None).collect();
    let root = match w.user {
        User::Root => true,
        User::Notebook => false,
        User::Other(_) => {
            for (k, c) in cmds.iter().enumerate() {
                if matches!(c, Some(Cmd::Echo)) {
                    out[k] = Some(Fs::Nothing);
                }
            }
            return out;
        }
    };
    let pinned = |p: &str, k: usize| {
        (0..units.len()).any(|j| {
            j != k
                && kept[j]
                && !commands::fix_permissions(
                    &texts[j]
                        .split_whitespace()
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
                && mentions(&texts[j], p)
        })
    };
    // What earlier instructions put in the image: removing it is clean-up.
    let copies: Vec<String> = w.copies.keys().chain(mounts.keys()).cloned().collect();
    let mut made: Vec<Made> = Vec::new();
    for (k, cmd) in cmds.iter().enumerate() {
        let Some(cmd) = cmd else { continue };
        let o = w.origin(
            i.line_of(units[k].start()),
            i.line_of(units[k].end().saturating_sub(1)),
        );
        if let Cmd::Rm { words, .. } = cmd {
            let mut extra: Vec<String> = w.copies.keys().chain(mounts.keys()).cloned().collect();
            extra.extend(
                w.copies
                    .keys()
                    .filter_map(|c| c.rsplit_once('/').map(|(d, _)| d.to_string())),
            );
            if commands::cleanup_rm(words, &extra) {
                continue;
            }
        }
        let pin = cmd.paths().into_iter().find_map(|p| {
            if let Some(j) = (k + 1..units.len()).find(|&j| kept[j] && !settled(&texts[j], &copies)) {
                Some(format!("`{}` stays with the commands after it in this `RUN` (`{}` stays in a block)", super::run::short(&texts[k]), super::run::short(&texts[j])))
            } else if matches!(cmd, Cmd::Rm { .. } | Cmd::Link { .. }) && mentioned_before(w, i, p) {
                Some(format!("`{}` stays in a block: an earlier instruction uses `{p}`, so it is not (only) the base image's", super::run::short(&texts[k])))
            } else if feeds_jcx_steps(p) {
                Some(format!("`{}` changes configuration that jcx's package steps read, and they run before its file-system step", super::run::short(&texts[k])))
            } else if pinned(p, k) {
                Some(format!("`{}` stays with the commands of this `RUN` that use `{p}`", super::run::short(&texts[k])))
            } else if later_block_mentions(w, p) {
                Some(format!("`{}` stays in a block: an earlier block that now comes after jcx's file-system step uses `{p}`", super::run::short(&texts[k])))
            } else {
                None
            }
        });
        out[k] = match (cmd, pin) {
            (Cmd::Echo, _) => Some(Fs::Nothing),
            (_, Some(why)) => Some(Fs::Kept(why)),
            _ => {
                let f = Fold {
                    instr: i,
                    text: &texts[k],
                    made: &mut made,
                    out: &mut out,
                    mounts,
                    root,
                    origin: &o,
                };
                map_one(w, f, k, cmd)
            }
        };
    }
    for (k, cmd) in cmds.iter().enumerate() {
        if let (Some(cmd), Some(Fs::Items(_, later))) = (cmd, &mut out[k]) {
            *later = cmd.paths().iter().any(|p| mentioned_after(w, i, p));
        }
    }
    out
}

/// Whether a command leaves no block behind: jcx maps it (apt, conda, pip, extensions) or
/// already does it (clean-up, `fix-permissions`), or it changes nothing (`cd`, `set`).
fn settled(text: &str, copies: &[String]) -> bool {
    let Some(words) = shell::split(text)
        .first()
        .and_then(|u| u.words(&Default::default()))
    else {
        return false;
    };
    let w = commands::command_words(&words);
    commands::apt(&words).is_some()
        || commands::conda(&words).is_some()
        || commands::extensions(&words).is_some()
        || matches!(commands::pip(&words), Ok(Some(_)))
        || commands::fix_permissions(&words)
        || commands::cleanup_rm(&words, copies)
        || words.iter().all(|x| commands::is_assignment(x))
        || w.first()
            .is_some_and(|c| matches!(c.as_str(), "set" | "cd" | "true" | ":" | "umask" | "export"))
}

/// Whether an instruction after `i` uses `p` (it may need what the file-system step makes,
/// so it must not come before that step): it names the path, or runs what reads it
/// (`locale-gen` reads `/etc/locale.gen`).
fn mentioned_after(w: &Walker<'_>, i: &Instr, p: &str) -> bool {
    const READERS: &[(&str, &str)] = &[
        ("/etc/locale.gen", "locale-gen"),
        ("/etc/default/locale", "update-locale"),
        ("/etc/timezone", "tzdata"),
        ("/etc/localtime", "tzdata"),
        ("/etc/ld.so.conf.d", "ldconfig"),
    ];
    let Some(rest) = w.df.lines.get(i.last..) else {
        return false;
    };
    let rest = rest.join("\n");
    let c = canonical_dest(p);
    mentions(&rest, p)
        || READERS.iter().any(|(path, reader)| {
            (c == *path || c.starts_with(&format!("{path}/"))) && rest.contains(reader)
        })
}

/// Whether an instruction before `i` names `p`: then it is the Dockerfile's own (a removal of
/// it is clean-up, a link over it replaces it), and that instruction may end up in a block after
/// jcx's file-system step.
fn mentioned_before(w: &Walker<'_>, i: &Instr, p: &str) -> bool {
    w.df.lines
        .get(..i.first.saturating_sub(1))
        .is_some_and(|before| {
            before
                .iter()
                .filter(|l| !l.trim_start().starts_with('#'))
                .any(|l| mentions(l, p))
        })
}

/// Where a command of a `RUN` is mapped: what the `RUN` made so far and the results so far.
struct Fold<'a> {
    instr: &'a Instr,
    /// The command, as written.
    text: &'a str,
    made: &'a mut Vec<Made>,
    out: &'a mut [Option<Fs>],
    mounts: &'a BTreeMap<String, String>,
    /// The `RUN` runs as root.
    root: bool,
    origin: &'a Origin,
}

/// Whether an earlier `COPY` (or a `RUN --mount`) put something at or under `p`.
fn copied(w: &Walker<'_>, mounts: &BTreeMap<String, String>, p: &str) -> bool {
    let c = canonical_dest(p);
    w.copies.keys().chain(mounts.keys()).any(|k| {
        let k = canonical_dest(k);
        k == c || k.starts_with(&format!("{c}/"))
    })
}

/// One command of a `RUN` (not pinned to a block).
fn map_one(w: &mut Walker<'_>, f: Fold<'_>, k: usize, cmd: &Cmd) -> Option<Fs> {
    match cmd {
        Cmd::Echo => Some(Fs::Nothing),
        Cmd::Mkdir { dirs, mode } => {
            if !dirs.iter().all(|d| usable_path(d)) {
                return None;
            }
            let mut items = Vec::new();
            for d in dirs {
                f.made.push(Made {
                    unit: k,
                    item: items.len(),
                    path: d.clone(),
                    dir: true,
                });
                let r = owner(w, d, f.root, f.origin, "the directory");
                let entry = Entry::Dir {
                    path: d.clone(),
                    root: r,
                    mode: mode.clone(),
                };
                items.push(item(entry, f.origin));
            }
            Some(Fs::Items(items, false))
        }
        Cmd::Link { target, link } => links::map(w, &f, target, link),
        Cmd::Rm { paths, .. } => {
            if !paths
                .iter()
                .all(|p| usable_path(p) && !copied(w, f.mounts, p))
            {
                return None;
            }
            let items = paths
                .iter()
                .map(|p| item(Entry::Remove(p.clone()), f.origin))
                .collect();
            Some(Fs::Items(items, false))
        }
        Cmd::AppendFrom { src, path } => append_from(w, f, src, path),
        Cmd::Write { path, text, append } => {
            if path.ends_with('/') || jupyter_config(path) || copied(w, f.mounts, path) {
                return None;
            }
            write(w, f, k, path, text, *append)
        }
        Cmd::Chown {
            recursive,
            root: r,
            paths,
        } => fold_owner(w, f.out, f.made, paths, *recursive, *r).or_else(|| {
            let c = perms::Change {
                text: f.text,
                paths,
                recursive: *recursive,
                root: Some(*r),
                mode: None,
            };
            perms::map(w, f.instr, f.out, k, &c, f.origin)
        }),
        Cmd::Chmod {
            recursive,
            spec,
            paths,
        } => fold_mode(w, f.out, f.made, paths, *recursive, spec).or_else(|| {
            let c = perms::Change {
                text: f.text,
                paths,
                recursive: *recursive,
                root: None,
                mode: Some(spec),
            };
            perms::map(w, f.instr, f.out, k, &c, f.origin)
        }),
    }
}

/// `cat SRC >> FILE` of a file an earlier `COPY` (or a `RUN --mount`) put at SRC: the
/// repository's file appended (`file "REPO" to=FILE append=#true`); the copy, now read by
/// nothing else, is consumed.
fn append_from(w: &mut Walker<'_>, f: Fold<'_>, src: &str, path: &str) -> Option<Fs> {
    let c = canonical_dest(src);
    let repo = f
        .mounts
        .iter()
        .chain(w.copies.iter().map(|(k, (r, _))| (k, r)))
        .find(|(k, _)| canonical_dest(k) == c)
        .map(|(_, r)| r.clone())?;
    if path.ends_with('/') || copied(w, f.mounts, path) || !usable_path(path) {
        return None;
    }
    w.consumed.insert(repo.clone());
    let entry = Entry::File {
        src: repo,
        to: path.to_string(),
        root: true,
        mode: None,
        append: true,
    };
    Some(Fs::Items(vec![item(entry, f.origin)], false))
}

/// `echo … > FILE`: a new inline file, or text folded into the one this `RUN` (or, for an
/// append, the last earlier instruction) wrote to the same path.
fn write(
    w: &mut Walker<'_>,
    f: Fold<'_>,
    k: usize,
    path: &str,
    text: &str,
    append: bool,
) -> Option<Fs> {
    let canon = canonical_dest(path);
    if append {
        if let Some(m) = f
            .made
            .iter()
            .rev()
            .find(|m| !m.dir && canonical_dest(&m.path) == canon)
            && let Some(Fs::Items(items, _)) = &mut f.out[m.unit]
            && let Entry::Inline { content, .. } = &mut items[m.item].entry
        {
            content.push_str(text);
            refresh(&mut items[m.item]);
            return Some(Fs::Folded);
        }
        if f.made.iter().all(|m| canonical_dest(&m.path) != canon)
            && fold_earlier_append(w, &canon, text)
        {
            return Some(Fs::Folded);
        }
    }
    let r = if append {
        false
    } else {
        owner(w, path, f.root, f.origin, "the file")
    };
    f.made.push(Made {
        unit: k,
        item: 0,
        path: path.to_string(),
        dir: false,
    });
    let entry = Entry::Inline {
        to: path.to_string(),
        content: text.to_string(),
        root: r,
        mode: None,
        append,
    };
    Some(Fs::Items(vec![item(entry, f.origin)], false))
}

/// Appends `text` to the inline file of the latest earlier instruction that wrote `canon`,
/// when no block since mentions it.
fn fold_earlier_append(w: &mut Walker<'_>, canon: &str, text: &str) -> bool {
    for s in w.steps.iter_mut().rev() {
        match s {
            Step::Piece(p) if mentions(&p.lines.join("\n"), canon) => return false,
            Step::Items(items) => {
                for it in items.iter_mut().rev() {
                    if let Entry::Inline { to, content, .. } = &mut it.entry
                        && canonical_dest(to) == canon
                    {
                        content.push_str(text);
                        refresh(it);
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// `chown` of directories and files this `RUN` made: their owner.
fn fold_owner(
    w: &mut Walker<'_>,
    out: &mut [Option<Fs>],
    made: &[Made],
    paths: &[String],
    recursive: bool,
    root: bool,
) -> Option<Fs> {
    let found: Vec<&Made> = paths
        .iter()
        .map(|p| {
            made.iter()
                .find(|m| canonical_dest(&m.path) == canonical_dest(p))
        })
        .collect::<Option<_>>()?;
    let foldable = |m: &Made| match &out[m.unit] {
        Some(Fs::Items(items, _)) => matches!(
            items[m.item].entry,
            Entry::Dir { .. } | Entry::Inline { append: false, .. }
        ),
        _ => false,
    };
    if found.iter().any(|m| {
        !foldable(m)
            || (recursive && !fresh_dir(m))
            || (root && crate::model::stacks_tree(&m.path).is_some())
    }) {
        return None;
    }
    for m in found {
        if let Some(Fs::Items(items, _)) = &mut out[m.unit]
            && let Entry::Dir { root: r, .. } | Entry::Inline { root: r, .. } =
                &mut items[m.item].entry
        {
            *r = root;
            refresh(&mut items[m.item]);
        }
    }
    let _ = w;
    Some(Fs::Folded)
}

/// A directory `mkdir` made that a recursive `chown`/`chmod` finds empty: one outside the
/// system's directories (there the base image may have files), or in HOME/CONDA_DIR (where
/// everything is the notebook user's anyway).
fn fresh_dir(m: &Made) -> bool {
    m.dir
        && (crate::model::stacks_tree(&m.path).is_some()
            || ![
                "/etc",
                "/usr",
                "/var",
                "/root",
                "/lib",
                "/bin",
                "/sbin",
                "/opt/conda",
            ]
            .iter()
            .any(|s| m.path == *s || m.path.starts_with(&format!("{s}/"))))
}

/// `chmod` of what this `RUN` made, or of a file an earlier instruction copied or wrote: its
/// mode. All of the paths, or nothing.
fn fold_mode(
    w: &mut Walker<'_>,
    out: &mut [Option<Fs>],
    made: &[Made],
    paths: &[String],
    recursive: bool,
    spec: &str,
) -> Option<Fs> {
    let mut here: Vec<(&Made, u32)> = Vec::new();
    let mut earlier: Vec<String> = Vec::new();
    for p in paths {
        match made
            .iter()
            .find(|m| canonical_dest(&m.path) == canonical_dest(p))
        {
            Some(m) if recursive && !fresh_dir(m) => return None,
            Some(m) => {
                let Some(Fs::Items(items, _)) = &out[m.unit] else {
                    return None;
                };
                let base = match &items[m.item].entry {
                    Entry::Dir { mode, .. } => mode
                        .as_deref()
                        .map_or(0o755, |x| u32::from_str_radix(x, 8).unwrap_or(0o755)),
                    Entry::Inline {
                        mode,
                        append: false,
                        ..
                    } => mode
                        .as_deref()
                        .map_or(0o644, |x| u32::from_str_radix(x, 8).unwrap_or(0o644)),
                    _ => return None,
                };
                here.push((m, apply_mode(spec, base, m.dir)?));
            }
            None if !recursive => earlier.push(canonical_dest(p)),
            None => return None,
        }
    }
    if !earlier.is_empty() && !earlier_modes(w, &earlier, spec, false) {
        return None;
    }
    for (m, mode) in here {
        if let Some(Fs::Items(items, _)) = &mut out[m.unit] {
            match &mut items[m.item].entry {
                Entry::Dir { mode: slot, .. } => {
                    *slot = (mode != 0o755).then(|| format!("{mode:04o}"))
                }
                Entry::Inline { mode: slot, .. } => {
                    *slot = (mode != 0o644).then(|| format!("{mode:04o}"))
                }
                _ => {}
            }
            refresh(&mut items[m.item]);
        }
    }
    if !earlier.is_empty() {
        earlier_modes(w, &earlier, spec, true);
    }
    Some(Fs::Folded)
}

/// The image path a `file` item writes (a directory copy: `None`).
fn file_target(e: &Entry) -> Option<String> {
    match e {
        Entry::File { src, to, .. } if !src.ends_with('/') => Some(if to.ends_with('/') {
            format!("{to}{}", src.rsplit('/').next().unwrap_or(src))
        } else {
            to.clone()
        }),
        Entry::Inline {
            to, append: false, ..
        } => Some(to.clone()),
        Entry::Hook { stage, name, .. } => Some(format!("/usr/local/bin/{stage}.d/{name}")),
        _ => None,
    }
}

/// `chmod SPEC` of files earlier instructions put in place (`paths` canonical): with `apply`,
/// their items get the mode; without, only whether every path has one (a hook only when the
/// mode stays its 0755). No block since may mention the path.
fn earlier_modes(w: &mut Walker<'_>, paths: &[String], spec: &str, apply: bool) -> bool {
    let root = w.src.root.to_path_buf();
    for p in paths {
        let mut found = false;
        for s in w.steps.iter_mut().rev() {
            let items = match s {
                Step::Piece(piece) if mentions(&piece.lines.join("\n"), p) => return false,
                Step::Items(items) | Step::Copy(_, items) => items,
                _ => continue,
            };
            let Some(it) = items
                .iter_mut()
                .rev()
                .find(|it| file_target(&it.entry).is_some_and(|t| canonical_dest(&t) == *p))
            else {
                continue;
            };
            let ok = match &mut it.entry {
                Entry::Hook { .. } => apply_mode(spec, 0o755, false) == Some(0o755),
                Entry::File { src, mode, .. } => {
                    let base = match mode {
                        Some(m) => u32::from_str_radix(m, 8).ok(),
                        None => repo_mode(&root.join(src.as_str())),
                    };
                    match base.and_then(|b| apply_mode(spec, b, false)) {
                        Some(new) => {
                            if apply {
                                *mode = Some(format!("{new:04o}"));
                            }
                            true
                        }
                        None => false,
                    }
                }
                Entry::Inline { mode, .. } => {
                    let base = mode
                        .as_deref()
                        .map_or(Some(0o644), |m| u32::from_str_radix(m, 8).ok());
                    match base.and_then(|b| apply_mode(spec, b, false)) {
                        Some(new) => {
                            if apply {
                                *mode = (new != 0o644).then(|| format!("{new:04o}"));
                            }
                            true
                        }
                        None => false,
                    }
                }
                _ => false,
            };
            if !ok {
                return false;
            }
            if apply && matches!(it.entry, Entry::Inline { .. }) {
                refresh(it);
            }
            found = true;
            break;
        }
        if !found {
            return false;
        }
    }
    true
}

/// The permission bits of a repository file, as COPY takes them.
fn repo_mode(path: &std::path::Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A heredoc body the shell (or BuildKit) copies as it is: quoted, or without `$`, `` ` ``, `\`.
fn literal_body(h: &super::dockerfile::Heredoc) -> bool {
    h.quoted || !h.body.contains(['$', '`', '\\'])
}

/// `RUN cat <<EOF > FILE` (or `cat > FILE <<EOF`, `>>`, `tee [-a] FILE <<EOF`): the whole
/// `RUN` as an inline file. `false` leaves it to `run`.
pub fn heredoc_run(w: &mut Walker<'_>, i: &Instr) -> bool {
    let ([h], true) = (i.heredocs.as_slice(), i.flags.is_empty()) else {
        return false;
    };
    let tokens = shell::tokenize(&i.args);
    let mut words: Vec<&str> = Vec::new();
    let mut target: Option<(&str, bool)> = None;
    let mut heredoc = false;
    let mut it = tokens.iter().peekable();
    while let Some(t) = it.next() {
        match &t.tok {
            Tok::Word(x) => words.push(x),
            Tok::Op(op) if op == "<<" => {
                heredoc = true;
                it.next();
            }
            Tok::Op(op) if (op == ">" || op == ">>") && target.is_none() => {
                let Some(Tok::Word(f)) = it.next().map(|t| &t.tok) else {
                    return false;
                };
                target = Some((f, op == ">>"));
            }
            _ => return false,
        }
    }
    let (file, append) = match (words.as_slice(), target) {
        (["cat"], Some(t)) => t,
        (["tee", f], None | Some(("/dev/null", false))) => (*f, false),
        (["tee", "-a", f], None | Some(("/dev/null", false))) => (*f, true),
        _ => return false,
    };
    if !heredoc || !literal_body(h) {
        return false;
    }
    inline_instruction(w, i, file, &h.body.clone(), append, w.user.clone(), None)
}

/// `COPY [--chown=…] [--chmod=…] <<EOF FILE`: an inline file. `false` leaves it to `files`.
pub fn copy_heredoc(w: &mut Walker<'_>, i: &Instr) -> bool {
    let words: Vec<&str> = i.args.split_whitespace().collect();
    let ([_, dest], [h]) = (words.as_slice(), i.heredocs.as_slice()) else {
        return false;
    };
    if !literal_body(h)
        || i.flags
            .iter()
            .any(|f| !f.starts_with("--chown=") && !f.starts_with("--chmod="))
    {
        return false;
    }
    let user = match i.flag("chown") {
        None => User::Root,
        Some(c) => super::map::user_of(c),
    };
    let mode = match i.flag("chmod") {
        Some(m) => match octal(m) {
            Some(m) => Some(m),
            None => return false,
        },
        None => None,
    };
    let dest = (*dest).to_string();
    inline_instruction(w, i, &dest, &h.body.clone(), false, user, mode)
}

/// A whole instruction as one inline file.
fn inline_instruction(
    w: &mut Walker<'_>,
    i: &Instr,
    file: &str,
    body: &str,
    append: bool,
    user: User,
    mode: Option<String>,
) -> bool {
    let root = match user {
        User::Root => true,
        User::Notebook => false,
        User::Other(_) => return false,
    };
    let vars = w.vars.clone();
    let Some(path) = path_word(file, &vars) else {
        return false;
    };
    if jupyter_config(&path)
        || feeds_jcx_steps(&path)
        || later_block_mentions(w, &path)
        || w.copies.contains_key(&path)
    {
        return false;
    }
    let o = w.origin(i.first, i.last);
    if append && fold_earlier_append(w, &canonical_dest(&path), body) {
        w.mapped(i, Vec::new());
        return true;
    }
    let r = if append {
        false
    } else {
        owner(w, &path, root, &o, "the file")
    };
    let entry = Entry::Inline {
        to: path,
        content: body.to_string(),
        root: r,
        mode: mode.filter(|m| m != "0644"),
        append,
    };
    let later = match &entry {
        Entry::Inline { to, .. } => mentioned_after(w, i, to),
        _ => true,
    };
    w.mapped(i, vec![item(entry, &o)]);
    if later {
        w.advance(3);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_any_spelling() {
        assert!(mentions("cd ~/work && make", "${HOME}/work"));
        assert!(mentions("tar -C /opt/conda/x", "${CONDA_DIR}/x"));
    }
}
