//! pip requirements: `pip { name "1.0"; bare-name; - "PEP 508" }`. Requirements append through
//! `defaults` and `extends`; a child's requirement for an inherited package replaces it. Every
//! requirement is one PEP 508 line of requirements.txt: no pip option can get in.

use std::str::FromStr;

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;
use pep508_rs::{Requirement, VersionOrUrl};

use super::check::{Checker, first_line};
use super::decode::{Entries, children, name_span, no_children};
use super::identity::Resolved;
use super::pip_package::RawPipPackage;
use super::raw::{Custom, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::App;

pub const TORCH_FAMILY: &[&str] = &["torch", "torchvision", "torchaudio"];

pub static PIP: Setting = Setting {
    name: "pip",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: None,
    check,
    explain: Explain::Custom(explain),
};

pub static PIP_PRE: Setting = Setting {
    name: "pip-pre",
    shape: Shape::Flag {
        fix: "write `pip-pre #true` to let pip choose pre-releases",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: super::setting::no_check,
    explain: Explain::RowsOr(
        |app| app.pip_pre.to_string(),
        "pip installs final releases only",
    ),
};

/// A requirements file of the repository: `pip requirements="requirements.txt"`.
#[derive(Debug, Clone)]
pub struct RawPipFile {
    pub span: SourceSpan,
    pub path: Sp<String>,
}

/// One pip requirement as written: `- "spec"`, `name "version"` or a bare `name`.
#[derive(Debug, Clone)]
pub struct RawPip {
    pub span: SourceSpan,
    /// The PEP 508 text jcx will parse (for `name "1.0"` this is `name==1.0`).
    pub text: Sp<String>,
}

/// A `pip { ... }` block (also a kernel's, see `kernels`).
pub(super) fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    if node.children().is_none() && !en.args.is_empty() {
        // `pip numpy pandas`: one mistake (the block form), reported once.
        let items: Vec<String> = en
            .args
            .iter()
            .map(|e| match e.value() {
                KdlValue::String(s) => format!("- {s:?}"),
                _ => format!("- {}", e.to_string().trim()),
            })
            .collect();
        problems.push(
            Problem::error(
                Code::MissingChildren,
                node.span(),
                "pip requirements go in a `pip { ... }` block",
            )
            .label("not a block")
            .help(format!(
                "write `pip {{ {} }}`, one requirement per line",
                items.join("; ")
            )),
        );
        return None;
    }
    let file = en.prop_string("requirements", problems);
    let package = en.prop_string("package", problems);
    let extras = en.prop_string("extras", problems);
    en.finish(&["requirements", "package", "extras"], problems);
    let mut items: Vec<Box<dyn Custom>> = Vec::new();
    if let Some(path) = file {
        items.push(Box::new(RawPipFile {
            span: node.span(),
            path,
        }));
    }
    match (package, extras) {
        (Some(path), extras) => items.push(Box::new(RawPipPackage {
            span: node.span(),
            path,
            extras,
        })),
        (None, Some(extras)) => problems.push(
            Problem::error(
                Code::InvalidPip,
                extras.span,
                "`extras=` belongs to a package directory (`package=`)",
            )
            .label("no `package=`")
            .help("write `pip package=\"DIR\" extras=\"...\"`; extras of an index package go in its requirement: `pip { - \"name[extra]==1.0\" }`"),
        ),
        (None, None) => {}
    }
    // `pip requirements="..."` or `pip package="..."` alone needs no block.
    if !items.is_empty() && node.children().is_none() {
        return Some(Value::Items(items));
    }
    if let Some(c) = children(node, problems) {
        for child in c.nodes() {
            if let Some(p) = read_requirement(child, problems) {
                items.push(Box::new(p));
            }
        }
    }
    Some(Value::Items(items))
}

fn read_requirement(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<RawPip> {
    let name = node.name().value();
    let mut en = Entries::new(node, problems);
    let pip = if name == "-" {
        let text = en.one_string(
            "a requirement, such as `- \"transformers==4.28.1\"`",
            problems,
        )?;
        RawPip {
            span: node.span(),
            text,
        }
    } else if en.args.is_empty() {
        RawPip {
            span: node.span(),
            text: Sp::new(name.to_string(), name_span(node)),
        }
    } else {
        let version = en.one_string("a version", problems)?;
        let text = if version.v.starts_with(|c: char| "=<>!~".contains(c)) {
            format!("{name}{}", version.v)
        } else {
            format!("{name}=={}", version.v)
        };
        RawPip {
            span: node.span(),
            text: Sp::new(text, node.span()),
        }
    };
    en.finish(&[], problems);
    no_children(node, problems);
    Some(pip)
}

/// The child's requirement replaces every inherited one it overlaps. Each requirement is parsed
/// once here, not once per later requirement (that was quadratic, and half of `check`'s time on
/// a large manifest).
fn merge(base: &mut Value, over: &Value) {
    let mut parsed: Vec<Option<Pip>> = base.items::<RawPip>().map(|q| parse_pip(q).ok()).collect();
    let Some(base) = base.boxed_items() else {
        return;
    };
    for p in over.items::<RawPip>() {
        let new = parse_pip(p).ok();
        if let Some(n) = &new {
            let replaced = |q: &Option<Pip>| q.as_ref().is_some_and(|q| q.overlaps(n));
            let mut keep = parsed.iter().map(|q| !replaced(q));
            base.retain(|_| keep.next().unwrap_or(true));
            parsed.retain(|q| !replaced(q));
        }
        base.push(Box::new(p.clone()));
        parsed.push(new);
    }
    // Requirements files and package directories append; one the parent names already moves to
    // the child's place (a package directory with the child's extras).
    for f in over.items::<RawPipFile>() {
        base.retain(|i| {
            (**i)
                .as_any()
                .downcast_ref::<RawPipFile>()
                .is_none_or(|b| b.path.v != f.path.v)
        });
        base.push(Box::new(f.clone()));
    }
    for p in over.items::<RawPipPackage>() {
        base.retain(|i| {
            (**i)
                .as_any()
                .downcast_ref::<RawPipPackage>()
                .is_none_or(|b| b.dir() != p.dir())
        });
        base.push(Box::new(p.clone()));
    }
}

/// The requirements of one `pip` block (also a kernel's): each valid, no package twice.
pub(super) fn check(cx: &mut Checker<'_>, v: &Value) {
    for f in v.items::<RawPipFile>() {
        super::reqfile::check(cx, &f.path);
    }
    super::check::duplicate_paths(cx, v.items::<RawPipFile>().map(|f| &f.path));
    for p in v.items::<RawPipPackage>() {
        super::pip_package::check(cx, p);
    }
    let mut seen: Vec<&RawPipPackage> = Vec::new();
    for p in v.items::<RawPipPackage>() {
        match seen.iter().find(|q| q.dir() == p.dir()) {
            Some(first) => cx.push(
                Problem::error(
                    Code::Duplicate,
                    p.path.span,
                    format!("`{}` is named twice", p.dir()),
                )
                .label("named again")
                .also(first.path.span, "first named here")
                .help(
                    "name each package directory once (with all its extras): it is installed once",
                ),
            ),
            None => seen.push(p),
        }
    }
    let mut pins: Vec<Pip> = Vec::new();
    for p in v.items::<RawPip>() {
        let Some(pip) = requirement(cx, p) else {
            continue;
        };
        match pins.iter().find(|q| q.overlaps(&pip)) {
            None => pins.push(pip),
            Some(first) if first.canonical != pip.canonical => cx.push(
                Problem::error(
                    Code::ConflictingPin,
                    pip.span,
                    format!(
                        "`{}` is required twice, differently: `{}` and `{}`",
                        pip.name, first.text, pip.text
                    ),
                )
                .label("second requirement")
                .also(first.span, "first requirement")
                .help(
                    "keep the one you mean; pip cannot satisfy two different pins of one package",
                ),
            ),
            Some(first) => cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    pip.span,
                    format!("`{}` is listed twice", pip.name),
                )
                .label("listed again")
                .also(first.span, "first listed here")
                .help("remove one of them"),
            ),
        }
    }
}

