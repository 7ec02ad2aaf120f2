//! `python -m bash_kernel.install --sys-prefix` and metakernel's `python -m calysto_scheme
//! install`: a package's own kernel installer becomes `kernel-install MODULE`. jcx runs it
//! with `--sys-prefix` as the notebook user after the pip steps; where the original wrote the
//! kernelspec elsewhere (`--user`, no option, another `--prefix`), the mapping says so, and
//! options jcx does not model (`--name`, `--display-name`) keep the command in a block.

use super::commands::is_conda_dir;
use super::draft::{Entry, Item, Kind, Origin};
use super::map::{Step, User, Walker};
use crate::nodes::kernel_install::is_module;

/// What one command is: not a kernel installer (`None`), one jcx maps (its module and, when the
/// image changes, why), or one kept in a block (`Err`, the reason).
pub type Found = Option<Result<(String, Option<String>), String>>;

/// The Pythons of the image's main environment: `python`, `python3`, `${CONDA_DIR}/bin/python`.
fn conda_python(w: &str) -> bool {
    let name = w.rsplit('/').next().unwrap_or(w);
    let dir = &w[..w.len() - name.len()];
    matches!(name, "python" | "python3")
        && matches!(
            dir,
            "" | "/opt/conda/bin/" | "${CONDA_DIR}/bin/" | "$CONDA_DIR/bin/"
        )
}

/// Modules that take `install` but register no kernel, or whose kernels jcx models otherwise.
fn not_an_installer(module: &str) -> bool {
    let top = module.split('.').next().unwrap_or(module);
    matches!(
        top,
        "pip" | "pip3" | "ensurepip" | "uv" | "conda" | "mamba" | "playwright" | "ipykernel"
    ) || top.starts_with("jupyter")
}

/// Whether metakernel's `python -m MODULE install` form names a kernel: the module says so, or
/// the options are a kernelspec installer's.
fn kernel_like(module: &str, args: &[String]) -> bool {
    let m = module.to_ascii_lowercase();
    m.contains("kernel")
        || m.starts_with("calysto")
        || args
            .iter()
            .any(|a| a == "--sys-prefix" || a.starts_with("--prefix"))
}

/// Reads `python -m MOD.install [OPTIONS]` and `python -m MOD install [OPTIONS]` (after `sudo`
/// or assignments). `root`: the command ran as root in the original.
pub fn classify(words: &[String], root: bool) -> Found {
    let w = super::commands::command_words(words);
    let [python, dash_m, module, rest @ ..] = w else {
        return None;
    };
    if !conda_python(python) || dash_m != "-m" || !is_module(module) || not_an_installer(module) {
        return None;
    }
    let args: &[String] = if module.ends_with(".install") {
        rest
    } else if rest.first().is_some_and(|a| a == "install") && kernel_like(module, &rest[1..]) {
        &rest[1..]
    } else {
        return None;
    };
    let shown = format!("python -m {}", w[2..].join(" "));
    let mut location: Option<&str> = None;
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        match a {
            "--sys-prefix" | "--user" => location = Some(a),
            "--prefix" if args.get(k + 1).is_some_and(|p| is_conda_dir(p)) => {
                location = Some("--sys-prefix");
                k += 1;
            }
            _ if a.strip_prefix("--prefix=").is_some_and(is_conda_dir) => {
                location = Some("--sys-prefix");
            }
            _ => {
                let option = a.split('=').next().unwrap_or(a);
                return Some(Err(format!(
                    "`{shown}`: `kernel-install` runs the installer with `--sys-prefix` only, not with `{option}`"
                )));
            }
        }
        k += 1;
    }
    let changed = match (location, root) {
        (Some("--sys-prefix"), _) => None,
        (Some(_), _) => Some(format!(
            "`{shown}` wrote its kernelspec into HOME (`--user`); `kernel-install {module}` writes it into ${{CONDA_DIR}}/share/jupyter/kernels (`--sys-prefix`), where every user of the image sees it and a volume mounted on HOME does not hide it"
        )),
        (None, true) => Some(format!(
            "`{shown}` as root wrote its kernelspec into /usr/local/share/jupyter (the installer's default); `kernel-install {module}` runs it as the notebook user with `--sys-prefix`, into ${{CONDA_DIR}}/share/jupyter/kernels"
        )),
        (None, false) => Some(format!(
            "`{shown}` without a location wrote its kernelspec where the installer chooses (HOME, for most installers run as a user); `kernel-install {module}` writes it into ${{CONDA_DIR}}/share/jupyter/kernels (`--sys-prefix`), where a volume mounted on HOME does not hide it"
        )),
    };
    Some(Ok((module.clone(), changed)))
}

