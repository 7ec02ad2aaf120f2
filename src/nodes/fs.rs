//! `dir "/PATH"… [owner=] [mode=]`, `symlink "/LINK" to="/TARGET"` and `remove "/PATH"…`:
//! directories, symbolic links and removals of the base image's files. One root step after
//! the `file` copies makes them, in this order: removals, directories, appends (`file
//! append=#true`), `permissions` (`super::perms`), links; then `fix-permissions` of HOME and
//! CONDA_DIR when touched. Paths follow
//! the rules of `file to=`; removing, or linking over, what jcx writes is a collision.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children};
use super::files::{Writer, Writes, canonical_dest};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, FsChanges, MakeDir, Symlink};

pub static REMOVE: Setting = Setting {
    name: "remove",
    shape: Shape::Custom(read_remove),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("remove \"/home/jovyan/work\""),
    check: check_remove,
    explain: Explain::Custom(explain_remove),
};

pub static DIR: Setting = Setting {
    name: "dir",
    shape: Shape::Custom(read_dir),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("dir \"/data\" owner=notebook mode=\"0775\""),
    check: check_dir,
    explain: Explain::Custom(explain_dir),
};

pub static SYMLINK: Setting = Setting {
    name: "symlink",
    shape: Shape::Custom(read_symlink),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("symlink \"/usr/local/bin/python\" to=\"/opt/conda/bin/python\""),
    check: check_symlink,
    explain: Explain::Custom(explain_symlink),
};

#[derive(Debug, Clone)]
pub struct RawRemove {
    pub span: SourceSpan,
    pub paths: Vec<Sp<String>>,
}

#[derive(Debug, Clone)]
pub struct RawDir {
    pub span: SourceSpan,
    pub paths: Vec<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub mode: Option<Sp<String>>,
}

#[derive(Debug, Clone)]
pub struct RawSymlink {
    pub span: SourceSpan,
    pub link: Sp<String>,
    pub target: Sp<String>,
}

fn read_remove(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let paths = en.strings("path in the image", true, problems);
    en.finish(&[], problems);
    no_children(node, problems);
    (!paths.is_empty()).then(|| {
        Value::Items(vec![Box::new(RawRemove {
            span: node.span(),
            paths,
        })])
    })
}

fn read_dir(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let paths = en.strings("path in the image", true, problems);
    let owner = en.prop_string("owner", problems);
    let mode = en.prop_string("mode", problems);
    en.finish(&["owner", "mode"], problems);
    no_children(node, problems);
    (!paths.is_empty()).then(|| {
        Value::Items(vec![Box::new(RawDir {
            span: node.span(),
            paths,
            owner,
            mode,
        })])
    })
}

fn read_symlink(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let link = en.one_string("the path of the link", problems);
    let target = en.prop_string("to", problems);
    en.finish(&["to"], problems);
    no_children(node, problems);
    if link.is_some() && target.is_none() {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                node.span(),
                "`symlink` needs `to=`, the path the link points at",
            )
            .label("target missing")
            .help("for example `symlink \"/usr/local/bin/python\" to=\"/opt/conda/bin/python\"`"),
        );
    }
    Some(Value::Items(vec![Box::new(RawSymlink {
        span: node.span(),
        link: link?,
        target: target?,
    })]))
}

/// Directories a `remove`, `dir` or `symlink` must never touch: the root, the top-level
/// directories of the system, `/usr/*` and the system directories of `/usr/local` and `/var`,
/// HOME and CONDA_DIR and CONDA_DIR's own directories. Compared canonical.
pub(super) fn protected(canon: &str) -> bool {
    const TOP: &[&str] = &[
        "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt",
        "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var",
    ];
    const OTHER: &[&str] = &[
        "/usr/local/bin",
        "/usr/local/etc",
        "/usr/local/include",
        "/usr/local/lib",
        "/usr/local/sbin",
        "/usr/local/share",
        "/var/lib",
        "/var/cache",
        "/var/log",
        "/home/${NB_USER}",
        "${CONDA_DIR}",
        "${CONDA_DIR}/bin",
        "${CONDA_DIR}/conda-meta",
        "${CONDA_DIR}/etc",
        "${CONDA_DIR}/include",
        "${CONDA_DIR}/lib",
        "${CONDA_DIR}/share",
    ];
    let parts: Vec<&str> = canon.split('/').collect();
    canon == "/"
        || OTHER.contains(&canon)
        || (parts.len() == 2 && parts[0].is_empty() && TOP.contains(&parts[1]))
        || (parts.len() == 3 && parts[0].is_empty() && parts[1] == "usr")
}

