//! Requirements files of the repository (`pip requirements="requirements.txt"`), read the way
//! pip reads them: a line ending in `\` is joined with the next (a comment line ends the join),
//! ` #` starts a comment, and on each resulting line the words before the first word starting
//! with `-` are the requirement, the rest its options. Each requirement is then checked by the
//! rules of an inline requirement ([`super::pip`]). Every problem points at its line of the file.
//!
//! What a requirements file may hold beyond inline requirements: `--hash=ALGO:HEX` options (the
//! output of `pip-compile --generate-hashes` and `uv export`), which put pip into hash-checking
//! mode for the whole file. Option lines (`--index-url`, `-r`, `-c`, `-e`, ...) and other
//! per-requirement options are refused, as in the manifest.

use std::collections::HashMap;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::check::{Checker, control_char};
use super::identity::Resolved;
use super::packages::{MAMBA, RawMambaEnv};
use super::pip::{PIP, Pip, RawPip, RawPipFile, TORCH_FAMILY};
use super::raw::Sp;
use crate::error::{Code, Problem};
use crate::model::PipFile;

/// One requirement of a package file; `pip.span` points into the file.
#[derive(Debug, Clone)]
pub struct FileReq {
    pub pip: Pip,
    /// How many `--hash` options it has.
    pub hashes: usize,
}

/// A requirements file as read: its requirements, whether pip reads it in hash-checking mode,
/// and every problem (each pointing into the file).
#[derive(Debug)]
pub struct ReqFile {
    pub source: Arc<NamedSource<String>>,
    pub reqs: Vec<FileReq>,
    /// At least one requirement has `--hash`: pip then demands one on every requirement.
    pub hashed: bool,
    pub problems: Vec<Problem>,
}

/// Problems found in one repository file, each pointed into it.
pub(super) struct FileCheck<'t> {
    pub source: Arc<NamedSource<String>>,
    pub text: &'t str,
    pub problems: Vec<Problem>,
}

impl<'t> FileCheck<'t> {
    pub fn new(path: &str, text: &'t str) -> Self {
        FileCheck {
            source: Arc::new(NamedSource::new(path, text.to_string())),
            text,
            problems: Vec::new(),
        }
    }

    pub fn push(&mut self, p: Problem) {
        self.problems.push(p.in_file(&self.source));
    }

    /// The first character a generated file or a terminal must not get (newlines, carriage
    /// returns and tabs are the file's own), reported; `false` when there is one.
    pub fn printable(&mut self, what: &str) -> bool {
        let text = self.text.strip_prefix('\u{feff}').unwrap_or(self.text);
        let at = self.text.len() - text.len();
        let Some((i, c)) = control_char(&text.replace('\r', "\n"), true) else {
            return true;
        };
        self.push(
            Problem::error(
                Code::ControlCharacter,
                SourceSpan::from((at + i, c.len_utf8())),
                format!("{what} contains the control character U+{:04X}", c as u32),
            )
            .label("here")
            .help("a package file is plain text: remove the character"),
        );
        false
    }

    /// The rules of an inline requirement, for `text` at `span` of the file.
    pub fn requirement(&mut self, text: &str, span: SourceSpan) -> Option<Pip> {
        let mut problems = Vec::new();
        let mut cx = Checker {
            problems: &mut problems,
            text: self.text,
            root: None,
            files: Default::default(),
        };
        let raw = RawPip {
            span,
            text: Sp::new(text.to_string(), span),
        };
        let pip = super::pip::requirement(&mut cx, &raw);
        for p in problems {
            self.push(p);
        }
        pip
    }

    /// `path:LINE` of a place in this file, for messages that name it from elsewhere.
    pub fn place(source: &NamedSource<String>, span: SourceSpan) -> String {
        let (line, _) = crate::source::line_col(source.inner(), span.offset());
        format!("{}:{line}", source.name())
    }
}

/// One line as pip sees it, after joining `\` continuations: its text and, for each joined
/// piece, where the piece starts in the logical text and in the file.
#[derive(Debug, Default)]
pub(super) struct Logical {
    pub text: String,
    segs: Vec<(usize, usize)>,
}

impl Logical {
    pub fn new(offset: usize, text: &str) -> Self {
        let mut l = Logical::default();
        l.push(offset, text);
        l
    }

    fn push(&mut self, offset: usize, text: &str) {
        self.segs.push((self.text.len(), offset));
        self.text.push_str(text);
    }

