//! The shape of the manifest: which app `extends` which, and what goes to `defaults`.
//!
//! - An app whose settings include everything of another app (every list item, every single
//!   setting, its `dockerfile` blocks as a prefix of its own) extends the largest such app and
//!   keeps only the difference (a `pip` requirement or an `env` variable with the name of an
//!   inherited one replaces it, as `extends` does).
//! - Build settings (`base`, `branches`, `runs-on`, `platforms`, `free-disk-space`,
//!   `timeout-minutes`) shared by every app go to `defaults`; so does content shared by every
//!   app that extends nothing, when there are at least two of them.
//!
//! Each written item remembers which items of which drafts it stands for, so that an item jcx
//! refuses can be demoted in every app it came from.

use super::draft::{Draft, Entry, Item};

/// An item as written, and the `(app, item)` indexes of the drafts it stands for.
#[derive(Debug, Clone)]
pub struct Shared {
    pub item: Item,
    pub refs: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct ShapedApp {
    pub name: String,
    pub extends: Option<String>,
    pub items: Vec<Shared>,
}

#[derive(Debug, Clone, Default)]
pub struct Shaped {
    pub defaults: Vec<Shared>,
    pub apps: Vec<ShapedApp>,
}

fn content(d: &Draft) -> Vec<&Entry> {
    d.entries()
        .filter(|e| !e.app_only() && !matches!(e, Entry::Comment(_)))
        .collect()
}

fn blocks(d: &Draft) -> Vec<&Entry> {
    d.entries()
        .filter(|e| matches!(e, Entry::Dockerfile { .. }))
        .collect()
}

/// Whether `child` has everything of `parent`, as `extends` would give it.
fn covers(parent: &Draft, child: &Draft) -> bool {
    let pb = blocks(parent);
    let cb = blocks(child);
    if pb.len() > cb.len() || pb.iter().zip(&cb).any(|(a, b)| a != b) {
        return false;
    }
    content(parent).iter().all(|e| {
        matches!(e, Entry::Dockerfile { .. })
            || child.has(e)
            || (e.single() || named(e)) && child.entries().any(|c| c.key() == e.key())
    })
}

fn named(e: &Entry) -> bool {
    matches!(
        e,
        Entry::Pip(_)
            | Entry::PipPackage { .. }
            | Entry::Env(..)
            | Entry::Label(..)
            | Entry::BuildArg(..)
            | Entry::Download { .. }
            | Entry::Hook { .. }
    ) || matches!(e, Entry::Small(x) if x.name().is_some())
}

/// The app each app extends (an index), if any.
pub fn parents(drafts: &[Draft]) -> Vec<Option<usize>> {
    let size = |d: &Draft| content(d).len();
    let lists = |d: &Draft| {
        content(d)
            .iter()
            .filter(|e| !e.single() && !e.build_setting())
            .count()
    };
    (0..drafts.len())
        .map(|b| {
            (0..drafts.len())
                .filter(|&a| a != b)
                .filter(|&a| {
                    let (sa, sb) = (size(&drafts[a]), size(&drafts[b]));
                    (sa < sb || (sa == sb && a < b)) && lists(&drafts[a]) > 0
                })
                .filter(|&a| covers(&drafts[a], &drafts[b]))
                .max_by_key(|&a| (size(&drafts[a]), std::cmp::Reverse(a)))
        })
        .collect()
}

/// Whether `e` is in every draft of `among`.
fn in_all(e: &Entry, drafts: &[Draft], among: &[usize]) -> bool {
    among.iter().all(|&a| drafts[a].has(e))
}

pub fn shape(drafts: &[Draft]) -> Shaped {
    let parents = parents(drafts);
    let all: Vec<usize> = (0..drafts.len()).collect();
    let roots: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&a| parents[a].is_none())
        .collect();
    let mut defaults: Vec<Shared> = Vec::new();
    let mut taken: Vec<Vec<bool>> = drafts.iter().map(|d| vec![false; d.items.len()]).collect();
    if drafts.len() >= 2 {
        // Build settings every app shares, then content every root shares.
        let sources = [(0, true), (roots[0], false)];
        for (source, build) in sources {
            if !build && roots.len() < 2 {
                continue;
            }
            let holders = if build { &all } else { &roots };
            for item in &drafts[source].items {
                let e = &item.entry;
                let wanted = if build {
                    e.build_setting()
                } else {
                    !e.app_only()
                        && !e.build_setting()
                        && !matches!(e, Entry::Comment(_) | Entry::Dockerfile { .. })
                };
                if !wanted
                    || !in_all(e, drafts, holders)
                    || defaults.iter().any(|s| &s.item.entry == e)
                {
                    continue;
                }
                let mut refs = Vec::new();
                for a in 0..drafts.len() {
                    // Children inherit content through their root: their copy is not written.
                    if let Some(m) = drafts[a].items.iter().position(|i| &i.entry == e)
                        && (build || holders.contains(&a) || parents[a].is_some())
                    {
                        taken[a][m] = true;
                        refs.push((a, m));
                    }
                }
                defaults.push(Shared {
                    item: item.clone(),
                    refs,
                });
            }
        }
    }
    // Parents before their children, otherwise in the order found.
    let mut order: Vec<usize> = Vec::new();
    fn visit(a: usize, parents: &[Option<usize>], order: &mut Vec<usize>) {
        if order.contains(&a) {
            return;
        }
        if let Some(p) = parents[a] {
            visit(p, parents, order);
        }
        order.push(a);
    }
    for a in 0..drafts.len() {
        visit(a, &parents, &mut order);
    }
    let apps = order
        .into_iter()
        .map(|b| (b, &drafts[b]))
        .map(|(b, d)| {
            let parent = parents[b].map(|a| &drafts[a]);
            let items = d
                .items
                .iter()
                .enumerate()
                .filter(|(m, _)| !taken[b][*m])
                .filter(|(_, i)| match parent {
                    Some(p) => {
                        i.entry.app_only()
                            || matches!(i.entry, Entry::Comment(_))
                            || !inherited(&i.entry, p, d)
                    }
                    None => true,
                })
                .map(|(m, i)| Shared {
                    item: i.clone(),
                    refs: vec![(b, m)],
                })
                .collect();
            ShapedApp {
                name: d.name.clone(),
                extends: parents[b].map(|a| drafts[a].name.clone()),
                items,
            }
        })
        .collect();
    Shaped { defaults, apps }
}

