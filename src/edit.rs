//! Editing the manifest as text: `init` (starter manifest), `new` (append an app block) and
//! `fmt` (canonical layout). Comments and the user's formatting are kept byte-for-byte outside
//! what each command changes; the model is never printed back. Every result is validated
//! (`new`) or checked to parse to the same KDL document (`fmt`) before anything is written.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kdl::{KdlDocument, KdlEntry, KdlValue};

use crate::error::{Code, Error, Result};
use crate::source::Source;
use crate::write::{Replacing, write_atomic};
use crate::{Timings, default_out, load_source};

/// The starter manifest `jcx init` writes (one CPU app, one CUDA app commented out).
pub const INIT_TEMPLATE: &str = include_str!("templates/init.kdl");

/// The starter manifest with this jcx's version in the commented `check-workflow` line.
pub fn init_text() -> String {
    INIT_TEMPLATE.replace("@JCX_VERSION@", env!("CARGO_PKG_VERSION"))
}

/// `jcx init DIR`: writes `DIR/apps.kdl`, never over an existing file. Returns its path.
pub fn init(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("apps.kdl");
    if path.exists() {
        return Err(Error::Usage {
            message: format!(
                "`{}` already exists; jcx init never overwrites a manifest",
                path.display()
            ),
            help: Some(format!(
                "edit it, add an app with `jcx new APP --manifest {}`, or run `jcx init` in another directory",
                path.display()
            )),
        });
    }
    if !dir.as_os_str().is_empty() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create directory `{}`", dir.display()), e))?;
    }
    // `create_new` so that a manifest appearing between the check and the write is not replaced.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot create `{}`", path.display()), e))?;
    f.write_all(init_text().as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    Ok(path)
}

/// What `jcx new` appended.
#[derive(Debug)]
pub struct NewApp {
    pub path: PathBuf,
    /// The block as appended (with its leading blank line).
    pub block: String,
}

/// A KDL value as written in a document: a bare identifier when possible, else a quoted string.
pub(crate) fn kdl_value(s: &str) -> String {
    KdlEntry::new(KdlValue::String(s.to_string()))
        .to_string()
        .trim()
        .to_string()
}

/// The indentation the manifest already uses (the first indented line), four spaces by default.
fn indent_unit(text: &str) -> String {
    for line in text.lines() {
        let ws: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if ws.len() == line.len() {
            continue;
        }
        if ws.starts_with('\t') {
            return "\t".into();
        }
        if (2..=8).contains(&ws.len()) {
            return ws;
        }
        if !ws.is_empty() {
            break;
        }
    }
    "    ".into()
}

fn defaults_have_base(source: &Source) -> bool {
    crate::syntax::parse_document(source).is_ok_and(|doc| {
        doc.nodes()
            .iter()
            .filter(|n| n.name().value() == "defaults")
            .filter_map(|n| n.children())
            .any(|c| c.nodes().iter().any(|n| n.name().value() == "base"))
    })
}

fn app_block(name: &str, from: Option<&str>, indent: &str, base: bool, suffix: bool) -> String {
    let mut b = format!("app {}", kdl_value(name));
    if let Some(f) = from {
        b.push_str(&format!(" extends={}", kdl_value(f)));
    }
    b.push_str(" {\n");
    let line = |b: &mut String, s: &str| {
        b.push_str(indent);
        b.push_str(s);
        b.push('\n');
    };
    if base {
        line(
            &mut b,
            "base \"quay.io/jupyter/scipy-notebook:python-3.11\"",
        );
    }
    if suffix {
        line(&mut b, &format!("image-suffix {}", kdl_value(name)));
    }
    match from {
        Some(f) => {
            line(
                &mut b,
                &format!("// Everything of `{f}`; packages listed here are added to its own."),
            );
            line(&mut b, "// pip {");
            line(&mut b, &format!("// {indent}- \"accelerate==0.30.1\""));
            line(&mut b, "// }");
        }
        None => {
            line(&mut b, "// description \"what this environment is for\"");
            line(&mut b, "// apt wget curl");
            line(&mut b, "// mamba jupyter-server-proxy");
            line(&mut b, "// pip {");
            line(&mut b, &format!("// {indent}- \"transformers==4.40.0\""));
            line(&mut b, "// }");
        }
    }
    b.push_str("}\n");
    b
}

