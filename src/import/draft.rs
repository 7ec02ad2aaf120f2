//! What `jcx import` builds before it writes KDL: for each app, the settings it found, each
//! with the place of the hand-made file it came from; and the warnings.

use std::fmt;

/// Where something came from: a file of the repository and its lines (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    pub first: usize,
    pub last: usize,
}

impl Origin {
    pub fn new(file: &str, first: usize, last: usize) -> Self {
        Origin {
            file: file.to_string(),
            first,
            last: last.max(first),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == 0 {
            write!(f, "{}", self.file)
        } else if self.first == self.last {
            write!(f, "{}:{}", self.file, self.first)
        } else {
            write!(f, "{}:{}-{}", self.file, self.first, self.last)
        }
    }
}

/// A pip requirement: its distribution name (normalized) and the requirement as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pip {
    pub name: String,
    pub text: String,
    /// `Some(version)` for `torch==2.2.1` of the torch family: written `torch "2.2.1"`.
    pub pin: Option<String>,
}

/// One setting (or one item of a list setting) found in the hand-made files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Description(String),
    Base(String),
    /// `base app=NAME`: built FROM the image of another imported app.
    BaseApp(String),
    ImageName(String),
    ImageSuffix(String),
    Cuda(String),
    Apt(String),
    AptRecommends(bool),
    Mamba(String),
    /// `mamba environment="FILE"`.
    MambaEnv(String),
    /// `mamba lock="FILE"`: an explicit conda lock file of the repository.
    MambaLock(String),
    CodeServer(String),
    Extension(String),
    Pip(Pip),
    /// `pip package="DIR" [extras="a,b"]`: a package directory of the repository.
    PipPackage {
        dir: String,
        extras: Option<String>,
    },
    PipPre(bool),
    Env(String, String),
    Label(String, String),
    BuildArg(String, String),
    Workdir(String),
    Branches(Vec<String>),
    RunsOn(Vec<String>),
    Platforms(Vec<String>),
    File {
        src: String,
        to: String,
        root: bool,
        mode: Option<String>,
        /// `append=#true`: added to the end of the image's file (`cat SRC >> TO`).
        append: bool,
    },
    /// `copy-from STAGE "/PATH" to=…`.
    CopyFrom {
        stage: String,
        src: String,
        to: String,
        root: bool,
        mode: Option<String>,
    },
    /// `kernel NAME display-name=… { … }`.
    Kernel(super::kernelmap::KernelNode),
    /// `remove-kernel NAME`.
    RemoveKernel(String),
    /// `kernel-install MODULE`.
    KernelInstall(String),
    /// One command's part of the app's `jupyter { … }` node.
    Jupyter(super::jupytermap::Jup),
    /// `file to= content=` (`append=#true`): a file written inline.
    Inline {
        to: String,
        content: String,
        root: bool,
        mode: Option<String>,
        append: bool,
    },
    Remove(String),
    Dir {
        path: String,
        root: bool,
        mode: Option<String>,
    },
    /// `permissions PATH… [owner=] [mode=] [recursive=#true]`; `root` is `None` when the owner
    /// stays.
    Permissions {
        paths: Vec<String>,
        root: Option<bool>,
        mode: Option<String>,
        recursive: bool,
    },
    Symlink {
        link: String,
        target: String,
    },
    Download {
        name: String,
        url: String,
        /// `None`: no checksum in the original (`unverified=#true`).
        sha256: Option<String>,
        kind: &'static str,
        to: Option<String>,
        mode: Option<String>,
        strip: Option<u32>,
    },
    Hook {
        stage: String,
        name: String,
        file: Option<String>,
        script: Option<String>,
    },
    Dockerfile {
        root: bool,
        at: &'static str,
        lines: Vec<String>,
    },
    /// Lines that cannot be written into the manifest at all, kept as a comment.
    Comment(Vec<String>),
    FreeDiskSpace(bool),
    Timeout(u32),
    /// `conda-config`, `pip-remove`, `cmd`, `entrypoint`, `expose`, `timezone`, `locale`.
    Small(super::smallmap::Small),
}

