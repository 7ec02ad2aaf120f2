//! Apps built FROM the image of another app of the repository become `base app=NAME`.
//!
//! A `FROM` names another app's image when the image (any tag: the tag names one build of it)
//! is the one that app's workflow pushes; or, when no workflow says what that app pushes, when
//! the image is named as that app's directory (`ghcr.io/lab/r-lab` for `images/r-lab/`), under
//! a namespace that is not the upstream images' (`jupyter/`, `quay.io/jupyter/`, Docker's
//! official images) and is not the app's own base image. The child then builds FROM the image
//! its parent's job built in the same workflow run; when jcx refuses that (another Python or
//! PyTorch, other triggers, a cycle), `settle` writes the image reference again (the fallback).

use super::draft::{Draft, Entry, Kind, Origin, Warning};
use super::repo::{self, Found};
use super::workflow::{Build, Workflow};

/// An image reference without its tag, registry and namespace spelled out.
fn repository(r: &str) -> Option<String> {
    let (host, ns, name, _) = repo::split_ref(r.split('@').next().unwrap_or(r))?;
    if [&host, &ns, &name].iter().any(|p| p.contains(['$', '{'])) || name.is_empty() {
        return None;
    }
    let ns = if host == "docker.io" && ns.is_empty() {
        "library".to_string()
    } else {
        ns
    };
    Some(format!("{host}/{ns}/{name}").to_ascii_lowercase())
}

/// The image a build pushes: its first tag that names one.
fn pushed(b: &Build) -> Option<String> {
    b.tags.iter().find_map(|t| repository(&t.v))
}

/// Namespaces of upstream images: an image there is never the repository's own.
const UPSTREAM: [&str; 3] = [
    "docker.io/jupyter/",
    "quay.io/jupyter/",
    "docker.io/library/",
];

fn base_of(d: &Draft) -> Option<&str> {
    d.entries().find_map(|e| match e {
        Entry::Base(b) => Some(b.as_str()),
        _ => None,
    })
}

/// The app whose image `image` is, and how that is known.
fn parent_of(
    i: usize,
    image: &str,
    apps: &[Found],
    builds: &[Option<(&Workflow, &Build)>],
    drafts: &[Draft],
) -> Option<(usize, String)> {
    let image = repository(image)?;
    let pushes: Vec<Option<String>> = builds
        .iter()
        .map(|b| b.and_then(|(_, b)| pushed(b)))
        .collect();
    let by_push: Vec<usize> = (0..apps.len())
        .filter(|&j| j != i && pushes[j].as_deref() == Some(image.as_str()))
        .collect();
    if let [j] = by_push[..] {
        let wf = builds[j].map(|(w, _)| w.path.as_str()).unwrap_or_default();
        return Some((j, format!("its workflow `{wf}` pushes it")));
    }
    if !by_push.is_empty() || UPSTREAM.iter().any(|u| image.starts_with(u)) {
        return None;
    }
    let name = image.rsplit('/').next().unwrap_or_default();
    let by_name: Vec<usize> = (0..apps.len())
        .filter(|&j| j != i && pushes[j].is_none())
        .filter(|&j| {
            let dir = apps[j].dir.rsplit('/').next().unwrap_or_default();
            dir.eq_ignore_ascii_case(name) || apps[j].name == name
        })
        .filter(|&j| base_of(&drafts[j]).and_then(repository).as_deref() != Some(image.as_str()))
        .collect();
    match by_name[..] {
        [j] => Some((
            j,
            format!(
                "it is named as the directory of app `{}` (`{}`) and no workflow says what that app pushes",
                apps[j].name, apps[j].dir
            ),
        )),
        _ => None,
    }
}

/// A `base` found to be another app's image: (app, its base item, parent app, the image
/// reference, how that is known).
pub struct Link {
    app: usize,
    item: usize,
    parent: usize,
    image: String,
    how: String,
}

/// The `base` items that are another app's image.
pub fn plan(apps: &[Found], builds: &[Option<(&Workflow, &Build)>], drafts: &[Draft]) -> Vec<Link> {
    let mut links = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let Some((m, image)) = d
            .items
            .iter()
            .enumerate()
            .find_map(|(m, it)| match &it.entry {
                Entry::Base(b) => Some((m, b.clone())),
                _ => None,
            })
        else {
            continue;
        };
        if let Some((parent, how)) = parent_of(i, &image, apps, builds, drafts) {
            links.push(Link {
                app: i,
                item: m,
                parent,
                image,
                how,
            });
        }
    }
    links
}

/// The image app `i` is built on at the root of its chain (its own when it has no parent).
pub fn root_base(drafts: &[Draft], links: &[Link], i: usize) -> String {
    let mut at = i;
    for _ in 0..drafts.len() {
        match links.iter().find(|l| l.app == at) {
            Some(l) if l.parent != i => at = l.parent,
            _ => break,
        }
    }
    base_of(&drafts[at]).unwrap_or_default().to_string()
}

