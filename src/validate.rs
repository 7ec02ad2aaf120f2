//! Raw -> model: every rule about values, inheritance (`defaults`, `extends`) and PyTorch
//! compatibility. Every problem is collected (none is fatal alone); the model is built only when
//! there is no error, so renderers never see an unchecked value.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use miette::SourceSpan;
use pep508_rs::{Requirement, VersionOrUrl};

use crate::error::{Code, Problem};
use crate::image::{is_path_component, is_registry_host, parse_image_ref};
use crate::model::{
    ActionRef, Actions, App, CheckWorkflow, CodeServer, DockerfileBlock, Manifest, Mirrors,
    Registry, Torch, TorchIndex,
};
use crate::parse::{RawApp, RawManifest, RawPip, RawSettings, Sp, did_you_mean, suggest_app};
use crate::torch::{Ver, table};

pub const MANIFEST_VERSION: i128 = 1;
pub const MAX_NAME_LEN: usize = 63;
pub const TORCH_FAMILY: &[&str] = &["torch", "torchvision", "torchaudio"];
pub const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];
pub const DEFAULT_BRANCHES: &[&str] = &["main"];
pub const DEFAULT_RUNNER: &str = "ubuntu-latest";
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 120;
pub const DEFAULT_USERNAME_SECRET: &str = "REGISTRY_USERNAME";
pub const DEFAULT_PASSWORD_SECRET: &str = "REGISTRY_PASSWORD";

/// Default action references: full commit SHAs of the named releases (see
/// `docs/generated-files.md` for the evidence and the policy). The manifest's `actions` block
/// overrides each one.
pub const DEFAULT_ACTIONS: &[(&str, &str, &str)] = &[
    (
        "checkout",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
    ),
    (
        "setup-qemu",
        "docker/setup-qemu-action@99012661954931238ded8c8b007157a8430204e1",
        "v4.4.0",
    ),
    (
        "setup-buildx",
        "docker/setup-buildx-action@f87e5991a6d7451dcb8d9637bfbc97413f497069",
        "v4.4.1",
    ),
    (
        "login",
        "docker/login-action@dbcb813823bdd20940b903addbd779551569679f",
        "v4.6.0",
    ),
    (
        "metadata",
        "docker/metadata-action@dc802804100637a589fabce1cb79ff13a1411302",
        "v6.2.0",
    ),
    (
        "build-push",
        "docker/build-push-action@c3c9e263c25d99ce0380d002d59b67737d91b0dc",
        "v7.4.0",
    ),
    (
        "cache",
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
    ),
];

/// The settings of one app after `defaults` and `extends`, still spanned (for `explain`).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: Sp<String>,
    pub extends_chain: Vec<String>,
    pub settings: RawSettings,
}

/// What validation produced: the model (when there was no error), every problem, and the
/// resolved settings with their spans.
pub struct Outcome {
    pub manifest: Option<Manifest>,
    pub problems: Vec<Problem>,
    pub resolved: Vec<Resolved>,
}

pub fn validate(
    raw: &RawManifest,
    source_name: &str,
    source_text: &str,
    mut problems: Vec<Problem>,
) -> Outcome {
    let mut v = Validator {
        problems: &mut problems,
        text: source_text,
    };
    let manifest = v.manifest(raw, source_name);
    let resolved = manifest.1;
    let manifest = manifest.0;
    problems.sort_by_key(|p| (p.span.offset(), p.span.len(), p.code));
    problems.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
    let has_error = problems.iter().any(Problem::is_error);
    Outcome {
        manifest: if has_error { None } else { manifest },
        problems,
        resolved,
    }
}

struct Validator<'a> {
    problems: &'a mut Vec<Problem>,
    /// The manifest's text, to point inside multi-line values.
    text: &'a str,
}

/// Characters that must never reach a generated file through a single-line value.
fn control_char(s: &str, multiline: bool) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| {
        (c.is_control() && !(multiline && (c == '\n' || c == '\t')))
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn lowercase_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
        && !s.contains("..")
        && !s.ends_with('.')
}

