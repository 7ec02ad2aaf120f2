//! pip and conda commands beyond the plain installs `commands` reads:
//!
//! - `uv pip install [--system] …` is read as `pip install …` (the same packages, checked the
//!   same way; `--system` is uv's way of naming the image's Python, the one pip installs into);
//! - `mamba|conda|micromamba env update [-n base] -f FILE` becomes `mamba environment="FILE"`
//!   when FILE is an `environment.yml` of the repository (found through the `COPY` that put it
//!   into the image) that jcx accepts, and the update is the base environment's.

use std::collections::BTreeMap;

use super::commands::{Options, command_words, is_conda_dir};
use super::draft::Entry;
use super::map::Walker;

/// uv's own options that change nothing pip would do differently.
const UV_ONLY: [&str; 4] = [
    "--system",
    "--no-cache",
    "--break-system-packages",
    "--no-progress",
];

/// `uv pip install …` as the words of `pip install …`.
pub fn uv_as_pip(words: &[String]) -> Option<Vec<String>> {
    let w = command_words(words);
    if w.len() < 3 || w[0] != "uv" || w[1] != "pip" || w[2] != "install" {
        return None;
    }
    let mut out = vec!["pip".to_string(), "install".to_string()];
    out.extend(
        w[3..]
            .iter()
            .filter(|a| !UV_ONLY.contains(&a.as_str()))
            .cloned(),
    );
    Some(out)
}

/// `mamba env update [-n base | -p ${CONDA_DIR}] -f FILE`: `None` when it is not such a
/// command, `Some(Err(why))` when it is one jcx cannot take, `Some(Ok(path))` with the
/// repository path of the file.
pub fn env_update(
    w: &Walker<'_>,
    words: &[String],
    mounts: &BTreeMap<String, String>,
) -> Option<Result<String, String>> {
    let c = command_words(words);
    if !matches!(c.first()?.as_str(), "mamba" | "conda" | "micromamba")
        || c.get(1)? != "env"
        || c.get(2)? != "update"
    {
        return None;
    }
    let mut file = None;
    let mut base = false;
    let mut opts = Options::new(&c[3..]);
    while let Some(o) = opts.next_opt() {
        let a = o.word;
        match o.flag {
            "-y" | "--yes" | "-q" | "--quiet" => {}
            "-f" | "--file" => file = Some(opts.value(&o)?),
            "-n" | "--name" => {
                if opts.value(&o)? != "base" {
                    return Some(Err(format!(
                        "`{}` updates an environment other than base; jcx's `mamba environment=` updates the base environment",
                        c.join(" ")
                    )));
                }
                base = true;
            }
            "-p" | "--prefix" => {
                if !is_conda_dir(&opts.value(&o)?) {
                    return Some(Err(format!(
                        "`{}` updates an environment other than base; jcx's `mamba environment=` updates the base environment",
                        c.join(" ")
                    )));
                }
                base = true;
            }
            _ => {
                return Some(Err(format!(
                    "`{a}`: jcx's `mamba environment=` has no such option"
                )));
            }
        }
    }
    let file = file?;
    let repo = match copied_file(w, &file, mounts) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    Some(check(w, &repo, base))
}

