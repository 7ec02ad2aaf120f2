//! The checked, span-free model the renderers consume. Every value here has passed validation:
//! it is safe to put into a path, a shell word, a YAML scalar or a Dockerfile line as is.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// How generated-file headers name the manifest (a path relative to the output directory).
    pub source_name: String,
    /// Every declared registry, in manifest order (an app pushes to all of them unless its
    /// `registries` picks some).
    pub registries: Vec<Registry>,
    pub mirrors: Mirrors,
    pub actions: Actions,
    pub check_workflow: Option<CheckWorkflow>,
    pub apps: Vec<App>,
    /// Builder stages (`stage`), in manifest order; an app's Dockerfile holds those it copies
    /// from (and the stages they are built on).
    pub stages: Vec<Stage>,
    /// The JupyterHub profiles (`jupyterhub`), when the manifest asks for them.
    pub jupyterhub: Option<JupyterHub>,
}

/// What a JupyterHub administrator includes: one profile per offered app.
#[derive(Debug, Clone, Serialize)]
pub struct JupyterHub {
    /// In manifest order; exactly one is the default.
    pub profiles: Vec<HubProfile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HubProfile {
    /// The app name: stable as long as the app keeps its name.
    pub slug: String,
    /// Plain text without HTML special characters (validated).
    pub display_name: String,
    /// The app's description, plain text (escaped for HTML where it is written).
    pub description: Option<String>,
    /// `registry/namespace/name`, without tag.
    pub image: String,
    /// Which builds move `tag`, for people: "the newest push of branch `main`".
    pub moved_by: String,
    /// The moving tag the build-push workflow pushes (by default `<base tag>-<branch>`).
    pub tag: String,
    /// 0: no GPU limit.
    pub gpus: u32,
    /// The extended resource a GPU is (`nvidia.com/gpu`).
    pub gpu_resource: String,
    pub default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub host: String,
    pub namespace: String,
    /// Secret names the manifest gave; `None` means jcx's default (see `render_workflow`).
    pub username_secret: Option<String>,
    pub password_secret: Option<String>,
    /// AWS ECR only: the IAM role assumed through GitHub's OIDC token (no stored secret).
    pub aws_role: Option<String>,
}

impl Registry {
    /// GitHub's registry: the workflow's own `GITHUB_TOKEN` can push to it.
    pub fn is_ghcr(&self) -> bool {
        self.host == "ghcr.io"
    }

    /// Logs in with the workflow's `GITHUB_TOKEN` (which then needs `packages: write`).
    pub fn uses_github_token(&self) -> bool {
        self.is_ghcr() && self.password_secret.is_none()
    }

