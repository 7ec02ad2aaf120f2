//! A conda environment created, filled and registered as a Jupyter kernel across the `RUN`s
//! of one Dockerfile (the stacks' recipe "Add a custom conda environment and Jupyter kernel",
//! and its variants) becomes one `kernel NAME display-name=… { python; mamba; pip }`.
//!
//! The decision needs the whole Dockerfile, so the walk runs more than once: a first walk
//! records every command (`kernelcmd` reads them, with the variables known at that point);
//! the environments that are created and registered under their own name, with nothing jcx
//! cannot hold, are planned (and checked as jcx would check the `kernel`); a second walk
//! claims their commands. A kernel whose directory, or whose environment's, is still named
//! by a line left in a block (a `sed` of its kernel.json), or by a copy or variable, is given
//! up, with a warning, and the walk runs again without it: every command is then as before.

use std::collections::BTreeMap;

use super::draft::{Entry, Item, Kind, Origin, Warning};
use super::kernelcmd::{self, Cmd, Place};
use super::map::{AppResult, AppSource, Status, User, Walker};
use super::shell::{self, Unit, Vars};
use crate::edit::kdl_value;

/// What the walk does with kernels: record the commands, or claim the planned ones.
#[derive(Debug)]
pub enum State {
    Record(Vec<Seen>),
    Apply(Vec<Planned>),
}

impl Default for State {
    fn default() -> Self {
        State::Record(Vec::new())
    }
}

/// A command (`unit` of a `RUN`) or another instruction, as the first walk saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The first line of its instruction, and its command's index in a `RUN`.
    line: usize,
    unit: Option<usize>,
    origin: Origin,
    /// As written.
    raw: String,
    /// With the known variables expanded, quotes removed.
    text: String,
    cmd: Option<Cmd>,
    /// `fix-permissions`: harmless wherever it stays.
    boiler: bool,
    root: bool,
}

/// A kernel the second walk writes.
#[derive(Debug, Clone)]
pub struct Planned {
    name: String,
    /// Its commands: (instruction line, command index); the first holds the node.
    keys: Vec<(usize, usize)>,
    item: Item,
    /// Repository files it reads (their `COPY` goes with it).
    files: Vec<String>,
    notes: Vec<(Origin, String)>,
    /// Where it was registered: said for the first kernel written only.
    registered: Option<(Origin, String)>,
}

/// A `kernel` node as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelNode {
    pub name: String,
    pub display_name: String,
    pub r: bool,
    pub environment: Option<String>,
    pub python: Option<String>,
    pub mamba: Vec<String>,
    pub pip_files: Vec<String>,
    pub pip: Vec<String>,
}

/// What a command of a `RUN` became in the second walk.
pub enum Claim {
    /// The command that carries the `kernel` node.
    Node(Vec<Item>),
    /// Another command of the kernel.
    Part,
}