/// Whether the child gets `e` from its parent unchanged (a block: among the parent's, which
/// come first).
fn inherited(e: &Entry, parent: &Draft, child: &Draft) -> bool {
    if let Entry::Dockerfile { .. } = e {
        let pos = blocks(child).iter().position(|b| *b == e);
        return pos.is_some_and(|p| p < blocks(parent).len());
    }
    parent.has(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::draft::Pip;

    fn pip(n: &str) -> Entry {
        Entry::Pip(Pip {
            name: n.into(),
            text: n.into(),
            pin: None,
        })
    }

    fn draft(name: &str, entries: Vec<Entry>) -> Draft {
        Draft {
            name: name.into(),
            items: entries.into_iter().map(|e| Item::new(e, None)).collect(),
        }
    }

    #[test]
    fn chains_and_defaults() {
        let base = Entry::Base("quay.io/jupyter/scipy-notebook:python-3.11".into());
        let x = draft("x", vec![base.clone(), Entry::Apt("wget".into()), pip("a")]);
        let q = draft(
            "q",
            vec![
                base.clone(),
                Entry::Apt("wget".into()),
                pip("a"),
                pip("b"),
                Entry::ImageSuffix("q".into()),
            ],
        );
        let z = draft(
            "z",
            vec![
                base.clone(),
                Entry::Apt("wget".into()),
                pip("a"),
                pip("b"),
                pip("c"),
            ],
        );
        let s = shape(&[x, q, z]);
        assert_eq!(s.defaults.len(), 1);
        assert_eq!(s.defaults[0].refs.len(), 3);
        assert_eq!(s.apps[1].extends.as_deref(), Some("x"));
        assert_eq!(s.apps[2].extends.as_deref(), Some("q"));
        let own: Vec<&Entry> = s.apps[2].items.iter().map(|i| &i.item.entry).collect();
        assert_eq!(own, vec![&pip("c")]);
        let own: Vec<&Entry> = s.apps[1].items.iter().map(|i| &i.item.entry).collect();
        assert_eq!(own, vec![&pip("b"), &Entry::ImageSuffix("q".into())]);
    }

    #[test]
    fn unrelated_roots_share_defaults() {
        let a = draft(
            "a",
            vec![Entry::Apt("git".into()), Entry::Apt("vim".into())],
        );
        let b = draft(
            "b",
            vec![Entry::Apt("git".into()), Entry::Mamba("r-base".into())],
        );
        let s = shape(&[a, b]);
        assert!(s.apps.iter().all(|a| a.extends.is_none()));
        assert_eq!(s.defaults.len(), 1);
        assert_eq!(s.apps[0].items.len(), 1);
    }
}
