//! The manifest language: every node jcx reads, one module per family of nodes. Each family
//! module holds its nodes' raw form, how they are read from KDL, their rules and how they build
//! the model; this module registers them (the two tables below are the only registration
//! points) and drives the two front-end stages:
//!
//! - [`read`]: KDL document -> [`RawManifest`] (the *shape* of each node: arguments, properties,
//!   children, KDL types; every deviation reported);
//! - [`validate`]: raw -> [`crate::model::Manifest`] (every rule about values, inheritance through
//!   `defaults` and `extends`, PyTorch compatibility). Every problem is collected; the model is
//!   built only when there is no error, so renderers never see an unchecked value.
//!
//! To add a setting: declare a [`Setting`] in its family's module, list it in [`SETTINGS`],
//! document it in `docs/manifest.md` and `docs/rules.md`, and add fixtures. Reading, merging,
//! did-you-mean suggestions and `explain` follow from the declaration; tests fail when the docs
//! or `explain` miss it.

pub mod apt_repository;
pub mod block_copy;
pub mod chain;
pub mod check;
pub mod code_server;
pub mod conda_config;
pub mod conda_env;
pub mod conda_lock;
pub mod copy_from;
pub mod cuda;
pub mod decode;
pub mod delta;
pub mod dockerfile;
pub mod downloads;
pub mod env;
pub mod files;
pub mod fs;
pub mod hooks;
pub mod identity;
pub mod image_tags;
pub mod jupyter;
pub mod jupyterhub;
pub mod kernel_install;
pub mod kernels;
pub mod locale;
pub mod metadata;
pub mod packages;
pub mod perms;
pub mod pip;
pub mod pip_package;
pub mod pip_remove;
pub mod publish;
pub mod raw;
pub mod repo_path;
pub mod reqfile;
pub mod runtime;
pub mod setting;
pub mod sources;
pub mod stages;
pub mod tag_collision;
pub mod triggers;
pub mod variants;
pub mod workflow;

use kdl::{KdlDocument, KdlNode};
use std::collections::HashMap;

use miette::SourceSpan;

use crate::error::{Code, Problem};
use crate::model::{App, Manifest};
use check::Checker;
use decode::unknown_node;
pub use identity::{RawApp, Resolved};
pub use raw::{RawSettings, Sp};
pub use setting::Setting;

/// Every setting of a `defaults` or `app` block, in the order `explain` shows them.
pub static SETTINGS: &[&Setting] = &[
    &identity::DESCRIPTION,
    &identity::BASE,
    &identity::PYTHON,
    &identity::IMAGE_NAME,
    &identity::IMAGE_SUFFIX,
    &cuda::CUDA,
    &packages::APT,
    &packages::APT_RECOMMENDS,
    &apt_repository::APT_REPOSITORY,
    &locale::TIMEZONE,
    &locale::LOCALE,
    &packages::MAMBA,
    &conda_config::CONDA_CONFIG,
    &code_server::CODE_SERVER,
    &pip::PIP,
    &pip::PIP_PRE,
    &pip_remove::PIP_REMOVE,
    &kernels::KERNEL,
    &kernels::REMOVE_KERNEL,
    &kernel_install::KERNEL_INSTALL,
    &env::ENV,
    &metadata::LABELS,
    &metadata::BUILD_ARGS,
    &metadata::WORKDIR,
    &runtime::CMD,
    &runtime::ENTRYPOINT,
    &runtime::EXPOSE,
    &workflow::BRANCHES,
    &triggers::GIT_TAGS,
    &triggers::RELEASE,
    &triggers::SCHEDULE,
    &triggers::PULL_REQUESTS,
    &triggers::PATHS,
    &workflow::RUNS_ON,
    &workflow::PLATFORMS_SETTING,
    &publish::NATIVE_RUNNERS,
    &publish::REGISTRIES,
    &image_tags::IMAGE_TAGS,
    &publish::CACHE,
    &publish::SBOM,
    &publish::PROVENANCE,
    &publish::SIGN,
    &publish::LIST_PACKAGES,
    &files::FILE,
    &fs::REMOVE,
    &fs::DIR,
    &perms::PERMISSIONS,
    &fs::SYMLINK,
    &copy_from::COPY_FROM,
    &downloads::DOWNLOAD,
    &jupyter::JUPYTER,
    &hooks::HOOK,
    &dockerfile::DOCKERFILE,
    &workflow::FREE_DISK_SPACE,
    &workflow::TIMEOUT_MINUTES,
    &jupyterhub::HUB_PROFILE,
];

