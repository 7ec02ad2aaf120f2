//! `jcx build APP`: builds an app's image on this machine, after the apps it is built on
//! (`base app=`, parents first), with whatever builder the machine has (docker buildx, podman
//! or buildah), the build arguments the app's workflow passes and the tags it gives. Plans the
//! command lines as data (tests compare them), then runs them; never touches credentials.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Loaded;
use crate::error::{Error, Result};
use crate::model::App;

/// A local container image builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Builder {
    /// `docker buildx build --load` (needs the buildx plugin and a running Docker daemon).
    Docker,
    /// `podman build`.
    Podman,
    /// `buildah bud` (no daemon).
    Buildah,
}

impl Builder {
    pub const ALL: [Builder; 3] = [Builder::Docker, Builder::Podman, Builder::Buildah];

    pub fn program(self) -> &'static str {
        match self {
            Builder::Docker => "docker",
            Builder::Podman => "podman",
            Builder::Buildah => "buildah",
        }
    }

    /// Whether this builder can build here: its program runs (and, for docker, buildx is
    /// installed and the daemon answers).
    pub fn usable(self) -> bool {
        let ok = |args: &[&str]| {
            Command::new(self.program())
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        match self {
            Builder::Docker => {
                ok(&["buildx", "version"]) && ok(&["version", "--format", "{{.Server.Version}}"])
            }
            Builder::Podman | Builder::Buildah => ok(&["--version"]),
        }
    }
}

/// `jcx build`'s command line.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The app to build.
    pub app: String,
    /// The manifest [default: apps.kdl here or in the nearest directory above]
    pub manifest: Option<PathBuf>,
    /// Where the generated files live, the build context [default: the manifest's directory]
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The builder [default: the first of docker, podman, buildah that works here]
    #[arg(long, value_enum)]
    pub builder: Option<Builder>,
    /// Push the tags to the manifest's registry (with the machine's existing login).
    #[arg(long)]
    pub push: bool,
    /// Print the commands instead of running them.
    #[arg(long)]
    pub dry_run: bool,
    /// A build argument for every app built (BASE_IMAGE: for the first app only).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Arguments for the builder, after `--`.
    #[arg(last = true, value_name = "BUILDER ARGS")]
    pub builder_args: Vec<String>,
}

impl BuildArgs {
    /// The manifest, the output directory (the build context) and the options.
    pub fn into_options(self) -> (PathBuf, PathBuf, Options) {
        let manifest = self.manifest.unwrap_or_else(|| PathBuf::from("apps.kdl"));
        let out = self.out.unwrap_or_else(|| crate::default_out(&manifest));
        let opts = Options {
            app: self.app,
            builder: self.builder,
            push: self.push,
            dry_run: self.dry_run,
            build_args: self.build_args,
            builder_args: self.builder_args,
        };
        (manifest, out, opts)
    }
}

/// What `jcx build` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub app: String,
    pub builder: Option<Builder>,
    pub push: bool,
    pub dry_run: bool,
    /// `NAME=VALUE` build arguments that replace jcx's (`BASE_IMAGE` replaces the first app's
    /// base image only: the others build on their parent's fresh image).
    pub build_args: Vec<String>,
    /// Passed to the builder as they are, before the context.
    pub builder_args: Vec<String>,
}

/// One app's build: what to run, and the tags it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub app: String,
    pub build: Vec<String>,
    pub tags: Vec<String>,
    pub push: Vec<Vec<String>>,
}

/// The chosen builder: the one asked for (which must be usable), or the first usable of
/// docker, podman and buildah.
pub fn choose(requested: Option<Builder>, usable: impl Fn(Builder) -> bool) -> Result<Builder> {
    match requested {
        Some(b) if usable(b) => Ok(b),
        Some(b) => Err(Error::Build {
            message: format!("`--builder {}`: {} cannot build here", program_name(b), b.program()),
            help: Some(match b {
                Builder::Docker => "jcx runs `docker buildx build`: install Docker with the buildx plugin and start the daemon (`docker buildx version` and `docker version` must work), or choose `--builder podman` or `--builder buildah`".into(),
                _ => format!("install {0} (`{0} --version` must work), or choose another `--builder`", b.program()),
            }),
        }),
        None => Builder::ALL.into_iter().find(|b| usable(*b)).ok_or_else(|| Error::Build {
            message: "no container image builder found: jcx build needs docker (with buildx and a running daemon), podman or buildah".into(),
            help: Some("install one of them (Debian and Ubuntu package `buildah` needs no daemon), or name one with `--builder`".into()),
        }),
    }
}