    /// The file span of `start..end` of the logical text, cut at the end of the physical line
    /// `start` lies on.
    pub fn span(&self, start: usize, end: usize) -> SourceSpan {
        let i = self
            .segs
            .iter()
            .rposition(|(l, _)| *l <= start)
            .unwrap_or(0);
        let (l, f) = self.segs.get(i).copied().unwrap_or((0, 0));
        let seg_end = self.segs.get(i + 1).map_or(self.text.len(), |s| s.0);
        let end = end.min(seg_end).max(start);
        SourceSpan::from((f + start - l, end - start))
    }
}

/// Physical lines (`\n`, `\r\n` or `\r` ends one), each with its offset.
fn physical(text: &str, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            out.push((base + start, &text[start..i]));
            if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < b.len() {
        out.push((base + start, &text[start..]));
    }
    out
}

/// pip's `COMMENT_RE.match`: a line of only a comment.
fn comment_line(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// pip's `join_lines`: a line ending in `\` (not a comment line) continues on the next; the
/// backslashes at both ends of a continued line are dropped.
fn logical_lines(text: &str, base: usize) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut open: Option<Logical> = None;
    for (offset, line) in physical(text, base) {
        let comment = comment_line(line);
        if !line.ends_with('\\') || comment {
            match open.take() {
                Some(mut l) => {
                    // pip puts a space before a comment line it joins, so that it is dropped.
                    l.push(offset, if comment { "" } else { line });
                    out.push(l);
                }
                None => out.push(Logical::new(offset, line)),
            }
        } else {
            let lead = line.len() - line.trim_start_matches('\\').len();
            let piece = line.trim_matches('\\');
            open.get_or_insert_with(Logical::default)
                .push(offset + lead, piece);
        }
    }
    out.extend(open);
    out
}

/// pip's `ignore_comments`: the text up to the first `#` that starts the line or follows
/// whitespace, trimmed; as a range of the logical text.
pub(super) fn content(text: &str) -> (usize, usize) {
    let mut cut = text.len();
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        if c == '#' && prev_space {
            cut = i;
            break;
        }
        prev_space = c.is_whitespace();
    }
    let kept = text[..cut].trim_end();
    let start = kept.len() - kept.trim_start().len();
    (start, kept.len())
}

/// The words of `s` with their offsets.
fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// What an option line of a requirements file would do, and what to do instead.
fn option_help(opt: &str, rest: &str) -> String {
    match opt {
        "--index-url" | "-i" | "--extra-index-url" | "--trusted-host" | "--find-links" | "-f"
        | "--no-index" => "indexes are not set in package files: torch, torchvision and torchaudio come from the PyTorch index chosen by `cuda`, everything else from the default index or the `mirrors { pypi ... }` mirror. Generate the file without them (`pip-compile --no-emit-index-url`, `uv pip compile` without `--emit-index-url`)".to_string(),
        "-r" | "--requirement" => format!(
            "name each file in the manifest instead: `pip requirements=\"{}\"` (a path from the repository root)",
            rest.trim()
        ),
        "-c" | "--constraint" => "constraints files are not read: pin the versions in the file itself".to_string(),
        "-e" | "--editable" => {
            let target = rest.trim();
            if target.starts_with('.') || target.starts_with('/') || target.starts_with("file:") {
                "the project itself is not in the image's build: export the lock without it (`uv export --no-emit-project`, or drop `-e .` from the input of pip-compile)".to_string()
            } else {
                "editable installs do not belong in an image: write `name @ git+https://...`".to_string()
            }
        }
        _ => "pip options are not read from package files: jcx writes the `pip install` command. Remove the line".to_string(),
    }
}

