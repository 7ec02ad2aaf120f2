//! The syntax mistakes the pre-scan recognises, in words about the mistake (not about the
//! parser's state), each with the place and a fix that is right.

use std::ops::Range;

use super::chars::{ascii_for, describe, is_lookalike};
use super::lex::{Issue, IssueKind, MAX_COMMENT_DEPTH, MAX_COMMENT_SLASHES_AND_STARS};
use super::scan::{MAX_DEPTH, MAX_SLASHDASH_DEPTH, Mask};
use crate::error::Code;

/// One mistake: what, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub span: Range<usize>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    pub related: Vec<(Range<usize>, String)>,
}

fn finding(span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Finding {
    Finding {
        code: Code::KdlSyntax,
        span,
        message: message.into(),
        label: label.into(),
        help: None,
        related: Vec::new(),
    }
}

impl Finding {
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }
}

/// The node a mistake is in, for the fix.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The node's name as written.
    pub node: String,
    /// The block the node is in (`pip` for requirements).
    pub parent: Option<String>,
    /// The node follows a YAML-style `pip:` line (that name).
    pub yaml: Option<String>,
    /// The node is commented out with `/-`.
    pub slashdashed: bool,
}

/// Text for a fix: invisible characters dropped, look-alikes replaced by the ASCII character
/// they stand for.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !super::chars::is_invisible(*c))
        .map(|c| ascii_for(c).filter(|_| is_lookalike(c)).unwrap_or(c))
        .collect()
}

/// A value as a KDL string (cleaned, see [`clean`]): `"text"`, or `#"text"#` when it
/// contains quotes.
pub fn kdl_string(s: &str) -> String {
    let s = &clean(s);
    if s.contains('"') && !s.contains("\"#") && !s.chars().any(char::is_control) {
        format!("#\"{s}\"#")
    } else {
        format!("{s:?}")
    }
}

/// `node value` as the fix writes it (`- "x==1"`, `torch "2.3.1"`).
fn with_node(cx: &Context, value: &str) -> String {
    if cx.node.is_empty() {
        value.to_string()
    } else {
        format!("{} {value}", clean(&cx.node))
    }
}

/// A note on the look-alike and invisible characters of the node's name (`‐` for `-`).
fn node_lookalikes(cx: &Context) -> String {
    let odd: Vec<String> = cx
        .node
        .chars()
        .filter(|c| is_lookalike(*c) || super::chars::is_invisible(*c))
        .map(|c| match ascii_for(c) {
            Some(a) => format!("{} (not the ASCII `{a}`)", describe(c)),
            None => describe(c),
        })
        .collect();
    if odd.is_empty() {
        String::new()
    } else {
        format!("; the node name before it is {}", odd.join(" and "))
    }
}

