//! The commands of a conda environment registered as a Jupyter kernel, one simple command at a
//! time (words with quotes removed and known variables expanded): created (`mamba create -n
//! NAME`, `-p ${CONDA_DIR}/envs/NAME`, `env create -f FILE`), filled (`mamba install -n NAME`,
//! `env update -n NAME -f FILE`, the environment's pip), registered (its Python's `-m ipykernel
//! install`, its R's `IRkernel::installspec(…)`), activated (the stacks'
//! `activate_notebook_custom_env.py`). `kernelmap` decides whether they become one `kernel`.

use super::commands::{self, Options, command_words, is_conda_dir};

/// How `CONDA_DIR` is spelled in a path (it is the same in every Jupyter Docker Stacks image).
const CONDA_DIRS: [&str; 3] = ["${CONDA_DIR}", "$CONDA_DIR", "/opt/conda"];

/// The stacks' script that adds the environment's activation to a kernel.json in HOME.
pub const ACTIVATE_SCRIPT: &str = "/opt/setup-scripts/activate_notebook_custom_env.py";

/// Where a kernelspec was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `--user`: `~/.local/share/jupyter/kernels`.
    User,
    /// `--sys-prefix`: the environment's own `share/jupyter/kernels`.
    SysPrefix,
    /// `--prefix ${CONDA_DIR}`: where jcx puts it.
    CondaDir,
    /// No option: `/usr/local/share/jupyter/kernels`.
    System,
}

/// One command of a kernel's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// `mamba create` or `mamba env create`: the environment, its specs (channels applied as
    /// `channel::spec`) or its environment file (a path in the image until resolved). `env`
    /// is `None` when only the file's `name:` names it.
    Create {
        env: Option<String>,
        specs: Vec<String>,
        file: Option<String>,
    },
    /// `mamba env update -n NAME -f FILE`.
    EnvUpdate { env: String, file: String },
    /// `mamba install -n NAME SPEC…`.
    Install { env: String, specs: Vec<String> },
    /// The environment's `pip install`: requirements, and requirements files (paths in the
    /// image until resolved).
    Pip {
        env: String,
        reqs: Vec<String>,
        files: Vec<String>,
    },
    /// `python -m ipykernel install` or `IRkernel::installspec(…)` run by the environment.
    Register {
        env: String,
        r: bool,
        name: String,
        display: Option<String>,
        place: Place,
    },
    /// `activate_notebook_custom_env.py NAME`.
    Activate { env: String },
    /// A command of the environment that no `kernel` setting holds.
    Bad { env: String, why: String },
}

impl Cmd {
    /// The environment the command is about (`None` for a `create` named by its file only).
    pub fn env(&self) -> Option<&str> {
        match self {
            Cmd::Create { env, .. } => env.as_deref(),
            Cmd::EnvUpdate { env, .. }
            | Cmd::Install { env, .. }
            | Cmd::Pip { env, .. }
            | Cmd::Register { env, .. }
            | Cmd::Activate { env }
            | Cmd::Bad { env, .. } => Some(env),
        }
    }
}