/// The order settings are written in (the order of `jcx explain`), and whether each is one
/// value (`true`) or a list.
pub const ORDER: &[(&str, bool)] = &[
    ("description", true),
    ("base", true),
    ("image-name", true),
    ("image-suffix", true),
    ("cuda", true),
    ("apt", false),
    ("apt-recommends", true),
    ("timezone", true),
    ("locale", true),
    ("mamba", false),
    ("conda-config", false),
    ("code-server", true),
    ("extensions", false),
    ("pip", false),
    ("pip-pre", true),
    ("pip-remove", false),
    ("kernel", false),
    ("remove-kernel", false),
    ("kernel-install", false),
    ("env", false),
    ("labels", false),
    ("build-args", false),
    ("workdir", true),
    ("cmd", true),
    ("entrypoint", true),
    ("expose", false),
    ("branches", true),
    ("runs-on", true),
    ("platforms", true),
    ("file", false),
    ("remove", false),
    ("dir", false),
    ("permissions", false),
    ("symlink", false),
    ("copy-from", false),
    ("download", false),
    ("jupyter", false),
    ("hook", false),
    ("dockerfile", false),
    ("free-disk-space", true),
    ("timeout-minutes", true),
    ("comment", false),
];

impl Entry {
    pub fn setting(&self) -> &'static str {
        match self {
            Entry::Description(_) => "description",
            Entry::Base(_) | Entry::BaseApp(_) => "base",
            Entry::ImageName(_) => "image-name",
            Entry::ImageSuffix(_) => "image-suffix",
            Entry::Cuda(_) => "cuda",
            Entry::Apt(_) => "apt",
            Entry::AptRecommends(_) => "apt-recommends",
            Entry::Mamba(_) | Entry::MambaEnv(_) | Entry::MambaLock(_) => "mamba",
            Entry::CodeServer(_) => "code-server",
            Entry::Extension(_) => "extensions",
            Entry::Pip(_) | Entry::PipPackage { .. } => "pip",
            Entry::PipPre(_) => "pip-pre",
            Entry::Env(..) => "env",
            Entry::Label(..) => "labels",
            Entry::BuildArg(..) => "build-args",
            Entry::Workdir(_) => "workdir",
            Entry::Branches(_) => "branches",
            Entry::RunsOn(_) => "runs-on",
            Entry::Platforms(_) => "platforms",
            Entry::File { .. } | Entry::Inline { .. } => "file",
            Entry::Remove(_) => "remove",
            Entry::Dir { .. } => "dir",
            Entry::Permissions { .. } => "permissions",
            Entry::Symlink { .. } => "symlink",
            Entry::CopyFrom { .. } => "copy-from",
            Entry::Kernel(_) => "kernel",
            Entry::RemoveKernel(_) => "remove-kernel",
            Entry::KernelInstall(_) => "kernel-install",
            Entry::Jupyter(_) => "jupyter",
            Entry::Download { .. } => "download",
            Entry::Hook { .. } => "hook",
            Entry::Dockerfile { .. } => "dockerfile",
            Entry::Comment(_) => "comment",
            Entry::FreeDiskSpace(_) => "free-disk-space",
            Entry::Timeout(_) => "timeout-minutes",
            Entry::Small(s) => s.setting(),
        }
    }

    /// Whether the setting holds one value (a child overrides it) rather than a list.
    pub fn single(&self) -> bool {
        ORDER
            .iter()
            .find(|(n, _)| *n == self.setting())
            .is_some_and(|(_, s)| *s)
    }

    /// What an inheriting app replaces this item by: the setting for single values, the name
    /// for named items (`env`, `pip`, ...), the whole value otherwise.
    pub fn key(&self) -> String {
        let s = self.setting();
        match self {
            Entry::Pip(p) => format!("{s} {}", p.name),
            Entry::PipPackage { dir, .. } => format!("{s} package={dir}"),
            Entry::Env(k, _) | Entry::Label(k, _) | Entry::BuildArg(k, _) => format!("{s} {k}"),
            Entry::Download { name, .. } => format!("{s} {name}"),
            Entry::Kernel(k) => format!("{s} {}", k.name),
            Entry::Hook { stage, name, .. } => format!("{s} {stage} {name}"),
            Entry::Small(x) if x.name().is_some() => {
                format!("{s} {}", x.name().unwrap_or_default())
            }
            _ if self.single() => s.to_string(),
            _ => format!("{s} {self:?}"),
        }
    }

    /// Settings that say how an image is built and published rather than what is in it: they
    /// go to `defaults` when every app agrees.
    pub fn build_setting(&self) -> bool {
        matches!(
            self,
            Entry::Base(_)
                | Entry::Branches(_)
                | Entry::RunsOn(_)
                | Entry::Platforms(_)
                | Entry::FreeDiskSpace(_)
                | Entry::Timeout(_)
        )
    }

    /// Never inherited: names one app (`base app=` too: it never goes to `defaults`, where jcx
    /// refuses it, nor to an app that `extends` this one).
    pub fn app_only(&self) -> bool {
        matches!(
            self,
            Entry::Description(_) | Entry::BaseApp(_) | Entry::ImageName(_) | Entry::ImageSuffix(_)
        )
    }
}