pub fn lexical(src: &str, issue: &Issue) -> Finding {
    let span = issue.span.clone();
    let text = &src[span.clone()];
    match &issue.kind {
        IssueKind::UnterminatedString => finding(span, "this string is not closed", "not closed on its line").help(
            "close the string with `\"` on the same line (text over several lines is written between `\"\"\"` lines)",
        ),
        IssueKind::MultilineOpening => finding(span, "text right after `\"\"\"`", "a multi-line string starts on the next line").help(
            "`\"\"\"` opens a multi-line string and must end its line; for text on one line, use one pair of quotes: `\"...\"`",
        ),
        IssueKind::MultilineIndent { prefix } => finding(
            span,
            "this line of a multi-line string is indented less than its closing `\"\"\"`",
            "indented less than the closing `\"\"\"`",
        )
        .help(format!(
            "every line of a multi-line string starts with the indentation of its closing `\"\"\"` line ({}); indent this line, or move the closing `\"\"\"` left",
            describe_indent(prefix)
        )),
        IssueKind::TripleQuoteInBody => finding(span, "`\"\"\"` inside a multi-line string", "ends nothing here").help(
            "a multi-line string ends with `\"\"\"` alone on its last line; to write `\"\"\"` inside it, escape a quote (`\\\"\"\"`) or use a raw string `#\"\"\"`...`\"\"\"#`",
        ),
        IssueKind::UnterminatedRawString { hashes, multiline } => {
            let close = format!("{}{}", if *multiline { "\"\"\"" } else { "\"" }, "#".repeat(*hashes));
            finding(span, "this raw string is not closed", "not closed").help(if *multiline {
                format!("close it with `{close}` on a line of its own")
            } else {
                format!("close it with `{close}` on the same line")
            })
        }
        IssueKind::RawLooksMultiline => finding(span, "a raw string whose text is a single `\"`", "looks like a multi-line string")
            .help("write `\"\\\"\"` for a single quote"),
        IssueKind::BadEscape(esc) => bad_escape(span, esc),
        IssueKind::ForbiddenChar(c) => forbidden(span, *c, text),
        IssueKind::UnclosedComment => finding(span, "this block comment is never closed", "opened here")
            .help("close it with `*/`; block comments nest, so every `/*` inside it needs its own `*/` (use `//` for comments that hold `/*`)"),
        IssueKind::CommentTooDeep => finding(
            span,
            format!("block comments nested more than {MAX_COMMENT_DEPTH} deep"),
            "one level too deep",
        )
        .code(Code::TooDeep)
        .help("comment lines out with `//`, or nodes with `/-`; jcx limits nesting so that reading the manifest can never overflow the stack (docs/rules.md)"),
        IssueKind::CommentTooLong => finding(
            span,
            format!(
                "a block comment with more than {} `*` and `/` characters",
                thousands(MAX_COMMENT_SLASHES_AND_STARS)
            ),
            "the limit is reached here",
        )
        .code(Code::TooDeep)
        .help("comment lines out with `//`, or nodes with `/-`; the KDL parser reads each `*` and `/` of a block comment one level deeper (docs/rules.md)"),
    }
}

