//! The jobs that build and push one app (`build-job.yaml.j2` and its includes), from one
//! [`AppJobCtx`]. A workflow holds the jobs of one or more apps: everything an app's jobs need
//! is in its own context, job ids and `needs` included.

use super::*;
use crate::model::{Cache, Latest, Push, TagPart, TagTemplate};
use crate::nodes::image_tags::DEFAULT_TEMPLATES;
use crate::nodes::publish::native_runner;

#[derive(Serialize)]
pub struct ActionsCtx {
    pub checkout: String,
    pub setup_qemu: String,
    pub setup_buildx: String,
    pub login: String,
    pub metadata: String,
    pub build_push: String,
    pub cache: String,
    pub cosign_installer: String,
    pub aws_credentials: String,
    pub upload_artifact: String,
    pub download_artifact: String,
}

pub fn actions_ctx(manifest: &Manifest) -> ActionsCtx {
    let a = &manifest.actions;
    ActionsCtx {
        checkout: action(&a.checkout),
        setup_qemu: action(&a.setup_qemu),
        setup_buildx: action(&a.setup_buildx),
        login: action(&a.login),
        metadata: action(&a.metadata),
        build_push: action(&a.build_push),
        cache: action(&a.cache),
        cosign_installer: action(&a.cosign_installer),
        aws_credentials: action(&a.aws_credentials),
        upload_artifact: action(&a.upload_artifact),
        download_artifact: action(&a.download_artifact),
    }
}

/// One registry login (after assuming an AWS role, for ECR with `aws-role`).
#[derive(Serialize)]
struct LoginCtx {
    registry: String,
    registry_q: String,
    username: String,
    password: String,
    aws_role: Option<String>,
    aws_region: Option<String>,
}

/// One platform's job with native runners.
#[derive(Serialize)]
struct MatrixCtx {
    platform: String,
    arch: String,
    runner: String,
}

#[derive(Serialize)]
pub struct AppJobCtx {
    /// `build`; an app's jobs in a workflow of several apps need ids of their own.
    pub job_id: String,
    /// `merge`, the job that publishes the platforms built on their own runners.
    pub merge_job_id: String,
    /// Jobs this app's build waits for.
    pub needs: Vec<String>,
    job_name: String,
    merge_job_name: String,
    app: String,
    app_q: String,
    /// Self-hosted runners never build a fork's pull request.
    fork_guard: bool,
    runs_on: String,
    timeout_minutes: u32,
    permissions: Vec<&'static str>,
    merge_permissions: Vec<&'static str>,
    image: String,
    pub(super) base_image: String,
    pub(super) base_image_raw: String,
    base_tag_q: String,
    description: Vec<String>,
    free_disk_space: bool,
    /// What the disk is freed for, in the step's name: "the CUDA build" or "the build".
    free_disk_for: &'static str,
    qemu: bool,
    logins: Vec<LoginCtx>,
    /// Every pushed image, the first registry's first.
    images: Vec<String>,
    /// The images as the value of a step's `IMAGES` variable, one per line.
    images_env: String,
    tag_lines: Vec<String>,
    flavor_latest_false: bool,
    latest_on_release: bool,
    date_step: bool,
    /// The summary names the image through metadata-action's `version` (the first template).
    summary_version: bool,
    /// What publishes the app, for the summary of a pull request (constant text).
    pr_note: String,
    platforms: String,
    pub(super) build_args: Vec<String>,
    /// `cache-from:`/`cache-to:` lines.
    cache: Vec<String>,
    /// The registry cache's reference, as a YAML scalar.
    cache_ref: Option<String>,
    provenance: Option<&'static str>,
    sbom: bool,
    sign: bool,
    list_packages: bool,
    /// Native runners for several platforms: one build job per platform, then `merge`.
    matrix: Vec<MatrixCtx>,
    /// The expression of the pushed digest (the build's, or the merged list's).
    digest: &'static str,
    actions: ActionsCtx,
    /// The app is one of a chain of apps built on apps (`base app=`).
    pub(super) chain: Option<super::chain::ChainJobCtx>,
}

