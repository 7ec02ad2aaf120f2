//! `kernel NAME display-name="…" [language=python|r] [environment="FILE"] { python "X.Y"; mamba …;
//! pip [requirements="FILE"] { … } }` and `remove-kernel NAME…`: Jupyter kernels with conda
//! environments of their own (`${CONDA_DIR}/envs/NAME`), registered by a `kernel.json` jcx
//! generates, and kernelspecs of the base image removed. Packages follow the app's own rules
//! (`mamba` specs, `environment.yml` files, `pip` requirements and requirements files).
//! Kernels are inherited by name: a child's kernel replaces the inherited one.

use std::sync::Arc;

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, FileCache, WordRule, lowercase_name_ok};
use super::conda_env::Target;
use super::decode::{Entries, did_you_mean, name_span, no_children, unknown_node};
use super::identity::{Resolved, is_python_version};
use super::packages::conda_name;
use super::pip::{Pip, RawPip, RawPipFile, TORCH_FAMILY, parse_pip};
use super::raw::{RawSettings, Sp, Value};
use super::reqfile::{Placed, check_placed};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, CondaEnvironment, Json, Jupyter, Kernel, PipFile};

pub static KERNEL: Setting = Setting {
    name: "kernel",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: Some("kernel py310 display-name=\"Python 3.10\" { python \"3.10\"; mamba numpy; }"),
    check,
    explain: Explain::Custom(explain),
};

pub static REMOVE_KERNEL: Setting = Setting {
    name: "remove-kernel",
    shape: Shape::Words {
        what: "kernel name",
    },
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("remove-kernel python3"),
    check: check_remove,
    explain: Explain::Custom(explain_remove),
};

/// Where every Jupyter Docker Stacks image keeps conda (`CONDA_DIR`). A kernel.json names its
/// interpreter by absolute path; the Dockerfile fails the build when `CONDA_DIR` differs.
pub const CONDA_DIR: &str = "/opt/conda";

/// The kernel ipykernel registers in the base environment, and that jupyter_client adds back
/// (`KernelSpecManager.ensure_native_kernel`) whenever ipykernel can be imported.
pub const NATIVE_KERNEL: &str = "python3";

const LANGUAGES: &[&str] = &["python", "r"];
const PROPS: &[&str] = &["display-name", "language", "environment"];
const CHILDREN: &[&str] = &["python", "mamba", "pip"];
const MAX_DISPLAY_NAME: usize = 100;

#[derive(Debug, Clone)]
pub struct RawKernel {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub display_name: Option<Sp<String>>,
    pub language: Option<Sp<String>>,
    /// `environment="envs/x.yml"`: the environment is created from this `environment.yml` of
    /// the repository (`python` and `mamba` are then refused beside it).
    pub environment: Option<Sp<String>>,
    pub python: Option<Sp<String>>,
    pub mamba: Vec<Sp<String>>,
    /// `pip { … }` blocks, read by the `pip` family (`Value::Items` of requirements).
    pub pip: Option<Value>,
}

impl RawKernel {
    fn language(&self) -> &str {
        self.language.as_ref().map_or("python", |l| l.v.as_str())
    }
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let name = en.one_string("a kernel name such as `py310`", problems);
    let display_name = en.prop_string("display-name", problems);
    let language = en.prop_string("language", problems);
    let environment = en.prop_string("environment", problems);
    en.finish(PROPS, problems);
    let name = name?;
    if display_name.is_none() {
        problems.push(
            Problem::error(
                Code::MissingArgument,
                name_span(node),
                format!("kernel `{}` has no `display-name=`", name.v),
            )
            .label("no display name")
            .help(format!(
                "add the name JupyterLab shows in its launcher and kernel menu: `kernel {} display-name=\"Python 3.10\"`",
                name.v
            )),
        );
    }
    let mut k = RawKernel {
        span: node.span(),
        name,
        display_name,
        language,
        environment,
        python: None,
        mamba: Vec::new(),
        pip: None,
    };
    for child in node.children().map_or(&[][..], |c| c.nodes()) {
        read_child(child, &mut k, problems);
    }
    Some(Value::Items(vec![Box::new(k)]))
}