fn program_name(b: Builder) -> &'static str {
    b.program()
}

/// The app called `name` and the apps it is built on, root first.
pub fn lineage<'a>(loaded: &'a Loaded, name: &str) -> Result<Vec<&'a App>> {
    let apps = &loaded.manifest.apps;
    let find = |n: &str| apps.iter().find(|a| a.name == n);
    let Some(mut app) = find(name) else {
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        return Err(Error::Usage {
            message: format!("no app `{name}` in `{}`", loaded.source.name),
            help: Some(crate::nodes::decode::suggest_app(name, &names)),
        });
    };
    let mut out = vec![app];
    while let Some(p) = app.parent.as_ref().and_then(|p| find(&p.app)) {
        out.push(p);
        app = p;
    }
    out.reverse();
    Ok(out)
}

/// The tags jcx's default tag scheme gives an app's image, in every registry it is pushed to:
/// `<image>:<base tag>` (which the Dockerfiles of the apps built on it name by default) and,
/// for a commit, `<image>:<base tag>-<commit>`. The first is the first registry's.
pub fn tags(app: &App, commit: Option<&str>) -> Vec<String> {
    let images: Vec<&str> = if app.pushes.is_empty() {
        vec![app.image.as_str()]
    } else {
        app.pushes.iter().map(|p| p.image.as_str()).collect()
    };
    let mut t = Vec::new();
    for image in &images {
        t.push(format!("{image}:{}", app.base.tag));
    }
    if let Some(c) = commit {
        for image in &images {
            t.push(format!("{image}:{}-{c}", app.base.tag));
        }
    }
    t
}

/// Every command `jcx build` runs, in order. `commit` is the clean commit being built, if any.
pub fn plan(
    loaded: &Loaded,
    opts: &Options,
    builder: Builder,
    commit: Option<&str>,
) -> Result<Vec<Step>> {
    let chain = lineage(loaded, &opts.app)?;
    let mut overrides: Vec<(&str, &str)> = Vec::new();
    for a in &opts.build_args {
        match a.split_once('=') {
            Some((k, v)) if crate::nodes::check::is_variable_name(k) => overrides.push((k, v)),
            _ => {
                return Err(Error::Usage {
                    message: format!("`--build-arg {a}` is not NAME=VALUE"),
                    help: Some("write `--build-arg PYPI_INDEX_URL=https://...`".into()),
                });
            }
        }
    }
    let mut steps = Vec::new();
    let mut parent_tag: Option<String> = None;
    for app in chain {
        let mut args: Vec<(String, String)> = vec![(
            "BASE_IMAGE".into(),
            parent_tag.clone().unwrap_or_else(|| app.base.full()),
        )];
        for a in crate::render::mirror_build_args(&loaded.manifest, app) {
            if let Some((k, v)) = a.split_once('=') {
                args.push((k.into(), v.into()));
            }
        }
        for (k, v) in &overrides {
            if *k == "BASE_IMAGE" && parent_tag.is_some() {
                continue;
            }
            args.retain(|(ak, _)| ak != k);
            args.push((k.to_string(), v.to_string()));
        }
        let tags = tags(app, commit);
        let dockerfile = app.dockerfile_path();
        let mut cmd: Vec<String> = match builder {
            Builder::Docker => vec!["docker", "buildx", "build", "--load"],
            Builder::Podman => vec!["podman", "build", "--format", "docker", "--layers"],
            Builder::Buildah => vec!["buildah", "bud", "--format", "docker", "--layers"],
        }
        .into_iter()
        .map(String::from)
        .collect();
        cmd.extend(["--file".to_string(), dockerfile]);
        // BuildKit reads `<Dockerfile>.dockerignore` by itself; podman and buildah do too in
        // recent releases, and are told explicitly.
        if builder != Builder::Docker {
            cmd.extend(["--ignorefile".to_string(), app.dockerignore_path()]);
        }
        for (k, v) in &args {
            cmd.extend(["--build-arg".to_string(), format!("{k}={v}")]);
        }
        for t in &tags {
            cmd.extend(["--tag".to_string(), t.clone()]);
        }
        cmd.extend(opts.builder_args.iter().cloned());
        cmd.push(".".into());
        let push = if opts.push {
            tags.iter()
                .map(|t| match builder {
                    Builder::Buildah => vec![
                        "buildah".into(),
                        "push".into(),
                        t.clone(),
                        format!("docker://{t}"),
                    ],
                    _ => vec![builder.program().into(), "push".into(), t.clone()],
                })
                .collect()
        } else {
            Vec::new()
        };
        parent_tag = Some(tags[0].clone());
        steps.push(Step {
            app: app.name.clone(),
            build: cmd,
            tags,
            push,
        });
    }
    Ok(steps)
}

