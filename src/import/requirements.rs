//! A pip requirements file as pip reads it: comments (`#` at the start or after a blank),
//! `\` continuations, requirement lines, and option lines (`--index-url URL`, `-i URL`,
//! `--extra-index-url=URL`, `-r FILE`, `--pre`, ...). Per-requirement options (`--hash=...`)
//! are split off the requirement.

/// One logical line of a requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Requirement {
        text: String,
        /// Options written after the requirement (`--hash=sha256:...`).
        options: Vec<String>,
        line: usize,
    },
    Option {
        /// The long name without dashes: `index-url`, `extra-index-url`, `requirement`, ...
        name: String,
        value: Option<String>,
        line: usize,
        raw: String,
    },
}

impl Line {
    pub fn line(&self) -> usize {
        match self {
            Line::Requirement { line, .. } | Line::Option { line, .. } => *line,
        }
    }
}

/// The options that take a value, by every spelling pip accepts (short forms included).
const VALUED: &[(&str, &str)] = &[
    ("-i", "index-url"),
    ("--index-url", "index-url"),
    ("--extra-index-url", "extra-index-url"),
    ("-f", "find-links"),
    ("--find-links", "find-links"),
    ("-r", "requirement"),
    ("--requirement", "requirement"),
    ("-c", "constraint"),
    ("--constraint", "constraint"),
    ("-e", "editable"),
    ("--editable", "editable"),
    ("--trusted-host", "trusted-host"),
    ("--no-binary", "no-binary"),
    ("--only-binary", "only-binary"),
    ("--use-feature", "use-feature"),
    ("--config-settings", "config-settings"),
    ("--global-option", "global-option"),
];

/// Reads a requirements file; `(lines, comment or blank line count)`.
pub fn read(text: &str) -> (Vec<Line>, usize) {
    let mut out = Vec::new();
    let mut other = 0;
    let mut pending = String::new();
    let mut pending_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if pending.is_empty() {
            pending_line = n;
        }
        let line = strip_comment(raw);
        if let Some(before) = line.strip_suffix('\\') {
            pending.push_str(before);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let logical = std::mem::take(&mut pending);
        let logical = logical.trim();
        if logical.is_empty() {
            other += 1;
            continue;
        }
        out.push(parse(logical, pending_line));
    }
    let rest = pending.trim();
    if !rest.is_empty() {
        out.push(parse(rest, pending_line));
    }
    (out, other)
}

/// A line without its comment: `#` at the start or after a blank.
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return line[..i].trim_end();
        }
    }
    line.trim_end()
}

fn parse(logical: &str, line: usize) -> Line {
    if logical.starts_with('-') {
        let (flag, rest) = match logical.find(|c: char| c == '=' || c.is_whitespace()) {
            Some(p) => (&logical[..p], logical[p + 1..].trim()),
            None => (logical, ""),
        };
        let valued = VALUED.iter().find(|(f, _)| *f == flag);
        let (name, value) = match valued {
            Some((_, name)) => ((*name).to_string(), Some(rest.to_string())),
            None => (
                flag.trim_start_matches('-').to_string(),
                (!rest.is_empty()).then(|| rest.to_string()),
            ),
        };
        // `-rfile.txt` and `-ihttps://...`: a short option with its value attached.
        let (name, value) = match (valued, flag.len() > 2 && !flag.starts_with("--")) {
            (None, true) => match VALUED.iter().find(|(f, _)| flag.starts_with(f)) {
                Some((f, n)) => ((*n).to_string(), Some(flag[f.len()..].to_string())),
                None => (name, value),
            },
            _ => (name, value),
        };
        return Line::Option {
            name,
            value,
            line,
            raw: logical.to_string(),
        };
    }
    let mut options = Vec::new();
    let mut text = logical.to_string();
    if let Some(p) = logical.find(" -") {
        options = logical[p..]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        text = logical[..p].trim_end().to_string();
    }
    Line::Requirement {
        text,
        options,
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_original_repository_file() {
        let text = "# https://pytorch.org/get-started/previous-versions/\n--index-url https://download.pytorch.org/whl/cu118torch==1.12.0+cu116\ntorch==2.2.1\ntorchaudio==2.2.1 \n\n--index-url https://mirror.example.org/simple\nmpi4py\ngit+https://github.com/huggingface/peft # peft\nx==1 \\\n  --hash=sha256:ab\n-rother.txt\n";
        let (lines, other) = read(text);
        assert_eq!(other, 2);
        assert_eq!(
            lines[0],
            Line::Option {
                name: "index-url".into(),
                value: Some("https://download.pytorch.org/whl/cu118torch==1.12.0+cu116".into()),
                line: 2,
                raw: "--index-url https://download.pytorch.org/whl/cu118torch==1.12.0+cu116".into(),
            }
        );
        assert!(
            matches!(&lines[2], Line::Requirement { text, line: 4, .. } if text == "torchaudio==2.2.1")
        );
        assert!(
            matches!(&lines[5], Line::Requirement { text, .. } if text == "git+https://github.com/huggingface/peft")
        );
        assert!(
            matches!(&lines[6], Line::Requirement { text, options, line: 9 } if text == "x==1" && options == &vec!["--hash=sha256:ab".to_string()])
        );
        assert!(
            matches!(&lines[7], Line::Option { name, value: Some(v), .. } if name == "requirement" && v == "other.txt")
        );
    }
}