fn read_child(child: &KdlNode, k: &mut RawKernel, problems: &mut Vec<Problem>) {
    match child.name().value() {
        "python" => {
            let mut en = Entries::new(child, problems);
            let v = en.one_string("a Python version such as \"3.10\"", problems);
            en.finish(&[], problems);
            no_children(child, problems);
            if let (Some(first), Some(_)) = (&k.python, &v) {
                problems.push(
                    Problem::error(
                        Code::Duplicate,
                        name_span(child),
                        "`python` is given twice in one kernel",
                    )
                    .label("given again here")
                    .also(first.span, "first given here")
                    .help("keep one of them"),
                );
            } else if v.is_some() {
                k.python = v;
            }
        }
        "mamba" => {
            let mut en = Entries::new(child, problems);
            k.mamba.extend(en.strings("package", true, problems));
            en.finish(&[], problems);
            no_children(child, problems);
        }
        "pip" => {
            if let Some(v) = super::pip::read(child, problems) {
                match &mut k.pip {
                    Some(p) => p.extend(v),
                    None => k.pip = Some(v),
                }
            }
        }
        other => problems.push(unknown_node(child, other, CHILDREN, "a `kernel` block")),
    }
}

/// A kernel of a child with the name of an inherited one replaces it whole.
fn merge(base: &mut Value, over: &Value) {
    let names: Vec<String> = over
        .items::<RawKernel>()
        .map(|k| k.name.v.clone())
        .collect();
    if let Some(items) = base.boxed_items() {
        items.retain(|i| {
            (**i)
                .as_any()
                .downcast_ref::<RawKernel>()
                .is_none_or(|k| !names.contains(&k.name.v))
        });
    }
    base.extend(over.clone());
}

/// Jupyter's kernelspec names (letters, digits, `.`, `_`, `-`), lowercase as jupyter_client
/// stores them, also a directory name under `envs/` and `kernels/`: jcx's app-name rule.
fn kernel_name_ok(s: &str) -> bool {
    lowercase_name_ok(s)
}

const NAME_HELP: &str = "lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 63 characters (Jupyter's kernelspec names, lowercase as Jupyter stores them): `py310`, `r-4.3`";

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for k in v.items::<RawKernel>() {
        if let Some(first) = seen.iter().find(|n| n.v == k.name.v) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    k.name.span,
                    format!("kernel `{}` is declared twice", k.name.v),
                )
                .label("same name")
                .also(first.span, "first declared here")
                .help("give each kernel its own name"),
            );
        }
        seen.push(&k.name);
        check_one(cx, k);
    }
}

fn check_one(cx: &mut Checker<'_>, k: &RawKernel) {
    let n = &k.name;
    if cx.safe(n, "the kernel name", false) {
        if n.v == NATIVE_KERNEL {
            cx.push(
                Problem::error(Code::InvalidKernel, n.span, format!("`{NATIVE_KERNEL}` is the base image's own kernel"))
                    .label("taken by the base environment")
                    .help("give the kernel another name (`py311`); to hide the base image's kernel, add `remove-kernel python3`"),
            );
        } else if !kernel_name_ok(&n.v) {
            cx.push(
                Problem::error(
                    Code::InvalidKernel,
                    n.span,
                    format!("`{}` is not a kernel name", n.v.escape_debug()),
                )
                .label("kernel name")
                .help(NAME_HELP),
            );
        }
    }
    if let Some(d) = &k.display_name
        && cx.safe(d, "the display name", false)
    {
        let problem = if d.v.trim().is_empty() {
            Some("is empty")
        } else if d.v.trim() != d.v {
            Some("starts or ends with spaces")
        } else if d.v.chars().count() > MAX_DISPLAY_NAME {
            Some("is longer than 100 characters")
        } else {
            None
        };
        if let Some(what) = problem {
            cx.push(
                Problem::error(Code::InvalidKernel, d.span, format!("the display name of kernel `{}` {what}", n.v))
                    .label("display name")
                    .help("one short line of text, as JupyterLab shows it in the launcher: `display-name=\"Python 3.10 (legacy)\"`"),
            );
        }
    }
    if let Some(l) = &k.language
        && !LANGUAGES.contains(&l.v.as_str())
    {
        let help = did_you_mean(&l.v.to_ascii_lowercase(), LANGUAGES)
            .unwrap_or_else(|| "`language=python` (the default) or `language=r`".to_string());
        cx.push(
            Problem::error(
                Code::InvalidKernel,
                l.span,
                format!("unknown kernel language `{}`", l.v.escape_debug()),
            )
            .label("language")
            .help(help),
        );
    }
    check_packages(cx, k);
    check_files(cx, k);
}