/// `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn describe_indent(prefix: &str) -> String {
    let spaces = prefix.chars().filter(|c| *c == ' ').count();
    let tabs = prefix.chars().filter(|c| *c == '\t').count();
    let other = prefix.chars().count() - spaces - tabs;
    let mut parts = Vec::new();
    for (n, what) in [(spaces, "space"), (tabs, "tab"), (other, "other space")] {
        if n > 0 {
            parts.push(format!("{n} {what}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" and ")
    }
}

fn bad_escape(span: Range<usize>, esc: &str) -> Finding {
    let shown = super::chars::escape_text(esc);
    let hex_after = |skip: usize| -> Option<&str> {
        let digits = esc.get(skip..)?;
        (!digits.is_empty() && digits.len() <= 8 && digits.chars().all(|c| c.is_ascii_hexdigit()))
            .then_some(digits)
    };
    let fix = if esc.starts_with("\\u{") {
        "`\\u{...}` takes 1 to 6 hexadecimal digits of a Unicode scalar value, such as `\\u{e9}`"
            .to_string()
    } else if let Some(d) = hex_after(2).filter(|_| esc.starts_with(['\\'])) {
        format!(
            "write the code point as `\\u{{{}}}`",
            d.trim_start_matches('0')
        )
    } else {
        "to write a backslash, double it (`\\\\`) or use a raw string, `#\"...\"#`".to_string()
    };
    finding(span, format!("unknown escape `{shown}` in a string"), "not a KDL escape").help(format!(
        "KDL strings know `\\n`, `\\t`, `\\r`, `\\\\`, `\\\"`, `\\b`, `\\f`, `\\s` and `\\u{{...}}`; {fix}"
    ))
}

fn forbidden(span: Range<usize>, c: char, _text: &str) -> Finding {
    let what = describe(c);
    let (message, help) = match c {
        '\u{FEFF}' => (
            format!("a byte order mark ({what}) inside the file"),
            "delete it: KDL allows it only as the very first character".to_string(),
        ),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => (
            format!("the invisible direction control {what}"),
            "delete it: it makes the text display in another order than it is read, and KDL forbids it everywhere, comments included".to_string(),
        ),
        _ => (
            format!("the control character {what}"),
            "delete it: KDL forbids control characters outside string escapes".to_string(),
        ),
    };
    finding(span, message, "invisible character here").help(help)
}

pub fn stray_brace(at: usize) -> Finding {
    finding(at..at + 1, "`}` closes no block", "no `{` is open here")
        .help("remove it, or look for a block above that was closed too early")
}

pub fn unclosed(
    src: &str,
    brace: usize,
    slashdash: Option<usize>,
    dedent: Option<usize>,
) -> (Finding, Vec<Mask>) {
    let mut f = finding(brace..brace + 1, "this `{` is never closed", "opened here");
    f.help = Some(match dedent {
        Some(at) => {
            let (line, _) = crate::source::line_col(src, at);
            f.related.push((
                at..at + 1,
                "indented like the node that owns the block".into(),
            ));
            format!("add the `}}` before line {line}, which is indented like the block's own node")
        }
        None => "add the `}` that closes it".into(),
    });
    // The block runs to the end of the file: all of it is hidden (it was read already).
    (f, vec![Mask::Blank(slashdash.unwrap_or(brace)..src.len())])
}

pub fn dangling_slashdash(at: usize) -> Finding {
    finding(at..at + 2, "`/-` comments out nothing", "no node after it")
        .help("`/-` comments out the node, value or block right after it; remove it")
}

pub fn nameless_block(at: usize, after_node_line: bool) -> Finding {
    let f = finding(
        at..at + 1,
        "a `{` block with no node before it",
        "no node name",
    );
    if after_node_line {
        f.help("KDL ends a node at the end of its line: put the `{` on the line of its node, `app name {`")
    } else {
        f.help("write the node's name before the block, `name { ... }`")
    }
}

pub fn too_deep(at: usize) -> Finding {
    finding(at..at + 1, format!("blocks nested more than {MAX_DEPTH} deep"), "one level too deep")
        .code(Code::TooDeep)
        .help("a manifest nests a few blocks at most; jcx limits nesting so that reading it can never overflow the stack (docs/rules.md)")
}

pub fn slashdash_too_deep(at: usize) -> Finding {
    finding(
        at..at + 2,
        format!("commented-out blocks (`/-{{ }}`) nested more than {MAX_SLASHDASH_DEPTH} deep"),
        "one level too deep",
    )
    .code(Code::TooDeep)
    .help("delete the inner commented-out blocks, or comment lines out with `//`; the KDL parser reads every `/-{ }` block twice, so each level doubles its work (docs/rules.md)")
}

/// `[a, b]`: the items, as the arguments they should be.
pub fn list(src: &str, span: Range<usize>, cx: &Context) -> Finding {
    let inner = src[span.clone()]
        .trim_start_matches('[')
        .trim_end_matches(']');
    let items: Vec<String> = inner
        .split([',', ' ', '\t'])
        .map(|s| s.trim().trim_matches(['"', '\'']))
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.chars().all(super::chars::is_ident) && !s.starts_with(|c: char| c.is_ascii_digit())
            {
                s.to_string()
            } else {
                kdl_string(s)
            }
        })
        .collect();
    let node = cx.node.trim_end_matches(':');
    let fix = if node.is_empty() {
        items.join(" ")
    } else {
        format!("{node} {}", items.join(" "))
    };
    let colon = if cx.node.ends_with(':') {
        format!(", without the `:` after `{node}`")
    } else {
        String::new()
    };
    finding(span, "KDL has no `[...]` lists", "a list literal").help(format!(
        "write the items as the node's arguments{colon}: `{fix}`"
    ))
}

pub fn hash_comment(span: Range<usize>) -> Finding {
    finding(span, "`#` does not start a comment in KDL", "not a comment")
        .help("KDL comments start with `//` (to the end of the line) or are written `/* ... */`")
}

