//! A tolerant reader of hand-written Dockerfiles for `jcx import`: parser directives, comments,
//! `\` (or `` ` ``) continuations, instructions with their `--flags`, and heredoc bodies, each
//! instruction with the lines it spans. It never fails: what it cannot read is an instruction
//! of its own that the mapper does not know, and ends up in a comment of the manifest.
//!
//! It is not BuildKit's reader (`crate::dockerfile_block` is a port of that, for what jcx
//! writes); it only has to find where each instruction starts and ends as a person wrote it.

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instr {
    /// The instruction name, uppercase (`RUN`).
    pub keyword: String,
    /// `--name=value` flags after the name (`--chown=1000:100`, `--mount=...`), as written.
    pub flags: Vec<String>,
    /// The arguments after the flags, continuation lines joined (comment lines inside dropped),
    /// without the heredoc bodies.
    pub args: String,
    /// For each byte offset in `args` where a physical line starts, that line (1-based).
    pub line_starts: Vec<(usize, usize)>,
    pub heredocs: Vec<Heredoc>,
    /// 1-based first and last physical line (heredoc bodies and terminators included).
    pub first: usize,
    pub last: usize,
    /// The instruction ends in a continuation or inside a heredoc at the end of the file.
    pub unterminated: bool,
}

impl Instr {
    /// The physical line of byte `offset` of `args`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .iter()
            .rev()
            .find(|(o, _)| *o <= offset)
            .map_or(self.first, |(_, l)| *l)
    }

    /// A flag's value: `flag("chown")` for `--chown=1000:100`.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|f| {
            let rest = f.strip_prefix("--")?;
            let (k, v) = rest.split_once('=').unwrap_or((rest, ""));
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub strip_tabs: bool,
    /// The word was quoted: no expansion in the body.
    pub quoted: bool,
    pub body: String,
}

/// A Dockerfile as lines and instructions.
#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    /// The physical lines, without line terminators (CRLF read as LF).
    pub lines: Vec<String>,
    /// Parser directives at the top: (key lowercase, value, line).
    pub directives: Vec<(String, String, usize)>,
    pub escape: char,
    pub instructions: Vec<Instr>,
    /// Comment lines outside instructions (directives excluded).
    pub comment_lines: Vec<usize>,
}

/// Reads a Dockerfile. Never fails.
pub fn read(text: &str) -> Dockerfile {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut df = Dockerfile {
        escape: '\\',
        ..Dockerfile::default()
    };
    let mut i = directives(&lines, &mut df);
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if trimmed.is_empty() {
            i += 1;
        } else if trimmed.starts_with('#') {
            df.comment_lines.push(i + 1);
            i += 1;
        } else {
            let (instr, next) = instruction(&lines, i, df.escape);
            df.instructions.push(instr);
            i = next;
        }
    }
    df.lines = lines;
    df
}

/// Reads the parser directives at the top; returns the first line after them.
fn directives(lines: &[String], df: &mut Dockerfile) -> usize {
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let Some(rest) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            break;
        }
        let value = value.trim().to_string();
        if key == "escape" && value == "`" {
            df.escape = '`';
        }
        df.directives.push((key, value, i + 1));
        i += 1;
    }
    i
}

/// `line` without a trailing escape character (and the blanks after it): (text, continues).
fn continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(before) if !before.ends_with(escape) => (before, true),
        _ => (line, false),
    }
}

