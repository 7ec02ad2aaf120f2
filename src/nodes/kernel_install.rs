//! `kernel-install MODULE…`: kernels that a Python package registers itself, with its own
//! installer module (`python -m bash_kernel.install`, metakernel's `python -m calysto_scheme
//! install`). Each runs as the notebook user with `--sys-prefix`, after the app's pip steps and
//! before `pip-remove`, so its kernelspec lands in `${CONDA_DIR}/share/jupyter/kernels` beside
//! the stacks' own. Lists append through `defaults` and `extends`.

use super::check::Checker;
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::App;

pub static KERNEL_INSTALL: Setting = Setting {
    name: "kernel-install",
    shape: Shape::Words {
        what: "installer module",
    },
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("kernel-install bash_kernel.install"),
    check,
    explain: Explain::Custom(explain),
};

/// Longer module paths are not a real module: a mistake (a pasted command line) or an attack.
const MAX_LEN: usize = 200;

const HELP: &str = "a Python module path: names of letters, digits and `_` (not starting with a digit), joined by `.`: `bash_kernel.install`, `calysto_scheme`";

/// `[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*`, ASCII only (no shell word needs quoting).
pub fn is_module(s: &str) -> bool {
    s.len() <= MAX_LEN
        && s.split('.').all(|part| {
            part.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// The command that registers the kernel: a module named `….install` is the installer itself
/// (`bash_kernel.install`, `octave_kernel.install`); any other is a metakernel-style package
/// whose `__main__` takes the `install` subcommand. `--sys-prefix`: the kernelspec goes into
/// `${CONDA_DIR}/share/jupyter/kernels`, where the stacks' kernels are.
pub fn command(module: &str) -> String {
    if module.ends_with(".install") {
        format!("python -m {module} --sys-prefix")
    } else {
        format!("python -m {module} install --sys-prefix")
    }
}

/// The help for a word that is not a module path.
fn fix(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    if let Some(i) = words.iter().position(|w| *w == "-m")
        && let Some(m) = words.get(i + 1).filter(|m| is_module(m))
    {
        return format!(
            "write the module alone, jcx writes the command: `kernel-install {m}` (its options are not taken: jcx runs the installer with `--sys-prefix`)"
        );
    }
    if s.starts_with('-') {
        return "jcx runs every installer with `--sys-prefix` (the kernelspec in ${CONDA_DIR}/share/jupyter/kernels) and takes no other option: remove it (an installer that needs `--name` or `--display-name` stays in a `dockerfile` block)".to_string();
    }
    let dashless = s.replace('-', "_");
    if s.contains('-') && is_module(&dashless) {
        return format!(
            "a module name has `_` where a package name may have `-`: `{dashless}` (the module, not the pip package)"
        );
    }
    HELP.to_string()
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for m in v.words() {
        if !cx.safe(m, "the installer module", false) {
            continue;
        }
        if !is_module(&m.v) {
            cx.push(
                Problem::error(
                    Code::InvalidKernelInstall,
                    m.span,
                    format!("`{}` is not a Python module path", m.v.escape_debug()),
                )
                .label("installer module")
                .help(fix(&m.v)),
            );
            continue;
        }
        if let Some(p) = refused(&m.v) {
            cx.push(p(m));
            continue;
        }
        if let Some(first) = seen.iter().find(|f| f.v == m.v) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    m.span,
                    format!("`{}` is listed twice", m.v),
                )
                .label("listed again")
                .also(first.span, "first listed here")
                .help("remove one of them: each installer runs once"),
            );
        }
        seen.push(m);
    }
}

/// Module paths that are valid but cannot be what the manifest means.
fn refused(module: &str) -> Option<fn(&Sp<String>) -> Problem> {
    if module == "install" {
        return Some(|m| {
            Problem::error(
                Code::InvalidKernelInstall,
                m.span,
                "`install` is the subcommand jcx adds itself",
            )
            .label("not a module")
            .help("name the package's module only: `kernel-install calysto_scheme` runs `python -m calysto_scheme install --sys-prefix`")
        });
    }
    if module == "ipykernel" || module.starts_with("ipykernel.") {
        return Some(|m| {
            Problem::error(
                Code::InvalidKernelInstall,
                m.span,
                "ipykernel's installer registers the image's own Python kernel, `python3`",
            )
            .label("the base environment's kernel")
            .help("the base image has `python3` already; a Python kernel with an environment of its own is `kernel NAME display-name=\"…\" { python \"3.10\" }`")
        });
    }
    None
}

/// The modules an app runs, each once, in manifest order (`defaults` first).
pub fn model(s: &RawSettings) -> Vec<String> {
    super::check::dedup(s.words(&KERNEL_INSTALL).iter().map(|m| m.v.clone()))
}

/// One row per module: the command it runs, or that the parent image (`base app=`) ran it.
fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    let mut shown: Vec<&str> = Vec::new();
    for m in r.settings.words(&KERNEL_INSTALL) {
        if shown.contains(&m.v.as_str()) {
            continue;
        }
        shown.push(&m.v);
        let how = if app.setup.kernel_install.contains(&m.v) {
            format!("runs `{}`", command(&m.v))
        } else {
            "the parent image ran it".to_string()
        };
        let o = cx.origin(m.span);
        cx.push("kernel-install", format!("{} ({how})", m.v), o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_and_commands() {
        for ok in ["bash_kernel.install", "calysto_scheme", "_x.y2", "A.b_c"] {
            assert!(is_module(ok), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "2a",
            "a.2b",
            "bash-kernel",
            "a b",
            "é",
            "a/b",
        ] {
            assert!(!is_module(bad), "{bad}");
        }
        assert!(!is_module(&"a".repeat(201)));
        assert_eq!(
            command("bash_kernel.install"),
            "python -m bash_kernel.install --sys-prefix"
        );
        assert_eq!(
            command("calysto_scheme"),
            "python -m calysto_scheme install --sys-prefix"
        );
        assert!(fix("bash-kernel.install").contains("`bash_kernel.install`"));
        assert!(fix("--user").contains("--sys-prefix"));
        assert!(
            fix("python -m octave_kernel.install --user")
                .contains("`kernel-install octave_kernel.install`")
        );
    }
}
