//! How BuildKit reads a `dockerfile` block, so that jcx accepts only blocks that cannot reach the
//! lines it writes after them.
//!
//! jcx splices each block into the app's Dockerfile and follows it with its own lines, the last
//! being `USER ${NB_UID}`. A block that BuildKit reads as ending inside a `\` continuation or a
//! heredoc swallows those lines; a `FROM` starts a second stage. So the block must be read
//! exactly as BuildKit reads it, not as a shell or a person would.
//!
//! This module is a port of the parts of BuildKit's Dockerfile parser that decide where an
//! instruction starts and ends (`frontend/dockerfile/parser`: `parser.go` for lines, comments,
//! continuations and heredoc bodies; `split_command.go` for the instruction name and its
//! `--flags`; `line_parsers.go` for the JSON form and the errors of `ENV`/`LABEL`/`ONBUILD`;
//! `frontend/dockerfile/shell/lex.go` for the shell words in which heredocs are found). Where
//! BuildKit releases read the same text differently, the block is refused instead of guessed:
//! `<< WORD` (a heredoc only since dockerfile 1.16), `${VAR:-x}` and the other expansion
//! modifiers on a line that opens a heredoc (their word splitting changed in 1.7, 1.9 and 1.10),
//! and a JSON array followed by more text (the JSON form before 1.9, a shell command after).
//!
//! jcx writes its Dockerfiles with the default escape character `\` and no other parser
//! directive than `# syntax=` on the first line, so inside a block `# escape=` is a plain comment
//! to BuildKit; the reader treats it as one and refuses it as a block rule.
//!
//! [`read`] reads a block; [`read_dockerfile`] reads a whole generated Dockerfile with the same
//! rules (without the block rules), which `render` uses to check every Dockerfile it writes.

/// BuildKit reads lines with a 64 KiB buffer: a longer line fails the whole Dockerfile.
pub const MAX_LINE_BYTES: usize = 65_535;

/// What jcx makes of a block: the lines it writes, and every reason to refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The lines jcx writes into the Dockerfile: the block without its leading and trailing
    /// blank lines, otherwise byte for byte. This is the text that was read.
    pub lines: Vec<String>,
    /// Every problem found, in order. The block is safe to write only when this is empty.
    pub issues: Vec<Found>,
    /// The instructions, as BuildKit reads them (up to the first problem that makes the rest of
    /// the reading uncertain).
    pub instructions: Vec<Instruction>,
}

/// A problem and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub issue: Issue,
    /// 0-based line of the block text given to [`read`] (not of [`Reading::lines`]).
    pub line: usize,
}

/// One instruction as BuildKit reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The instruction as written (`run`, `RUN`).
    pub command: String,
    /// Its arguments after any `--flags`, trimmed, continuation lines joined.
    pub args: String,
    /// Its builder flags (`--from=build`), as BuildKit's flag parser gets them.
    pub flags: Vec<String>,
    /// The arguments are the JSON form (`COPY ["a", "/b/"]`).
    pub json: bool,
    /// For `ONBUILD`, the instruction it registers.
    pub trigger: Option<String>,
    /// The terminators of the heredocs whose bodies follow it, in order.
    pub heredocs: Vec<String>,
    /// 0-based first line.
    pub line: usize,
    /// 0-based last line: of its continuation, or the terminator of its last heredoc.
    pub end: usize,
}

impl Instruction {
    /// Whether this is the instruction `name` (case-insensitive, as BuildKit compares).
    pub fn is(&self, name: &str) -> bool {
        self.command.eq_ignore_ascii_case(name)
    }
}