pub(super) fn requirement(cx: &mut Checker<'_>, p: &RawPip) -> Option<Pip> {
    let t = &p.text;
    if !cx.safe(t, "the pip requirement", false) {
        return None;
    }
    let trimmed = t.v.trim_start();
    if trimmed.starts_with('-') {
        let opt = trimmed
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or(trimmed);
        let help = match opt {
            "--index-url" | "-i" | "--extra-index-url" | "--trusted-host" | "--find-links"
            | "-f" => {
                "indexes are not set per requirement: torch, torchvision and torchaudio come from the PyTorch index chosen by `cuda`, everything else from the default index or the `mirrors { pypi ... }` mirror".to_string()
            }
            "-r" | "--requirement" | "-c" | "--constraint" => {
                "list the requirements themselves in the `pip` block, or name a requirements file of the repository: `pip requirements=\"requirements.txt\"`".to_string()
            }
            "-e" | "--editable" => {
                // `-e git+https://host/x/peft#egg=peft` -> `peft @ git+https://host/x/peft`
                editable_help(trimmed[opt.len()..].trim_start_matches([' ', '=']).trim())
            }
            _ => {
                "pip options are not allowed in the `pip` block; write a PEP 508 requirement such as `- \"transformers==4.28.1\"`".to_string()
            }
        };
        cx.push(
            Problem::error(
                Code::PipOption,
                t.span,
                format!("pip option `{opt}` is not allowed in a manifest"),
            )
            .label("pip option")
            .help(help),
        );
        return None;
    }
    if !one_line_to_pip(cx, t) {
        return None;
    }
    match parse_pip(p) {
        Ok(pip)
            if pip
                .url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("file:")) =>
        {
            cx.push(
                Problem::error(Code::InvalidPip, t.span, format!("`{}` installs from a local file URL", pip.name))
                    .label("local path")
                    .help("a `file:` URL names a path of the machine that builds, not of the image's build context: install a package directory of the repository with `pip package=\"DIR\"`, or use a `git+https://` or `https://` URL, or a version from the index"),
            );
            None
        }
        Ok(pip) if pip.url.as_deref().is_some_and(|u| !secure_url(u)) => {
            let url = pip.url.as_deref().unwrap_or_default();
            let scheme = url.split("://").next().unwrap_or(url);
            cx.push(
                Problem::error(Code::InvalidPip, t.span, format!("`{}` installs over `{scheme}://`", pip.name))
                    .label("not https")
                    .help("anyone between the builder and that host could replace the package: use an `https://` or `git+https://` URL"),
            );
            None
        }
        Ok(pip) => Some(pip),
        Err(message) => {
            let help = if t.v.contains("://") {
                match name_from_url(&t.v) {
                    Some(name) => format!("name the package: `- \"{name} @ {}\"`", t.v),
                    None => format!(
                        "a URL needs the package's name in front: `- \"NAME @ {}\"`, with the name the package declares",
                        t.v
                    ),
                }
            } else {
                "write a PEP 508 requirement such as `name`, `name==1.2.3`, `name>=1,<2` or `name @ git+https://...`".to_string()
            };
            cx.push(
                Problem::error(
                    Code::InvalidPip,
                    t.span,
                    format!("`{}` is not a valid pip requirement", t.v),
                )
                .label(first_line(&message))
                .help(help),
            );
            None
        }
    }
}

