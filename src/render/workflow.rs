//! The build-push workflow of an app and the jcx-check workflow.

use super::*;

#[derive(Serialize)]
pub(super) struct ActionsCtx {
    checkout: String,
    setup_qemu: String,
    setup_buildx: String,
    login: String,
    metadata: String,
    build_push: String,
    cache: String,
    upload_artifact: String,
    download_artifact: String,
}

pub(super) fn actions_ctx(manifest: &Manifest) -> ActionsCtx {
    let a = &manifest.actions;
    ActionsCtx {
        checkout: action(&a.checkout),
        setup_qemu: action(&a.setup_qemu),
        setup_buildx: action(&a.setup_buildx),
        login: action(&a.login),
        metadata: action(&a.metadata),
        build_push: action(&a.build_push),
        cache: action(&a.cache),
        upload_artifact: action(&a.upload_artifact),
        download_artifact: action(&a.download_artifact),
    }
}

#[derive(Serialize)]
struct WorkflowCtx {
    header: String,
    workflow_name: String,
    job_name: String,
    app: String,
    app_q: String,
    branches: Vec<String>,
    /// The `paths` filter: the app's generated files, its own workflow and every file it copies.
    paths: Vec<String>,
    runs_on: String,
    /// Self-hosted runners never build a fork's pull request.
    fork_guard: bool,
    timeout_minutes: u32,
    image: String,
    base_image: String,
    base_image_raw: String,
    base_tag: String,
    base_tag_q: String,
    description: Vec<String>,
    free_disk_space: bool,
    /// What the disk is freed for, in the step's name: "the CUDA build" or "the build".
    free_disk_for: &'static str,
    qemu: bool,
    packages_write: bool,
    registry: String,
    registry_q: String,
    username: String,
    password: String,
    platforms: String,
    build_args: Vec<String>,
    actions: ActionsCtx,
}

/// The registry login of every build workflow: username and password expressions, and whether
/// the password is the workflow's own GITHUB_TOKEN (which then needs `packages: write`).
pub(super) fn login(manifest: &Manifest) -> (String, String, bool) {
    let reg = &manifest.registry;
    // On ghcr.io, whatever the manifest does not name comes from the workflow itself: the actor
    // and its GITHUB_TOKEN (which then needs `packages: write`).
    let ghcr = reg.host == "ghcr.io";
    let username = match (&reg.username_secret, ghcr) {
        (Some(s), _) => format!("secrets.{s}"),
        (None, true) => "github.actor".to_string(),
        (None, false) => format!(
            "secrets.{}",
            crate::nodes::workflow::DEFAULT_USERNAME_SECRET
        ),
    };
    let (password, token) = match (&reg.password_secret, ghcr) {
        (Some(s), _) => (format!("secrets.{s}"), false),
        (None, true) => ("secrets.GITHUB_TOKEN".to_string(), true),
        (None, false) => (
            format!(
                "secrets.{}",
                crate::nodes::workflow::DEFAULT_PASSWORD_SECRET
            ),
            false,
        ),
    };
    (username, password, token)
}

/// The build arguments that point an app's build at the manifest's mirrors (those its
/// Dockerfile uses), after `BASE_IMAGE`.
pub fn mirror_build_args(manifest: &Manifest, app: &App) -> Vec<String> {
    let mut build_args = Vec::new();
    let m = &manifest.mirrors;
    if let Some(apt) = &m.apt
        && !app.apt.is_empty()
    {
        build_args.push(format!("APT_MIRROR={apt}"));
    }
    if let Some(c) = &m.conda
        && !app.mamba.is_empty()
    {
        build_args.push(format!("CONDA_CHANNEL={c}"));
    }
    if let (Some(p), Some(t)) = (&m.pytorch, &app.torch) {
        build_args.push(format!(
            "PYTORCH_INDEX_URL={}",
            torch_index_url(p, &t.index)
        ));
    }
    if let Some(p) = &m.pypi
        && !app.pip.is_empty()
    {
        build_args.push(format!("PYPI_INDEX_URL={p}"));
    }
    build_args
}