fn login(p: &Push) -> LoginCtx {
    use crate::nodes::workflow::{DEFAULT_PASSWORD_SECRET, DEFAULT_USERNAME_SECRET};
    let r = &p.registry;
    // On ghcr.io, whatever the manifest does not name comes from the workflow itself: the actor
    // and its GITHUB_TOKEN (which then needs `packages: write`).
    let ghcr = r.is_ghcr();
    let username = match (&r.username_secret, ghcr) {
        (Some(s), _) => format!("secrets.{s}"),
        (None, true) => "github.actor".to_string(),
        (None, false) => format!("secrets.{DEFAULT_USERNAME_SECRET}"),
    };
    let password = match (&r.password_secret, ghcr) {
        (Some(s), _) => format!("secrets.{s}"),
        (None, true) => "secrets.GITHUB_TOKEN".to_string(),
        (None, false) => format!("secrets.{DEFAULT_PASSWORD_SECRET}"),
    };
    LoginCtx {
        registry: r.host.clone(),
        registry_q: yaml_quote(&r.host),
        username,
        password,
        aws_role: r.aws_role.as_deref().map(yaml_quote),
        aws_region: r.ecr_region().map(yaml_quote),
    }
}

/// The build arguments that point an app's build at the manifest's mirrors (those its
/// Dockerfile uses), as its workflow passes them after `BASE_IMAGE` (and `jcx build` too).
pub fn mirror_build_args(manifest: &Manifest, app: &App) -> Vec<String> {
    build_args(manifest, app).split_off(1)
}

fn build_args(manifest: &Manifest, app: &App) -> Vec<String> {
    let mut args = vec![format!("BASE_IMAGE={}", app.base.full())];
    let m = &manifest.mirrors;
    if let Some(apt) = &m.apt
        && !app.apt.is_empty()
    {
        args.push(format!("APT_MIRROR={apt}"));
    }
    if let Some(c) = &m.conda
        && !app.mamba.is_empty()
    {
        args.push(format!("CONDA_CHANNEL={c}"));
    }
    if let (Some(p), Some(t)) = (&m.pytorch, &app.torch) {
        args.push(format!(
            "PYTORCH_INDEX_URL={}",
            torch_index_url(p, &t.index)
        ));
    }
    if let Some(p) = &m.pypi
        && app.reads_pypi()
    {
        args.push(format!("PYPI_INDEX_URL={p}"));
    }
    args
}

/// A value for `KEY: ` at `indent`: single-quoted, or folded onto a line of its own when that
/// would pass yamllint's 80 columns (a line without spaces may run long).
fn env_scalar(indent: usize, key: &str, v: &str) -> String {
    let quoted = yaml_quote(v);
    if indent + key.len() + 2 + quoted.len() <= YAML_MAX_LINE || v.contains(' ') {
        quoted
    } else {
        format!(">-\n{}{v}", " ".repeat(indent + 2))
    }
}

fn runs_on(labels: &[String]) -> String {
    if labels.len() == 1 {
        yaml_quote(&labels[0])
    } else {
        let quoted: Vec<String> = labels.iter().map(|l| yaml_quote(l)).collect();
        format!("[{}]", quoted.join(", "))
    }
}

/// A part as docker/metadata-action writes it in `prefix=`, `suffix=`, `value=` or a semver
/// `pattern=`. No expression here contains a space: yamllint lets an unbreakable line run long.
fn part_expr(p: &TagPart, base: &str) -> String {
    match p {
        TagPart::Text(t) => t.clone(),
        TagPart::Base => base.to_string(),
        TagPart::Sha => "${{github.sha}}".into(),
        TagPart::ShortSha => "{{sha}}".into(),
        TagPart::Branch => "{{branch}}".into(),
        TagPart::GitTag => "{{tag}}".into(),
        TagPart::Date => "${{steps.date.outputs.date}}".into(),
        TagPart::Version => "{{version}}".into(),
        TagPart::Major => "{{major}}".into(),
        TagPart::Minor => "{{minor}}".into(),
        TagPart::Patch => "{{patch}}".into(),
    }
}

/// One `tags:` line of docker/metadata-action. The part that says when the tag exists is the
/// anchor and picks the type (a version: `semver`, only for semver git tags; `{git-tag}`: tags;
/// `{branch}`: branches; a commit: `sha`); the rest becomes its prefix and suffix.
fn tag_line(t: &TagTemplate, base: &str, schedule: bool, priority: Option<usize>) -> String {
    let p = &t.parts;
    let join = |r: &[TagPart]| r.iter().map(|x| part_expr(x, base)).collect::<String>();
    let semver = (
        p.iter().position(TagPart::is_semver),
        p.iter().rposition(TagPart::is_semver),
    );
    let anchor = |want: &TagPart| p.iter().position(|x| x == want);
    let (mut line, from, to) = if let (Some(a), Some(b)) = semver {
        (format!("type=semver,pattern={}", join(&p[a..=b])), a, b + 1)
    } else if let Some(i) = anchor(&TagPart::GitTag) {
        ("type=ref,event=tag".to_string(), i, i + 1)
    } else if let Some(i) = anchor(&TagPart::Branch) {
        ("type=ref,event=branch".to_string(), i, i + 1)
    } else if let Some(i) = anchor(&TagPart::Sha) {
        ("type=sha,format=long".to_string(), i, i + 1)
    } else if let Some(i) = anchor(&TagPart::ShortSha) {
        ("type=sha".to_string(), i, i + 1)
    } else {
        (format!("type=raw,value={}", join(p)), 0, p.len())
    };
    let (prefix, suffix) = (join(&p[..from]), join(&p[to..]));
    // `type=sha` prefixes `sha-` unless told otherwise.
    if !prefix.is_empty() || line.starts_with("type=sha") {
        line.push_str(&format!(",prefix={prefix}"));
    }
    if !suffix.is_empty() {
        line.push_str(&format!(",suffix={suffix}"));
    }
    if schedule && t.parts.iter().any(TagPart::is_commit) {
        line.push_str(",enable=${{github.event_name!='schedule'}}");
    }
    if let Some(n) = priority {
        line.push_str(&format!(",priority={n}"));
    }
    line
}