/// Whether a block's text installs packages: a package manager of Python's names it.
fn installs_packages(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .any(|t| {
            matches!(
                t,
                "pip"
                    | "pip3"
                    | "pipx"
                    | "conda"
                    | "mamba"
                    | "micromamba"
                    | "uv"
                    | "poetry"
                    | "easy_install"
                    | "setup.py"
            ) || t.ends_with(".whl")
        })
}

/// Whether blocks that install packages already go to the end of the image, after jcx's
/// `kernel-install` step: `pending` (commands of this `RUN` kept before the installer) or an
/// earlier block there.
fn blocks_at_end(w: &Walker<'_>, pending: &[String]) -> bool {
    let end = super::map::AT.len() - 1;
    w.at >= end
        && (pending.iter().any(|t| installs_packages(t))
            || w.steps.iter().any(|s| {
                matches!(s, Step::Piece(p) if p.at >= end && p.lines.iter().any(|l| installs_packages(l)))
            }))
}

/// The command as the walker takes it: the `kernel-install` entry (with a warning when the
/// image changes), or the reason it stays in a block.
pub fn map(w: &mut Walker<'_>, words: &[String], origin: &Origin) -> Option<Result<Entry, String>> {
    let found = classify(words, w.user != User::Notebook)?;
    Some(found.map(|(module, changed)| {
        if let Some(msg) = changed {
            w.warn(Kind::Changed, origin.clone(), msg);
        }
        Entry::KernelInstall(module)
    }))
}

/// An installer must run after the commands that install its package. When blocks that install
/// packages already go to the end of the image, after jcx's `kernel-install` step (`pending`:
/// commands of the same `RUN` kept before it), the installer is kept with them: its `changed` warning goes, a
/// block's reason comes. Returns whether the command is kept.
pub fn stays_after_blocks(
    w: &mut Walker<'_>,
    items: &[Item],
    pending: &[String],
    origin: &Origin,
) -> bool {
    let Some(module) = items.iter().find_map(|i| match &i.entry {
        Entry::KernelInstall(m) => Some(m.clone()),
        _ => None,
    }) else {
        return false;
    };
    if !blocks_at_end(w, pending) {
        return false;
    }
    w.warnings
        .retain(|x| !(x.kind == Kind::Changed && x.origin == *origin));
    w.warn(
        Kind::Escaped,
        origin.clone(),
        format!("`kernel-install {module}` would run before the `dockerfile` blocks above it that install packages, its own maybe: kept with them"),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Found {
        let words: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        classify(&words, false)
    }

    #[test]
    fn forms() {
        let ok = |s: &str, m: &str, changed: bool| {
            let (module, why) = c(s).unwrap_or_else(|| panic!("{s}")).unwrap();
            assert_eq!((module.as_str(), why.is_some()), (m, changed), "{s}");
        };
        ok(
            "python -m bash_kernel.install --sys-prefix",
            "bash_kernel.install",
            false,
        );
        ok(
            "python3 -m octave_kernel.install --user",
            "octave_kernel.install",
            true,
        );
        ok(
            "python -m sos_notebook.install",
            "sos_notebook.install",
            true,
        );
        ok(
            "python -m calysto_scheme install --sys-prefix",
            "calysto_scheme",
            false,
        );
        ok(
            "sudo /opt/conda/bin/python -m x_kernel install",
            "x_kernel",
            true,
        );
        ok(
            "python -m java_syntax_kernel.install --prefix /opt/conda",
            "java_syntax_kernel.install",
            false,
        );
        ok(
            "python -m a.install --prefix=${CONDA_DIR}",
            "a.install",
            false,
        );
        assert!(matches!(
            c("python -m bash_kernel.install --name bash2"),
            Some(Err(_))
        ));
        assert!(matches!(
            c("python -m bash_kernel.install --prefix /usr/local"),
            Some(Err(_))
        ));
        for none in [
            "python -m pip install bash_kernel",
            "python -m ipykernel install --user --name x",
            "python -m playwright install --with-deps",
            "python -m bash_kernel",
            "python -m spacy download en",
            "/usr/bin/python3 -m bash_kernel.install",
            "python -m my_tool install",
            "jupyter kernelspec install x",
        ] {
            assert!(c(none).is_none(), "{none}");
        }
        let root = ["python", "-m", "b.install"].map(str::to_string);
        assert!(
            classify(&root, true)
                .unwrap()
                .unwrap()
                .1
                .unwrap()
                .contains("/usr/local")
        );
    }
}
