//! `file "SRC" to="/DEST" owner=notebook|root mode="0644"`: a file or directory of the images
//! repository copied into the image. The build context is the repository root (the output
//! directory); each app's `Dockerfile.dockerignore` lets only the files it names through, so a
//! `COPY` can never refer to a file that does not reach the build, and the file must exist
//! when the manifest is compiled or checked.
//!
//! `file to="/DEST" content="TEXT"` writes a file given in the manifest: jcx generates it into
//! `src/<app>/file-N-NAME` and copies it the same way. `append=#true` (with either kind)
//! appends to a file of the base image instead, in the root file-system step (`super::fs`).

use std::path::Path;

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children, string_of};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::repo_path::{self, Naming};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, FileCopy};

pub static FILE: Setting = Setting {
    name: "file",
    shape: Shape::Custom(read),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("file \"jupyter/overrides.json\" to=\"/opt/conda/share/jupyter/lab/settings/\""),
    check,
    explain: Explain::Custom(explain),
};

/// Variables a destination may use: the stacks set them in every image.
const DEST_VARIABLES: &[&str] = &["${NB_USER}", "${HOME}", "${CONDA_DIR}"];

#[derive(Debug, Clone)]
pub struct RawFile {
    pub span: SourceSpan,
    /// A path of the images repository; `None` for inline `content=`.
    pub src: Option<Sp<String>>,
    pub content: Option<Sp<String>>,
    pub to: Option<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub mode: Option<Sp<String>>,
    pub append: Option<Sp<bool>>,
}

impl RawFile {
    pub fn appends(&self) -> bool {
        self.append.as_ref().is_some_and(|a| a.v)
    }

    /// How messages name the node: `file "SRC"` or `file content=…`.
    pub fn label(&self) -> String {
        match &self.src {
            Some(s) => format!("file \"{}\"", s.v.escape_debug()),
            None => match &self.to {
                Some(to) => format!("file to=\"{}\" content=…", to.v.escape_debug()),
                None => "file content=…".to_string(),
            },
        }
    }
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let src = if en.args.is_empty() {
        None
    } else {
        let e = en.args.remove(0);
        string_of(e, "`file`", problems)
    };
    let content = en
        .prop("content")
        .and_then(|e| string_of(e, "property `content`", problems));
    let to = en.prop_string("to", problems);
    let owner = en.prop_string("owner", problems);
    let mode = en.prop_string("mode", problems);
    let append = super::downloads::prop_value(
        &mut en,
        "append",
        "#true or #false",
        "write `append=#true` to add to the end of a file of the base image",
        |v| match v {
            KdlValue::Bool(b) => Some(*b),
            _ => None,
        },
        problems,
    );
    let given_src = node.entries().iter().any(|e| e.name().is_none());
    let given_content = node
        .entries()
        .iter()
        .any(|e| e.name().is_some_and(|n| n.value() == "content"));
    en.finish(&["to", "content", "owner", "mode", "append"], problems);
    no_children(node, problems);
    if given_src == given_content {
        let (code, label) = if given_src {
            (Code::InvalidFile, "both given")
        } else {
            (Code::MissingArgument, "path or content missing")
        };
        problems.push(
            Problem::error(
                code,
                node.span(),
                "`file` takes either a path of the images repository or `content=`, one of the two",
            )
            .label(label)
            .help("`file \"jupyter/overrides.json\" to=\"/etc/jupyter/\"` copies a file of the repository; `file to=\"/etc/motd\" content=\"Welcome\"` writes the text given"),
        );
        return None;
    }
    if to.is_none() && (src.is_some() || content.is_some()) {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                node.span(),
                "`file` needs `to=`, the path in the image",
            )
            .label("destination missing")
            .help("for example `file \"jupyter/overrides.json\" to=\"/opt/conda/share/jupyter/lab/settings/\"`"),
        );
    }
    if src.is_none() && content.is_none() {
        return None;
    }
    let file = RawFile {
        span: node.span(),
        src,
        content,
        to,
        owner,
        mode,
        append,
    };
    Some(Value::Items(vec![Box::new(file)]))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for f in v.items::<RawFile>() {
        if let Some(src) = &f.src {
            repo_path::check(cx, src, true, Naming::Node);
        }
        if let Some(c) = &f.content {
            check_content(cx, c, f);
        }
        if let Some(to) = &f.to {
            check_dest(cx, to);
            if let Some(src) = &f.src
                && repo_path::is_glob(&src.v)
                && !to.v.ends_with('/')
                && !f.appends()
            {
                cx.push(
                    Problem::error(
                        Code::InvalidFile,
                        to.span,
                        format!(
                            "`file \"{}\"` is a glob, so `to=` must be a directory",
                            src.v.escape_debug()
                        ),
                    )
                    .label("no trailing `/`")
                    .also(src.span, "glob pattern")
                    .help(format!(
                        "a glob copies every file it matches into a directory: write `to=\"{}/\"`",
                        to.v.trim_end_matches('/')
                    )),
                );
            }
            if (f.content.is_some() || f.appends()) && to.v.ends_with('/') {
                cx.push(
                    Problem::error(Code::InvalidFile, to.span, format!("`{}` names a directory, not a file", to.v.escape_debug()))
                        .label("trailing `/`")
                        .help(if f.appends() {
                            "`append=#true` adds to one file: name it, such as `to=\"${HOME}/.bashrc\"`"
                        } else {
                            "an inline file needs its name: write the whole path, such as `to=\"/etc/motd\"`"
                        }),
                );
            }
        }
        if f.appends() {
            check_append(cx, f);
            continue;
        }
        if let Some(o) = &f.owner {
            check_owner(cx, o, f.to.as_ref());
        }
        if let Some(m) = &f.mode
            && check_octal(cx, m)
        {
            check_dir_mode(cx, m, f);
        }
    }
}

