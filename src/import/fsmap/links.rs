//! `ln -s TARGET LINK` as `symlink "LINK" to="TARGET"`. jcx's `symlink` takes an absolute
//! target; a relative one (`ln -s libx.so.6 /usr/lib/libx.so.5`) is resolved against the
//! link's directory, where the kernel resolves it, with a warning (docs/import.md).

use super::super::draft::{Entry, Kind};
use super::super::fscmd::item;
use super::super::map::Walker;
use super::{Fold, Fs, copied};
use crate::nodes::files::image_path_ok;
use crate::nodes::fs::usable_path;

/// The absolute target of a link at `link` to `target`: `target` itself when absolute, else
/// joined to the link's directory. `None` for a target with `..` (it goes up from where the
/// link really is: through a linked directory, such as a merged `/usr`, not the path written),
/// with variables, or empty.
pub fn absolute_target(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_string());
    }
    let parts: Vec<&str> = target
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") || target.contains('$') {
        return None;
    }
    let (dir, _) = link.rsplit_once('/')?;
    Some(format!("{dir}/{}", parts.join("/")))
}

pub(super) fn map(w: &mut Walker<'_>, f: &Fold<'_>, target: &str, link: &str) -> Option<Fs> {
    // A link at a directory an earlier instruction made: `ln` would put it inside.
    if !usable_path(link) || copied(w, f.mounts, link) || w.is_made_dir(link) {
        return None;
    }
    let to = absolute_target(link, target).filter(|t| image_path_ok(t))?;
    if to != target {
        w.warn(
            Kind::Changed,
            f.origin.clone(),
            format!("the relative link target `{target}` is written `{to}`: jcx's `symlink` takes an absolute target; the link leads to the same file, but reads (`readlink`) as the absolute path"),
        );
    }
    let entry = Entry::Symlink {
        link: link.to_string(),
        target: to,
    };
    Some(Fs::Items(vec![item(entry, f.origin)], false))
}

#[cfg(test)]
mod tests {
    use super::absolute_target;

    #[test]
    fn relative_targets_join_the_links_directory() {
        let t = |l, t| absolute_target(l, t);
        assert_eq!(
            t("/usr/lib/a.so.5", "a.so.6").as_deref(),
            Some("/usr/lib/a.so.6")
        );
        assert_eq!(t("/opt/x", "./bin//x").as_deref(), Some("/opt/bin/x"));
        assert_eq!(t("${HOME}/w", "data").as_deref(), Some("${HOME}/data"));
        assert_eq!(t("/opt/x", "/srv/y").as_deref(), Some("/srv/y"));
        assert_eq!(t("/usr/bin/x", "../lib/x"), None);
        assert_eq!(t("/opt/x", "."), None);
    }
}
