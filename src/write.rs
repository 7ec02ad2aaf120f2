//! Writing and checking generated files: atomic writes (temporary file + rename in the same
//! directory) of changed files only, drift detection (missing, changed, stale) and removal of
//! stale files that carry jcx's header. Refuses any path that would leave the output directory,
//! including through a symlink. The guarantees and their tests: docs/reliability.md.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::render::{GeneratedFile, HEADER_MARKER};

/// How many leading lines may hold the header (after `# syntax=` in a Dockerfile, for example).
const HEADER_LINES: usize = 3;
/// Temporary files are named `.jcx-XXXXXX.tmp` next to their target. A killed `compile` can leave
/// one behind: the next `compile` removes it, `check` ignores it.
const TMP_PREFIX: &str = ".jcx-";
const TMP_SUFFIX: &str = ".tmp";

/// One way the files on disk differ from what the manifest produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Drift {
    Missing { path: String },
    Changed { path: String, diff: String },
    Stale { path: String },
}

impl Drift {
    pub fn path(&self) -> &str {
        match self {
            Drift::Missing { path } | Drift::Changed { path, .. } | Drift::Stale { path } => path,
        }
    }
}

/// What `compile` did, file by file.
#[derive(Debug, Default, Serialize)]
pub struct WriteReport {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

pub fn has_header(contents: &str) -> bool {
    contents
        .lines()
        .take(HEADER_LINES)
        .any(|l| l.starts_with('#') && l.contains(HEADER_MARKER))
}

/// Whether a generated file's header says it comes from `manifest` (as headers name it). A file
/// another manifest generated into the same directory is never stale for this one.
pub fn is_from_manifest(contents: &str, manifest: &str) -> bool {
    let from = format!("{HEADER_MARKER}{manifest}");
    contents.lines().take(HEADER_LINES).any(|l| {
        l.starts_with('#')
            && l.find(&from)
                .is_some_and(|i| matches!(l[i + from.len()..].chars().next(), Some(',' | '.')))
    })
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)
}

/// An I/O error with the path and, for the failures users hit in practice, what to do about it.
fn io_error(what: String, e: std::io::Error) -> Error {
    let hint = match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => Some(
            "the output directory or file is not writable; make it writable (or compile elsewhere with --out) and run again",
        ),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(
            "the disk is full; free some space and run `jcx compile` again (files already replaced are complete, the others are untouched)",
        ),
        _ => None,
    };
    match hint {
        Some(h) => Error::io(format!("{what}: {h}"), e),
        None => Error::io(what, e),
    }
}

/// Resolves generated paths under `out`, refusing anything that is not a plain relative path or
/// that goes through a symlink (which could lead outside `out`). Directories already checked
/// are remembered, so a thousand apps cost a thousand `lstat`s, not four per file.
struct PathGuard<'a> {
    out: &'a Path,
    checked_dirs: HashSet<PathBuf>,
}

impl<'a> PathGuard<'a> {
    fn new(out: &'a Path) -> Self {
        PathGuard {
            out,
            checked_dirs: HashSet::new(),
        }
    }

    fn join(&mut self, rel: &str) -> Result<PathBuf> {
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || rel_path
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(Error::UnsafePath {
                message: format!(
                    "refusing to write `{rel}`: it is not a plain path inside the output directory"
                ),
                help: "this is a bug in jcx; names are validated before they become paths".into(),
            });
        }
        let mut p = self.out.to_path_buf();
        let n = rel_path.components().count();
        for (i, c) in rel_path.components().enumerate() {
            p.push(c);
            let is_dir = i + 1 < n;
            if is_dir && self.checked_dirs.contains(&p) {
                continue;
            }
            match fs::symlink_metadata(&p) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = fs::read_link(&p)
                        .map(|t| format!(" (it points to `{}`)", t.display()))
                        .unwrap_or_default();
                    return Err(Error::UnsafePath {
                        message: format!("refusing to follow the symlink `{}` inside the output directory{target}", p.display()),
                        help: "jcx only writes real files and directories under --out, so it never writes outside it; replace the symlink with a directory (or remove it) and run again".into(),
                    });
                }
                Ok(_) if is_dir => {
                    self.checked_dirs.insert(p.clone());
                }
                // Not there yet: nothing below it can be a symlink either.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if is_dir {
                        p.extend(rel_path.components().skip(i + 1));
                    }
                    break;
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// The file's bytes, or `None` when it does not exist.
fn read_existing(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == ErrorKind::IsADirectory || path.is_dir() => Err(Error::io(
            format!(
                "cannot write `{}`: a directory is in the way",
                path.display()
            ),
            e,
        )),
        Err(e) => Err(io_error(format!("cannot read `{}`", path.display()), e)),
    }
}

/// Whether the file on disk says what jcx would write, allowing CRLF line endings: a checkout
/// with Git's `core.autocrlf` is in sync (Git stores LF), and rewriting it would only churn it.
fn in_sync(disk: &[u8], expected: &str) -> bool {
    disk == expected.as_bytes() || (disk.contains(&b'\r') && strip_cr(disk) == expected.as_bytes())
}

