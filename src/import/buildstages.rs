//! Build stages the final stage copies from, as jcx's `stage NAME { … }` and `copy-from`:
//!
//! - a stage of the Dockerfile (`FROM IMAGE AS build`, its `ARG`, `ENV`, `WORKDIR`, `COPY` of
//!   repository files and `RUN`s) becomes a `stage` with `base`, `env`, `workdir`, `file`,
//!   `apt` and `run` steps; `FROM build AS more` becomes `base stage=build`;
//! - `COPY --from=IMAGE:TAG` (uv from its image, say) becomes a stage with only a `base`;
//! - each `COPY --from` of the final stage becomes `copy-from STAGE "/PATH" to=…`.
//!
//! What a `stage` cannot hold keeps the whole stage a comment, as before: an image that is not
//! pinned (jcx's stage bases are, so builds repeat), a stage built on the final stage's own
//! chain, `COPY --from` or `--mount` inside it, a user other than root, another `SHELL`, an
//! Alpine base (stages run bash).

use super::dockerfile::Instr;
use super::draft::{Entry, Item, Kind, Origin};
use super::map::{AT, User, Walker};
use super::shell;

/// A `stage` node, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDraft {
    pub name: String,
    pub base: StageBase,
    pub steps: Vec<StageStep>,
    /// The lines of the Dockerfile it came from (none for a stage made for `COPY --from=IMAGE`).
    pub origin: Option<Origin>,
    /// The original lines: what the stage becomes, as a comment, if jcx refuses it.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageBase {
    Image(String),
    Stage(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageStep {
    Apt(Vec<String>),
    Env(Vec<(String, String)>),
    File { src: String, to: String },
    Workdir(String),
    Run(String),
}

/// Longest stage name import writes (jcx takes more; the Dockerfile prefixes `jcx-stage-`).
const MAX_NAME: usize = 40;

/// A stage name jcx accepts from a Dockerfile alias or an image name: lowercase letters and
/// digits separated by single `-`, starting with a letter.
pub fn stage_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("stage-{out}").trim_end_matches('-').to_string();
    }
    out.truncate(MAX_NAME);
    out.trim_end_matches('-').to_string()
}

/// A name not yet taken by the walker's stages.
fn free_name(w: &Walker<'_>, wanted: &str) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while w.stages.iter().any(|s| s.name == name) {
        name = format!("{wanted}-{n}");
        n += 1;
    }
    name
}