/// The tag lines, and whether the scheme is jcx's default (rendered exactly as before tag
/// schemes existed: no priorities, no flavor).
fn tag_lines(app: &App) -> (Vec<String>, bool) {
    let tags = &app.image_tags;
    let default = tags.latest == Latest::Never
        && app.schedule.is_empty()
        && tags
            .templates
            .iter()
            .map(|t| t.source.as_str())
            .eq(DEFAULT_TEMPLATES.iter().copied());
    let schedule = !app.schedule.is_empty();
    let mut lines: Vec<String> = tags
        .templates
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // The first template is the one the summary names: metadata-action's `version`
            // output is its highest-priority tag.
            let priority = (!default).then(|| 1000 - 10 * i.min(99));
            tag_line(t, &app.base.tag, schedule, priority)
        })
        .collect();
    match tags.latest {
        Latest::Never => {}
        Latest::DefaultBranch => {
            lines.push("type=raw,value=latest,enable={{is_default_branch}},priority=1".into())
        }
        Latest::Release => {
            lines.push("type=raw,value=latest,enable=${{env.LATEST}},priority=1".into())
        }
    }
    (lines, default)
}

fn cache_lines(app: &App) -> Vec<String> {
    let arch = if app.split_platforms() {
        "-${{ matrix.arch }}"
    } else {
        ""
    };
    match app.cache {
        Cache::Off => Vec::new(),
        Cache::Gha => vec![
            format!("cache-from: type=gha,scope={}{arch}", app.name),
            format!("cache-to: type=gha,mode=max,scope={}{arch}", app.name),
        ],
        // Pull requests read the cache but never write it (they are not logged in, and a pull
        // request must not be able to poison the cache the next push builds from).
        Cache::Registry => vec![
            "cache-from: type=registry,ref=${{ env.CACHE_REF }}".into(),
            [
                "cache-to: >-",
                "  ${{ github.event_name != 'pull_request'",
                "  && format('type=registry,ref={0},{1}', env.CACHE_REF,",
                "  'mode=max,image-manifest=true,oci-mediatypes=true') || '' }}",
            ]
            .join("\n          "),
        ],
    }
}

fn pr_note(app: &App) -> String {
    if !app.branches.is_empty() {
        return "It is pushed when the change reaches a build branch.".into();
    }
    let mut when = Vec::new();
    if !app.git_tags.is_empty() {
        when.push("a matching git tag is pushed");
    }
    if app.release {
        when.push("a release is published");
    }
    if !app.schedule.is_empty() {
        when.push("the schedule runs");
    }
    match when.split_last() {
        None => "It is pushed only by a manual run.".into(),
        Some((last, [])) => format!("It is pushed when {last}."),
        Some((last, rest)) => format!("It is pushed when {} or {last}.", rest.join(", ")),
    }
}

fn permissions(app: &App, job: &str) -> Vec<&'static str> {
    let mut p = Vec::new();
    if job == "build" {
        p.push("contents: read");
    }
    if app.pushes.iter().any(|p| p.registry.uses_github_token()) {
        p.push("packages: write");
    }
    let signs_here = app.sign && (job == "merge" || !app.split_platforms());
    if signs_here || app.pushes.iter().any(|p| p.registry.aws_role.is_some()) {
        p.push("id-token: write");
    }
    p
}