/// Why a block cannot be written as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A `FROM` instruction: a second build stage.
    From,
    /// `ONBUILD` without an instruction, or with one BuildKit refuses there (`FROM`, `ONBUILD`,
    /// `MAINTAINER`); the string is that instruction, empty when there is none.
    OnbuildTrigger(String),
    /// An instruction name BuildKit does not know (the build would fail on it).
    UnknownInstruction(String),
    /// A comment that would be a parser directive at the top of a Dockerfile (the key, lowercase).
    Directive(String),
    /// The block ends inside an instruction continued with `\`.
    OpenContinuation,
    /// The block ends inside a heredoc; the string is its terminator.
    OpenHeredoc(String),
    /// An empty line inside a continued instruction (reported at the line continued onto it):
    /// BuildKit skips it with a warning that a future release will refuse it.
    EmptyContinuationLine,
    /// BuildKit's parser refuses the instruction.
    Rejected(Rejection),
    /// BuildKit releases read the line differently.
    Ambiguous(Ambiguity),
    /// A line longer than [`MAX_LINE_BYTES`] (its length in bytes).
    LineTooLong(usize),
    /// A control character other than tab, or a byte-order mark.
    Character(char),
}

/// An error of BuildKit's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A JSON-form instruction with an element that is not a string.
    JsonNotStrings,
    /// `ENV`/`LABEL` in the `NAME VALUE` form without a value (the instruction).
    NameValueMissing(String),
    /// `ENV`/`LABEL` in the `NAME=VALUE` form with a word that has no `=` (the word).
    NameValueNoEquals(String),
    /// A heredoc word BuildKit cannot read (its message).
    HeredocWord(String),
}

/// What BuildKit releases read differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ambiguity {
    /// `<<` followed by blanks on a line that can open a heredoc.
    HeredocBlank,
    /// An expansion with a modifier (`${NAME:-...}`, `${NAME%...}`, ...) on a line that opens a
    /// heredoc; the string is its start (`${NAME:-`).
    Expansion(String),
    /// `${...}` with a non-ASCII name on a line that opens a heredoc.
    ExpansionName,
    /// A JSON array followed by more text.
    JsonPrefix,
}

impl Issue {
    /// One line saying what is wrong.
    pub fn message(&self) -> String {
        match self {
            Issue::From => "a `dockerfile` block may not start a new build stage (`FROM`)".into(),
            Issue::OnbuildTrigger(t) if t.is_empty() => {
                "`ONBUILD` without an instruction to register".into()
            }
            Issue::OnbuildTrigger(t) => format!("`ONBUILD {}` is not allowed", shown(t)),
            Issue::UnknownInstruction(c) => {
                format!("`{}` is not a Dockerfile instruction", shown(c))
            }
            Issue::Directive(_) => "a `dockerfile` block may not contain a parser directive".into(),
            Issue::OpenContinuation => {
                "the `dockerfile` block ends with a line continued by `\\`".into()
            }
            Issue::OpenHeredoc(w) => format!(
                "the `dockerfile` block ends inside a heredoc (no line `{}` ends it)",
                shown(w)
            ),
            Issue::EmptyContinuationLine => {
                "an empty line inside an instruction continued by `\\`".into()
            }
            Issue::Rejected(r) => {
                format!("BuildKit's Dockerfile parser refuses this: {}", r.what())
            }
            Issue::Ambiguous(a) => {
                format!("BuildKit releases read this line differently: {}", a.what())
            }
            Issue::LineTooLong(n) => format!("a line of {n} bytes is longer than BuildKit reads"),
            Issue::Character(c) => format!(
                "the `dockerfile` block contains the character U+{:04X}",
                *c as u32
            ),
        }
    }

