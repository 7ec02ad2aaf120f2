//! `dockerfile "..." user=root|notebook`: the escape hatch. Blocks are spliced into the app's
//! single stage in manifest order, so each is read the way BuildKit will read it: no block may
//! start a stage, carry a parser directive or leave an instruction open into jcx's lines.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, DockerfileBlock};

pub static DOCKERFILE: Setting = Setting {
    name: "dockerfile",
    shape: Shape::Custom(read),
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("dockerfile #\"RUN echo hi\"#"),
    check,
    explain: Explain::Custom(explain),
};

#[derive(Debug, Clone)]
pub struct RawDockerfile {
    pub span: SourceSpan,
    pub text: Sp<String>,
    pub as_root: bool,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let text = en.one_string(
        "Dockerfile lines (a raw string such as #\"RUN echo hi\"#)",
        problems,
    );
    let user = en.prop_string("user", problems);
    en.finish(&["user"], problems);
    no_children(node, problems);
    let as_root = match &user {
        None => false,
        Some(u) if u.v == "root" => true,
        Some(u) if u.v == "notebook" => false,
        Some(u) => {
            problems.push(
                Problem::error(
                    Code::InvalidDockerfile,
                    u.span,
                    format!("unknown user `{}` for a `dockerfile` block", u.v),
                )
                .label("user")
                .help("expected one of `root`, `notebook` (the default)"),
            );
            false
        }
    };
    let block = RawDockerfile {
        span: node.span(),
        text: text?,
        as_root,
    };
    Some(Value::Items(vec![Box::new(block)]))
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    for d in v.items::<RawDockerfile>() {
        check_block(cx, d);
    }
}

fn check_block(cx: &mut Checker<'_>, d: &RawDockerfile) {
    if !cx.safe(&d.text, "the `dockerfile` block", true) {
        return;
    }
    if d.text.v.trim().is_empty() {
        cx.push(
            Problem::error(
                Code::InvalidDockerfile,
                d.text.span,
                "the `dockerfile` block is empty",
            )
            .help("write Dockerfile instructions, or remove the node"),
        );
    }
    for (issue, line) in scan_dockerfile_block(&d.text.v) {
        let span = cx.line_span(d.text.span, line, &d.text.v);
        let problem = match issue {
        BlockIssue::From => Problem::error(Code::InvalidDockerfile, span, "a `dockerfile` block may not start a new build stage (`FROM`)")
            .label("contains FROM")
            .help("the block is inserted into the app's single stage; set the base image with `base` instead"),
        BlockIssue::Directive => Problem::error(Code::InvalidDockerfile, span, "a `dockerfile` block may not contain a parser directive")
            .help("jcx writes `# syntax=docker/dockerfile:1` at the top of every Dockerfile"),
        BlockIssue::OpenContinuation => Problem::error(Code::InvalidDockerfile, span, "the `dockerfile` block ends with a line continued by `\\`")
            .label("last instruction is unfinished")
            .help("remove the trailing `\\`: the next line of the Dockerfile is jcx's, and it would be swallowed into this instruction"),
        BlockIssue::OpenHeredoc(word) => Problem::error(Code::InvalidDockerfile, span, format!("the `dockerfile` block ends inside a heredoc (`<<{word}` is never closed)"))
            .label("opened here, never closed")
            .help(format!("end the heredoc with a line `{word}` inside the block")),
    };
        cx.push(problem);
    }
}

pub fn model(s: &RawSettings) -> Vec<DockerfileBlock> {
    s.items::<RawDockerfile>(&DOCKERFILE)
        .map(|d| DockerfileBlock {
            as_root: d.as_root,
            lines: trim_block(&d.text.v),
        })
        .collect()
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for d in r.settings.items::<RawDockerfile>(&DOCKERFILE) {
        let lines = d.text.v.trim().lines().count();
        let who = if d.as_root {
            "as root"
        } else {
            "as the notebook user"
        };
        let o = cx.origin(d.span);
        cx.push(
            "dockerfile",
            format!("{lines} line{} {who}", if lines == 1 { "" } else { "s" }),
            o,
        );
    }
}

/// What makes a `dockerfile` block unsafe to splice into a generated Dockerfile.
#[derive(Debug, PartialEq, Eq)]
enum BlockIssue {
    From,
    Directive,
    OpenContinuation,
    OpenHeredoc(String),
}