/// `conda|mamba install|update [-y] [-n base] [-c CHANNEL] --file FILE` of a file the
/// Dockerfile copied: an explicit lock (`@EXPLICIT`, conda-lock's `conda-linux-64.lock`) becomes
/// `mamba lock=`, a list of specs the specs of `mamba`. `None` when it is not such a command.
pub fn conda_file(
    w: &mut Walker<'_>,
    words: &[String],
    mounts: &BTreeMap<String, String>,
) -> Option<Result<Vec<Entry>, String>> {
    let c = command_words(words);
    if !matches!(c.first()?.as_str(), "mamba" | "conda" | "micromamba")
        || !matches!(c.get(1)?.as_str(), "install" | "update")
        || !c.iter().any(|a| a == "--file" || a.starts_with("--file="))
    {
        return None;
    }
    let mut file = None;
    let mut channel: Option<String> = None;
    let mut opts = Options::new(&c[2..]);
    while let Some(o) = opts.next_opt() {
        let a = o.word;
        match o.flag {
            "-y" | "--yes" | "-q" | "--quiet" => {}
            "--file" => file = Some(opts.value(&o)?),
            "-n" | "--name" if opts.value(&o)? == "base" => {}
            "-p" | "--prefix" if is_conda_dir(&opts.value(&o)?) => {}
            "-c" | "--channel" => {
                let ch = opts.value(&o)?;
                if !matches!(ch.as_str(), "conda-forge" | "defaults") {
                    channel = Some(ch);
                }
            }
            _ => {
                return Some(Err(format!(
                    "`{}`: jcx's `mamba` has no counterpart for `{a}`",
                    c.join(" ")
                )));
            }
        }
    }
    let file = file?;
    let repo = match copied_file(w, &file, mounts) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let Some(text) = super::repo::read_text(w.src.root, &repo) else {
        return Some(Err(format!("`{repo}` cannot be read")));
    };
    if text.lines().any(|l| l.trim() == "@EXPLICIT") {
        let lock = crate::nodes::conda_lock::read(&repo, &text);
        if let Some(p) = lock.problems.iter().find(|p| p.is_error()) {
            return Some(Err(format!(
                "jcx refuses `{repo}` as `mamba lock=` ({}: {})",
                p.code, p.message
            )));
        }
        w.consumed.insert(repo.clone());
        return Some(Ok(vec![Entry::MambaLock(repo)]));
    }
    let mut specs = Vec::new();
    for line in text.lines() {
        let spec = line.split('#').next().unwrap_or_default().trim();
        if spec.is_empty() {
            continue;
        }
        // conda's spec files write `name=version=build` and `name version`; jcx's `mamba`
        // takes the name and version.
        let spec = spec.split_whitespace().collect::<Vec<_>>().join("=");
        if !crate::nodes::packages::is_conda_spec(&spec) {
            return Some(Err(format!(
                "`{spec}` in `{repo}` is not a conda spec jcx's `mamba` takes"
            )));
        }
        specs.push(match &channel {
            Some(ch) if !spec.contains("::") => Entry::Mamba(format!("{ch}::{spec}")),
            _ => Entry::Mamba(spec),
        });
    }
    if specs.is_empty() {
        return Some(Err(format!("`{repo}` lists no conda package")));
    }
    w.consumed.insert(repo);
    Some(Ok(specs))
}

/// The repository file an earlier `COPY` (or the `RUN`'s bind mount) put at `file` (relative to
/// the working directory).
fn copied_file(
    w: &Walker<'_>,
    file: &str,
    mounts: &BTreeMap<String, String>,
) -> Result<String, String> {
    let path = if file.starts_with('/') {
        file.to_string()
    } else {
        format!(
            "{}/{file}",
            w.cwd.clone().unwrap_or_else(|| "/home/${NB_USER}".into())
        )
    };
    mounts
        .get(&path)
        .cloned()
        .or_else(|| w.copies.get(&path).map(|(r, _)| r.clone()))
        .ok_or_else(|| {
            format!("`{file}`: jcx import cannot tell which file of the repository it is")
        })
}

/// The repository's environment file, if jcx accepts it for the base environment.
fn check(w: &Walker<'_>, repo: &str, base: bool) -> Result<String, String> {
    let text = super::repo::read_text(w.src.root, repo)
        .ok_or_else(|| format!("`{repo}` cannot be read"))?;
    let env = crate::nodes::conda_env::read(repo, &text);
    if let Some(p) = env.problems.iter().find(|p| p.is_error()) {
        return Err(format!(
            "jcx refuses `{repo}` as `mamba environment=` ({}: {})",
            p.code, p.message
        ));
    }
    if !base
        && let Some(p) = env
            .placement
            .iter()
            .find(|p| p.key == "prefix" || p.value != "base")
    {
        return Err(format!(
            "without `--name base`, conda updates the environment `{}: {}` of `{repo}`, not base",
            p.key, p.value
        ));
    }
    Ok(repo.to_string())
}
