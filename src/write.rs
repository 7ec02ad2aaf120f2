//! Writing and checking generated files: atomic writes (temporary file + rename in the same
//! directory) of changed files only, drift detection (missing, changed, stale) and removal of
//! stale files that carry jcx's header. Refuses any path that would leave the output directory.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::render::{GeneratedFile, HEADER_MARKER};

/// How many leading lines may hold the header (after `# syntax=` in a Dockerfile, for example).
const HEADER_LINES: usize = 3;

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
    contents.lines().take(HEADER_LINES).any(|l| l.starts_with('#') && l.contains(HEADER_MARKER))
}

/// `out/rel`, after checking that `rel` is a plain relative path and that no existing component
/// between `out` and the file is a symlink (which could lead outside `out`).
fn safe_join(out: &Path, rel: &str) -> Result<PathBuf> {
    let rel_path = Path::new(rel);
    if rel_path.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(Error::UnsafePath {
            message: format!("refusing to write `{rel}`: it is not a plain path inside the output directory"),
            help: "this is a bug in jcx; names are validated before they become paths".into(),
        });
    }
    let mut p = out.to_path_buf();
    for c in rel_path.components() {
        p.push(c);
        if let Ok(meta) = fs::symlink_metadata(&p)
            && meta.file_type().is_symlink()
        {
            return Err(Error::UnsafePath {
                message: format!("refusing to follow the symlink `{}` inside the output directory", p.display()),
                help: "jcx only writes real files and directories under --out; replace the symlink with a directory (or remove it) and run again".into(),
            });
        }
    }
    Ok(p)
}

fn read_existing(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Err(Error::io(
            format!("cannot write `{}`: a directory is in the way", path.display()),
            e,
        )),
        Err(e) => Err(Error::io(format!("cannot read `{}`", path.display()), e)),
    }
}

/// Files under the generated paths of `out` that carry jcx's header: `src/*/` and
/// `.github/workflows/`. Only these can ever be reported stale or removed.
pub fn existing_generated(out: &Path) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let roots = [(out.join("src"), 2usize), (out.join(".github").join("workflows"), 1usize)];
    for (root, depth) in roots {
        if !root.is_dir() || fs::symlink_metadata(&root).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        for entry in WalkDir::new(&root).min_depth(depth).max_depth(depth).follow_links(false) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let msg = format!("cannot scan `{}` for stale files", root.display());
                    return Err(Error::io(msg, e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk error"))));
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(head) = read_head(entry.path()) else { continue };
            if has_header(&head) {
                let rel = entry.path().strip_prefix(out).unwrap_or(entry.path());
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                found.insert(rel);
            }
        }
    }
    Ok(found)
}

fn read_head(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 1024];
    let mut f = fs::File::open(path)?;
    let n = f.read(&mut buf)?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Compares what the manifest produces with what is on disk. Writes nothing.
pub fn check(out: &Path, files: &[GeneratedFile]) -> Result<Vec<Drift>> {
    let mut drift = Vec::new();
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for f in files {
        let path = safe_join(out, &f.path)?;
        match read_existing(&path)? {
            None => drift.push(Drift::Missing { path: f.path.clone() }),
            Some(old) if old != f.contents => drift.push(Drift::Changed {
                path: f.path.clone(),
                diff: unified_diff(&f.path, &old, &f.contents),
            }),
            Some(_) => {}
        }
    }
    for stale in existing_generated(out)? {
        if !expected.contains(stale.as_str()) {
            drift.push(Drift::Stale { path: stale });
        }
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

/// Writes changed files atomically, leaves identical ones untouched (mtime kept), and removes
/// stale files that carry jcx's header.
pub fn write(out: &Path, files: &[GeneratedFile], force: bool) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    // Check every path before touching anything, so a refused path writes nothing at all.
    let targets: Vec<PathBuf> = files.iter().map(|f| safe_join(out, &f.path)).collect::<Result<_>>()?;
    let mut to_write = Vec::new();
    for (f, path) in files.iter().zip(&targets) {
        match read_existing(path)? {
            Some(old) if old == f.contents => report.unchanged.push(f.path.clone()),
            existing => {
                if let Some(old) = existing
                    && !has_header(&old)
                    && !force
                {
                    return Err(Error::UnsafePath {
                        message: format!("refusing to overwrite `{}`: it was not generated by jcx", f.path),
                        help: "move your own file out of the way, or pass `--force` to replace it (jcx only replaces files that carry its header)".into(),
                    });
                }
                to_write.push((f, path));
            }
        }
    }
    for (f, path) in to_write {
        write_atomic(path, f.contents.as_bytes())?;
        report.written.push(f.path.clone());
    }
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for stale in existing_generated(out)? {
        if expected.contains(stale.as_str()) {
            continue;
        }
        let path = safe_join(out, &stale)?;
        fs::remove_file(&path).map_err(|e| Error::io(format!("cannot remove stale file `{}`", path.display()), e))?;
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

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create directory `{}`", dir.display()), e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".jcx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("cannot create a temporary file in `{}`", dir.display()), e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path)
        .map_err(|e| Error::io(format!("cannot replace `{}`", path.display()), e.error))?;
    Ok(())
}