    /// The AWS region of a private ECR host, `<account>.dkr.ecr.<region>.amazonaws.com[.cn]`.
    pub fn ecr_region(&self) -> Option<&str> {
        ecr_region(&self.host)
    }
}

/// The region of an AWS ECR private registry host.
pub fn ecr_region(host: &str) -> Option<&str> {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once(".dkr.ecr.")?;
    (account.len() == 12
        && account.bytes().all(|c| c.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
    .then_some(rest)
}

/// One image an app pushes: `<host>/<namespace>/<image name>` on one registry.
#[derive(Debug, Clone, Serialize)]
pub struct Push {
    pub registry: Registry,
    pub image: String,
}

/// A named part of an image tag template (`{base}`, `{sha}`, ...) or literal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TagPart {
    Text(String),
    /// The base image's tag (`python-3.11`).
    Base,
    /// The full commit SHA.
    Sha,
    /// The commit SHA's first 7 characters.
    ShortSha,
    /// The branch, `/` replaced by `-`.
    Branch,
    /// The git tag as pushed.
    GitTag,
    /// Semantic-version parts of a git tag: `1.2.3`, `1`, `2`, `3`.
    Version,
    Major,
    Minor,
    Patch,
    /// The build's date, `YYYYMMDD` (UTC).
    Date,
}

impl TagPart {
    pub fn is_semver(&self) -> bool {
        matches!(
            self,
            TagPart::Version | TagPart::Major | TagPart::Minor | TagPart::Patch
        )
    }
    pub fn is_commit(&self) -> bool {
        matches!(self, TagPart::Sha | TagPart::ShortSha)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagTemplate {
    /// As written in the manifest: `{base}-{sha}`.
    pub source: String,
    pub parts: Vec<TagPart>,
}

/// When the image is also tagged `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Latest {
    Never,
    /// Builds of the repository's default branch.
    DefaultBranch,
    /// Builds of a git tag or a published release that is not a pre-release.
    Release,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageTags {
    pub templates: Vec<TagTemplate>,
    pub latest: Latest,
}

/// Where BuildKit keeps the layer cache between builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cache {
    /// GitHub's Actions cache (10 GB per repository).
    Gha,
    /// A `buildcache-<app>` tag next to the image in the app's first registry.
    Registry,
    Off,
}

/// Download sources. `None` means the official default (no URL written for PyPI, apt, conda).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mirrors {
    pub pypi: Option<String>,
    /// Base URL; the index for one app is `<base>/<cu118|cpu|...>`.
    pub pytorch: Option<String>,
    pub apt: Option<String>,
    pub conda: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRef {
    /// What goes after `uses:`.
    pub uses: String,
    /// Trailing comment naming the release of a SHA pin, if any.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Actions {
    pub checkout: ActionRef,
    pub setup_qemu: ActionRef,
    pub setup_buildx: ActionRef,
    pub login: ActionRef,
    pub metadata: ActionRef,
    pub build_push: ActionRef,
    pub cache: ActionRef,
    pub cosign_installer: ActionRef,
    pub aws_credentials: ActionRef,
    pub upload_artifact: ActionRef,
    pub download_artifact: ActionRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckWorkflow {
    /// The jcx version the drift-check workflow installs.
    pub jcx_version: String,
    /// A git repository `cargo install` builds jcx from (at tag `v<version>`); `None` installs
    /// the wheel `jcx-cli==<version>` from PyPI (no compiler, seconds).
    pub repository: Option<String>,
}

/// A parsed image reference: `registry/path/name:tag@digest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub registry: String,
    /// Everything between the registry and the last component (`jupyter`), may be empty.
    pub namespace: String,
    /// The last path component (`scipy-notebook`).
    pub name: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl ImageRef {
    /// The reference as written back: `quay.io/jupyter/scipy-notebook:python-3.11[@sha256:...]`.
    pub fn full(&self) -> String {
        let mut s = self.registry.clone();
        if !self.namespace.is_empty() {
            s.push('/');
            s.push_str(&self.namespace);
        }
        s.push('/');
        s.push_str(&self.name);
        s.push(':');
        s.push_str(&self.tag);
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "version", rename_all = "lowercase")]
pub enum TorchIndex {
    /// CUDA wheels: the index tag, such as `cu118`.
    Cuda(String),
    Cpu,
}

impl TorchIndex {
    /// The directory name on the PyTorch wheel index: `cu118`, `cpu`.
    pub fn tag(&self) -> &str {
        match self {
            TorchIndex::Cuda(t) => t,
            TorchIndex::Cpu => "cpu",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Torch {
    pub index: TorchIndex,
    /// The human form, `11.8` or `cpu`.
    pub cuda: String,
    /// `torch==2.2.1`, `torchvision==0.17.1`, ... in canonical PEP 508 form.
    pub requirements: Vec<String>,
    /// True when a requirement is not pinned with `==` (hadolint DL3013 must then be waived).
    pub unpinned: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeServer {
    pub version: String,
    pub extensions: Vec<String>,
    /// False when the parent image (`base app=`) has this version already: only the
    /// extensions it lacks are installed.
    pub install: bool,
}

/// A file or directory of the images repository copied into the image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCopy {
    /// Relative to the repository root (the build context), without a trailing `/`.
    pub src: String,
    /// Absolute in the image; a trailing `/` means "into this directory".
    pub to: String,
    pub root_owned: bool,
    /// Octal, for `COPY --chmod`.
    pub mode: Option<String>,
    /// A directory of the repository, or a glob matching one.
    pub directory: bool,
    /// `src` is a glob pattern (BuildKit expands it; the allowlist and `paths` name it).
    pub glob: bool,
    /// The text of an inline file (`content=`): jcx generates it at `src` (in `src/<app>/`).
    pub content: Option<String>,
    /// `append=#true`: the file-system step appends it to `to`, a file of the base image,
    /// instead of a COPY replacing it.
    pub append: bool,
}

impl FileCopy {
    /// The tree of the stacks (CONDA_DIR or the notebook user's home, as `fix-permissions`
    /// names it) the destination lies in; the stacks keep both writable by group NB_GID.
    pub fn stacks_tree(&self) -> Option<&'static str> {
        stacks_tree(&self.to)
    }
}

/// The file-system changes of an app, made by one root step after the `file` copies: the
/// removals, then the directories, the appends (`file append=#true`), then the links.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FsChanges {
    /// Paths of the base image removed (`rm -rf`), without a trailing `/`.
    pub removes: Vec<String>,
    pub dirs: Vec<MakeDir>,
    pub permissions: Vec<Permissions>,
    pub symlinks: Vec<Symlink>,
}

impl FsChanges {
    pub fn is_empty(&self) -> bool {
        self.removes.is_empty()
            && self.dirs.is_empty()
            && self.permissions.is_empty()
            && self.symlinks.is_empty()
    }
}

/// `dir`: a directory created with its parents; owner and mode apply to it alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MakeDir {
    pub path: String,
    pub root_owned: bool,
    pub mode: Option<String>,
}

/// `permissions`: the owner and/or mode given to paths that already exist (`chown`/`chmod`,
/// `-R` when `recursive`). `root_owned` is `None` when the owner is left alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permissions {
    pub paths: Vec<String>,
    pub root_owned: Option<bool>,
    pub mode: Option<String>,
    pub recursive: bool,
}

/// `symlink`: `link` points at `target`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symlink {
    pub link: String,
    pub target: String,
}

/// `"${CONDA_DIR}"` or `"/home/${NB_USER}"` when `dest` lies in one of those trees.
pub fn stacks_tree(dest: &str) -> Option<&'static str> {
    let under = |t: &str| dest == t || dest.starts_with(&format!("{t}/"));
    if ["${CONDA_DIR}", "/opt/conda"].iter().any(|t| under(t)) {
        Some("${CONDA_DIR}")
    } else if ["${HOME}", "/home/${NB_USER}", "/home/jovyan"]
        .iter()
        .any(|t| under(t))
    {
        Some("/home/${NB_USER}")
    } else {
        None
    }
}

/// One URL of a download, relative to the download's base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownloadSource {
    /// `amd64`/`arm64` (Docker's `TARGETARCH`); `None`: the same file for every architecture.
    pub arch: Option<String>,
    /// The rest of the URL after `base` and `/`.
    pub file: String,
    /// 64 lowercase hex digits; `None` only for an `unverified=#true` download.
    pub sha256: Option<String>,
}