/// A stage base image as jcx takes it: pinned, registry spelled out. `shell`: the stage runs
/// commands (`apt`, `run`), in bash.
fn pinned(image: &str, shell: bool) -> Result<String, String> {
    let lower = image.to_ascii_lowercase();
    if lower == "scratch" {
        return Err("`scratch` is not an image jcx can name as a stage base".into());
    }
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    if shell && (name.contains("alpine") || name.starts_with("busybox")) {
        return Err(format!(
            "`{image}` looks like an Alpine or BusyBox image: jcx's stages run bash"
        ));
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    let tagless = !last.contains(':');
    if digest.is_none() && (tagless || last.ends_with(":latest")) {
        return Err(format!(
            "the image `{image}` is not pinned, and jcx's stage bases are (so that builds repeat): pin a version tag or a digest in the Dockerfile and import again"
        ));
    }
    let probe = if tagless {
        format!("{rest}:pinned@{}", digest.unwrap_or_default())
    } else {
        image.to_string()
    };
    let r = crate::image::parse_image_ref(&probe).map_err(|e| e.message)?;
    let full = r.full();
    Ok(if tagless {
        full.replacen(":pinned@", "@", 1)
    } else {
        full
    })
}

/// One stage of the Dockerfile, if jcx's `stage` can hold it: `from` is the `FROM` (its image
/// already expanded as `image`), `members` its instructions.
pub fn convert(
    w: &mut Walker<'_>,
    alias: &str,
    image: &str,
    from: &Instr,
    members: &[&Instr],
) -> Result<StageDraft, String> {
    if !from.flags.is_empty() {
        return Err(format!(
            "`FROM {}`: jcx's stages take the platform of the build",
            from.flags.join(" ")
        ));
    }
    let mut steps = Vec::new();
    let mut cwd: Option<String> = None;
    for i in members {
        step(w, i, &mut steps, &mut cwd)?;
    }
    let shell = steps
        .iter()
        .any(|s| matches!(s, StageStep::Apt(_) | StageStep::Run(_)));
    let base = match w.stage_names.get(&image.to_ascii_lowercase()) {
        Some(Some(parent)) => StageBase::Stage(parent.clone()),
        Some(None) => {
            return Err(format!(
                "it is built on the stage `{image}`, which jcx cannot write as a `stage`"
            ));
        }
        None => StageBase::Image(pinned(image, shell)?),
    };
    let last = members.last().map_or(from.last, |m| m.last);
    let origin = w.origin(from.first, last);
    Ok(StageDraft {
        name: free_name(w, &stage_name(alias)),
        base,
        steps,
        lines: w.df.lines[from.first - 1..last.min(w.df.lines.len())].to_vec(),
        origin: Some(origin),
    })
}

fn step(
    w: &Walker<'_>,
    i: &Instr,
    steps: &mut Vec<StageStep>,
    cwd: &mut Option<String>,
) -> Result<(), String> {
    let k = i.keyword.as_str();
    if i.unterminated {
        return Err("an instruction is cut off".into());
    }
    match k {
        "ARG" | "ENV" => {
            let pairs = super::resolve::pairs(i)
                .ok_or_else(|| format!("jcx import cannot read `{k} {}`", i.args))?;
            let mut env = Vec::new();
            for (name, value) in pairs {
                let value = if k == "ARG" {
                    super::resolve::arg_value(w, &name, value)
                } else {
                    value
                };
                // An `ARG` without a value is empty, as an unset variable is.
                if let Some(v) = value {
                    env.push((name, v));
                }
            }
            match steps.last_mut() {
                Some(StageStep::Env(before)) => before.extend(env),
                _ if !env.is_empty() => steps.push(StageStep::Env(env)),
                _ => {}
            }
        }
        "WORKDIR" => {
            let d = i.args.trim().trim_matches('"');
            if d.contains('$') {
                return Err(format!("`WORKDIR {d}` uses a variable"));
            }
            let d = match (d.starts_with('/'), &cwd) {
                (true, _) => d.to_string(),
                (false, Some(c)) => format!("{}/{d}", c.trim_end_matches('/')),
                (false, None) => format!("/{d}"),
            };
            *cwd = Some(d.clone());
            steps.push(StageStep::Workdir(d));
        }
        "COPY" => copy(w, i, steps, cwd)?,
        "RUN" => run(w, i, steps)?,
        "USER" if matches!(super::map::user_of(&i.args), User::Root) => {}
        "USER" => return Err("a stage runs its steps as root".into()),
        "SHELL" if bash(&i.args) => {}
        "LABEL" | "EXPOSE" | "CMD" | "ENTRYPOINT" | "VOLUME" | "HEALTHCHECK" | "STOPSIGNAL"
        | "MAINTAINER" => {}
        _ => return Err(format!("`{k}` has no counterpart in a `stage`")),
    }
    Ok(())
}

fn bash(args: &str) -> bool {
    let a = args.replace(' ', "");
    a == r#"["/bin/bash","-o","pipefail","-c"]"# || a == r#"["/bin/bash","-c"]"#
}

/// `COPY` of repository files into the stage: `file` steps.
fn copy(
    w: &Walker<'_>,
    i: &Instr,
    steps: &mut Vec<StageStep>,
    cwd: &Option<String>,
) -> Result<(), String> {
    if i.flags.iter().any(|f| f != "--link") || !i.heredocs.is_empty() {
        return Err(format!(
            "`COPY {} {}` has no counterpart in a stage's `file`",
            i.flags.join(" "),
            i.args
        ));
    }
    let mut all = super::files::words(&i.args)
        .filter(|a| a.len() >= 2)
        .ok_or("jcx import cannot read a `COPY`")?;
    let dest = all.pop().expect("two words");
    if dest.contains('$') {
        return Err(format!("the destination `{dest}` uses a variable"));
    }
    let dest = if dest.starts_with('/') {
        dest
    } else {
        format!(
            "{}/{}",
            cwd.as_deref().unwrap_or("").trim_end_matches('/'),
            dest.trim_start_matches("./")
        )
    };
    let into_dir = dest.ends_with('/') || all.len() > 1;
    for s in &all {
        if s.contains(['*', '?', '[', '$']) || s.split('/').any(|p| p == "..") || s.starts_with('/')
        {
            return Err(format!("`{s}` is not a path of the repository"));
        }
        let repo = super::files::context_path(w, s);
        let is_dir = w.src.root.join(&repo).is_dir();
        let name = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
        let dir = dest.trim_end_matches('/');
        let (src, to) = match (is_dir, into_dir) {
            (true, _) => (format!("{repo}/"), format!("{dir}/")),
            (false, true) => (repo, format!("{dir}/{name}")),
            (false, false) => (repo, dest.clone()),
        };
        steps.push(StageStep::File { src, to });
    }
    Ok(())
}

/// A `RUN`: `apt` when it only installs Debian packages without recommends, else `run`.
fn run(w: &Walker<'_>, i: &Instr, steps: &mut Vec<StageStep>) -> Result<(), String> {
    if !i.flags.is_empty() || !i.heredocs.is_empty() || i.args.starts_with('[') {
        return Err("a `RUN` with flags, a heredoc or in JSON form".into());
    }
    if w.df.escape != '\\' {
        return Err("the Dockerfile's escape character is not `\\`".into());
    }
    if let Some(packages) = apt_only(&i.args, &w.vars) {
        steps.push(StageStep::Apt(packages));
        return Ok(());
    }
    let mut lines = w.raw_lines(i);
    let first = lines[0].trim_start();
    let after = first
        .get(3..)
        .filter(|_| first[..3].eq_ignore_ascii_case("RUN"))
        .ok_or("jcx import cannot read a `RUN`")?;
    lines[0] = after.trim_start().to_string();
    let text = lines.join("\n");
    if !super::kdl::raw_safe(&text) {
        return Err("a `RUN` holds characters a manifest cannot".into());
    }
    steps.push(StageStep::Run(text));
    Ok(())
}

/// The packages of a `RUN` that is only `apt-get update`, `apt-get install
/// --no-install-recommends …` and the clean-up of the lists.
fn apt_only(args: &str, vars: &shell::Vars) -> Option<Vec<String>> {
    let mut packages = Vec::new();
    for u in shell::split(args) {
        let words = u.words(vars)?;
        match super::commands::apt(&words) {
            Some(super::commands::Apt::Install {
                packages: p,
                recommends: false,
            }) => packages.extend(p),
            Some(super::commands::Apt::Update | super::commands::Apt::Clean) => {}
            _ if super::commands::cleanup_rm(&words, &[]) => {}
            _ => return None,
        }
    }
    (!packages.is_empty()).then_some(packages)
}

/// `COPY --from=X`: from a stage written as `stage`, from an image (a stage of its own is
/// made), or kept as before (a comment for a stage jcx could not write, a block otherwise).
pub fn copy_from(w: &mut Walker<'_>, i: &Instr, from: &str) {
    let key = from.to_ascii_lowercase();
    let (stage, fallback) = match w.stage_names.get(&key).cloned() {
        Some(Some(name)) => (name, None),
        Some(None) => {
            return w.drop_instr(
                i,
                &format!("it copies from the build stage `{from}`, which is kept as a comment"),
            );
        }
        None if key.bytes().all(|b| b.is_ascii_digit()) => {
            return w.drop_instr(
                i,
                &format!("it copies from the build stage `{from}`, which is kept as a comment"),
            );
        }
        None => match image_stage(w, from) {
            Ok(name) => (name, Some(w.raw_lines(i))),
            Err(why) => {
                return w.escape(
                    i,
                    &format!("a copy from the image `{from}` is kept as it is: {why}"),
                );
            }
        },
    };
    let Some(mut all) = super::files::words(&i.args).filter(|a| a.len() >= 2) else {
        return w.drop_instr(i, "jcx import cannot read this copy");
    };
    let dest_raw = all.pop().expect("two words");
    let Some(dest) = super::files::dest_path(w, &dest_raw) else {
        return w.drop_instr(
            i,
            &format!("the destination `{dest_raw}` uses a variable jcx import does not know"),
        );
    };
    let Some(mut root) = super::files::owner(i.flag("chown")) else {
        return w.drop_instr(
            i,
            "the copy belongs to a user jcx's `copy-from` cannot name (root or the notebook user)",
        );
    };
    if let Some(s) = all.iter().find(|s| !s.starts_with('/') || !safe_path(s)) {
        return w.drop_instr(i, &format!("`{s}` is not a path jcx's `copy-from` can take (an absolute path, without variables or globs)"));
    }
    let o = w.origin(i.first, i.last);
    let to = if all.len() > 1 && !dest.ends_with('/') {
        format!("{dest}/")
    } else {
        dest
    };
    if root && crate::model::stacks_tree(&to).is_some() {
        root = false;
        w.warn(Kind::Changed, o.clone(), format!("the copy into `{to}` is owned by the notebook user, not root: jcx keeps HOME and CONDA_DIR the notebook user's"));
    }
    let mode = i.flag("chmod").map(|m| {
        if m.len() == 3 {
            format!("0{m}")
        } else {
            m.to_string()
        }
    });
    let items = all
        .iter()
        .map(|src| {
            let mut item = Item::new(
                Entry::CopyFrom {
                    stage: stage.clone(),
                    src: src.clone(),
                    to: to.clone(),
                    root,
                    mode: mode.clone(),
                },
                Some(o.clone()),
            );
            if let Some(lines) = &fallback {
                item.fallback = vec![Entry::Dockerfile {
                    root: w.user != User::Notebook,
                    at: AT[w.at],
                    lines: lines.clone(),
                }];
            }
            item
        })
        .collect();
    w.mapped(i, items);
    // jcx writes `copy-from` after pip and env: later blocks that use the copy go after it.
    w.advance(3);
}

/// A path `COPY` reads literally (as jcx's `copy-from` requires): no `..`, blanks, quotes, `$`
/// or glob characters.
fn safe_path(p: &str) -> bool {
    !p.split('/').any(|c| c == "..")
        && !p
            .chars()
            .any(|c| "\"$\\`'*?[]{}".contains(c) || c.is_control() || c.is_whitespace())
}

/// The stage made for `COPY --from=IMAGE`: a `base` and nothing else (one per image).
fn image_stage(w: &mut Walker<'_>, image: &str) -> Result<String, String> {
    let image = shell::unquote(image, &w.pre_args)
        .filter(|r| !r.contains('$'))
        .ok_or_else(|| format!("`{image}` uses a build argument jcx import does not know"))?;
    let base = StageBase::Image(pinned(&image, false)?);
    if let Some(s) = w
        .stages
        .iter()
        .find(|s| s.base == base && s.steps.is_empty())
    {
        return Ok(s.name.clone());
    }
    let path = image.split(['@']).next().unwrap_or(&image);
    let last = path.rsplit('/').next().unwrap_or(path);
    let name = free_name(w, &stage_name(last.split(':').next().unwrap_or(last)));
    w.stages.push(StageDraft {
        name: name.clone(),
        base,
        steps: Vec::new(),
        origin: None,
        lines: Vec::new(),
    });
    Ok(name)
}