fn check_packages(cx: &mut Checker<'_>, k: &RawKernel) {
    if let Some(p) = &k.python
        && cx.safe(p, "the Python version", false)
        && !is_python_version(&p.v)
    {
        cx.push(
            Problem::error(
                Code::InvalidPython,
                p.span,
                format!("`{}` is not a Python version", p.v),
            )
            .label("Python version")
            .help("write major.minor, such as \"3.10\""),
        );
    }
    super::packages::check_conda_specs(cx, &k.mamba);
    if k.environment.is_none()
        && let Some(p) = &k.python
        && let Some(m) = k.mamba.iter().find(|m| conda_name(&m.v) == "python")
    {
        cx.push(
            Problem::error(
                Code::InvalidKernel,
                m.span,
                format!("kernel `{}` names its Python twice", k.name.v),
            )
            .label("a `python` spec")
            .also(p.span, "the kernel's `python`")
            .help("keep the kernel's `python \"X.Y\"` and remove `python` from its `mamba` list"),
        );
    }
    let Some(pip) = &k.pip else { return };
    if k.language() == "r" {
        let span = pip.items::<RawPip>().next().map_or(k.span, |p| p.span);
        cx.push(
            Problem::error(Code::InvalidKernel, span, format!("R kernel `{}` has pip requirements", k.name.v))
                .label("pip in an R kernel")
                .help("an R kernel's packages are conda packages: list them in its `mamba` (`r-tidyverse`, `r-data.table`)"),
        );
        return;
    }
    super::pip::check(cx, pip);
    for p in pip.items::<super::pip_package::RawPipPackage>() {
        cx.push(
            Problem::error(Code::InvalidKernel, p.path.span, format!("package directory `{}` in kernel `{}`", p.dir(), k.name.v))
                .label("not in a kernel")
                .help("package directories (`pip package=`) are installed into the image's environment only: move the node to the app, or install the package into the kernel's environment from an index or a `git+https://` URL"),
        );
    }
    for p in pip.items::<RawPip>() {
        if let Ok(req) = parse_pip(p)
            && TORCH_FAMILY.contains(&req.name.as_str())
        {
            cx.push(
                Problem::error(Code::InvalidKernel, p.span, format!("`{}` in the pip requirements of kernel `{}`", req.name, k.name.v))
                    .label("PyTorch in a kernel")
                    .help("jcx installs the PyTorch family from the wheel index `cuda` chooses, in the app's own environment only; in a kernel, use conda's build: `mamba pytorch`"),
            );
        }
    }
}

