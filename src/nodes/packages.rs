//! System and conda packages: `apt` and `mamba`. Both are lists that append through `defaults`
//! and `extends`, and both become words of a `RUN` line.

use std::collections::HashMap;

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, WordRule, dedup};
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::raw::{Custom, RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, CondaEnvironment};

pub static APT: Setting = Setting {
    name: "apt",
    shape: Shape::Words { what: "package" },
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: None,
    check: check_apt,
    explain: Explain::Custom(explain_apt),
};

pub static APT_RECOMMENDS: Setting = Setting {
    name: "apt-recommends",
    shape: Shape::Flag {
        fix: "write `apt-recommends #true` to install recommended packages too",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: super::setting::no_check,
    explain: Explain::RowsOr(
        |app| app.apt_recommends.to_string(),
        "apt installs without recommends",
    ),
};

pub static MAMBA: Setting = Setting {
    name: "mamba",
    shape: Shape::Custom(read_mamba),
    inherit: Inherit::Custom(merge_mamba),
    once: false,
    app_only: false,
    example: None,
    check: check_mamba,
    explain: Explain::Custom(explain_mamba),
};

/// An `environment.yml` of the repository: `mamba environment="environment.yml"`.
#[derive(Debug, Clone)]
pub struct RawMambaEnv {
    pub span: SourceSpan,
    pub path: Sp<String>,
}

/// An explicit conda lock file of the repository: `mamba lock="conda-linux-64.lock"`.
#[derive(Debug, Clone)]
pub struct RawMambaLock {
    pub span: SourceSpan,
    pub path: Sp<String>,
}

/// `mamba SPEC… [environment="FILE"] [lock="FILE"]`: the specs (as `Sp<String>` items) and the
/// files.
fn read_mamba(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let env = en.prop_string("environment", problems);
    let lock = en.prop_string("lock", problems);
    let words = en.strings("package", env.is_none() && lock.is_none(), problems);
    en.finish(&["environment", "lock"], problems);
    no_children(node, problems);
    let mut items: Vec<Box<dyn Custom>> = Vec::new();
    if let Some(path) = lock {
        items.push(Box::new(RawMambaLock {
            span: node.span(),
            path,
        }));
    }
    if let Some(path) = env {
        items.push(Box::new(RawMambaEnv {
            span: node.span(),
            path,
        }));
    }
    items.extend(words.into_iter().map(|w| Box::new(w) as Box<dyn Custom>));
    Some(Value::Items(items))
}

/// Specs and files append; a file the parent names already moves to the child's place.
fn merge_mamba(base: &mut Value, over: &Value) {
    let paths: Vec<&str> = over
        .items::<RawMambaEnv>()
        .map(|e| e.path.v.as_str())
        .chain(over.items::<RawMambaLock>().map(|e| e.path.v.as_str()))
        .collect();
    if let Some(items) = base.boxed_items() {
        items.retain(|i| {
            let any = (**i).as_any();
            any.downcast_ref::<RawMambaEnv>()
                .is_none_or(|e| !paths.contains(&e.path.v.as_str()))
                && any
                    .downcast_ref::<RawMambaLock>()
                    .is_none_or(|e| !paths.contains(&e.path.v.as_str()))
        });
    }
    base.extend(over.clone());
}

/// The conda specs written in `mamba` nodes.
fn mamba_specs(v: &Value) -> Vec<Sp<String>> {
    v.items::<Sp<String>>().cloned().collect()
}

fn check_apt(cx: &mut Checker<'_>, v: &Value) {
    cx.word_list(
        v.words(),
        WordRule {
            what: "the apt package",
            quoted: false,
            valid: is_apt_package,
            code: Code::InvalidAptPackage,
            noun: "a Debian package name",
            label: "apt package",
            help: "package names are lowercase letters, digits, `+`, `-` and `.` (at least two characters, starting with a letter or digit), optionally `=version`",
        },
    );
    let mut seen: HashMap<&str, SourceSpan> = HashMap::new();
    for a in v.words() {
        let name = a.v.split('=').next().unwrap_or(&a.v);
        if let Some(first) = seen.insert(name, a.span) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    a.span,
                    format!("apt package `{name}` is listed twice"),
                )
                .label("listed again")
                .also(first, "first listed here")
                .help("remove one of them"),
            );
        }
    }
}

fn check_mamba(cx: &mut Checker<'_>, v: &Value) {
    for e in v.items::<RawMambaEnv>() {
        super::conda_env::check(cx, &e.path, super::conda_env::Target::Base);
    }
    for e in v.items::<RawMambaLock>() {
        super::conda_lock::check(cx, &e.path);
    }
    super::check::duplicate_paths(
        cx,
        v.items::<RawMambaEnv>()
            .map(|e| &e.path)
            .chain(v.items::<RawMambaLock>().map(|e| &e.path)),
    );
    check_conda_specs(cx, &mamba_specs(v));
}