/// Walks the Dockerfile, as often as the kernels need (see the module's comment).
pub fn walk(
    src: &AppSource<'_>,
    once: fn(&AppSource<'_>, State) -> (AppResult, State),
) -> AppResult {
    let (first, state) = once(src, State::default());
    let State::Record(seen) = state else {
        return first;
    };
    let mut refusals = Vec::new();
    let mut plan = plan(src, &seen, &mut refusals);
    let mut applied = None;
    while !plan.is_empty() {
        let (r, _) = once(src, State::Apply(plan.clone()));
        let blocked = blocked(src, &r, &seen, &plan);
        if blocked.is_empty() {
            applied = Some(r);
            break;
        }
        for (k, w) in blocked.into_iter().rev() {
            refusals.push(w);
            plan.remove(k);
        }
    }
    // Without a kernel, the first walk is the result: recording changed nothing.
    let mut result = applied.unwrap_or(first);
    result.warnings.extend(refusals);
    result
}

/// Records a `RUN`'s commands (first walk), or says which of them a planned kernel claims
/// (second walk).
pub fn run_units(
    w: &mut Walker<'_>,
    i: &super::dockerfile::Instr,
    units: &[Unit],
    mounts: &BTreeMap<String, String>,
) -> Vec<Option<Claim>> {
    let mut out: Vec<Option<Claim>> = units.iter().map(|_| None).collect();
    if matches!(w.kernels, State::Record(_)) {
        let mut vars = w.vars.clone();
        let mut seen = Vec::new();
        for (n, u) in units.iter().enumerate() {
            let words = u.words(&vars);
            if let Some(ws) = &words
                && ws.iter().all(|x| super::commands::is_assignment(x))
            {
                for a in ws {
                    if let Some((k, v)) = a.split_once('=') {
                        vars.insert(k.to_string(), v.to_string());
                    }
                }
            }
            let cmd = words
                .as_ref()
                .and_then(|ws| kernelcmd::parse(ws))
                .map(|c| resolve_files(w, c, mounts));
            seen.push(Seen {
                line: i.first,
                unit: Some(n),
                origin: w.origin(i.line_of(u.start()), i.line_of(u.end().saturating_sub(1))),
                raw: u.text(&i.args),
                text: expanded(&u.tokens, &vars),
                cmd,
                boiler: words
                    .as_deref()
                    .is_some_and(super::commands::fix_permissions),
                root: w.user != User::Notebook,
            });
        }
        if let State::Record(all) = &mut w.kernels {
            all.extend(seen);
        }
        return out;
    }
    let State::Apply(plan) = &w.kernels else {
        return out;
    };
    let mut notes = Vec::new();
    let mut files = Vec::new();
    for (first, k) in plan.iter().enumerate() {
        for (n, slot) in out.iter_mut().enumerate() {
            match k.keys.iter().position(|key| *key == (i.first, n)) {
                Some(0) => {
                    *slot = Some(Claim::Node(vec![k.item.clone()]));
                    notes.extend(k.notes.iter().cloned());
                    notes.extend(k.registered.iter().filter(|_| first == 0).cloned());
                    files.extend(k.files.iter().cloned());
                }
                Some(_) => *slot = Some(Claim::Part),
                None => {}
            }
        }
    }
    for (o, m) in notes {
        w.warn(Kind::Changed, o, m);
    }
    w.consumed.extend(files);
    out
}

/// Records another instruction (a `COPY` into a kernel's directory, an `ENV` naming it, a
/// `RUN` in JSON form or with a heredoc, which `run_units` does not see).
pub fn instruction(w: &mut Walker<'_>, i: &super::dockerfile::Instr) {
    if i.keyword == "RUN" && !i.args.starts_with('[') && i.heredocs.is_empty() {
        return;
    }
    let mut text = expanded(&shell::tokenize(&i.args), &w.vars);
    for h in &i.heredocs {
        text.push('\n');
        text.push_str(&h.body);
    }
    let origin = w.origin(i.first, i.last);
    if let State::Record(all) = &mut w.kernels {
        all.push(Seen {
            line: i.first,
            unit: None,
            origin,
            raw: String::new(),
            text,
            cmd: None,
            boiler: false,
            root: false,
        });
    }
}

/// The words of a command with known variables expanded and quotes removed (as written where
/// this reader cannot follow them).
fn expanded(tokens: &[shell::Token], vars: &Vars) -> String {
    tokens
        .iter()
        .map(|t| match &t.tok {
            shell::Tok::Word(w) => shell::unquote(w, vars).unwrap_or_else(|| w.clone()),
            shell::Tok::Op(o) => o.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The repository files of a command, found through the `COPY` (or bind mount) that put them
/// where it reads them; a file that cannot be found makes the command one no kernel holds.
fn resolve_files(w: &Walker<'_>, cmd: Cmd, mounts: &BTreeMap<String, String>) -> Cmd {
    let find = |f: &str| -> Result<String, Cmd> {
        let path = if f.starts_with('/') {
            f.to_string()
        } else {
            format!(
                "{}/{f}",
                w.cwd.clone().unwrap_or_else(|| "/home/${NB_USER}".into())
            )
        };
        mounts
            .get(&path)
            .cloned()
            .or_else(|| w.copies.get(&path).map(|(r, _)| r.clone()))
            .ok_or_else(|| Cmd::Bad {
                env: cmd.env().unwrap_or_default().to_string(),
                why: format!("`{f}`: jcx import cannot tell which file of the repository it is"),
            })
    };
    match &cmd {
        Cmd::Create {
            env,
            specs,
            file: Some(f),
        } => {
            let repo = match find(f) {
                Ok(r) => r,
                Err(bad) => return bad,
            };
            // Without `-n`/`-p`, the file's `name:` names the environment.
            let env = env.clone().or_else(|| {
                let text = super::repo::read_text(w.src.root, &repo)?;
                crate::nodes::conda_env::read(&repo, &text)
                    .placement
                    .iter()
                    .find(|p| p.key == "name")
                    .map(|p| p.value.clone())
            });
            match env {
                Some(env) => Cmd::Create {
                    env: Some(env),
                    specs: specs.clone(),
                    file: Some(repo),
                },
                None => cmd,
            }
        }
        Cmd::EnvUpdate { env, file } => match find(file) {
            Ok(repo) => Cmd::EnvUpdate {
                env: env.clone(),
                file: repo,
            },
            Err(bad) => bad,
        },
        Cmd::Pip { env, reqs, files } => {
            let mut repos = Vec::new();
            for f in files {
                match find(f) {
                    Ok(r) => repos.push(r),
                    Err(bad) => return bad,
                }
            }
            Cmd::Pip {
                env: env.clone(),
                reqs: reqs.clone(),
                files: repos,
            }
        }
        _ => cmd,
    }
}

/// The kernels to write: every environment created and registered in this Dockerfile whose
/// commands a `kernel` holds exactly. The others are named in `refusals`.
fn plan(src: &AppSource<'_>, seen: &[Seen], refusals: &mut Vec<Warning>) -> Vec<Planned> {
    let mut names: Vec<&str> = Vec::new();
    for s in seen {
        if let Some(Cmd::Create { env: Some(e), .. }) = &s.cmd
            && !names.contains(&e.as_str())
        {
            names.push(e);
        }
    }
    let mut out: Vec<Planned> = Vec::new();
    for name in names {
        let mine: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.cmd.as_ref().and_then(Cmd::env) == Some(name))
            .collect();
        let registered = mine
            .iter()
            .any(|s| matches!(s.cmd, Some(Cmd::Register { .. })));
        if !registered {
            continue;
        }
        match one(src, name, &mine) {
            Ok(mut p) => {
                p.registered = registration_note(&mine, name);
                out.push(p);
            }
            Err(why) => refusals.push(Warning {
                kind: Kind::Escaped,
                origin: mine[0].origin.clone(),
                message: format!(
                    "the conda environment `{name}` and its kernel stay in blocks: {why}"
                ),
            }),
        }
    }
    out
}

/// An environment's commands, gathered: its conda specs or file, its pip requirements and
/// files, and how it is registered.
struct Gathered {
    specs: Vec<String>,
    environment: Option<String>,
    pip: Vec<String>,
    pip_files: Vec<String>,
    r: bool,
    display: Option<String>,
    reg_origin: Origin,
}

fn gather(name: &str, mine: &[&Seen]) -> Result<Gathered, String> {
    if let Some((s, why)) = mine.iter().find_map(|s| match &s.cmd {
        Some(Cmd::Bad { why, .. }) => Some((s, why)),
        _ => None,
    }) {
        return Err(format!("{why} ({})", s.origin));
    }
    let creates = mine
        .iter()
        .filter(|s| matches!(s.cmd, Some(Cmd::Create { .. })))
        .count();
    if creates > 1 {
        return Err("it is created more than once".into());
    }
    let Some(Cmd::Create { specs, file, .. }) = &mine[0].cmd else {
        return Err(format!(
            "`{}` ({}) uses it before it is created",
            super::run::short(&mine[0].raw),
            mine[0].origin
        ));
    };
    let mut specs = specs.clone();
    let mut environment = file.clone();
    let mut pip = Vec::new();
    let mut pip_files = Vec::new();
    let mut register = None;
    for s in &mine[1..] {
        match s.cmd.as_ref().expect("a command of the environment") {
            Cmd::Install { specs: more, .. } if environment.is_none() => {
                specs.extend(more.iter().cloned())
            }
            Cmd::Install { .. } => {
                return Err(format!(
                    "`{}` ({}) adds conda packages to an environment made from a file: a `kernel` with `environment=` takes none beside it",
                    super::run::short(&s.raw),
                    s.origin
                ));
            }
            Cmd::EnvUpdate { file, .. } if environment.is_none() && specs.is_empty() => {
                environment = Some(file.clone())
            }
            Cmd::EnvUpdate { .. } => {
                return Err(format!(
                    "`{}` ({}) updates it from a file after other packages: a `kernel` takes its conda packages from one place",
                    super::run::short(&s.raw),
                    s.origin
                ));
            }
            Cmd::Pip { reqs, files, .. } => {
                pip.extend(reqs.iter().cloned());
                pip_files.extend(files.iter().cloned());
            }
            Cmd::Register { .. } if register.is_some() => {
                return Err("it is registered as a kernel twice".into());
            }
            Cmd::Register {
                r,
                name: kname,
                display,
                place,
                ..
            } => {
                if kname != name {
                    return Err(format!(
                        "it is registered as the kernel `{kname}` ({}): a `kernel`'s name is its environment's",
                        s.origin
                    ));
                }
                register = Some((*r, display.clone(), *place, s.origin.clone()));
            }
            Cmd::Activate { .. } | Cmd::Create { .. } | Cmd::Bad { .. } => {}
        }
    }
    let Some((r, display, _, reg_origin)) = register else {
        return Err("it is not registered as a kernel".into());
    };
    Ok(Gathered {
        specs,
        environment,
        pip,
        pip_files,
        r,
        display,
        reg_origin,
    })
}

/// One environment's commands as a `kernel`, or why not.
fn one(src: &AppSource<'_>, name: &str, mine: &[&Seen]) -> Result<Planned, String> {
    let Gathered {
        mut specs,
        environment,
        pip,
        pip_files,
        r,
        display,
        reg_origin,
    } = gather(name, mine)?;
    if name == crate::nodes::kernels::NATIVE_KERNEL {
        return Err(format!(
            "`{name}` is the base image's own kernel: jcx refuses a `kernel` of that name"
        ));
    }
    if name.contains('$') || display.as_deref().is_some_and(|d| d.contains('$')) {
        return Err("its name uses a variable jcx import does not know".into());
    }
    let mut python = None;
    if let Some(k) = specs.iter().position(|s| {
        s.strip_prefix("python=")
            .is_some_and(crate::nodes::identity::is_python_version)
    }) {
        python = Some(specs.remove(k)["python=".len()..].to_string());
    }
    let own = if r { "r-irkernel" } else { "ipykernel" };
    specs.retain(|s| s != own);
    let mut notes = Vec::new();
    let display_name = display.unwrap_or_else(|| {
        let shown = if r { "R" } else { "Python 3 (ipykernel)" };
        let how = if r { "`installspec()` without `displayname`" } else { "`ipykernel install` without `--display-name`" };
        notes.push((reg_origin.clone(), format!("{how}: the kernel `{name}` is shown as `{shown}`, the default, which the manifest writes as its `display-name`; a clearer name tells it from the image's own kernel")));
        shown.to_string()
    });
    let node = KernelNode {
        name: name.to_string(),
        display_name,
        r,
        environment: environment.clone(),
        python,
        mamba: specs,
        pip_files: pip_files.clone(),
        pip,
    };
    probe(src, &node)?;
    for s in mine {
        if matches!(s.cmd, Some(Cmd::Activate { .. })) {
            notes.push((s.origin.clone(), format!("the stacks' `activate_notebook_custom_env.py` is jcx's kernel.json for `{name}`: it sets PATH, CONDA_PREFIX and CONDA_DEFAULT_ENV for the kernel's process, not the script's CONDA_SHLVL, CONDA_PROMPT_MODIFIER, CONDA_PREFIX_1 and XML_CATALOG_FILES")));
        }
    }
    let mut item = Item::new(Entry::Kernel(node), Some(mine[0].origin.clone()));
    item.also = mine[1..].iter().map(|s| s.origin.clone()).collect();
    item.fallback = vec![Entry::Dockerfile {
        root: mine[0].root,
        at: super::map::AT[2],
        lines: mine.iter().map(|s| format!("RUN {}", s.raw)).collect(),
    }];
    Ok(Planned {
        name: name.to_string(),
        keys: mine
            .iter()
            .filter_map(|s| Some((s.line, s.unit?)))
            .collect(),
        item,
        files: environment.into_iter().chain(pip_files).collect(),
        notes,
        registered: None,
    })
}

/// The *changed* warning about where kernels are registered (once per Dockerfile).
fn registration_note(mine: &[&Seen], name: &str) -> Option<(Origin, String)> {
    mine.iter().find_map(|s| match &s.cmd {
        Some(Cmd::Register { place, .. }) => {
            let was = match place {
                Place::User if s.root => "in root's HOME (`--user` as root), where the notebook user's server does not look",
                Place::User => "in the notebook user's HOME (`--user`)",
                Place::SysPrefix => "in the environment's own prefix (`--sys-prefix`), where the server does not look",
                Place::CondaDir => "in `${CONDA_DIR}/share/jupyter/kernels`",
                Place::System => "in `/usr/local/share/jupyter/kernels`",
            };
            Some((s.origin.clone(), format!("the kernel `{name}` was registered {was}; jcx generates every kernel's kernel.json into `${{CONDA_DIR}}/share/jupyter/kernels/NAME` (this one: `{name}`), with the environment activated for the kernel's process (PATH, CONDA_PREFIX, CONDA_DEFAULT_ENV)")))
        }
        _ => None,
    })
}

/// Checks the node as `jcx compile` would, in a manifest of its own.
fn probe(src: &AppSource<'_>, node: &KernelNode) -> Result<(), String> {
    let text = format!(
        "manifest-version 1\nregistry \"ghcr.io\" namespace=probe\n\napp probe {{\n    base \"quay.io/jupyter/base-notebook:2024-12-02\"\n    {}\n}}\n",
        node_text(node, "    ")
    );
    let source = crate::source::Source {
        path: src.root.join("apps.kdl"),
        name: "apps.kdl".into(),
        text,
    };
    let problems = match crate::load_source(source, src.root, &mut crate::Timings::default()) {
        Ok(_) => return Ok(()),
        Err(crate::error::Error::Invalid(i)) => i.problems,
        Err(crate::error::Error::Syntax { problems, .. }) => problems,
        Err(e) => return Err(e.to_string()),
    };
    let p = problems
        .iter()
        .find(|p| p.problem.is_error())
        .map_or_else(String::new, |p| {
            format!("{}: {}", p.problem.code, p.problem.message)
        });
    Err(format!("jcx refuses its `kernel` ({p})"))
}

/// The planned kernels (by index) that a line left in a block, another instruction, or a
/// `jupyter kernelspec` command (a `remove-kernel` of it would be refused, then a block) names
/// (its environment's or its kernel's directory, `-n NAME`), each with the warning.
fn blocked(
    src: &AppSource<'_>,
    r: &AppResult,
    seen: &[Seen],
    plan: &[Planned],
) -> Vec<(usize, Warning)> {
    let status = r
        .counts
        .iter()
        .find(|c| c.file == src.path)
        .map(|c| &c.lines);
    let in_block = |o: &Origin| {
        (o.first..=o.last).any(|l| {
            matches!(
                status.and_then(|s| s.get(&l)),
                Some(Status::Escaped | Status::Dropped)
            )
        })
    };
    let mut out = Vec::new();
    for (k, p) in plan.iter().enumerate() {
        let hit = seen.iter().find(|s| {
            let claimed = s.unit.is_some_and(|u| p.keys.contains(&(s.line, u)));
            !claimed
                && !s.boiler
                && names(&s.text, &p.name)
                && (s.unit.is_none() || in_block(&s.origin) || s.text.contains("kernelspec"))
        });
        if let Some(s) = hit {
            let what = if s.text.contains("kernelspec") {
                "a `jupyter kernelspec` command"
            } else if s.unit.is_some() {
                "a line left in a block"
            } else {
                "another instruction"
            };
            out.push((k, Warning {
                kind: Kind::Escaped,
                origin: p.item.origin.clone().unwrap_or_else(|| s.origin.clone()),
                message: format!("the conda environment `{}` and its kernel stay in blocks: {what} ({}) names its directory or its kernel's, which jcx's `kernel` makes itself", p.name, s.origin),
            }));
        }
    }
    out
}

/// Whether a command names the environment or kernel `name`: `…/envs/NAME`, `…/kernels/NAME`,
/// `-n NAME`, `--name NAME`, `activate NAME`.
fn names(text: &str, name: &str) -> bool {
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .collect();
    words.iter().enumerate().any(|(k, w)| {
        let path = ["/envs/", "/kernels/"].iter().any(|m| {
            w.match_indices(m).any(|(p, _)| {
                w[p + m.len()..].strip_prefix(name).is_some_and(|t| {
                    t.is_empty() || t.starts_with(['/', '"', '\'', ':', ';', ')', ',', ']'])
                })
            })
        });
        path || (matches!(*w, "-n" | "--name" | "activate") && words.get(k + 1) == Some(&name))
            || w.strip_prefix("--name=") == Some(name)
            || (*w == name && words.contains(&"kernelspec"))
    })
}

/// `kernel NAME display-name="…" … { … }` as `jcx fmt` lays it out (continuation lines
/// indented for `indent`).
pub fn node_text(k: &KernelNode, indent: &str) -> String {
    let q = |s: &str| kdl_value(s);
    let mut head = format!("kernel {} display-name={}", q(&k.name), q(&k.display_name));
    if k.r {
        head.push_str(" language=r");
    }
    if let Some(e) = &k.environment {
        head.push_str(&format!(" environment={}", q(e)));
    }
    let inner = format!("{indent}    ");
    let mut body: Vec<String> = Vec::new();
    if let Some(p) = &k.python {
        body.push(format!("python {}", q(p)));
    }
    if !k.mamba.is_empty() {
        let mut line = String::from("mamba");
        let mut len = inner.len() + line.len();
        for s in &k.mamba {
            let v = q(s);
            if len + 1 + v.len() > 100 && len > inner.len() + 5 {
                line.push_str(&format!(" \\\n{inner}    "));
                len = inner.len() + 4;
            } else {
                line.push(' ');
                len += 1;
            }
            len += v.len();
            line.push_str(&v);
        }
        body.push(line);
    }
    for f in &k.pip_files {
        body.push(format!("pip requirements={}", q(f)));
    }
    if !k.pip.is_empty() {
        let mut b = String::from("pip {");
        for p in &k.pip {
            b.push_str(&format!("\n{inner}    - {}", q(p)));
        }
        b.push_str(&format!("\n{inner}}}"));
        body.push(b);
    }
    if body.is_empty() {
        return head;
    }
    let mut s = format!("{head} {{");
    for b in body {
        s.push_str(&format!("\n{inner}{b}"));
    }
    s.push_str(&format!("\n{indent}}}"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_names_an_environment() {
        assert!(names(
            "sed -i s/x/y/ /home/jovyan/.local/share/jupyter/kernels/py310/kernel.json",
            "py310"
        ));
        assert!(names(
            "echo conda activate py310 >> /etc/skel/.bashrc",
            "py310"
        ));
        assert!(names("ENV=x PATH=/opt/conda/envs/py310/bin:$PATH", "py310"));
        assert!(names("conda run -n py310 python x.py", "py310"));
        assert!(names("jupyter kernelspec remove -y py310", "py310"));
        assert!(!names("mamba install -n py3100 numpy", "py310"));
        assert!(!names("ls /opt/conda/envs/py3100/bin", "py310"));
    }

    #[test]
    fn the_node_is_formatted() {
        let k = KernelNode {
            name: "py310".into(),
            display_name: "Python 3.10".into(),
            r: false,
            environment: None,
            python: Some("3.10".into()),
            mamba: vec!["jupyterlab".into(), "numpy<2".into()],
            pip_files: vec!["requirements.txt".into()],
            pip: vec!["flake8".into()],
        };
        let text = format!("app a {{\n    {}\n}}\n", node_text(&k, "    "));
        assert_eq!(crate::edit::format_text(&text), text);
        assert!(text.contains("    kernel py310 display-name=\"Python 3.10\" {\n        python \"3.10\"\n        mamba jupyterlab numpy<2\n        pip requirements=requirements.txt\n        pip {\n            - flake8\n        }\n    }\n"), "{text}");
        let bare = KernelNode {
            mamba: vec![],
            pip: vec![],
            pip_files: vec![],
            python: None,
            r: true,
            environment: Some("envs/r.yml".into()),
            ..k
        };
        assert_eq!(
            node_text(&bare, "    "),
            "kernel py310 display-name=\"Python 3.10\" language=r environment=\"envs/r.yml\""
        );
    }
}
