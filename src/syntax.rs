//! KDL text -> `KdlDocument`, and the syntax errors of the kdl crate turned into jcx
//! diagnostics: sorted, cascades dropped, each pointing into the named manifest, with jcx's help
//! for the mistakes manifest authors make most.

use std::sync::Arc;

use kdl::{KdlDocument, KdlError};

use crate::error::{Code, Error, Problem, SourcedProblem};
use crate::source::Source;

/// Parses the manifest text as a KDL 2 document.
pub fn parse_document(source: &Source) -> Result<KdlDocument, Error> {
    KdlDocument::parse_v2(&source.text).map_err(|e| syntax_error(source, e))
}

/// The kdl crate's syntax errors as an [`Error`]: sorted by position, cascades dropped, each
/// pointing into the named manifest, with a jcx help where the crate's is missing or misleading.
pub fn syntax_error(source: &Source, err: KdlError) -> Error {
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
    if diags.iter().any(|d| !cascade(d)) {
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
    for d in &mut diags {
        let text = source
            .text
            .get(d.span.offset()..d.span.offset() + d.span.len())
            .unwrap_or("");
        if let Some(help) = syntax_help(text, d.message.as_deref().unwrap_or("")) {
            d.help = Some(help);
        }
    }
    let named = source.named();
    let problems = diags
        .iter()
        .map(|d| SourcedProblem {
            problem: Problem {
                code: Code::KdlSyntax,
                severity: d.severity,
                message: d.message.clone().unwrap_or_else(|| "invalid KDL".into()),
                span: d.span,
                label: d.label.clone().unwrap_or_else(|| "here".into()),
                help: d.help.clone(),
                related: Vec::new(),
            },
            source: Arc::clone(&named),
        })
        .collect();
    Error::Syntax {
        path: source.name.clone(),
        source_code: named,
        related: diags,
        problems,
    }
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