    /// The label under the offending line.
    pub fn label(&self) -> &'static str {
        match self {
            Issue::From => "contains FROM",
            Issue::OnbuildTrigger(_) => "ONBUILD trigger",
            Issue::UnknownInstruction(_) => "unknown instruction",
            Issue::Directive(_) => "parser directive",
            Issue::OpenContinuation => "last instruction is unfinished",
            Issue::OpenHeredoc(_) => "opened here, never closed",
            Issue::EmptyContinuationLine => "continued onto an empty line",
            Issue::Rejected(_) => "refused by BuildKit",
            Issue::Ambiguous(_) => "read differently by BuildKit releases",
            Issue::LineTooLong(_) => "too long",
            Issue::Character(_) => "this line",
        }
    }

    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            Issue::From => "the block is inserted into the app's single stage; set the base image with `base` instead".into(),
            Issue::OnbuildTrigger(_) => "BuildKit refuses `ONBUILD FROM`, `ONBUILD ONBUILD`, `ONBUILD MAINTAINER` and an empty `ONBUILD`; register another instruction (`ONBUILD RUN ...`) or remove the line".into(),
            Issue::UnknownInstruction(c) => unknown_help(c),
            Issue::Directive(k) => format!("parser directives only count on the first lines of a Dockerfile, where jcx writes `# syntax=docker/dockerfile:1`; in a block `# {k}=` would be an ordinary comment. Remove it"),
            Issue::OpenContinuation => "remove the trailing `\\`: the next line of the Dockerfile is jcx's, and it would be swallowed into this instruction".into(),
            Issue::OpenHeredoc(w) => format!("end the heredoc with a line that is exactly `{}` (leading tabs allowed with `<<-`): otherwise BuildKit reads jcx's own lines after the block as its body", shown(w)),
            Issue::EmptyContinuationLine => "BuildKit skips the empty line with a warning that a future release will refuse it; remove the empty line, or end the instruction before it".into(),
            Issue::Rejected(r) => r.help(),
            Issue::Ambiguous(a) => a.help(),
            Issue::LineTooLong(_) => format!("BuildKit refuses Dockerfile lines over {MAX_LINE_BYTES} bytes; split the line with `\\` continuations"),
            Issue::Character(_) => "a `dockerfile` block may hold only printable text, tabs and newlines".into(),
        }
    }
}

impl Rejection {
    fn what(&self) -> String {
        match self {
            Rejection::JsonNotStrings => "a JSON array with an element that is not a string".into(),
            Rejection::NameValueMissing(i) => format!("`{}` has a name but no value", shown(i)),
            Rejection::NameValueNoEquals(w) => format!("`{}` has no `=`", shown(w)),
            Rejection::HeredocWord(m) => format!("the heredoc word cannot be read ({m})"),
        }
    }

    fn help(&self) -> String {
        match self {
            Rejection::JsonNotStrings => {
                "in the JSON form (`RUN [\"executable\", \"arg\"]`) every element must be a string"
                    .into()
            }
            Rejection::NameValueMissing(_) | Rejection::NameValueNoEquals(_) => {
                "write `NAME=value` pairs (`ENV A=1 B=\"two words\"`)".into()
            }
            Rejection::HeredocWord(_) => {
                "write the heredoc word as a plain word (`<<EOF`, `<<'EOF'`, `<<-EOF`)".into()
            }
        }
    }
}

impl Ambiguity {
    fn what(&self) -> String {
        match self {
            Ambiguity::HeredocBlank => "`<<` followed by a blank".into(),
            Ambiguity::Expansion(e) => format!("`{}...}}` on a line with a heredoc", shown(e)),
            Ambiguity::ExpansionName => {
                "`${...}` with a non-ASCII name on a line with a heredoc".into()
            }
            Ambiguity::JsonPrefix => "a JSON array followed by more text".into(),
        }
    }

    fn help(&self) -> String {
        match self {
            Ambiguity::HeredocBlank => "BuildKit reads `<< WORD` as a heredoc since dockerfile 1.16 and as a plain word before; write `<<WORD` for a heredoc, or quote the `<<` (`'<<'`) for a shell redirection or shift".into(),
            Ambiguity::Expansion(_) | Ambiguity::ExpansionName => "BuildKit releases split such a line into words differently, so they disagree on its heredocs; on a line that opens a heredoc use only `$NAME` or `${NAME}`, and move the expansion into the heredoc's body or to another instruction".into(),
            Ambiguity::JsonPrefix => "BuildKit before dockerfile 1.9 runs the JSON array and ignores the rest, later releases run the whole line as a shell command; remove the text after `]`".into(),
        }
    }
}

