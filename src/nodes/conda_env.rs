//! `environment.yml` files of the repository (`mamba environment="environment.yml"`): read and
//! checked when the manifest is compiled or checked, every problem pointing at its line of the
//! file. [`read`] takes a path and the file's text and gives the channels, the conda specs, the
//! `pip:` requirements (checked like the lines of a requirements file, see [`super::reqfile`])
//! and every problem; it knows nothing of apps, so any node that installs an environment file
//! can use it.
//!
//! The YAML is read with `saphyr-parser`, an event parser that gives every node its place in the
//! file (YAML 1.2). jcx builds its own small tree from the events: scalars stay text (conda
//! specs such as `python=3.10` must never become numbers), and anchors, aliases and nesting
//! deeper than [`MAX_DEPTH`] are refused.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::check::Checker;
use super::raw::Sp;
use super::reqfile::{FileCheck, FileReq, Logical};
use crate::error::{Code, Problem};

/// An `environment.yml` nests three levels (`dependencies`, `- pip:`, its list); deeper is not
/// one.
pub const MAX_DEPTH: usize = 16;

/// An `environment.yml` as read; every span points into it.
#[derive(Debug)]
pub struct EnvFile {
    pub source: Arc<NamedSource<String>>,
    /// `name:` and `prefix:` lines: jcx decides where the file goes (the base environment, or a
    /// kernel's), so each is warned about by the node that installs the file ([`check`]).
    pub placement: Vec<Placement>,
    pub channels: Vec<Sp<String>>,
    /// Conda match specs, as written.
    pub dependencies: Vec<Sp<String>>,
    /// The `- pip:` list.
    pub pip: Vec<FileReq>,
    pub problems: Vec<Problem>,
}

/// A `name:` or `prefix:` line of an environment file.
#[derive(Debug, Clone)]
pub struct Placement {
    /// `name` or `prefix`.
    pub key: &'static str,
    pub value: String,
    /// From the key to the end of the value.
    pub span: SourceSpan,
}

/// Where a node installs an environment file.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `mamba environment=`: the image's base environment (`mamba env update --name base`).
    Base,
    /// `kernel NAME environment=`: a new environment, `${CONDA_DIR}/envs/NAME`.
    Kernel(&'a str),
}

/// A YAML node with its place (byte offsets into the file).
#[derive(Debug)]
enum Node {
    /// The value, and whether it was written plain (unquoted).
    Scalar(String, SourceSpan, bool),
    Seq(Vec<Node>, SourceSpan),
    Map(Vec<(Node, Node)>, SourceSpan),
}

impl Node {
    fn span(&self) -> SourceSpan {
        match self {
            Node::Scalar(_, s, _) | Node::Seq(_, s) | Node::Map(_, s) => *s,
        }
    }

    /// A plain `~`, `null` or nothing: YAML's null.
    fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(v, _, true) if matches!(v.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    fn kind(&self) -> &'static str {
        match self {
            _ if self.is_null() => "nothing",
            Node::Scalar(..) => "a single value",
            Node::Seq(..) => "a list",
            Node::Map(..) => "a mapping",
        }
    }
}

/// Byte offsets of character indexes (the parser counts characters).
struct Offsets(Vec<usize>);

impl Offsets {
    fn new(text: &str) -> Self {
        let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        v.push(text.len());
        Offsets(v)
    }

    fn at(&self, char_index: usize) -> usize {
        self.0
            .get(char_index)
            .copied()
            .unwrap_or_else(|| *self.0.last().unwrap_or(&0))
    }

    fn span(&self, s: &Span) -> SourceSpan {
        let (a, b) = (self.at(s.start.index()), self.at(s.end.index()));
        SourceSpan::from((a, b.saturating_sub(a)))
    }
}