/// `\r\n` -> `\n`; a lone `\r` stays.
fn strip_cr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// The roots that hold generated files, with the depth of the files below them.
fn generated_roots(out: &Path) -> Vec<(PathBuf, usize)> {
    let mut roots = Vec::new();
    // A root reached through a symlink is never scanned: it may lie outside `out`.
    let real_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_dir());
    let src = out.join("src");
    if real_dir(&src) {
        roots.push((src, 2));
    }
    let github = out.join(".github");
    let workflows = github.join("workflows");
    if real_dir(&github) && real_dir(&workflows) {
        roots.push((workflows, 1));
    }
    roots
}

/// Regular files in the generated paths (`src/*/*`, `.github/workflows/*`), relative to `out`
/// and `/`-separated, with their full paths. Never follows a symlink.
fn scan_generated_paths(out: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for (root, depth) in generated_roots(out) {
        for entry in WalkDir::new(&root)
            .min_depth(depth)
            .max_depth(depth)
            .follow_links(false)
        {
            let entry = entry.map_err(|e| {
                let msg = format!("cannot scan `{}` for stale files", root.display());
                io_error(
                    msg,
                    e.into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk error")),
                )
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(out).unwrap_or(entry.path());
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            found.push((rel, entry.into_path()));
        }
    }
    Ok(found)
}

/// Files under the generated paths of `out` that carry jcx's header: `src/*/` and
/// `.github/workflows/`. Only these can ever be reported stale or removed. Temporary files of
/// a killed `compile` are not included.
pub fn existing_generated(out: &Path) -> Result<BTreeSet<String>> {
    stale_generated(out, &BTreeSet::new(), None)
}

/// Generated files on disk (with jcx's header) that are not in `expected`. Expected files are
/// not opened again: they are being compared anyway, and cannot be stale.
fn stale_generated(
    out: &Path,
    expected: &BTreeSet<&str>,
    manifest: Option<&str>,
) -> Result<BTreeSet<String>> {
    Ok(stale_among(&scan_generated_paths(out)?, expected, manifest))
}

/// [`stale_generated`] over files already scanned.
fn stale_among(
    scanned: &[(String, PathBuf)],
    expected: &BTreeSet<&str>,
    manifest: Option<&str>,
) -> BTreeSet<String> {
    let mut stale = BTreeSet::new();
    for (rel, path) in scanned {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if expected.contains(rel.as_str()) || is_temp_name(name) {
            continue;
        }
        let Ok(head) = read_head(path) else { continue };
        let ours = match manifest {
            Some(m) => is_from_manifest(&head, m),
            None => has_header(&head),
        };
        if ours {
            stale.insert(rel.clone());
        }
    }
    stale
}

fn read_head(path: &Path) -> std::io::Result<String> {
    let mut buf = vec![0u8; 1024];
    let mut f = fs::File::open(path)?;
    let n = f.read(&mut buf)?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Compares what the manifest produces with what is on disk. Writes nothing.
/// Stale files are those whose header names `manifest` (as the headers name it).
pub fn check(out: &Path, files: &[GeneratedFile], manifest: &str) -> Result<Vec<Drift>> {
    let mut drift = Vec::new();
    let mut guard = PathGuard::new(out);
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for f in files {
        let path = guard.join(&f.path)?;
        match read_existing(&path)? {
            None => drift.push(Drift::Missing {
                path: f.path.clone(),
            }),
            Some(old) if !in_sync(&old, &f.contents) => {
                // Compare lines, not line endings: a CRLF checkout shows only its real changes.
                let old = String::from_utf8_lossy(&strip_cr(&old)).into_owned();
                drift.push(Drift::Changed {
                    path: f.path.clone(),
                    diff: unified_diff(&f.path, &old, &f.contents),
                })
            }
            Some(_) => {}
        }
    }
    for stale in stale_generated(out, &expected, Some(manifest))? {
        drift.push(Drift::Stale { path: stale });
    }
    Ok(drift)
}

pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Holds an exclusive lock on the output directory while `compile` changes it, so two
/// compiles of the same directory run one after the other. Released on drop, and by the
/// kernel when the process dies. Where directories cannot be locked, compiles are unlocked
/// (each file is still replaced atomically).
fn lock_out_dir(out: &Path) -> Option<fs::File> {
    let dir = fs::File::open(out).ok()?;
    dir.lock().ok()?;
    Some(dir)
}

/// Removes the temporary files a killed `compile` left behind (only jcx's own names, only in
/// the generated paths). Runs under the output directory lock, so never races another compile.
fn remove_leftover_temps(scanned: &[(String, PathBuf)]) -> Result<()> {
    for (rel, path) in scanned {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if !is_temp_name(name) {
            continue;
        }
        match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                let what = format!(
                    "cannot remove the leftover temporary file `{}`",
                    path.display()
                );
                return Err(io_error(what, e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes changed files atomically, leaves identical ones untouched (mtime kept), and removes
/// stale files that carry jcx's header.
pub fn write(
    out: &Path,
    files: &[GeneratedFile],
    manifest: &str,
    force: bool,
) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    // Check every path before touching anything, so a refused path writes nothing at all.
    let mut guard = PathGuard::new(out);
    let targets: Vec<PathBuf> = files
        .iter()
        .map(|f| guard.join(&f.path))
        .collect::<Result<_>>()?;
    if !files.is_empty() {
        fs::create_dir_all(out).map_err(|e| {
            io_error(
                format!("cannot create the output directory `{}`", out.display()),
                e,
            )
        })?;
    }
    let _lock = lock_out_dir(out);
    // One scan serves both the clean-up and the stale files: under the lock, nothing else adds
    // generated files, and every file this compile writes is expected (so never stale).
    let scanned = scan_generated_paths(out)?;
    remove_leftover_temps(&scanned)?;

    let mut to_write = Vec::new();
    for (f, path) in files.iter().zip(&targets) {
        match read_existing(path)? {
            Some(old) if in_sync(&old, &f.contents) => report.unchanged.push(f.path.clone()),
            existing => {
                if let Some(old) = &existing {
                    // An empty file holds nothing of anyone's; any other file must carry the header.
                    if !old.is_empty()
                        && !has_header(&String::from_utf8_lossy(&old[..old.len().min(1024)]))
                        && !force
                    {
                        return Err(Error::UnsafePath {
                            message: format!("refusing to overwrite `{}`: it was not generated by jcx", f.path),
                            help: "move your own file out of the way, or pass `--force` to replace it (jcx only replaces files that carry its header)".into(),
                        });
                    }
                    if fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
                        return Err(Error::UnsafePath {
                            message: format!("refusing to replace `{}`: it is read-only", path.display()),
                            help: "make it writable (`chmod u+w`) or delete it, and run again; nothing was written".into(),
                        });
                    }
                }
                to_write.push((f, path));
            }
        }
    }
    let mut made_dirs: HashSet<&Path> = HashSet::new();
    for (f, path) in to_write {
        let dir = path.parent().unwrap_or(Path::new("."));
        if made_dirs.insert(dir) {
            fs::create_dir_all(dir)
                .map_err(|e| io_error(format!("cannot create directory `{}`", dir.display()), e))?;
        }
        write_atomic(path, f.contents.as_bytes())?;
        report.written.push(f.path.clone());
    }
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for stale in stale_among(&scanned, &expected, Some(manifest)) {
        let path = guard.join(&stale)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            // Someone else removed it first: the outcome is the one we wanted.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io_error(
                    format!("cannot remove stale file `{}`", path.display()),
                    e,
                ));
            }
        }
        // Remove the app directory too when nothing else is left in it.
        if let Some(dir) = path.parent()
            && dir.parent().is_some_and(|p| p.ends_with("src"))
        {
            let _ = fs::remove_dir(dir);
        }
        report.removed.push(stale);
    }
    Ok(report)
}

/// Writes `bytes` to a temporary file next to `path` (its directory exists) and renames it over
/// `path`: readers and a killed process see the old file or the new one, never a mix. No fsync:
/// the files are regenerated from the manifest by the next `compile`, and syncing each one cost
/// 0.5 ms a file (2 s for 1,000 apps); see docs/reliability.md.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| {
            io_error(
                format!("cannot create a temporary file in `{}`", dir.display()),
                e,
            )
        })?;
    // On failure `tmp` is dropped, which deletes the temporary file: nothing partial is left.
    tmp.write_all(bytes)
        .and_then(|()| tmp.flush())
        .map_err(|e| io_error(format!("cannot write `{}`", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path)
        .map_err(|e| io_error(format!("cannot replace `{}`", path.display()), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_checkout_is_in_sync() {
        assert!(in_sync(b"a\r\nb\r\n", "a\nb\n"));
        assert!(in_sync(b"a\nb\r\n", "a\nb\n"));
        assert!(!in_sync(b"a\r\nc\r\n", "a\nb\n"));
        assert!(!in_sync(b"a\rb\n", "a\nb\n"));
        assert!(!in_sync(b"a\nb\n\r\n", "a\nb\n"));
    }

    #[test]
    fn temp_names() {
        assert!(is_temp_name(".jcx-AbC123.tmp"));
        assert!(!is_temp_name("Dockerfile"));
        assert!(!is_temp_name(".jcx-notes"));
    }

    #[test]
    fn refuses_paths_that_are_not_plain() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = PathGuard::new(dir.path());
        for bad in ["", "../x", "/etc/passwd", "src/../../x", "./src/a"] {
            assert!(g.join(bad).is_err(), "{bad}");
        }
        assert!(g.join("src/app/Dockerfile").is_ok());
    }
}