/// The text of an inline file: any text of printable characters, newlines and tabs.
fn check_content(cx: &mut Checker<'_>, c: &Sp<String>, f: &RawFile) {
    if !cx.safe(c, "the file content", true) {
        return;
    }
    if f.appends() && c.v.is_empty() {
        cx.push(
            Problem::error(Code::InvalidFile, c.span, "nothing to append")
                .label("empty")
                .help("write the lines to append, or remove the node"),
        );
    }
}

/// `append=#true`: the file keeps its owner and mode, and the source is one file.
fn check_append(cx: &mut Checker<'_>, f: &RawFile) {
    for p in [&f.owner, &f.mode].into_iter().flatten() {
        cx.push(
            Problem::error(Code::InvalidFile, p.span, "an appended file keeps its own owner and mode")
                .label("not with `append=#true`")
                .help("remove `owner=`/`mode=`: appending changes only the file's content. To set them, write the whole file instead (without `append`)"),
        );
    }
    if let Some(src) = &f.src
        && (repo_path::is_glob(&src.v) || cx.root.is_some_and(|root| on_disk(root, &src.v).1))
    {
        let what = if repo_path::is_glob(&src.v) {
            "a glob"
        } else {
            "a directory"
        };
        cx.push(
            Problem::error(
                Code::InvalidFile,
                src.span,
                format!("`{}` is {what}", src.v),
            )
            .label("not one file")
            .help("`append=#true` appends one file of the repository: name the file"),
        );
    }
}

/// `owner=`: `notebook` or `root`, and not `root` in HOME or CONDA_DIR (`to`, when given).
pub(super) fn check_owner(cx: &mut Checker<'_>, o: &Sp<String>, to: Option<&Sp<String>>) {
    if !matches!(o.v.as_str(), "notebook" | "root") {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                o.span,
                format!("unknown owner `{}`", o.v.escape_debug()),
            )
            .label("owner")
            .help("expected `notebook` (the default: the notebook user, who can change the file) or `root`"),
        );
    }
    if let Some(to) = to
        && o.v == "root"
        && let Some(tree) = crate::model::stacks_tree(&to.v)
    {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                o.span,
                format!("`{}` lies in `{tree}`, which belongs to the notebook user", to.v),
            )
            .label("root-owned")
            .also(to.span, "path in the image")
            .help("the stacks keep HOME and CONDA_DIR writable by the notebook user's group: leave them to the notebook user (`owner=notebook`, the default), or put root-owned files elsewhere, such as `/etc/jupyter/`"),
        );
    }
}
/// A relative path inside the repository, written as COPY reads it literally (no glob): the
/// rules of [`super::repo_path`].
pub(super) fn check_src(cx: &mut Checker<'_>, src: &Sp<String>) {
    repo_path::check(cx, src, false, Naming::Node);
}