type ReadTop = fn(&KdlNode, &mut RawManifest, &mut Vec<(String, SourceSpan)>, &mut Vec<Problem>);

/// A top-level node: its name, a complete example (for "value missing" help) and its reader.
pub struct TopNode {
    pub name: &'static str,
    pub example: Option<&'static str>,
    pub read: ReadTop,
}

/// Every top-level node.
pub static TOP: &[TopNode] = &[
    TopNode {
        name: "manifest-version",
        example: None,
        read: identity::read_version,
    },
    TopNode {
        name: "registry",
        example: Some("registry \"ghcr.io\" namespace=my-lab"),
        read: workflow::read_registry,
    },
    TopNode {
        name: "defaults",
        example: None,
        read: identity::read_defaults,
    },
    TopNode {
        name: "mirrors",
        example: None,
        read: sources::read_mirrors,
    },
    TopNode {
        name: "actions",
        example: None,
        read: sources::read_actions,
    },
    TopNode {
        name: "check-workflow",
        example: None,
        read: workflow::read_check_workflow,
    },
    TopNode {
        name: "jupyterhub",
        example: None,
        read: jupyterhub::read_hub,
    },
    TopNode {
        name: "stage",
        example: Some("stage rust-tools { ... }"),
        read: stages::read_stage,
    },
    TopNode {
        name: "app",
        example: Some("app jupyter-pytorch { ... }"),
        read: variants::read_app,
    },
];

/// The setting called `name`.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().copied().find(|s| s.name == name)
}

/// A complete example of a node that takes one value, for "value missing" help.
pub fn example(node: &str) -> Option<&'static str> {
    TOP.iter()
        .find(|t| t.name == node)
        .and_then(|t| t.example)
        .or_else(|| setting(node).and_then(|s| s.example))
}

#[derive(Debug, Default)]
pub struct RawManifest {
    pub version: Option<Sp<i128>>,
    /// A `manifest-version` node exists (even if its value was refused): no "missing" error then.
    pub version_given: bool,
    /// Every `registry` node with a host, in manifest order.
    pub registries: Vec<workflow::RawRegistry>,
    /// A `registry` node exists (even if its value was refused).
    pub registry_given: bool,
    /// How many `app` nodes the document has, parsed or not.
    pub app_nodes: usize,
    pub defaults: Option<RawSettings>,
    pub mirrors: sources::RawMirrors,
    pub actions: Vec<sources::RawAction>,
    pub check_workflow: Option<workflow::RawCheckWorkflow>,
    pub jupyterhub: Option<jupyterhub::RawHub>,
    pub apps: Vec<RawApp>,
    /// Builder stages (`stage`), in manifest order.
    pub stages: Vec<stages::RawStage>,
}

/// KDL document -> raw manifest, reporting every node of the wrong shape.
pub fn read(doc: &KdlDocument, problems: &mut Vec<Problem>) -> RawManifest {
    let mut m = RawManifest::default();
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    for node in doc.nodes() {
        let name = node.name().value();
        match TOP.iter().find(|t| t.name == name) {
            Some(top) => (top.read)(node, &mut m, &mut seen, problems),
            None => {
                let names: Vec<&str> = TOP.iter().map(|t| t.name).collect();
                let mut p = unknown_node(node, name, &names, "the top level of the manifest");
                if setting(name).is_some() {
                    p = p.help(format!(
                        "`{name}` is a setting: put it inside `defaults {{ ... }}` or an `app` block"
                    ));
                }
                problems.push(p);
            }
        }
    }
    m
}

/// What validation produced: the model (when there was no error), every problem, and the
/// resolved settings with their spans.
pub struct Outcome {
    pub manifest: Option<Manifest>,
    pub problems: Vec<Problem>,
    pub resolved: Vec<Resolved>,
}