/// Conda package specs of a `mamba` list (also a kernel's).
pub fn check_conda_specs(cx: &mut Checker<'_>, specs: &[Sp<String>]) {
    cx.word_list(
        specs,
        WordRule {
            what: "the conda package",
            quoted: true,
            valid: is_conda_spec,
            code: Code::InvalidCondaSpec,
            noun: "a conda package spec",
            label: "conda spec",
            help: "write `name`, `name=1.2`, `name>=1.2,<2` or `channel::name`: letters, digits and `-_.` in the name, no spaces or quotes",
        },
    );
}

/// With a conda mirror, `channel::package` still fetches from that channel, not the mirror: in
/// the app's `mamba` list and in every kernel's; so do the channels of an `environment.yml`.
pub fn check_channels(cx: &mut Checker<'_>, r: &Resolved, conda_mirror: bool) {
    if !conda_mirror {
        return;
    }
    let kernel_files = super::kernels::environment_files(&r.settings);
    let mut seen = std::collections::HashSet::new();
    for path in r
        .settings
        .items::<RawMambaEnv>(&MAMBA)
        .map(|e| &e.path)
        .chain(kernel_files)
    {
        if !seen.insert(path.v.as_str()) {
            continue;
        }
        let Some(env) = cx.files.environments.get(&path.v).cloned() else {
            continue;
        };
        for c in &env.channels {
            cx.push(
                Problem::warning(
                    Code::InvalidChannel,
                    c.span,
                    format!("the environment file's channel `{}` is used as written, not the conda mirror", c.v),
                )
                .label("bypasses the mirror")
                .help("`mirrors { conda ... }` replaces the channels of `mamba` specs only: `mamba env update` and `mamba env create` read the file's own channels. Name the mirror's URL in the file, or install the packages with `mamba SPEC…`")
                .in_file(&env.source),
            );
        }
    }
    for l in r.settings.items::<RawMambaLock>(&MAMBA) {
        cx.push(
            Problem::warning(
                Code::InvalidChannel,
                l.path.span,
                format!("the packages of `{}` come from the URLs it lists, not from the conda mirror", l.path.v),
            )
            .label("bypasses the mirror")
            .help("a lock names each package's URL: lock against the mirror (`conda-lock --channel URL`), or install the packages with `mamba SPEC…`"),
        );
    }
    let kernels = super::kernels::conda_specs(&r.settings);
    for m in r.settings.items::<Sp<String>>(&MAMBA).chain(kernels) {
        if let Some((channel, _)) = m.v.split_once("::") {
            cx.push(
                Problem::warning(
                    Code::InvalidCondaSpec,
                    m.span,
                    format!("`{}` comes from the `{channel}` channel, not from the conda mirror", m.v),
                )
                .label("bypasses the mirror")
                .help("`mirrors { conda ... }` replaces the channels, but `channel::package` names its own; drop the `channel::` prefix to use the mirror"),
            );
        }
    }
}

fn is_curl(a: &str) -> bool {
    a == "curl" || a.starts_with("curl=")
}

fn is_gnupg(a: &str) -> bool {
    a == "gnupg" || a.starts_with("gnupg=")
}

/// The apt packages of an app; code-server's release package, downloads and repository keys
/// are fetched with curl (`curl`: the app needs it), and repository keys are checked with gpg
/// (`gnupg`).
pub fn apt_model(s: &RawSettings, curl: bool, gnupg: bool) -> Vec<String> {
    let mut apt = dedup(s.words(&APT).iter().map(|a| a.v.clone()));
    if curl && !apt.iter().any(|a| is_curl(a)) {
        apt.push("curl".to_string());
    }
    if gnupg && !apt.iter().any(|a| is_gnupg(a)) {
        apt.push("gnupg".to_string());
    }
    apt
}

pub fn mamba_model(s: &RawSettings) -> Vec<String> {
    dedup(s.items::<Sp<String>>(&MAMBA).map(|m| m.v.clone()))
}

/// The conda lock files, then the `environment.yml` files of an app, each in manifest order
/// (inherited first): a lock is the whole environment, solved already; environment files and
/// specs come on top of it.
pub fn environments_model(cx: &Checker<'_>, s: &RawSettings) -> Vec<CondaEnvironment> {
    let locks = s.items::<RawMambaLock>(&MAMBA).map(|e| (&e.path, true));
    let envs = s.items::<RawMambaEnv>(&MAMBA).map(|e| (&e.path, false));
    locks
        .chain(envs)
        .enumerate()
        .map(|(i, (path, lock))| CondaEnvironment {
            src: path.v.clone(),
            dest: super::files::temp_name(i, &path.v),
            pip: !lock
                && cx
                    .files
                    .environments
                    .get(&path.v)
                    .is_some_and(|f| !f.pip.is_empty()),
            lock,
        })
        .collect()
}