fn normalize_pkg(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// A pip requirement that parsed: its normalized name, canonical text and `==` pin if any.
#[derive(Debug, Clone)]
struct Pip {
    name: String,
    /// The environment marker, canonical. Two requirements for one package overlap unless both
    /// have markers and the markers differ (`numpy<2; python_version < '3.10'`).
    marker: Option<String>,
    /// As written (trimmed): what goes into requirements.txt. Never the parser's canonical form,
    /// which expands `${VAR}` from the environment jcx runs in.
    text: String,
    /// The parser's canonical form, only to compare two requirements.
    canonical: String,
    pin: Option<String>,
    has_url_or_marker: bool,
    /// A `file:` URL: a path on the author's machine, absent from the image build.
    file_url: bool,
    span: SourceSpan,
}

/// How the values of a list that becomes shell words are checked.
struct WordRule {
    what: &'static str,
    /// Whether the generated file single-quotes the value (fewer characters are then special).
    quoted: bool,
    valid: fn(&str) -> bool,
    code: Code,
    noun: &'static str,
    label: &'static str,
    help: &'static str,
}

impl Pip {
    /// Whether both requirements can apply to one environment: same package, and not two
    /// different markers.
    fn overlaps(&self, other: &Pip) -> bool {
        self.name == other.name
            && (self.marker.is_none() || other.marker.is_none() || self.marker == other.marker)
    }
}

impl Validator<'_> {
    /// The span of line `n` of a multi-line string value (`#"""` ... `"""#`), trimmed; the whole
    /// value when it is written on one line.
    fn line_span(&self, value: SourceSpan, n: usize, value_text: &str) -> SourceSpan {
        let start = value.offset();
        let Some(literal) = self.text.get(start..start + value.len()) else {
            return value;
        };
        if !literal.contains('\n') {
            return value;
        }
        // Line 0 of the value is the literal's second line (the first holds the opening quotes).
        let mut offset = 0;
        for (i, line) in literal.split_inclusive('\n').enumerate() {
            if i == n + 1 {
                let body = line.trim_end();
                let indent = body.len() - body.trim_start().len();
                let len = body.trim_start().len();
                // Escapes in a non-raw string shift lines: point at the line only when the source
                // line is the value's line.
                let wanted = value_text.lines().nth(n).map(str::trim);
                if len > 0 && wanted == Some(body.trim()) {
                    return SourceSpan::from((start + offset + indent, len));
                }
                break;
            }
            offset += line.len();
        }
        value
    }

    /// Each value: nothing that injects, no shell metacharacter, then the list's own format.
    fn word_list(&mut self, items: &[Sp<String>], rule: WordRule) {
        for item in items {
            if self.safe(item, rule.what, false)
                && self.shell_word(item, rule.what, rule.quoted)
                && !(rule.valid)(&item.v)
            {
                self.push(
                    Problem::error(
                        rule.code,
                        item.span,
                        format!("`{}` is not {}", item.v.escape_debug(), rule.noun),
                    )
                    .label(rule.label)
                    .help(rule.help),
                );
            }
        }
    }

    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Refuses what could inject into a generated file. Returns false when the value is unusable.
    fn safe(&mut self, v: &Sp<String>, what: &str, multiline: bool) -> bool {
        let mut ok = true;
        if v.v.contains("${{") {
            self.push(
                Problem::error(
                    Code::Injection,
                    v.span,
                    format!("{what} contains a GitHub Actions expression (`${{{{`)"),
                )
                .label("expression here")
                .help("jcx writes values literally into workflows; expressions are refused so a manifest can never inject into a workflow. Remove `${{`"),
            );
            ok = false;
        }
        if let Some((_, c)) = control_char(&v.v, multiline) {
            let name = match c {
                '\n' => "a newline".to_string(),
                '\r' => "a carriage return".to_string(),
                '\t' => "a tab".to_string(),
                c => format!("the control character U+{:04X}", c as u32),
            };
            self.push(
                Problem::error(
                    Code::ControlCharacter,
                    v.span,
                    format!("{what} contains {name}"),
                )
                .label("in this value")
                .help(if multiline {
                    "only newlines and tabs are allowed here".to_string()
                } else {
                    "this value must be a single line of printable text".to_string()
                }),
            );
            ok = false;
        }
        ok
    }

    /// Refuses shell metacharacters in a value that becomes a word of a `RUN` line. `quoted`
    /// values are written in single quotes, so only what could end the quote or smuggle a
    /// second word is refused there; operators such as `<`, `>` and `|` stay (conda uses them).
    fn shell_word(&mut self, v: &Sp<String>, what: &str, quoted: bool) -> bool {
        let meta = |c: char| {
            c.is_whitespace()
                || "'\"`$\\;&()".contains(c)
                || (!quoted && "|<>*?[]{}~#!".contains(c))
        };
        let Some(c) = v.v.chars().find(|c| meta(*c)) else {
            return true;
        };
        let (shown, help) = if c.is_whitespace() {
            let words: Vec<&str> = v.v.split_whitespace().collect();
            let help = if words.len() > 1
                && words[1..]
                    .iter()
                    .any(|w| w.starts_with(['=', '<', '>', '!', '~']))
            {
                format!("remove the spaces: `{}`", words.concat())
            } else if words.len() > 1 && words.iter().all(|w| !w.chars().any(meta)) {
                format!(
                    "one value is one package: write them as separate arguments, `{}`",
                    words.join(" ")
                )
            } else {
                format!("{what} is written into a shell command; remove the spaces")
            };
            ("whitespace".to_string(), help)
        } else {
            (
                format!("the shell metacharacter `{c}`"),
                format!(
                    "{what} is written into a shell command, where `{c}` would run or change commands; remove it"
                ),
            )
        };
        self.push(
            Problem::error(
                Code::ShellMetacharacter,
                v.span,
                format!("{what} `{}` contains {shown}", v.v.escape_debug()),
            )
            .label("becomes a shell word")
            .help(help),
        );
        false
    }

    fn manifest(
        &mut self,
        raw: &RawManifest,
        source_name: &str,
    ) -> (Option<Manifest>, Vec<Resolved>) {
        match &raw.version {
            None if raw.version_given => {}
            None => self.push(
                Problem::error(
                    Code::MissingNode,
                    SourceSpan::from(0..0),
                    "the manifest has no `manifest-version`",
                )
                .label("add it here")
                .help("start the manifest with `manifest-version 1`"),
            ),
            Some(v) if v.v != MANIFEST_VERSION => self.push(
                Problem::error(
                    Code::UnsupportedVersion,
                    v.span,
                    format!(
                        "manifest version {} is not supported by jcx {}",
                        v.v,
                        env!("CARGO_PKG_VERSION")
                    ),
                )
                .label("unsupported version")
                .help("this jcx reads `manifest-version 1`; upgrade jcx for newer manifests"),
            ),
            Some(_) => {}
        }

        let registry = self.registry(raw);
        let mirrors = self.mirrors(raw);
        let actions = self.actions(raw);
        let check_workflow = raw.check_workflow.as_ref().map(|cw| {
            let jcx_version = cw.jcx_version.as_ref().map_or_else(
                || env!("CARGO_PKG_VERSION").to_string(),
                |v| {
                    if self.safe(v, "the jcx version", false)
                        && !(Ver::parse(&v.v).is_some_and(|x| x.patch.is_some())
                            && v.v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
                    {
                        self.push(
                            Problem::error(
                                Code::InvalidCodeServerVersion,
                                v.span,
                                format!("`{}` is not a jcx version", v.v),
                            )
                            .help("write a release version such as \"0.1.0\""),
                        );
                    }
                    v.v.clone()
                },
            );
            // Without a repository, jcx is installed from the crates registry.
            let repository = cw.repository.as_ref().map(|r| {
                self.url(r, "the jcx repository");
                r.v.clone()
            });
            CheckWorkflow {
                jcx_version,
                repository,
            }
        });

        // Values of every block are checked once, where they are written.
        if let Some(d) = &raw.defaults {
            self.settings_values(d);
        }
        for app in &raw.apps {
            self.settings_values(&app.settings);
        }

        let resolved = self.resolve(raw);
        if raw.app_nodes == 0 {
            self.push(
                Problem::error(Code::NoApps, SourceSpan::from(0..0), "the manifest declares no app")
                    .label("nothing to build")
                    .help("add an app: `app my-notebook { base \"quay.io/jupyter/scipy-notebook:python-3.11\" }`"),
            );
        }

        let mut apps = Vec::new();
        let mut images: HashMap<String, SourceSpan> = HashMap::new();
        for r in &resolved {
            if let Some(app) = self.app(r, registry.as_ref()) {
                if let Some(first) = images.get(&app.image) {
                    self.push(
                        Problem::error(
                            Code::ImageNameCollision,
                            r.name.span,
                            format!(
                                "app `{}` would push the same image `{}` as another app",
                                app.name, app.image
                            ),
                        )
                        .label("same image name")
                        .also(*first, "first app with that image")
                        .help("give one of them an `image-suffix` (or an `image-name`)"),
                    );
                } else {
                    images.insert(app.image.clone(), r.name.span);
                }
                apps.push(app);
            }
        }
        let manifest = registry.map(|registry| Manifest {
            source_name: source_name.to_string(),
            registry,
            mirrors,
            actions,
            check_workflow,
            apps,
        });
        (manifest, resolved)
    }

    fn secret_name(&mut self, v: &Option<Sp<String>>) -> Option<String> {
        let v = v.as_ref()?;
        let ok = !v.v.is_empty()
            && !v.v.starts_with(|c: char| c.is_ascii_digit())
            && v.v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !v.v.to_ascii_uppercase().starts_with("GITHUB_");
        if !ok {
            self.push(
                Problem::error(Code::InvalidSecretName, v.span, format!("`{}` is not a valid GitHub secret name", v.v.escape_debug()))
                    .label("secret name")
                    .help("secret names are letters, digits and `_`, do not start with a digit or `GITHUB_`, for example `REGISTRY_PASSWORD`"),
            );
        }
        Some(v.v.clone())
    }

    fn registry(&mut self, raw: &RawManifest) -> Option<Registry> {
        let Some(r) = &raw.registry else {
            if raw.registry_given {
                return None;
            }
            self.push(
                Problem::error(
                    Code::MissingNode,
                    SourceSpan::from(0..0),
                    "the manifest has no `registry`",
                )
                .label("add it here")
                .help(
                    "declare where images are pushed: `registry \"ghcr.io\" namespace=\"my-lab\"`",
                ),
            );
            return None;
        };
        let mut ok = self.safe(&r.host, "the registry host", false);
        if ok && !is_registry_host(&r.host.v) {
            self.push(
                Problem::error(Code::InvalidRegistry, r.host.span, format!("`{}` is not a registry host", r.host.v))
                    .label("registry host")
                    .help("write only the host (and port), without a scheme or path: `registry \"ghcr.io\"`"),
            );
            ok = false;
        }
        let namespace = match &r.namespace {
            None => {
                self.push(
                    Problem::error(Code::MissingArgument, r.span, "`registry` needs a `namespace`")
                        .label("namespace missing")
                        .help(format!("add the account or organisation images are pushed under: `registry \"{}\" namespace=\"my-lab\"`", r.host.v)),
                );
                ok = false;
                String::new()
            }
            Some(ns) => {
                if self.safe(ns, "the namespace", false) && !ns.v.split('/').all(is_path_component)
                {
                    self.push(
                        Problem::error(Code::InvalidRegistry, ns.span, format!("`{}` is not a valid registry namespace", ns.v))
                            .label("namespace")
                            .help("a namespace is lowercase letters and digits separated by `.`, `_`, `-` (and `/` between parts)"),
                    );
                    ok = false;
                }
                ns.v.clone()
            }
        };
        let username_secret = self.secret_name(&r.username_secret);
        let password_secret = self.secret_name(&r.password_secret);
        ok.then(|| Registry {
            host: r.host.v.clone(),
            namespace,
            username_secret,
            password_secret,
        })
    }

    fn url(&mut self, v: &Sp<String>, what: &str) -> bool {
        if !self.safe(v, what, false) {
            return false;
        }
        let ok = (v.v.starts_with("https://") || v.v.starts_with("http://"))
            && v.v.len() > "https://".len()
            && !v
                .v
                .chars()
                .any(|c| c.is_whitespace() || "\"'`\\$;<>|&(){}^#".contains(c));
        if !ok {
            self.push(
                Problem::error(Code::InvalidUrl, v.span, format!("{what} `{}` is not a plain http(s) URL", v.v))
                    .label("URL")
                    .help("write a full URL such as \"https://mirror.example.org/pypi/simple\", without quotes, spaces, `#` or shell characters"),
            );
        }
        ok
    }

    fn mirrors(&mut self, raw: &RawManifest) -> Mirrors {
        let m = &raw.mirrors;
        let mut get = |v: &Option<Sp<String>>, what: &str| -> Option<String> {
            let v = v.as_ref()?;
            self.url(v, what)
                .then(|| v.v.trim_end_matches('/').to_string())
        };
        Mirrors {
            pypi: get(&m.pypi, "the PyPI mirror"),
            pytorch: get(&m.pytorch, "the PyTorch wheel mirror"),
            apt: get(&m.apt, "the apt mirror"),
            conda: get(&m.conda, "the conda channel mirror"),
        }
    }

    fn actions(&mut self, raw: &RawManifest) -> Actions {
        let mut refs: BTreeMap<&str, ActionRef> = DEFAULT_ACTIONS
            .iter()
            .map(|(k, uses, c)| {
                (
                    *k,
                    ActionRef {
                        uses: uses.to_string(),
                        comment: Some(c.to_string()),
                    },
                )
            })
            .collect();
        for (key, uses, comment) in &raw.actions {
            let ok = self.safe(uses, "the action reference", false)
                && {
                    let valid = uses.v.split_once('@').is_some_and(|(path, r)| {
                        let parts: Vec<&str> = path.split('/').collect();
                        parts.len() >= 2
                            && parts.iter().all(|p| {
                                !p.is_empty()
                                    && p.bytes()
                                        .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
                            })
                            && !r.is_empty()
                            && r.bytes()
                                .all(|c| c.is_ascii_alphanumeric() || b"._-/".contains(&c))
                    });
                    if !valid {
                        self.push(
                        Problem::error(Code::InvalidActionRef, uses.span, format!("`{}` is not an action reference", uses.v))
                            .label("action reference")
                            .help("write `owner/repo@ref`, preferably a full commit SHA with `version=\"vX.Y.Z\"`"),
                    );
                    }
                    valid
                };
            let comment_ok = comment.as_ref().is_none_or(|c| {
                let ok = self.safe(c, "the action version", false)
                    && c.v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                if !ok && !c.v.contains("${{") {
                    self.push(
                        Problem::error(
                            Code::InvalidActionRef,
                            c.span,
                            format!("`{}` is not a version label", c.v),
                        )
                        .help("write the release tag the SHA points to, such as \"v5.0.0\""),
                    );
                }
                ok
            });
            if ok && comment_ok {
                let key = crate::parse::ACTION_KEYS
                    .iter()
                    .find(|k| **k == key.v)
                    .copied()
                    .unwrap_or("checkout");
                refs.insert(
                    key,
                    ActionRef {
                        uses: uses.v.clone(),
                        comment: comment.as_ref().map(|c| c.v.clone()),
                    },
                );
            }
        }
        let mut take = |k: &str| refs.remove(k).expect("every action has a default");
        Actions {
            checkout: take("checkout"),
            setup_qemu: take("setup-qemu"),
            setup_buildx: take("setup-buildx"),
            login: take("login"),
            metadata: take("metadata"),
            build_push: take("build-push"),
            cache: take("cache"),
        }
    }

    /// Checks every value of one block where it is written.
    fn settings_values(&mut self, s: &RawSettings) {
        if let Some(d) = &s.description
            && self.safe(d, "the description", false)
            && d.v.chars().count() > 300
        {
            self.push(
                Problem::error(
                    Code::TooLong,
                    d.span,
                    format!(
                        "the description is {} characters long; the limit is 300",
                        d.v.chars().count()
                    ),
                )
                .label("too long")
                .help("keep it to one short sentence; it becomes an image label and a comment"),
            );
        }
        if let Some(b) = &s.base
            && self.safe(b, "the base image", false)
        {
            if let Some((scheme, rest)) = b.v.split_once("://") {
                self.push(
                    Problem::error(
                        Code::InvalidImage,
                        b.span,
                        format!("an image reference has no `{scheme}://`"),
                    )
                    .label("base image")
                    .help(format!(
                        "write the reference without a scheme: `base \"{rest}\"`"
                    )),
                );
            } else if let Err(e) = parse_image_ref(&b.v) {
                self.push(
                    Problem::error(Code::InvalidImage, b.span, e.message)
                        .label("base image")
                        .help(e.help),
                );
            }
        }
        if let Some(p) = &s.python
            && self.safe(p, "the Python version", false)
            && !is_python_version(&p.v)
        {
            self.push(
                Problem::error(
                    Code::InvalidPython,
                    p.span,
                    format!("`{}` is not a Python version", p.v),
                )
                .label("Python version")
                .help("write major.minor, such as \"3.11\""),
            );
        }
        if let Some(n) = &s.image_name
            && self.safe(n, "the image name", false)
            && !(n.v.split('/').all(is_path_component) && n.v.len() <= 128)
        {
            self.push(
                Problem::error(Code::InvalidName, n.span, format!("`{}` is not a valid image name", n.v))
                    .label("image name")
                    .help("an image name is lowercase letters and digits separated by `.`, `_` or `-`, such as `pytorch-notebook`"),
            );
        }
        if let Some(n) = &s.image_suffix
            && self.safe(n, "the image suffix", false)
            && !(lowercase_name_ok(&n.v) && is_path_component(&n.v))
        {
            self.push(
                Problem::error(Code::InvalidName, n.span, format!("`{}` is not a valid image suffix", n.v.escape_debug()))
                    .label("image suffix")
                    .help(format!("a suffix is lowercase letters and digits separated by `.`, `_` or `-`, at most {MAX_NAME_LEN} characters, such as `qlora`")),
            );
        }
        if let Some(c) = &s.cuda
            && self.safe(c, "the CUDA version", false)
        {
            self.cuda(c);
        }
        self.word_list(
            &s.apt,
            WordRule {
                what: "the apt package",
                quoted: false,
                valid: is_apt_package,
                code: Code::InvalidAptPackage,
                noun: "a Debian package name",
                label: "apt package",
                help: "package names are lowercase letters, digits, `+`, `-` and `.` (at least two characters, starting with a letter or digit), optionally `=version`",
            },
        );
        let mut seen_apt: HashMap<&str, SourceSpan> = HashMap::new();
        for a in &s.apt {
            let name = a.v.split('=').next().unwrap_or(&a.v);
            if let Some(first) = seen_apt.insert(name, a.span) {
                self.push(
                    Problem::warning(
                        Code::DuplicatePackage,
                        a.span,
                        format!("apt package `{name}` is listed twice"),
                    )
                    .label("listed again")
                    .also(first, "first listed here")
                    .help("remove one of them"),
                );
            }
        }
        self.word_list(
            &s.mamba,
            WordRule {
                what: "the conda package",
                quoted: true,
                valid: is_conda_spec,
                code: Code::InvalidCondaSpec,
                noun: "a conda package spec",
                label: "conda spec",
                help: "write `name`, `name=1.2`, `name>=1.2,<2` or `channel::name`: letters, digits and `-_.` in the name, no spaces or quotes",
            },
        );
        if let Some(cs) = &s.code_server {
            if let Some(v) = &cs.version
                && self.safe(v, "the code-server version", false)
                && !is_xyz(&v.v)
            {
                let help = if let Some(stripped) = v.v.strip_prefix('v') {
                    format!("write the version without `v`: \"{stripped}\"")
                } else {
                    "write a release version X.Y.Z, such as \"4.22.1\"".to_string()
                };
                self.push(
                    Problem::error(
                        Code::InvalidCodeServerVersion,
                        v.span,
                        format!("`{}` is not a code-server release version", v.v),
                    )
                    .label("version")
                    .help(help),
                );
            }
            self.word_list(
                &cs.extensions,
                WordRule {
                    what: "the extension id",
                    quoted: false,
                    valid: is_extension_id,
                    code: Code::InvalidExtension,
                    noun: "a VS Code extension id",
                    label: "extension id",
                    help: "write `publisher.name`, optionally `@version`, such as `ms-python.python`",
                },
            );
        }
        let mut pins: Vec<Pip> = Vec::new();
        for p in &s.pip {
            let Some(pip) = self.pip(p) else { continue };
            match pins.iter().find(|q| q.overlaps(&pip)) {
                None => pins.push(pip),
                Some(first) if first.canonical != pip.canonical => self.push(
                    Problem::error(
                        Code::ConflictingPin,
                        pip.span,
                        format!("`{}` is required twice, differently: `{}` and `{}`", pip.name, first.text, pip.text),
                    )
                    .label("second requirement")
                    .also(first.span, "first requirement")
                    .help("keep the one you mean; pip cannot satisfy two different pins of one package"),
                ),
                Some(first) => self.push(
                    Problem::warning(Code::DuplicatePackage, pip.span, format!("`{}` is listed twice", pip.name))
                        .label("listed again")
                        .also(first.span, "first listed here")
                        .help("remove one of them"),
                ),
            }
        }
        let mut env_seen: HashMap<&str, SourceSpan> = HashMap::new();
        for (k, val) in &s.env {
            let name_ok = !k.v.is_empty()
                && !k.v.starts_with(|c: char| c.is_ascii_digit())
                && k.v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
            if !name_ok {
                self.push(
                    Problem::error(
                        Code::InvalidEnvName,
                        k.span,
                        format!(
                            "`{}` is not a valid environment variable name",
                            k.v.escape_debug()
                        ),
                    )
                    .label("variable name")
                    .help(
                        "use letters, digits and `_`, not starting with a digit, such as `HF_HOME`",
                    ),
                );
            }
            if let Some(first) = env_seen.insert(&k.v, k.span) {
                self.push(
                    Problem::error(
                        Code::Duplicate,
                        k.span,
                        format!("environment variable `{}` is set twice", k.v),
                    )
                    .label("set again")
                    .also(first, "first set here")
                    .help("keep one of them"),
                );
            }
            self.safe(val, "the environment value", false);
        }
        if let Some(bs) = &s.branches {
            for b in bs {
                if self.safe(b, "the branch pattern", false) && !is_branch_pattern(&b.v) {
                    self.push(
                        Problem::error(Code::InvalidBranch, b.span, format!("`{}` is not a valid branch pattern", b.v.escape_debug()))
                            .label("branch pattern")
                            .help("a branch pattern is a git branch name with optional `*`/`**` globs, such as `main` or `feat/**`; no spaces, `..`, `~^:?[\\`, quotes or leading `-`"),
                    );
                }
            }
        }
        if let Some(rs) = &s.runs_on {
            for r in rs {
                if self.safe(r, "the runner label", false)
                    && !(r.v.len() <= 100
                        && r.v
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
                        && !r.v.is_empty())
                {
                    self.push(
                        Problem::error(Code::InvalidRunner, r.span, format!("`{}` is not a valid runner label", r.v.escape_debug()))
                            .label("runner label")
                            .help("runner labels are letters, digits, `.`, `_` and `-`, such as `ubuntu-latest` or `self-hosted`"),
                    );
                }
            }
        }
        if let Some(ps) = &s.platforms {
            let mut seen: Vec<&str> = Vec::new();
            for p in ps {
                if !PLATFORMS.contains(&p.v.as_str()) {
                    let help = did_you_mean(&p.v, PLATFORMS)
                        .unwrap_or_else(|| "expected one of `linux/amd64`, `linux/arm64` (the platforms Jupyter images and code-server publish)".into());
                    self.push(
                        Problem::error(
                            Code::InvalidPlatform,
                            p.span,
                            format!("`{}` is not a supported platform", p.v.escape_debug()),
                        )
                        .label("platform")
                        .help(help),
                    );
                } else if seen.contains(&p.v.as_str()) {
                    self.push(
                        Problem::warning(
                            Code::DuplicatePackage,
                            p.span,
                            format!("platform `{}` is listed twice", p.v),
                        )
                        .help("remove one of them"),
                    );
                }
                seen.push(&p.v);
            }
        }
        for d in &s.dockerfile {
            if !self.safe(&d.text, "the `dockerfile` block", true) {
                continue;
            }
            if d.text.v.trim().is_empty() {
                self.push(
                    Problem::error(
                        Code::InvalidDockerfile,
                        d.text.span,
                        "the `dockerfile` block is empty",
                    )
                    .help("write Dockerfile instructions, or remove the node"),
                );
            }
            for found in crate::dockerfile_block::read(&d.text.v).issues {
                let span = self.line_span(d.text.span, found.line, &d.text.v);
                let issue = found.issue;
                self.push(
                    Problem::error(Code::InvalidDockerfile, span, issue.message())
                        .label(issue.label())
                        .help(issue.help()),
                );
            }
        }
        if let Some(t) = &s.timeout_minutes
            && !(1..=7200).contains(&t.v)
        {
            self.push(
                Problem::error(Code::InvalidNumber, t.span, format!("`timeout-minutes` must be between 1 and 7200, not {}", t.v))
                    .label("minutes")
                    .help("GitHub-hosted jobs stop after 360 minutes, self-hosted ones after 5 days (7200)"),
            );
        }
    }

    fn cuda(&mut self, c: &Sp<String>) {
        if c.v == "cpu" {
            return;
        }
        let t = table();
        if t.index_for_cuda(&c.v).is_some() {
            return;
        }
        let known = t.cuda_versions();
        let newest = known.iter().filter_map(|v| Ver::parse(v)).max();
        match (Ver::parse(&c.v), newest) {
            (Some(v), Some(n))
                if v.patch.is_none()
                    && v > n
                    && c.v.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
            {
                self.push(
                    Problem::warning(
                        Code::InvalidCuda,
                        c.span,
                        format!(
                            "CUDA {} is newer than jcx's PyTorch table (checked {})",
                            c.v, t.checked
                        ),
                    )
                    .label("not in the table")
                    .help(format!(
                        "jcx will use the `cu{}` index but cannot check torch versions against it",
                        c.v.replace('.', "")
                    )),
                );
            }
            _ => {
                let as_tag = t.indexes.iter().find(|i| i.tag == c.v.to_ascii_lowercase());
                let mut help = match as_tag {
                    Some(i) => format!(
                        "write the CUDA version, not the index name: `cuda \"{}\"`.",
                        i.cuda.as_deref().unwrap_or("cpu")
                    ),
                    None => did_you_mean(&c.v, &known).unwrap_or_default(),
                };
                if !help.is_empty() {
                    help.push(' ');
                }
                help.push_str(&format!(
                    "PyTorch publishes wheel indexes for CUDA {} and `cpu`",
                    known
                        .iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                self.push(
                    Problem::error(
                        Code::InvalidCuda,
                        c.span,
                        format!("`{}` is not a CUDA version with a PyTorch wheel index", c.v),
                    )
                    .label("CUDA version")
                    .help(help),
                );
            }
        }
    }

    fn pip(&mut self, p: &RawPip) -> Option<Pip> {
        let t = &p.text;
        if !self.safe(t, "the pip requirement", false) {
            return None;
        }
        let trimmed = t.v.trim_start();
        if trimmed.starts_with('-') {
            let opt = trimmed
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or(trimmed);
            let help = match opt {
                "--index-url" | "-i" | "--extra-index-url" | "--trusted-host" | "--find-links"
                | "-f" => {
                    "indexes are not set per requirement: torch, torchvision and torchaudio come from the PyTorch index chosen by `cuda`, everything else from the default index or the `mirrors { pypi ... }` mirror"
                }
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    "list the requirements themselves in the `pip` block; jcx writes requirements.txt"
                }
                "-e" | "--editable" => {
                    // `-e git+https://host/x/peft#egg=peft` -> `peft @ git+https://host/x/peft`
                    let target = trimmed[opt.len()..].trim_start_matches([' ', '=']).trim();
                    return self.editable(t, opt, target);
                }
                _ => {
                    "pip options are not allowed in the `pip` block; write a PEP 508 requirement such as `- \"transformers==4.28.1\"`"
                }
            };
            self.push(
                Problem::error(
                    Code::PipOption,
                    t.span,
                    format!("pip option `{opt}` is not allowed in a manifest"),
                )
                .label("pip option")
                .help(help),
            );
            return None;
        }
        match parse_pip(p) {
            Ok(pip) if pip.file_url => {
                self.push(
                    Problem::error(Code::InvalidPip, t.span, format!("`{}` installs from a local file URL", pip.name))
                        .label("local path")
                        .help("the image is built from the generated files only, so local paths do not exist there: use a `git+https://` or `https://` URL, or a version from the index"),
                );
                None
            }
            Ok(pip) => Some(pip),
            Err(message) => {
                let help = if t.v.starts_with("git+") || t.v.starts_with("http") {
                    let guess =
                        t.v.rsplit('/')
                            .next()
                            .unwrap_or("name")
                            .trim_end_matches(".git");
                    format!("name the package: `- \"{guess} @ {}\"`", t.v)
                } else {
                    "write a PEP 508 requirement such as `name`, `name==1.2.3`, `name>=1,<2` or `name @ git+https://...`".to_string()
                };
                self.push(
                    Problem::error(
                        Code::InvalidPip,
                        t.span,
                        format!("`{}` is not a valid pip requirement", t.v),
                    )
                    .label(first_line(&message))
                    .help(help),
                );
                None
            }
        }
    }

    fn editable(&mut self, t: &Sp<String>, opt: &str, target: &str) -> Option<Pip> {
        let (url, egg) = match target.split_once("#egg=") {
            Some((u, e)) => (u, Some(e)),
            None => (target, None),
        };
        let help = match egg {
            Some(name) if url.contains("://") => format!(
                "editable installs do not belong in an image; install it from the URL: `- \"{name} @ {url}\"`"
            ),
            _ => "editable installs do not belong in an image; use `- \"name @ git+https://...\"`"
                .to_string(),
        };
        self.push(
            Problem::error(
                Code::PipOption,
                t.span,
                format!("pip option `{opt}` is not allowed in a manifest"),
            )
            .label("pip option")
            .help(help),
        );
        None
    }

    /// `defaults` -> `extends` chain -> app. Lists of packages append; other values override.
    fn resolve(&mut self, raw: &RawManifest) -> Vec<Resolved> {
        let mut by_name: HashMap<&str, &RawApp> = HashMap::new();
        let mut order: Vec<&RawApp> = Vec::new();
        for app in &raw.apps {
            if !self.safe(&app.name, "the app name", false) {
                continue;
            }
            if !lowercase_name_ok(&app.name.v) {
                let lower = app
                    .name
                    .v
                    .to_ascii_lowercase()
                    .replace([' ', '_', '/'], "-");
                let help = if lowercase_name_ok(&lower) {
                    format!(
                        "app names are lowercase `[a-z0-9][a-z0-9._-]*` (they become directory and image names): try `{lower}`"
                    )
                } else {
                    format!(
                        "app names are lowercase `[a-z0-9][a-z0-9._-]*`, at most {MAX_NAME_LEN} characters, without `..` (they become directory and image names)"
                    )
                };
                let message = if app.name.v.len() > MAX_NAME_LEN {
                    format!(
                        "app name `{}` is {} characters long; the limit is {MAX_NAME_LEN}",
                        app.name.v.escape_debug(),
                        app.name.v.len()
                    )
                } else {
                    format!("`{}` is not a valid app name", app.name.v.escape_debug())
                };
                self.push(
                    Problem::error(Code::InvalidName, app.name.span, message)
                        .label("app name")
                        .help(help),
                );
                continue;
            }
            if let Some(first) = by_name.get(app.name.v.as_str()) {
                self.push(
                    Problem::error(
                        Code::DuplicateApp,
                        app.name.span,
                        format!("app `{}` is declared twice", app.name.v),
                    )
                    .label("declared again")
                    .also(first.name.span, "first declared here")
                    .help("rename one of them, or merge their settings"),
                );
                continue;
            }
            by_name.insert(&app.name.v, app);
            order.push(app);
        }
        let names: Vec<&str> = order.iter().map(|a| a.name.v.as_str()).collect();
        let mut out = Vec::new();
        for app in &order {
            // Walk the extends chain from the app to its root.
            let mut chain: Vec<&RawApp> = vec![app];
            let mut broken = false;
            while let Some(parent) = &chain.last().unwrap().extends {
                if parent.v == chain.last().unwrap().name.v {
                    if chain.len() == 1 {
                        self.push(
                            Problem::error(
                                Code::SelfExtends,
                                parent.span,
                                format!("app `{}` extends itself", parent.v),
                            )
                            .label("extends itself")
                            .help("remove `extends`, or name another app"),
                        );
                    }
                    broken = true;
                    break;
                }
                match by_name.get(parent.v.as_str()) {
                    None => {
                        if chain.len() == 1 {
                            let help = suggest_app(&parent.v, &names);
                            self.push(
                                Problem::error(
                                    Code::UnknownExtends,
                                    parent.span,
                                    format!(
                                        "app `{}` extends `{}`, which is not declared",
                                        app.name.v, parent.v
                                    ),
                                )
                                .label("no such app")
                                .help(help),
                            );
                        }
                        broken = true;
                        break;
                    }
                    Some(p) => {
                        if let Some(pos) = chain.iter().position(|c| c.name.v == p.name.v) {
                            if pos == 0 {
                                let mut cycle: Vec<&str> =
                                    chain.iter().map(|c| c.name.v.as_str()).collect();
                                cycle.push(&p.name.v);
                                let mut problem = Problem::error(
                                    Code::ExtendsCycle,
                                    app.extends.as_ref().map_or(app.name.span, |e| e.span),
                                    format!("`extends` forms a cycle: {}", cycle.join(" -> ")),
                                )
                                .label("starts the cycle")
                                .help("break the cycle: one of these apps must not extend another");
                                for c in chain.iter().skip(1) {
                                    if let Some(e) = &c.extends {
                                        problem = problem.also(
                                            e.span,
                                            format!("`{}` extends `{}`", c.name.v, e.v),
                                        );
                                    }
                                }
                                // Report the cycle once, from its first app in manifest order.
                                let first_in_cycle =
                                    chain.iter().map(|c| c.span.offset()).min().unwrap_or(0);
                                if app.span.offset() == first_in_cycle {
                                    self.push(problem);
                                }
                            }
                            broken = true;
                            break;
                        }
                        chain.push(p);
                    }
                }
            }
            if broken {
                continue;
            }
            let mut settings = raw.defaults.clone().unwrap_or_default();
            settings.description = None;
            for level in chain.iter().rev() {
                settings = merge(settings, &level.settings);
            }
            out.push(Resolved {
                name: app.name.clone(),
                extends_chain: chain.iter().skip(1).map(|c| c.name.v.clone()).collect(),
                settings,
            });
        }
        out
    }

    fn app(&mut self, r: &Resolved, registry: Option<&Registry>) -> Option<App> {
        let s = &r.settings;
        let name = r.name.v.clone();
        let Some(base_sp) = &s.base else {
            if s.refused.contains(&"base") {
                return None;
            }
            self.push(
                Problem::error(Code::MissingNode, r.name.span, format!("app `{name}` has no base image"))
                    .label("no `base`")
                    .help("add `base \"quay.io/jupyter/scipy-notebook:python-3.11\"` to the app or to `defaults`"),
            );
            return None;
        };
        let base = parse_image_ref(&base_sp.v).ok()?;
        let python = match &s.python {
            Some(p) => Some(p.v.clone()),
            None => python_from_tag(&base.tag),
        };

        // pip: split the torch family off when a PyTorch index is chosen.
        let pips: Vec<Pip> = s.pip.iter().filter_map(|p| parse_pip(p).ok()).collect();
        let (torch_reqs, general): (Vec<Pip>, Vec<Pip>) = match &s.cuda {
            Some(_) => pips
                .into_iter()
                .partition(|p| TORCH_FAMILY.contains(&p.name.as_str())),
            None => (Vec::new(), pips),
        };
        if s.cuda.is_none()
            && let Some(t) = general
                .iter()
                .find(|p| TORCH_FAMILY.contains(&p.name.as_str()))
        {
            self.push(
                Problem::warning(Code::TorchWithoutCuda, t.span, format!("`{}` comes from the default index because app `{name}` sets no `cuda`", t.name))
                    .label("from the default index")
                    .help("add `cuda \"11.8\"` (or another version, or `cpu`) to install it from the matching PyTorch wheel index"),
            );
        }
        let torch = match &s.cuda {
            None => None,
            // An unknown CUDA version is already an error; its torch would only repeat it.
            Some(c) if !cuda_usable(&c.v) => None,
            Some(c) => self.torch(c, &torch_reqs, python.as_deref(), &name, r.name.span),
        };

        let mut apt = dedup(s.apt.iter().map(|a| a.v.clone()));
        let code_server = s.code_server.as_ref().and_then(|cs| {
            let version = match &cs.version {
                Some(v) => v.v.clone(),
                None => {
                    self.push(
                        Problem::error(Code::MissingArgument, cs.name_span, format!("app `{name}` lists code-server extensions but no code-server version"))
                            .label("version missing")
                            .help("write the version on the node: `code-server \"4.22.1\" { ... }`"),
                    );
                    return None;
                }
            };
            let extensions = dedup(cs.extensions.iter().map(|e| e.v.clone()));
            Some(CodeServer { version, extensions })
        });
        if code_server.is_some() && !apt.iter().any(|a| a == "curl" || a.starts_with("curl=")) {
            // code-server's release package is downloaded with curl.
            apt.push("curl".to_string());
        }
        let platforms: Vec<String> = s.platforms.as_ref().map_or_else(
            || vec!["linux/amd64".to_string()],
            |ps| dedup(ps.iter().map(|p| p.v.clone())),
        );
        let runs_on: Vec<String> = s.runs_on.as_ref().map_or_else(
            || vec![DEFAULT_RUNNER.to_string()],
            |rs| rs.iter().map(|r| r.v.clone()).collect(),
        );
        let self_hosted = runs_on.iter().any(|l| l == "self-hosted");
        let free_disk_space = s.free_disk_space.as_ref().map_or(
            torch.as_ref().is_some_and(|t| t.index != TorchIndex::Cpu) && !self_hosted,
            |f| f.v,
        );

        let image_base = s
            .image_name
            .as_ref()
            .map_or(base.name.clone(), |n| n.v.clone());
        let image_repo = match &s.image_suffix {
            Some(sfx) => format!("{image_base}-{}", sfx.v),
            None => image_base,
        };
        let registry = registry?;
        let image = format!("{}/{}/{}", registry.host, registry.namespace, image_repo);

        Some(App {
            name,
            description: s.description.as_ref().map(|d| d.v.clone()),
            base,
            python,
            image,
            torch,
            apt,
            mamba: dedup(s.mamba.iter().map(|m| m.v.clone())),
            code_server,
            pip: general.into_iter().map(|p| p.text).collect(),
            env: s
                .env
                .iter()
                .map(|(k, v)| (k.v.clone(), v.v.clone()))
                .collect(),
            branches: s.branches.as_ref().map_or_else(
                || DEFAULT_BRANCHES.iter().map(|b| b.to_string()).collect(),
                |bs| bs.iter().map(|b| b.v.clone()).collect(),
            ),
            runs_on,
            platforms,
            dockerfile: s
                .dockerfile
                .iter()
                .map(|d| DockerfileBlock {
                    as_root: d.as_root,
                    lines: crate::dockerfile_block::read(&d.text.v).lines,
                })
                .collect(),
            free_disk_space,
            timeout_minutes: s
                .timeout_minutes
                .as_ref()
                .map_or(DEFAULT_TIMEOUT_MINUTES, |t| t.v as u32),
        })
    }

    fn torch(
        &mut self,
        cuda: &Sp<String>,
        reqs: &[Pip],
        python: Option<&str>,
        app: &str,
        app_span: SourceSpan,
    ) -> Option<Torch> {
        let t = table();
        let index = if cuda.v == "cpu" {
            TorchIndex::Cpu
        } else {
            match t.index_for_cuda(&cuda.v) {
                Some(i) => TorchIndex::Cuda(i.tag.clone()),
                None => TorchIndex::Cuda(format!("cu{}", cuda.v.replace('.', ""))),
            }
        };
        let wheel_index = t.index_for_cuda(&cuda.v);
        for r in reqs {
            if r.has_url_or_marker {
                self.push(
                    Problem::error(Code::InvalidPip, r.span, format!("`{}` in a CUDA app must be a plain version requirement", r.name))
                        .label("URL or marker")
                        .help(format!("it is installed from the {} wheel index: write `{} \"X.Y.Z\"`, or remove `cuda` to install it your own way", index.tag(), r.name)),
                );
            }
        }
        let mut requirements: Vec<String> = reqs.iter().map(|r| r.text.clone()).collect();
        let find = |n: &str| reqs.iter().find(|r| r.name == n);
        if find("torch").is_none() {
            requirements.insert(0, "torch".to_string());
        }
        let torch_pin = find("torch")
            .and_then(|r| r.pin.as_deref())
            .and_then(Ver::parse);
        let unpinned = requirements.iter().any(|r| !r.contains("=="));
        let torch_span = find("torch").map_or(app_span, |r| r.span);
        match torch_pin {
            // A URL or marker requirement is already refused above.
            None if find("torch").is_some_and(|r| r.has_url_or_marker) => {}
            None => {
                let range =
                    wheel_index.map_or_else(|| "whatever it carries".to_string(), |i| i.range());
                let py = python.map_or(String::new(), |p| format!(" for Python {p}"));
                self.push(
                    Problem::warning(Code::TorchUnpinned, torch_span, format!("torch is not pinned in app `{app}`"))
                        .label(if find("torch").is_some() { "not pinned" } else { "torch added by `cuda`" })
                        .help(format!(
                            "the {} index gives torch {range}; pip installs the newest{py}. Pin it, e.g. `torch \"{}\"`, so rebuilds are repeatable",
                            index.tag(),
                            wheel_index.and_then(|i| i.last).map_or("2.2.1".to_string(), |l| l.to_string()),
                        )),
                );
            }
            Some(tv) => {
                if t.is_newer_than_known(tv) {
                    self.push(
                        Problem::warning(Code::TorchUnknownVersion, torch_span, format!("torch {tv} is newer than jcx's PyTorch table (checked {})", t.checked))
                            .label("not in the table")
                            .help("jcx cannot check it against the wheel index; the build will tell. Upgrade jcx for a newer table"),
                    );
                } else {
                    if let Some(wi) = wheel_index
                        && !wi.has(tv)
                    {
                        let others: Vec<String> = t
                            .indexes
                            .iter()
                            .filter(|i| i.cuda.is_some() && i.has(tv))
                            .map(|i| format!("\"{}\"", i.cuda.as_deref().unwrap_or_default()))
                            .collect();
                        let help = if others.is_empty() {
                            format!("the {} index has torch {}", wi.tag, wi.range())
                        } else {
                            format!(
                                "the {} index has torch {}; torch {tv} has wheels for CUDA {}",
                                wi.tag,
                                wi.range(),
                                others.join(", ")
                            )
                        };
                        self.push(
                            Problem::error(
                                Code::TorchNotOnIndex,
                                torch_span,
                                format!("torch {tv} has no wheels on the {} index", wi.tag),
                            )
                            .label("not on this index")
                            .also(cuda.span, format!("`cuda` chooses {}", wi.tag))
                            .help(help),
                        );
                    }
                    if let Some(py) = python
                        && let Some(ps) = t.python(py)
                        && (!tv.at_least(ps.first) || ps.last.is_some_and(|l| !tv.at_most(l)))
                    {
                        let range = match ps.last {
                            Some(l) => format!("{}–{}", ps.first, l),
                            None => format!("{} and later", ps.first),
                        };
                        self.push(
                            Problem::error(Code::TorchPythonMismatch, torch_span, format!("torch {tv} has no wheels for Python {py}"))
                                .label("no wheels for this Python")
                                .help(format!("Python {py} (from the base image tag or `python`) has torch wheels for {range}; change the torch pin or the base image")),
                        );
                    }
                    if let Some(py) = python
                        && t.python(py).is_none()
                        && let Some(pv) = Ver::parse(py)
                    {
                        let known: Vec<Ver> = t
                            .pythons
                            .iter()
                            .filter_map(|p| Ver::parse(&p.python))
                            .collect();
                        if known.iter().all(|k| pv > *k) {
                            self.push(
                                Problem::warning(Code::TorchUnknownVersion, torch_span, format!("Python {py} is newer than jcx's PyTorch table (checked {})", t.checked))
                                    .label("cannot be checked")
                                    .help(format!("jcx cannot tell whether torch {tv} has wheels for Python {py}; the build will tell. Upgrade jcx for a newer table")),
                            );
                        } else if known.iter().all(|k| pv < *k) {
                            self.push(
                                Problem::error(Code::TorchPythonMismatch, torch_span, format!("torch {tv} has no wheels for Python {py}"))
                                    .label("no wheels for this Python")
                                    .help({
                                        let ok: Vec<&str> = t
                                            .pythons
                                            .iter()
                                            .filter(|p| tv.at_least(p.first) && p.last.is_none_or(|l| tv.at_most(l)))
                                            .map(|p| p.python.as_str())
                                            .collect();
                                        format!("torch {tv} has wheels for Python {}; use a newer base image", ok.join(", "))
                                    }),
                            );
                        }
                    }
                    // `torch==2.2.1+cu121` under `cuda "11.8"`: the local label names another index.
                    if let Some(label) = find("torch")
                        .and_then(|r| r.pin.as_deref())
                        .and_then(|p| p.split_once('+'))
                        .map(|(_, l)| l)
                        && label != index.tag()
                    {
                        self.push(
                            Problem::error(
                                Code::TorchNotOnIndex,
                                torch_span,
                                format!(
                                    "torch `+{label}` builds are not on the {} index",
                                    index.tag()
                                ),
                            )
                            .label("local version label")
                            .also(cuda.span, format!("`cuda` chooses {}", index.tag()))
                            .help(format!(
                                "remove `+{label}`: the index chosen by `cuda` decides the build"
                            )),
                        );
                    }
                }
                for package in ["torchvision", "torchaudio"] {
                    if let Some(r) = find(package)
                        && let (Some(want), Some(got)) = (
                            t.companion_for(package, tv),
                            r.pin.as_deref().and_then(Ver::parse),
                        )
                        && !t.is_newer_than_known(tv)
                        && want != got
                    {
                        self.push(
                            Problem::error(Code::TorchVersionMismatch, r.span, format!("{package} {got} does not match torch {tv}"))
                                .label("mismatched version")
                                .also(torch_span, format!("torch {tv}"))
                                .help(format!("torch {tv} goes with {package} {want}: write `{package} \"{want}\"`")),
                        );
                    }
                }
            }
        }
        Some(Torch {
            index,
            cuda: cuda.v.clone(),
            requirements,
            unpinned,
        })
    }
}

/// `cpu`, a CUDA version of the table, or one newer than the table (a warning, see `cuda`).
fn cuda_usable(cuda: &str) -> bool {
    let t = table();
    if cuda == "cpu" || t.index_for_cuda(cuda).is_some() {
        return true;
    }
    let newest = t.cuda_versions().iter().filter_map(|v| Ver::parse(v)).max();
    matches!((Ver::parse(cuda), newest), (Some(v), Some(n)) if v.patch.is_none() && v > n && cuda.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

fn parse_pip(p: &RawPip) -> Result<Pip, String> {
    let text = p.text.v.trim();
    // pep508_rs 0.9 panics on a name that ends in `.`, `-` or `_` (`pandas.==1`): refuse it here.
    let name_run = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .next()
        .unwrap_or("");
    if name_run.ends_with(['.', '-', '_']) {
        return Err(format!(
            "the package name `{name_run}` must start and end with a letter or digit"
        ));
    }
    let req =
        Requirement::<pep508_rs::VerbatimUrl>::from_str(text).map_err(|e| e.message.to_string())?;
    let name = normalize_pkg(req.name.as_ref());
    let mut pin = None;
    let mut has_url_or_marker = !req.marker.is_true();
    let mut file_url = false;
    match &req.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specs)) => {
            let specs: Vec<_> = specs.iter().collect();
            if specs.len() == 1 && specs[0].operator().to_string() == "==" {
                let v = specs[0].version().to_string();
                if !v.contains('*') {
                    pin = Some(v);
                }
            }
        }
        Some(VersionOrUrl::Url(url)) => {
            has_url_or_marker = true;
            file_url = url.to_string().to_ascii_lowercase().starts_with("file:");
        }
        None => {}
    }
    Ok(Pip {
        marker: req.marker.try_to_string(),
        name,
        text: text.to_string(),
        canonical: req.to_string(),
        pin,
        has_url_or_marker,
        file_url,
        span: p.span,
    })
}

/// Child over parent. Package lists append (a pip requirement for the same package replaces the
/// inherited one); single values override. `description`, `image-name` and `image-suffix` name
/// one app and are never inherited.
fn merge(mut base: RawSettings, over: &RawSettings) -> RawSettings {
    base.description = over.description.clone();
    base.image_name = over.image_name.clone();
    base.image_suffix = over.image_suffix.clone();
    macro_rules! scalar {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f.clone(); } )* };
    }
    scalar!(
        base,
        python,
        cuda,
        branches,
        runs_on,
        platforms,
        free_disk_space,
        timeout_minutes
    );
    base.refused.extend(over.refused.iter().copied());
    base.apt.extend(over.apt.iter().cloned());
    base.mamba.extend(over.mamba.iter().cloned());
    match (&mut base.code_server, &over.code_server) {
        (Some(b), Some(o)) => {
            if o.version.is_some() {
                b.version = o.version.clone();
                b.span = o.span;
            }
            b.extensions.extend(o.extensions.iter().cloned());
        }
        (None, Some(o)) => base.code_server = Some(o.clone()),
        _ => {}
    }
    // Each requirement is parsed once here, not once per later requirement (that was quadratic,
    // and half of `check`'s time on a large manifest).
    let mut parsed: Vec<Option<Pip>> = base.pip.iter().map(|q| parse_pip(q).ok()).collect();
    for p in &over.pip {
        let new = parse_pip(p).ok();
        if let Some(n) = &new {
            // The child's requirement replaces every inherited one it overlaps.
            let replaced = |q: &Option<Pip>| q.as_ref().is_some_and(|q| q.overlaps(n));
            let mut keep = parsed.iter().map(|q| !replaced(q));
            base.pip.retain(|_| keep.next().unwrap_or(true));
            parsed.retain(|q| !replaced(q));
        }
        base.pip.push(p.clone());
        parsed.push(new);
    }
    for (k, v) in &over.env {
        base.env.retain(|(bk, _)| bk.v != k.v);
        base.env.push((k.clone(), v.clone()));
    }
    base.dockerfile.extend(over.dockerfile.iter().cloned());
    base
}

