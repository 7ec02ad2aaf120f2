//! Errors and diagnostics. `Problem` is one finding about a manifest (error or warning) with a
//! stable code, a span and an optional help; `Error` is what a command fails with. Nothing here
//! decides *whether* something is wrong: that is `parse` and `validate`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceSpan};
use serde::Serialize;

/// Declares the `Code` enum, its stable strings and the list of all codes from one table, so
/// the three cannot drift apart.
macro_rules! codes {
    ($($variant:ident => $code:literal,)*) => {
        /// Every rule jcx enforces, with its stable code. The codes are part of the interface
        /// (editors and CI match on them); `docs/rules.md` lists each one (a test checks it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The stable code, as printed: `jcx::unknown_node`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }
        }
    };
}

codes! {
    UnknownNode => "jcx::unknown_node",
    UnknownProperty => "jcx::unknown_property",
    UnexpectedArgument => "jcx::unexpected_argument",
    MissingArgument => "jcx::missing_argument",
    WrongType => "jcx::wrong_type",
    Duplicate => "jcx::duplicate",
    UnexpectedChildren => "jcx::unexpected_children",
    MissingChildren => "jcx::missing_children",
    MissingNode => "jcx::missing_node",
    UnsupportedVersion => "jcx::unsupported_version",
    DuplicateApp => "jcx::duplicate_app",
    UnknownExtends => "jcx::unknown_extends",
    SelfExtends => "jcx::self_extends",
    ExtendsCycle => "jcx::extends_cycle",
    InvalidName => "jcx::invalid_name",
    InvalidImage => "jcx::invalid_image",
    InvalidRegistry => "jcx::invalid_registry",
    InvalidAptPackage => "jcx::invalid_apt_package",
    InvalidCondaSpec => "jcx::invalid_conda_spec",
    InvalidCodeServerVersion => "jcx::invalid_code_server_version",
    InvalidExtension => "jcx::invalid_extension",
    InvalidPip => "jcx::invalid_pip",
    PipOption => "jcx::pip_option",
    ConflictingPin => "jcx::conflicting_pin",
    Injection => "jcx::injection",
    ControlCharacter => "jcx::control_character",
    ShellMetacharacter => "jcx::shell_metacharacter",
    InvalidCuda => "jcx::invalid_cuda",
    TorchNotOnIndex => "jcx::torch_not_on_index",
    TorchVersionMismatch => "jcx::torch_version_mismatch",
    TorchPythonMismatch => "jcx::torch_python_mismatch",
    TorchUnknownVersion => "jcx::torch_unknown_version",
    TorchUnpinned => "jcx::torch_unpinned",
    TorchWithoutCuda => "jcx::torch_without_cuda",
    InvalidPython => "jcx::invalid_python",
    InvalidEnvName => "jcx::invalid_env_name",
    InvalidBranch => "jcx::invalid_branch",
    InvalidRunner => "jcx::invalid_runner",
    InvalidPlatform => "jcx::invalid_platform",
    InvalidDockerfile => "jcx::invalid_dockerfile",
    InvalidSecretName => "jcx::invalid_secret_name",
    InvalidUrl => "jcx::invalid_url",
    InvalidActionRef => "jcx::invalid_action_ref",
    ImageNameCollision => "jcx::image_name_collision",
    DuplicatePackage => "jcx::duplicate_package",
    InvalidNumber => "jcx::invalid_number",
    TooLong => "jcx::too_long",
    NoApps => "jcx::no_apps",
    KdlSyntax => "jcx::kdl_syntax",
    ImplicitRegistry => "jcx::implicit_registry",
    ReservedEnv => "jcx::reserved_env",
    MutableActionRef => "jcx::mutable_action_ref",
    ToolDirective => "jcx::tool_directive",
    InvalidFile => "jcx::invalid_file",
    MissingFile => "jcx::missing_file",
    FileCollision => "jcx::file_collision",
    ProtectedPath => "jcx::protected_path",
    InvalidLabel => "jcx::invalid_label",
    InvalidDownload => "jcx::invalid_download",
    InvalidChecksum => "jcx::invalid_checksum",
    UncheckedDownload => "jcx::unchecked_download",
    InvalidJupyter => "jcx::invalid_jupyter",
    InvalidHook => "jcx::invalid_hook",
    InvalidAptRepository => "jcx::invalid_apt_repository",
    InvalidFingerprint => "jcx::invalid_fingerprint",
    InvalidKernel => "jcx::invalid_kernel",
    TooDeep => "jcx::too_deep",
    InvalidPattern => "jcx::invalid_pattern",
    InvalidCron => "jcx::invalid_cron",
    InvalidImageTag => "jcx::invalid_image_tag",
    UntaggedTrigger => "jcx::untagged_trigger",
    UnusedImageTag => "jcx::unused_image_tag",
    InvalidChoice => "jcx::invalid_choice",
    InvalidHub => "jcx::invalid_hub",
    InvalidPackageFile => "jcx::invalid_package_file",
    IncompleteLock => "jcx::incomplete_lock",
    TorchInFile => "jcx::torch_in_file",
    InvalidChannel => "jcx::invalid_channel",
    InvalidStage => "jcx::invalid_stage",
    UnknownStage => "jcx::unknown_stage",
    StageCycle => "jcx::stage_cycle",
    UnusedStage => "jcx::unused_stage",
    InvalidVariants => "jcx::invalid_variants",
    UnknownPlaceholder => "jcx::unknown_placeholder",
    VariantCollision => "jcx::variant_collision",
    UnknownBaseApp => "jcx::unknown_base_app",
    BaseAppCycle => "jcx::base_app_cycle",
    BaseAppInDefaults => "jcx::base_app_in_defaults",
    ParentMismatch => "jcx::parent_mismatch",
    InvalidCondaConfig => "jcx::invalid_conda_config",
    InvalidPipRemove => "jcx::invalid_pip_remove",
    InvalidKernelInstall => "jcx::invalid_kernel_install",
    InvalidCommand => "jcx::invalid_command",
    InvalidPort => "jcx::invalid_port",
    EntrypointOverride => "jcx::entrypoint_override",
    InvalidTimezone => "jcx::invalid_timezone",
    InvalidLocale => "jcx::invalid_locale",
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
    /// The repository file (a requirements file, an `environment.yml`) that `span` and
    /// `related` point into; `None` for the manifest.
    pub file: Option<Arc<NamedSource<String>>>,
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
            file: None,
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

    /// Points the problem into a repository file instead of the manifest.
    pub fn in_file(mut self, file: &Arc<NamedSource<String>>) -> Self {
        self.file = Some(Arc::clone(file));
        self
    }

    /// The name of the file the problem points into (`None`: the manifest).
    pub fn file_name(&self) -> Option<&str> {
        self.file.as_ref().map(|f| f.name())
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
        let primary =
            LabeledSpan::new_primary_with_span(Some(self.problem.label.clone()), self.problem.span);
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
        let errors = self
            .problems
            .iter()
            .filter(|p| p.problem.is_error())
            .count();
        let warnings = self.problems.len() - errors;
        if errors == 0 {
            // Only reachable through `--deny-warnings`.
            return write!(
                f,
                "`{}` has {} warning{}, and warnings are denied",
                self.path,
                warnings,
                if warnings == 1 { "" } else { "s" }
            );
        }
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

/// A diagnostic as jcx shows it, whatever made it: every text (message, labels, help, the
/// cause chain, the file name and the source snippet) with the characters a terminal, a log
/// viewer or a reader would take for something else shown as escapes (`\u{1b}`). Every output
/// format is made from this copy, so no message can forget to escape the manifest's text.
#[derive(Debug)]
pub struct Shown {
    pub code: Option<String>,
    pub severity: Option<Severity>,
    pub message: String,
    pub help: Option<String>,
    url: Option<String>,
    pub labels: Vec<ShownLabel>,
    pub source: Option<Arc<ShownSource>>,
    pub related: Vec<Shown>,
    diagnostic_source: Option<Box<Shown>>,
    cause: Option<Box<Cause>>,
}

/// One label: its text and its span in the original manifest (and in the shown copy).
#[derive(Debug)]
pub struct ShownLabel {
    pub label: Option<String>,
    pub span: SourceSpan,
    pub primary: bool,
    shown: SourceSpan,
}

/// The manifest a diagnostic points into: the original text (for line and column) and the copy
/// the snippets are cut from.
#[derive(Debug)]
pub struct ShownSource {
    pub name: String,
    pub text: String,
    display: NamedSource<String>,
    shifts: Vec<(usize, usize)>,
}

impl ShownSource {
    fn new(name: &str, text: String) -> Self {
        let name = crate::syntax::chars::escape_text(name);
        let (display, shifts) = match crate::syntax::chars::escape_source(&text) {
            Some((display, shifts)) => (display, shifts),
            None => (text.clone(), Vec::new()),
        };
        ShownSource {
            display: NamedSource::new(name.clone(), display),
            name,
            text,
            shifts,
        }
    }

    fn shift(&self, span: SourceSpan) -> SourceSpan {
        let shift = |o| crate::syntax::chars::shift_offset(&self.shifts, o);
        let start = shift(span.offset());
        let end = shift(span.offset() + span.len());
        (start, end - start).into()
    }

    /// 1-based line and column of a byte offset of the original text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        crate::source::line_col(&self.text, offset)
    }
}

/// A link of the cause chain (`std::error::Error::source`), escaped.
#[derive(Debug)]
struct Cause {
    message: String,
    next: Option<Box<Cause>>,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next.as_deref().map(|c| c as &dyn std::error::Error)
    }
}

