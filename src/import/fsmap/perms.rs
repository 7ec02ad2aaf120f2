//! `chown [-R] OWNER PATH…` and `chmod [-R] MODE PATH…` of paths this `RUN` did not make (and
//! that no earlier `COPY` or write of a mapped file takes the mode of): `permissions`. A `chown`
//! followed by a `chmod` of the same paths becomes one node. What `permissions` refuses (a
//! recursive change of a protected directory, `root` in HOME or CONDA_DIR, a mode it does not
//! take) stays in a block, with the reason.

use super::super::dockerfile::Instr;
use super::super::draft::{Entry, Origin};
use super::super::fscmd::{item, octal, refresh};
use super::super::map::Walker;
use super::super::run::short;
use super::{Fs, mentions};
use crate::nodes::files::canonical_dest;
use crate::nodes::fs::{plain_path, protected_path};
use crate::nodes::perms::{locks_directories, mode_ok};

/// One `chown` (`root: Some(…)`) or `chmod` (`mode: Some(…)`) command.
pub struct Change<'a> {
    /// As written.
    pub text: &'a str,
    pub paths: &'a [String],
    pub recursive: bool,
    pub root: Option<bool>,
    pub mode: Option<&'a str>,
}

/// The `permissions` item of a command, folded into the `chown` just before it when that
/// changed the same paths the same way; `None` when jcx has no setting for it; `Kept` when
/// `permissions` refuses what it does.
pub fn map(
    w: &Walker<'_>,
    i: &Instr,
    out: &mut [Option<Fs>],
    k: usize,
    c: &Change<'_>,
    origin: &Origin,
) -> Option<Fs> {
    if let Some(why) = refused(w, i, c) {
        return Some(Fs::Kept(why));
    }
    let mode = match c.mode {
        Some(spec) => {
            let m = octal(spec).unwrap_or_else(|| spec.to_string());
            if !mode_ok(&m) {
                return None;
            }
            if c.recursive && locks_directories(&m) {
                return Some(Fs::Kept(format!(
                    "`{}` takes the owner's `x` away from every directory of the tree, which `permissions` refuses",
                    short(c.text)
                )));
            }
            Some(m)
        }
        None => None,
    };
    if c.paths.iter().any(|p| jcx_writes_later(p)) {
        return None;
    }
    if let Some(m) = &mode
        && let Some(Some(Fs::Items(items, _))) = k.checked_sub(1).map(|j| &mut out[j])
        && let [it] = items.as_mut_slice()
        && let Entry::Permissions {
            paths,
            root: Some(_),
            mode: slot @ None,
            recursive,
        } = &mut it.entry
        && *recursive == c.recursive
        && same_paths(paths, c.paths)
    {
        *slot = Some(m.clone());
        refresh(it);
        return Some(Fs::Folded);
    }
    let entry = Entry::Permissions {
        paths: c.paths.to_vec(),
        root: c.root,
        mode,
        recursive: c.recursive,
    };
    Some(Fs::Items(vec![item(entry, origin)], false))
}

/// Why `permissions` (or the order of jcx's steps) refuses the change: a path it does not take,
/// a recursive change of a protected directory, `root` in HOME or CONDA_DIR, or a recursive
/// change of a tree that a later `COPY` or `ADD` writes into (the file-system step would change
/// those files too, where the Dockerfile did not).
fn refused(w: &Walker<'_>, i: &Instr, c: &Change<'_>) -> Option<String> {
    let cmd = short(c.text);
    for p in c.paths {
        if !plain_path(p) {
            return Some(format!(
                "`{cmd}`: `permissions` takes plain paths only (no `.` or empty component)"
            ));
        }
        if c.recursive && protected_path(p) {
            return Some(format!(
                "`{cmd}` changes the whole of `{p}`, a directory of the system or of the stacks, which `permissions` refuses"
            ));
        }
        if c.root == Some(true)
            && let Some(tree) = crate::model::stacks_tree(p)
        {
            return Some(format!(
                "`{cmd}`: `{tree}` is the notebook user's, and jcx keeps it so (`permissions` refuses `owner=root` there)"
            ));
        }
        if c.recursive && copied_into_later(w, i, p) {
            return Some(format!(
                "`{cmd}`: a later `COPY` writes into `{p}`, and jcx's file-system step (after the copies) would change those files too"
            ));
        }
    }
    None
}

/// Whether a `COPY`/`ADD` after `i` names `p` or a path under it.
fn copied_into_later(w: &Walker<'_>, i: &Instr, p: &str) -> bool {
    w.df.lines.get(i.last..).is_some_and(|rest| {
        rest.iter().any(|l| {
            let t = l.trim_start().to_ascii_uppercase();
            (t.starts_with("COPY ") || t.starts_with("ADD ")) && mentions(l, p)
        })
    })
}

/// What jcx writes after its file-system step, where import may map what the Dockerfile put
/// there: the start-up hooks (their mode is `hook`'s) and the Jupyter files of `jupyter`.
fn jcx_writes_later(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    p.starts_with("/usr/local/bin/before-notebook.d/")
        || p.starts_with("/usr/local/bin/start-notebook.d/")
        || matches!(name, "zz-jcx.json" | "overrides.json" | "page_config.json")
}

fn same_paths(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| canonical_dest(x) == canonical_dest(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_for_a_chown_and_its_chmod() {
        assert!(same_paths(
            &["/opt/conda/x".into()],
            &["${CONDA_DIR}/x".into()]
        ));
        assert!(!same_paths(
            &["/opt/a".into()],
            &["/opt/a".into(), "/opt/b".into()]
        ));
        assert!(jcx_writes_later("/usr/local/bin/before-notebook.d/10-a.sh"));
        assert!(jcx_writes_later(
            "${CONDA_DIR}/share/jupyter/lab/settings/overrides.json"
        ));
        assert!(!jcx_writes_later("/etc/jupyter/jupyter_server_config.py"));
    }
}