pub fn unknown_keyword(word: &str, span: Range<usize>) -> Finding {
    let lower = word.to_ascii_lowercase();
    let kws = ["#true", "#false", "#null", "#inf", "#-inf", "#nan"];
    let f = finding(
        span,
        format!("unknown keyword `{word}`"),
        "not a KDL keyword",
    );
    if kws.contains(&lower.as_str()) {
        f.help(format!("KDL keywords are lowercase: `{lower}`"))
    } else {
        f.help(format!(
            "KDL 2 keywords are `#true`, `#false`, `#null`, `#inf`, `#-inf` and `#nan`; to write text that starts with `#`, quote it: `{}`; comments start with `//`",
            kdl_string(word)
        ))
    }
}

pub fn bare_keyword(word: &str, span: Range<usize>) -> Finding {
    finding(
        span,
        format!("a bare `{word}` is not a KDL 2 value"),
        format!("write `#{word}`"),
    )
    .help(format!(
        "KDL 2 writes keywords with a `#`: write `#{word}` (or `{}` for the text)",
        kdl_string(word)
    ))
}

/// A word that starts like a number but is not one: a version, usually.
pub fn bad_number(word: &str, span: Range<usize>, cx: &Context) -> Finding {
    let version = word.starts_with(|c: char| c.is_ascii_digit())
        && word
            .split(['.', '+', '-'])
            .filter(|p| !p.is_empty())
            .count()
            >= 2;
    let quoted = with_node(cx, &kdl_string(word));
    let shown = super::chars::escape_text(word);
    if version {
        return finding(span, format!("unquoted version `{shown}`"), "quote it").help(format!(
            "versions are text in a manifest: `{quoted}` (a bare word that starts with a digit is read as a number)"
        ));
    }
    let number: String = word
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        .collect();
    let number = number.trim_end_matches('.');
    let fix = if number.chars().any(|c| c.is_ascii_digit()) {
        format!(
            "write a number (`{}`), or quote text (`{quoted}`)",
            with_node(cx, number)
        )
    } else {
        format!("quote the text: `{quoted}`")
    };
    finding(
        span,
        format!("`{shown}` is neither a number nor a bare word"),
        "not a number",
    )
    .help(format!(
        "a bare word cannot start with a digit (or a sign and a digit); {fix}"
    ))
}

/// `transformers==4.41.2` (a requirement, since `==` cannot be in a bare word or a property).
pub fn requirement(run: &str, span: Range<usize>, cx: &Context) -> Finding {
    let pip =
        cx.node == "-" || cx.parent.as_deref() == Some("pip") || cx.yaml.as_deref() == Some("pip");
    let quoted = kdl_string(run);
    let mut help = format!(
        "quote it: `{}`{}",
        with_node(cx, &quoted),
        node_lookalikes(cx)
    );
    if let Some(name) = &cx.yaml {
        help.push_str(&format!(
            "; KDL writes a list as a block in braces, not `{name}:` — `{name} {{ {} }}`",
            with_node(cx, &quoted)
        ));
    }
    let message = if pip {
        format!("unquoted pip requirement `{run}`")
    } else {
        format!("`{run}` must be quoted")
    };
    finding(span, message, "quote this requirement").help(help)
}

/// A bare word followed by a character it cannot contain (`feat/**`, `C:\x`, `torch[cuda]`).
pub fn bare_word(run: &str, bad: char, span: Range<usize>, cx: &Context) -> Finding {
    let quotes: Vec<char> = run
        .chars()
        .filter(|c| is_lookalike(*c) && ascii_for(*c) == Some('"'))
        .collect();
    if let Some(q) = quotes.first() {
        let fixed: String = run.chars().filter(|c| !quotes.contains(c)).collect();
        return finding(
            span,
            format!("`{q}` ({}) is not a KDL quote", describe(*q)),
            "typographic quotes",
        )
        .help(format!(
            "use the ASCII quote `\"`: `{}`",
            with_node(cx, &kdl_string(&fixed))
        ));
    }
    let shown = super::chars::escape_text(&bad.to_string());
    finding(
        span,
        format!("a bare word cannot contain `{shown}`"),
        "quote it",
    )
    .help(format!(
        "a bare word cannot contain `{shown}`: quote it, `{}`",
        kdl_string(run)
    ))
}