/// A file from the web, checked, then placed (`file`), unpacked (`tar`) or installed (`deb`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Download {
    pub name: String,
    /// The build argument holding the URL base: `DOWNLOAD_<NAME>_BASE`.
    pub arg: String,
    /// The URL directory every source lies under (its default value), without trailing `/`.
    pub base: String,
    pub per_arch: bool,
    pub sources: Vec<DownloadSource>,
    /// `file`, `tar` or `deb`.
    pub kind: &'static str,
    /// The file's path (`file`) or the directory (`tar`); `None` for `deb`.
    pub to: Option<String>,
    pub strip: u32,
    /// Octal, for `file`.
    pub mode: String,
    /// Where the download is kept until it is placed (removed in the same layer).
    pub tmp: String,
}

/// A third-party apt repository: its key (checked against `fingerprint`), its `deb` source and
/// the packages installed from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AptRepository {
    /// Names `/etc/apt/keyrings/<name>.gpg` and `/etc/apt/sources.list.d/<name>.list`.
    pub name: String,
    pub url: String,
    pub suite: String,
    /// Space-separated.
    pub components: String,
    /// The URL of the signing key.
    pub key: String,
    /// 40 uppercase hexadecimal digits.
    pub fingerprint: String,
    /// `amd64`/`arm64`; `None` for every architecture.
    pub arch: Option<String>,
    pub packages: Vec<String>,
}