pub(super) fn check_dest(cx: &mut Checker<'_>, to: &Sp<String>) {
    check_image_path(cx, to, "destination", "a destination jcx can copy to");
}

/// Whether `p` is a path in the image as `file to=` takes it: absolute, or starting with
/// `${HOME}`/`${CONDA_DIR}`, the stacks' variables only, no `..`, blanks, quotes or glob
/// characters.
pub fn image_path_ok(p: &str) -> bool {
    let mut rest = p.to_string();
    for var in DEST_VARIABLES {
        rest = rest.replace(var, "v");
    }
    let starts_ok = p.starts_with('/') || DEST_VARIABLES.iter().any(|v| p.starts_with(v));
    starts_ok
        && !rest.split('/').any(|c| c == "..")
        && !rest
            .chars()
            .any(|c| "\"$\\`'*?[]{}".contains(c) || c.is_control() || c.is_whitespace())
}

/// A path in the image (`what` labels it, `is_not` says what it fails to be): absolute, or
/// starting with `${HOME}`/`${CONDA_DIR}`, the stacks' variables only, no `..`, blanks, quotes
/// or glob characters. The rules of `file to=`, shared by `dir`, `symlink` and `remove`.
pub(super) fn check_image_path(
    cx: &mut Checker<'_>,
    to: &Sp<String>,
    what: &str,
    is_not: &str,
) -> bool {
    if !cx.safe(to, &format!("the {what}"), false) {
        return false;
    }
    let bad = !image_path_ok(&to.v);
    if bad {
        cx.push(
            Problem::error(Code::InvalidFile, to.span, format!("`{}` is not {is_not}", to.v.escape_debug()))
                .label(what.to_string())
                .help(if what == "destination" {
                    "write an absolute path in the image, such as `/etc/jupyter/` (a trailing `/` puts the file inside that directory); it may start with `${HOME}`, `${CONDA_DIR}` or use `${NB_USER}`, and has no spaces, quotes or other `$`"
                } else {
                    "write an absolute path in the image, such as `/opt/tools`; it may start with `${HOME}`, `${CONDA_DIR}` or use `${NB_USER}`, and has no `..`, spaces, quotes, glob characters or other `$`"
                }),
        );
    }
    !bad
}

/// `mode=`: 3 or 4 octal digits.
pub(super) fn check_octal(cx: &mut Checker<'_>, m: &Sp<String>) -> bool {
    let octal = (3..=4).contains(&m.v.len()) && m.v.bytes().all(|c| (b'0'..=b'7').contains(&c));
    if !octal {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                m.span,
                format!("`{}` is not a file mode", m.v.escape_debug()),
            )
            .label("mode")
            .help(
                "write octal permissions as a string, such as `mode=\"0644\"` or `mode=\"0755\"`",
            ),
        );
    }
    octal
}

/// Whether an octal mode (checked) lets its owner enter a directory.
pub(super) fn owner_can_enter(mode: &str) -> bool {
    (mode.as_bytes()[mode.len() - 3] - b'0') & 1 == 1
}

fn check_dir_mode(cx: &mut Checker<'_>, m: &Sp<String>, f: &RawFile) {
    // COPY --chmod applies to directories too: a directory without `x` cannot be entered.
    let Some(src) = &f.src else { return };
    let is_dir = cx.root.is_some_and(|root| on_disk(root, &src.v).1);
    if is_dir && !owner_can_enter(&m.v) {
        cx.push(
            Problem::error(Code::InvalidFile, m.span, format!("mode {} makes the directory `{}` impossible to enter", m.v, src.v))
                .label("no execute bit")
                .help("a mode applies to the directory and everything in it: give directories `x` (`0755`), or leave `mode` out"),
        );
    }
}

/// The name of an inline file in `src/<app>/`: `file-N-NAME`, N counting the app's inline
/// files from 1, NAME the destination's last component in letters, digits, `.`, `_`, `-`.
fn inline_name(n: usize, to: &str) -> String {
    let base = to
        .rsplit('/')
        .next()
        .unwrap_or(to)
        .replace("${NB_USER}", "NB_USER");
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("file-{n}-{}", if base.is_empty() { "file" } else { &base })
}

