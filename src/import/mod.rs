//! `jcx import [DIR]`: reads a hand-made images repository (Dockerfiles, requirements files,
//! GitHub workflows) and writes an `apps.kdl` that compiles to the same images.
//!
//! Readers (`dockerfile`, `shell`, `requirements`, `yaml`, `workflow`) turn files into
//! structures with line numbers; the mapper (`map`, `stages`, `run`, `files`, `resolve`,
//! `pipmap`, `repo`, `triggers`) turns those into per-app settings (`draft`), each with the
//! place it came from; `shape` finds `extends` chains and `defaults`; `kdl` writes the manifest
//! as `jcx fmt` lays it out. The result is then validated like any manifest: an item jcx
//! refuses is demoted (to its fallback: a `file` for a hook, a `dockerfile` block, at last a
//! comment) and the manifest written again, so import never writes a manifest that does not
//! compile. Every line that is not mapped is named in a warning.

mod aptmirror;
mod buildstages;
mod commands;
mod conditions;
pub mod dockerfile;
pub mod draft;
mod fetch;
mod files;
mod fscmd;
mod fsmap;
mod jupytermap;
mod kdl;
mod kernelcmd;
mod kernelinstall;
mod kernelmap;
mod map;
mod pipconda;
mod pipmap;
mod pippackage;
mod repo;
pub mod requirements;
mod reserved;
mod resolve;
mod run;
mod shape;
pub mod shell;
mod siblings;
mod smallmap;
mod stages;
mod triggers;
pub mod workflow;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result, SourcedProblem};
use crate::source::Source;
use buildstages::{StageBase, StageDraft};
pub use draft::{Counts, Kind, Warning};
use draft::{Draft, Entry, Item, Origin};
use kdl::{Target, Top, TopStage};

/// What `jcx import` produced.
#[derive(Debug)]
pub struct Imported {
    /// The manifest, formatted as `jcx fmt` would.
    pub text: String,
    pub apps: Vec<String>,
    pub warnings: Vec<Warning>,
    pub counts: Vec<Counts>,
    /// jcx's own warnings about the imported manifest (as `jcx compile` would show them).
    pub jcx_warnings: Vec<SourcedProblem>,
    /// Hand-made files `jcx compile` will not replace, to delete after review.
    pub leftovers: Vec<String>,
}

const HEADER: [&str; 3] = [
    "apps.kdl: imported by `jcx import` from the hand-made Dockerfiles, requirements files and",
    "workflows of this repository. Review it with the warnings `jcx import` printed; then",
    "`jcx compile --force` replaces those files with generated ones.",
];

fn usage(message: String, help: Option<String>) -> Error {
    Error::Usage { message, help }
}