/// The first document of `text` as a tree, or the problem that stops reading it.
fn parse(text: &str) -> Result<Option<Node>, Box<Problem>> {
    let offsets = Offsets::new(text);
    let bad = |span: SourceSpan, message: String, help: &str| {
        Box::new(
            Problem::error(Code::InvalidPackageFile, span, message)
                .label("here")
                .help(help.to_string()),
        )
    };
    // Open collections: their items (a map's as alternating keys and values) and start.
    let mut stack: Vec<(bool, Vec<Node>, usize)> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = offsets.at(e.marker().index());
            bad(
                SourceSpan::from((at, 0)),
                format!("not valid YAML: {}", e.info()),
                "fix the YAML syntax (indentation, `:` after keys, `- ` before list items)",
            )
        })?;
        let sp = offsets.span(&span);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(bad(
                        sp,
                        "more than one YAML document".into(),
                        "an environment file is one document: remove the `---` and what follows",
                    ));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(bad(
                    sp,
                    "YAML aliases are not read".into(),
                    "write the value itself instead of `*alias`",
                ));
            }
            Event::Scalar(v, style, anchor, _) => {
                if anchor > 0 {
                    return Err(bad(
                        sp,
                        "YAML anchors are not read".into(),
                        "remove the `&anchor`",
                    ));
                }
                Node::Scalar(v.into_owned(), sp, style == ScalarStyle::Plain)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if anchor > 0 {
                    return Err(bad(
                        sp,
                        "YAML anchors are not read".into(),
                        "remove the `&anchor`",
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(bad(
                        sp,
                        format!("nested deeper than {MAX_DEPTH} levels"),
                        "an environment file nests three levels at most",
                    ));
                }
                stack.push((
                    matches!(event, Event::MappingStart(..)),
                    Vec::new(),
                    sp.offset(),
                ));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((is_map, items, start)) = stack.pop() else {
                    continue;
                };
                let end = (sp.offset() + sp.len()).max(start);
                let whole = SourceSpan::from((start, end - start));
                if is_map {
                    let mut pairs = Vec::new();
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Node::Map(pairs, whole)
                } else {
                    Node::Seq(items, whole)
                }
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some((_, items, _)) => items.push(node),
            None => root = Some(node),
        }
    }
    Ok(root)
}

/// Reads the environment file `path` (its text `text`).
pub fn read(path: &str, text: &str) -> EnvFile {
    let mut fc = FileCheck::new(path, text);
    let mut env = EnvFile {
        source: Arc::clone(&fc.source),
        placement: Vec::new(),
        channels: Vec::new(),
        dependencies: Vec::new(),
        pip: Vec::new(),
        problems: Vec::new(),
    };
    if fc.printable(&format!("`{path}`")) {
        match parse(text) {
            Err(p) => fc.push(*p),
            Ok(Some(Node::Map(pairs, _))) => {
                for (k, v) in &pairs {
                    top_level(&mut fc, &mut env, k, v);
                }
            }
            Ok(other) => fc.push(
                Problem::error(
                    Code::InvalidPackageFile,
                    other.as_ref().map_or(SourceSpan::from((0, 0)), Node::span),
                    format!("`{path}` is not a mapping of `channels:` and `dependencies:`"),
                )
                .label(other.as_ref().map_or("empty", Node::kind))
                .help("an environment file reads `channels:` (a list of channels) and `dependencies:` (a list of conda specs, and `- pip:` with a list of pip requirements)"),
            ),
        }
    }
    env.problems = fc.problems;
    env
}

