//! The checked, span-free model the renderers consume. Every value here has passed validation:
//! it is safe to put into a path, a shell word, a YAML scalar or a Dockerfile line as is.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// How generated-file headers name the manifest (a path relative to the output directory).
    pub source_name: String,
    pub registry: Registry,
    pub mirrors: Mirrors,
    pub actions: Actions,
    pub check_workflow: Option<CheckWorkflow>,
    pub apps: Vec<App>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub host: String,
    pub namespace: String,
    /// Secret names the manifest gave; `None` means jcx's default (see `render_workflow`).
    pub username_secret: Option<String>,
    pub password_secret: Option<String>,
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
    /// Chains: a parent image built by a pull request (not pushed) reaches its children's jobs
    /// as an artifact.
    pub upload_artifact: ActionRef,
    pub download_artifact: ActionRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckWorkflow {
    /// The jcx version the drift-check workflow installs.
    pub jcx_version: String,
    /// A git repository `cargo install` fetches jcx from (at tag `v<version>`); `None` installs
    /// the release from the crates registry.
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
    pub directory: bool,
}

impl FileCopy {
    /// The tree of the stacks (CONDA_DIR or the notebook user's home, as `fix-permissions`
    /// names it) the destination lies in; the stacks keep both writable by group NB_GID.
    pub fn stacks_tree(&self) -> Option<&'static str> {
        stacks_tree(&self.to)
    }
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerfileBlock {
    pub as_root: bool,
    /// Where the block goes: `start`, `after-system`, `before-pip` or `end`.
    pub at: &'static str,
    pub lines: Vec<String>,
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
    pub code_server: Option<CodeServer>,
    /// General pip requirements (never torch, torchvision, torchaudio of a CUDA app), canonical form.
    pub pip: Vec<String>,
    pub env: Vec<(String, String)>,
    pub branches: Vec<String>,
    pub runs_on: Vec<String>,
    pub platforms: Vec<String>,
    pub files: Vec<FileCopy>,
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
    pub jupyter: Option<Jupyter>,
    /// Sorted by stage and name, the order the stacks run them in.
    pub hooks: Vec<Hook>,
    pub free_disk_space: bool,
    pub timeout_minutes: u32,
    /// The app whose image this one is built on (`base app=NAME`).
    pub parent: Option<Parent>,
    /// The first app of its chain of `base app=` links (the app itself when it has no parent):
    /// the whole chain builds in that app's workflow.
    pub chain_root: String,
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
    pub fn self_hosted(&self) -> bool {
        self.runs_on.iter().any(|l| l == "self-hosted")
    }
}
