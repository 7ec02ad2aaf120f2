//! KDL text -> `KdlDocument`, and the syntax errors of a manifest.
//!
//! Two readers, one after the other:
//!
//! 1. jcx's pre-scan (`scan`, over the lexer `lex`): one linear pass with no recursion that
//!    enforces the nesting limits and names every syntax mistake it recognises (`mistakes`),
//!    each with a fix. For each mistake it hides the offending bytes, so that:
//! 2. the kdl crate, the parser of record, reads a document it accepts. It runs on a thread of
//!    its own with a stack sized for the limits (`PARSER_STACK`), whatever the caller's stack.
//!
//! If the kdl crate still finds errors (a mistake the pre-scan does not know), its diagnostics
//! are reported too: sorted, cascades dropped, with jcx's help for the common cases.

pub mod chars;
mod lex;
mod mistakes;
mod scan;
mod strings;
mod values;
mod words;

use std::sync::Arc;

use kdl::{KdlDocument, KdlError};
use miette::{NamedSource, Severity};

use crate::error::{Code, Error, Problem, SourcedProblem};
use crate::source::Source;

pub use lex::{MAX_COMMENT_DEPTH, MAX_COMMENT_SLASHES_AND_STARS};
pub use scan::{MAX_DEPTH, MAX_FINDINGS, MAX_SLASHDASH_DEPTH};

/// The stack of the thread the kdl crate parses on. Measured (docs/rules.md, "Limits"): at the
/// limits, a debug build uses about 75 MiB of it (64 nested blocks about 2 MiB, a block comment
/// with 10,000 `*` and `/` about 70 MiB), a release build about 10 MiB. Only the pages used
/// are ever touched.
pub const PARSER_STACK: usize = 256 << 20;

/// Parses the manifest text as a KDL 2 document.
pub fn parse_document(source: &Source) -> Result<KdlDocument, Error> {
    let scan = scan::scan(&source.text);
    if scan.findings.is_empty() && scan.masks.is_empty() {
        return parse_kdl(&source.text)?
            .map_err(|e| syntax_error(source, Vec::new(), Some(e), false));
    }
    if scan.stopped {
        // The pre-scan read only part of the file: there is nothing to hand to the kdl crate.
        return Err(syntax_error(source, scan.findings, None, true));
    }
    let masked = hide(&source.text, &scan.masks);
    // What is hidden up to the end of the file (a block nested too deep, a comment that never
    // ends) is left out: spaces at the end of a document change nothing.
    let kdl = parse_kdl(masked.trim_end_matches(' '))?.err();
    Err(syntax_error(source, scan.findings, kdl, false))
}

/// `KdlDocument::parse_v2` on a thread with [`PARSER_STACK`] of stack.
fn parse_kdl(text: &str) -> Result<Result<KdlDocument, KdlError>, Error> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("kdl-parser".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, || KdlDocument::parse_v2(text))
            .map_err(|e| Error::io("cannot start the thread that reads the manifest", e))?;
        handle
            .join()
            .map_err(|panic| std::panic::resume_unwind(panic))
    })
}