fn top_level(fc: &mut FileCheck<'_>, env: &mut EnvFile, k: &Node, v: &Node) {
    let Node::Scalar(key, kspan, _) = k else {
        fc.push(not_a(
            k,
            "key",
            "a key is a plain word such as `dependencies`",
        ));
        return;
    };
    match key.as_str() {
        "name" | "prefix" => {
            let Node::Scalar(value, vspan, _) = v else {
                fc.push(not_a(v, "single value", "`name: lab`"));
                return;
            };
            env.placement.push(Placement {
                key: if key == "name" { "name" } else { "prefix" },
                value: value.clone(),
                span: SourceSpan::from((
                    kspan.offset(),
                    vspan.offset() + vspan.len() - kspan.offset(),
                )),
            });
        }
        "channels" => {
            for c in list(fc, v, "channels") {
                if let Node::Scalar(value, span, _) = c {
                    let c = Sp::new(value.clone(), *span);
                    check_channel(fc, &c);
                    env.channels.push(c);
                } else {
                    fc.push(not_a(c, "channel", "a channel is a name such as `conda-forge`, or an `https://` URL"));
                }
            }
        }
        "dependencies" => {
            for d in list(fc, v, "dependencies") {
                dependency(fc, env, d);
            }
        }
        "variables" => fc.push(
            Problem::error(Code::InvalidPackageFile, *kspan, "`variables:` are not read")
                .label("environment variables")
                .help("conda sets them only when the environment is activated, which a notebook kernel does not do: set them with the manifest's `env { NAME \"value\" }`"),
        ),
        other => fc.push(
            Problem::warning(Code::InvalidPackageFile, *kspan, format!("conda ignores the section `{}`", super::decode::shown(other)))
                .label("ignored")
                .help("conda reads `name`, `channels` and `dependencies`: remove the section"),
        ),
    }
}

/// A `what:` list (or nothing, an empty list).
fn list<'n>(fc: &mut FileCheck<'_>, v: &'n Node, what: &str) -> &'n [Node] {
    match v {
        Node::Seq(items, _) => items,
        _ if v.is_null() => &[],
        _ => {
            fc.push(not_a(
                v,
                "list",
                &format!("write `{what}:` followed by lines `  - item`"),
            ));
            &[]
        }
    }
}

fn not_a(n: &Node, what: &str, help: &str) -> Problem {
    Problem::error(
        Code::InvalidPackageFile,
        n.span(),
        format!("expected a {what}, found {}", n.kind()),
    )
    .label(n.kind())
    .help(help.to_string())
}

fn dependency(fc: &mut FileCheck<'_>, env: &mut EnvFile, d: &Node) {
    match d {
        Node::Scalar(spec, span, _) if !d.is_null() => {
            let spec = Sp::new(spec.clone(), *span);
            if check_spec(fc, &spec) {
                env.dependencies.push(spec);
            }
        }
        Node::Map(pairs, _) => {
            for (k, v) in pairs {
                match k {
                    Node::Scalar(key, _, _) if key == "pip" => {
                        for r in list(fc, v, "pip") {
                            env.pip.extend(pip_entry(fc, r));
                        }
                    }
                    _ => fc.push(
                        Problem::error(
                            Code::InvalidPackageFile,
                            k.span(),
                            "the only mapping among `dependencies` is `- pip:`",
                        )
                        .label("not `pip`")
                        .help("list conda specs as `- name=1.2`, pip requirements under `- pip:`"),
                    ),
                }
            }
        }
        _ => fc.push(not_a(
            d,
            "conda spec",
            "a dependency is a conda spec such as `numpy=1.26`, or `- pip:` with a list",
        )),
    }
}

/// One `- pip:` entry: conda writes each into a requirements file for pip, so it is read as
/// one line of one.
fn pip_entry(fc: &mut FileCheck<'_>, r: &Node) -> Option<FileReq> {
    let Node::Scalar(value, span, _) = r else {
        fc.push(not_a(
            r,
            "pip requirement",
            "a pip requirement such as `requests==2.32.3`",
        ));
        return None;
    };
    if value.contains(['\n', '\r']) {
        fc.push(
            Problem::error(
                Code::ControlCharacter,
                *span,
                "the pip requirement spans several lines",
            )
            .label("several lines")
            .help("write one requirement per entry"),
        );
        return None;
    }
    // Where the value's text starts in the file (after a quote); the whole scalar when it was
    // written with escapes.
    let raw = fc
        .text
        .get(span.offset()..span.offset() + span.len())
        .unwrap_or("");
    let at = raw
        .find(value.as_str())
        .map_or(span.offset(), |i| span.offset() + i);
    super::reqfile::line(fc, &Logical::new(at, value), false)
}

