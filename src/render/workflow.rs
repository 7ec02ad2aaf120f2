//! The build-push workflow of an app and the jcx-check workflow.

use super::build_job::{ActionsCtx, AppJobCtx, actions_ctx, app_job_ctx};
use super::*;

/// The workflow of one app: its triggers, then its jobs ([`AppJobCtx`]).
#[derive(Serialize)]
struct WorkflowCtx {
    header: String,
    workflow_name: String,
    push_branches: Vec<String>,
    push_tags: Vec<String>,
    /// The `paths` filter: the app's generated files, its own workflow, every file it copies
    /// and the manifest's extra `paths`.
    paths: Vec<String>,
    pull_requests: bool,
    release: bool,
    schedule: Vec<String>,
    apps: Vec<AppJobCtx>,
}

/// The repository paths whose changes build the app.
pub fn trigger_paths(manifest: &Manifest, app: &App) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let all = std::iter::once(format!("src/{}/**", app.name))
        .chain(std::iter::once(app.workflow_path()))
        .chain(app.hooks.iter().filter_map(|h| h.file.clone()))
        .chain(app.package_files().into_iter().map(String::from))
        .chain(
            super::dockerfile::copied_paths(manifest, app)
                .into_iter()
                .flat_map(|(src, directory)| filter_patterns(src, directory)),
        )
        .chain(app.paths.iter().cloned());
    for p in all {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

/// The `paths` filter patterns for a copied repository path. A glob's `?` and `[…]` mean
/// something else to GitHub's filters (`?` makes the character before it optional), so they
/// become `*`: the filter may then also fire for a neighbour, never miss a copied file. A
/// directory is everything under it; a glob that matches a directory is both.
fn filter_patterns(src: &str, directory: bool) -> Vec<String> {
    let glob = crate::nodes::repo_path::is_glob(src);
    let mut pattern = String::new();
    let mut class = false;
    for c in src.chars() {
        let c = match c {
            '[' => {
                class = true;
                '*'
            }
            ']' if class => {
                class = false;
                continue;
            }
            _ if class => continue,
            '?' => '*',
            c => c,
        };
        // `**` crosses directories in a filter: runs of `*` stay one.
        if !(c == '*' && pattern.ends_with('*')) {
            pattern.push(c);
        }
    }
    match (directory, glob) {
        (true, true) => vec![pattern.clone(), format!("{pattern}/**")],
        (true, false) => vec![format!("{pattern}/**")],
        (false, _) => vec![pattern],
    }
}

/// How the workflow of a chain says what it does (after the header).
const CHAIN_NOTE: &str = "#
# Apps built on apps (`base app=`): one job per app, each after the job of
# the app it is built on (`needs:`) and FROM exactly the image that job made
# (its pushed digest; on a pull request, which pushes nothing, the image
# itself, passed as an artifact). A job whose files did not change builds
# nothing; the apps built on it then use its published image, resolved to a
# digest once. See docs/generated-files.md in jcx.";

/// The workflow of an app, with the jobs of the apps built on it (`base app=`, a chain) when
/// there are any. The triggers are the app's (a chain's apps have the same ones).
pub fn render_workflow(manifest: &Manifest, app: &App) -> Result<String> {
    let quote = |v: &[String]| v.iter().map(|b| yaml_quote(b)).collect();
    let chain = super::chain::chain_of(manifest, app);
    let mut paths: Vec<String> = Vec::new();
    for a in &chain {
        for p in trigger_paths(manifest, a) {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    let (header, workflow_name, apps) = if chain.len() == 1 {
        (
            header(manifest, Some(&app.name)),
            format!("Build {}", app.name),
            vec![app_job_ctx(manifest, app)],
        )
    } else {
        (
            format!("{}\n{CHAIN_NOTE}", header(manifest, Some(&app.name))),
            format!("Build {} and the apps built on it", app.name),
            super::chain::chain_jobs(manifest, &chain),
        )
    };
    let ctx = WorkflowCtx {
        header,
        workflow_name: yaml_quote(&workflow_name),
        push_branches: quote(&app.branches),
        push_tags: quote(&app.git_tags),
        paths: quote(&paths),
        pull_requests: app.pull_requests,
        release: app.release,
        schedule: quote(&app.schedule),
        apps,
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
    pypi_package: &'static str,
    manifest_q: String,
    paths: Vec<String>,
    actions: ActionsCtx,
}

pub const CHECK_WORKFLOW_PATH: &str = ".github/workflows/jcx-check.yaml";

/// The Python distribution that carries the jcx binary (pyproject.toml): `jcx` on PyPI is
/// another project's.
pub const PYPI_PACKAGE: &str = "jcx-cli";

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
        pypi_package: PYPI_PACKAGE,
        manifest_q: yaml_quote(manifest_in_repo),
        // The package files too: `jcx check` reads them, and an edit can make them invalid. Of a
        // package directory, the files that make it one (`jcx check` looks for them).
        paths: [
            manifest_in_repo.to_string(),
            "src/**".to_string(),
            ".github/workflows/**".to_string(),
        ]
        .into_iter()
        .chain(
            manifest
                .jupyterhub
                .is_some()
                .then(|| "jupyterhub/**".to_string()),
        )
        .chain(crate::nodes::check::dedup(manifest.apps.iter().flat_map(
            |a| {
                a.package_files().into_iter().map(String::from).chain(
                    a.pip_packages.iter().flat_map(|p| {
                        crate::nodes::pip_package::MARKERS
                            .iter()
                            .map(move |m| format!("{}/{m}", p.src))
                    }),
                )
            },
        )))
        .map(|p| yaml_quote(&p))
        .collect(),
        actions: actions_ctx(manifest),
    };
    let yaml = render_with(&envs().1, "jcx-check.yaml", CHECK_WORKFLOW_PATH, ctx)?;
    Ok(Some(waive_long_uses_lines(&yaml)))
}

#[cfg(test)]
mod tests {
    use super::filter_patterns;

    #[test]
    fn copied_paths_as_filter_patterns() {
        assert_eq!(filter_patterns("etc/motd.txt", false), ["etc/motd.txt"]);
        assert_eq!(filter_patterns("tools", true), ["tools/**"]);
        assert_eq!(filter_patterns("nb/*.ipynb", false), ["nb/*.ipynb"]);
        assert_eq!(filter_patterns("data-?.csv", false), ["data-*.csv"]);
        assert_eq!(filter_patterns("x[0-9]*/a", false), ["x*/a"]);
        assert_eq!(filter_patterns("nb/*", true), ["nb/*", "nb/*/**"]);
    }
}