fn is_python_version(s: &str) -> bool {
    let mut it = s.split('.');
    matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None)
        if !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

/// `python-3.11`, `python-3.11.9`, `2024-05-01-python-3.11` -> `3.11`.
fn python_from_tag(tag: &str) -> Option<String> {
    let i = tag.find("python-")?;
    let rest = &tag[i + "python-".len()..];
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    Some(format!("{major}.{minor}"))
}

fn is_xyz(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Debian policy 5.6.1: `[a-z0-9][a-z0-9+.-]+`, optionally `=version` (and `:arch`).
fn is_apt_package(s: &str) -> bool {
    let (name, version) = match s.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (s, None),
    };
    let (name, arch) = match name.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (name, None),
    };
    let b = name.as_bytes();
    let name_ok = b.len() >= 2
        && b.len() <= 100
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+.-".contains(c));
    let arch_ok = arch.is_none_or(|a| {
        !a.is_empty()
            && a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    });
    let version_ok = version.is_none_or(|v| {
        !v.is_empty()
            && v.as_bytes()[0].is_ascii_digit()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".+~:-".contains(&c))
    });
    name_ok && arch_ok && version_ok
}

/// A conda MatchSpec in its simple forms: `[channel::]name[ op version[,op version]][=build]`.
fn is_conda_spec(s: &str) -> bool {
    let spec = match s.split_once("::") {
        Some((channel, rest)) => {
            if channel.is_empty()
                || !channel
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
            {
                return false;
            }
            rest
        }
        None => s,
    };
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len());
    let (name, version) = spec.split_at(name_end);
    if name.is_empty() || !name.as_bytes()[0].is_ascii_alphanumeric() || name.len() > 100 {
        return false;
    }
    version.is_empty()
        || (version.starts_with(['=', '<', '>', '!', '~'])
            && version
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".*,<>=!~|_+".contains(&c))
            && version.bytes().any(|c| c.is_ascii_digit() || c == b'*'))
}