/// `jcx new APP [--from OTHER]`: appends an app block to the manifest. The rest of the file is
/// kept byte-for-byte. The resulting manifest must validate, else nothing is written.
pub fn new_app(manifest: &Path, name: &str, from: Option<&str>) -> Result<NewApp> {
    let source = Source::read(manifest)?;
    let original = source.text.clone();
    let indent = indent_unit(&original);
    let base = from.is_none() && !defaults_have_base(&source);
    let mut sep = String::new();
    if !original.is_empty() && !original.ends_with('\n') {
        sep.push('\n');
    }
    if !original.trim().is_empty() && !original.ends_with("\n\n") {
        sep.push('\n');
    }
    let out = default_out(manifest);
    // Without an image suffix the app may push the same image as another app (same base image);
    // the suffix is added only when it is needed.
    let mut first_error = None;
    for suffix in [false, true] {
        let block = format!("{sep}{}", app_block(name, from, &indent, base, suffix));
        let text = format!("{original}{block}");
        let candidate = Source {
            text: text.clone(),
            ..source.clone()
        };
        match load_source(candidate, &out, &mut Timings::default()) {
            Ok(_) => {
                write_atomic(manifest, text.as_bytes(), Replacing::Source)?;
                return Ok(NewApp {
                    path: manifest.to_path_buf(),
                    block,
                });
            }
            Err(e) => {
                let collision = matches!(&e, Error::Invalid(inv)
                    if inv.problems.iter().any(|p| p.problem.code == Code::ImageNameCollision));
                if first_error.is_none() {
                    first_error = Some(e);
                }
                if !collision {
                    break;
                }
            }
        }
    }
    Err(first_error.expect("at least one candidate was tried"))
}

// ---------------------------------------------------------------------------------------------
// fmt

/// Where the scanner is: in code, or inside something whose bytes are never touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    LineComment,
    /// Nesting depth of `/* */`.
    BlockComment(u32),
    /// `"..."` (may continue on the next line after a `\` whitespace escape).
    Str,
    /// `"""` ... `"""`.
    MultiStr,
    /// `#"..."#`, `##"""..."""##`: ends at `"` followed by this many `#`.
    Raw(usize),
}

/// One line after scanning: its normalised text and what it says about structure.
struct Line {
    text: String,
    /// The line started inside a string or block comment (kept verbatim).
    verbatim: bool,
    /// `}` at the start of the line (before any other code).
    leading_closes: usize,
    opens: usize,
    closes: usize,
    /// The last code character (outside comments) was `{`.
    ends_with_open: bool,
    /// The line ends with a `\` line continuation.
    continues: bool,
    /// The text of each comment (or comment part) on this line, as written.
    comments: Vec<String>,
}