/// A kernel's package files: its environment file, checked for the kernel's own prefix, with
/// no `python` or `mamba` beside it; then every pip requirement of the environment together
/// (the block's, the environment file's `pip:` list, the requirements files): no package
/// required differently, no PyTorch from a file.
fn check_files(cx: &mut Checker<'_>, k: &RawKernel) {
    if let Some(e) = &k.environment {
        super::conda_env::check(cx, e, Target::Kernel(&k.name.v));
        let beside = k
            .python
            .as_ref()
            .map(|p| {
                let fix = format!(
                    "write `- python={}` in the file's `dependencies:` and remove `python` here",
                    p.v
                );
                (p.span, "`python`", fix)
            })
            .into_iter()
            .chain(k.mamba.first().map(|m| {
                let fix =
                    "list them in the file's `dependencies:` and remove `mamba` here".to_string();
                (m.span, "`mamba` packages", fix)
            }));
        for (span, what, fix) in beside {
            cx.push(
                Problem::error(Code::InvalidKernel, span, format!("kernel `{}` has an environment file and {what}", k.name.v))
                    .label(format!("{what} beside `environment=`"))
                    .also(e.span, "the environment file")
                    .help(format!("the file holds the environment's conda packages, solved at once by `mamba env create`: {fix} (pip requirements may stay in the kernel's `pip`)")),
            );
        }
    }
    let env = k
        .environment
        .as_ref()
        .and_then(|e| cx.files.environments.get(&e.v).cloned());
    let files: Vec<Arc<super::reqfile::ReqFile>> = k
        .pip
        .iter()
        .flat_map(|p| p.items::<RawPipFile>())
        .filter_map(|f| cx.files.requirements.get(&f.path.v).cloned())
        .collect();
    let inline: Vec<Pip> = k
        .pip
        .iter()
        .flat_map(|p| p.items::<RawPip>())
        .filter_map(|p| parse_pip(p).ok())
        .collect();
    let mut placed: Vec<Placed<'_>> = inline
        .iter()
        .map(|pip| Placed { pip, file: None })
        .collect();
    for (reqs, source) in env
        .iter()
        .map(|e| (&e.pip, &e.source))
        .chain(files.iter().map(|f| (&f.reqs, &f.source)))
    {
        placed.extend(reqs.iter().map(|q| Placed {
            pip: &q.pip,
            file: Some(source),
        }));
    }
    let name = &k.name.v;
    check_placed(cx, &placed, |cx, pip, file| {
        if TORCH_FAMILY.contains(&pip.name.as_str()) {
            cx.push(
                Problem::error(Code::InvalidKernel, pip.span, format!("`{}` in a package file of kernel `{name}`", pip.name))
                    .label("PyTorch in a kernel")
                    .help("jcx installs the PyTorch family from the wheel index `cuda` chooses, in the app's own environment only; in a kernel, use conda's build (`- pytorch` in the environment file's `dependencies:`)")
                    .in_file(file),
            );
        }
    });
}

/// Every environment file the kernels of a block name (for the channel policy).
pub fn environment_files(s: &RawSettings) -> impl Iterator<Item = &Sp<String>> {
    s.items::<RawKernel>(&KERNEL)
        .filter_map(|k| k.environment.as_ref())
}

fn check_remove(cx: &mut Checker<'_>, v: &Value) {
    cx.word_list(
        v.words(),
        WordRule {
            what: "the kernel name",
            quoted: false,
            valid: kernel_name_ok,
            code: Code::InvalidKernel,
            noun: "a kernel name",
            label: "kernel name",
            help: NAME_HELP,
        },
    );
}

/// Every conda spec of the kernels of a block (for the channel policy).
pub fn conda_specs(s: &RawSettings) -> impl Iterator<Item = &Sp<String>> {
    s.items::<RawKernel>(&KERNEL).flat_map(|k| k.mamba.iter())
}

/// The kernels and removed kernelspecs of a resolved app. A kernel the app also removes is
/// refused.
pub fn model(cx: &mut Checker<'_>, r: &Resolved) -> (Vec<Kernel>, Vec<String>) {
    let s = &r.settings;
    let mut removed: Vec<String> = Vec::new();
    for w in s.words(&REMOVE_KERNEL) {
        if let Some(k) = s.items::<RawKernel>(&KERNEL).find(|k| k.name.v == w.v) {
            cx.push(
                Problem::error(
                    Code::InvalidKernel,
                    w.span,
                    format!("app `{}` removes kernel `{}`, which it adds", r.name.v, w.v),
                )
                .label("removed")
                .also(k.name.span, "added here")
                .help(
                    "`remove-kernel` removes a kernel of the base image; drop it, or the `kernel`",
                ),
            );
        }
        if !removed.contains(&w.v) {
            removed.push(w.v.clone());
        }
    }
    let kernels = s
        .items::<RawKernel>(&KERNEL)
        .map(|k| kernel(k, &cx.files))
        .collect();
    (kernels, removed)
}