/// Sources already copied, by the address of their `SourceCode` (alive for the whole copy).
type SourceCache = Vec<(usize, Arc<ShownSource>)>;

impl Shown {
    pub fn of(d: &dyn Diagnostic) -> Shown {
        Shown::build(d, None, &mut Vec::new())
    }

    fn build(
        d: &dyn Diagnostic,
        parent: Option<&Arc<ShownSource>>,
        cache: &mut SourceCache,
    ) -> Shown {
        use crate::syntax::chars::escape_text;
        let source = match d.source_code() {
            Some(code) => shown_source(code, cache),
            None => parent.cloned(),
        };
        let labels = d
            .labels()
            .into_iter()
            .flatten()
            .map(|l| ShownLabel {
                label: l.label().map(escape_text),
                span: *l.inner(),
                primary: l.primary(),
                shown: source.as_ref().map_or(*l.inner(), |s| s.shift(*l.inner())),
            })
            .collect();
        let related = d
            .related()
            .into_iter()
            .flatten()
            .map(|r| Shown::build(r, source.as_ref(), cache))
            .collect();
        let mut cause = None;
        let mut chain: Vec<String> = Vec::new();
        let mut next = d.source();
        while let Some(e) = next {
            chain.push(escape_text(&e.to_string()));
            next = e.source();
        }
        for message in chain.into_iter().rev() {
            cause = Some(Box::new(Cause {
                message,
                next: cause,
            }));
        }
        Shown {
            code: d.code().map(|c| escape_text(&c.to_string())),
            severity: d.severity(),
            message: escape_text(&d.to_string()),
            help: d.help().map(|h| escape_text(&h.to_string())),
            url: d.url().map(|u| escape_text(&u.to_string())),
            labels,
            diagnostic_source: d
                .diagnostic_source()
                .map(|s| Box::new(Shown::build(s, source.as_ref(), cache))),
            source,
            related,
            cause,
        }
    }

