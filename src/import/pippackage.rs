//! `pip install /tmp/x` of a directory the Dockerfile copied from the repository: the
//! directory, when it holds a Python project (`pyproject.toml` or `setup.py`), becomes
//! `pip package="DIR"` (with `extras=` for `/tmp/x[a,b]`), and its `COPY` is consumed.

use std::collections::BTreeMap;

use super::draft::Entry;
use super::map::Walker;

/// `Some(Ok(entry))` for a local path that is a package directory of the repository,
/// `Some(Err(why))` for a local path jcx cannot map, `None` for a requirement (not a path).
pub(super) fn local(
    w: &mut Walker<'_>,
    text: &str,
    mounts: &BTreeMap<String, String>,
) -> Option<Result<Entry, String>> {
    let (path, extras) = match text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((p, e)) => (p, Some(e)),
        None => (text, None),
    };
    let local = path.starts_with('/')
        || path.starts_with('.')
        || (path.contains('/') && !path.contains("://") && !path.contains(['@', ' ', ';']));
    if !local {
        return None;
    }
    let refuse = |why: &str| Some(Err(format!("`pip install {text}`: {why}")));
    if [".whl", ".tar.gz", ".zip", ".tgz"]
        .iter()
        .any(|x| path.ends_with(x))
    {
        return refuse(
            "a wheel or sdist file of the build; jcx installs package directories of the repository (`pip package=`) or packages from an index",
        );
    }
    let extras = match extras {
        Some(e) => {
            let list: Vec<&str> = e.split(',').map(str::trim).collect();
            if !list.iter().all(|x| is_name(x)) {
                return refuse("extras jcx cannot read");
            }
            Some(list.join(","))
        }
        None => None,
    };
    let image = image_path(w, path);
    let Some(repo) = repository_dir(w, &image, mounts) else {
        return refuse(&format!(
            "jcx import cannot tell which directory of the repository `{path}` is"
        ));
    };
    let dir = w.src.root.join(&repo);
    if !dir.is_dir() {
        return refuse(&format!("`{repo}` is not a directory of the repository"));
    }
    if !crate::nodes::pip_package::MARKERS
        .iter()
        .any(|m| dir.join(m).is_file())
    {
        return refuse(&format!("`{repo}` holds no `pyproject.toml` or `setup.py`"));
    }
    // The copy's `file` names a directory with or without its trailing `/`.
    w.consumed.insert(format!("{repo}/"));
    w.consumed.insert(repo.clone());
    Some(Ok(Entry::PipPackage { dir: repo, extras }))
}

/// An extra's name: letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// The absolute path in the image, without `.` components or a trailing `/`.
fn image_path(w: &Walker<'_>, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!(
            "{}/{path}",
            w.cwd.clone().unwrap_or_else(|| "/home/${NB_USER}".into())
        )
    };
    let parts: Vec<&str> = full
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let lead = if full.starts_with('/') { "/" } else { "" };
    canonical(&format!("{lead}{}", parts.join("/")))
}

/// One spelling of a path in the image: `${HOME}`, `/home/jovyan` and `/home/${NB_USER}` are
/// one directory, and so are `/opt/conda` and `${CONDA_DIR}`.
fn canonical(p: &str) -> String {
    crate::nodes::files::canonical_dest(p.trim_end_matches('/'))
}

/// The repository directory an earlier `COPY` (or this `RUN`'s bind mount) put at `image`: the
/// copy's source itself, or a directory under it. A `COPY DIR /tmp/x/` is recorded as
/// `/tmp/x/DIR` (the name of a copied file), while a directory's contents land in `/tmp/x`:
/// both are read.
fn repository_dir(
    w: &Walker<'_>,
    image: &str,
    mounts: &BTreeMap<String, String>,
) -> Option<String> {
    let sources = mounts
        .iter()
        .map(|(k, v)| (canonical(k), v.clone()))
        .chain(w.copies.iter().map(|(k, (v, _))| (canonical(k), v.clone())));
    let mut under = None;
    for (at, repo) in sources {
        let name = repo.rsplit('/').next().unwrap_or(&repo);
        if at == image || (at == format!("{image}/{name}") && w.src.root.join(&repo).is_dir()) {
            return Some(repo);
        }
        if let Some(sub) = image.strip_prefix(&format!("{at}/")) {
            under = Some(match repo.as_str() {
                "" | "." => sub.to_string(),
                r => format!("{r}/{sub}"),
            });
        }
    }
    under
}