fn kernel(k: &RawKernel, files: &FileCache) -> Kernel {
    let r = k.language() == "r";
    let package = if r { "r-irkernel" } else { "ipykernel" };
    let environment = k.environment.as_ref().map(|e| CondaEnvironment {
        src: e.v.clone(),
        dest: super::files::temp_name(0, &e.v),
        pip: files
            .environments
            .get(&e.v)
            .is_some_and(|f| !f.pip.is_empty()),
        lock: false,
    });
    let mut mamba: Vec<String> = Vec::new();
    if let Some(e) = &k.environment {
        // `mamba env create` installs what the file lists; the kernel package after it, unless
        // the file lists it (as a conda package, or in its `pip:` list).
        let listed = files.environments.get(&e.v).is_some_and(|f| {
            f.dependencies
                .iter()
                .any(|d| conda_name(d.v.trim()) == package)
                || f.pip.iter().any(|q| q.pip.name == package)
        });
        if !listed {
            mamba.push(package.to_string());
        }
    } else {
        mamba.extend(k.python.iter().map(|p| format!("python={}", p.v)));
        if !k.mamba.iter().any(|m| conda_name(&m.v) == package) {
            mamba.push(package.to_string());
        }
        for m in &k.mamba {
            if !mamba.contains(&m.v) {
                mamba.push(m.v.clone());
            }
        }
    }
    let pip = k
        .pip
        .iter()
        .flat_map(|p| p.items::<RawPip>())
        .map(|p| p.text.v.trim().to_string())
        .collect();
    let pip_files = k
        .pip
        .iter()
        .flat_map(|p| p.items::<RawPipFile>())
        .enumerate()
        .map(|(i, f)| {
            let c = files.requirements.get(&f.path.v);
            PipFile {
                src: f.path.v.clone(),
                dest: super::files::temp_name(i, &f.path.v),
                hashed: c.is_some_and(|c| c.hashed),
                requirements: c.map_or(0, |c| c.reqs.len()),
            }
        })
        .collect();
    let display_name = k.display_name.as_ref().map_or("", |d| d.v.as_str());
    Kernel {
        name: k.name.v.clone(),
        display_name: display_name.to_string(),
        language: if r { "r" } else { "python" },
        mamba,
        environment,
        pip,
        pip_files,
        spec: spec(&k.name.v, display_name, r),
    }
}

/// The kernel.json: the environment's interpreter by absolute path, and the environment
/// activated for the kernel's process (its `bin` first on PATH, as `conda activate` does), so
/// that `!pip install` and tools called from the kernel are the environment's.
fn spec(name: &str, display_name: &str, r: bool) -> Json {
    let prefix = format!("{CONDA_DIR}/envs/{name}");
    let s = |v: &str| Json::Str(v.to_string());
    let argv: Vec<Json> = if r {
        vec![
            Json::Str(format!("{prefix}/bin/R")),
            s("--slave"),
            s("-e"),
            s("IRkernel::main()"),
            s("--args"),
            s("{connection_file}"),
        ]
    } else {
        vec![
            Json::Str(format!("{prefix}/bin/python")),
            s("-m"),
            s("ipykernel_launcher"),
            s("-f"),
            s("{connection_file}"),
        ]
    };
    let mut spec = vec![
        ("argv".to_string(), Json::Array(argv)),
        ("display_name".to_string(), s(display_name)),
        ("language".to_string(), s(if r { "R" } else { "python" })),
    ];
    if !r {
        spec.push((
            "metadata".to_string(),
            Json::Object(vec![("debugger".to_string(), Json::Bool(true))]),
        ));
    }
    spec.push((
        "env".to_string(),
        Json::Object(vec![
            (
                "PATH".to_string(),
                Json::Str(format!("{prefix}/bin:${{PATH}}")),
            ),
            ("CONDA_PREFIX".to_string(), Json::Str(prefix.clone())),
            ("CONDA_DEFAULT_ENV".to_string(), s(name)),
        ]),
    ));
    Json::Object(spec)
}