/// `r"..."` / `r#"..."#`: KDL 1 raw strings.
pub fn kdl1_raw(run: &str, span: Range<usize>) -> Finding {
    let fixed = run.strip_prefix('r').unwrap_or(run);
    let fixed = if fixed.starts_with('#') {
        fixed.to_string()
    } else {
        format!("#{fixed}#")
    };
    finding(span, "a KDL 1 raw string", "KDL 1 syntax").help(format!(
        "KDL 2 writes raw strings without the `r`: `{fixed}`"
    ))
}

pub fn type_without_value(run: &str, span: Range<usize>) -> Finding {
    finding(
        span,
        format!("`{run}` is a type annotation with no value after it"),
        "a type annotation",
    )
    .help(format!(
        "`(` starts a KDL type annotation: quote values that contain parentheses, `{}`",
        kdl_string(run)
    ))
}

pub fn bad_type(run: &str, span: Range<usize>) -> Finding {
    finding(
        span,
        format!("`{run}` is not a KDL type annotation"),
        "not a type annotation",
    )
    .help(format!(
        "`(` starts a KDL type annotation: quote values that contain parentheses, `{}`",
        kdl_string(run)
    ))
}

pub fn missing_value(key: &str, span: Range<usize>) -> Finding {
    finding(
        span,
        format!("`{key}=` has no value"),
        "value missing after `=`",
    )
    .help(format!(
        "write a value after `=` (`{key}=\"...\"`), or quote the whole text"
    ))
}

pub fn after_children(span: Range<usize>) -> Finding {
    finding(span, "text after a node's `{ }` block", "the node ended with its block")
        .help("a node's values come before its `{ }` block; put this before the `{`, or on a line of its own")
}

pub fn slashdash_tail(span: Range<usize>) -> Finding {
    finding(span, "a commented-out node after a node's `{ }` block, with more nodes after it", "on the line of the block")
        .help("after a node's block, `/-` comments out a node only at the end of the enclosing block; put the `/-` node on a line of its own")
}

pub fn slashdash_semicolon(at: usize) -> Finding {
    finding(
        at..at + 1,
        "`;` after a commented-out node",
        "not allowed here",
    )
    .help(
        "a node commented out with `/-` ends at the end of its line, not with `;`: remove the `;`",
    )
}

pub fn second_block(span: Range<usize>) -> Finding {
    finding(
        span,
        "a second `{ }` block on one node",
        "the node already has a block",
    )
    .help("put everything in one block")
}

pub fn missing_space(span: Range<usize>) -> Finding {
    finding(span, "no space before this value", "add a space before it")
        .help("values are separated by spaces; if this is one piece of text, quote all of it")
}

/// Anything else the grammar does not allow where it is.
pub fn unexpected(text: &str, span: Range<usize>, expected: &str) -> Finding {
    let shown = super::chars::escape_text(text);
    let (message, help) = match text {
        "=" => (
            "`=` without a property name before it".to_string(),
            "a property is `name=value`, such as `namespace=lab`; a node's own value comes after a space, without `=` (`timeout-minutes 90`); quote text that contains `=`".to_string(),
        ),
        ")" => (
            "`)` closes nothing".to_string(),
            "remove it, or quote the text that contains it".to_string(),
        ),
        ";" => (
            "`;` with no node before it".to_string(),
            "`;` ends a node; remove the extra one".to_string(),
        ),
        "]" => (
            "`]` closes nothing".to_string(),
            "KDL has no `[...]` lists: write the items as arguments".to_string(),
        ),
        "\\" => (
            "`\\` in the middle of a line".to_string(),
            "outside a string, `\\` only continues a node on the next line, at the end of a line; quote text that contains `\\`".to_string(),
        ),
        "/" => (
            "`/` outside a string".to_string(),
            "quote text that contains `/`; comments start with `//`".to_string(),
        ),
        _ => (
            format!("unexpected `{shown}`"),
            format!("expected {expected}"),
        ),
    };
    finding(span, message, "not expected here").help(help)
}