/// A JSON value, keys in manifest order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The value on one line (`explain`).
    pub fn compact(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, None, 0);
        s
    }

    /// Two-space indented JSON with a final newline, as generated files hold it.
    pub fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, Some(2), 0);
        s.push('\n');
        s
    }

    fn write(&self, out: &mut String, indent: Option<usize>, depth: usize) {
        let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let newline = |out: &mut String, depth: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * depth));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Float(f) => out.push_str(&serde_json::to_string(f).expect("finite")),
            Json::Str(s) => out.push_str(&quote(s)),
            Json::Array(a) if a.is_empty() => out.push_str("[]"),
            Json::Object(o) if o.is_empty() => out.push_str("{}"),
            Json::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(if indent.is_some() { "," } else { ", " });
                    }
                    newline(out, depth + 1);
                    v.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Object(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push_str(if indent.is_some() { "," } else { ", " });
                    }
                    newline(out, depth + 1);
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Int(i) => s.serialize_i128(*i),
            Json::Float(f) => s.serialize_f64(*f),
            Json::Str(v) => s.serialize_str(v),
            Json::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Json::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The Jupyter configuration files of an app (`jupyter { ... }`); each is `None` when the
/// manifest sets nothing for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Jupyter {
    /// Into `${CONDA_DIR}/etc/jupyter/jupyter_server_config.d/`.
    pub server: Option<Json>,
    /// JupyterLab's `overrides.json`.
    pub lab_overrides: Option<Json>,
    /// `labconfig/page_config.json` (`disabledExtensions`).
    pub page_config: Option<Json>,
}

/// A start-up hook, copied to `/usr/local/bin/<stage>.d/<name>` root-owned with mode 0755.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hook {
    /// `before-notebook` or `start-notebook`.
    pub stage: String,
    /// `NN-name[.sh]`.
    pub name: String,
    /// The inline script (generated into `src/<app>/`), or
    pub script: Option<String>,
    /// the repository file.
    pub file: Option<String>,
}

impl Hook {
    /// Where the hook is in the build context.
    pub fn src(&self, app: &str) -> String {
        match &self.file {
            Some(f) => f.clone(),
            None => format!("src/{app}/hook-{}-{}", self.stage, self.name),
        }
    }
}

/// A requirements file of the repository (`pip requirements=`), copied into the build and
/// installed with pip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipFile {
    /// Relative to the repository root (the build context).
    pub src: String,
    /// Its name in the step's temporary directory: `N-<file name>`, unique within the app.
    pub dest: String,
    /// pip's hash-checking mode (`--hash` options): installed in a step of its own with
    /// `--require-hashes --no-deps`.
    pub hashed: bool,
    /// How many requirements jcx read from it (`explain`).
    pub requirements: usize,
}

/// A Python package directory of the repository (`pip package=`), copied into the build and
/// installed (not editable) with pip after the requirements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipPackage {
    /// The directory, relative to the repository root (the build context), without a trailing `/`.
    pub src: String,
    /// Its name in the step's temporary directory: `N-<directory name>`, unique within the app.
    pub dest: String,
    /// The extras to install, comma-separated (`plots,io`), or empty.
    pub extras: String,
}

/// An `environment.yml` of the repository (`mamba environment=`), applied to the image's base
/// environment with `mamba env update`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CondaEnvironment {
    /// Relative to the repository root (the build context).
    pub src: String,
    /// Its name in the step's temporary directory: `N-<file name>`.
    pub dest: String,
    /// It has a `- pip:` list (installed by the environment's pip).
    pub pip: bool,
    /// An explicit lock file (`mamba lock=`), installed by `conda install --file`, not an
    /// environment file.
    pub lock: bool,
}