/// One instruction starting at line index `start`; returns it and the next line index.
fn instruction(lines: &[String], start: usize, escape: char) -> (Instr, usize) {
    let mut joined = String::new();
    let mut line_starts = Vec::new();
    let mut i = start;
    let mut unterminated = false;
    loop {
        let Some(raw) = lines.get(i) else {
            unterminated = true;
            break;
        };
        i += 1;
        let t = raw.trim_start();
        if i - 1 > start && (t.starts_with('#') || t.is_empty()) {
            continue; // comment or blank line inside a continuation
        }
        line_starts.push((joined.len(), i));
        let (part, more) = continuation(raw, escape);
        joined.push_str(part);
        if !more {
            break;
        }
    }
    let text = joined.trim_start();
    let lead = joined.len() - text.len();
    let (keyword, rest_at) = match text.find(char::is_whitespace) {
        Some(p) => (&text[..p], p),
        None => (text, text.len()),
    };
    let mut at = lead + rest_at;
    let mut flags = Vec::new();
    loop {
        let rest = &joined[at..];
        let skipped = rest.len() - rest.trim_start().len();
        let word_at = at + skipped;
        let word_end = joined[word_at..]
            .find(char::is_whitespace)
            .map_or(joined.len(), |p| word_at + p);
        let word = &joined[word_at..word_end];
        if word.len() > 2 && word.starts_with("--") {
            flags.push(word.to_string());
            at = word_end;
        } else {
            at = word_at;
            break;
        }
    }
    let args_raw = &joined[at..];
    let args = args_raw.trim_end().to_string();
    let line_starts = line_starts
        .into_iter()
        .map(|(o, l): (usize, usize)| (o.saturating_sub(at), l))
        .collect();
    let keyword = keyword.to_ascii_uppercase();
    let mut instr = Instr {
        keyword,
        flags,
        args,
        line_starts,
        heredocs: Vec::new(),
        first: start + 1,
        last: i.max(start + 1),
        unterminated,
    };
    if matches!(instr.keyword.as_str(), "RUN" | "COPY" | "ADD") && !instr.args.starts_with('[') {
        for (name, strip_tabs, quoted) in heredoc_words(&instr.args) {
            let mut body = String::new();
            let mut closed = false;
            while let Some(raw) = lines.get(i) {
                i += 1;
                let candidate = if strip_tabs {
                    raw.trim_start_matches('\t')
                } else {
                    raw.as_str()
                };
                if candidate == name {
                    closed = true;
                    break;
                }
                body.push_str(candidate);
                body.push('\n');
            }
            instr.unterminated |= !closed;
            instr.heredocs.push(Heredoc {
                name,
                strip_tabs,
                quoted,
                body,
            });
        }
        instr.last = i.max(start + 1);
    }
    (instr, i)
}

/// The heredoc words of an instruction's arguments, in order: (word, `<<-`, quoted).
pub fn heredoc_words(args: &str) -> Vec<(String, bool, bool)> {
    let b = args.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(b'"') if c == b'\\' => i += 1,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'\\' => i += 1,
            None if c == b'<' && b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                let mut j = i + 2;
                let strip = b.get(j) == Some(&b'-');
                if strip {
                    j += 1;
                }
                let q = match b.get(j) {
                    Some(&c @ (b'\'' | b'"')) => {
                        j += 1;
                        Some(c)
                    }
                    _ => None,
                };
                let start = j;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j > start {
                    let word = args[start..j].to_string();
                    if let Some(q) = q
                        && b.get(j) == Some(&q)
                    {
                        j += 1;
                    }
                    found.push((word, strip, q.is_some()));
                }
                i = j;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_flags() {
        let df = read(
            "# syntax=docker/dockerfile:1\nARG BASE=x:1\nFROM ${BASE}\n# a comment\nRUN apt-get update && \\\n    # wget \\\n    apt-get install -y \\\n\n    curl\r\nCOPY --chown=1000:100 --chmod=0644 a.txt /etc/a.txt\n",
        );
        assert_eq!(
            df.directives,
            vec![("syntax".into(), "docker/dockerfile:1".into(), 1)]
        );
        assert_eq!(df.comment_lines, vec![4]);
        let run = &df.instructions[2];
        assert_eq!(run.keyword, "RUN");
        assert_eq!(
            run.args,
            "apt-get update &&     apt-get install -y     curl"
        );
        assert_eq!((run.first, run.last), (5, 9));
        assert_eq!(run.line_of(run.args.find("curl").unwrap()), 9);
        let copy = &df.instructions[3];
        assert_eq!(copy.flag("chown"), Some("1000:100"));
        assert_eq!(copy.flag("chmod"), Some("0644"));
        assert_eq!(copy.args, "a.txt /etc/a.txt");
    }

    #[test]
    fn heredocs_and_escape_directive() {
        let df = read("RUN <<EOF bash\necho hi\nEOF\nCOPY <<-'X' /a\n\tbody\n\tX\nRUN x\n");
        assert_eq!(df.instructions.len(), 3);
        assert_eq!(df.instructions[0].heredocs[0].body, "echo hi\n");
        assert_eq!((df.instructions[0].first, df.instructions[0].last), (1, 3));
        let h = &df.instructions[1].heredocs[0];
        assert!(h.strip_tabs && h.quoted && h.body == "body\n");
        let df = read("# escape=`\nRUN a `\n  b\n");
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions[0].args, "a   b");
        let df = read("RUN <<EOF\nnever closed\n");
        assert!(df.instructions[0].unterminated);
    }
}