/// No empty or `.` component (a trailing `/` aside).
pub(super) fn plain_components(trimmed: &str) -> bool {
    trimmed == "/" || !trimmed.split('/').skip(1).any(|c| c.is_empty() || c == ".")
}

/// Whether `p` passes every rule of a `remove`, `dir` or `symlink` path (for `jcx import`).
pub fn usable_path(p: &str) -> bool {
    plain_path(p) && !protected_path(p)
}

/// Whether `p` passes the rules of every file-system node's path, protection aside: those of
/// `file to=`, no `.` or empty component (for `jcx import`).
pub fn plain_path(p: &str) -> bool {
    super::files::image_path_ok(p) && plain_components(&trimmed(p))
}

/// Whether `p` is a protected directory (`/`, `/usr`, HOME, …), which the file-system nodes
/// never remove, link over or change recursively.
pub fn protected_path(p: &str) -> bool {
    protected(&canonical_dest(&trimmed(p)))
}

/// The rules of a path of `remove`, `dir` or `symlink`: those of `file to=`, no `.` or empty
/// component, and not a protected directory. `what` names the node.
fn check_path(cx: &mut Checker<'_>, p: &Sp<String>, what: &str) -> bool {
    if !check_plain_path(cx, p) {
        return false;
    }
    let canon = canonical_dest(&trimmed(&p.v));
    if protected(&canon) {
        cx.push(
            Problem::error(Code::ProtectedPath, p.span, format!("`{what}` refuses `{}`, a directory of the system or of the stacks", p.v))
                .label("protected")
                .help("name the file or directory inside it that you mean, such as `/home/jovyan/work` or `/usr/local/bin/tool`; `/`, the top-level directories, `/usr/*`, HOME, CONDA_DIR and CONDA_DIR's own directories are never removed, linked over or re-owned"),
        );
        return false;
    }
    true
}

/// The rules of `file to=` and no `.` or empty component: every path of the file-system nodes.
pub(super) fn check_plain_path(cx: &mut Checker<'_>, p: &Sp<String>) -> bool {
    if !super::files::check_image_path(cx, p, "path", "a path in the image jcx can use") {
        return false;
    }
    let trimmed = if p.v.len() > 1 {
        p.v.trim_end_matches('/')
    } else {
        &p.v
    };
    if !plain_components(trimmed) {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                p.span,
                format!("`{}` has an empty or `.` component", p.v),
            )
            .label("path")
            .help("write the path plainly, without `//` or `/./`"),
        );
        return false;
    }
    true
}

fn check_remove(cx: &mut Checker<'_>, v: &Value) {
    for r in v.items::<RawRemove>() {
        for p in &r.paths {
            check_path(cx, p, "remove");
        }
    }
}

fn check_dir(cx: &mut Checker<'_>, v: &Value) {
    for d in v.items::<RawDir>() {
        for p in &d.paths {
            if check_path(cx, p, "dir")
                && let Some(o) = &d.owner
            {
                super::files::check_owner(cx, o, Some(p));
            }
        }
        if let Some(m) = &d.mode
            && super::files::check_octal(cx, m)
            && !super::files::owner_can_enter(&m.v)
        {
            cx.push(
                Problem::error(
                    Code::InvalidFile,
                    m.span,
                    format!("mode {} makes the directory impossible to enter", m.v),
                )
                .label("no execute bit")
                .help("give a directory its owner's `x` bit, such as `0700` or `0755`"),
            );
        }
    }
}

