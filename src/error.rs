//! Errors and diagnostics. `Problem` is one finding about a manifest (error or warning) with a
//! stable code, a span and an optional help; `Error` is what a command fails with. Nothing here
//! decides *whether* something is wrong: that is `parse` and `validate`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceSpan};
use serde::Serialize;

/// Every rule jcx enforces, with its stable code. The codes are part of the interface
/// (editors and CI match on them); `docs/manifest.md` lists each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Code {
    UnknownNode,
    UnknownProperty,
    UnexpectedArgument,
    MissingArgument,
    WrongType,
    Duplicate,
    UnexpectedChildren,
    MissingChildren,
    MissingNode,
    UnsupportedVersion,
    DuplicateApp,
    UnknownExtends,
    SelfExtends,
    ExtendsCycle,
    InvalidName,
    InvalidImage,
    InvalidRegistry,
    InvalidAptPackage,
    InvalidCondaSpec,
    InvalidCodeServerVersion,
    InvalidExtension,
    InvalidPip,
    PipOption,
    ConflictingPin,
    Injection,
    ControlCharacter,
    ShellMetacharacter,
    InvalidCuda,
    TorchNotOnIndex,
    TorchVersionMismatch,
    TorchPythonMismatch,
    TorchUnknownVersion,
    TorchUnpinned,
    TorchWithoutCuda,
    InvalidPython,
    InvalidEnvName,
    InvalidBranch,
    InvalidRunner,
    InvalidPlatform,
    InvalidDockerfile,
    InvalidSecretName,
    InvalidUrl,
    InvalidActionRef,
    ImageNameCollision,
    DuplicatePackage,
    InvalidNumber,
    NoApps,
}

impl Code {
    /// The stable code, as printed: `jcx::unknown_node`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownNode => "jcx::unknown_node",
            Code::UnknownProperty => "jcx::unknown_property",
            Code::UnexpectedArgument => "jcx::unexpected_argument",
            Code::MissingArgument => "jcx::missing_argument",
            Code::WrongType => "jcx::wrong_type",
            Code::Duplicate => "jcx::duplicate",
            Code::UnexpectedChildren => "jcx::unexpected_children",
            Code::MissingChildren => "jcx::missing_children",
            Code::MissingNode => "jcx::missing_node",
            Code::UnsupportedVersion => "jcx::unsupported_version",
            Code::DuplicateApp => "jcx::duplicate_app",
            Code::UnknownExtends => "jcx::unknown_extends",
            Code::SelfExtends => "jcx::self_extends",
            Code::ExtendsCycle => "jcx::extends_cycle",
            Code::InvalidName => "jcx::invalid_name",
            Code::InvalidImage => "jcx::invalid_image",
            Code::InvalidRegistry => "jcx::invalid_registry",
            Code::InvalidAptPackage => "jcx::invalid_apt_package",
            Code::InvalidCondaSpec => "jcx::invalid_conda_spec",
            Code::InvalidCodeServerVersion => "jcx::invalid_code_server_version",
            Code::InvalidExtension => "jcx::invalid_extension",
            Code::InvalidPip => "jcx::invalid_pip",
            Code::PipOption => "jcx::pip_option",
            Code::ConflictingPin => "jcx::conflicting_pin",
            Code::Injection => "jcx::injection",
            Code::ControlCharacter => "jcx::control_character",
            Code::ShellMetacharacter => "jcx::shell_metacharacter",
            Code::InvalidCuda => "jcx::invalid_cuda",
            Code::TorchNotOnIndex => "jcx::torch_not_on_index",
            Code::TorchVersionMismatch => "jcx::torch_version_mismatch",
            Code::TorchPythonMismatch => "jcx::torch_python_mismatch",
            Code::TorchUnknownVersion => "jcx::torch_unknown_version",
            Code::TorchUnpinned => "jcx::torch_unpinned",
            Code::TorchWithoutCuda => "jcx::torch_without_cuda",
            Code::InvalidPython => "jcx::invalid_python",
            Code::InvalidEnvName => "jcx::invalid_env_name",
            Code::InvalidBranch => "jcx::invalid_branch",
            Code::InvalidRunner => "jcx::invalid_runner",
            Code::InvalidPlatform => "jcx::invalid_platform",
            Code::InvalidDockerfile => "jcx::invalid_dockerfile",
            Code::InvalidSecretName => "jcx::invalid_secret_name",
            Code::InvalidUrl => "jcx::invalid_url",
            Code::InvalidActionRef => "jcx::invalid_action_ref",
            Code::ImageNameCollision => "jcx::image_name_collision",
            Code::DuplicatePackage => "jcx::duplicate_package",
            Code::InvalidNumber => "jcx::invalid_number",
            Code::NoApps => "jcx::no_apps",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about the manifest: what is wrong, where, and how to fix it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: SourceSpan,
    pub label: String,
    pub help: Option<String>,
    /// Further places that explain this one (the first definition of a duplicate, a cycle's links).
    pub related: Vec<(SourceSpan, String)>,
}