/// The text jcx generates for an inline file: the content, ending in a newline (unless empty).
pub fn inline_text(content: &str) -> String {
    if content.is_empty() || content.ends_with('\n') {
        content.to_string()
    } else {
        format!("{content}\n")
    }
}

/// The files an app copies or appends, in manifest order (inherited first).
pub fn model(s: &RawSettings, root: Option<&Path>, app: &str) -> Vec<FileCopy> {
    let mut inline = 0;
    s.items::<RawFile>(&FILE)
        .filter_map(|f| {
            let to = f.to.as_ref()?;
            let (src, content) = match (&f.src, &f.content) {
                (Some(src), _) => (src.v.trim_end_matches('/').to_string(), None),
                (None, Some(c)) => {
                    inline += 1;
                    (
                        format!("src/{app}/{}", inline_name(inline, &to.v)),
                        Some(inline_text(&c.v)),
                    )
                }
                (None, None) => return None,
            };
            let directory = content.is_none() && root.is_some_and(|r| on_disk(r, &src).1);
            let glob = content.is_none() && repo_path::is_glob(&src);
            let mode = match (&f.mode, &content) {
                (Some(m), _) => Some(m.v.clone()),
                // A generated file's bits would be those of whoever ran `jcx compile`.
                (None, Some(_)) if !f.appends() => Some("0644".to_string()),
                (None, _) => None,
            };
            Some(FileCopy {
                src,
                to: to.v.clone(),
                root_owned: f.owner.as_ref().is_some_and(|o| o.v == "root"),
                mode,
                directory,
                glob,
                content,
                append: f.appends(),
            })
        })
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for f in r.settings.items::<RawFile>(&FILE) {
        let to = f.to.as_ref().map_or("?", |t| t.v.as_str());
        let what = match (&f.src, &f.content) {
            (Some(s), _) => s.v.clone(),
            (None, Some(c)) => {
                let n = c.v.lines().count();
                format!("inline text ({n} line{})", if n == 1 { "" } else { "s" })
            }
            (None, None) => "?".to_string(),
        };
        let o = cx.origin(f.span);
        if f.appends() {
            cx.push("file", format!("{what} appended to {to}"), o);
            continue;
        }
        let owner = f.owner.as_ref().map_or("notebook", |o| o.v.as_str());
        let mode = match (&f.mode, &f.content) {
            (Some(m), _) => format!(", mode {}", m.v),
            (None, Some(_)) => ", mode 0644".to_string(),
            (None, None) => String::new(),
        };
        cx.push("file", format!("{what} -> {to} ({owner}{mode})"), o);
    }
}

/// A destination in the image, spelled one way: the stacks' variables and the paths they
/// stand for compare equal (`/opt/conda/x` is `${CONDA_DIR}/x`), without a trailing `/`.
pub fn canonical_dest(dest: &str) -> String {
    let dest = if dest.len() > 1 {
        dest.trim_end_matches('/')
    } else {
        dest
    };
    for (alias, canon) in [
        ("/opt/conda", "${CONDA_DIR}"),
        ("${HOME}", "/home/${NB_USER}"),
        ("/home/jovyan", "/home/${NB_USER}"),
    ] {
        if dest == alias || dest.starts_with(&format!("{alias}/")) {
            return format!("{canon}{}", &dest[alias.len()..]);
        }
    }
    dest.to_string()
}

/// The repository paths a `file` source names (itself, or a glob's matches) and whether one
/// of them is a directory.
fn on_disk(root: &Path, src: &str) -> (Vec<String>, bool) {
    let src = src.trim_end_matches('/');
    let matches = if repo_path::is_glob(src) {
        repo_path::expand(root, src)
    } else {
        vec![src.to_string()]
    };
    let dir = matches.iter().any(|m| root.join(m).is_dir());
    (matches, dir)
}

