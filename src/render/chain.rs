//! Chains of apps built on apps (`base app=`): one workflow named after the chain's root app,
//! the jobs of every app of the chain (`build-job.yaml.j2`), each `needs:` its parent's job and
//! builds FROM the exact image that job made. What a chain job adds to an app's job is in
//! [`ChainJobCtx`]; an app with no parent and no child keeps its own workflow as it is.

use super::build_job::{AppJobCtx, app_job_ctx};
use super::*;
use crate::model::TagPart;

/// What the job of an app of a chain adds to the app's job (see `build-job.yaml.j2`).
#[derive(Serialize)]
pub struct ChainJobCtx {
    /// The parent's job id (`needs:`), for an app built on another.
    parent_job: Option<String>,
    parent_q: Option<String>,
    /// The artifact that holds the parent's image on a pull request.
    parent_artifact_q: Option<String>,
    /// Apps are built on this one: it passes its image on (job outputs, an artifact).
    children: bool,
    /// The job's own paths, one per line of a block scalar (not the workflow file).
    paths: Vec<String>,
    /// The moving tag of this branch, `<prefix><branch><suffix>` (docker/metadata-action's
    /// `{branch}`), which the apps built on an unchanged app use; `None`: no such tag, the app
    /// then builds.
    branch_prefix_q: Option<String>,
    branch_suffix_q: Option<String>,
    /// The condition of every step that only runs when the app is built.
    when_built: &'static str,
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

/// Job ids: `build-<app>` (`.` becomes `_`: job ids are letters, digits, `-` and `_`),
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

/// The first tag template that names a branch and nothing else that varies (`{base}-{branch}`),
/// as the text before and after the branch.
fn branch_tag(app: &App) -> Option<(String, String)> {
    app.image_tags.templates.iter().find_map(|t| {
        let at = t.parts.iter().position(|p| *p == TagPart::Branch)?;
        let text = |parts: &[TagPart]| -> Option<String> {
            parts
                .iter()
                .map(|p| match p {
                    TagPart::Text(s) => Some(s.clone()),
                    TagPart::Base => Some(app.base.tag.clone()),
                    _ => None,
                })
                .collect()
        };
        Some((text(&t.parts[..at])?, text(&t.parts[at + 1..])?))
    })
}

/// The jobs of a chain's apps, root first.
pub fn chain_jobs(manifest: &Manifest, apps: &[&App]) -> Vec<AppJobCtx> {
    let ids = job_ids(apps);
    apps.iter()
        .zip(&ids)
        .map(|(app, id)| {
            let mut job = app_job_ctx(manifest, app);
            let parent = app.parent.as_ref().map(|p| p.app.clone());
            let parent_job = parent.as_ref().and_then(|p| {
                apps.iter()
                    .position(|a| &a.name == p)
                    .map(|i| ids[i].clone())
            });
            if let Some(pj) = &parent_job {
                // FROM the exact image the parent's job made (see `build-job.yaml.j2`).
                job.needs = vec![pj.clone()];
                job.base_image = format!("${{{{ needs.{pj}.outputs.image }}}}");
                job.base_image_raw = "${{ env.BASE_IMAGE }}".into();
                if let Some(first) = job.build_args.first_mut() {
                    *first = "BASE_IMAGE=${{ env.BASE_IMAGE }}".into();
                }
            }
            job.job_id = id.clone();
            job.merge_job_id = format!("{id}-merge");
            let workflow = app.workflow_path();
            let (branch_prefix_q, branch_suffix_q) = match branch_tag(app) {
                Some((p, s)) => (Some(yaml_quote(&p)), Some(yaml_quote(&s))),
                None => (None, None),
            };
            job.chain = Some(ChainJobCtx {
                parent_job,
                parent_q: parent.as_deref().map(yaml_quote),
                parent_artifact_q: parent
                    .as_deref()
                    .map(|p| yaml_quote(&format!("jcx-image-{p}.tar"))),
                children: children(manifest, &app.name).next().is_some(),
                // A job rebuilds for its own files: the workflow changes with any app's
                // description or mirrors, which would rebuild the whole chain.
                paths: super::workflow::trigger_paths(manifest, app)
                    .into_iter()
                    .filter(|p| *p != workflow)
                    .collect(),
                branch_prefix_q,
                branch_suffix_q,
                when_built: "steps.decide.outputs.build == 'true'",
            });
            job
        })
        .collect()
}