fn check_symlink(cx: &mut Checker<'_>, v: &Value) {
    for l in v.items::<RawSymlink>() {
        check_path(cx, &l.link, "symlink");
        if super::files::check_image_path(
            cx,
            &l.target,
            "target",
            "a target jcx can link to (an absolute path)",
        ) && l.target.v.split('/').any(|c| c == ".")
        {
            cx.push(
                Problem::error(
                    Code::InvalidFile,
                    l.target.span,
                    "the target has a `.` component",
                )
                .label("target")
                .help("write the target plainly, without `/./`"),
            );
        }
    }
}

pub(super) fn trimmed(p: &str) -> String {
    if p.len() > 1 {
        p.trim_end_matches('/').to_string()
    } else {
        p.to_string()
    }
}

/// The file-system changes of an app, in manifest order (inherited first), each once.
pub fn model(s: &RawSettings) -> FsChanges {
    let mut fs = FsChanges::default();
    for r in s.items::<RawRemove>(&REMOVE) {
        for p in &r.paths {
            let p = trimmed(&p.v);
            if !fs.removes.contains(&p) {
                fs.removes.push(p);
            }
        }
    }
    for d in s.items::<RawDir>(&DIR) {
        for p in &d.paths {
            let dir = MakeDir {
                path: trimmed(&p.v),
                root_owned: d.owner.as_ref().is_some_and(|o| o.v == "root"),
                mode: d.mode.as_ref().map(|m| m.v.clone()),
            };
            if !fs.dirs.contains(&dir) {
                fs.dirs.push(dir);
            }
        }
    }
    for l in s.items::<RawSymlink>(&SYMLINK) {
        let link = Symlink {
            link: trimmed(&l.link.v),
            target: l.target.v.clone(),
        };
        if !fs.symlinks.contains(&link) {
            fs.symlinks.push(link);
        }
    }
    fs.permissions = super::perms::model(s);
    fs
}

/// `path` is `at` or lies under it.
pub(super) fn at_or_under(path: &str, at: &str) -> bool {
    path == at || at == "/" || path.starts_with(&format!("{at}/"))
}

fn collision(cx: &mut Checker<'_>, span: SourceSpan, message: String, help: &str) {
    cx.push(
        Problem::error(Code::FileCollision, span, message)
            .label("same path in the image")
            .help(help.to_string()),
    );
}

/// Removals, directories and links against what jcx writes (`writers`: jcx's own files, the
/// `file` nodes and the appends) and against each other.
pub(super) fn check_collisions(cx: &mut Checker<'_>, r: &Resolved, mut writers: Vec<Writer>) {
    let s = &r.settings;
    for rm in s.items::<RawRemove>(&REMOVE) {
        for p in &rm.paths {
            let canon = canonical_dest(&p.v);
            if protected(&canon) {
                continue;
            }
            if let Some(w) = writers
                .iter()
                .find(|w| w.before && at_or_under(&w.path, &canon))
            {
                collision(
                    cx,
                    p.span,
                    format!(
                        "`remove \"{}\"` deletes `{}`, which {} writes before it",
                        p.v, w.path, w.who
                    ),
                    "the removals run after the `file` copies, the downloads and the package steps: remove only what the base image has, or drop the other node",
                );
            }
        }
    }
    let dirs = check_dirs(cx, r, &writers);
    for (canon, p) in dirs {
        writers.push(Writer {
            path: canon,
            who: format!("`dir \"{}\"`", p.v),
            writes: Writes::Dir,
            before: false,
        });
    }
    super::perms::check_collisions(cx, r, &writers);
    check_links(cx, r, &writers);
}