/// The image paths a `file` node writes: its destination, or, for a directory of the
/// repository (when the repository is at hand), every file under it; for a glob, the same for
/// each match.
fn file_dests(f: &RawFile, to: &str, root: Option<&Path>) -> Vec<String> {
    let src = f.src.as_ref().map_or("", |s| s.v.trim_end_matches('/'));
    let Some(root) = root.filter(|_| !src.is_empty()) else {
        return vec![single_dest(src, to)];
    };
    let (matches, _) = on_disk(root, src);
    let mut dests = Vec::new();
    for m in &matches {
        let dir = root.join(m);
        if !dir.is_dir() {
            dests.push(if repo_path::is_glob(src) {
                single_dest(m, &format!("{}/", to.trim_end_matches('/')))
            } else {
                single_dest(m, to)
            });
            continue;
        }
        // COPY of a directory copies its contents into `to`.
        let to = to.trim_end_matches('/');
        dests.extend(
            walkdir::WalkDir::new(&dir)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .filter_map(|e| {
                    let rel = e
                        .path()
                        .strip_prefix(&dir)
                        .ok()?
                        .to_str()?
                        .replace('\\', "/");
                    Some(format!("{to}/{rel}"))
                }),
        );
    }
    dests
}

/// Where one file lands: inside `to` when it ends with `/`, else at `to`.
fn single_dest(src: &str, to: &str) -> String {
    let base = src.rsplit('/').next().unwrap_or(src);
    if to.ends_with('/') {
        format!("{to}{base}")
    } else {
        to.to_string()
    }
}

/// What jcx writes at a path of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writes {
    /// A file, by a COPY or a step of jcx.
    File,
    /// Files inside this directory (an unpacked download, a kernel's environment, a copy out
    /// of a builder stage).
    Tree,
    /// Lines appended to a file (`file append=#true`).
    Append,
    /// A directory (`dir`).
    Dir,
}

/// A path jcx writes, canonical ([`canonical_dest`]); `before` when it is written before the
/// file-system step (so a `remove` would delete it).
#[derive(Debug, Clone)]
pub(super) struct Writer {
    pub path: String,
    pub who: String,
    pub writes: Writes,
    pub before: bool,
}

fn writer(path: &str, who: String, writes: Writes, before: bool) -> Writer {
    Writer {
        path: canonical_dest(path),
        who,
        writes,
        before,
    }
}

/// What jcx itself writes for the app, besides `file` nodes.
fn jcx_writers(app: &App) -> Vec<Writer> {
    let mut owners = Vec::new();
    for d in &app.downloads {
        if let Some(to) = &d.to {
            let writes = if d.kind == "file" {
                Writes::File
            } else {
                Writes::Tree
            };
            owners.push(writer(
                to,
                format!("the download `{}`", d.name),
                writes,
                true,
            ));
        }
    }
    for k in &app.kernels {
        owners.push(writer(
            &format!("${{CONDA_DIR}}/envs/{}", k.name),
            format!("the kernel `{}`", k.name),
            Writes::Tree,
            true,
        ));
    }
    for c in &app.stage_copies {
        let writes = if c.to.ends_with('/') {
            Writes::Tree
        } else {
            Writes::File
        };
        owners.push(writer(
            &c.to,
            format!("`copy-from {}`", c.stage),
            writes,
            true,
        ));
    }
    if let Some(j) = &app.jupyter {
        for (name, to, _) in crate::render::jupyter_files(j) {
            owners.push(writer(
                to,
                format!("the `jupyter` block's {name}"),
                Writes::File,
                false,
            ));
        }
    }
    for h in &app.hooks {
        owners.push(writer(
            &format!("/usr/local/bin/{}.d/{}", h.stage, h.name),
            format!("the hook `{}`", h.name),
            Writes::File,
            false,
        ));
    }
    owners
}