/// Reads the repository at `dir` and returns the manifest (nothing is written).
pub fn import(dir: &Path) -> Result<Imported> {
    if !dir.is_dir() {
        return Err(usage(
            format!("`{}` is not a directory", dir.display()),
            Some("pass the images repository's directory".into()),
        ));
    }
    let apps = repo::find_apps(dir);
    if apps.is_empty() {
        return Err(usage(
            format!("no Dockerfile found in `{}`", dir.display()),
            Some("jcx import reads `src/<app>/Dockerfile`, `images/<app>/Dockerfile`, `<app>/Dockerfile` or a `Dockerfile` at the top".into()),
        ));
    }
    let mut warnings = Vec::new();
    let wfs = repo::workflows(dir, &mut warnings);
    let builds = repo::match_builds(&apps, &wfs, &mut warnings);
    let mut drafts = Vec::new();
    let mut counts = Vec::new();
    let mut pushes = Vec::new();
    let mut mirrors = Mirrors::default();
    let mut leftovers = Vec::new();
    let mut stages = Vec::new();
    for (app, build) in apps.iter().zip(&builds) {
        let (mut draft, found) =
            one_app(dir, app, *build, &mut warnings, &mut counts, &mut mirrors)?;
        merge_stages(found, &app.name, &mut draft.items, &mut stages);
        if app.dir != format!("src/{}", app.name) {
            leftovers.push(app.dockerfile.clone());
        }
        if let Some((wf, _)) = build
            && wf.path != format!(".github/workflows/build-push-{}.yaml", app.name)
        {
            leftovers.push(wf.path.clone());
        }
        drafts.push(draft);
    }
    // An app built on another's image is named and tagged after its chain's root image: its
    // workflow's tags are read against that image.
    let links = siblings::plan(&apps, &builds, &drafts);
    for (i, (app, build)) in apps.iter().zip(&builds).enumerate() {
        let base = siblings::root_base(&drafts, &links, i);
        let push = build_part(app, *build, &base, &mut drafts[i], &mut warnings);
        if let Some((wf, _)) = build {
            pushes.push((app.name.clone(), push, Origin::new(&wf.path, 0, 0)));
        }
        let items = std::mem::take(&mut drafts[i].items);
        drafts[i].items = dedupe(items);
    }
    siblings::link(links, &mut drafts, &mut warnings);
    leftovers.sort();
    leftovers.dedup();
    let mut top = Top {
        header: HEADER.iter().map(|s| s.to_string()).collect(),
        stages,
        ..Top::default()
    };
    match repo::registry(&pushes, &mut warnings) {
        Some(p) => {
            top.host = p.host;
            top.namespace = p.namespace;
            top.username_secret = p.username_secret;
            top.password_secret = p.password_secret;
        }
        None => placeholder_registry(&mut top, &mut warnings),
    }
    top.mirror = mirror(&mirrors.pypi, "PyPI index", &mut warnings);
    top.apt_mirror = mirror(&mirrors.apt, "apt mirror", &mut warnings);
    if let Some((url, o)) = &top.apt_mirror
        && mirrors.apt.len() < apps.len()
    {
        warnings.push(Warning {
            kind: Kind::Changed,
            origin: o.clone(),
            message: format!(
                "the apt mirror `{url}` is used by every app with `apt` packages; {} of the {} Dockerfiles edited their sources to it",
                mirrors.apt.len(),
                apps.len()
            ),
        });
    }
    distinct_images(&mut drafts, &mut warnings);
    let mut moves = Vec::new();
    for d in &mut drafts {
        for item in &mut d.items {
            unprintable(item, &mut warnings, &mut moves);
        }
    }
    let (text, jcx_warnings) = settle(dir, &mut top, &mut drafts, &mut warnings, &mut moves)?;
    for (origins, to) in &moves {
        for c in counts.iter_mut() {
            for o in origins {
                c.demote(o, *to);
            }
        }
    }
    warnings
        .sort_by(|a, b| (&a.origin.file, a.origin.first).cmp(&(&b.origin.file, b.origin.first)));
    Ok(Imported {
        text,
        apps: apps.iter().map(|a| a.name.clone()).collect(),
        warnings,
        counts,
        jcx_warnings,
        leftovers,
    })
}

fn placeholder_registry(top: &mut Top, warnings: &mut Vec<Warning>) {
    top.host = "ghcr.io".into();
    top.namespace = "change-me".into();
    warnings.push(Warning {
        kind: Kind::Changed,
        origin: Origin::new("apps.kdl", 0, 0),
        message: "no workflow says where the images are pushed: the manifest names `ghcr.io` and the namespace `change-me`; set `registry`".into(),
    });
}

/// The mirrors the apps used, each with where.
#[derive(Default)]
struct Mirrors {
    pypi: Vec<(String, Origin)>,
    apt: Vec<(String, Origin)>,
}

/// The mirror (a PyPI index, an apt mirror) most apps used.
fn mirror(
    found: &[(String, Origin)],
    what: &str,
    warnings: &mut Vec<Warning>,
) -> Option<(String, Origin)> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (u, _) in found {
        *count.entry(u).or_default() += 1;
    }
    let best = count
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(u, _)| u.to_string())?;
    for (u, o) in found.iter().filter(|(u, _)| *u != best) {
        warnings.push(Warning {
            kind: Kind::Changed,
            origin: o.clone(),
            message: format!("the {what} `{u}` is replaced by `{best}`: the manifest's `mirrors` has one {what} for every app"),
        });
    }
    found.iter().find(|(u, _)| *u == best).cloned()
}