/// Whether pip reads the requirement's line as exactly this one requirement. pip joins a line
/// ending in `\\` with the next, drops ` #` comments, takes ` -x`/` --x` words as options of the
/// requirement (`--hash`, `--config-settings`, even `--extra-index-url`) and expands `${VAR}`
/// from the build's environment; each would make requirements.txt say something the manifest
/// does not.
fn one_line_to_pip(cx: &mut Checker<'_>, t: &Sp<String>) -> bool {
    let text = t.v.trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    let (code, what, help) = if text.ends_with('\\') {
        (
            Code::InvalidPip,
            "ends with `\\`, which joins it with the next line of requirements.txt".to_string(),
            "remove the trailing `\\`".to_string(),
        )
    } else if let Some(w) = words.iter().skip(1).find(|w| w.starts_with('#')) {
        (
            Code::InvalidPip,
            format!("contains ` {w}`, which pip reads as the start of a comment"),
            "remove the comment, or the space before `#` if it is part of a URL".to_string(),
        )
    } else if let Some(w) = words.iter().skip(1).find(|w| w.starts_with('-')) {
        let opt = w.split('=').next().unwrap_or(w);
        (
            Code::PipOption,
            format!("contains `{opt}`, which pip reads as an option of this requirement"),
            "a requirement is a PEP 508 line only: per-requirement options (`--hash`, `--config-settings`, index options) are not allowed".to_string(),
        )
    } else if text.contains("${") {
        (
            Code::InvalidPip,
            "contains `${`, which pip expands from the build's environment".to_string(),
            "write the value itself".to_string(),
        )
    } else {
        return true;
    };
    cx.push(
        Problem::error(
            code,
            t.span,
            format!(
                "the pip requirement `{}` {what}",
                super::decode::shown(&t.v)
            ),
        )
        .label("not one plain requirement")
        .help(help),
    );
    false
}