/// The text with the pre-scan's masks applied: blanked bytes, and placeholder strings of the
/// same length. Byte offsets do not move, so the kdl crate's spans still point into the
/// manifest.
fn hide(text: &str, masks: &[scan::Mask]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for mask in masks {
        match mask {
            scan::Mask::Blank(r) => bytes[r.clone()].fill(b' '),
            scan::Mask::BlankKeepLines(r) => {
                for b in bytes[r.clone()]
                    .iter_mut()
                    .filter(|b| !matches!(b, b'\n' | b'\r'))
                {
                    *b = b' ';
                }
            }
            scan::Mask::Placeholder(r) => placeholder(&mut bytes[r.clone()]),
        }
    }
    // Masks cover whole characters, so the bytes stay UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A value of exactly `b.len()` bytes: a bare word `xxx` when the bytes are on one line (valid
/// as a value, a name and a key), else a quoted string whose line breaks are kept, each run of
/// them escaped with a `\` (a KDL whitespace escape), so that lines do not move either.
fn placeholder(b: &mut [u8]) {
    let n = b.len();
    let newline = |x: u8| x == b'\n' || x == b'\r';
    if !b.iter().any(|x| newline(*x)) {
        b.fill(b'x');
        return;
    }
    for x in b.iter_mut().filter(|x| !newline(**x)) {
        *x = b' ';
    }
    b[0] = b'"';
    b[n - 1] = b'"';
    for i in 2..n - 1 {
        if newline(b[i]) && b[i - 1] == b' ' {
            b[i - 1] = b'\\';
        }
    }
}

/// The syntax errors of a manifest as an [`Error`]: the pre-scan's findings, then whatever the
/// kdl crate still found (sorted, cascades and anything a finding already explains dropped).
fn syntax_error(
    source: &Source,
    findings: Vec<mistakes::Finding>,
    kdl: Option<KdlError>,
    stopped: bool,
) -> Error {
    let named = source.named();
    let mut problems: Vec<Problem> = findings
        .into_iter()
        .map(|f| Problem {
            code: f.code,
            severity: Severity::Error,
            message: f.message,
            span: (f.span.start, f.span.len()).into(),
            label: f.label,
            help: f.help,
            related: f
                .related
                .into_iter()
                .map(|(r, l)| ((r.start, r.len()).into(), l))
                .collect(),
            file: None,
        })
        .collect();
    if stopped && let Some(last) = problems.last_mut() {
        let note = format!(
            "jcx stops after {MAX_FINDINGS} syntax errors: the rest of the file was not checked"
        );
        last.help = Some(match last.help.take() {
            Some(h) => format!("{h} ({note})"),
            None => note,
        });
    }
    if let Some(err) = kdl {
        let scanned: Vec<(usize, usize)> = problems
            .iter()
            .map(|p| (p.span.offset(), p.span.offset() + p.span.len().max(1)))
            .collect();
        for p in kdl_problems(source, err, !problems.is_empty()) {
            let (start, end) = (p.span.offset(), p.span.offset() + p.span.len().max(1));
            if !scanned.iter().any(|(s, e)| start < *e && *s < end) {
                problems.push(p);
            }
        }
        problems.sort_by_key(|p| (p.span.offset(), p.span.len()));
    }
    for p in &mut problems {
        note_invisible(&source.text, p);
    }
    Error::Syntax {
        path: source.name.clone(),
        source_code: Arc::clone(&named),
        problems: sourced(&named, problems),
    }
}

fn sourced(named: &Arc<NamedSource<String>>, problems: Vec<Problem>) -> Vec<SourcedProblem> {
    problems
        .into_iter()
        .map(|problem| SourcedProblem {
            problem,
            source: Arc::clone(named),
        })
        .collect()
}

/// Names the invisible and look-alike characters under a syntax error's span (unless the
/// message is about one already).
fn note_invisible(text: &str, p: &mut Problem) {
    if p.message.contains("U+") {
        return;
    }
    let Some(under) = text.get(p.span.offset()..p.span.offset() + p.span.len()) else {
        return;
    };
    let found = chars::suspicious(under);
    if found.is_empty() {
        return;
    }
    let list: Vec<String> = found
        .iter()
        .map(|c| {
            let looks = chars::ascii_for(*c)
                .map(|a| format!(", which looks like `{a}`"))
                .unwrap_or_default();
            format!(
                "{} (shown as `{}`){looks}",
                chars::describe(*c),
                chars::escape_text(&c.to_string())
            )
        })
        .collect();
    let note = format!("the text here contains {}", list.join(" and "));
    p.help = Some(match p.help.take() {
        Some(h) => format!("{h}; {note}"),
        None => note,
    });
}

/// The kdl crate's diagnostics as problems: sorted by position, cascades dropped, with a jcx
/// help where the crate's is missing or misleading.
fn kdl_problems(source: &Source, err: KdlError, scanned: bool) -> Vec<Problem> {
    let mut diags = err.diagnostics;
    diags.sort_by_key(|d| (d.span.offset(), d.span.len()));
    diags.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    // After one real mistake the crate also reports the blocks it could no longer close and
    // the rest of the document it could no longer read. Those follow-ups are shown only when
    // they are all there is, and then each kind once (the first is nearest the cause).
    let cascade = |d: &kdl::KdlDiagnostic| {
        let m = d.message.as_deref().unwrap_or("");
        m.starts_with("No closing '}'")
            || m.starts_with("Closing '}' was not found")
            || m.starts_with("Expected end of document")
    };
    if scanned || diags.iter().any(|d| !cascade(d)) {
        diags.retain(|d| !cascade(d));
    } else {
        let mut kinds: Vec<String> = Vec::new();
        diags.retain(|d| {
            let kind = d.message.clone().unwrap_or_default().replace(
                "No closing '}' for child block",
                "Closing '}' was not found after nodes",
            );
            let first = !kinds.contains(&kind);
            kinds.push(kind);
            first
        });
    }
    diags
        .into_iter()
        .map(|d| {
            let text = source
                .text
                .get(d.span.offset()..d.span.offset() + d.span.len())
                .unwrap_or("");
            let message = d.message.clone().unwrap_or_else(|| "invalid KDL".into());
            let help = syntax_help(text, &message).or(d.help);
            Problem {
                code: Code::KdlSyntax,
                severity: d.severity,
                message,
                span: d.span,
                label: d.label.unwrap_or_else(|| "here".into()),
                help,
                related: Vec::new(),
                file: None,
            }
        })
        .collect()
}

/// jcx's help for the KDL mistakes manifest authors make most: KDL 1 keywords, and bare words
/// with characters that need quotes.
fn syntax_help(text: &str, message: &str) -> Option<String> {
    let word = text.trim();
    if matches!(word, "true" | "false" | "null" | "inf" | "nan") {
        return Some(format!("KDL 2 writes keywords with a `#`: write `#{word}`"));
    }
    if word == "(" {
        return Some(
            "`(` starts a KDL type annotation: quote values that contain parentheses, `\"(x)\"`"
                .into(),
        );
    }
    if message.starts_with("Unexpected newline in single-line quoted string") {
        return Some(
            "close the string with `\"` on the same line (text over several lines is written between `\"\"\"` lines)"
                .into(),
        );
    }
    if message.contains("identifier")
        && let Some(c) = word.chars().find(|c| "/\\(){}[]=;#\"".contains(*c))
    {
        let quoted = format!("{word:?}");
        return Some(format!(
            "a bare word cannot contain `{c}`: quote it, `{quoted}`"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            path: "apps.kdl".into(),
            name: "apps.kdl".into(),
            text: text.into(),
        }
    }

    #[test]
    fn placeholders_keep_length_and_lines() {
        let mut b = b"\"\"\"\nab\n  x".to_vec();
        placeholder(&mut b);
        assert_eq!(&b, b"\" \\\n \\\n  \"");
        assert!(KdlDocument::parse_v2(&format!("a {}", String::from_utf8(b).unwrap())).is_ok());
    }

    #[test]
    fn valid_documents_parse() {
        let doc = parse_document(&src("a 1 \"x\" #true { b; }\n")).unwrap();
        assert_eq!(doc.nodes().len(), 1);
    }
}

/// The pre-scan agrees with the kdl crate: it reports nothing on what the crate accepts (but
/// for the code points the specification forbids in comments, which the crate lets through),
/// and what it hides leaves a document the crate accepts.
#[cfg(test)]
mod differential {
    use proptest::prelude::*;

    use super::*;

    const PIECES: &[&str] = &[
        "a",
        "node",
        "-",
        "--x",
        "-inf",
        "+",
        ".",
        ".a",
        "x:",
        "r",
        "é",
        "1",
        "-2",
        "1.5",
        "1e3",
        "0x1f",
        "0b2",
        "1.",
        "2.3.1",
        ".5",
        "1_000",
        "true",
        "#true",
        "#false",
        "#null",
        "#nan",
        "#-inf",
        "#foo",
        "#",
        "##",
        " ",
        " ",
        "  ",
        "\t",
        "\u{a0}",
        "\n",
        "\r\n",
        "\r",
        ";",
        "{",
        "}",
        "(",
        ")",
        "(t)",
        "[",
        "]",
        "=",
        "==",
        "/-",
        "/",
        "\\",
        "\\\n",
        "// c\n",
        "/* c */",
        "/*",
        "*/",
        "/* /* */ */",
        "\"s\"",
        "\"a b\"",
        "\"\\n\"",
        "\"\\q\"",
        "\"\\u{41}\"",
        "\"\\u{110000}\"",
        "\"",
        "\"\"\"\n  x\n  \"\"\"",
        "\"\"\"\nx\n  \"\"\"",
        "\"\"\"x\"\"\"",
        "\"\"\"\n",
        "#\"r\"#",
        "#\"\"\"\n  r\n  \"\"\"#",
        "#\"",
        "##\"a\"#\"##",
        "#\"\"\"#",
        "\u{202e}",
        "\u{200b}",
        "\u{feff}",
        "\u{7f}",
        "\u{1b}",
        "“",
        "\u{2010}",
    ];

    fn kdl_like() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.concat())
    }

    /// Lines of a manifest (nodes with values, properties, blocks, comments), some of them
    /// broken in the ways people break them.
    fn manifest_like() -> impl Strategy<Value = String> {
        let value = prop::sample::select(vec![
            "x",
            "\"quay.io/x:1\"",
            "lab",
            "namespace=lab",
            "extends=a",
            "#true",
            "1",
            "2.2.1",
            "\"2.2.1\"",
            "transformers==4.41.2",
            "\"a==1\"",
            "feat/**",
            "[a, b]",
            "(t)\"x\"",
            "r\"x\"",
            "#\"raw \"q\"\"#",
            "\"\\U0001\"",
            "/- y",
            "/-{ z }",
            "// c",
            "/* c */",
            "\\",
            "{",
            "}",
            "=",
            "\"unclosed",
            "# c",
            "true",
            "\u{a0}",
            "“q”",
            "x=",
            "(lib)",
        ]);
        let line = (
            prop::sample::select(vec!["", "  ", "    ", "\t"]),
            prop::sample::select(vec![
                "app", "base", "pip", "-", "apt:", "pip:", "cuda", "/-app", "}", "{", "#", "(t)a",
                "\"name\"", "a", "torch",
            ]),
            prop::collection::vec(value, 0..4),
            prop::sample::select(vec!["", " {", ";", " }", " // c", " {}", " { x }"]),
        )
            .prop_map(|(indent, name, values, end)| {
                format!("{indent}{name} {}{end}\n", values.join(" "))
            });
        prop::collection::vec(line, 0..12).prop_map(|v| v.concat())
    }

    fn accepted(text: &str) -> bool {
        parse_kdl(text).unwrap().is_ok()
    }

    fn stricter(f: &mistakes::Finding) -> bool {
        f.message.contains("U+")
    }

    fn check(text: &str) {
        let scan = scan::scan(text);
        let masked = hide(text, &scan.masks);
        assert_eq!(masked.len(), text.len());
        assert!(
            accepted(&masked),
            "the kdl crate refuses the masked text\n  text:   {text:?}\n  masked: {masked:?}\n  findings: {:?}",
            scan.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
        // jcx refuses the code points the specification forbids even where the crate lets
        // them through (comments, DEL): such a text is refused, with whatever follows.
        let ok = accepted(text);
        if ok && !text.chars().any(chars::is_forbidden) {
            let wrong: Vec<_> = scan.findings.iter().filter(|f| !stricter(f)).collect();
            assert!(
                wrong.is_empty(),
                "the pre-scan reports mistakes in a document the kdl crate accepts\n  text: {text:?}\n  {wrong:?}"
            );
        } else if !ok {
            assert!(
                !scan.findings.is_empty(),
                "the pre-scan finds nothing in a document the kdl crate refuses: {text:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn pre_scan_agrees_with_the_kdl_crate(text in kdl_like()) {
            check(&text);
        }

        #[test]
        fn pre_scan_agrees_on_manifest_like_text(text in manifest_like()) {
            check(&text);
        }
    }

    #[test]
    fn known_cases() {
        for text in [
            "a {} /- b",
            "a /-{x} {y}",
            "a {}/-{}",
            "a /-\n{ }",
            "a /-\nx",
            "a \\\n b",
            "(t) a",
            "a (t) 1",
            "a x = 1",
            "- transformers==4.41.2",
            "apt: [wget, curl]",
            "torch 2.3.1",
            "# comment\na",
            "a r\"x\"",
            "a{}/-;}\"s\"",
            "a{} /- ; \"s\"",
            "a{}/-;;\"s\"",
            "a{};}\"s\"",
            "a{} } b",
            "a{}\n} b",
            "a{}/-\n;}\"s\"",
            "a{}/-;\n}\"s\"",
            "a{}/-}\"s\"",
            "a{} /-b;}\"s\"",
            "a{} /-b c } \"s\"",
            "a{} /-b{} c } \"s\"",
            "a{} /-b{};}\"s\"",
            "a{} /-b{}\n;}\"s\"",
            "{ a{} /-b{} c } \"s\"",
            "a{} /-b{} c; d #x",
            "app  {\n} /- y {\napp } x;\n",
            "app  {\n} /- y;\napp ;\n",
            "a{} /-b{} \\\n x",
            "a{} /-b{} \\\n ; x",
            "a{} /-b{} /*\n*/ x",
            "a{} /-b{} // c\n x",
            "{ a{} /-b{} c }\n\"s\"",
            "{ a{}/-b c } \"s\"",
            "/-a{}/-;}\"s\"",
        ] {
            check(text);
        }
    }

    /// What the pre-scan reports on `text`: each finding's message and the text it points at.
    fn findings(text: &str) -> Vec<(String, &str)> {
        scan::scan(text)
            .findings
            .into_iter()
            .map(|f| (f.message, &text[f.span]))
            .collect()
    }

    #[test]
    fn after_a_block_on_its_line() {
        let dangling = "`/-` comments out nothing";
        let stray = "`}` closes no block";
        let extra_semicolon = "`;` with no node before it";
        let tail = "a commented-out node after a node's `{ }` block, with more nodes after it";
        let semicolon_in_tail = "`;` after a commented-out node";
        let nameless = "a `{` block with no node before it";
        let after = "text after a node's `{ }` block";
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("a{}/-;}\"s\"", &[(dangling, "/-"), (stray, "}")]),
            ("a{} /- ; \"s\"", &[(dangling, "/-")]),
            ("a{}/-;;\"s\"", &[(dangling, "/-"), (extra_semicolon, ";")]),
            ("a{};}\"s\"", &[(stray, "}")]),
            ("a{} } b", &[(stray, "}"), (after, "b")]),
            (
                "a{}/-\n;}\"s\"",
                &[(dangling, "/-"), (extra_semicolon, ";"), (stray, "}")],
            ),
            (
                "a{}/-}\"s\"",
                &[(dangling, "/-"), (stray, "}"), (after, "\"s\"")],
            ),
            // The commented-out node goes on: `}` and `"s"` are part of it.
            ("a{} /-b;}\"s\"", &[(semicolon_in_tail, ";"), (stray, "}")]),
            ("a{} /-b c } \"s\"", &[(stray, "}")]),
            ("a{} /-b{} c } \"s\"", &[(tail, "/-b{}"), (stray, "}")]),
            (
                "a{} /-b{};}\"s\"",
                &[(tail, "/-b{}"), (semicolon_in_tail, ";"), (stray, "}")],
            ),
            // After `;`, a node of its own (checked).
            (
                "a{} /-b{} c; d #x",
                &[(tail, "/-b{}"), ("unknown keyword `#x`", "#x")],
            ),
            // A line break in the tail, or after it, ends the block's node: `c` is a node of
            // its own.
            (
                "a{} /-b{\n} c #x;",
                &[(tail, "/-b{\n}"), ("unknown keyword `#x`", "#x")],
            ),
            (
                "a{} /-b;\nc #x;",
                &[
                    (tail, "/-b"),
                    (semicolon_in_tail, ";"),
                    ("unknown keyword `#x`", "#x"),
                ],
            ),
            // Escaped, or in a block comment, it does not.
            ("a{} /-b{} \\\n c #x", &[(tail, "/-b{}")]),
            ("a{} /-b{} /*\n*/ c #x", &[(tail, "/-b{}")]),
            ("{ a{} /-b{} c } \"s\"", &[(nameless, "{"), (tail, "/-b{}")]),
        ];
        for (text, expected) in cases {
            let expected: Vec<(String, &str)> =
                expected.iter().map(|(m, s)| (m.to_string(), *s)).collect();
            assert_eq!(findings(text), expected, "{text:?}");
        }
    }
}

/// Timings of the pre-scan against the kdl crate, on the manifest named by `JCX_BENCH_MANIFEST`:
/// `cargo test --release --lib syntax::bench -- --ignored --nocapture`.
#[cfg(test)]
#[test]
#[ignore]
fn bench() {
    let path = std::env::var("JCX_BENCH_MANIFEST").expect("JCX_BENCH_MANIFEST");
    let text = std::fs::read_to_string(&path).unwrap();
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let scan = best(&|| {
        std::hint::black_box(scan::scan(&text));
    });
    let kdl = best(&|| {
        std::hint::black_box(parse_kdl(&text).unwrap().is_ok());
    });
    let thread = best(&|| {
        std::hint::black_box(parse_kdl("").unwrap().is_ok());
    });
    eprintln!(
        "{path}: {} bytes; pre-scan {scan:?} ({:.0} MB/s), kdl crate {kdl:?}, parser thread start {thread:?}",
        text.len(),
        text.len() as f64 / scan.as_secs_f64() / 1e6
    );
}