/// Removing `python3` also needs `KernelSpecManager.ensure_native_kernel = false` in the
/// server's configuration, or jupyter_client lists ipykernel's built-in spec again. Merged into
/// the app's `jupyter` server file; a manifest that sets it otherwise is refused.
pub fn native_kernel_config(cx: &mut Checker<'_>, r: &Resolved, app: &mut App) {
    let Some(w) = r
        .settings
        .words(&REMOVE_KERNEL)
        .iter()
        .find(|w| w.v == NATIVE_KERNEL)
    else {
        return;
    };
    let jupyter = app.jupyter.get_or_insert(Jupyter {
        server: None,
        lab_overrides: None,
        page_config: None,
    });
    let Json::Object(server) = jupyter.server.get_or_insert(Json::Object(Vec::new())) else {
        return;
    };
    let class = match server.iter().position(|(k, _)| k == "KernelSpecManager") {
        Some(i) => &mut server[i].1,
        None => {
            server.push(("KernelSpecManager".to_string(), Json::Object(Vec::new())));
            &mut server.last_mut().expect("just pushed").1
        }
    };
    let Json::Object(traits) = class else { return };
    match traits.iter().find(|(k, _)| k == "ensure_native_kernel") {
        Some((_, Json::Bool(false))) => {}
        Some(_) => cx.push(
            Problem::error(Code::InvalidKernel, w.span, format!("app `{}` removes `python3`, but its `jupyter` server settings keep `KernelSpecManager.ensure_native_kernel`", r.name.v))
                .label("removed here")
                .help("remove `ensure_native_kernel` from `jupyter { server { KernelSpecManager { … } } }`: jcx sets it to #false, or jupyter_client would list ipykernel's own `python3` again"),
        ),
        None => traits.push(("ensure_native_kernel".to_string(), Json::Bool(false))),
    }
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    for k in r.settings.items::<RawKernel>(&KERNEL) {
        let Some(m) = app.kernels.iter().find(|m| m.name == k.name.v) else {
            continue;
        };
        let mut parts = vec![format!("{} {:?} ({})", m.name, m.display_name, m.language)];
        if let Some(e) = &m.environment {
            parts.push(format!("environment={}", e.src));
        }
        if let Some(p) = &k.python {
            parts.push(format!("python {}", p.v));
        }
        if !k.mamba.is_empty() {
            let specs: Vec<&str> = k.mamba.iter().map(|m| m.v.as_str()).collect();
            parts.push(format!("mamba {}", specs.join(" ")));
        }
        if !m.pip.is_empty() {
            parts.push(format!("pip {}", m.pip.join(" ")));
        }
        for f in &m.pip_files {
            let plural = if f.requirements == 1 { "" } else { "s" };
            let lock = if f.hashed { ", with hashes" } else { "" };
            parts.push(format!(
                "pip requirements={} ({} requirement{plural}{lock})",
                f.src, f.requirements
            ));
        }
        let o = cx.origin(k.span);
        cx.push("kernel", parts.join("; "), o);
        let added = if k.language() == "r" {
            "r-irkernel"
        } else {
            "ipykernel"
        };
        if m.mamba.iter().any(|p| p == added) && !k.mamba.iter().any(|p| conda_name(&p.v) == added)
        {
            cx.push(
                "kernel",
                format!("{} mamba {added}", m.name),
                Origin::Derived {
                    note: format!("added by jcx: the kernel runs {added} from its environment"),
                },
            );
        }
    }
}

fn explain_remove(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    let words = r.settings.words(&REMOVE_KERNEL);
    cx.list("remove-kernel", words);
    if words.iter().any(|w| w.v == NATIVE_KERNEL) {
        cx.push(
            "jupyter server",
            "KernelSpecManager {\"ensure_native_kernel\": false}",
            Origin::Derived {
                note: "added by jcx: `remove-kernel python3`; jupyter_client would list ipykernel's own kernel again".into(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_specs() {
        assert!(kernel_name_ok("py310") && kernel_name_ok("r-4.3") && kernel_name_ok("a_b"));
        assert!(!kernel_name_ok("Py310") && !kernel_name_ok("a/b") && !kernel_name_ok("-a"));
        assert_eq!(conda_name("conda-forge::python=3.10"), "python");
        assert_eq!(conda_name("numpy>=1.26,<2"), "numpy");
        let j = spec("py310", "Python \"3.10\"", false).compact();
        assert!(j.contains(r#""/opt/conda/envs/py310/bin/python", "-m", "ipykernel_launcher""#));
        assert!(j.contains(r#""display_name": "Python \"3.10\"""#), "{j}");
    }
}
