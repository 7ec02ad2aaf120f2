//! The Dockerfile of an app and the files it copies (requirements, index, hooks, .dockerignore).

use super::*;

/// One generated file copied into the image: its path in the build context, its destination.
#[derive(Serialize)]
struct CopyCtx {
    src: String,
    to: String,
}

/// The Jupyter JSON files of an app: (file name in `src/<app>/`, destination in the image, value).
pub fn jupyter_files(j: &Jupyter) -> Vec<(&'static str, &'static str, &Json)> {
    [
        (
            "jupyter_server_config.json",
            // Loaded in name order, later files winning: `zz-` puts the manifest's last.
            "${CONDA_DIR}/etc/jupyter/jupyter_server_config.d/zz-jcx.json",
            &j.server,
        ),
        (
            "overrides.json",
            "${CONDA_DIR}/share/jupyter/lab/settings/overrides.json",
            &j.lab_overrides,
        ),
        (
            "page_config.json",
            "${CONDA_DIR}/etc/jupyter/labconfig/page_config.json",
            &j.page_config,
        ),
    ]
    .into_iter()
    .filter_map(|(name, to, v)| v.as_ref().map(|v| (name, to, v)))
    .collect()
}

/// The files of `src/<app>/` that carry no header, by name: the Jupyter JSON files, the
/// kernels' kernel.json files and the inline files (`file content=`, exactly their text).
pub(crate) fn headerless(app: &App) -> Vec<String> {
    let jupyter = app.jupyter.as_ref().map_or_else(Vec::new, |j| {
        jupyter_files(j).iter().map(|f| f.0.to_string()).collect()
    });
    let kernels = app
        .kernels
        .iter()
        .map(|k| format!("kernel-{}.json", k.name));
    let dir = format!("src/{}/", app.name);
    let inline = app
        .files
        .iter()
        .filter(|f| f.content.is_some())
        .filter_map(|f| f.src.strip_prefix(&dir).map(str::to_string));
    jupyter.into_iter().chain(kernels).chain(inline).collect()
}

pub fn render_index(manifest: &Manifest, app: &App) -> String {
    let mut s = header(manifest, Some(&app.name));
    s.push_str(
        "\n#\n# Files of this directory jcx generated that cannot carry this header (JSON has no\n# comments). `jcx compile` and `jcx check` treat them as generated through this list.\n",
    );
    if app.files.iter().any(|f| f.content.is_some()) {
        s.push_str(
            "# Inline files (`file content=`) hold exactly their text, so no header either.\n",
        );
    }
    for name in headerless(app) {
        s.push_str(&name);
        s.push('\n');
    }
    s
}

#[derive(Serialize)]
struct HookCtx {
    src: String,
    to: String,
}

/// An inline hook as generated: its `#!` line first (when it has one), then the header.
pub fn render_hook(manifest: &Manifest, app: &App, script: &str) -> String {
    let script = script.trim_start_matches('\n');
    let (shebang, rest) = match script.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => (format!("{first}\n"), rest),
        None if script.starts_with("#!") => (format!("{script}\n"), ""),
        _ => (String::new(), script),
    };
    let mut s = format!("{shebang}{}\n", header(manifest, Some(&app.name)));
    s.push_str(rest);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// A kernel's environment, as the Dockerfile creates it.
#[derive(Serialize)]
struct KernelCtx<'a> {
    name: &'a str,
    display_name: &'a str,
    /// `python` or `r`.
    language: &'a str,
    /// The conda specs, shell-quoted: of `mamba create`, or, with an environment file, of the
    /// `mamba install` after `mamba env create` (the kernel package, unless the file lists it).
    mamba: Vec<String>,
    /// The environment file it is created from.
    environment: Option<&'a CondaEnvironment>,
    /// Hashed requirements files, in a step of their own.
    pip_locks: Vec<&'a PipFile>,
    /// What the pip step installs, in the step's temporary directory: the generated
    /// requirements, then the unhashed requirements files.
    pip_requirements: Vec<String>,
    /// COPY lines of the pip step: (path in the build context, name in the temporary directory).
    pip_copies: Vec<(String, String)>,
    /// Where the kernel package keeps its logos inside the environment.
    logos: &'static str,
    /// Declare `CONDA_CHANNEL` here (its first use).
    declare_conda_channel: bool,
    /// The first step of the app reading `PYPI_INDEX_URL`, when it is one of this kernel's
    /// (`env`, `lock` or `pip`): it is declared there.
    pypi_at: &'static str,
}