/// An entry and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub entry: Entry,
    pub origin: Option<Origin>,
    /// Written as a comment above the node (why a block is there).
    pub note: Option<String>,
    /// What the item becomes when jcx refuses it, tried in order (a `file` instead of a
    /// `hook`, a `dockerfile` block); a comment after the last.
    pub fallback: Vec<Entry>,
    /// Other lines it stands for (a block joined from several pieces): counted with `origin`
    /// when the item is demoted.
    pub also: Vec<Origin>,
}

impl Item {
    pub fn new(entry: Entry, origin: Option<Origin>) -> Self {
        Item {
            entry,
            origin,
            note: None,
            fallback: Vec::new(),
            also: Vec::new(),
        }
    }
}

/// One app as found.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub name: String,
    pub items: Vec<Item>,
}

impl Draft {
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.items.iter().map(|i| &i.entry)
    }

    pub fn has(&self, e: &Entry) -> bool {
        self.entries().any(|x| x == e)
    }
}

/// What became of a hand-made line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Went into a `dockerfile` block.
    Escaped,
    /// Could not be written into the manifest: kept as a comment there.
    Dropped,
    /// Mapped, but the image or the workflow now behaves differently.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: Kind,
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Kind::Escaped => "into a dockerfile block",
            Kind::Dropped => "not carried over",
            Kind::Changed => "changed",
        };
        write!(f, "{}: {what}: {}", self.origin, self.message)
    }
}

/// What became of one line of a hand-made file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A comment or blank line.
    Other,
    Mapped,
    Escaped,
    Dropped,
}

/// Line counts of one hand-made file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub file: String,
    pub mapped: usize,
    pub escaped: usize,
    pub dropped: usize,
    /// Comment and blank lines.
    pub other: usize,
    /// The status of each counted line (1-based), so that a demotion after the walk (an item
    /// jcx refused) moves its lines: to *blocks* from *mapped*, to *comments* from either.
    pub lines: std::collections::BTreeMap<usize, Status>,
}

impl Counts {
    /// Moves the lines of `origin` to `to` (never back: a comment stays a comment, a block
    /// does not become mapped).
    pub fn demote(&mut self, origin: &Origin, to: Status) {
        if origin.file != self.file || origin.first == 0 {
            return;
        }
        for l in origin.first..=origin.last {
            let Some(s) = self.lines.get_mut(&l) else {
                continue;
            };
            let rank = |s: Status| match s {
                Status::Other => 0,
                Status::Mapped => 1,
                Status::Escaped => 2,
                Status::Dropped => 3,
            };
            if rank(to) <= rank(*s) || *s == Status::Other {
                continue;
            }
            match *s {
                Status::Mapped => self.mapped -= 1,
                Status::Escaped => self.escaped -= 1,
                _ => {}
            }
            match to {
                Status::Escaped => self.escaped += 1,
                Status::Dropped => self.dropped += 1,
                _ => {}
            }
            *s = to;
        }
    }
}
