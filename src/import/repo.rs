//! The hand-made repository: where its Dockerfiles are (`src/<app>/`, `images/<app>/` or
//! `<app>/`), which workflow builds which of them, and what each workflow says about the
//! image (registry, name, tags, triggers, runner) in terms of jcx's settings.

use std::collections::BTreeMap;
use std::path::Path;

use super::draft::{Entry, Item, Kind, Origin, Warning};
use super::workflow::{At, Build, Workflow};

/// An app found in the repository.
#[derive(Debug, Clone)]
pub struct Found {
    pub name: String,
    /// The directory holding its Dockerfile, relative to the root.
    pub dir: String,
    pub dockerfile: String,
}

/// Reads a text file of the repository (at most 1 MiB).
pub fn read_text(root: &Path, rel: &str) -> Option<String> {
    let p = root.join(rel);
    let meta = std::fs::symlink_metadata(&p).ok()?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return None;
    }
    std::fs::read_to_string(p).ok()
}

/// A name jcx accepts for an app, from a directory name.
pub fn app_name(dir: &str) -> String {
    let mut n: String = dir
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while n.contains("..") {
        n = n.replace("..", ".");
    }
    let n = n
        .trim_start_matches(['.', '_', '-'])
        .chars()
        .take(63)
        .collect::<String>();
    if n.is_empty() { "app".into() } else { n }
}

fn subdirs_with_dockerfile(root: &Path, under: &str) -> Vec<Found> {
    let dir = if under.is_empty() {
        root.to_path_buf()
    } else {
        root.join(under)
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<Found> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.') && n != "target" && n != "node_modules")
        .filter(|n| dir.join(n).join("Dockerfile").is_file())
        .map(|n| {
            let d = if under.is_empty() {
                n.clone()
            } else {
                format!("{under}/{n}")
            };
            Found {
                name: app_name(&n),
                dockerfile: format!("{d}/Dockerfile"),
                dir: d,
            }
        })
        .collect();
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    out
}

/// The apps of the repository: `src/*/Dockerfile`, else `images/*/Dockerfile`, else
/// `*/Dockerfile`, else a `Dockerfile` at the root.
pub fn find_apps(root: &Path) -> Vec<Found> {
    for under in ["src", "images", ""] {
        let found = subdirs_with_dockerfile(root, under);
        if !found.is_empty() {
            return found;
        }
    }
    if root.join("Dockerfile").is_file() {
        let name = std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(app_name))
            .unwrap_or_else(|| "app".into());
        return vec![Found {
            name,
            dir: String::new(),
            dockerfile: "Dockerfile".into(),
        }];
    }
    Vec::new()
}

/// Every workflow of `.github/workflows/`, read; unreadable ones as warnings.
pub fn workflows(root: &Path, warnings: &mut Vec<Warning>) -> Vec<Workflow> {
    let dir = root.join(".github/workflows");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let rel = format!(".github/workflows/{n}");
        let Some(text) = read_text(root, &rel) else {
            continue;
        };
        match super::yaml::parse(&text) {
            Ok(doc) => {
                if let Some(wf) = super::workflow::read(&rel, &doc) {
                    out.push(wf);
                }
            }
            Err((msg, line)) => warnings.push(Warning {
                kind: Kind::Dropped,
                origin: Origin::new(&rel, line, line),
                message: format!("this workflow is not YAML jcx import can read ({msg})"),
            }),
        }
    }
    out
}