/// A `file` must not land where jcx itself writes (a Jupyter JSON file, a hook, a download)
/// or where another `file` already did: the later `COPY` would silently replace the earlier
/// one, and which one wins would depend on the layer order, not on the manifest. An appended
/// file is one jcx does not write otherwise. Then the file-system nodes (`super::fs`) are
/// checked against everything written.
pub fn check_destinations(cx: &mut Checker<'_>, r: &Resolved, app: &App) {
    let mut owners = jcx_writers(app);
    for f in r.settings.items::<RawFile>(&FILE) {
        let Some(to) = &f.to else { continue };
        let dests = file_dests(f, &to.v, cx.root);
        let label = f.label();
        let clash = dests.iter().find_map(|d| {
            let d = canonical_dest(d);
            owners
                .iter()
                .filter(|o| {
                    o.writes == Writes::File || (o.writes == Writes::Append && !f.appends())
                })
                .find(|o| o.path == d)
                .map(|o| (o.path.clone(), o.who.clone()))
        });
        if let Some((path, who)) = clash {
            let (message, help) = if f.appends() {
                (
                    format!("`{label}` appends to `{path}`, which {who} writes"),
                    "append to a file of the base image; to add to a file jcx writes, write the lines there",
                )
            } else {
                (
                    format!("`{label}` writes `{path}`, which {who} also writes"),
                    "one of the two would silently replace the other: give this file another destination, or drop the other (for Jupyter settings, write them in `jupyter { … }` instead of copying a file)",
                )
            };
            cx.push(
                Problem::error(Code::FileCollision, to.span, message)
                    .label("same path in the image")
                    .help(help),
            );
        }
        let writes = if f.appends() {
            Writes::Append
        } else {
            Writes::File
        };
        owners.extend(
            dests
                .iter()
                .map(|d| writer(d, format!("`{label}`"), writes, !f.appends())),
        );
    }
    super::fs::check_collisions(cx, r, owners);
}

/// A package file read and parsed once per path, however many nodes name it: from the cache
/// when an earlier node read it (its path passed the `file` rules then), else read from disk
/// (`read_package_file`, reporting at `src`), parsed with `parse` and cached. `None` when it
/// cannot be read.
pub(super) fn cached_package_file<T>(
    cx: &mut Checker<'_>,
    src: &Sp<String>,
    what: &str,
    cache: fn(
        &mut super::check::FileCache,
    ) -> &mut std::collections::HashMap<String, std::sync::Arc<T>>,
    parse: fn(&str, &str) -> T,
) -> Option<std::sync::Arc<T>> {
    if let Some(f) = cache(&mut cx.files).get(&src.v) {
        return Some(std::sync::Arc::clone(f));
    }
    let text = read_package_file(cx, src, what)?;
    let f = std::sync::Arc::new(parse(&src.v, &text));
    cache(&mut cx.files).insert(src.v.clone(), std::sync::Arc::clone(&f));
    Some(f)
}

/// Package files (requirements files, `environment.yml`) are small text files; anything larger
/// is not one.
pub const MAX_PACKAGE_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The text of a package file of the repository the manifest names (`what` names it in
/// messages): the path rules of `file`, then a regular file of UTF-8 text. Every refusal is
/// reported at `src`, the path in the manifest; `None` then (and when there is no repository to
/// read from).
pub(super) fn read_package_file(
    cx: &mut Checker<'_>,
    src: &Sp<String>,
    what: &str,
) -> Option<String> {
    let before = cx.problems.len();
    check_src(cx, src);
    if cx.problems.len() > before {
        return None;
    }
    let path = cx.root?.join(&src.v);
    let refuse = |cx: &mut Checker<'_>, message: String, help: &str| {
        cx.push(
            Problem::error(Code::InvalidPackageFile, src.span, message)
                .label(what.to_string())
                .help(help.to_string()),
        );
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => {
            refuse(
                cx,
                format!("`{}` is a directory", src.v),
                "name the file itself",
            );
            return None;
        }
        Ok(m) => m,
        Err(e) => {
            refuse(
                cx,
                format!("cannot read `{}`: {e}", src.v),
                "make the file readable",
            );
            return None;
        }
    };
    if meta.len() > MAX_PACKAGE_FILE_BYTES {
        refuse(
            cx,
            format!(
                "`{}` is {} bytes; a package file is at most {MAX_PACKAGE_FILE_BYTES}",
                src.v,
                meta.len()
            ),
            "name the requirements or environment file itself",
        );
        return None;
    }
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            refuse(
                cx,
                format!("cannot read `{}`: {e}", src.v),
                "make the file readable",
            );
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let (line, column) =
                crate::source::byte_line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            refuse(
                cx,
                format!(
                    "`{}` is not UTF-8 text (line {line}, column {column})",
                    src.v
                ),
                "save the file as UTF-8",
            );
            None
        }
    }
}

/// The name a package file gets in a step's temporary directory: `N-<file name>` (1-based), so
/// that two files of one name never meet.
pub fn temp_name(i: usize, src: &str) -> String {
    format!("{}-{}", i + 1, src.rsplit('/').next().unwrap_or(src))
}
