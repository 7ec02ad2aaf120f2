//! One hand-made Dockerfile -> the settings of one app. The instructions of the final build
//! stage are walked in order; what maps becomes entries, what does not becomes `dockerfile`
//! blocks placed (`at=`) after the jcx steps that preceded it in the original, as the user the
//! original ran it as (`user=`), or a comment when not even a block can hold it. Every line of
//! the Dockerfile ends up counted as mapped, escaped, dropped, or comment/blank.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::dockerfile::{Dockerfile, Instr};
use super::draft::{Counts, Entry, Item, Kind, Origin, Warning};
use super::shell::{self, Vars};

/// Everything the walk needs to know about one app.
pub struct AppSource<'a> {
    /// The Dockerfile, relative to the repository root.
    pub path: String,
    pub text: String,
    /// The build context, relative to the repository root (`""` for the root itself).
    pub context: String,
    /// Build arguments the workflow passes.
    pub build_args: BTreeMap<String, String>,
    pub root: &'a Path,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct AppResult {
    pub items: Vec<Item>,
    pub base: Option<(String, Origin)>,
    pub warnings: Vec<Warning>,
    pub counts: Vec<Counts>,
    pub mirror: Option<(String, Origin)>,
    /// The apt mirror the sources were edited to (`sed -i … /etc/apt/sources.list`).
    pub apt_mirror: Option<(String, Origin)>,
    pub error: Option<String>,
    pub stages: Vec<super::buildstages::StageDraft>,
}

pub use super::draft::Status;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    Notebook,
    Root,
    Other(String),
}

/// Positions of `dockerfile` blocks, in the order jcx writes them.
pub const AT: [&str; 4] = ["start", "after-system", "before-pip", "end"];

/// A run of lines for a `dockerfile` block.
#[derive(Debug, Clone)]
pub struct Piece {
    pub user: User,
    pub at: usize,
    pub cwd: Option<String>,
    pub lines: Vec<String>,
    pub origin: Origin,
}

/// A decision left until the whole Dockerfile has been read.
#[derive(Debug, Clone)]
pub enum Step {
    Items(Vec<Item>),
    Piece(Piece),
    Drop(Origin, Vec<String>),
    Var {
        env: bool,
        name: String,
        value: Option<String>,
        /// The value with the variables known at that point expanded.
        expanded: Option<String>,
        at: usize,
        user: User,
        origin: Origin,
    },
    /// A `COPY`, its index, and the `file`/`hook` items it becomes unless a mapped pip step
    /// reads its files.
    Copy(Piece, Vec<Item>),
}

pub struct Walker<'a> {
    pub src: &'a AppSource<'a>,
    pub df: Dockerfile,
    pub vars: Vars,
    pub user: User,
    pub at: usize,
    pub cwd: Option<String>,
    pub steps: Vec<Step>,
    pub status: Vec<Status>,
    pub warnings: Vec<Warning>,
    /// Paths in the image -> (repository path, index of the COPY step).
    pub copies: BTreeMap<String, (String, Option<usize>)>,
    /// Repository files a mapped `pip install -r` read.
    pub consumed: BTreeSet<String>,
    /// Variables the mapped commands used.
    pub mapped_refs: BTreeSet<String>,
    pub mirror: Option<(String, Origin)>,
    pub apt_mirror: Option<(String, Origin)>,
    /// Whether the edits to the apt mirror included `security.ubuntu.com`.
    pub apt_security: bool,
    pub counts: Vec<Counts>,
    pub workdir: Option<(String, Origin)>,
    /// Build stages by their Dockerfile name (lowercase) or index: the `stage` written for
    /// one, `None` for one kept as a comment (a `COPY --from=` it is dropped too).
    pub stage_names: BTreeMap<String, Option<String>>,
    /// The `stage` nodes found.
    pub stages: Vec<super::buildstages::StageDraft>,
    /// `ARG`s before the first `FROM` (with the workflow's values): an `ARG NAME` after it
    /// brings one into the stage.
    pub pre_args: Vars,
    /// Kernels: the commands recorded (first walk) or claimed (second walk).
    pub kernels: super::kernelmap::State,
    /// Directories earlier instructions made (`mkdir`, `WORKDIR`, a copied directory, a copy
    /// into a directory): a `COPY` to one of them copies into it, as BuildKit does.
    pub dirs: BTreeSet<String>,
}

impl<'a> Walker<'a> {
    pub fn origin(&self, first: usize, last: usize) -> Origin {
        Origin::new(&self.src.path, first, last)
    }

    pub fn mark(&mut self, first: usize, last: usize, s: Status) {
        for l in first..=last {
            if let Some(x) = self.status.get_mut(l.wrapping_sub(1))
                && (s == Status::Escaped || *x != Status::Escaped)
            {
                *x = s;
            }
        }
    }