fn clean(p: &str) -> String {
    let p = p.trim().trim_start_matches("./").trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// The build (and its workflow) of each app, by its Dockerfile or context; the others warned.
pub fn match_builds<'w>(
    apps: &[Found],
    wfs: &'w [Workflow],
    warnings: &mut Vec<Warning>,
) -> Vec<Option<(&'w Workflow, &'w Build)>> {
    let mut out: Vec<Option<(&Workflow, &Build)>> = vec![None; apps.len()];
    for wf in wfs {
        for b in &wf.builds {
            let file = b.file.as_ref().map(|f| clean(&f.v));
            let ctx = b.context.as_ref().map(|c| clean(&c.v)).unwrap_or_default();
            let hit = apps.iter().position(|a| match &file {
                Some(f) => *f == a.dockerfile || format!("{ctx}/{f}") == a.dockerfile,
                None => ctx == a.dir,
            });
            let hit = hit.or_else(|| {
                apps.iter().position(|a| {
                    wf.path.ends_with(&format!("-{}.yaml", a.name))
                        || wf.path.ends_with(&format!("-{}.yml", a.name))
                })
            });
            let pushes = |b: &Build| b.push.as_ref().is_none_or(|p| p.v.trim() != "false");
            match hit {
                Some(a) if out[a].is_none() => out[a] = Some((wf, b)),
                // A build that pushes (`push: true`) rather than one that only builds (the
                // pull-request build of a matrix job, say).
                Some(a) if !pushes(out[a].expect("some").1) && pushes(b) => {
                    let (old_wf, old) = out[a].replace((wf, b)).expect("some");
                    warnings.push(Warning {
                        kind: Kind::Dropped,
                        origin: Origin::new(&old_wf.path, old.line, old.line),
                        message: format!(
                            "a build of app `{}` that does not push: jcx generates one workflow per app, which builds pull requests without pushing",
                            apps[a].name
                        ),
                    });
                }
                Some(a) => warnings.push(Warning {
                    kind: Kind::Dropped,
                    origin: Origin::new(&wf.path, b.line, b.line),
                    message: format!(
                        "a second build of app `{}`: jcx generates one workflow per app",
                        apps[a].name
                    ),
                }),
                None => warnings.push(Warning {
                    kind: Kind::Dropped,
                    origin: Origin::new(&wf.path, b.line, b.line),
                    message: "this build step builds none of the Dockerfiles jcx import found"
                        .into(),
                }),
            }
        }
    }
    out
}

/// A registry reference split: (registry host, namespace, image name, tag).
pub fn split_ref(r: &str) -> Option<(String, String, String, String)> {
    let (path, tag) = match r.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (r, ""),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let (host, rest) =
        if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
            (parts[0].to_string(), &parts[1..])
        } else {
            ("docker.io".to_string(), &parts[..])
        };
    let (name, ns) = rest.split_last()?;
    Some((host, ns.join("/"), name.to_string(), tag.to_string()))
}

/// Where an app's image is pushed, as the workflow says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Push {
    pub host: String,
    pub namespace: String,
    pub username_secret: Option<String>,
    pub password_secret: Option<String>,
}

/// What one app's build says: entries, and where it pushes.
pub fn build_entries(
    app: &Found,
    wf: &Workflow,
    b: &Build,
    base: &str,
    warnings: &mut Vec<Warning>,
) -> (Vec<Item>, Option<Push>) {
    let o = |line: usize| Origin::new(&wf.path, line, line);
    let mut items = Vec::new();
    let mut warn = |kind, line: usize, m: String| {
        warnings.push(Warning {
            kind,
            origin: o(line),
            message: m,
        })
    };
    super::triggers::entries(app, wf, &mut items, &mut warn);
    if let Some(r) = &b.runs_on
        && r.v != ["ubuntu-latest"]
    {
        items.push(Item::new(Entry::RunsOn(r.v.clone()), Some(o(r.line))));
    }
    if let Some(t) = &b.timeout {
        match t.v.parse::<u32>() {
            Ok(n) => items.push(Item::new(Entry::Timeout(n), Some(o(t.line)))),
            Err(_) => warn(
                Kind::Dropped,
                t.line,
                format!("`timeout-minutes: {}` is not a number", t.v),
            ),
        }
    }
    if let Some(p) = &b.platforms
        && p.v != ["linux/amd64"]
    {
        items.push(Item::new(Entry::Platforms(p.v.clone()), Some(o(p.line))));
    }
    if b.free_disk {
        items.push(Item::new(Entry::FreeDiskSpace(true), Some(o(b.line))));
    }
    if let Some(p) = &b.push
        && p.v.trim() == "false"
    {
        warn(
            Kind::Changed,
            p.line,
            "`push: false`: jcx's workflow pushes the image on pushes to the app's branches".into(),
        );
    }
    for s in &b.unknown_steps {
        warn(
            Kind::Dropped,
            s.line,
            format!("{} has no counterpart in jcx's workflow", s.v),
        );
    }
    let push = tags(&wf.path, app, b, base, &mut items, &mut warn);
    let push = push.map(|mut p| {
        if let Some(l) = &b.login {
            secrets(l, &mut p, &mut warn);
        }
        p
    });
    (items, push)
}