/// Each `dir` against the files jcx writes and the other `dir` nodes; the directories, canonical.
fn check_dirs<'a>(
    cx: &mut Checker<'_>,
    r: &'a Resolved,
    writers: &[Writer],
) -> Vec<(String, &'a Sp<String>)> {
    let mut dirs: Vec<(String, &RawDir, &Sp<String>)> = Vec::new();
    for d in r.settings.items::<RawDir>(&DIR) {
        for p in &d.paths {
            let canon = canonical_dest(&p.v);
            if protected(&canon) {
                continue;
            }
            let file = writers.iter().find(|w| {
                matches!(w.writes, Writes::File | Writes::Append) && at_or_under(&canon, &w.path)
            });
            if let Some(w) = file {
                collision(
                    cx,
                    p.span,
                    format!(
                        "`dir \"{}\"` needs a directory where {} writes the file `{}`",
                        p.v, w.who, w.path
                    ),
                    "a path is a file or a directory, not both: give the directory or the file another path",
                );
            }
            let same = |o: &Option<Sp<String>>, q: &Option<Sp<String>>| {
                o.as_ref().map(|x| &x.v) == q.as_ref().map(|x| &x.v)
            };
            if let Some((_, first, fp)) = dirs.iter().find(|(c, _, _)| *c == canon)
                && !(same(&first.owner, &d.owner) && same(&first.mode, &d.mode))
            {
                cx.push(
                    Problem::error(
                        Code::FileCollision,
                        p.span,
                        format!(
                            "`dir \"{}\"` is given again with another owner or mode",
                            p.v
                        ),
                    )
                    .label("given again here")
                    .also(fp.span, "first given here")
                    .help("a directory has one owner and one mode: keep one of the two"),
                );
            }
            dirs.push((canon, d, p));
        }
    }
    dirs.into_iter().map(|(c, _, p)| (c, p)).collect()
}

/// Each `symlink` against everything jcx writes (directories included) and the other links.
fn check_links(cx: &mut Checker<'_>, r: &Resolved, writers: &[Writer]) {
    let mut links: Vec<(String, &RawSymlink)> = Vec::new();
    for l in r.settings.items::<RawSymlink>(&SYMLINK) {
        let canon = canonical_dest(&l.link.v);
        if protected(&canon) {
            continue;
        }
        if let Some(w) = writers.iter().find(|w| at_or_under(&w.path, &canon)) {
            collision(
                cx,
                l.link.span,
                format!(
                    "`symlink \"{}\"` replaces `{}`, which {} writes",
                    l.link.v, w.path, w.who
                ),
                "a link takes the place of what is at its path (and what is under it): link another path, or drop the other node",
            );
        } else if let Some((other, first)) = links
            .iter()
            .find(|(c, f)| at_or_under(&canon, c) && (*c != canon || f.target.v != l.target.v))
        {
            let message = if *other == canon {
                format!(
                    "`symlink \"{}\"` is given again with another target",
                    l.link.v
                )
            } else {
                format!(
                    "`symlink \"{}\"` lies under the link `{}`",
                    l.link.v, first.link.v
                )
            };
            cx.push(
                Problem::error(Code::FileCollision, l.link.span, message)
                    .label("here")
                    .also(first.link.span, "the other link")
                    .help("a path holds one link: keep one of the two, or link another path"),
            );
        }
        links.push((canon, l));
    }
}

fn explain_remove(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for rm in r.settings.items::<RawRemove>(&REMOVE) {
        let o = cx.origin(rm.span);
        let paths: Vec<&str> = rm.paths.iter().map(|p| p.v.as_str()).collect();
        cx.push("remove", paths.join(" "), o);
    }
}

fn explain_dir(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for d in r.settings.items::<RawDir>(&DIR) {
        let o = cx.origin(d.span);
        let paths: Vec<&str> = d.paths.iter().map(|p| p.v.as_str()).collect();
        let owner = d.owner.as_ref().map_or("notebook", |o| o.v.as_str());
        let mode = d
            .mode
            .as_ref()
            .map_or(String::new(), |m| format!(", mode {}", m.v));
        cx.push("dir", format!("{} ({owner}{mode})", paths.join(" ")), o);
    }
}

fn explain_symlink(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for l in r.settings.items::<RawSymlink>(&SYMLINK) {
        let o = cx.origin(l.span);
        cx.push("symlink", format!("{} -> {}", l.link.v, l.target.v), o);
    }
}
