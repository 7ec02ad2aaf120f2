//! The workflow of a chain of apps built on apps (`base app=`): one workflow named after the
//! chain's root app, one job per app, each `needs:` its parent's job. An app with no parent and
//! no child keeps its own workflow (`workflow.rs`).

use super::workflow::{ActionsCtx, actions_ctx, app_paths, login, mirror_build_args, runs_on};
use super::*;

#[derive(Serialize)]
struct JobCtx {
    id: String,
    app: String,
    app_q: String,
    job_name: String,
    /// The parent's job id.
    needs: Option<String>,
    parent: Option<String>,
    parent_q: Option<String>,
    /// The artifact that holds the parent's image on a pull request.
    parent_artifact_q: Option<String>,
    /// Apps are built on this one: it passes its image on.
    children: bool,
    fork_guard: bool,
    runs_on: String,
    timeout_minutes: u32,
    image: String,
    /// The root's base image (the root job only).
    base_image: String,
    base_tag: String,
    base_tag_q: String,
    description: Vec<String>,
    free_disk_space: bool,
    free_disk_for: &'static str,
    qemu: bool,
    /// This app's own paths (one per line of a block scalar).
    paths: Vec<String>,
    platforms: String,
    /// Mirror build arguments (BASE_IMAGE comes first, from the job's environment).
    build_args: Vec<String>,
}

#[derive(Serialize)]
struct ChainCtx {
    header: String,
    workflow_name: String,
    branches: Vec<String>,
    /// Every app's paths: the workflow runs when any of them changes.
    paths: Vec<String>,
    registry: String,
    registry_q: String,
    username: String,
    password: String,
    packages_write: bool,
    jobs: Vec<JobCtx>,
    actions: ActionsCtx,
}

/// The apps of `root`'s chain, each after its parent (depth first, children in manifest order).
pub fn chain_of<'a>(manifest: &'a Manifest, root: &'a App) -> Vec<&'a App> {
    fn visit<'a>(manifest: &'a Manifest, app: &'a App, out: &mut Vec<&'a App>) {
        out.push(app);
        for child in children(manifest, &app.name) {
            visit(manifest, child, out);
        }
    }
    let mut out = Vec::new();
    visit(manifest, root, &mut out);
    out
}

/// The apps built directly on app `name`.
pub fn children<'a>(manifest: &'a Manifest, name: &str) -> impl Iterator<Item = &'a App> {
    manifest
        .apps
        .iter()
        .filter(move |a| a.parent.as_ref().is_some_and(|p| p.app == name))
}

/// Job ids: `build-<app>` (`.` becomes `_`; GitHub job ids are letters, digits, `-` and `_`),
/// numbered when two apps would get the same one.
fn job_ids(apps: &[&App]) -> Vec<String> {
    let base: Vec<String> = apps
        .iter()
        .map(|a| format!("build-{}", a.name.replace('.', "_")))
        .collect();
    base.iter()
        .enumerate()
        .map(|(i, id)| {
            if base.iter().filter(|b| *b == id).count() > 1 {
                format!("{id}-{}", i + 1)
            } else {
                id.clone()
            }
        })
        .collect()
}

pub fn render_chain_workflow(manifest: &Manifest, root: &App) -> Result<String> {
    let apps = chain_of(manifest, root);
    let ids = job_ids(&apps);
    let (username, password, token) = login(manifest);
    let mut all_paths: Vec<String> = Vec::new();
    let jobs = apps
        .iter()
        .zip(&ids)
        .map(|(app, id)| {
            let mut paths = app_paths(app);
            for p in &paths {
                if !all_paths.contains(p) {
                    all_paths.push(p.clone());
                }
            }
            // A job rebuilds for its own files: the workflow changes with any app's
            // description or mirrors, which would rebuild the whole chain.
            let workflow = app.workflow_path();
            paths.retain(|p| *p != workflow);
            let parent = app.parent.as_ref().map(|p| p.app.clone());
            let needs = parent.as_ref().and_then(|p| {
                apps.iter()
                    .position(|a| &a.name == p)
                    .map(|i| ids[i].clone())
            });
            JobCtx {
                id: id.clone(),
                app: app.name.clone(),
                app_q: yaml_quote(&app.name),
                job_name: yaml_quote(&format!("Build and push {}", app.name)),
                needs,
                parent_q: parent.as_deref().map(yaml_quote),
                parent_artifact_q: parent
                    .as_deref()
                    .map(|p| yaml_quote(&format!("jcx-image-{p}.tar"))),
                parent,
                children: children(manifest, &app.name).next().is_some(),
                fork_guard: app.self_hosted(),
                runs_on: runs_on(app),
                timeout_minutes: app.timeout_minutes,
                image: yaml_quote(&app.image),
                base_image: yaml_quote(&app.base.full()),
                base_tag: app.base.tag.clone(),
                base_tag_q: yaml_quote(&app.base.tag),
                description: app
                    .description
                    .as_deref()
                    .map_or_else(Vec::new, |d| fold_words(d, 8)),
                free_disk_space: app.free_disk_space,
                free_disk_for: match app.torch.as_ref().map(|t| &t.index) {
                    Some(TorchIndex::Cuda(_)) => "the CUDA build",
                    _ => "the build",
                },
                qemu: app.platforms.iter().any(|p| p != "linux/amd64"),
                paths,
                platforms: app.platforms.join(","),
                build_args: mirror_build_args(manifest, app),
            }
        })
        .collect();
    let reg = &manifest.registry;
    let ctx = ChainCtx {
        header: header(manifest, Some(&root.name)),
        workflow_name: yaml_quote(&format!("Build {} and the apps built on it", root.name)),
        branches: root.branches.iter().map(|b| yaml_quote(b)).collect(),
        paths: all_paths.iter().map(|p| yaml_quote(p)).collect(),
        registry: reg.host.clone(),
        registry_q: yaml_quote(&reg.host),
        username,
        password,
        packages_write: token,
        jobs,
        actions: actions_ctx(manifest),
    };
    let yaml = render_with(&envs().1, "build-chain.yaml", &root.workflow_path(), ctx)?;
    Ok(waive_long_uses_lines(&yaml))
}