/// The commit of the repository at `dir` when its working tree is clean: only then does the
/// image get the commit's tag, as CI would give it. `None` outside git, or with changes.
pub fn clean_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--verify", "HEAD"])?;
    git(&["status", "--porcelain", "--untracked-files=no"])
        .filter(|s| s.is_empty())
        .map(|_| commit)
}

/// A command line as a POSIX shell would read it back.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_./:=@+,%".contains(&c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one command in `dir`. Its output goes to stderr: jcx's stdout carries only the image
/// built (`image=$(jcx build APP)`).
pub fn run_command(argv: &[String], dir: &Path) -> Result<()> {
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| Error::io(format!("cannot run `{}`", argv[0]), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Build {
            message: format!(
                "`{}` failed ({status})",
                shell_line(&argv[..argv.len().min(3)])
            ),
            help: None,
        })
    }
}

/// `jcx build`: checks that the generated files match the manifest, chooses the builder, then
/// builds (and pushes) every app of the lineage, or prints the commands (`dry_run`). Returns
/// the image built (its most precise tag), or `None` for a dry run.
pub fn execute(loaded: &Loaded, out: &Path, opts: &Options) -> Result<Option<String>> {
    lineage(loaded, &opts.app)?;
    let mut t = crate::Timings::default();
    let drift = crate::check(loaded, out, &mut t)?;
    if !drift.is_empty() {
        let files: Vec<&str> = drift.iter().map(|d| d.path()).collect();
        return Err(Error::Build {
            message: format!(
                "the generated files do not match the manifest ({})",
                files.join(", ")
            ),
            help: Some("run `jcx compile` first: jcx build builds the files on disk".into()),
        });
    }
    let builder = match choose(opts.builder, Builder::usable) {
        Ok(b) => {
            if opts.builder.is_none() {
                eprintln!(
                    "jcx build: using {} (the first of docker buildx, podman and buildah that works here)",
                    b.program()
                );
            }
            b
        }
        Err(_) if opts.dry_run && opts.builder.is_none() => {
            eprintln!("jcx build: no builder found here; showing the docker commands");
            Builder::Docker
        }
        Err(e) => return Err(e),
    };
    let commit = clean_commit(out);
    if commit.is_none() {
        eprintln!(
            "jcx build: not a clean git checkout: the image gets its base tag only, no commit tag"
        );
    }
    let steps = plan(loaded, opts, builder, commit.as_deref())?;
    let total = steps.len();
    for (i, s) in steps.iter().enumerate() {
        if opts.dry_run {
            crate::cli::outln!("{}", shell_line(&s.build));
            for p in &s.push {
                crate::cli::outln!("{}", shell_line(p));
            }
            continue;
        }
        eprintln!(
            "jcx build: [{}/{total}] {}: {}",
            i + 1,
            s.app,
            shell_line(&s.build)
        );
        run_command(&s.build, out)?;
        for p in &s.push {
            eprintln!("jcx build: {}", shell_line(p));
            run_command(p, out).map_err(|e| match e {
                Error::Build { message, .. } => Error::Build {
                    message,
                    help: Some(format!(
                        "jcx pushes with the machine's own registry login: run `{} login <registry>` first (for {})",
                        builder.program(),
                        p.get(2).map_or("the image", String::as_str)
                    )),
                },
                e => e,
            })?;
        }
    }
    if opts.dry_run {
        return Ok(None);
    }
    // The first registry's most precise tag: the commit's when there is one.
    Ok(steps.last().map(|s| {
        let n = s.tags.len();
        let per_image = if commit.is_some() { n / 2 } else { n };
        s.tags[n - per_image].clone()
    }))
}