/// One logical line of a requirements file (or one `pip:` entry of an `environment.yml`):
/// `None` when it is empty, a comment, or refused. `hashes` allows `--hash` options.
pub(super) fn line(fc: &mut FileCheck<'_>, l: &Logical, hashes: bool) -> Option<FileReq> {
    let (start, end) = content(&l.text);
    let text = &l.text[start..end];
    if text.is_empty() {
        return None;
    }
    if let Some(i) = text.find("${") {
        fc.push(
            Problem::error(
                Code::InvalidPip,
                l.span(start + i, end),
                "pip expands `${...}` from the build's environment",
            )
            .label("environment variable")
            .help("write the value itself"),
        );
        return None;
    }
    // pip's `break_args_options`: words split on single spaces, up to the first `-` word.
    let mut opt_at = None;
    let mut pos = 0;
    for tok in text.split(' ') {
        if tok.starts_with('-') {
            opt_at = Some(pos);
            break;
        }
        pos += tok.len() + 1;
    }
    let req_end = opt_at.map_or(text.len(), |o| text[..o].trim_end().len());
    if req_end == 0 {
        let first = text
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or(text);
        fc.push(
            Problem::error(
                Code::PipOption,
                l.span(start, start + first.len()),
                format!("pip option `{first}` is not allowed in a package file"),
            )
            .label("pip option")
            .help(option_help(
                first,
                text[first.len()..].trim_start_matches('='),
            )),
        );
        return None;
    }
    let span = l.span(start, start + req_end);
    let mut n_hashes = 0;
    let mut ok = true;
    if let Some(o) = opt_at {
        let opts = words(&text[o..]);
        let mut i = 0;
        while i < opts.len() {
            let (at, w) = opts[i];
            let at = start + o + at;
            let value = match w.strip_prefix("--hash") {
                Some(v) if hashes && v.starts_with('=') => Some((at + 7, &v[1..])),
                Some("") if hashes => {
                    i += 1;
                    opts.get(i).map(|(a, v)| (start + o + a, *v))
                }
                _ => None,
            };
            match value {
                Some((vat, v)) => {
                    ok &= check_hash(fc, v, l.span(vat, vat + v.len()));
                    n_hashes += 1;
                }
                None => {
                    let opt = w.split('=').next().unwrap_or(w);
                    let help = if opt == "--hash" {
                        "`--hash` belongs in requirements files (`pip requirements=`), not in an `environment.yml`".to_string()
                    } else {
                        "a requirement of a package file may carry `--hash` options only; per-requirement options (`--config-settings`, index options) are not read".to_string()
                    };
                    fc.push(
                        Problem::error(
                            Code::PipOption,
                            l.span(at, at + w.len()),
                            format!("pip option `{opt}` is not allowed in a package file"),
                        )
                        .label("pip option")
                        .help(help),
                    );
                    ok = false;
                }
            }
            i += 1;
        }
    }
    let pip = fc.requirement(&text[..req_end], span)?;
    ok.then_some(FileReq {
        pip,
        hashes: n_hashes,
    })
}

/// `ALGO:HEX`, with an algorithm pip accepts and as many digits as it makes.
fn check_hash(fc: &mut FileCheck<'_>, v: &str, span: SourceSpan) -> bool {
    let digits = match v.split_once(':') {
        Some(("sha256", h)) => (64, h),
        Some(("sha384", h)) => (96, h),
        Some(("sha512", h)) => (128, h),
        _ => (0, ""),
    };
    if digits.0 > 0 && digits.1.len() == digits.0 && digits.1.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return true;
    }
    fc.push(
        Problem::error(Code::InvalidChecksum, span, format!("`{}` is not a hash pip accepts", super::decode::shown(v)))
            .label("hash")
            .help("write `--hash=sha256:` and the 64 hexadecimal digits of the file's sha256 (sha384 and sha512 work too), as `pip hash` or `pip-compile --generate-hashes` print it"),
    );
    false
}

/// Reads the requirements file `path` (its text `text`): every requirement, and every problem.
pub fn read(path: &str, text: &str) -> ReqFile {
    let mut fc = FileCheck::new(path, text);
    let mut reqs = Vec::new();
    if fc.printable(&format!("`{path}`")) {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        for l in logical_lines(body, text.len() - body.len()) {
            reqs.extend(line(&mut fc, &l, true));
        }
    }
    let hashed = reqs.iter().any(|r| r.hashes > 0);
    if hashed {
        for r in &reqs {
            let what = if r.hashes == 0 {
                format!(
                    "`{}` has no `--hash`, but other requirements of this file do",
                    r.pip.name
                )
            } else if r.pip.pin.is_none() && r.pip.url.is_none() {
                format!(
                    "`{}` is not pinned with `==` in a file with hashes",
                    r.pip.name
                )
            } else {
                continue;
            };
            fc.push(
                Problem::error(Code::IncompleteLock, r.pip.span, what)
                    .label("in hash-checking mode")
                    .help("one `--hash` puts pip into hash-checking mode for the whole file: every requirement needs an exact `==` pin and its hashes. Regenerate the lock (`pip-compile --generate-hashes`, `uv export`), or drop every hash"),
            );
        }
    }
    ReqFile {
        source: fc.source,
        reqs,
        hashed,
        problems: fc.problems,
    }
}