/// A Jupyter kernel with its own conda environment in `${CONDA_DIR}/envs/<name>`, registered by
/// the `kernel.json` jcx generates (`src/<app>/kernel-<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kernel {
    /// The kernelspec name and the environment's directory name.
    pub name: String,
    pub display_name: String,
    /// `python` or `r`.
    pub language: &'static str,
    /// Conda specs for `mamba create`: `python=X.Y` when given, the kernel package
    /// (`ipykernel`, `r-irkernel`) unless listed, then the manifest's, in order. With an
    /// environment file: the kernel package alone (`mamba install` after `mamba env create`),
    /// or nothing when the file lists it.
    pub mamba: Vec<String>,
    /// The `environment.yml` of the repository the environment is created from
    /// (`environment=`), instead of `mamba create` with specs.
    pub environment: Option<CondaEnvironment>,
    /// pip requirements installed into the environment (Python kernels), as written.
    pub pip: Vec<String>,
    /// Requirements files of the repository (`pip requirements=`) installed into the
    /// environment: hashed ones in a step of their own, the others with `pip`.
    pub pip_files: Vec<PipFile>,
    /// The generated `kernel.json`.
    pub spec: Json,
}

impl Kernel {
    /// The generated kernel.json, in the build context.
    pub fn spec_src(&self, app: &str) -> String {
        format!("src/{app}/kernel-{}.json", self.name)
    }
    /// Whether a step of the kernel reads `PYPI_INDEX_URL`.
    pub fn uses_pypi(&self) -> bool {
        !self.pip.is_empty()
            || !self.pip_files.is_empty()
            || self.environment.as_ref().is_some_and(|e| e.pip)
    }
    /// The generated requirements of the environment (only with `pip`).
    pub fn requirements_src(&self, app: &str) -> String {
        format!("src/{app}/kernel-{}-requirements.txt", self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerfileBlock {
    pub as_root: bool,
    /// Where the block goes: `start`, `after-system`, `before-pip` or `end`.
    pub at: &'static str,
    pub lines: Vec<String>,
    /// The repository paths its `COPY` and `ADD` read (a file, a directory or a glob pattern),
    /// with whether it names (or matches) a directory: the allowlist and `paths` name them.
    pub sources: Vec<(String, bool)>,
}

/// A builder stage: its own base and steps, built before the app; only the files an app's
/// `copy-from` names leave it.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    /// The Dockerfile stage name, `jcx-stage-<name>`.
    pub alias: String,
    /// The build argument holding the base image, `STAGE_<NAME>_IMAGE`; `None` when the stage
    /// is built on another stage.
    pub arg: Option<String>,
    /// The image reference (the argument's default), or the alias of the stage it builds on.
    pub from: String,
    /// The stage it is built on (`base stage=NAME`).
    pub parent: Option<String>,
    pub steps: Vec<StageStep>,
}

impl Stage {
    /// Files of the images repository the stage copies (for the allowlist and `paths`).
    pub fn files(&self) -> impl Iterator<Item = (&str, bool)> {
        self.steps.iter().filter_map(|s| match s {
            StageStep::File { src, directory, .. } => Some((src.as_str(), *directory)),
            _ => None,
        })
    }
}

/// One step of a builder stage, in manifest order; every step runs as root.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StageStep {
    Apt {
        packages: Vec<String>,
    },
    /// `NAME=value` pairs, the value quoted for `ENV`.
    Env {
        vars: Vec<(String, String)>,
    },
    File {
        src: String,
        to: String,
        directory: bool,
    },
    Workdir {
        path: String,
    },
    /// The lines of one `RUN` instruction, as written (`RUN ` before its first command).
    Run {
        lines: Vec<String>,
    },
}

/// A file or directory an app copies out of a builder stage (`COPY --from`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCopy {
    pub stage: String,
    /// Absolute in the stage; without a trailing `/` (but `/` itself).
    pub src: String,
    pub to: String,
    pub root_owned: bool,
    pub mode: Option<String>,
}

/// The variant an app was expanded from: its template's name and the value of each axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variant {
    pub template: String,
    pub values: Vec<VariantValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantValue {
    pub axis: String,
    pub value: String,
}