    /// Records that `dir` (an absolute path, or one under a stacks variable) and the
    /// directories above it exist now.
    pub fn made_dir(&mut self, dir: &str) {
        let mut d = dir.trim_end_matches('/');
        while !d.is_empty() && !self.dirs.contains(d) {
            self.dirs.insert(d.to_string());
            match d.rsplit_once('/') {
                Some((up, _)) => d = up,
                None => break,
            }
        }
    }

    /// Records the directories a `RUN`'s `mkdir`s make, whatever becomes of the `RUN`.
    pub fn made_by_mkdir(&mut self, units: &[super::shell::Unit]) {
        for u in units {
            if let Some(super::fscmd::Cmd::Mkdir { dirs, .. }) = super::fscmd::parse(u, &self.vars)
            {
                for d in dirs {
                    let d = if d.starts_with('/') || d.starts_with("${") {
                        d
                    } else if let Some(c) = &self.cwd {
                        format!("{}/{d}", c.trim_end_matches('/'))
                    } else {
                        continue;
                    };
                    self.made_dir(&d);
                }
            }
        }
    }

    /// An archive unpacked into a directory makes it (what it holds is not known).
    pub fn made_by_download(&mut self, e: &Entry) {
        if let Entry::Download {
            kind: "tar",
            to: Some(to),
            ..
        } = e
        {
            self.made_dir(to);
        }
    }

    /// Whether an earlier instruction made `path` a directory.
    pub fn is_made_dir(&self, path: &str) -> bool {
        self.dirs.contains(path.trim_end_matches('/'))
    }

    pub fn warn(&mut self, kind: Kind, origin: Origin, message: impl Into<String>) {
        self.warnings.push(Warning {
            kind,
            origin,
            message: message.into(),
        });
    }

    /// The physical lines of an instruction, as written.
    pub fn raw_lines(&self, i: &Instr) -> Vec<String> {
        self.df.lines[i.first - 1..i.last.min(self.df.lines.len())].to_vec()
    }

    /// The whole instruction into a `dockerfile` block, at the current position.
    pub fn escape(&mut self, i: &Instr, why: &str) {
        let lines = if self.df.escape == '\\' {
            self.raw_lines(i)
        } else {
            vec![format!("{} {}", i.keyword, i.args)]
        };
        let origin = self.origin(i.first, i.last);
        self.warn(Kind::Escaped, origin.clone(), why);
        self.mark(i.first, i.last, Status::Escaped);
        self.piece(lines, origin);
    }

    pub fn piece(&mut self, lines: Vec<String>, origin: Origin) {
        self.steps.push(Step::Piece(Piece {
            user: self.user.clone(),
            at: self.at,
            cwd: self.cwd.clone(),
            lines,
            origin,
        }));
    }

    /// The whole instruction into a comment of the manifest.
    pub fn drop_instr(&mut self, i: &Instr, why: &str) {
        let origin = self.origin(i.first, i.last);
        self.warn(Kind::Dropped, origin.clone(), why);
        self.mark(i.first, i.last, Status::Dropped);
        let lines = self.raw_lines(i);
        self.steps.push(Step::Drop(origin, lines));
    }

    pub fn mapped(&mut self, i: &Instr, items: Vec<Item>) {
        self.mark(i.first, i.last, Status::Mapped);
        if !items.is_empty() {
            self.steps.push(Step::Items(items));
        }
    }

    /// Moves the position of later blocks past a jcx step of stage `stage`.
    pub fn advance(&mut self, stage: usize) {
        self.at = self.at.max(stage);
    }
}

/// Walks one Dockerfile (more than once when it makes kernels: see `kernelmap`).
pub fn walk(src: &AppSource<'_>) -> AppResult {
    super::kernelmap::walk(src, walk_once)
}

fn walk_once(
    src: &AppSource<'_>,
    kernels: super::kernelmap::State,
) -> (AppResult, super::kernelmap::State) {
    let df = super::dockerfile::read(&src.text);
    let n = df.lines.len();
    let mut w = Walker {
        src,
        df,
        vars: Vars::new(),
        user: User::Notebook,
        at: 0,
        cwd: None,
        steps: Vec::new(),
        status: vec![Status::Other; n],
        warnings: Vec::new(),
        copies: BTreeMap::new(),
        consumed: BTreeSet::new(),
        mapped_refs: BTreeSet::new(),
        mirror: None,
        apt_mirror: None,
        apt_security: false,
        counts: Vec::new(),
        workdir: None,
        stage_names: BTreeMap::new(),
        stages: Vec::new(),
        pre_args: Vars::new(),
        kernels,
        dirs: BTreeSet::new(),
    };
    let mut result = AppResult::default();
    for (key, value, line) in w.df.directives.clone() {
        let o = w.origin(line, line);
        if key != "syntax" {
            w.warn(Kind::Dropped, o, format!("the parser directive `# {key}={value}` has no place in jcx's Dockerfile, which is read with the default escape character and no `check` directive"));
        }
    }
    let instrs = w.df.instructions.clone();
    let Some(stage) = super::stages::final_stage(&mut w, &instrs, &mut result) else {
        result.warnings = w.warnings;
        return (result, w.kernels);
    };
    for i in stage {
        super::kernelmap::instruction(&mut w, &instrs[i]);
        instruction(&mut w, &instrs[i]);
    }
    super::smallmap::settle(&mut w);
    super::resolve::finish(&mut w, &mut result);
    (result, w.kernels)
}