/// Checks the requirements file a `pip requirements=` names, where it is written: its path
/// (reported at the node), then its lines (reported in the file). Read once per path.
pub(super) fn check(cx: &mut Checker<'_>, src: &Sp<String>) {
    let Some(file) = super::files::cached_package_file(
        cx,
        src,
        "requirements file",
        |c| &mut c.requirements,
        read,
    ) else {
        return;
    };
    for p in &file.problems {
        cx.push(p.clone());
    }
}

/// A requirement of an app (or of a kernel's environment) and where it is written.
pub(super) struct Placed<'a> {
    pub pip: &'a Pip,
    /// `None`: the manifest.
    pub file: Option<&'a Arc<NamedSource<String>>>,
}

/// The requirements of one environment, in install order: each requirement of a file that an
/// earlier one requires differently is refused (`jcx::conflicting_pin`), and `in_file` sees
/// every requirement of a file (the manifest's own are checked where they are written).
pub(super) fn check_placed(
    cx: &mut Checker<'_>,
    placed: &[Placed<'_>],
    mut in_file: impl FnMut(&mut Checker<'_>, &Pip, &Arc<NamedSource<String>>),
) {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in placed.iter().enumerate() {
        let earlier = by_name.entry(p.pip.name.as_str()).or_default();
        if let Some(file) = p.file {
            in_file(cx, p.pip, file);
            if let Some(&q) = earlier.iter().find(|&&q| {
                placed[q].pip.overlaps(p.pip) && placed[q].pip.canonical != p.pip.canonical
            }) {
                cx.push(conflict(&placed[q], p));
            }
        }
        earlier.push(i);
    }
}

/// The package files of a resolved app, checked against the app: the torch family of a `cuda`
/// app comes from the PyTorch index only, and no package is required differently in two places
/// (the manifest's own requirements are checked against each other where they are written).
/// Returns the app's requirements files.
pub fn app_files(cx: &mut Checker<'_>, r: &Resolved) -> Vec<PipFile> {
    let s = &r.settings;
    let cuda = super::cuda::cuda_of(s).is_some();
    let cuda_refused = s.refused.contains(&super::cuda::CUDA.name);
    let cached: Vec<Option<Arc<ReqFile>>> = s
        .items::<RawPipFile>(&PIP)
        .map(|f| cx.files.requirements.get(&f.path.v).cloned())
        .collect();
    let files: Vec<&Arc<ReqFile>> = cached.iter().flatten().collect();
    let envs: Vec<Arc<super::conda_env::EnvFile>> = s
        .items::<RawMambaEnv>(&MAMBA)
        .filter_map(|e| cx.files.environments.get(&e.path.v).cloned())
        .collect();
    let inline = super::pip::requirements(r);
    let mut placed: Vec<Placed<'_>> = inline
        .iter()
        .map(|pip| Placed { pip, file: None })
        .collect();
    for f in files {
        placed.extend(f.reqs.iter().map(|q| Placed {
            pip: &q.pip,
            file: Some(&f.source),
        }));
    }
    for e in &envs {
        placed.extend(e.pip.iter().map(|q| Placed {
            pip: &q.pip,
            file: Some(&e.source),
        }));
    }
    check_placed(cx, &placed, |cx, pip, file| {
        if TORCH_FAMILY.contains(&pip.name.as_str()) {
            torch_in_file(cx, pip, file, cuda, cuda_refused, &r.name.v);
        }
    });
    s.items::<RawPipFile>(&PIP)
        .zip(&cached)
        .enumerate()
        .map(|(i, (f, c))| PipFile {
            src: f.path.v.clone(),
            dest: super::files::temp_name(i, &f.path.v),
            hashed: c.as_ref().is_some_and(|c| c.hashed),
            requirements: c.as_ref().map_or(0, |c| c.reqs.len()),
        })
        .collect()
}

fn torch_in_file(
    cx: &mut Checker<'_>,
    pip: &Pip,
    file: &Arc<NamedSource<String>>,
    cuda: bool,
    cuda_refused: bool,
    app: &str,
) {
    let name = &pip.name;
    let p = if cuda {
        Problem::error(Code::TorchInFile, pip.span, format!("`{name}` comes from the PyTorch index chosen by `cuda`, not from a package file"))
            .label("from the CUDA index only")
            .help(format!("pin it in the manifest (`pip {{ {name} \"X.Y.Z\" }}`) and leave it out of the file: `uv pip compile --no-emit-package {name}`, `uv export --no-emit-package {name}`, or `pip-compile --unsafe-package {name}`"))
    } else if !cuda_refused {
        Problem::warning(Code::TorchWithoutCuda, pip.span, format!("`{name}` comes from the default index because app `{app}` sets no `cuda`"))
            .label("from the default index")
            .help("add `cuda \"11.8\"` (or another version, or `cpu`) to install it from the matching PyTorch wheel index, and pin it in the manifest instead of the file")
    } else {
        return;
    };
    cx.push(p.in_file(file));
}

/// `later` requires a package that `first` requires differently.
fn conflict(first: &Placed<'_>, later: &Placed<'_>) -> Problem {
    let (a, b) = (first.pip, later.pip);
    let help = "keep one: both are installed into the same environment, and pip cannot satisfy two different requirements of one package. Remove the manifest's requirement, or change the file";
    match first.file {
        // The manifest's requirement is the one to change: point at it.
        None => Problem::error(
            Code::ConflictingPin,
            a.span,
            format!(
                "`{}` is required twice, differently: `{}` here and `{}` in `{}`",
                a.name,
                a.text,
                b.text,
                later
                    .file
                    .map_or_else(String::new, |f| FileCheck::place(f, b.span))
            ),
        )
        .label("manifest requirement")
        .help(help),
        Some(f) => Problem::error(
            Code::ConflictingPin,
            b.span,
            format!(
                "`{}` is required twice, differently: `{}` in `{}` and `{}` here",
                b.name,
                a.text,
                FileCheck::place(f, a.span),
                b.text
            ),
        )
        .label("second requirement")
        .help(help)
        .in_file(later.file.unwrap_or(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reqs(text: &str) -> (Vec<String>, Vec<String>, bool) {
        let f = read("requirements.txt", text);
        let names = f.reqs.iter().map(|r| r.pip.text.clone()).collect();
        let codes = f
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.code,
                    &text[p.span.offset()..p.span.offset() + p.span.len()]
                )
            })
            .collect();
        (names, codes, f.hashed)
    }

    #[test]
    fn pip_compile_output() {
        let text = "#\n# This file is autogenerated by pip-compile with Python 3.11\n#\nattrs==23.2.0 \\\n    --hash=sha256:99b87a485a5820b23b879f04c2305b44b951b502fd64be915879d77a7e8fc6f1 \\\n    --hash=sha256:c9227bfc2f01993c03f68db37d1d15c9690188323c067c641f1a35ca58185f99\n    # via -r requirements.in\nidna==3.7 ; python_version < \"3.12\" \\\n    --hash=sha256:82fee1fc78add43492d3a1898bfa6d8a904cc97d8427f683ed8e798d07761aa0\n    # via requests\n";
        let (names, problems, hashed) = reqs(text);
        assert_eq!(
            names,
            ["attrs==23.2.0", "idna==3.7 ; python_version < \"3.12\""]
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(hashed);
    }

    #[test]
    fn options_and_escapes() {
        let (names, problems, _) = reqs(
            "--index-url https://x/simple\n-r other.txt\nfoo==1 --config-settings=a=b\nbar==2 # note\nbaz${X}\n-e .\n",
        );
        assert_eq!(names, ["bar==2"]);
        assert_eq!(
            problems,
            [
                "jcx::pip_option --index-url",
                "jcx::pip_option -r",
                "jcx::pip_option --config-settings=a=b",
                "jcx::invalid_pip ${X}",
                "jcx::pip_option -e",
            ]
        );
    }

    #[test]
    fn hash_mode_needs_every_hash_and_pin() {
        let h = "0".repeat(64);
        let (_, problems, hashed) = reqs(&format!(
            "a==1 --hash=sha256:{h}\nb==2\nc>=1 --hash=sha256:{h}\nd==1 --hash=md5:00\n"
        ));
        assert!(hashed);
        assert_eq!(
            problems,
            [
                "jcx::invalid_checksum md5:00",
                "jcx::incomplete_lock b==2",
                "jcx::incomplete_lock c>=1",
            ]
        );
    }

    #[test]
    fn continuation_and_comment_lines() {
        // A comment line ends a continuation; backslashes at both ends of a continued line go.
        let (names, problems, _) = reqs("foo\\\n==1.0\n# c \\\nbar \\\n# x\nbaz\r\nqux\rquux");
        assert_eq!(names, ["foo==1.0", "bar", "baz", "qux", "quux"]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(content("a #b"), (0, 1));
        assert_eq!(content("a#b"), (0, 3));
        assert_eq!(content("  #b"), (0, 0));
    }
}