fn kernel_ctxs(app: &App) -> Vec<KernelCtx<'_>> {
    let mut conda_declared = !app.mamba.is_empty();
    // An environment file's pip step comes first and declares it then.
    let mut pypi_declared = app.conda_environments.iter().any(|e| e.pip);
    app.kernels
        .iter()
        .map(|k| {
            let uses_conda_channel = k.environment.is_none() || !k.mamba.is_empty();
            let declare_conda_channel = uses_conda_channel && !conda_declared;
            conda_declared |= uses_conda_channel;
            let refs: Vec<&PipFile> = k.pip_files.iter().filter(|f| !f.hashed).collect();
            let pip_locks: Vec<&PipFile> = k.pip_files.iter().filter(|f| f.hashed).collect();
            let dir = format!("/tmp/jcx-kernel-{}", k.name);
            let mut pip_copies: Vec<(String, String)> = Vec::new();
            if !k.pip.is_empty() {
                pip_copies.push((k.requirements_src(&app.name), "requirements.txt".into()));
            }
            pip_copies.extend(refs.iter().map(|f| (f.src.clone(), f.dest.clone())));
            let first = if k.environment.as_ref().is_some_and(|e| e.pip) {
                "env"
            } else if !pip_locks.is_empty() {
                "lock"
            } else if !pip_copies.is_empty() {
                "pip"
            } else {
                ""
            };
            let pypi_at = if pypi_declared { "" } else { first };
            pypi_declared |= !first.is_empty();
            KernelCtx {
                name: &k.name,
                display_name: &k.display_name,
                language: k.language,
                mamba: k.mamba.iter().map(|m| shell_quote(m)).collect(),
                environment: k.environment.as_ref(),
                pip_locks,
                pip_requirements: pip_copies
                    .iter()
                    .map(|(_, dest)| format!("{dir}/{dest}"))
                    .collect(),
                pip_copies,
                logos: if k.language == "r" {
                    "lib/R/library/IRkernel/kernelspec"
                } else {
                    "share/jupyter/kernels/python3"
                },
                declare_conda_channel,
                pypi_at,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct TorchCtx {
    what: String,
    index_url: String,
    requirements: Vec<String>,
    unpinned: bool,
}

/// A third-party apt repository and the hadolint rules its install step waives.
#[derive(Serialize)]
struct AptRepositoryCtx<'a> {
    #[serde(flatten)]
    repo: &'a AptRepository,
    hadolint: String,
    /// `APT_REPOSITORY_<NAME>_URL` and `..._KEY`: build arguments whose defaults are the
    /// manifest's URLs, so that a mirror (or the build test's stand-in) can replace them.
    url_arg: String,
    key_arg: String,
}

/// DL3008 when a package is unpinned, DL3015 when recommends are wanted.
fn hadolint_apt(packages: &[String], recommends: bool) -> String {
    [
        (packages.iter().any(|a| !a.contains('=')), "DL3008"),
        (recommends, "DL3015"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, rule)| *rule)
    .collect::<Vec<_>>()
    .join(",")
}

#[derive(Serialize)]
struct DockerfileCtx<'a> {
    header: String,
    description: Option<&'a str>,
    base_image: String,
    /// The app this one is built on (`base app=`).
    parent: Option<&'a str>,
    apt: &'a [String],
    apt_unpinned: bool,
    apt_mirror: &'static str,
    code_server: Option<&'a CodeServer>,
    /// The parent image may have this code-server already: then only extensions are installed.
    code_server_install: bool,
    code_server_releases: &'static str,
    mamba: Vec<String>,
    conda_channel: &'static str,
    /// Explicit conda lock files (`mamba lock=`), installed first.
    conda_locks: Vec<&'a CondaEnvironment>,
    conda_environments: Vec<&'a CondaEnvironment>,
    /// An environment file has a `pip:` list (PYPI_INDEX_URL then reaches its pip).
    conda_pip: bool,
    /// Hashed requirements files, in a step of their own.
    pip_locks: Vec<&'a PipFile>,
    /// The other requirements files, installed with requirements.txt.
    pip_refs: Vec<&'a PipFile>,
    /// The first step that reads PYPI_INDEX_URL, where it is declared: `conda`, `kernel` (its
    /// `declare_pypi_index_url`), `lock`, `pip`, `package`.
    pypi_arg_at: &'static str,
    torch: Option<TorchCtx>,
    /// The pip step keeps to the PyTorch constraints file (this image's or the parent's).
    torch_constraint: bool,
    pip: bool,
    /// `pip package=` directories: (repository path, temporary directory, pip's argument).
    pip_packages: Vec<(String, String, String)>,
    pypi_index_url: &'static str,
    env: Vec<String>,
    /// The files COPYed (repository and inline files; not the appends).
    files: Vec<&'a FileCopy>,
    /// Some of them are inline files of the manifest.
    inline_files: bool,
    /// The root file-system step (`remove`, `dir`, appends, `symlink`).
    fs: Option<FsCtx>,
    downloads: &'a [Download],
    apt_repositories: Vec<AptRepositoryCtx<'a>>,
    /// The stacks' trees notebook-owned files went into, for `fix-permissions` (COPY creates
    /// missing parent directories without the group permissions the stacks keep).
    files_fix: Vec<&'static str>,
    /// Jupyter's JSON files, notebook-owned.
    jupyter: Vec<CopyCtx>,
    /// Start-up hooks, root-owned, 0755.
    hooks: Vec<HookCtx>,
    /// Kernels with their own conda environments.
    kernels: Vec<KernelCtx<'a>>,
    /// The kernels' kernel.json files, copied with the Jupyter files.
    kernel_specs: Vec<CopyCtx>,
    /// Kernelspecs removed with `jupyter kernelspec remove`.
    removed_kernels: &'a [String],
    /// The blocks at the end, after jcx's own steps.
    dockerfile: Vec<&'a DockerfileBlock>,
    /// Blocks placed between jcx's steps (`at=`).
    placed_blocks: Vec<&'a DockerfileBlock>,
    app: &'a str,
    build_args: Vec<String>,
    labels: Vec<String>,
    workdir: Option<&'a str>,
    apt_recommends: bool,
    /// DL3008 when a package is unpinned, DL3015 when recommends are wanted.
    hadolint_apt: String,
    pip_pre: bool,
    /// Builder stages before the app's own `FROM`, and their base images' build arguments.
    stages: Vec<super::stages::StageCtx>,
    stage_args: Vec<String>,
    /// `copy-from`: what it takes out of them.
    stage_copies: Vec<super::stages::StageCopyCtx>,
    /// Time zone, locales, conda configuration, pip removals, CMD/ENTRYPOINT/EXPOSE.
    setup: super::setup::SetupCtx<'a>,
}

/// The stacks' trees notebook-owned copies (`file`, `copy-from`) went into, in the order
/// `fix-permissions` is given them.
fn copies_fix(app: &App) -> Vec<&'static str> {
    let mut trees: Vec<&'static str> = app
        .files
        .iter()
        .filter(|f| !f.root_owned && !f.append)
        .filter_map(FileCopy::stacks_tree)
        .chain(
            app.stage_copies
                .iter()
                .filter(|c| !c.root_owned)
                .filter_map(|c| crate::model::stacks_tree(&c.to)),
        )
        .collect();
    trees.sort_unstable();
    trees.dedup();
    trees
}