/// A channel name (`conda-forge`, `conda-forge/label/x`) or an `https://` URL without
/// credentials.
fn check_channel(fc: &mut FileCheck<'_>, c: &Sp<String>) {
    if let Some(p) = channel_problem(c) {
        fc.push(p);
    }
}

/// What is wrong with a channel (of an environment file or of `conda-config`), if anything.
pub fn channel_problem(c: &Sp<String>) -> Option<Problem> {
    let v = c.v.as_str();
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.split('/').all(|part| {
                !part.is_empty()
                    && part.as_bytes()[0].is_ascii_alphanumeric()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            })
    };
    let help = if let Some(rest) = v.strip_prefix("https://") {
        let host = rest.split('/').next().unwrap_or("");
        if !host.contains('@')
            && !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"'`$\\{}<>|".contains(&b))
        {
            return None;
        }
        "a channel URL has no credentials (`user@`), spaces or quotes: it is read by every build"
    } else if v.contains("://") || v.starts_with(['/', '.', '~']) {
        "a channel is a name (`conda-forge`) or an `https://` URL: conda checks no signature, so `http://` could be replaced on the way, and local paths do not exist in the image build"
    } else if name_ok(v) {
        return None;
    } else {
        "a channel is a name such as `conda-forge` (letters, digits, `_.-`, and `/label/...`), or an `https://` URL"
    };
    Some(
        Problem::error(
            Code::InvalidChannel,
            c.span,
            format!("`{}` is not a channel jcx accepts", super::decode::shown(v)),
        )
        .label("channel")
        .help(help),
    )
}

/// A conda match spec as an environment file writes it: `[channel::]name[ version[ build]]`,
/// with operators (`>=1.2,<2`), `=1.2`, `1.2.*`, `=1.2=build` or `[key='value']` brackets.
/// The file is read by conda, never by a shell, so spaces and quotes are fine.
pub fn is_env_spec(s: &str) -> bool {
    let Some(spec) = super::packages::without_channel(s, b"-_./") else {
        return false;
    };
    let (name, rest) = spec.split_at(super::packages::name_end(spec));
    let b = name.as_bytes();
    !name.is_empty()
        && name.len() <= 100
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .*,<>=!~|_+-[]'\"".contains(c))
        && (rest.is_empty() || rest.starts_with([' ', '=', '<', '>', '!', '~', '[']))
}

fn check_spec(fc: &mut FileCheck<'_>, spec: &Sp<String>) -> bool {
    if is_env_spec(spec.v.trim()) {
        return true;
    }
    fc.push(
        Problem::error(
            Code::InvalidCondaSpec,
            spec.span,
            format!("`{}` is not a conda spec", super::decode::shown(&spec.v)),
        )
        .label("conda spec")
        .help("write `name`, `name=1.2`, `name>=1.2,<2`, `name 1.2.*` or `channel::name`"),
    );
    false
}