impl Variant {
    /// `cuda=11.8, python=3.11`.
    pub fn label(&self) -> String {
        let parts: Vec<String> = self
            .values
            .iter()
            .map(|v| format!("{}={}", v.axis, v.value))
            .collect();
        parts.join(", ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub name: String,
    pub description: Option<String>,
    pub base: ImageRef,
    pub python: Option<String>,
    /// `registry/namespace/name` of the pushed image, without tag.
    pub image: String,
    pub torch: Option<Torch>,
    pub apt: Vec<String>,
    pub mamba: Vec<String>,
    /// `environment.yml` files applied before the `mamba` packages.
    pub conda_environments: Vec<CondaEnvironment>,
    pub code_server: Option<CodeServer>,
    /// General pip requirements (never torch, torchvision, torchaudio of a CUDA app), canonical form.
    pub pip: Vec<String>,
    /// Requirements files of the repository, in manifest order (inherited first).
    pub pip_files: Vec<PipFile>,
    /// Package directories of the repository, installed after the requirements.
    pub pip_packages: Vec<PipPackage>,
    pub env: Vec<(String, String)>,
    pub branches: Vec<String>,
    /// Git tag patterns whose pushes build and push.
    pub git_tags: Vec<String>,
    /// Published releases build and push.
    pub release: bool,
    /// Cron schedules (UTC) that rebuild the default branch.
    pub schedule: Vec<String>,
    /// Pull requests are built (never pushed).
    pub pull_requests: bool,
    /// Repository paths whose changes also build the app, besides its own files.
    pub paths: Vec<String>,
    pub image_tags: ImageTags,
    /// Every image pushed, the app's first registry first (`image` is that one's).
    pub pushes: Vec<Push>,
    pub cache: Cache,
    pub sbom: bool,
    /// `None`: build-push-action's default (`mode=max` in public repositories, `min` in private).
    pub provenance: Option<bool>,
    /// Keyless cosign signature of the pushed digest.
    pub sign: bool,
    /// One job per platform on a runner of that architecture, instead of QEMU.
    pub native_runners: bool,
    /// The job summary lists the pushed image's pip, conda and apt packages.
    pub list_packages: bool,
    pub runs_on: Vec<String>,
    pub platforms: Vec<String>,
    pub files: Vec<FileCopy>,
    /// Directories, symbolic links and removals (`dir`, `symlink`, `remove`).
    pub fs: FsChanges,
    pub downloads: Vec<Download>,
    pub apt_repositories: Vec<AptRepository>,
    pub labels: Vec<(String, String)>,
    pub build_args: Vec<(String, String)>,
    pub workdir: Option<String>,
    /// apt installs recommended packages too.
    pub apt_recommends: bool,
    /// pip may choose pre-releases for the general requirements.
    pub pip_pre: bool,
    pub dockerfile: Vec<DockerfileBlock>,
    /// Time zone, locales, conda configuration, pip removals, CMD/ENTRYPOINT/EXPOSE.
    pub setup: Setup,
    pub jupyter: Option<Jupyter>,
    /// Sorted by stage and name, the order the stacks run them in.
    pub hooks: Vec<Hook>,
    /// Kernels with their own environments, in manifest order (inherited first).
    pub kernels: Vec<Kernel>,
    /// Kernelspecs of the base image removed with `jupyter kernelspec remove`.
    pub removed_kernels: Vec<String>,
    pub free_disk_space: bool,
    pub timeout_minutes: u32,
    /// What it copies out of builder stages (`copy-from`).
    pub stage_copies: Vec<StageCopy>,
    /// The variant it was expanded from (`variants`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    /// The app whose image this one is built on (`base app=NAME`).
    pub parent: Option<Parent>,
    /// The first app of its chain of `base app=` links (the app itself when it has no parent):
    /// the whole chain builds in that app's workflow.
    pub chain_root: String,
}

/// Small settings of the image: its time zone and locales (root steps after apt), its conda
/// configuration (before the conda steps), the kernel installers it runs and the pip packages of
/// the base image it removes (after the pip steps), and how it starts (the last instructions).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Setup {
    /// A tz database name (`Europe/Berlin`).
    pub timezone: Option<String>,
    /// `ll_CC.UTF-8` locales; the first is the default (`LANG`, `LC_ALL`, `LANGUAGE`).
    pub locales: Vec<String>,
    /// Written with `conda config --system`, in manifest order.
    pub conda_config: Vec<CondaSetting>,
    /// Removed with `pip uninstall`; each must be installed.
    pub pip_remove: Vec<String>,
    /// Removed again in an image built on another app that removed them, when this image's own
    /// pip step could have brought them back (not an error when they are absent).
    pub pip_remove_again: Vec<String>,
    /// Installer modules of kernels their packages register (`kernel-install`), run in order
    /// after the pip steps and before `pip-remove`.
    pub kernel_install: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `8888`, `9000/udp`.
    pub expose: Vec<String>,
}

/// One `conda-config` key: a value for `conda config --set`, or a list prepended with
/// `conda config --prepend` (first item first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CondaSetting {
    pub key: String,
    pub list: bool,
    /// As conda reads them on its command line (`true`, `5`, `strict`).
    pub values: Vec<String>,
}