/// The root file-system step: the files it appends (bind-mounted from the build context), and
/// its commands in order.
#[derive(Serialize)]
struct FsCtx {
    /// (path in the build context, mount point).
    mounts: Vec<(String, String)>,
    commands: Vec<String>,
}

fn quoted_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    paths
        .into_iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `dir` in HOME or CONDA_DIR: the directory and the parents `mkdir -p` may create below the
/// tree, all the notebook user's (as everything in those trees is).
fn owned_chain(path: &str) -> Vec<String> {
    let Some(tree) = crate::model::stacks_tree(path) else {
        return vec![path.to_string()];
    };
    let canon = crate::nodes::files::canonical_dest(path);
    let root = if tree == "${CONDA_DIR}" {
        "${CONDA_DIR}"
    } else {
        "/home/${NB_USER}"
    };
    let mut out = vec![path.to_string()];
    let mut at = canon.as_str();
    while let Some((parent, _)) = at.rsplit_once('/') {
        if parent.len() <= root.len() {
            break;
        }
        out.insert(0, parent.to_string());
        at = parent;
    }
    out
}

/// `permissions`: `chown` then `chmod` (root's `chown` clears the setuid and setgid bits the
/// mode may set), `-R` when recursive, `--` before the paths (before a mode that starts with `-`
/// too, which `chmod` would otherwise read as an option).
fn permission_commands(p: &crate::model::Permissions) -> Vec<String> {
    let r = if p.recursive { " -R" } else { "" };
    let paths = quoted_paths(p.paths.iter().map(String::as_str));
    let mut out = Vec::new();
    if let Some(root) = p.root_owned {
        let owner = if root {
            "root:root"
        } else {
            "\"${NB_UID}:${NB_GID}\""
        };
        out.push(format!("chown{r} {owner} -- {paths}"));
    }
    if let Some(m) = &p.mode {
        out.push(if m.starts_with('-') {
            format!("chmod{r} -- {m} {paths}")
        } else {
            format!("chmod{r} {m} -- {paths}")
        });
    }
    out
}