pub fn app_job_ctx(manifest: &Manifest, app: &App) -> AppJobCtx {
    let (tag_lines, default_tags) = tag_lines(app);
    let images: Vec<String> = app.pushes.iter().map(|p| p.image.clone()).collect();
    let split = app.split_platforms();
    let matrix = if split {
        app.platforms
            .iter()
            .map(|p| MatrixCtx {
                platform: p.clone(),
                arch: p.trim_start_matches("linux/").to_string(),
                runner: runs_on(&native_runner(app, p)),
            })
            .collect()
    } else {
        Vec::new()
    };
    // One platform on native runners: its own runner, no QEMU.
    let (labels, qemu) = if app.native_runners && app.platforms.len() == 1 {
        (native_runner(app, &app.platforms[0]), false)
    } else {
        (
            app.runs_on.clone(),
            !split && app.platforms.iter().any(|p| p != "linux/amd64"),
        )
    };
    AppJobCtx {
        job_id: "build".into(),
        merge_job_id: "merge".into(),
        needs: Vec::new(),
        job_name: yaml_quote(&if split {
            format!("Build {} (${{{{ matrix.platform }}}})", app.name)
        } else {
            format!("Build and push {}", app.name)
        }),
        merge_job_name: yaml_quote(&format!("Publish {} for every platform", app.name)),
        app: app.name.clone(),
        app_q: yaml_quote(&app.name),
        fork_guard: app.self_hosted(),
        runs_on: runs_on(&labels),
        timeout_minutes: app.timeout_minutes,
        permissions: permissions(app, "build"),
        merge_permissions: permissions(app, "merge"),
        image: yaml_quote(&app.image),
        base_image: yaml_quote(&app.base.full()),
        base_image_raw: app.base.full(),
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
        qemu,
        logins: app.pushes.iter().map(login).collect(),
        images_env: if images.len() == 1 {
            yaml_quote(&images[0])
        } else {
            format!("|-\n            {}", images.join("\n            "))
        },
        images,
        flavor_latest_false: !default_tags,
        latest_on_release: app.image_tags.latest == Latest::Release,
        date_step: app
            .image_tags
            .templates
            .iter()
            .any(|t| t.parts.contains(&TagPart::Date)),
        summary_version: !default_tags,
        pr_note: pr_note(app),
        tag_lines,
        platforms: if split {
            "${{ matrix.platform }}".into()
        } else {
            app.platforms.join(",")
        },
        build_args: build_args(manifest, app),
        cache: cache_lines(app),
        cache_ref: (app.cache == Cache::Registry).then(|| {
            let arch = if split { "-${{matrix.arch}}" } else { "" };
            env_scalar(
                6,
                "CACHE_REF",
                &format!("{}:buildcache-{}{arch}", app.image, app.name),
            )
        }),
        provenance: app.provenance.map(|p| if p { "mode=max" } else { "false" }),
        sbom: app.sbom,
        sign: app.sign,
        list_packages: app.list_packages,
        matrix,
        digest: if split {
            "steps.merge.outputs.digest"
        } else {
            "steps.build.outputs.digest"
        },
        actions: actions_ctx(manifest),
        chain: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::image_tags::parse_template;

    fn line(t: &str, schedule: bool, priority: Option<usize>) -> String {
        let t = TagTemplate {
            source: t.into(),
            parts: parse_template(t).unwrap(),
        };
        tag_line(&t, "python-3.11", schedule, priority)
    }

    #[test]
    fn the_default_scheme_is_written_as_before() {
        assert_eq!(
            line("{base}-{sha}", false, None),
            "type=sha,format=long,prefix=python-3.11-"
        );
        assert_eq!(
            line("{base}-{branch}", false, None),
            "type=ref,event=branch,prefix=python-3.11-"
        );
    }

    #[test]
    fn tag_lines() {
        assert_eq!(line("{short-sha}", false, None), "type=sha,prefix=");
        assert_eq!(
            line("v{major}.{minor}-{base}", false, Some(990)),
            "type=semver,pattern={{major}}.{{minor}},prefix=v,suffix=-python-3.11,priority=990"
        );
        assert_eq!(
            line("{branch}-{short-sha}", true, None),
            "type=ref,event=branch,suffix=-{{sha}},enable=${{github.event_name!='schedule'}}"
        );
        assert_eq!(
            line("{base}-{date}", false, None),
            "type=raw,value=python-3.11-${{steps.date.outputs.date}}"
        );
        assert_eq!(
            line("{git-tag}-{sha}", false, None),
            "type=ref,event=tag,suffix=-${{github.sha}}"
        );
        assert_eq!(
            line("stable", false, Some(1000)),
            "type=raw,value=stable,priority=1000"
        );
        // No line holds a space: yamllint lets such a line exceed 80 columns.
        assert!(!line("{date}-{version}-{sha}", true, Some(1)).contains(' '));
    }
}
