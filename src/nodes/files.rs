//! `file "SRC" to="/DEST" owner=notebook|root mode="0644"`: a file or directory of the images
//! repository copied into the image. The build context is the repository root (the output
//! directory); each app's `Dockerfile.dockerignore` lets only the files it names through, so a
//! `COPY` can never refer to a file that does not reach the build, and the file must exist
//! when the manifest is compiled or checked.

use std::path::Path;

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children};
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
    pub src: Sp<String>,
    pub to: Option<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub mode: Option<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let src = en.one_string("a path in the images repository", problems);
    let to = en.prop_string("to", problems);
    let owner = en.prop_string("owner", problems);
    let mode = en.prop_string("mode", problems);
    en.finish(&["to", "owner", "mode"], problems);
    no_children(node, problems);
    if to.is_none() && src.is_some() {
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
    let file = RawFile {
        span: node.span(),
        src: src?,
        to,
        owner,
        mode,
    };
    Some(Value::Items(vec![Box::new(file)]))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for f in v.items::<RawFile>() {
        repo_path::check(cx, &f.src, true, Naming::Node);
        if let Some(to) = &f.to {
            check_dest(cx, to);
            if repo_path::is_glob(&f.src.v) && !to.v.ends_with('/') {
                cx.push(
                    Problem::error(
                        Code::InvalidFile,
                        to.span,
                        format!(
                            "`file \"{}\"` is a glob, so `to=` must be a directory",
                            f.src.v.escape_debug()
                        ),
                    )
                    .label("no trailing `/`")
                    .also(f.src.span, "glob pattern")
                    .help(format!(
                        "a glob copies every file it matches into a directory: write `to=\"{}/\"`",
                        to.v.trim_end_matches('/')
                    )),
                );
            }
        }
        if let Some(o) = &f.owner
            && !matches!(o.v.as_str(), "notebook" | "root")
        {
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
        if let Some(m) = &f.mode {
            check_mode(cx, m, f);
        }
        if let (Some(o), Some(to)) = (&f.owner, &f.to)
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
                .also(to.span, "destination")
                .help("the stacks keep HOME and CONDA_DIR writable by the notebook user's group: copy there with `owner=notebook` (the default), or copy root-owned files elsewhere, such as `/etc/jupyter/`"),
            );
        }
    }
}

/// A relative path inside the repository, written as COPY reads it literally (no glob): the
/// rules of [`super::repo_path`].
pub(super) fn check_src(cx: &mut Checker<'_>, src: &Sp<String>) {
    repo_path::check(cx, src, false, Naming::Node);
}

pub(super) fn check_dest(cx: &mut Checker<'_>, to: &Sp<String>) {
    if !cx.safe(to, "the destination", false) {
        return;
    }
    let mut rest = to.v.clone();
    for var in DEST_VARIABLES {
        rest = rest.replace(var, "v");
    }
    let starts_ok = to.v.starts_with('/') || DEST_VARIABLES.iter().any(|v| to.v.starts_with(v));
    let bad = !starts_ok
        || rest.split('/').any(|c| c == "..")
        || rest
            .chars()
            .any(|c| "\"$\\`'*?[]{}".contains(c) || c.is_control() || c.is_whitespace());
    if bad {
        cx.push(
            Problem::error(Code::InvalidFile, to.span, format!("`{}` is not a destination jcx can copy to", to.v.escape_debug()))
                .label("destination")
                .help("write an absolute path in the image, such as `/etc/jupyter/` (a trailing `/` puts the file inside that directory); it may start with `${HOME}`, `${CONDA_DIR}` or use `${NB_USER}`, and has no spaces, quotes or other `$`"),
        );
    }
}