fn instruction(w: &mut Walker<'_>, i: &Instr) {
    if i.unterminated {
        let why = if i.heredocs.is_empty() {
            "the instruction's last line ends with a continuation"
        } else {
            "a heredoc is never closed"
        };
        return w.drop_instr(i, why);
    }
    match i.keyword.as_str() {
        "RUN" => super::run::run(w, i),
        "COPY" | "ADD" => super::files::copy(w, i),
        "ENV" | "ARG" => super::resolve::var(w, i),
        "LABEL" => super::resolve::label(w, i),
        "USER" => user(w, i),
        "WORKDIR" => workdir(w, i),
        "SHELL" => {
            let jcx = shell::split(&i.args).is_empty()
                || i.args.replace(' ', "") == r#"["/bin/bash","-o","pipefail","-c"]"#
                || i.args.replace(' ', "") == r#"["/bin/bash","-c"]"#;
            if jcx {
                w.mapped(i, Vec::new());
            } else {
                w.escape(i, "jcx's Dockerfile uses `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]`; this SHELL also applies to jcx's steps after the block");
            }
        }
        "MAINTAINER" => super::resolve::maintainer(w, i),
        "CMD" | "ENTRYPOINT" | "EXPOSE" if super::smallmap::instruction(w, i) => {}
        "CMD" | "ENTRYPOINT" | "EXPOSE" | "VOLUME" | "HEALTHCHECK" | "STOPSIGNAL" | "ONBUILD" => {
            let k = i.keyword.clone();
            w.escape(i, &format!("jcx has no setting for `{k}`"));
        }
        "FROM" => w.drop_instr(i, "a second `FROM` in the final stage"),
        other => {
            let other = other.to_string();
            w.drop_instr(i, &format!("`{other}` is not a Dockerfile instruction"));
        }
    }
}

/// The user a `USER` instruction switches to.
pub fn user_of(arg: &str) -> User {
    let name = arg.split(':').next().unwrap_or(arg).trim();
    match name {
        "root" | "0" => User::Root,
        "${NB_UID}" | "$NB_UID" | "${NB_USER}" | "$NB_USER" | "jovyan" | "1000" => User::Notebook,
        _ => User::Other(name.to_string()),
    }
}

fn user(w: &mut Walker<'_>, i: &Instr) {
    w.user = user_of(&i.args);
    w.mapped(i, Vec::new());
}

/// `$NAME` as `${NAME}` (not `$NAMEX`).
fn replace_bare(text: &str, name: &str) -> String {
    let bare = format!("${name}");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&bare) {
        let after = &rest[at + bare.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&bare);
        } else {
            out.push_str(&format!("${{{name}}}"));
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn workdir(w: &mut Walker<'_>, i: &Instr) {
    let mut dir = i.args.trim().trim_matches('"').to_string();
    // `WORKDIR $WORKDIR` of an `ARG WORKDIR=/mnt`: the build argument's value.
    if shell::references(&dir)
        .iter()
        .any(|r| !matches!(r.as_str(), "HOME" | "NB_USER" | "CONDA_DIR"))
        && let Some(v) = shell::unquote(i.args.trim(), &w.vars).filter(|v| !v.contains('$'))
    {
        dir = v;
    }
    // The stacks' variables as jcx's `workdir` takes them (`$HOME` as `${HOME}`).
    for v in ["HOME", "NB_USER", "CONDA_DIR"] {
        dir = replace_bare(&dir, v);
    }
    let dir = if dir.starts_with('/') || dir.starts_with('$') {
        dir
    } else {
        match &w.cwd {
            Some(c) => format!("{}/{dir}", c.trim_end_matches('/')),
            None => format!("/home/${{NB_USER}}/{dir}"),
        }
    };
    let home = [
        "${HOME}",
        "$HOME",
        "/home/${NB_USER}",
        "/home/$NB_USER",
        "/home/jovyan",
    ];
    w.cwd = (!home.contains(&dir.trim_end_matches('/'))).then(|| dir.clone());
    w.made_dir(&dir);
    let o = w.origin(i.first, i.last);
    w.workdir = Some((dir, o));
    w.mapped(i, Vec::new());
}