/// Raw manifest -> model, with every problem (those of `read` included), sorted by place.
pub fn validate(
    raw: &RawManifest,
    source_name: &str,
    source_text: &str,
    root: Option<&std::path::Path>,
    mut problems: Vec<Problem>,
) -> Outcome {
    let mut cx = Checker {
        problems: &mut problems,
        text: source_text,
        root,
        files: Default::default(),
    };
    let (manifest, resolved) = manifest(&mut cx, raw, source_name);
    // The manifest's problems first, then each repository file's, each by place.
    problems.sort_by(|a, b| {
        (a.file_name(), a.span.offset(), a.span.len(), a.code).cmp(&(
            b.file_name(),
            b.span.offset(),
            b.span.len(),
            b.code,
        ))
    });
    problems.dedup_by(|a, b| {
        a.code == b.code
            && a.span == b.span
            && a.message == b.message
            && a.file_name() == b.file_name()
    });
    let has_error = problems.iter().any(Problem::is_error);
    Outcome {
        manifest: if has_error { None } else { manifest },
        problems,
        resolved,
    }
}

/// Checks every value of one block where it is written.
fn check_block(cx: &mut Checker<'_>, s: &RawSettings) {
    for def in SETTINGS {
        if let Some(v) = s.get(def) {
            (def.check)(cx, v);
        }
    }
}

fn manifest(
    cx: &mut Checker<'_>,
    raw: &RawManifest,
    source_name: &str,
) -> (Option<Manifest>, Vec<Resolved>) {
    identity::check_version(cx, raw);
    let registries = workflow::registries(cx, raw);
    let mirrors = sources::mirrors(cx, raw);
    let actions = sources::actions(cx, raw);
    let check_workflow = workflow::check_workflow(cx, raw);
    if let Some(d) = &raw.defaults {
        check_block(cx, d);
    }
    // A variant's problems are held until every variant of its template was checked, so that
    // those they all share are reported once (see `variants::merge`).
    let mut held = variants::Held::default();
    for app in &raw.apps {
        let mark = cx.problems.len();
        check_block(cx, &app.settings);
        held.take(cx.problems, mark, app.variant.as_ref());
    }
    let stages = stages::validate(cx, raw);
    let resolved = identity::resolve(cx, raw);
    let variant_of: HashMap<&str, &variants::RawVariant> = raw
        .apps
        .iter()
        .filter_map(|a| Some((a.name.v.as_str(), a.variant.as_ref()?)))
        .collect();
    if raw.app_nodes == 0 {
        cx.push(
            Problem::error(Code::NoApps, SourceSpan::from(0..0), "the manifest declares no app")
                .label("nothing to build")
                .help("add an app: `app my-notebook { base \"quay.io/jupyter/scipy-notebook:python-3.11\" }`"),
        );
    }
    let parents = if chain::check_defaults(cx, raw) {
        chain::parents(cx, raw, &resolved)
    } else {
        vec![Err(()); resolved.len()]
    };
    // Whole models, parents first: a child takes its root image, Python and PyTorch from its
    // parent's model.
    let mut whole: Vec<Option<App>> = vec![None; resolved.len()];
    for i in chain::build_order(&parents) {
        let r = &resolved[i];
        let parent = match parents[i] {
            Ok(Some(p)) => match &whole[p] {
                Some(app) => Some(app),
                None => continue,
            },
            _ => None,
        };
        let variant = variant_of.get(r.name.v.as_str()).copied();
        let mark = cx.problems.len();
        packages::check_channels(cx, r, mirrors.conda.is_some());
        runtime::check_app(cx, r);
        let app_built = identity::build_app(cx, r, registries.as_deref(), parent);
        held.take(cx.problems, mark, variant);
        whole[i] = app_built.map(|mut app| {
            app.variant = variant.map(variants::RawVariant::model);
            app
        });
    }
    let mut apps = Vec::new();
    let mut built = Vec::new();
    for (i, r) in resolved.iter().enumerate() {
        let Some(mut app) = whole[i].clone() else {
            continue;
        };
        if let Ok(Some(p)) = parents[i] {
            let mark = cx.problems.len();
            let ancestors = ancestors(&parents, &whole, p);
            let root = ancestors.last().copied().unwrap_or(&app);
            chain::check_against_parent(cx, r, &app, ancestors[0], root);
            delta::subtract(&mut app, &ancestors);
            held.take(
                cx.problems,
                mark,
                variant_of.get(r.name.v.as_str()).copied(),
            );
        }
        built.push((r, app.name.clone()));
        apps.push(app);
    }
    image_tags::collisions(cx, &apps, &built);
    let jupyterhub = jupyterhub::model(cx, raw, &resolved, &apps);
    held.finish(raw, cx.problems);
    let manifest = registries.map(|registries| Manifest {
        source_name: source_name.to_string(),
        registries,
        mirrors,
        actions,
        check_workflow,
        apps,
        jupyterhub,
        stages,
    });
    (manifest, resolved)
}