/// `runs-on` as YAML: one quoted label, or a flow list.
pub(super) fn runs_on(app: &App) -> String {
    if app.runs_on.len() == 1 {
        yaml_quote(&app.runs_on[0])
    } else {
        format!(
            "[{}]",
            app.runs_on
                .iter()
                .map(|l| yaml_quote(l))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The `paths` that concern one app's build: its generated files, its workflow and every
/// repository file it copies.
pub(super) fn app_paths(app: &App) -> Vec<String> {
    std::iter::once(format!("src/{}/**", app.name))
        .chain(std::iter::once(app.workflow_path()))
        .chain(app.hooks.iter().filter_map(|h| h.file.clone()))
        .chain(app.files.iter().map(|f| {
            if f.directory {
                format!("{}/**", f.src)
            } else {
                f.src.clone()
            }
        }))
        .collect()
}

pub fn render_workflow(manifest: &Manifest, app: &App) -> Result<String> {
    let reg = &manifest.registry;
    let (username, password, token) = login(manifest);
    let mut build_args = vec![format!("BASE_IMAGE={}", app.base.full())];
    build_args.extend(mirror_build_args(manifest, app));
    let ctx = WorkflowCtx {
        header: header(manifest, Some(&app.name)),
        workflow_name: yaml_quote(&format!("Build {}", app.name)),
        job_name: yaml_quote(&format!("Build and push {}", app.name)),
        app: app.name.clone(),
        app_q: yaml_quote(&app.name),
        branches: app.branches.iter().map(|b| yaml_quote(b)).collect(),
        paths: app_paths(app).iter().map(|p| yaml_quote(p)).collect(),
        runs_on: runs_on(app),
        fork_guard: app.self_hosted(),
        timeout_minutes: app.timeout_minutes,
        image: yaml_quote(&app.image),
        base_image: yaml_quote(&app.base.full()),
        base_image_raw: app.base.full(),
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
        packages_write: token,
        registry: reg.host.clone(),
        registry_q: yaml_quote(&reg.host),
        username,
        password,
        platforms: app.platforms.join(","),
        build_args,
        actions: actions_ctx(manifest),
    };
    let yaml = render_with(&envs().1, "build-push.yaml", &app.workflow_path(), ctx)?;
    Ok(waive_long_uses_lines(&yaml))
}

#[derive(Serialize)]
struct CheckCtx {
    header: String,
    jcx_version: String,
    jcx_version_q: String,
    repository: Option<String>,
    repository_q: Option<String>,
    /// The repository in the cache key, so two sources of one version never share a binary.
    repository_key: String,
    manifest_q: String,
    paths: Vec<String>,
    actions: ActionsCtx,
}

pub const CHECK_WORKFLOW_PATH: &str = ".github/workflows/jcx-check.yaml";

pub fn render_check_workflow(
    manifest: &Manifest,
    manifest_in_repo: &str,
) -> Result<Option<String>> {
    let Some(cw) = &manifest.check_workflow else {
        return Ok(None);
    };
    let ctx = CheckCtx {
        header: header(manifest, None),
        jcx_version: cw.jcx_version.clone(),
        jcx_version_q: yaml_quote(&cw.jcx_version),
        repository: cw.repository.clone(),
        repository_q: cw.repository.as_deref().map(yaml_quote),
        repository_key: cw.repository.as_deref().map_or_else(
            || "crates".to_string(),
            |r| {
                r.split_once("://")
                    .map_or(r, |(_, rest)| rest)
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect()
            },
        ),
        manifest_q: yaml_quote(manifest_in_repo),
        paths: vec![
            yaml_quote(manifest_in_repo),
            yaml_quote("src/**"),
            yaml_quote(".github/workflows/**"),
        ],
        actions: actions_ctx(manifest),
    };
    let yaml = render_with(&envs().1, "jcx-check.yaml", CHECK_WORKFLOW_PATH, ctx)?;
    Ok(Some(waive_long_uses_lines(&yaml)))
}