    /// The primary label (or the first), with the source it points into.
    pub fn primary(&self) -> Option<(&ShownLabel, &Arc<ShownSource>)> {
        let label = self
            .labels
            .iter()
            .find(|l| l.primary)
            .or_else(|| self.labels.first())?;
        Some((label, self.source.as_ref()?))
    }
}

fn shown_source(
    code: &dyn miette::SourceCode,
    cache: &mut SourceCache,
) -> Option<Arc<ShownSource>> {
    // The problems of a manifest share one source: it is read (and escaped) once.
    let key = (code as *const dyn miette::SourceCode).cast::<()>() as usize;
    if let Some((_, s)) = cache.iter().find(|(k, _)| *k == key) {
        return Some(Arc::clone(s));
    }
    let all = code
        .read_span(&SourceSpan::from((0, 0)), 0, usize::MAX)
        .ok()?;
    let text = String::from_utf8_lossy(all.data()).into_owned();
    let name = all.name().unwrap_or_default().to_string();
    let shown = Arc::new(ShownSource::new(&name, text));
    cache.push((key, Arc::clone(&shown)));
    Some(shown)
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &dyn std::error::Error)
    }
}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<Severity> {
        self.severity
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.url
            .as_ref()
            .map(|u| Box::new(u) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|s| &s.display as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|l| {
            if l.primary {
                LabeledSpan::new_primary_with_span(l.label.clone(), l.shown)
            } else {
                LabeledSpan::new_with_span(l.label.clone(), l.shown)
            }
        })))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.diagnostic_source
            .as_deref()
            .map(|d| d as &dyn Diagnostic)
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

    #[error("no `apps.kdl` found: jcx looked in {searched}")]
    #[diagnostic(
        code(jcx::read),
        help(
            "run the command inside the images repository, pass the manifest's path (`jcx check path/to/apps.kdl`), or create one with `jcx init`"
        )
    )]
    NoManifest { searched: String },

    #[error("`{}` is a directory, not a manifest file", path.display())]
    #[diagnostic(
        code(jcx::read),
        help("pass the manifest file itself, for example `{}/apps.kdl`", path.display())
    )]
    ManifestIsDirectory { path: PathBuf },

    #[error("`{}` is not a text manifest: {reason}", path.display())]
    #[diagnostic(code(jcx::not_text), help("a manifest is a UTF-8 KDL document"))]
    NotText {
        path: PathBuf,
        reason: String,
        /// 1-based line and column of the offending byte.
        at: Option<(usize, usize)>,
    },

    #[error("`{}` is too large to be a manifest ({size} bytes; the limit is {limit} bytes)", path.display())]
    #[diagnostic(code(jcx::too_large))]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error("`{path}` is not a valid KDL document")]
    #[diagnostic(
        code(jcx::kdl_syntax),
        help(
            "the manifest is KDL 2 (https://kdl.dev): strings with spaces or `/` need quotes, booleans are `#true` and `#false`"
        )
    )]
    Syntax {
        path: String,
        #[source_code]
        source_code: Arc<NamedSource<String>>,
        /// Every syntax error, sorted, each pointing into the named manifest. Built by
        /// `syntax::parse_document`.
        #[related]
        problems: Vec<SourcedProblem>,
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

    /// `compile` would replace files that jcx did not write (no header): the first compile of a
    /// hand-made repository. Every such file is listed at once.
    #[error("refusing to overwrite {} that jcx did not generate (written by hand, no jcx header): {}", plural(paths.len(), "file"), paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code(jcx::not_generated),
        help(
            "nothing was written. To adopt a hand-made repository: `jcx import` writes an apps.kdl from its files (skip it if apps.kdl already says what you want), then `jcx compile --force` replaces them with what the manifest generates (review the result with `git diff`); or move them out of the way"
        )
    )]
    NotGenerated {
        /// As the user would type them (relative to the current directory).
        paths: Vec<String>,
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

    #[error("{message}")]
    #[diagnostic(code(jcx::build))]
    Build {
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

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let rules = include_str!("../docs/rules.md");
        let missing: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !rules.contains(&format!("`{c}`")))
            .collect();
        assert!(missing.is_empty(), "docs/rules.md lacks {missing:?}");
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.starts_with("jcx::")
                    && s[5..].bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
        }
    }
}