impl Problem {
    pub fn error(code: Code, span: SourceSpan, message: impl Into<String>) -> Self {
        Problem {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: "here".into(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: Code, span: SourceSpan, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, span, message)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn also(mut self, span: SourceSpan, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A problem together with the manifest it points into, ready for miette to render.
#[derive(Debug)]
pub struct SourcedProblem {
    pub problem: Problem,
    pub source: Arc<NamedSource<String>>,
}

impl fmt::Display for SourcedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for SourcedProblem {}

impl Diagnostic for SourcedProblem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.problem.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.problem.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&*self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            Some(self.problem.label.clone()),
            self.problem.span,
        );
        let others = self
            .problem
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}

/// The manifest had errors (and perhaps warnings): all of them, sorted by position.
#[derive(Debug)]
pub struct InvalidManifest {
    pub path: String,
    pub problems: Vec<SourcedProblem>,
}

impl fmt::Display for InvalidManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.problems.iter().filter(|p| p.problem.is_error()).count();
        let warnings = self.problems.len() - errors;
        write!(
            f,
            "`{}` is not a valid manifest: {} error{}",
            self.path,
            errors,
            if errors == 1 { "" } else { "s" }
        )?;
        if warnings > 0 {
            write!(
                f,
                ", {} warning{}",
                warnings,
                if warnings == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidManifest {}

impl Diagnostic for InvalidManifest {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("jcx::invalid_manifest"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "nothing was written; fix the manifest and run the command again",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Everything a jcx command can fail with. Exit code 2 for all of them (drift is not an error).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error("cannot read manifest `{}`: {source}", path.display())]
    #[diagnostic(
        code(jcx::read),
        help("pass the path of an `apps.kdl` manifest, or run `jcx init` to create one")
    )]
    ReadManifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` is a directory, not a manifest file", path.display())]
    #[diagnostic(
        code(jcx::read),
        help("pass the manifest file itself, for example `{}/apps.kdl`", path.display())
    )]
    ManifestIsDirectory { path: PathBuf },

    #[error("`{}` is not a text manifest: {reason}", path.display())]
    #[diagnostic(code(jcx::not_text), help("a manifest is a UTF-8 KDL document"))]
    NotText { path: PathBuf, reason: String },

    #[error("`{}` is too large to be a manifest ({size} bytes; the limit is {limit} bytes)", path.display())]
    #[diagnostic(code(jcx::too_large))]
    TooLarge { path: PathBuf, size: u64, limit: u64 },

    #[error("`{path}` is not a valid KDL document")]
    #[diagnostic(
        code(jcx::kdl_syntax),
        help("the manifest is KDL 2 (https://kdl.dev); strings with spaces need quotes")
    )]
    Syntax {
        path: String,
        #[source_code]
        source_code: NamedSource<String>,
        #[related]
        related: Vec<kdl::KdlDiagnostic>,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] InvalidManifest),

    #[error("{message}")]
    #[diagnostic(code(jcx::io))]
    Io {
        message: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{message}")]
    #[diagnostic(code(jcx::unsafe_path))]
    UnsafePath {
        message: String,
        #[help]
        help: String,
    },

    #[error("{message}")]
    #[diagnostic(code(jcx::usage))]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("internal error while rendering `{file}`: {message}")]
    #[diagnostic(
        code(jcx::internal),
        help("this is a bug in jcx; please report it with the manifest that triggers it")
    )]
    Render { file: String, message: String },
}

impl Error {
    pub fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            message: message.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
