//! Rules shared by every node family: nothing that could inject into a generated file (GitHub
//! expressions, control and invisible characters, shell metacharacters), and where inside a
//! multi-line value a problem is.

use std::collections::HashMap;
use std::sync::Arc;

use miette::SourceSpan;

use super::raw::Sp;
use crate::error::{Code, Problem};

pub const MAX_NAME_LEN: usize = 63;

/// Collects the problems of one validation run; every rule reports through it.
pub struct Checker<'a> {
    pub problems: &'a mut Vec<Problem>,
    /// The manifest's text, to point inside multi-line values.
    pub text: &'a str,
    /// The images repository (the output directory, which is the build context), where files
    /// the manifest names must exist. `None` only in unit tests of rules that read no file.
    pub root: Option<&'a std::path::Path>,
    /// Package files of the repository already read, by path: each is read and parsed once,
    /// however many blocks and apps name it.
    pub files: FileCache,
}

/// Requirements files and `environment.yml` files as read, by path (an unreadable file is
/// reported where it is named, and not here).
#[derive(Default)]
pub struct FileCache {
    pub requirements: HashMap<String, Arc<super::reqfile::ReqFile>>,
    pub environments: HashMap<String, Arc<super::conda_env::EnvFile>>,
    pub locks: HashMap<String, Arc<super::conda_lock::LockFile>>,
}

/// Characters that must never reach a generated file through a single-line value.
pub fn control_char(s: &str, multiline: bool) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| {
        (c.is_control() && !(multiline && (c == '\n' || c == '\t')))
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

pub fn lowercase_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
        && !s.contains("..")
        && !s.ends_with('.')
}

/// How the values of a list that becomes shell words are checked.
pub struct WordRule {
    pub what: &'static str,
    /// Whether the generated file single-quotes the value (fewer characters are then special).
    pub quoted: bool,
    pub valid: fn(&str) -> bool,
    pub code: Code,
    pub noun: &'static str,
    pub label: &'static str,
    pub help: &'static str,
}

impl Checker<'_> {
    /// The span of line `n` of a multi-line string value (`#"""` ... `"""#`), trimmed; the whole
    /// value when it is written on one line.
    pub fn line_span(&self, value: SourceSpan, n: usize, value_text: &str) -> SourceSpan {
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
    pub fn word_list(&mut self, items: &[Sp<String>], rule: WordRule) {
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

    pub fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Refuses what could inject into a generated file. Returns false when the value is unusable.
    pub fn safe(&mut self, v: &Sp<String>, what: &str, multiline: bool) -> bool {
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
    pub fn shell_word(&mut self, v: &Sp<String>, what: &str, quoted: bool) -> bool {
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
}

/// Reports the second of two entries with the same name.
pub fn duplicate_names(cx: &mut Checker<'_>, entries: &[(Sp<String>, Sp<String>)], what: &str) {
    let mut seen: std::collections::HashMap<&str, SourceSpan> = Default::default();
    for (k, _) in entries {
        if let Some(first) = seen.insert(&k.v, k.span) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    k.span,
                    format!("{what} `{}` is set twice", k.v),
                )
                .label("set again")
                .also(first, "first set here")
                .help("keep one of them"),
            );
        }
    }
}

/// Reports the second of two nodes of one block that name the same package file.
pub fn duplicate_paths<'p>(cx: &mut Checker<'_>, paths: impl Iterator<Item = &'p Sp<String>>) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for p in paths {
        if let Some(first) = seen.iter().find(|f| f.v == p.v) {
            cx.push(
                Problem::error(Code::Duplicate, p.span, format!("`{}` is named twice", p.v))
                    .label("named again")
                    .also(first.span, "first named here")
                    .help("name each file once: it is installed once"),
            );
        } else {
            seen.push(p);
        }
    }
}

/// A shell-style variable name, as `ENV` and `ARG` take it: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Values in first-seen order, without repeats.
pub fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

pub fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
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
}