fn is_extension_id(s: &str) -> bool {
    let (id, version) = match s.split_once('@') {
        Some((i, v)) => (i, Some(v)),
        None => (s, None),
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.as_bytes()[0].is_ascii_alphanumeric()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    matches!(id.split_once('.'), Some((publisher, name)) if part(publisher) && part(name))
        && version.is_none_or(is_xyz)
}

fn is_branch_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.contains("..")
        && !s.contains("//")
        && !s.contains("@{")
        && !s.ends_with(".lock")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/*-_.+!".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["jupyter-pytorch-x", "a", "a.b_c-d", "0x"] {
            assert!(lowercase_name_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "-a",
            "a..b",
            "a/b",
            "a b",
            "a.",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!lowercase_name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn apt_conda_extensions_branches() {
        assert!(
            is_apt_package("libopenmpi-dev")
                && is_apt_package("g++")
                && is_apt_package("vim=2:9.1-1")
        );
        assert!(!is_apt_package("a") && !is_apt_package("Vim") && !is_apt_package("vim;rm"));
        assert!(
            is_conda_spec("jupyter-server-proxy")
                && is_conda_spec("numpy>=1.26,<2")
                && is_conda_spec("conda-forge::r-base=4.3")
        );
        assert!(
            !is_conda_spec("numpy >=1")
                && !is_conda_spec("'x'")
                && !is_conda_spec("numpy>=")
                && !is_conda_spec("$(x)")
        );
        assert!(
            is_extension_id("ms-python.python")
                && is_extension_id("zhuangtongfa.material-theme@3.16.2")
        );
        assert!(!is_extension_id("python") && !is_extension_id("a.b;c"));
        assert!(
            is_branch_pattern("main")
                && is_branch_pattern("feat/**")
                && is_branch_pattern("release-*")
        );
        assert!(
            !is_branch_pattern("a b")
                && !is_branch_pattern("a..b")
                && !is_branch_pattern("-x")
                && !is_branch_pattern("a'b")
        );
    }

    /// Codes of every problem of a manifest, errors and warnings.
    fn codes(text: &str) -> Vec<(Code, bool)> {
        let doc = kdl::KdlDocument::parse_v2(text).expect("test manifests are KDL");
        let mut problems = Vec::new();
        let raw = crate::parse::parse(&doc, &mut problems);
        let outcome = validate(&raw, "apps.kdl", text, problems);
        outcome
            .problems
            .iter()
            .map(|p| (p.code, p.is_error()))
            .collect()
    }

    fn torch_app(python: &str, cuda: &str, pins: &str) -> String {
        format!(
            "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\napp x {{\n    base \"quay.io/jupyter/scipy-notebook:python-{python}\"\n    cuda \"{cuda}\"\n    pip {{ {pins} }}\n}}\n"
        )
    }

    #[test]
    fn seed_pins_are_accepted() {
        let text = torch_app(
            "3.11",
            "11.8",
            r#"torch "2.2.1"; torchvision "0.17.1"; torchaudio "2.2.1""#,
        );
        assert_eq!(codes(&text), vec![]);
    }

    #[test]
    fn torch_2_7_0_on_cu121_is_refused() {
        let text = torch_app("3.11", "12.1", r#"torch "2.7.0""#);
        assert_eq!(codes(&text), vec![(Code::TorchNotOnIndex, true)]);
    }

    #[test]
    fn torch_family_rules() {
        let check = |python, cuda, pins, want: &[(Code, bool)]| {
            assert_eq!(
                codes(&torch_app(python, cuda, pins)),
                want,
                "{python} {cuda} {pins}"
            );
        };
        check(
            "3.11",
            "11.8",
            r#"torch "2.2.1"; torchvision "0.17.0""#,
            &[(Code::TorchVersionMismatch, true)],
        );
        check("3.11", "11.8", r#"torch "2.0.0"; torchaudio "2.0.1""#, &[]);
        check(
            "3.11",
            "11.8",
            r#"torch "2.0.1"; torchaudio "2.0.1""#,
            &[(Code::TorchVersionMismatch, true)],
        );
        check(
            "3.13",
            "11.8",
            r#"torch "2.2.1""#,
            &[(Code::TorchPythonMismatch, true)],
        );
        check("3.13", "12.6", r#"torch "2.6.0""#, &[]);
        check(
            "3.12",
            "12.4",
            r#"- torch"#,
            &[(Code::TorchUnpinned, false)],
        );
        check(
            "3.12",
            "12.8",
            r#"torch "2.12.0""#,
            &[(Code::TorchUnknownVersion, false)],
        );
        check(
            "3.12",
            "13.1",
            r#"torch "2.10.0""#,
            &[(Code::InvalidCuda, false)],
        );
        check(
            "3.12",
            "10.2",
            r#"torch "2.2.1""#,
            &[(Code::InvalidCuda, true)],
        );
        check("3.11", "cpu", r#"torch "2.2.1""#, &[]);
    }

    #[test]
    fn python_tags() {
        assert_eq!(python_from_tag("python-3.11").as_deref(), Some("3.11"));
        assert_eq!(
            python_from_tag("2024-05-01-python-3.12.3").as_deref(),
            Some("3.12")
        );
        assert_eq!(python_from_tag("latest"), None);
    }
}