fn secrets(l: &super::workflow::Login, p: &mut Push, warn: &mut dyn FnMut(Kind, usize, String)) {
    let secret = |a: &Option<At<String>>| {
        a.as_ref().and_then(|x| {
            x.v.strip_prefix("{secret:")
                .and_then(|s| s.strip_suffix('}'))
                .map(str::to_string)
        })
    };
    p.username_secret = secret(&l.username).filter(|s| s != "REGISTRY_USERNAME");
    p.password_secret = secret(&l.password)
        .filter(|s| s != "REGISTRY_PASSWORD" && !(s == "GITHUB_TOKEN" && p.host == "ghcr.io"));
    if let Some(u) = &l.username
        && !u.v.starts_with("{secret:")
        && !u.v.starts_with("{github.")
    {
        warn(
            Kind::Changed,
            u.line,
            format!(
                "the user name `{}` is written in the workflow; jcx reads it from a secret (`username-secret=`, default REGISTRY_USERNAME)",
                u.v
            ),
        );
    }
    if let Some(r) = &l.registry
        && !r.v.contains('{')
        && r.v != p.host
    {
        warn(
            Kind::Changed,
            r.line,
            format!(
                "the workflow logs in to `{}` but pushes to `{}`; jcx logs in where it pushes",
                r.v, p.host
            ),
        );
    }
}

/// Image name and tag scheme from the build's tags.
fn tags(
    path: &str,
    app: &Found,
    b: &Build,
    base: &str,
    items: &mut Vec<Item>,
    warn: &mut dyn FnMut(Kind, usize, String),
) -> Option<Push> {
    if b.tags.is_empty() {
        warn(
            Kind::Changed,
            b.line,
            format!(
                "the build of `{}` names no image; jcx pushes it as the base image's name",
                app.name
            ),
        );
        return None;
    }
    let (_, _, base_name, base_tag) = split_ref(base).unwrap_or_default();
    let base_tag = base_tag.split('@').next().unwrap_or_default().to_string();
    let mut push = None;
    for t in &b.tags {
        let Some((host, ns, name, tag)) = split_ref(&t.v)
            .filter(|(h, n, m, _)| !(h.contains('{') || n.contains('{') || m.contains('{')))
        else {
            warn(
                Kind::Dropped,
                t.line,
                format!("the tag `{}` cannot be read as an image name", t.v),
            );
            continue;
        };
        if push.is_none() {
            push = Some(Push {
                host,
                namespace: ns,
                username_secret: None,
                password_secret: None,
            });
            if name != base_name {
                let e = match name.strip_prefix(&format!("{base_name}-")) {
                    Some(suffix) if !suffix.is_empty() => Entry::ImageSuffix(suffix.to_string()),
                    _ => Entry::ImageName(name.clone()),
                };
                items.push(Item::new(e, Some(Origin::new(path, t.line, t.line))));
            }
        }
        let expected = format!("{base_tag}-{{sha}}");
        if tag == expected || tag == format!("{base_tag}-{{branch}}") {
            continue;
        }
        let why = if tag == format!("{base_tag}-{{short-sha}}") {
            format!(
                "the tag `{base_tag}-<short commit>` becomes `{base_tag}-<full commit>` (and `{base_tag}-<branch>`): jcx tags with the full commit"
            )
        } else {
            format!(
                "the tag `{}` is not pushed any more: jcx tags `{base_tag}-<commit>` and `{base_tag}-<branch>`",
                tag.replace("{sha}", "<commit>")
                    .replace("{short-sha}", "<short commit>")
                    .replace("{branch}", "<branch>")
            )
        };
        warn(Kind::Changed, t.line, why);
    }
    push
}

/// The registry most apps push to; a warning for each app that pushes elsewhere.
pub fn registry(
    pushes: &[(String, Option<Push>, Origin)],
    warnings: &mut Vec<Warning>,
) -> Option<Push> {
    let mut count: BTreeMap<&Push, usize> = BTreeMap::new();
    for (_, p, _) in pushes {
        if let Some(p) = p {
            *count.entry(p).or_default() += 1;
        }
    }
    let best = count
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(p, _)| (*p).clone())?;
    for (app, p, o) in pushes {
        if let Some(p) = p
            && *p != best
        {
            warnings.push(Warning {
                kind: Kind::Changed,
                origin: o.clone(),
                message: format!(
                    "app `{app}` pushed to `{}/{}`; the manifest has one registry, `{}/{}`",
                    p.host, p.namespace, best.host, best.namespace
                ),
            });
        }
    }
    Some(best)
}