/// `None` when the app removes, creates, appends and links nothing.
fn fs_ctx(app: &App, copies_fix: &[&'static str]) -> Option<FsCtx> {
    let appends: Vec<&FileCopy> = app.files.iter().filter(|f| f.append).collect();
    let fs = &app.fs;
    if fs.is_empty() && appends.is_empty() {
        return None;
    }
    let mut commands = Vec::new();
    if !fs.removes.is_empty() {
        commands.push(format!(
            "rm -rf {}",
            quoted_paths(fs.removes.iter().map(String::as_str))
        ));
    }
    if !fs.dirs.is_empty() {
        commands.push(format!(
            "mkdir -p {}",
            quoted_paths(fs.dirs.iter().map(|d| d.path.as_str()))
        ));
        let mut notebook: Vec<String> = Vec::new();
        for d in fs.dirs.iter().filter(|d| !d.root_owned) {
            for p in owned_chain(&d.path) {
                if !notebook.contains(&p) {
                    notebook.push(p);
                }
            }
        }
        if !notebook.is_empty() {
            commands.push(format!(
                "chown \"${{NB_UID}}:${{NB_GID}}\" {}",
                quoted_paths(notebook.iter().map(String::as_str))
            ));
        }
        let root: Vec<&str> = fs
            .dirs
            .iter()
            .filter(|d| d.root_owned)
            .map(|d| d.path.as_str())
            .collect();
        if !root.is_empty() {
            commands.push(format!("chown root:root {}", quoted_paths(root)));
        }
        let mut modes: Vec<&str> = Vec::new();
        for d in &fs.dirs {
            if let Some(m) = &d.mode
                && !modes.contains(&m.as_str())
            {
                modes.push(m);
            }
        }
        for m in modes {
            let paths = fs
                .dirs
                .iter()
                .filter(|d| d.mode.as_deref() == Some(m))
                .map(|d| d.path.as_str());
            commands.push(format!("chmod {m} {}", quoted_paths(paths)));
        }
    }
    let mut mounts = Vec::new();
    for (i, f) in appends.iter().enumerate() {
        let at = format!("/tmp/jcx-append/{}", i + 1);
        commands.push(format!("cat {at} >> \"{}\"", f.to));
        mounts.push((f.src.clone(), at));
    }
    for p in &fs.permissions {
        commands.extend(permission_commands(p));
    }
    for l in &fs.symlinks {
        commands.push(format!("ln -sfnT \"{}\" \"{}\"", l.target, l.link));
    }
    let in_trees: Vec<&str> = fs
        .symlinks
        .iter()
        .map(|l| l.link.as_str())
        .filter(|l| crate::model::stacks_tree(l).is_some())
        .collect();
    if !in_trees.is_empty() {
        commands.push(format!(
            "chown -h \"${{NB_UID}}:${{NB_GID}}\" {}",
            quoted_paths(in_trees)
        ));
    }
    let mut fix: Vec<&'static str> = copies_fix.to_vec();
    let touched = fs
        .dirs
        .iter()
        .map(|d| d.path.as_str())
        .chain(appends.iter().map(|f| f.to.as_str()))
        .chain(
            fs.permissions
                .iter()
                .flat_map(|p| p.paths.iter().map(String::as_str)),
        )
        .chain(fs.symlinks.iter().map(|l| l.link.as_str()));
    fix.extend(touched.filter_map(crate::model::stacks_tree));
    fix.sort_unstable();
    fix.dedup();
    if !fix.is_empty() {
        commands.push(format!("fix-permissions {}", quoted_paths(fix)));
    }
    Some(FsCtx { mounts, commands })
}

/// The default of the Dockerfile's BASE_IMAGE: the base image, or for an app built on another
/// the tag `jcx build` gives the parent's image (CI always passes the exact image).
pub fn base_image(app: &App) -> String {
    match &app.parent {
        Some(p) => format!("{}:{}", p.image, app.base.tag),
        None => app.base.full(),
    }
}

/// A package directory's COPY source, its temporary directory and what `pip install` is given:
/// the directory, with its extras in brackets (quoted, for the shell's globbing).
fn package_target(p: &crate::model::PipPackage) -> (String, String, String) {
    let dir = format!("/tmp/pip-package/{}", p.dest);
    let target = if p.extras.is_empty() {
        dir.clone()
    } else {
        format!("\"{dir}[{}]\"", p.extras)
    };
    (p.src.clone(), dir, target)
}

/// Whether the pip step must keep to a PyTorch constraints file: this Dockerfile's, or the one
/// in the parent image.
fn torch_constraint(app: &App) -> bool {
    app.torch.is_some() || app.parent.as_ref().is_some_and(|p| p.torch.is_some())
}

pub fn torch_index_url(base: &str, index: &TorchIndex) -> String {
    format!("{}/{}", base.trim_end_matches('/'), index.tag())
}

pub(super) fn dockerfile_env_value(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn render_dockerfile(manifest: &Manifest, app: &App) -> Result<String> {
    let conda_pip = app.conda_environments.iter().any(|e| e.pip);
    let (stages, stage_args) = super::stages::stages_ctx(manifest, app);
    let stage_count = stages.len();
    let torch = app.torch.as_ref().map(|t| TorchCtx {
        what: match &t.index {
            TorchIndex::Cpu => "CPU only".to_string(),
            TorchIndex::Cuda(_) => format!("CUDA {}", t.cuda),
        },
        index_url: torch_index_url(PYTORCH_INDEX_BASE, &t.index),
        requirements: t.requirements.iter().map(|r| shell_quote(r)).collect(),
        unpinned: t.unpinned,
    });
    let files_fix = copies_fix(app);
    let ctx = DockerfileCtx {
        header: header(manifest, Some(&app.name)),
        description: app.description.as_deref(),
        base_image: base_image(app),
        parent: app.parent.as_ref().map(|p| p.app.as_str()),
        apt: &app.apt,
        apt_unpinned: app.apt.iter().any(|a| !a.contains('=')),
        apt_mirror: "\"\"",
        code_server: app.code_server.as_ref(),
        code_server_install: app.code_server.as_ref().is_some_and(|c| c.install),
        code_server_releases: CODE_SERVER_RELEASES,
        mamba: app.mamba.iter().map(|m| shell_quote(m)).collect(),
        conda_channel: "\"\"",
        conda_locks: app.conda_environments.iter().filter(|e| e.lock).collect(),
        conda_environments: app.conda_environments.iter().filter(|e| !e.lock).collect(),
        conda_pip,
        pip_locks: app.pip_files.iter().filter(|f| f.hashed).collect(),
        pip_refs: app.pip_files.iter().filter(|f| !f.hashed).collect(),
        pypi_arg_at: if conda_pip {
            "conda"
        } else if app.kernels.iter().any(Kernel::uses_pypi) {
            "kernel"
        } else if app.pip_files.iter().any(|f| f.hashed) {
            "lock"
        } else if app.installs_requirements_txt() {
            "pip"
        } else {
            "package"
        },
        torch,
        torch_constraint: torch_constraint(app),
        pip: app.installs_requirements_txt(),
        pip_packages: app.pip_packages.iter().map(package_target).collect(),
        pypi_index_url: "\"\"",
        env: app
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", dockerfile_env_value(v)))
            .collect(),
        files: app.files.iter().filter(|f| !f.append).collect(),
        inline_files: app.files.iter().any(|f| !f.append && f.content.is_some()),
        fs: fs_ctx(app, &files_fix),
        downloads: &app.downloads,
        apt_repositories: app
            .apt_repositories
            .iter()
            .map(|repo| {
                let arg = format!(
                    "APT_REPOSITORY_{}",
                    repo.name.to_ascii_uppercase().replace('-', "_")
                );
                AptRepositoryCtx {
                    repo,
                    hadolint: hadolint_apt(&repo.packages, app.apt_recommends),
                    url_arg: format!("{arg}_URL"),
                    key_arg: format!("{arg}_KEY"),
                }
            })
            .collect(),
        files_fix: if app.fs.is_empty() && !app.files.iter().any(|f| f.append) {
            files_fix
        } else {
            Vec::new()
        },
        jupyter: app.jupyter.as_ref().map_or_else(Vec::new, |j| {
            jupyter_files(j)
                .into_iter()
                .map(|(name, to, _)| CopyCtx {
                    src: format!("src/{}/{name}", app.name),
                    to: to.to_string(),
                })
                .collect()
        }),
        hooks: app
            .hooks
            .iter()
            .map(|h| HookCtx {
                src: h.src(&app.name),
                to: format!("/usr/local/bin/{}.d/{}", h.stage, h.name),
            })
            .collect(),
        kernels: kernel_ctxs(app),
        kernel_specs: app
            .kernels
            .iter()
            .map(|k| CopyCtx {
                src: k.spec_src(&app.name),
                to: format!(
                    "${{CONDA_DIR}}/share/jupyter/kernels/{}/kernel.json",
                    k.name
                ),
            })
            .collect(),
        removed_kernels: &app.removed_kernels,
        dockerfile: app.dockerfile.iter().filter(|b| b.at == "end").collect(),
        placed_blocks: app.dockerfile.iter().filter(|b| b.at != "end").collect(),
        app: &app.name,
        build_args: app
            .build_args
            .iter()
            .map(|(k, v)| format!("{k}={}", dockerfile_env_value(v)))
            .collect(),
        labels: app
            .labels
            .iter()
            .map(|(k, v)| format!("{}={}", dockerfile_env_value(k), dockerfile_env_value(v)))
            .collect(),
        workdir: app.workdir.as_deref(),
        apt_recommends: app.apt_recommends,
        hadolint_apt: hadolint_apt(&app.apt, app.apt_recommends),
        pip_pre: app.pip_pre,
        stages,
        stage_args,
        stage_copies: super::stages::copies_ctx(app),
        setup: super::setup::setup_ctx(&app.setup),
    };
    let text = render_with(&envs().0, "Dockerfile", &app.dockerfile_path(), ctx)?;
    check_dockerfile(&text, stage_count).map_err(|message| Error::Render {
        file: app.dockerfile_path(),
        message,
    })?;
    Ok(text)
}

/// jcx's promise about every Dockerfile it writes, checked on the text itself as BuildKit
/// reads it: one `FROM` per builder stage and one for the app, nothing left open, and the last
/// `USER` of the app's stage (when there is one; without one the base image's user stays) is
/// `${NB_UID}`. Validation already refused every `dockerfile` block and `run` script that could
/// break it: failing here is a bug in jcx.
pub(super) fn check_dockerfile(text: &str, stages: usize) -> std::result::Result<(), String> {
    let reading = crate::dockerfile_block::read_dockerfile(text);
    if let Some(found) = reading.issues.first() {
        return Err(format!(
            "the generated Dockerfile does not read cleanly at line {}: {}",
            found.line + 1,
            found.issue.message()
        ));
    }
    let froms = reading.instructions.iter().filter(|i| i.is("FROM")).count();
    if froms != stages + 1 {
        return Err(format!(
            "the generated Dockerfile has {froms} FROM instructions for {stages} builder stages"
        ));
    }
    let mut app_stage = reading
        .instructions
        .iter()
        .rev()
        .take_while(|i| !i.is("FROM"));
    match app_stage.find(|i| i.is("USER")) {
        Some(user) if user.args != "${NB_UID}" => Err(format!(
            "the generated Dockerfile ends as user `{}`, not the notebook user",
            user.args
        )),
        _ => Ok(()),
    }
}

pub fn render_requirements(manifest: &Manifest, app: &App) -> String {
    let mut s = header(manifest, Some(&app.name));
    s.push_str("\n#\n# Installed from the default index (or the PYPI_INDEX_URL build argument).\n");
    if let Some(t) = &app.torch {
        s.push_str(&format!(
            "# torch, torchvision and torchaudio are not listed here: the Dockerfile installs them\n\
             # before, from the PyTorch {} wheel index, and holds them with a constraint.\n",
            t.index.tag()
        ));
    } else if let Some(p) = app.parent.as_ref().filter(|p| p.torch.is_some()) {
        s.push_str(&format!(
            "# torch, torchvision and torchaudio come from the image of `{}`, held by its constraint.\n",
            p.app
        ));
    }
    for r in &app.pip {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// The build context is the repository root; this allowlist (BuildKit reads `<Dockerfile>.dockerignore`
/// next to the Dockerfile) lets through only what the app's Dockerfile copies.
pub fn render_dockerignore(manifest: &Manifest, app: &App) -> String {
    let mut s = header(manifest, Some(&app.name));
    s.push_str(
        "\n#\n# The build context is the repository root; only what the Dockerfile copies gets in.\n*\n",
    );
    if app.installs_requirements_txt() {
        s.push_str(&format!(
            "!src/{0}/requirements.txt\n!src/{0}/noop.txt\n",
            app.name
        ));
    }
    for f in app.package_files() {
        s.push_str(&format!("!{f}\n"));
    }
    for name in headerless(app) {
        s.push_str(&format!("!src/{}/{name}\n", app.name));
    }
    for k in app.kernels.iter().filter(|k| !k.pip.is_empty()) {
        s.push_str(&format!("!{}\n", k.requirements_src(&app.name)));
    }
    for h in &app.hooks {
        s.push_str(&format!("!{}\n", h.src(&app.name)));
    }
    for (src, directory) in copied_paths(manifest, app) {
        s.push_str(&format!("!{src}\n"));
        if directory {
            s.push_str(&format!("!{src}/**\n"));
        }
    }
    s
}

/// The repository paths the app's Dockerfile copies besides jcx's own files, each once: its
/// `file` sources, what its `dockerfile` blocks' `COPY`/`ADD` read, and its stages' `file`
/// sources; with whether each names (or, a glob, matches) a directory.
pub fn copied_paths<'a>(manifest: &'a Manifest, app: &'a App) -> Vec<(&'a str, bool)> {
    // Inline files are generated in `src/<app>/` and let in with the other generated files.
    let files = app
        .files
        .iter()
        .filter(|f| f.content.is_none())
        .map(|f| (f.src.as_str(), f.directory));
    let blocks = app
        .dockerfile
        .iter()
        .flat_map(|b| b.sources.iter().map(|(p, d)| (p.as_str(), *d)));
    let packages = app.pip_packages.iter().map(|p| (p.src.as_str(), true));
    let mut listed: Vec<(&str, bool)> = Vec::new();
    for f in files
        .chain(packages)
        .chain(blocks)
        .chain(super::stages::stage_files(manifest, app))
    {
        if !listed.contains(&f) {
            listed.push(f);
        }
    }
    listed
}

/// The pip requirements of a kernel's environment, one per line as written (the same
/// guarantee as requirements.txt: validated like the app's `pip`).
pub fn render_kernel_requirements(manifest: &Manifest, app: &App, kernel: &Kernel) -> String {
    let mut s = header(manifest, Some(&app.name));
    s.push_str(&format!(
        "\n#\n# pip requirements of kernel `{}`, installed into its environment\n# (${{CONDA_DIR}}/envs/{}) from the default index (or PYPI_INDEX_URL).\n",
        kernel.name, kernel.name
    ));
    for r in &kernel.pip {
        s.push_str(r);
        s.push('\n');
    }
    s
}

pub fn render_noop(manifest: &Manifest, app: &App) -> String {
    format!(
        "{}\n#\n# Placeholder copied with requirements.txt so that `COPY requirements.txt noop.txt ...`\n# never fails. Intentionally empty.\n",
        header(manifest, Some(&app.name))
    )
}