/// Rewrites each linked `base` as `base app=`, with the image reference as its fallback and a
/// warning. A child's `image-suffix` (read against its chain's root image) becomes the
/// `image-name` it stands for, right on either base.
pub fn link(links: Vec<Link>, drafts: &mut [Draft], warnings: &mut Vec<Warning>) {
    let linked: Vec<usize> = links.iter().map(|l| l.app).collect();
    for l in links {
        let parent = drafts[l.parent].name.clone();
        let child = drafts[l.app].name.clone();
        let image = l.image;
        let item = &mut drafts[l.app].items[l.item];
        item.entry = Entry::BaseApp(parent.clone());
        item.fallback.insert(0, Entry::Base(image.clone()));
        let tag = image
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))
            .unwrap_or("latest");
        warnings.push(Warning {
            kind: Kind::Changed,
            origin: item
                .origin
                .clone()
                .unwrap_or_else(|| Origin::new("apps.kdl", 0, 0)),
            message: format!(
                "`{image}` is the image app `{parent}` builds ({}): written `base app={parent}`; app `{child}` now builds FROM the image `{parent}`'s job built in the same workflow run (not the tag `{tag}` from the registry), in the workflow of `{parent}`, on its triggers",
                l.how
            ),
        });
    }
    for i in linked {
        if drafts[i]
            .entries()
            .any(|e| matches!(e, Entry::ImageSuffix(_)))
        {
            let name = image_of(drafts, i);
            for it in &mut drafts[i].items {
                if matches!(it.entry, Entry::ImageSuffix(_)) {
                    it.entry = Entry::ImageName(name.clone());
                }
            }
        }
    }
}

/// The image name app `i` pushes, as jcx derives it: `image-name`, else the base image's name
/// (for `base app=`, the chain root's) with `image-suffix`.
pub fn image_of(drafts: &[Draft], i: usize) -> String {
    let mut at = i;
    let mut name = None;
    let mut suffix = None;
    for _ in 0..=drafts.len() {
        let d = &drafts[at];
        if at == i {
            for e in d.entries() {
                match e {
                    Entry::ImageName(n) => name = Some(n.clone()),
                    Entry::ImageSuffix(s) => suffix = Some(s.clone()),
                    _ => {}
                }
            }
        }
        let parent = d.entries().find_map(|e| match e {
            Entry::BaseApp(p) => drafts.iter().position(|x| &x.name == p),
            _ => None,
        });
        match parent {
            Some(p) => at = p,
            None => break,
        }
    }
    let base = name.unwrap_or_else(|| {
        base_of(&drafts[at])
            .and_then(|b| repo::split_ref(b).map(|r| r.2))
            .unwrap_or_default()
    });
    match suffix {
        Some(s) => format!("{base}-{s}"),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::draft::Item;

    fn draft(name: &str, entries: Vec<Entry>) -> Draft {
        Draft {
            name: name.into(),
            items: entries.into_iter().map(|e| Item::new(e, None)).collect(),
        }
    }

    fn found(dir: &str) -> Found {
        Found {
            name: dir.rsplit('/').next().unwrap().into(),
            dir: dir.into(),
            dockerfile: format!("{dir}/Dockerfile"),
        }
    }

    #[test]
    fn repositories_ignore_tags_and_spell_out_docker_hub() {
        assert_eq!(
            repository("ubuntu:24.04").as_deref(),
            Some("docker.io/library/ubuntu")
        );
        assert_eq!(
            repository("GHCR.io/Lab/x:1@sha256:ab").as_deref(),
            Some("ghcr.io/lab/x")
        );
        assert_eq!(repository("ghcr.io/lab/${IMAGE}:1"), None);
    }

    #[test]
    fn a_directory_name_links_only_outside_upstream_and_own_bases() {
        let apps = [
            found("images/base"),
            found("images/r"),
            found("images/minimal-notebook"),
        ];
        let drafts = [
            draft(
                "base",
                vec![Entry::Base("quay.io/jupyter/base-notebook:x".into())],
            ),
            draft("r", vec![Entry::Base("ghcr.io/lab/base:latest".into())]),
            draft(
                "minimal-notebook",
                vec![Entry::Base("lab/minimal-notebook:1".into())],
            ),
        ];
        let builds = [None, None, None];
        let p = |i, image| parent_of(i, image, &apps, &builds, &drafts).map(|(j, _)| j);
        assert_eq!(p(1, "ghcr.io/lab/base:latest"), Some(0));
        assert_eq!(p(1, "quay.io/jupyter/minimal-notebook:x"), None);
        // The app's own base image, named as its directory, is not its own image.
        assert_eq!(p(1, "lab/minimal-notebook:2"), None);
        // Nor is an app its own parent.
        assert_eq!(p(0, "ghcr.io/lab/base:1"), None);
    }

    #[test]
    fn a_child_is_named_after_its_chain_root() {
        let drafts = [
            draft(
                "a",
                vec![Entry::Base("quay.io/jupyter/scipy-notebook:x".into())],
            ),
            draft(
                "b",
                vec![Entry::BaseApp("a".into()), Entry::ImageSuffix("gpu".into())],
            ),
            draft("c", vec![Entry::BaseApp("b".into())]),
        ];
        assert_eq!(image_of(&drafts, 1), "scipy-notebook-gpu");
        assert_eq!(image_of(&drafts, 2), "scipy-notebook");
    }
}