/// The whole models of app `p` and its ancestors, nearest first.
fn ancestors<'a>(
    parents: &[Result<Option<usize>, ()>],
    whole: &'a [Option<App>],
    p: usize,
) -> Vec<&'a App> {
    let mut out = Vec::new();
    let mut at = Some(p);
    while let Some(i) = at {
        let Some(app) = &whole[i] else { break };
        out.push(app);
        at = parents[i].ok().flatten();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Timings, source::Source};

    /// One sample node per setting, different from jcx's default. A new setting without a
    /// sample fails `every_setting_has_a_sample`.
    const SAMPLES: &[(&str, &str)] = &[
        ("description", r#"description "A sample""#),
        (
            "base",
            r#"base "quay.io/jupyter/scipy-notebook:python-3.11""#,
        ),
        ("python", r#"python "3.11""#),
        ("image-name", "image-name sample-notebook"),
        ("image-suffix", "image-suffix gpu"),
        ("cuda", r#"cuda "11.8""#),
        ("apt", "apt vim"),
        ("apt-recommends", "apt-recommends #true"),
        (
            "apt-repository",
            r#"apt-repository tools "https://apt.example.org/debian" suite=stable components=main key="https://apt.example.org/key.gpg" fingerprint="0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567" { packages tool; }"#,
        ),
        ("timezone", r#"timezone "Europe/Berlin""#),
        ("locale", r#"locale "de_DE.UTF-8" "C.UTF-8""#),
        ("mamba", "mamba nodejs"),
        (
            "conda-config",
            r#"conda-config { channel_priority strict; channels conda-forge bioconda; remote_max_retries 5; }"#,
        ),
        (
            "code-server",
            r#"code-server "4.22.1" { extensions ms-python.python; }"#,
        ),
        ("pip", r#"pip { - "requests==2.32.3"; }"#),
        ("pip-pre", "pip-pre #true"),
        ("pip-remove", "pip-remove jupyter-server-terminals"),
        (
            "kernel",
            r#"kernel py310 display-name="Python 3.10" { python "3.10"; mamba "numpy<2"; pip { - "idna==3.7"; }; }"#,
        ),
        ("remove-kernel", "remove-kernel python3"),
        ("kernel-install", "kernel-install bash_kernel.install"),
        ("env", r#"env { HF_HOME "/data"; }"#),
        ("labels", r#"labels { "org.example.course" "ml-101"; }"#),
        ("build-args", r#"build-args { COURSE_YEAR "2026"; }"#),
        ("workdir", r#"workdir "/home/jovyan/work""#),
        (
            "cmd",
            r#"cmd "start-notebook.py" "--ServerApp.default_url=/lab""#,
        ),
        ("entrypoint", r#"entrypoint "tini" "-g" "--" "start.sh""#),
        ("expose", r#"expose 8888 "9000/udp""#),
        ("branches", "branches dev"),
        ("git-tags", r#"git-tags "v*""#),
        ("release", "release #true"),
        ("schedule", r#"schedule "0 3 * * 1""#),
        ("pull-requests", "pull-requests #false"),
        ("paths", r#"paths "shared/**""#),
        ("runs-on", "runs-on gpu-runner"),
        ("platforms", r#"platforms "linux/arm64""#),
        ("native-runners", "native-runners #true"),
        ("registries", r#"registries "ghcr.io""#),
        (
            "image-tags",
            r#"image-tags "{base}-{short-sha}" "{branch}" "{version}" latest=release"#,
        ),
        ("cache", "cache off"),
        ("sbom", "sbom #true"),
        ("provenance", "provenance #true"),
        ("sign", "sign #true"),
        ("list-packages", "list-packages #false"),
        ("file", r#"file "apps.kdl" to="/etc/jcx/""#),
        ("remove", r#"remove "/home/jovyan/work""#),
        ("dir", r#"dir "/data" mode="0775""#),
        (
            "permissions",
            r#"permissions "/data" owner=notebook mode="a+rX" recursive=#true"#,
        ),
        (
            "symlink",
            r#"symlink "/usr/local/bin/py" to="/opt/conda/bin/python""#,
        ),
        (
            "copy-from",
            r#"copy-from tools "/out/tool" to="/usr/local/bin/tool" owner=root"#,
        ),
        (
            "download",
            r#"download tool "https://example.org/tool" sha256="0000000000000000000000000000000000000000000000000000000000000000" to="/usr/local/bin/tool""#,
        ),
        (
            "jupyter",
            r#"jupyter { default-url "/lab"; lab-settings "@jupyterlab/apputils-extension:themes" { theme "JupyterLab Dark"; }; extension "jupyterlab-git" enabled=#false; }"#,
        ),
        (
            "hook",
            r##"hook before-notebook "10-hello.sh" #"echo hello"#"##,
        ),
        ("dockerfile", r##"dockerfile #"RUN echo hi"#"##),
        ("free-disk-space", "free-disk-space #false"),
        ("timeout-minutes", "timeout-minutes 30"),
        (
            "hub-profile",
            r#"hub-profile display-name="Sample notebook" gpus=2"#,
        ),
    ];

    fn manifest(skip: Option<&str>) -> String {
        // A skipped setting leaves a comment line, so that every other line keeps its number.
        let body: Vec<&str> = SAMPLES
            .iter()
            .filter(|(n, _)| *n != "base")
            .map(|(n, s)| if Some(*n) == skip { "// skipped" } else { *s })
            .collect();
        format!(
            "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\ndefaults {{\n    {}\n}}\nstage tools {{ base \"docker.io/library/debian:bookworm-slim\"; run \"touch /out/tool\"; }}\napp sample {{\n    {}\n}}\n",
            SAMPLES[1].1,
            body.join("\n    ")
        )
    }

    /// Loads `text` as `apps.kdl` at the root of a fresh repository (where `file` finds it).
    fn load(text: &str) -> (crate::Loaded, tempfile::TempDir) {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("apps.kdl"), text).unwrap();
        let source = Source::from_bytes(std::path::Path::new("apps.kdl"), text.into()).unwrap();
        let loaded = crate::load_source(source, out.path(), &mut Timings::default())
            .unwrap_or_else(|e| panic!("{text}\n{e:?}"));
        (loaded, out)
    }

    fn explain(text: &str) -> String {
        let (loaded, _out) = load(text);
        crate::explain::explain_text(&crate::explain::explain(&loaded, "sample").unwrap())
    }

    #[test]
    fn every_setting_has_a_sample() {
        let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        let samples: Vec<&str> = SAMPLES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, samples, "SAMPLES must list every setting, in order");
    }

    /// `explain` must show every setting: leaving one out changes its output.
    #[test]
    fn explain_shows_every_setting() {
        let all = explain(&manifest(None));
        for def in SETTINGS.iter().filter(|d| d.name != "base") {
            assert_ne!(
                all,
                explain(&manifest(Some(def.name))),
                "`jcx explain` does not show `{}`",
                def.name
            );
        }
        assert!(all.contains("base "), "{all}");
    }

    #[test]
    fn every_node_is_documented() {
        let root = env!("CARGO_MANIFEST_DIR");
        let manifest_md = std::fs::read_to_string(format!("{root}/docs/manifest.md")).unwrap();
        let rules_md = std::fs::read_to_string(format!("{root}/docs/rules.md")).unwrap();
        let names = SETTINGS
            .iter()
            .map(|s| s.name)
            .chain(TOP.iter().map(|t| t.name));
        for name in names {
            let heading = format!("### `{name}");
            assert!(
                manifest_md
                    .lines()
                    .any(|l| l.starts_with(&heading) && l[heading.len()..].starts_with([' ', '`'])),
                "docs/manifest.md has no `{heading}` section"
            );
            assert!(
                rules_md.contains(&format!("`{name}")),
                "docs/rules.md never mentions `{name}`"
            );
        }
    }

    /// A setting written in an app is never lost through inheritance, whatever its rule.
    #[test]
    fn an_apps_own_values_survive_inheritance() {
        let (loaded, _out) = load(&manifest(None));
        let r = &loaded.resolved[0];
        for def in SETTINGS {
            assert!(r.settings.has(def), "`{}` was lost by merge", def.name);
        }
    }
}