/// The app an app is built on (`base app=NAME`), as the child's build needs it.
#[derive(Debug, Clone, Serialize)]
pub struct Parent {
    pub app: String,
    /// `registry/namespace/name` of the parent's image, without tag.
    pub image: String,
    /// The parent image has PyTorch from a wheel index (for this CUDA version, or `cpu`) and
    /// its constraints file: the child's pip step keeps to it.
    pub torch: Option<String>,
}

impl App {
    pub fn dockerfile_path(&self) -> String {
        format!("src/{}/Dockerfile", self.name)
    }
    pub fn dockerignore_path(&self) -> String {
        format!("src/{}/Dockerfile.dockerignore", self.name)
    }
    /// The workflow that builds the app: its own, or its chain's (named after the chain's root).
    pub fn workflow_path(&self) -> String {
        format!(".github/workflows/build-push-{}.yaml", self.chain_root)
    }
    /// Whether a step of the Dockerfile installs from the Python package index (and so reads
    /// `PYPI_INDEX_URL`): pip requirements, requirements files, package directories, an
    /// environment file's `- pip:` list, a kernel's pip packages.
    pub fn reads_pypi(&self) -> bool {
        !self.pip.is_empty()
            || !self.pip_files.is_empty()
            || !self.pip_packages.is_empty()
            || self.conda_environments.iter().any(|e| e.pip)
            || self.kernels.iter().any(Kernel::uses_pypi)
    }
    /// Whether the Dockerfile installs `requirements.txt` (with the unhashed requirements files).
    pub fn installs_requirements_txt(&self) -> bool {
        !self.pip.is_empty() || self.pip_files.iter().any(|f| !f.hashed)
    }
    /// The package files of the repository the app reads (requirements and environment files),
    /// the app's then its kernels', each once.
    pub fn package_files(&self) -> Vec<&str> {
        let kernels = self.kernels.iter().flat_map(|k| {
            k.environment
                .iter()
                .map(|e| e.src.as_str())
                .chain(k.pip_files.iter().map(|f| f.src.as_str()))
        });
        let mut files: Vec<&str> = Vec::new();
        for f in self
            .conda_environments
            .iter()
            .map(|e| e.src.as_str())
            .chain(self.pip_files.iter().map(|f| f.src.as_str()))
            .chain(kernels)
        {
            if !files.contains(&f) {
                files.push(f);
            }
        }
        files
    }
    pub fn self_hosted(&self) -> bool {
        self.runs_on.iter().any(|l| l == "self-hosted")
    }
    /// Platforms built on runners of their own architecture, joined by one merge job.
    pub fn split_platforms(&self) -> bool {
        self.native_runners && self.platforms.len() > 1
    }
    /// The registry cache's tags in the first registry: one per platform job when split.
    pub fn cache_tags(&self) -> Vec<String> {
        let tag = format!("buildcache-{}", self.name);
        if self.split_platforms() {
            self.platforms
                .iter()
                .map(|p| format!("{tag}-{}", p.trim_start_matches("linux/")))
                .collect()
        } else {
            vec![tag]
        }
    }
}