/// `${CONDA_DIR}/envs/NAME` (or `/opt/conda/envs/NAME`) -> `NAME`.
pub fn env_of_prefix(p: &str) -> Option<String> {
    let p = p.trim_end_matches('/');
    CONDA_DIRS.iter().find_map(|d| {
        let rest = p.strip_prefix(d)?.strip_prefix("/envs/")?;
        (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
    })
}

/// `${CONDA_DIR}/envs/NAME/bin/PROG` -> (`NAME`, `PROG`).
fn env_program(w: &str) -> Option<(String, String)> {
    let (dir, prog) = w.rsplit_once("/bin/")?;
    Some((env_of_prefix(dir)?, prog.to_string()))
}

/// The command, if it is one of a conda environment other than base.
pub fn parse(words: &[String]) -> Option<Cmd> {
    let w = command_words(words);
    let first = w.first()?.as_str();
    if matches!(first, "mamba" | "conda" | "micromamba") {
        return conda(w);
    }
    let script = if matches!(first, "python" | "python3") {
        &w[1..]
    } else {
        w
    };
    if script.first().is_some_and(|s| s == ACTIVATE_SCRIPT) {
        return match script {
            [_, env] => Some(Cmd::Activate { env: env.clone() }),
            _ => None,
        };
    }
    let (env, prog) = env_program(first)?;
    Some(in_env(env, &prog, &w[1..]))
}

/// The options of a conda command.
#[derive(Debug, Default)]
struct Opts {
    /// `-n NAME` or `-p ${CONDA_DIR}/envs/NAME`; `Some("base")` for the base environment.
    env: Option<String>,
    /// `-p` of a directory that is not under `${CONDA_DIR}/envs`.
    elsewhere: bool,
    channels: Vec<String>,
    file: Option<String>,
    override_channels: bool,
    /// Options this reader does not know.
    unknown: Vec<String>,
    /// The words after the options (`run`: the program and its arguments).
    rest: Vec<String>,
}

/// Reads conda's options; for `run`, up to the program.
fn opts(args: &[String], run: bool) -> Option<Opts> {
    let mut o = Opts::default();
    let mut words = Options::new(args);
    while let Some(w) = words.next_opt() {
        let a = w.word;
        let mut value = || words.value(&w);
        match w.flag {
            "-y"
            | "--yes"
            | "-q"
            | "--quiet"
            | "--no-capture-output"
            | "--live-stream"
            | "--no-banner" => {}
            "-yq" | "-qy" => {}
            "--override-channels" => o.override_channels = true,
            "-n" | "--name" => o.env = Some(value()?),
            "-p" | "--prefix" => {
                let p = value()?;
                if is_conda_dir(&p) {
                    o.env = Some("base".into());
                } else if let Some(n) = env_of_prefix(&p) {
                    o.env = Some(n);
                } else {
                    o.elsewhere = true;
                }
            }
            "-c" | "--channel" => {
                let c = value()?;
                o.channels.push(c);
            }
            "-f" | "--file" => o.file = Some(value()?),
            _ if a.starts_with('-') => o.unknown.push(a.to_string()),
            _ if run => {
                o.rest = words.rest().to_vec();
                return Some(o);
            }
            _ => o.rest.push(a.to_string()),
        }
    }
    Some(o)
}

/// `mamba create|install|run|env create|env update …` of an environment other than base.
fn conda(w: &[String]) -> Option<Cmd> {
    let sub = w.get(1)?.as_str();
    let (sub, args) = if sub == "env" {
        (format!("env {}", w.get(2)?), &w[3..])
    } else {
        (sub.to_string(), &w[2..])
    };
    let o = opts(args, sub == "run")?;
    if o.elsewhere || o.env.as_deref() == Some("base") {
        return None;
    }
    let shown = w.join(" ");
    let bad = |env: &str, why: String| {
        Some(Cmd::Bad {
            env: env.to_string(),
            why,
        })
    };
    match sub.as_str() {
        "create" | "env create" => {
            let env = o.env.clone();
            let named = env.clone().unwrap_or_default();
            if let Some(u) = o.unknown.first() {
                return bad(
                    &named,
                    format!(
                        "`{u}` of `{}`: a `kernel` has no such option",
                        short(&shown)
                    ),
                );
            }
            let yaml = o
                .file
                .as_ref()
                .is_some_and(|f| f.ends_with(".yml") || f.ends_with(".yaml"));
            if o.file.is_some() && (!yaml || !o.rest.is_empty()) {
                return bad(
                    &named,
                    format!(
                        "`{}` reads a list of specs, not one environment file",
                        short(&shown)
                    ),
                );
            }
            if sub == "env create" && o.file.is_none() {
                return None;
            }
            if env.is_none() && o.file.is_none() {
                return None;
            }
            let specs = match channel_specs(&o) {
                Ok(s) => s,
                Err(why) => return bad(&named, why),
            };
            Some(Cmd::Create {
                env,
                specs,
                file: o.file,
            })
        }
        "env update" => {
            let env = o.env?;
            match (&o.file, o.unknown.first(), o.rest.is_empty()) {
                (Some(f), None, true) => Some(Cmd::EnvUpdate {
                    env,
                    file: f.clone(),
                }),
                _ => bad(
                    &env,
                    format!(
                        "`{}`: a `kernel` takes one environment file and no other option",
                        short(&shown)
                    ),
                ),
            }
        }
        "install" => {
            let env = o.env.clone()?;
            if let Some(u) = o.unknown.first().or(o.file.as_ref()) {
                return bad(
                    &env,
                    format!(
                        "`{u}` of `{}`: a kernel's `mamba` has no such option",
                        short(&shown)
                    ),
                );
            }
            match channel_specs(&o) {
                Ok(specs) if !specs.is_empty() => Some(Cmd::Install { env, specs }),
                Ok(_) => None,
                Err(why) => bad(&env, why),
            }
        }
        "run" => {
            let env = o.env?;
            match (o.rest.first(), o.unknown.first()) {
                (Some(prog), None) => Some(in_env(env, prog, &o.rest[1..])),
                _ => bad(
                    &env,
                    format!("`{}` is not a command a `kernel` holds", short(&shown)),
                ),
            }
        }
        _ => {
            let env = o.env?;
            bad(
                &env,
                format!("`{}` is not a command a `kernel` holds", short(&shown)),
            )
        }
    }
}

/// The specs of a `create` or `install`, with channels written as the app's `mamba` mapping
/// writes them (`conda-forge` and `defaults` dropped, one other channel as `channel::spec`).
fn channel_specs(o: &Opts) -> Result<Vec<String>, String> {
    if o.rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut words = vec!["mamba".to_string(), "install".to_string()];
    if o.override_channels {
        words.push("--override-channels".into());
    }
    for c in &o.channels {
        words.push("-c".into());
        words.push(c.clone());
    }
    words.extend(o.rest.iter().cloned());
    match commands::conda(&words) {
        Some(commands::Conda::Install { specs }) => Ok(specs),
        _ => Err(format!(
            "the channels {} cannot be written as `channel::spec`: a `kernel`'s `mamba` takes one channel besides conda-forge",
            o.channels.join(", ")
        )),
    }
}

/// A program of the environment (`…/envs/NAME/bin/PROG ARGS`, `mamba run -n NAME PROG ARGS`).
fn in_env(env: String, prog: &str, args: &[String]) -> Cmd {
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let python = base == "python"
        || base
            .strip_prefix("python3")
            .is_some_and(|v| v.is_empty() || v.starts_with('.'));
    let shown = format!("{base} {}", args.join(" "));
    let bad = |why: String| Cmd::Bad {
        env: env.clone(),
        why,
    };
    if prog.contains('/') && env_program(prog).is_none_or(|(e, _)| e != env) {
        return bad(format!(
            "`{}` runs a program of another environment",
            short(&shown)
        ));
    }
    let module = |m: &str| {
        python && args.first().is_some_and(|a| a == "-m") && args.get(1).is_some_and(|a| a == m)
    };
    if matches!(base, "pip" | "pip3") {
        pip(&env, args)
    } else if module("pip") {
        pip(&env, &args[2..])
    } else if module("ipykernel") {
        ipykernel(&env, &args[2..]).unwrap_or_else(bad)
    } else if base == "ipython" && args.first().is_some_and(|a| a == "kernel") {
        ipykernel(&env, &args[1..]).unwrap_or_else(bad)
    } else if matches!(base, "R" | "Rscript") {
        irkernel(&env, base, args).unwrap_or_else(bad)
    } else {
        bad(format!(
            "`{}` runs in the environment: no `kernel` setting holds it",
            short(&shown)
        ))
    }
}

/// The environment's `pip install …`.
fn pip(env: &str, args: &[String]) -> Cmd {
    let mut words = vec!["pip".to_string()];
    words.extend(args.iter().cloned());
    let bad = |why: String| Cmd::Bad {
        env: env.to_string(),
        why,
    };
    match commands::pip(&words) {
        Ok(Some(p)) if !p.indexes.is_empty() => bad(format!(
            "`pip install --{}`: a kernel's pip uses the manifest's PyPI mirror, not an index of its own",
            p.indexes[0].0
        )),
        Ok(Some(p)) if p.pre => {
            bad("`pip install --pre`: a kernel's `pip` takes no pre-releases".into())
        }
        Ok(Some(p)) => Cmd::Pip {
            env: env.to_string(),
            reqs: p.requirements,
            files: p.files,
        },
        Ok(None) => bad(format!(
            "`pip {}` is not a `pip install` a `kernel` holds",
            short(&args.join(" "))
        )),
        Err(opt) => bad(format!(
            "`pip install {opt}`: a kernel's `pip` has no such option"
        )),
    }
}

/// `ipykernel install [--user|--sys-prefix|--prefix P] [--name N] [--display-name D]`.
fn ipykernel(env: &str, args: &[String]) -> Result<Cmd, String> {
    if args.first().map(String::as_str) != Some("install") {
        return Err(format!(
            "`ipykernel {}` is not `ipykernel install`",
            short(&args.join(" "))
        ));
    }
    let mut name = "python3".to_string();
    let mut display = None;
    let mut place = Place::System;
    let mut words = Options::new(&args[1..]);
    while let Some(w) = words.next_opt() {
        let a = w.word;
        let mut value = || words.value(&w);
        let missing = || format!("`{a}` without a value");
        match w.flag {
            "--user" => place = Place::User,
            "--sys-prefix" => place = Place::SysPrefix,
            "--prefix" => {
                let p = value().ok_or_else(missing)?;
                if !is_conda_dir(&p) {
                    return Err(format!(
                        "`ipykernel install --prefix {p}` installs the kernel where the server does not look"
                    ));
                }
                place = Place::CondaDir;
            }
            "--name" => name = value().ok_or_else(missing)?,
            "--display-name" => display = Some(value().ok_or_else(missing)?),
            _ => {
                return Err(format!(
                    "`ipykernel install {a}`: jcx's kernel.json has no such option"
                ));
            }
        }
    }
    Ok(Cmd::Register {
        env: env.to_string(),
        r: false,
        name,
        display,
        place,
    })
}

/// `R [--slave|--vanilla|-q…] -e 'IRkernel::installspec(name = "N", displayname = "D")'`
/// (or `Rscript -e …`).
fn irkernel(env: &str, prog: &str, args: &[String]) -> Result<Cmd, String> {
    let quiet = [
        "--slave",
        "--vanilla",
        "--no-save",
        "--no-restore",
        "--no-echo",
        "-q",
        "--quiet",
        "-s",
        "--silent",
    ];
    let code = match args {
        [flags @ .., e, code] if e == "-e" && flags.iter().all(|f| quiet.contains(&f.as_str())) => {
            code
        }
        _ => {
            return Err(format!(
                "`{prog} {}` is not one `-e` expression",
                short(&args.join(" "))
            ));
        }
    };
    let call = code.trim().trim_end_matches(';').trim();
    let inner = call
        .strip_prefix("IRkernel::installspec(")
        .and_then(|c| c.strip_suffix(')'))
        .ok_or_else(|| {
            format!(
                "`{}` is R code other than `IRkernel::installspec(…)`",
                short(call)
            )
        })?;
    let mut name = "ir".to_string();
    let mut display = None;
    let mut place = Place::User;
    for arg in r_args(inner).ok_or_else(|| {
        format!(
            "`{}`: jcx import reads only named, literal arguments",
            short(call)
        )
    })? {
        let (k, v) = arg;
        match (k.as_str(), v) {
            ("name", RValue::Str(s)) => name = s,
            ("displayname", RValue::Str(s)) => display = Some(s),
            ("user", RValue::Bool(true)) => place = Place::User,
            ("user", RValue::Bool(false)) => place = Place::System,
            ("sys_prefix", RValue::Bool(b)) => {
                if b {
                    place = Place::SysPrefix;
                }
            }
            ("prefix", RValue::Str(p)) if is_conda_dir(&p) => place = Place::CondaDir,
            (k, _) => {
                return Err(format!(
                    "`installspec({k} = …)`: jcx's kernel.json has no such option"
                ));
            }
        }
    }
    Ok(Cmd::Register {
        env: env.to_string(),
        r: true,
        name,
        display,
        place,
    })
}

enum RValue {
    Str(String),
    Bool(bool),
}

/// `name = "x", user = FALSE`: named arguments with string or logical literals (no escapes).
fn r_args(s: &str) -> Option<Vec<(String, RValue)>> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return None;
        }
        let after = after.trim_start();
        let (value, tail) = match after.chars().next()? {
            q @ ('"' | '\'') => {
                let end = after[1..].find(q)? + 1;
                let text = &after[1..end];
                if text.contains('\\') {
                    return None;
                }
                (RValue::Str(text.to_string()), &after[end + 1..])
            }
            _ => {
                let end = after.find(',').unwrap_or(after.len());
                let v = match after[..end].trim() {
                    "TRUE" | "T" => RValue::Bool(true),
                    "FALSE" | "F" => RValue::Bool(false),
                    _ => return None,
                };
                (v, &after[end..])
            }
        };
        out.push((key.to_string(), value));
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => tail,
            None => return None,
        };
    }
    Some(out)
}

