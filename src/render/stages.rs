//! The builder stages of an app's Dockerfile (`stage`) and what it copies out of them
//! (`copy-from`): the template's context, every value already checked.

use super::dockerfile::dockerfile_env_value;
use super::*;
use crate::model::{Stage, StageStep};

/// One builder stage as the Dockerfile template writes it.
#[derive(Serialize)]
pub(super) struct StageCtx {
    name: String,
    alias: String,
    /// What `FROM` names: `${STAGE_<NAME>_IMAGE}`, or the alias of the stage it builds on.
    from: String,
    parent: Option<String>,
    steps: Vec<StepCtx>,
}

/// One step; only the fields of its `kind` are set.
#[derive(Serialize, Default)]
struct StepCtx {
    kind: &'static str,
    packages: Vec<String>,
    /// `DL3008` when a package is unpinned.
    hadolint: String,
    env: Vec<String>,
    src: String,
    to: String,
    lines: Vec<String>,
}

/// A `COPY --from` line's parts.
#[derive(Serialize)]
pub(super) struct StageCopyCtx {
    from: String,
    root_owned: bool,
    mode: Option<String>,
    src: String,
    to: String,
}

/// The stages the app copies from, in build order, and their base images' build arguments.
pub(super) fn stages_ctx(manifest: &Manifest, app: &App) -> (Vec<StageCtx>, Vec<String>) {
    let copied: Vec<&str> = app.stage_copies.iter().map(|c| c.stage.as_str()).collect();
    let needed = crate::nodes::stages::needed(&manifest.stages, &copied);
    let args = needed
        .iter()
        .filter_map(|s| s.arg.as_ref().map(|a| format!("{a}={}", s.from)))
        .collect();
    (needed.into_iter().map(stage_ctx).collect(), args)
}

fn stage_ctx(s: &Stage) -> StageCtx {
    StageCtx {
        name: s.name.clone(),
        alias: s.alias.clone(),
        from: match &s.arg {
            Some(a) => format!("${{{a}}}"),
            None => s.from.clone(),
        },
        parent: s.parent.clone(),
        steps: s.steps.iter().map(step_ctx).collect(),
    }
}

fn step_ctx(step: &StageStep) -> StepCtx {
    match step {
        StageStep::Apt { packages } => StepCtx {
            kind: "apt",
            packages: packages.clone(),
            hadolint: if packages.iter().any(|p| !p.contains('=')) {
                "DL3008".into()
            } else {
                String::new()
            },
            ..StepCtx::default()
        },
        StageStep::Env { vars } => StepCtx {
            kind: "env",
            env: vars
                .iter()
                .map(|(k, v)| format!("{k}={}", dockerfile_env_value(v)))
                .collect(),
            ..StepCtx::default()
        },
        StageStep::File { src, to, directory } => StepCtx {
            kind: "file",
            src: if *directory {
                format!("{src}/")
            } else {
                src.clone()
            },
            to: to.clone(),
            ..StepCtx::default()
        },
        StageStep::Workdir { path } => StepCtx {
            kind: "workdir",
            to: path.clone(),
            ..StepCtx::default()
        },
        StageStep::Run { lines } => StepCtx {
            kind: "run",
            lines: lines.clone(),
            ..StepCtx::default()
        },
    }
}

pub(super) fn copies_ctx(app: &App) -> Vec<StageCopyCtx> {
    app.stage_copies
        .iter()
        .map(|c| StageCopyCtx {
            from: format!("{}{}", crate::nodes::stages::ALIAS_PREFIX, c.stage),
            root_owned: c.root_owned,
            mode: c.mode.clone(),
            src: c.src.clone(),
            to: c.to.clone(),
        })
        .collect()
}

/// The repository files an app's stages copy: (path, is a directory).
pub fn stage_files<'a>(manifest: &'a Manifest, app: &App) -> Vec<(&'a str, bool)> {
    let copied: Vec<&str> = app.stage_copies.iter().map(|c| c.stage.as_str()).collect();
    let mut out: Vec<(&str, bool)> = Vec::new();
    for s in crate::nodes::stages::needed(&manifest.stages, &copied) {
        for f in s.files() {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}