/// Checks the environment file a `mamba environment=` or `kernel environment=` names, where it
/// is written: its path (reported at the node), then its content (reported in the file), then
/// its `name:` and `prefix:` lines, which `target` decides instead. Read once per path.
pub(super) fn check(cx: &mut Checker<'_>, src: &Sp<String>, target: Target<'_>) {
    let Some(file) = super::files::cached_package_file(
        cx,
        src,
        "environment file",
        |c| &mut c.environments,
        read,
    ) else {
        return;
    };
    for p in &file.problems {
        cx.push(p.clone());
    }
    for p in &file.placement {
        let (message, help) = match target {
            Target::Base if p.key == "name" && p.value == "base" => continue,
            Target::Base => (
                format!(
                    "`{}:` is ignored: jcx installs the file into the image's base environment",
                    p.key
                ),
                format!(
                    "remove the `{}:` line (`conda env export` writes one), or write `name: base`",
                    p.key
                ),
            ),
            Target::Kernel(name) => (
                format!(
                    "`{}:` is ignored: kernel `{name}`'s environment is ${{CONDA_DIR}}/envs/{name}",
                    p.key
                ),
                format!(
                    "remove the `{}:` line (`conda env export` writes one): the kernel's name decides where its environment goes",
                    p.key
                ),
            ),
        };
        cx.push(
            Problem::warning(Code::InvalidPackageFile, p.span, message)
                .label("ignored")
                .help(help)
                .in_file(&file.source),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        read("environment.yml", text)
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.code,
                    &text[p.span.offset()..p.span.offset() + p.span.len()]
                )
            })
            .collect()
    }

    #[test]
    fn reads_a_typical_file() {
        let text = "name: base\nchannels:\n  - conda-forge\n  - nodefaults\ndependencies:\n  - python=3.11\n  - numpy >=1.26,<2\n  - \"r-base=4.3\"\n  - pip\n  - pip:\n      - requests==2.32.3\n      - 'idna==3.7 ; python_version < \"3.12\"'\n";
        let env = read("environment.yml", text);
        assert!(env.problems.is_empty(), "{:?}", env.problems);
        assert_eq!(env.placement[0].value, "base");
        let deps: Vec<&str> = env.dependencies.iter().map(|d| d.v.as_str()).collect();
        assert_eq!(
            deps,
            ["python=3.11", "numpy >=1.26,<2", "r-base=4.3", "pip"]
        );
        let pips: Vec<&str> = env.pip.iter().map(|p| p.pip.text.as_str()).collect();
        assert_eq!(
            pips,
            ["requests==2.32.3", "idna==3.7 ; python_version < \"3.12\""]
        );
        assert_eq!(&text[env.pip[1].pip.span.offset()..][..9], "idna==3.7");
        assert_eq!(env.channels.len(), 2);
    }

    #[test]
    fn refusals_point_at_their_line() {
        let text = "name: lab\nprefix: /home/me/conda\nchannels:\n  - http://x.example/c\n  - ./local\nvariables:\n  A: b\ndependencies:\n  - \"numpy;rm\"\n  - pip:\n      - --index-url https://x.example/simple\n      - -r other.txt\n      - foo==1 --hash=sha256:00\n  - other:\n      - x\n";
        let env = read("environment.yml", text);
        let placed: Vec<&str> = env
            .placement
            .iter()
            .map(|p| &text[p.span.offset()..p.span.offset() + p.span.len()])
            .collect();
        assert_eq!(placed, ["name: lab", "prefix: /home/me/conda"]);
        assert_eq!(
            problems(text),
            [
                "jcx::invalid_channel http://x.example/c",
                "jcx::invalid_channel ./local",
                "jcx::invalid_package_file variables",
                "jcx::invalid_conda_spec \"numpy;rm\"",
                "jcx::pip_option --index-url",
                "jcx::pip_option -r",
                "jcx::pip_option --hash=sha256:00",
                "jcx::invalid_package_file other",
            ]
        );
    }

    #[test]
    fn bad_yaml_and_shapes() {
        assert_eq!(problems("dependencies: [a\n").len(), 1);
        assert_eq!(
            problems("- a\n- b\n"),
            ["jcx::invalid_package_file - a\n- b\n"]
        );
        assert_eq!(
            problems("x: &a 1\ny: *a\n"),
            ["jcx::invalid_package_file &a 1"]
        );
        assert!(
            problems("")
                .iter()
                .all(|p| p.starts_with("jcx::invalid_package_file"))
        );
        let deep = format!("dependencies: {}{}\n", "[".repeat(40), "]".repeat(40));
        assert_eq!(problems(&deep).len(), 1);
    }

    #[test]
    fn specs() {
        for ok in [
            "numpy",
            "numpy=1.26",
            "numpy >=1.26,<2",
            "conda-forge::r-base=4.3",
            "_libgcc_mutex",
            "numpy 1.26.* py311*",
            "pytorch[build=*cuda*]",
            "libblas=*=*mkl",
        ] {
            assert!(is_env_spec(ok), "{ok}");
        }
        for bad in ["", "numpy;rm", "$(x)", "-numpy", "numpy`", "numpy\\"] {
            assert!(!is_env_spec(bad), "{bad}");
        }
    }
}