/// User text in a message, with control, invisible and blank characters (but space) escaped.
fn shown(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let hidden = c.is_control()
            || (c.is_whitespace() && c != ' ')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if hidden {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

fn unknown_help(command: &str) -> String {
    if let Some(c) = command.chars().find(|c| !c.is_ascii()) {
        return format!(
            "instruction names are ASCII; this one contains U+{:04X}, and BuildKit lowercases names with Unicode rules, so it may read it as a real instruction (`ONBU\u{130}LD` as `ONBUILD`). Retype the name",
            c as u32
        );
    }
    let upper = command.to_ascii_uppercase();
    let near = INSTRUCTIONS
        .iter()
        .filter(|i| **i != "FROM")
        .min_by_key(|i| strsim::levenshtein(&upper, i))
        .filter(|i| strsim::levenshtein(&upper, i) <= 2);
    match near {
        Some(i) => format!("did you mean `{i}`? If this line continues the instruction above, end that line with `\\`"),
        None => "the instructions are ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME and WORKDIR; if this line continues the instruction above, end that line with `\\`".into(),
    }
}

/// Reads a `dockerfile` block: the lines jcx will write, and every reason to refuse it.
pub fn read(text: &str) -> Reading {
    let all: Vec<&str> = text.split('\n').collect();
    let first = all
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(all.len());
    let end = all
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(first, |e| e + 1);
    let lines = &all[first..end];
    let mut reader = Reader::new(lines, first, true);
    reader.run();
    Reading {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        issues: reader.issues,
        instructions: reader.instructions,
    }
}

/// Reads a whole Dockerfile with the same rules, without the rules that only apply to a block
/// (a `FROM`, a directive-like comment, an unknown instruction are fine here).
pub fn read_dockerfile(text: &str) -> Reading {
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .collect();
    let mut reader = Reader::new(&lines, 0, false);
    reader.run();
    Reading {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        issues: reader.issues,
        instructions: reader.instructions,
    }
}

/// The reading of one run of lines, in the state BuildKit is in after jcx's own lines: no
/// instruction open, escape character `\`, parser directives over.
struct Reader<'a> {
    lines: &'a [&'a str],
    /// Added to indexes of `lines` to give lines of the caller's text.
    offset: usize,
    /// Apply the rules of a block (no FROM, no directive-like comment, known instructions).
    block: bool,
    next: usize,
    issues: Vec<Found>,
    instructions: Vec<Instruction>,
}

/// Reading cannot go on with certainty.
struct Stop;