/// Each lock file against the platforms the app builds for.
pub fn check_lock_platforms(cx: &mut Checker<'_>, r: &Resolved, platforms: &[String]) {
    for e in r.settings.items::<RawMambaLock>(&MAMBA) {
        if let Some(file) = cx.files.locks.get(&e.path.v).cloned() {
            super::conda_lock::check_platforms(cx, &e.path, &file, platforms, &r.name.v);
        }
    }
}

fn explain_mamba(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for e in r.settings.items::<RawMambaLock>(&MAMBA) {
        let o = cx.origin(e.span);
        cx.push("mamba", format!("lock={}", e.path.v), o);
    }
    for e in r.settings.items::<RawMambaEnv>(&MAMBA) {
        let o = cx.origin(e.span);
        cx.push("mamba", format!("environment={}", e.path.v), o);
    }
    let specs: Vec<Sp<String>> = r.settings.items::<Sp<String>>(&MAMBA).cloned().collect();
    cx.list("mamba", &specs);
}

fn explain_apt(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    let s = &r.settings;
    cx.list("apt", s.words(&APT));
    let repos = s.has(&super::apt_repository::APT_REPOSITORY);
    let by = if s.has(&super::code_server::CODE_SERVER) {
        "code-server is"
    } else if s.has(&super::downloads::DOWNLOAD) {
        "downloads are"
    } else {
        "repository keys are"
    };
    let curl =
        s.has(&super::code_server::CODE_SERVER) || s.has(&super::downloads::DOWNLOAD) || repos;
    if curl && !s.words(&APT).iter().any(|a| is_curl(&a.v)) {
        cx.push(
            "apt",
            "curl",
            Origin::Derived {
                note: format!("added by jcx: {by} downloaded with curl"),
            },
        );
    }
    super::locale::explain_apt(cx, s);
    if repos && !s.words(&APT).iter().any(|a| is_gnupg(&a.v)) {
        cx.push(
            "apt",
            "gnupg",
            Origin::Derived {
                note: "added by jcx: apt repository keys are checked with gpg".to_string(),
            },
        );
    }
}

/// Debian policy 5.6.1: `[a-z0-9][a-z0-9+.-]+`, optionally `=version` (and `:arch`).
pub fn is_apt_package(s: &str) -> bool {
    let (name, version) = match s.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (s, None),
    };
    let (name, arch) = match name.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (name, None),
    };
    let b = name.as_bytes();
    let name_ok = b.len() >= 2
        && b.len() <= 100
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+.-".contains(c));
    let arch_ok = arch.is_none_or(|a| {
        !a.is_empty()
            && a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    });
    let version_ok = version.is_none_or(|v| {
        !v.is_empty()
            && v.as_bytes()[0].is_ascii_digit()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".+~:-".contains(&c))
    });
    name_ok && arch_ok && version_ok
}

/// The spec after its `channel::` prefix (the whole spec without one); `None` when the channel
/// is empty or has a character other than ASCII letters, digits and `extra`.
pub fn without_channel<'a>(s: &'a str, extra: &[u8]) -> Option<&'a str> {
    match s.split_once("::") {
        Some((channel, rest)) => (!channel.is_empty()
            && channel
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c)))
        .then_some(rest),
        None => Some(s),
    }
}

/// The package name of a conda spec (`conda-forge::numpy>=1.26` -> `numpy`): after any
/// `channel::`, up to the first character a name cannot hold.
pub fn conda_name(spec: &str) -> &str {
    let spec = spec.split_once("::").map_or(spec, |(_, rest)| rest);
    &spec[..name_end(spec)]
}

/// Where the package name at the start of a conda spec (without its channel) ends.
pub(super) fn name_end(spec: &str) -> usize {
    spec.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len())
}

/// A conda MatchSpec in its simple forms: `[channel::]name[ op version[,op version]][=build]`.
pub fn is_conda_spec(s: &str) -> bool {
    let Some(spec) = without_channel(s, b"-_.") else {
        return false;
    };
    let (name, version) = spec.split_at(name_end(spec));
    if name.is_empty() || !name.as_bytes()[0].is_ascii_alphanumeric() || name.len() > 100 {
        return false;
    }
    version.is_empty()
        || (version.starts_with(['=', '<', '>', '!', '~'])
            && version
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".*,<>=!~|_+".contains(&c))
            && version.bytes().any(|c| c.is_ascii_digit() || c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_and_conda() {
        assert!(
            is_apt_package("libopenmpi-dev")
                && is_apt_package("g++")
                && is_apt_package("vim=2:9.1-1")
        );
        assert!(!is_apt_package("a") && !is_apt_package("Vim") && !is_apt_package("vim;rm"));
        assert!(
            is_conda_spec("jupyter-server-proxy")
                && is_conda_spec("numpy>=1.26,<2")
                && is_conda_spec("conda-forge::r-base=4.3")
        );
        assert!(
            !is_conda_spec("numpy >=1")
                && !is_conda_spec("'x'")
                && !is_conda_spec("numpy>=")
                && !is_conda_spec("$(x)")
        );
    }
}