fn one_app(
    dir: &Path,
    app: &repo::Found,
    build: Option<(&workflow::Workflow, &workflow::Build)>,
    warnings: &mut Vec<Warning>,
    counts: &mut Vec<Counts>,
    mirrors: &mut Mirrors,
) -> Result<(Draft, Vec<StageDraft>)> {
    let text = repo::read_text(dir, &app.dockerfile).ok_or_else(|| {
        usage(
            format!(
                "cannot read `{}` (a text file of at most 1 MiB)",
                app.dockerfile
            ),
            None,
        )
    })?;
    let context = build
        .and_then(|(_, b)| b.context.as_ref())
        .map(|c| {
            c.v.trim()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        .filter(|c| !c.contains('{'))
        .map(|c| if c == "." { String::new() } else { c })
        .unwrap_or_else(|| app.dir.clone());
    let build_args = build
        .map(|(_, b)| {
            b.build_args
                .iter()
                .filter(|a| !a.v.1.contains('{'))
                .map(|a| a.v.clone())
                .collect()
        })
        .unwrap_or_default();
    let src = map::AppSource {
        path: app.dockerfile.clone(),
        text,
        context,
        build_args,
        root: dir,
    };
    let result = map::walk(&src);
    warnings.extend(result.warnings);
    if let Some(e) = result.error {
        return Err(usage(e, None));
    }
    let (base, base_origin) = result.base.expect("a base when there is no error");
    counts.extend(result.counts);
    mirrors.pypi.extend(result.mirror);
    mirrors.apt.extend(result.apt_mirror);
    let mut items = vec![Item::new(Entry::Base(base.clone()), Some(base_origin))];
    items.extend(result.items);
    fetch::unique_names(&mut items);
    Ok((
        Draft {
            name: app.name.clone(),
            items,
        },
        result.stages,
    ))
}

/// What the workflow building an app says (read against `base`), added to its draft; where it
/// pushes.
fn build_part(
    app: &repo::Found,
    build: Option<(&workflow::Workflow, &workflow::Build)>,
    base: &str,
    draft: &mut Draft,
    warnings: &mut Vec<Warning>,
) -> Option<repo::Push> {
    match build {
        Some((wf, b)) => {
            let (more, p) = repo::build_entries(app, wf, b, base, warnings);
            draft.items.extend(more);
            p
        }
        None => {
            warnings.push(Warning {
                kind: Kind::Changed,
                origin: Origin::new(&app.dockerfile, 0, 0),
                message: format!("no workflow builds `{}`; jcx generates one that pushes it to the manifest's registry", app.dockerfile),
            });
            None
        }
    }
}

/// Adds an app's stages to the manifest's: a stage equal to one already there (the same
/// name, or the same image for a stage made for `COPY --from=IMAGE`) is shared; a name taken
/// by another stage gets the app's name before it. The app's `copy-from` follow the renames.
fn merge_stages(found: Vec<StageDraft>, app: &str, items: &mut [Item], top: &mut Vec<TopStage>) {
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    for mut s in found {
        let original = s.name.clone();
        if let StageBase::Stage(p) = &mut s.base
            && let Some(r) = renames.get(p)
        {
            *p = r.clone();
        }
        let same = top.iter().find(|t| {
            t.draft.base == s.base
                && t.draft.steps == s.steps
                && (t.draft.name == s.name || (s.origin.is_none() && t.draft.origin.is_none()))
        });
        let name = match same {
            Some(t) => t.draft.name.clone(),
            None => {
                let taken = |n: &str| top.iter().any(|t| t.draft.name == n);
                if taken(&s.name) {
                    let wanted = buildstages::stage_name(&format!("{app}-{}", s.name));
                    let mut name = wanted.clone();
                    let mut n = 2;
                    while taken(&name) {
                        name = format!("{wanted}-{n}");
                        n += 1;
                    }
                    s.name = name;
                }
                let name = s.name.clone();
                top.push(TopStage {
                    draft: s,
                    refused: None,
                });
                name
            }
        };
        if name != original {
            renames.insert(original, name);
        }
    }
    for item in items {
        if let Entry::CopyFrom { stage, .. } = &mut item.entry
            && let Some(r) = renames.get(stage)
        {
            *stage = r.clone();
        }
    }
}

/// A block or an inline hook with characters no raw string can hold becomes a comment (jcx
/// refuses such blocks anyway).
fn unprintable(
    item: &mut Item,
    warnings: &mut Vec<Warning>,
    moves: &mut Vec<(Vec<Origin>, draft::Status)>,
) {
    let text = match &item.entry {
        Entry::Dockerfile { lines, .. } => lines.join("\n"),
        Entry::Hook {
            script: Some(s), ..
        } => s.clone(),
        _ => return,
    };
    if kdl::raw_safe(&text) {
        return;
    }
    let origin = item
        .origin
        .clone()
        .unwrap_or_else(|| Origin::new("apps.kdl", 0, 0));
    moves.push((
        item.origin.iter().chain(&item.also).cloned().collect(),
        draft::Status::Dropped,
    ));
    warnings.push(Warning {
        kind: Kind::Dropped,
        origin: origin.clone(),
        message: "these lines hold a control character or another character a manifest cannot hold: kept as a comment".into(),
    });
    item.entry = Entry::Comment(text.lines().map(str::to_string).collect());
    item.note = Some(format!(
        "Not carried over ({origin}): unprintable characters."
    ));
    item.fallback.clear();
}

/// Apps that would push the same image (none of them says otherwise) get their name as suffix.
fn distinct_images(drafts: &mut [Draft], warnings: &mut Vec<Warning>) {
    let mut seen: Vec<String> = Vec::new();
    for i in 0..drafts.len() {
        let image = siblings::image_of(drafts, i);
        if seen.contains(&image) {
            let d = &mut drafts[i];
            let origin = d
                .items
                .first()
                .and_then(|i| i.origin.clone())
                .unwrap_or_else(|| Origin::new("apps.kdl", 0, 0));
            warnings.push(Warning {
                kind: Kind::Changed,
                origin: origin.clone(),
                message: format!("app `{}` would push the same image `{image}` as another app: the manifest gives it `image-suffix {}`", d.name, d.name),
            });
            d.items
                .push(Item::new(Entry::ImageSuffix(d.name.clone()), Some(origin)));
            seen.push(siblings::image_of(drafts, i));
        } else {
            seen.push(image);
        }
    }
}

/// One entry per single setting (the last one wins, as later instructions do) and no item twice.
fn dedupe(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for item in items {
        if item.entry.single() && !matches!(item.entry, Entry::AptRecommends(_) | Entry::PipPre(_))
        {
            out.retain(|i| i.entry.setting() != item.entry.setting());
        }
        // A later `LABEL`, or `ENV` that does not read the earlier value, replaces it.
        match &item.entry {
            Entry::Label(k, _) => {
                out.retain(|i| !matches!(&i.entry, Entry::Label(x, _) if x == k));
            }
            Entry::Env(k, v) if !shell::references(v).contains(k) => {
                out.retain(|i| !matches!(&i.entry, Entry::Env(x, _) if x == k));
            }
            _ => {}
        }
        if !out.iter().any(|i| i.entry == item.entry) {
            out.push(item);
        }
    }
    out
}

/// Writes, validates, demotes what jcx refuses, and writes again until jcx accepts it.
fn settle(
    dir: &Path,
    top: &mut Top,
    drafts: &mut [Draft],
    warnings: &mut Vec<Warning>,
    moves: &mut Vec<(Vec<Origin>, draft::Status)>,
) -> Result<(String, Vec<SourcedProblem>)> {
    let limit = 10 + drafts.iter().map(|d| d.items.len() * 3).sum::<usize>();
    for _ in 0..limit {
        let shaped = shape::shape(drafts);
        let written = kdl::write(top, &shaped);
        let text = crate::edit::format_text(&written.text);
        debug_assert_eq!(
            text, written.text,
            "the importer writes what `jcx fmt` would"
        );
        let source = Source {
            path: dir.join("apps.kdl"),
            name: "apps.kdl".into(),
            text: written.text.clone(),
        };
        let problems = match crate::load_source(source, dir, &mut crate::Timings::default()) {
            Ok(loaded) => return Ok((text, loaded.warnings)),
            Err(Error::Invalid(i)) => i.problems,
            Err(Error::Syntax { problems, .. }) => problems,
            Err(e) => return Err(e),
        };
        let mut done: Vec<(usize, usize)> = Vec::new();
        let mut acted = false;
        for p in problems.iter().filter(|p| p.problem.is_error()) {
            // A child that disagrees with its parent is pointed at where it disagrees; what
            // import takes back is the `base app=` link, the problem's first other place.
            let at = match (p.problem.code, p.problem.related.first()) {
                (Code::ParentMismatch, Some((link, _))) => link.offset(),
                _ => p.problem.span.offset(),
            };
            match written.target_at(at) {
                Some(Target::Items(refs)) => {
                    for &(a, m) in refs {
                        if done.contains(&(a, m)) {
                            continue;
                        }
                        done.push((a, m));
                        demote(&mut drafts[a].items[m], &p.problem, warnings, moves)?;
                        acted = true;
                    }
                }
                Some(Target::Stage(k)) => {
                    acted |= refuse_stage(&mut top.stages[*k], &p.problem, warnings, moves);
                }
                Some(Target::Mirror(apt)) => {
                    let (taken, what, now) = if *apt {
                        (
                            top.apt_mirror.take(),
                            "an apt mirror",
                            "the base image's sources",
                        )
                    } else {
                        (top.mirror.take(), "a PyPI mirror", "PyPI")
                    };
                    if let Some((url, o)) = taken {
                        warnings.push(Warning {
                            kind: Kind::Dropped,
                            origin: o,
                            message: format!(
                                "jcx refuses `{url}` as {what} ({}); the manifest uses {now}",
                                p.problem.message
                            ),
                        });
                        acted = true;
                    }
                }
                Some(Target::Registry) if top.namespace != "change-me" => {
                    warnings.push(Warning {
                        kind: Kind::Changed,
                        origin: Origin::new("apps.kdl", 0, 0),
                        message: format!(
                            "jcx refuses the registry `{}/{}` ({})",
                            top.host, top.namespace, p.problem.message
                        ),
                    });
                    top.username_secret = None;
                    top.password_secret = None;
                    placeholder_registry(top, warnings);
                    acted = true;
                }
                _ => {}
            }
        }
        if !acted {
            let first = problems
                .iter()
                .find(|p| p.problem.is_error())
                .map(|p| p.problem.message.clone())
                .unwrap_or_default();
            return Err(usage(
                format!("jcx import could not write a manifest that jcx accepts: {first}"),
                Some("this is a bug in jcx import; please report it with the repository that triggers it".into()),
            ));
        }
    }
    Err(usage(
        "jcx import could not write a manifest that jcx accepts".into(),
        None,
    ))
}

/// A `stage` jcx refuses becomes a comment (what copies from it follows, as jcx then refuses
/// each `copy-from` of an unknown stage). `false` when it already was one.
fn refuse_stage(
    st: &mut TopStage,
    problem: &crate::error::Problem,
    warnings: &mut Vec<Warning>,
    moves: &mut Vec<(Vec<Origin>, draft::Status)>,
) -> bool {
    if st.refused.is_some() {
        return false;
    }
    let why = format!(
        "jcx refuses `stage {}` ({}: {})",
        st.draft.name, problem.code, problem.message
    );
    let origin = st
        .draft
        .origin
        .clone()
        .unwrap_or_else(|| Origin::new("apps.kdl", 0, 0));
    warnings.push(Warning {
        kind: Kind::Dropped,
        origin: origin.clone(),
        message: format!("{why}; kept as a comment, and what copies from it follows"),
    });
    moves.extend(
        st.draft
            .origin
            .clone()
            .map(|o| (vec![o], draft::Status::Dropped)),
    );
    st.refused = Some(format!("Not carried over ({origin}): {why}."));
    true
}

/// Replaces a refused item by its next fallback, or by a comment.
fn demote(
    item: &mut Item,
    problem: &crate::error::Problem,
    warnings: &mut Vec<Warning>,
    moves: &mut Vec<(Vec<Origin>, draft::Status)>,
) -> Result<()> {
    let lines: Vec<Origin> = item.origin.iter().chain(&item.also).cloned().collect();
    let origin = item
        .origin
        .clone()
        .unwrap_or_else(|| Origin::new("apps.kdl", 0, 0));
    let shown = kdl::node_text(&item.entry, "");
    let shown = shown.lines().next().unwrap_or_default().to_string();
    if let Entry::Base(b) = &item.entry {
        return Err(usage(
            format!(
                "{origin}: jcx refuses the base image `{b}`: {}",
                problem.message
            ),
            problem.help.clone(),
        ));
    }
    let why = format!(
        "jcx refuses `{shown}` ({}: {})",
        problem.code, problem.message
    );
    if !item.fallback.is_empty() {
        let next = item.fallback.remove(0);
        let kind = if matches!(next, Entry::Dockerfile { .. }) {
            moves.push((lines, draft::Status::Escaped));
            Kind::Escaped
        } else {
            Kind::Changed
        };
        warnings.push(Warning {
            kind,
            origin: origin.clone(),
            message: format!(
                "{why}; written as `{}` instead",
                kdl::node_text(&next, "").lines().next().unwrap_or_default()
            ),
        });
        item.entry = next;
        item.note = Some(format!("From {origin}: {why}."));
        return Ok(());
    }
    if matches!(item.entry, Entry::Comment(_)) {
        return Err(usage(
            format!("{origin}: jcx import could not write this as a comment"),
            None,
        ));
    }
    moves.push((lines, draft::Status::Dropped));
    warnings.push(Warning {
        kind: Kind::Dropped,
        origin: origin.clone(),
        message: format!("{why}; kept as a comment"),
    });
    item.entry = Entry::Comment(kdl::as_comment(item));
    item.note = Some(format!("Not carried over ({origin}): {why}."));
    Ok(())
}

/// Where `jcx import` writes.
#[derive(Debug, Clone)]
pub enum Output {
    /// `DIR/apps.kdl`, or this path.
    File(PathBuf),
    Stdout,
}

/// Writes the manifest (never over an existing file unless `force`).
pub fn write(imported: &Imported, output: &Output, force: bool) -> Result<()> {
    let Output::File(path) = output else {
        return Ok(());
    };
    if path.exists() && !force {
        return Err(usage(
            format!("`{}` already exists; jcx import does not replace it", path.display()),
            Some("pass `--force` to replace it, or `--output PATH` (`-` for standard output) to write elsewhere".into()),
        ));
    }
    crate::write::write_atomic(
        path,
        imported.text.as_bytes(),
        crate::write::Replacing::Source,
    )
}

/// The summary printed after the warnings.
pub fn summary(imported: &Imported, dir: &Path, written: Option<&Path>) -> String {
    let mut s = format!(
        "imported {} app{} from {}: {}\n",
        imported.apps.len(),
        if imported.apps.len() == 1 { "" } else { "s" },
        dir.display(),
        imported.apps.join(", ")
    );
    let (mut m, mut e, mut d) = (0, 0, 0);
    for c in &imported.counts {
        let lines = c.mapped + c.escaped + c.dropped;
        s.push_str(&format!(
            "  {}: {lines} line{}: {} mapped to settings, {} into dockerfile blocks, {} kept as comments ({} comment or blank)\n",
            c.file, if lines == 1 { "" } else { "s" }, c.mapped, c.escaped, c.dropped, c.other
        ));
        m += c.mapped;
        e += c.escaped;
        d += c.dropped;
    }
    let count = |k: Kind| imported.warnings.iter().filter(|w| w.kind == k).count();
    s.push_str(&format!(
        "total: {m} lines mapped to settings, {e} into dockerfile blocks, {d} kept as comments; {} warnings ({} escaped, {} not carried over, {} changed)\n",
        imported.warnings.len(), count(Kind::Escaped), count(Kind::Dropped), count(Kind::Changed)
    ));
    if let Some(p) = written {
        s.push_str(&format!("wrote {}\n", p.display()));
        s.push_str(&format!("next: review it, then `jcx compile --force {}`: it replaces the hand-made Dockerfiles, requirements files and workflows jcx generates\n", p.display()));
    }
    for l in &imported.leftovers {
        s.push_str(&format!("after review, delete {l}: jcx generates its replacement under src/ and .github/workflows/build-push-<app>.yaml\n"));
    }
    s
}