impl<'a> Reader<'a> {
    fn new(lines: &'a [&'a str], offset: usize, block: bool) -> Self {
        Reader {
            lines,
            offset,
            block,
            next: 0,
            issues: Vec::new(),
            instructions: Vec::new(),
        }
    }

    fn found(&mut self, issue: Issue, index: usize) {
        self.issues.push(Found {
            issue,
            line: self.offset + index,
        });
    }

    fn run(&mut self) {
        if !self.characters_ok() {
            return;
        }
        while self.next < self.lines.len() {
            if self.instruction().is_err() {
                return;
            }
        }
    }

    /// Control characters change how BuildKit splits and trims lines in ways not worth
    /// following: refuse them before reading. Also BuildKit's line length limit.
    fn characters_ok(&mut self) -> bool {
        let mut ok = true;
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(c) = line
                .chars()
                .find(|&c| (c.is_control() && c != '\t') || c == '\u{feff}')
            {
                self.found(Issue::Character(c), i);
                ok = false;
            } else if line.len() > MAX_LINE_BYTES {
                self.found(Issue::LineTooLong(line.len()), i);
            }
        }
        ok
    }

    /// Reads one logical line (an instruction with its continuation lines) and the bodies of
    /// its heredocs; skips a comment or blank line. Port of the loop of BuildKit's `Parse`.
    fn instruction(&mut self) -> Result<(), Stop> {
        let start = self.next;
        self.next += 1;
        let first = go_trim_left(self.lines[start]);
        if first.starts_with('#') {
            self.comment(first, start);
            return Ok(());
        }
        let (mut line, mut ended) = trim_continuation(first);
        if ended && line.is_empty() {
            return Ok(());
        }
        let mut continued_at = start;
        while !ended {
            let Some(raw) = self.lines.get(self.next).copied() else {
                self.found(Issue::OpenContinuation, continued_at);
                return Err(Stop);
            };
            let index = self.next;
            self.next += 1;
            if go_trim_left(raw).starts_with('#') {
                self.comment(go_trim_left(raw), index);
                continue;
            }
            if go_trim_left(raw).is_empty() {
                let known = Found {
                    issue: Issue::EmptyContinuationLine,
                    line: self.offset + continued_at,
                };
                if self.issues.last() != Some(&known) {
                    self.issues.push(known);
                }
                continue;
            }
            let (part, e) = trim_continuation(raw);
            line.push_str(&part);
            ended = e;
            if !ended {
                continued_at = index;
            }
        }
        let node = match node_from_line(&line) {
            Ok(node) => node,
            Err(Failure::Issue(issue)) => {
                self.found(issue, start);
                return Ok(());
            }
            Err(Failure::Stop(issue)) => {
                self.found(issue, start);
                return Err(Stop);
            }
        };
        self.check_node(&node, start);
        let heredocs = if node.can_contain_heredoc() && line.contains("<<") {
            match heredocs_from_line(&line) {
                Ok(h) => h,
                Err(issue) => {
                    self.found(issue, start);
                    return Err(Stop);
                }
            }
        } else {
            Vec::new()
        };
        self.instructions.push(Instruction {
            command: node.command.clone(),
            args: node.args.clone(),
            flags: node.flags.clone(),
            json: node.json,
            trigger: node.child.as_ref().map(|c| c.command.clone()),
            heredocs: heredocs.iter().map(|h| h.name.clone()).collect(),
            line: self.offset + start,
            end: self.offset + self.next - 1,
        });
        for heredoc in &heredocs {
            if !self.heredoc_body(heredoc) {
                self.found(Issue::OpenHeredoc(heredoc.name.clone()), start);
                return Err(Stop);
            }
        }
        if let Some(last) = self.instructions.last_mut() {
            last.end = self.offset + self.next - 1;
        }
        Ok(())
    }

    /// Consumes a heredoc's body and its terminator line; false when the lines run out first.
    fn heredoc_body(&mut self, heredoc: &Heredoc) -> bool {
        while let Some(raw) = self.lines.get(self.next) {
            self.next += 1;
            let candidate = raw.trim_end_matches(['\r', '\n']);
            let candidate = if heredoc.chomp {
                candidate.trim_start_matches('\t')
            } else {
                candidate
            };
            if candidate == heredoc.name {
                return true;
            }
        }
        false
    }

    fn comment(&mut self, comment: &str, index: usize) {
        if self.block
            && let Some(key) = directive_key(comment)
        {
            self.found(Issue::Directive(key), index);
        }
    }

    /// The rules of a block about an instruction.
    fn check_node(&mut self, node: &Node, index: usize) {
        if !self.block {
            return;
        }
        let name = node.command.to_ascii_uppercase();
        if name == "FROM" {
            self.found(Issue::From, index);
        } else if !INSTRUCTIONS.contains(&name.as_str()) {
            self.found(Issue::UnknownInstruction(node.command.clone()), index);
        } else if name == "ONBUILD" {
            match &node.child {
                None => self.found(Issue::OnbuildTrigger(String::new()), index),
                Some(child) => {
                    let trigger = child.command.to_ascii_uppercase();
                    if matches!(trigger.as_str(), "FROM" | "ONBUILD" | "MAINTAINER") {
                        self.found(Issue::OnbuildTrigger(child.command.clone()), index);
                    } else if !INSTRUCTIONS.contains(&trigger.as_str()) {
                        self.found(Issue::UnknownInstruction(child.command.clone()), index);
                    }
                }
            }
        }
    }
}

mod json;
mod lex;
mod words;

use words::*;

#[cfg(test)]
mod tests;