/// Reads a block the way BuildKit does: instructions, `\` continuations (which skip blank and
/// comment lines) and `<<WORD` heredocs of RUN/COPY/ADD (whose bodies are data, so a Python
/// `from x import y` in one is not a `FROM`).
fn scan_dockerfile_block(text: &str) -> Vec<(BlockIssue, usize)> {
    let mut issues = Vec::new();
    let mut last = 0;
    let mut continued = false;
    // The instruction the current (possibly continued) line belongs to.
    let mut instruction = String::new();
    let mut heredocs: std::collections::VecDeque<(String, bool, usize)> = Default::default();
    for (n, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            last = n;
        }
        if let Some((word, strip_tabs, _)) = heredocs.front() {
            let body = if *strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if body.trim_end_matches('\r') == word {
                heredocs.pop_front();
            }
            continue;
        }
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            // Inside a continuation BuildKit skips these lines; outside they are comments.
            if !continued
                && t.to_ascii_lowercase()
                    .replace(' ', "")
                    .starts_with("#syntax=")
            {
                issues.push((BlockIssue::Directive, n));
            }
            continue;
        }
        if !continued {
            instruction = t
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if instruction == "FROM" {
                issues.push((BlockIssue::From, n));
            }
        }
        if matches!(instruction.as_str(), "RUN" | "COPY" | "ADD" | "ONBUILD") {
            heredocs.extend(heredoc_words(line).into_iter().map(|(w, t)| (w, t, n)));
        }
        continued = heredocs.is_empty() && line.trim_end().ends_with('\\');
    }
    if let Some((word, _, opened)) = heredocs.front() {
        issues.push((BlockIssue::OpenHeredoc(word.clone()), *opened));
    } else if continued {
        issues.push((BlockIssue::OpenContinuation, last));
    }
    issues
}

/// The heredoc terminators a line opens. Like BuildKit, it looks at shell words (quotes
/// respected) of the form `[N]<<[-]WORD`, and the terminator is the whole word, unquoted.
fn heredoc_words(line: &str) -> Vec<(String, bool)> {
    shell_words(line)
        .into_iter()
        .filter_map(|word| {
            let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = rest.strip_prefix("<<")?;
            let (strip_tabs, rest) = match rest.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let terminator: String = rest.chars().filter(|c| !matches!(c, '\'' | '"')).collect();
            (!terminator.is_empty() && !rest.starts_with('<')).then_some((terminator, strip_tabs))
        })
        .collect()
}

/// A line split into words as a POSIX shell would, keeping quote characters (so `"a<<b"` stays
/// one word that does not start with `<<`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                word.push(c);
                quote = Some(c);
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn trim_block(text: &str) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_blocks_are_read_like_buildkit() {
        let scan_dockerfile_block = |t: &str| -> Vec<BlockIssue> {
            super::scan_dockerfile_block(t)
                .into_iter()
                .map(|(i, _)| i)
                .collect()
        };
        assert_eq!(
            super::scan_dockerfile_block("RUN a\nfrom x\nRUN b"),
            vec![(BlockIssue::From, 1)]
        );
        assert_eq!(scan_dockerfile_block("RUN echo hi"), vec![]);
        assert_eq!(
            scan_dockerfile_block("from scratch"),
            vec![BlockIssue::From]
        );
        assert_eq!(
            scan_dockerfile_block("CMD echo hi \\"),
            vec![BlockIssue::OpenContinuation]
        );
        assert_eq!(
            scan_dockerfile_block("# syntax=docker/dockerfile:1"),
            vec![BlockIssue::Directive]
        );
        // A heredoc body is data: Python's `from` is not an instruction.
        let py = "RUN python3 - <<'EOF'\nfrom pathlib import Path\nEOF\nRUN echo done";
        assert_eq!(scan_dockerfile_block(py), vec![]);
        assert_eq!(
            scan_dockerfile_block("RUN <<EOF\necho hi"),
            vec![BlockIssue::OpenHeredoc("EOF".into())]
        );
        // A continued line's next line is not an instruction either.
        assert_eq!(
            scan_dockerfile_block("RUN echo a \\\n    from-here"),
            vec![]
        );
        assert_eq!(scan_dockerfile_block("RUN cat <<<'x'"), vec![]);
        assert_eq!(scan_dockerfile_block("RUN <<-END\n\tbody\n\tEND"), vec![]);
        // A continuation runs through blank and comment lines, as BuildKit reads it.
        assert_eq!(
            scan_dockerfile_block("RUN echo a \\\n# note"),
            vec![BlockIssue::OpenContinuation]
        );
        assert_eq!(scan_dockerfile_block("RUN a \\\n\nFROM-ish-arg"), vec![]);
        // `<<` inside quotes or outside RUN/COPY/ADD opens nothing; a terminator is a whole word.
        assert_eq!(
            scan_dockerfile_block(r#"RUN python3 -c "print(1<<2)""#),
            vec![]
        );
        assert_eq!(scan_dockerfile_block(r#"LABEL note="use <<here""#), vec![]);
        assert_eq!(
            scan_dockerfile_block("RUN cat <<END-MARK\nx\nEND-MARK"),
            vec![]
        );
        assert_eq!(
            scan_dockerfile_block("COPY <<EOF.txt /a\nx\nEOF.txt"),
            vec![]
        );
    }
}