fn short(s: &str) -> String {
    super::run::short(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Cmd> {
        let words: Vec<String> = crate::import::shell::split(s)[0]
            .words(&Default::default())
            .unwrap();
        parse(&words)
    }

    #[test]
    fn creates() {
        assert_eq!(
            p(r#"mamba create --yes -p "${CONDA_DIR}/envs/py310" python=3.10 'ipykernel'"#),
            Some(Cmd::Create {
                env: Some("py310".into()),
                specs: vec!["python=3.10".into(), "ipykernel".into()],
                file: None
            })
        );
        assert_eq!(
            p("conda create -n r43 -c conda-forge -c bioconda r-base=4.3 r-irkernel"),
            Some(Cmd::Create {
                env: Some("r43".into()),
                specs: vec!["bioconda::r-base=4.3".into(), "bioconda::r-irkernel".into()],
                file: None
            })
        );
        assert_eq!(
            p("mamba env create -f /tmp/environment.yml"),
            Some(Cmd::Create {
                env: None,
                specs: vec![],
                file: Some("/tmp/environment.yml".into())
            })
        );
        assert!(matches!(
            p("mamba create -n x --file specs.txt"),
            Some(Cmd::Bad { .. })
        ));
        assert!(matches!(
            p("mamba create -n x -c a -c b numpy"),
            Some(Cmd::Bad { .. })
        ));
        // The base environment and other prefixes are not a kernel's.
        assert_eq!(p("mamba install -n base numpy"), None);
        assert_eq!(p("mamba install -p /opt/conda numpy"), None);
        assert_eq!(p("mamba create -p /srv/env numpy"), None);
        assert_eq!(p("mamba env update -f /tmp/e.yml"), None);
    }

    #[test]
    fn fills_and_registers() {
        assert_eq!(
            p("mamba install -y -n fenics -c conda-forge scipy"),
            Some(Cmd::Install {
                env: "fenics".into(),
                specs: vec!["scipy".into()]
            })
        );
        assert_eq!(
            p(r#""${CONDA_DIR}/envs/py310/bin/pip" install --no-cache-dir 'flake8'"#),
            Some(Cmd::Pip {
                env: "py310".into(),
                reqs: vec!["flake8".into()],
                files: vec![]
            })
        );
        assert_eq!(
            p("mamba run -n fenics pip install -r /tmp/requirements.txt"),
            Some(Cmd::Pip {
                env: "fenics".into(),
                reqs: vec![],
                files: vec!["/tmp/requirements.txt".into()]
            })
        );
        assert_eq!(
            p(
                r#"conda run --no-capture-output -n fenics python -m ipykernel install --user --name=fenics --display-name "FEniCS""#
            ),
            Some(Cmd::Register {
                env: "fenics".into(),
                r: false,
                name: "fenics".into(),
                display: Some("FEniCS".into()),
                place: Place::User
            })
        );
        assert_eq!(
            p(
                r#"/opt/conda/envs/r43/bin/R -e 'IRkernel::installspec(name="r43", displayname="R 4.3")'"#
            ),
            Some(Cmd::Register {
                env: "r43".into(),
                r: true,
                name: "r43".into(),
                display: Some("R 4.3".into()),
                place: Place::User
            })
        );
        assert_eq!(
            p(r#"/opt/setup-scripts/activate_notebook_custom_env.py "py310""#),
            Some(Cmd::Activate {
                env: "py310".into()
            })
        );
        for bad in [
            "/opt/conda/envs/x/bin/pip install -e .",
            "/opt/conda/envs/x/bin/python -m ipykernel install --user --env A B",
            "/opt/conda/envs/x/bin/python setup.py install",
            "mamba run -n x jupyter labextension list",
            "/opt/conda/envs/x/bin/R -e 'install.packages(\"x\")'",
            "conda remove -n x numpy",
            "/opt/conda/envs/x/bin/pip install --index-url https://example.org/simple y",
        ] {
            assert!(matches!(p(bad), Some(Cmd::Bad { .. })), "{bad}");
        }
        // Plain `python` is the base environment's.
        assert_eq!(p("python -m ipykernel install --user --name x"), None);
    }

    #[test]
    fn r_arguments() {
        let a = r_args("name = 'x', displayname=\"R (x)\", user = FALSE").unwrap();
        assert_eq!(a.len(), 3);
        assert!(r_args("'x'").is_none());
        assert!(r_args("name = paste0('a', 'b')").is_none());
    }
}