/// Scans one line starting in state `lex`; returns the line and the state at its end.
fn scan_line(line: &str, mut lex: Lex) -> (Line, Lex) {
    let verbatim = lex != Lex::Code;
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let (mut opens, mut closes, mut leading_closes) = (0, 0, 0);
    let mut seen_code = false;
    let mut last_code: Option<char> = None;
    let mut comments = Vec::new();
    let mut comment = String::new();
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        match lex {
            Lex::Code => {
                if c == ' ' || c == '\t' {
                    // One space between tokens; none at the start (indentation is recomputed).
                    if !verbatim && (out.is_empty() || out.ends_with(' ')) {
                        i += 1;
                        continue;
                    }
                    if verbatim && out.ends_with(' ') {
                        i += 1;
                        continue;
                    }
                    out.push(' ');
                    i += 1;
                    continue;
                }
                if at(i, "//") {
                    lex = Lex::LineComment;
                    continue;
                }
                if at(i, "/*") {
                    out.push_str("/*");
                    comment.push_str("/*");
                    lex = Lex::BlockComment(1);
                    i += 2;
                    continue;
                }
                if at(i, "\"\"\"") {
                    out.push_str("\"\"\"");
                    lex = Lex::MultiStr;
                    i += 3;
                } else if c == '"' {
                    out.push('"');
                    lex = Lex::Str;
                    i += 1;
                } else if c == '#' {
                    let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
                    if chars.get(i + hashes) == Some(&'"') {
                        out.extend(std::iter::repeat_n('#', hashes));
                        out.push('"');
                        lex = Lex::Raw(hashes);
                        i += hashes + 1;
                    } else {
                        out.push(c);
                        i += 1;
                    }
                } else {
                    if c == '{' {
                        if !out.is_empty() && !out.ends_with(' ') {
                            out.push(' ');
                        }
                        opens += 1;
                    } else if c == '}' {
                        closes += 1;
                        if !seen_code {
                            leading_closes += 1;
                        }
                    }
                    out.push(c);
                    i += 1;
                }
                if c != '}' {
                    seen_code = true;
                }
                last_code = Some(c);
            }
            Lex::LineComment => {
                out.push(c);
                comment.push(c);
                i += 1;
            }
            Lex::BlockComment(depth) => {
                if at(i, "*/") {
                    out.push_str("*/");
                    comment.push_str("*/");
                    i += 2;
                    lex = if depth == 1 {
                        Lex::Code
                    } else {
                        Lex::BlockComment(depth - 1)
                    };
                    if lex == Lex::Code {
                        comments.push(std::mem::take(&mut comment));
                    }
                } else if at(i, "/*") {
                    out.push_str("/*");
                    comment.push_str("/*");
                    i += 2;
                    lex = Lex::BlockComment(depth + 1);
                } else {
                    out.push(c);
                    comment.push(c);
                    i += 1;
                }
            }
            Lex::Str | Lex::MultiStr => {
                if c == '\\' {
                    out.push(c);
                    if let Some(n) = chars.get(i + 1) {
                        out.push(*n);
                    }
                    i += 2;
                } else if lex == Lex::MultiStr && at(i, "\"\"\"") {
                    out.push_str("\"\"\"");
                    i += 3;
                    lex = Lex::Code;
                    last_code = Some('"');
                } else if lex == Lex::Str && c == '"' {
                    out.push(c);
                    i += 1;
                    lex = Lex::Code;
                    last_code = Some('"');
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            Lex::Raw(hashes) => {
                if c == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes
                {
                    out.push('"');
                    out.extend(std::iter::repeat_n('#', hashes));
                    i += 1 + hashes;
                    lex = Lex::Code;
                    last_code = Some('"');
                } else {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }
    if lex == Lex::LineComment {
        lex = Lex::Code;
    }
    if !comment.is_empty() {
        comments.push(comment);
    }
    let comments = comments
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    // Trailing whitespace goes, unless the line ends inside a string (where it is content).
    if matches!(lex, Lex::Code | Lex::BlockComment(_)) {
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
    }
    let continues = last_code == Some('\\');
    let line = Line {
        text: out,
        verbatim,
        leading_closes,
        opens,
        closes,
        ends_with_open: last_code == Some('{'),
        continues,
        comments,
    };
    (line, lex)
}

/// Canonical layout of a KDL text: four-space indentation by nesting depth (one more for `\`
/// continuation lines), one space between tokens and before `{`, no trailing whitespace, at
/// most one blank line in a row, none just inside a block and one after each top-level block,
/// a single final newline.
/// Comments, strings and every value's spelling are kept as written.
pub fn format_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    let mut lex = Lex::Code;
    let mut depth: usize = 0;
    let mut continuation = false;
    let mut pending_blank = false;
    let mut prev_opened = true; // no blank line at the very start
    let mut prev_closed_top = false;
    for raw in text.split('\n') {
        let (line, next) = scan_line(raw, lex);
        lex = next;
        if line.verbatim {
            out.push_str(&line.text);
            out.push('\n');
        } else if line.text.is_empty() {
            pending_blank = true;
            continue;
        } else {
            // A blank line after each top-level block, and where the user had one.
            if (pending_blank || prev_closed_top) && !prev_opened && line.leading_closes == 0 {
                out.push('\n');
            }
            let level = depth.saturating_sub(line.leading_closes) + usize::from(continuation);
            for _ in 0..level {
                out.push_str("    ");
            }
            out.push_str(&line.text);
            out.push('\n');
        }
        pending_blank = false;
        prev_opened = line.ends_with_open;
        let was_nested = depth > 0;
        depth = (depth + line.opens).saturating_sub(line.closes);
        prev_closed_top = !line.verbatim && was_nested && depth == 0 && line.leading_closes > 0;
        continuation = line.continues;
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out == "\n" {
        out.clear();
    }
    out
}

/// The meaning of a KDL document without its formatting: what `fmt` must never change.
#[derive(Debug, PartialEq)]
struct Shape {
    ty: Option<String>,
    name: String,
    entries: Vec<(Option<String>, Option<String>, KdlValue)>,
    children: Option<Vec<Shape>>,
}

fn shape(doc: &KdlDocument) -> Vec<Shape> {
    doc.nodes()
        .iter()
        .map(|n| Shape {
            ty: n.ty().map(|t| t.value().to_string()),
            name: n.name().value().to_string(),
            entries: n
                .entries()
                .iter()
                .map(|e| {
                    (
                        e.ty().map(|t| t.value().to_string()),
                        e.name().map(|k| k.value().to_string()),
                        e.value().clone(),
                    )
                })
                .collect(),
            children: n.children().map(shape),
        })
        .collect()
}

/// Every comment of a KDL text, line by line, trimmed: what `fmt` must keep.
fn comments(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lex = Lex::Code;
    for raw in text.replace("\r\n", "\n").split('\n') {
        let (line, next) = scan_line(raw, lex);
        found.extend(line.comments);
        lex = next;
    }
    found
}

/// `jcx fmt`: the formatted text of a manifest, checked to mean the same document.
pub fn format_source(source: &Source) -> Result<String> {
    let before = crate::syntax::parse_document(source)?;
    let formatted = format_text(&source.text);
    let internal = |message: &str| Error::Render {
        file: source.name.clone(),
        message: message.to_string(),
    };
    let reparsed = Source {
        text: formatted.clone(),
        ..source.clone()
    };
    let after = crate::syntax::parse_document(&reparsed)
        .map_err(|_| internal("the formatted manifest does not parse"))?;
    if shape(&before) != shape(&after) {
        return Err(internal("formatting would change the document's meaning"));
    }
    if comments(&source.text) != comments(&formatted) {
        return Err(internal("formatting would change a comment"));
    }
    if format_text(&formatted) != formatted {
        return Err(internal("formatting is not stable"));
    }
    Ok(formatted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindents_and_keeps_comments_and_strings() {
        let messy = "// top\nmanifest-version   1\n\n\n\nregistry \"ghcr.io\"\tnamespace=lab   // where  \napp a{\n  apt wget \\\n  curl // why\n\n  pip {\n\n  - \"x==1\"\n      }\n  dockerfile #\"\"\"\n      RUN a  \n      \"\"\"#\n      /* block\n   keep */ description \"two  spaces\"\n}\n\n\n";
        let f = format_text(messy);
        assert_eq!(
            f,
            "// top\nmanifest-version 1\n\nregistry \"ghcr.io\" namespace=lab // where\napp a {\n    apt wget \\\n        curl // why\n\n    pip {\n        - \"x==1\"\n    }\n    dockerfile #\"\"\"\n      RUN a  \n      \"\"\"#\n    /* block\n   keep */ description \"two  spaces\"\n}\n"
        );
        assert_eq!(format_text(&f), f);
        let src = Source {
            path: "apps.kdl".into(),
            name: "apps.kdl".into(),
            text: messy.into(),
        };
        assert_eq!(format_source(&src).unwrap(), f);
    }

    #[test]
    fn comments_are_found() {
        assert_eq!(
            comments("a \"//x\" // c\n/* b\n c */ d\n"),
            vec!["// c", "/* b", "c */"]
        );
    }
}