fn check_mode(cx: &mut Checker<'_>, m: &Sp<String>, f: &RawFile) {
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
        return;
    }
    // COPY --chmod applies to directories too: a directory without `x` cannot be entered.
    let is_dir = cx.root.is_some_and(|root| on_disk(root, &f.src.v).1);
    let owner_x = m.v.as_bytes()[m.v.len() - 3] - b'0';
    if is_dir && owner_x & 1 == 0 {
        cx.push(
            Problem::error(Code::InvalidFile, m.span, format!("mode {} makes the directory `{}` impossible to enter", m.v, f.src.v))
                .label("no execute bit")
                .help("a mode applies to the directory and everything in it: give directories `x` (`0755`), or leave `mode` out"),
        );
    }
}

/// The files an app copies, in manifest order (inherited first).
pub fn model(s: &RawSettings, root: Option<&Path>) -> Vec<FileCopy> {
    s.items::<RawFile>(&FILE)
        .filter_map(|f| {
            let to = f.to.as_ref()?;
            Some(FileCopy {
                src: f.src.v.trim_end_matches('/').to_string(),
                to: to.v.clone(),
                root_owned: f.owner.as_ref().is_some_and(|o| o.v == "root"),
                mode: f.mode.as_ref().map(|m| m.v.clone()),
                directory: root.is_some_and(|r| on_disk(r, &f.src.v).1),
                glob: repo_path::is_glob(&f.src.v),
            })
        })
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for f in r.settings.items::<RawFile>(&FILE) {
        let to = f.to.as_ref().map_or("?", |t| t.v.as_str());
        let owner = f.owner.as_ref().map_or("notebook", |o| o.v.as_str());
        let mode = f
            .mode
            .as_ref()
            .map_or(String::new(), |m| format!(", mode {}", m.v));
        let o = cx.origin(f.span);
        cx.push("file", format!("{} -> {to} ({owner}{mode})", f.src.v), o);
    }
}

/// A destination in the image, spelled one way: the stacks' variables and the paths they
/// stand for compare equal (`/opt/conda/x` is `${CONDA_DIR}/x`).
fn canonical_dest(dest: &str) -> String {
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
    let src = f.src.v.trim_end_matches('/');
    let Some(root) = root else {
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

/// A `file` must not land where jcx itself writes (a Jupyter JSON file, a hook, a download)
/// or where another `file` already did: the later `COPY` would silently replace the earlier
/// one, and which one wins would depend on the layer order, not on the manifest.
pub fn check_destinations(cx: &mut Checker<'_>, r: &Resolved, app: &App) {
    let mut owners: Vec<(String, String)> = Vec::new();
    if let Some(j) = &app.jupyter {
        for (name, to, _) in crate::render::jupyter_files(j) {
            owners.push((canonical_dest(to), format!("the `jupyter` block's {name}")));
        }
    }
    for h in &app.hooks {
        owners.push((
            format!("/usr/local/bin/{}.d/{}", h.stage, h.name),
            format!("the hook `{}`", h.name),
        ));
    }
    for d in &app.downloads {
        if let (Some(to), "file") = (&d.to, d.kind) {
            owners.push((canonical_dest(to), format!("the download `{}`", d.name)));
        }
    }
    for f in r.settings.items::<RawFile>(&FILE) {
        let Some(to) = &f.to else { continue };
        let dests = file_dests(f, &to.v, cx.root);
        let clash = dests.iter().find_map(|d| {
            let d = canonical_dest(d);
            owners
                .iter()
                .find(|(o, _)| *o == d)
                .map(|(o, who)| (o.clone(), who.clone()))
        });
        if let Some((path, who)) = clash {
            cx.push(
                Problem::error(
                    Code::FileCollision,
                    to.span,
                    format!("`file \"{}\"` writes `{path}`, which {who} also writes", f.src.v.escape_debug()),
                )
                .label("same path in the image")
                .help("one of the two would silently replace the other: give this file another destination, or drop the other (for Jupyter settings, write them in `jupyter { … }` instead of copying a file)"),
            );
        }
        owners.extend(dests.into_iter().map(|d| {
            (
                canonical_dest(&d),
                format!("`file \"{}\"`", f.src.v.escape_debug()),
            )
        }));
    }
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