/// `https://` and `git+https://`, the URLs whose content a network attacker cannot replace.
fn secure_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("git+https://")
}

/// Help for `-e TARGET`: the requirement that installs the same thing without editing.
fn editable_help(target: &str) -> String {
    let (url, egg) = match target.split_once("#egg=") {
        Some((u, e)) => (u, Some(e)),
        None => (target, None),
    };
    match egg {
        Some(name) if url.contains("://") => format!(
            "editable installs do not belong in an image; install it from the URL: `- \"{name} @ {url}\"`"
        ),
        _ if !target.is_empty() && !target.contains("://") => format!(
            "editable installs do not belong in an image (the build's copy is not yours to edit); install the package directory of the repository: `pip package=\"{}\"` (a path from the repository root)",
            target.trim_start_matches("./").trim_end_matches('/')
        ),
        _ => "editable installs do not belong in an image; use `- \"name @ git+https://...\"`"
            .to_string(),
    }
}

/// The distribution name a bare URL most likely installs: `#egg=NAME`, the name part of a wheel
/// or sdist file name (`peft-0.5.0-py3-none-any.whl` -> `peft`), or a git repository's name
/// without its `@ref` and `.git`. `None` when the URL does not say.
pub fn name_from_url(url: &str) -> Option<String> {
    if let Some((_, egg)) = url.split_once("#egg=") {
        let egg = egg.split('&').next().unwrap_or(egg);
        return is_dist_name(egg).then(|| egg.to_string());
    }
    let path = url.split(['#', '?']).next().unwrap_or(url);
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let path = path.trim_end_matches('/');
    let git = url.starts_with("git+");
    // `git+https://host/org/repo@v1.0` or `...repo.git@ref`: the ref follows the `@` of the last
    // path segment.
    let last = path.rsplit('/').next()?;
    let last = if git { last.split('@').next()? } else { last };
    let name = if let Some(wheel) = last.strip_suffix(".whl") {
        wheel.split('-').next()?.to_string()
    } else if let Some(sdist) = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|ext| last.strip_suffix(ext))
    {
        // `name-1.0`: the version starts at the last `-` followed by a digit.
        let cut = sdist
            .match_indices('-')
            .filter(|(i, _)| sdist[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
            .map(|(i, _)| i)
            .next_back()?;
        sdist[..cut].to_string()
    } else if git {
        last.trim_end_matches(".git").to_string()
    } else {
        return None;
    };
    is_dist_name(&name).then_some(name)
}

fn is_dist_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A requirement as the model holds it (its text), parsed; `None` when it does not parse
/// (validation refused it already).
pub fn parse_text(text: &str) -> Option<Pip> {
    let raw = RawPip {
        span: SourceSpan::from(0..0),
        text: Sp::new(text.to_string(), SourceSpan::from(0..0)),
    };
    parse_pip(&raw).ok()
}

/// The normalized package name of a requirement text.
pub fn requirement_name(text: &str) -> Option<String> {
    parse_text(text).map(|p| p.name)
}

/// Whether requirement text `a` says what canonical requirement `b` says.
pub fn same_requirement(a: &str, b_canonical: &str) -> bool {
    parse_text(a).is_some_and(|p| p.canonical == b_canonical)
}

/// Every requirement of a resolved app that parses, in order.
pub fn requirements(r: &Resolved) -> Vec<Pip> {
    r.settings
        .items::<RawPip>(&PIP)
        .filter_map(|p| parse_pip(p).ok())
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    let s = &r.settings;
    let cuda = s.has(&super::cuda::CUDA);
    if cuda
        && !s
            .items::<RawPip>(&PIP)
            .any(|p| is_torch(&p.text.v, "torch"))
    {
        cx.push(
            "pip",
            "torch",
            Origin::Derived {
                note: "added by jcx: `cuda` installs torch from the PyTorch index".into(),
            },
        );
    }
    for f in s.items::<RawPipFile>(&PIP) {
        let value = match app.pip_files.iter().find(|p| p.src == f.path.v) {
            Some(p) => format!(
                "requirements={} ({} requirement{}{})",
                f.path.v,
                p.requirements,
                if p.requirements == 1 { "" } else { "s" },
                if p.hashed {
                    ", with hashes: a step of its own"
                } else {
                    ""
                }
            ),
            None => format!("requirements={}", f.path.v),
        };
        let o = cx.origin(f.span);
        cx.push("pip", value, o);
    }
    for p in s.items::<RawPip>(&PIP) {
        let torch = cuda && TORCH_FAMILY.iter().any(|t| is_torch(&p.text.v, t));
        let value = if torch {
            format!("{}  [PyTorch index]", p.text.v)
        } else {
            p.text.v.clone()
        };
        let o = cx.origin(p.span);
        cx.push("pip", value, o);
    }
    for p in s.items::<RawPipPackage>(&PIP) {
        let o = cx.origin(p.span);
        cx.push("pip", super::pip_package::shown(p), o);
    }
}

/// Whether a requirement's text names `package` (`torch`, `torch==2.2.1`, `torch>=2`).
fn is_torch(req: &str, package: &str) -> bool {
    req.strip_prefix(package)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| "=<>!~ ;[@".contains(c)))
}

pub fn normalize_pkg(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// A pip requirement that parsed: its normalized name, canonical text and `==` pin if any.
#[derive(Debug, Clone)]
pub struct Pip {
    pub name: String,
    /// The environment marker, canonical. Two requirements for one package overlap unless both
    /// have markers and the markers differ (`numpy<2; python_version < '3.10'`).
    pub marker: Option<String>,
    /// As written (trimmed): what goes into requirements.txt. Never the parser's canonical form,
    /// which expands `${VAR}` from the environment jcx runs in.
    pub text: String,
    /// The parser's canonical form, only to compare two requirements.
    pub canonical: String,
    pub pin: Option<String>,
    pub has_url_or_marker: bool,
    /// The URL of a `name @ URL` requirement, lowercase scheme as given.
    pub url: Option<String>,
    pub span: SourceSpan,
}

impl Pip {
    /// Whether both requirements can apply to one environment: same package, and not two
    /// different markers.
    pub fn overlaps(&self, other: &Pip) -> bool {
        self.name == other.name
            && (self.marker.is_none() || other.marker.is_none() || self.marker == other.marker)
    }
}

pub fn parse_pip(p: &RawPip) -> Result<Pip, String> {
    let text = p.text.v.trim();
    // pep508_rs 0.9 panics on a name that ends in `.`, `-` or `_` (`pandas.==1`): refuse it here.
    let name_run = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .next()
        .unwrap_or("");
    if name_run.ends_with(['.', '-', '_']) {
        return Err(format!(
            "the package name `{name_run}` must start and end with a letter or digit"
        ));
    }
    let req =
        Requirement::<pep508_rs::VerbatimUrl>::from_str(text).map_err(|e| e.message.to_string())?;
    let name = normalize_pkg(req.name.as_ref());
    let mut pin = None;
    let mut has_url_or_marker = !req.marker.is_true();
    let mut url_text = None;
    match &req.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specs)) => {
            let specs: Vec<_> = specs.iter().collect();
            if specs.len() == 1 && specs[0].operator().to_string() == "==" {
                let v = specs[0].version().to_string();
                if !v.contains('*') {
                    pin = Some(v);
                }
            }
        }
        Some(VersionOrUrl::Url(url)) => {
            has_url_or_marker = true;
            url_text = Some(url.to_string());
        }
        None => {}
    }
    Ok(Pip {
        marker: req.marker.try_to_string(),
        name,
        text: text.to_string(),
        canonical: req.to_string(),
        pin,
        has_url_or_marker,
        url: url_text,
        span: p.span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        let cases = [
            (
                "git+https://github.com/jupyter/nbgrader@v0.8.4.dev505",
                Some("nbgrader"),
            ),
            (
                "git+https://github.com/huggingface/peft.git@main",
                Some("peft"),
            ),
            ("git+https://github.com/huggingface/peft", Some("peft")),
            (
                "https://files.example.org/peft-0.5.0-py3-none-any.whl",
                Some("peft"),
            ),
            (
                "https://files.example.org/flash_attn-2.5.8+cu118-cp311-cp311-linux_x86_64.whl",
                Some("flash_attn"),
            ),
            (
                "https://files.example.org/my-pkg-1.2.tar.gz",
                Some("my-pkg"),
            ),
            ("git+https://host/x/y#egg=thing", Some("thing")),
            ("https://host/download?id=3", None),
        ];
        for (url, want) in cases {
            assert_eq!(name_from_url(url).as_deref(), want, "{url}");
        }
    }
}
