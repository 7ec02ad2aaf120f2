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

/// `# key=value` where key would be a parser directive at the top of a Dockerfile.
fn directive_key(comment: &str) -> Option<String> {
    let rest = go_trim_left(comment.strip_prefix('#')?);
    let key: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let after = go_trim_left(&rest[key.len()..]);
    let key = key.to_ascii_lowercase();
    (after.starts_with('=') && matches!(key.as_str(), "syntax" | "escape" | "check")).then_some(key)
}

/// Go's `unicode.IsSpace` is Unicode's White_Space, as Rust's `char::is_whitespace`.
fn go_trim_left(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

/// BuildKit's `lineContinuationRegex` for the escape character `\`:
/// `([^\\])\\[ \t]*$|^\\[ \t]*$`. A `\` preceded by another `\` does not continue the line.
/// Returns the line without the continuation, and whether the instruction ends here.
fn trim_continuation(line: &str) -> (String, bool) {
    let stripped = line.trim_end_matches([' ', '\t']);
    if let Some(before) = stripped.strip_suffix('\\')
        && !before.ends_with('\\')
    {
        return (before.to_string(), false);
    }
    (line.to_string(), true)
}

/// An instruction as BuildKit's line parsers leave it: what decides heredocs and errors.
#[derive(Debug)]
struct Node {
    command: String,
    args: String,
    json: bool,
    child: Option<Box<Node>>,
}

impl Node {
    /// BuildKit's `canContainHeredoc`: RUN, COPY and ADD in shell form, also as ONBUILD's trigger.
    fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.child, self.command.eq_ignore_ascii_case("onbuild")) {
            (Some(child), true) => child,
            _ => self,
        };
        ["run", "copy", "add"]
            .iter()
            .any(|c| node.command.eq_ignore_ascii_case(c))
            && !node.json
    }
}

enum Failure {
    /// A problem with this instruction; the reading goes on.
    Issue(Issue),
    /// A problem after which the reading is uncertain.
    Stop(Issue),
}

/// BuildKit's `newNodeFromLine`: the instruction name, its flags and its arguments, parsed
/// the way that instruction's line parser does.
fn node_from_line(line: &str) -> Result<Node, Failure> {
    let (command, args) = split_command(line);
    if !command.is_ascii() {
        // Go lowercases with Unicode case folding (`K`, U+212A, becomes `k`): such a name may
        // be a known instruction to BuildKit, with heredocs of its own.
        return Err(Failure::Stop(Issue::UnknownInstruction(command)));
    }
    let lower = command.to_ascii_lowercase();
    let mut node = Node {
        command,
        args,
        json: false,
        child: None,
    };
    match lower.as_str() {
        "run" | "cmd" | "entrypoint" | "shell" => {
            node.json = !node.args.is_empty() && json_form(node.args.as_bytes(), &lower)?;
        }
        "add" | "copy" | "volume" => node.json = json_form(node.args.as_bytes(), &lower)?,
        "env" | "label" => name_values(&node.args, &lower)?,
        "healthcheck" => {
            let b = node.args.as_bytes();
            let sep = b.iter().position(|&c| go_byte_space(c)).unwrap_or(b.len());
            let next = b[sep..]
                .iter()
                .position(|&c| !go_byte_space(c))
                .map_or(b.len(), |p| sep + p);
            if sep > 0 && next < b.len() {
                json_form(&b[next..], &lower)?;
            }
        }
        "onbuild" if !node.args.is_empty() => {
            node.child = Some(Box::new(node_from_line(&node.args.clone())?));
        }
        _ => {}
    }
    Ok(node)
}

/// Go's `unicode.IsSpace(rune(b))` for one byte, as BuildKit applies it byte by byte when it
/// splits flags and `HEALTHCHECK` (so the UTF-8 continuation bytes 0x85 and 0xA0 count).
fn go_byte_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// BuildKit's `splitCommand`: the name up to the first run of `[\t\v\f\r ]`, then the
/// arguments after the builder flags (`--mount=...`), trimmed.
fn split_command(line: &str) -> (String, String) {
    let t = line.trim_matches(char::is_whitespace);
    let is_sep = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
    let Some(at) = t.find(is_sep) else {
        return (t.to_string(), String::new());
    };
    let command = t[..at].to_string();
    let rest = t[at..].trim_start_matches(is_sep);
    let args = extract_builder_flags(rest.as_bytes());
    // The arguments may start inside a UTF-8 sequence (see `go_byte_space`): Go keeps the
    // bytes, which can then neither be blank nor `[`; the replacement character keeps that.
    let args = String::from_utf8_lossy(args);
    (command, args.trim_matches(char::is_whitespace).to_string())
}

/// BuildKit's `extractBuilderFlags`, byte for byte: skips the leading `--flag` words (quotes
/// and `\` escapes inside them) and returns the rest of the line. Only that rest matters here.
fn extract_builder_flags(line: &[u8]) -> &[u8] {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(u8),
    }
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut pos = 0;
    while pos < line.len() {
        let mut ch = line[pos];
        match phase {
            Phase::Spaces => {
                if go_byte_space(ch) {
                    pos += 1;
                    continue;
                }
                if ch != b'-' || pos + 1 == line.len() || line[pos + 1] != b'-' {
                    return &line[pos..];
                }
                phase = Phase::Word;
                continue; // the same byte, now in a word
            }
            Phase::Word => {
                if go_byte_space(ch) {
                    if word == b"--" {
                        return &line[pos..];
                    }
                    word.clear();
                    phase = Phase::Spaces;
                } else if ch == b'\'' || ch == b'"' {
                    phase = Phase::Quote(ch);
                } else if ch == b'\\' && pos + 1 == line.len() {
                    // a `\` at the end is skipped
                } else {
                    if ch == b'\\' {
                        pos += 1;
                        ch = line[pos];
                    }
                    word.push(ch);
                }
            }
            Phase::Quote(q) => {
                // The closing quote, or a `\` at the end (skipped), ends the quote.
                if ch == q || (ch == b'\\' && pos + 1 == line.len()) {
                    phase = Phase::Word;
                } else {
                    if ch == b'\\' {
                        pos += 1;
                        ch = line[pos];
                    }
                    word.push(ch);
                }
            }
        }
        pos += 1;
    }
    &[]
}

/// BuildKit's `parseMaybeJSON`/`parseMaybeJSONToList`: whether the arguments are the JSON
/// form. BuildKit before dockerfile 1.9 decoded the first JSON value and ignored what follows;
/// later releases need the whole text to be JSON: when they disagree, the line is refused.
fn json_form(args: &[u8], instruction: &str) -> Result<bool, Failure> {
    let t = go_trim_left_bytes(args);
    if t.first() != Some(&b'[') {
        return Ok(false);
    }
    let Some((end, all_strings)) = json::value_prefix(t) else {
        return Ok(false);
    };
    if !t[end..].iter().all(|b| json::is_space(*b)) {
        let issue = Issue::Ambiguous(Ambiguity::JsonPrefix);
        // The heredocs of RUN/COPY/ADD depend on it: nothing after this line is certain.
        return Err(if matches!(instruction, "run" | "copy" | "add") {
            Failure::Stop(issue)
        } else {
            Failure::Issue(issue)
        });
    }
    if !all_strings {
        return Err(Failure::Issue(Issue::Rejected(Rejection::JsonNotStrings)));
    }
    Ok(true)
}

/// `strings.TrimLeftFunc(s, unicode.IsSpace)` on bytes that may start inside a UTF-8 sequence.
fn go_trim_left_bytes(b: &[u8]) -> &[u8] {
    let mut rest = b;
    while let Some(chunk) = rest.utf8_chunks().next() {
        match chunk.valid().chars().next() {
            Some(c) if c.is_whitespace() => rest = &rest[c.len_utf8()..],
            _ => break,
        }
    }
    rest
}

/// BuildKit's `parseNameVal` (ENV, LABEL): only its errors matter here.
fn name_values(args: &str, instruction: &str) -> Result<(), Failure> {
    let words = parse_words(args);
    let Some(first) = words.first() else {
        return Ok(());
    };
    if !first.contains('=') {
        let is_sep = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
        if !args.contains(is_sep) {
            return Err(Failure::Issue(Issue::Rejected(
                Rejection::NameValueMissing(instruction.to_ascii_uppercase()),
            )));
        }
        return Ok(());
    }
    match words.iter().find(|w| !w.contains('=')) {
        Some(w) => Err(Failure::Issue(Issue::Rejected(
            Rejection::NameValueNoEquals(w.clone()),
        ))),
        None => Ok(()),
    }
}

/// BuildKit's `parseWords`: words separated by blanks, quotes and escapes kept.
fn parse_words(rest: &str) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut i = 0;
    while i < chars.len() {
        let mut ch = chars[i];
        let last = i + 1 == chars.len();
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            if ch == '\\' && q != '\'' {
                if last {
                    quote = None;
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                ch = chars[i];
            }
            word.push(ch);
        } else if !in_word && ch.is_whitespace() {
        } else if ch.is_whitespace() {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            in_word = false;
            blank_ok = false;
        } else {
            in_word = true;
            if ch == '\'' || ch == '"' {
                quote = Some(ch);
                blank_ok = true;
            }
            if ch == '\\' {
                if last {
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                ch = chars[i];
            }
            word.push(ch);
        }
        i += 1;
    }
    if (in_word || quote.is_some()) && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// One heredoc of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Heredoc {
    name: String,
    chomp: bool,
}

/// BuildKit's `heredocsFromLine`, as the releases before and since dockerfile 1.16 read it;
/// a line they read differently is refused.
fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, Issue> {
    let now = heredocs_of(line, false)?;
    let before = heredocs_of(line, true)?;
    if now != before {
        return Err(Issue::Ambiguous(Ambiguity::HeredocBlank));
    }
    Ok(now)
}

fn heredocs_of(line: &str, legacy: bool) -> Result<Vec<Heredoc>, Issue> {
    let mode = lex::Mode {
        raw_quotes: true,
        raw_escapes: true,
        legacy,
    };
    let words = match lex::words(line, mode) {
        Ok(words) => words,
        // BuildKit ignores the error: a line it cannot split has no heredocs.
        Err(lex::Error::Syntax(_)) => return Ok(Vec::new()),
        Err(lex::Error::Diverges(a)) => return Err(Issue::Ambiguous(a)),
    };
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = heredoc_word(&word, legacy)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// BuildKit's `ParseHeredoc`: the regular expression `^(\d*)<<(-?)\s*([^<]*)$` (without `\s*`
/// before dockerfile 1.16), then the word after it lexed as one shell word.
fn heredoc_word(word: &str, legacy: bool) -> Result<Option<Heredoc>, Issue> {
    let Some(rest) = word
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix("<<")
    else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = if legacy {
        rest
    } else {
        rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' '])
    };
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let lexed = |raw_quotes| {
        let mode = lex::Mode {
            raw_quotes,
            raw_escapes: false,
            legacy,
        };
        lex::words(rest, mode).map_err(|e| match e {
            lex::Error::Syntax(m) => Issue::Rejected(Rejection::HeredocWord(m)),
            lex::Error::Diverges(a) => Issue::Ambiguous(a),
        })
    };
    let words = lexed(false)?;
    if words.len() != 1 {
        return Ok(None);
    }
    if lexed(true)?.len() != 1 {
        return Err(Issue::Rejected(Rejection::HeredocWord(
            "internal lexing of heredoc produced inconsistent results".into(),
        )));
    }
    Ok(Some(Heredoc {
        name: words[0].clone(),
        chomp,
    }))
}

/// BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`) as the parser uses it to find
/// heredocs: no variables are set, unset ones are kept as written.
mod lex {
    use super::Ambiguity;

    #[derive(Clone, Copy)]
    pub struct Mode {
        /// Keep quote characters in the words.
        pub raw_quotes: bool,
        /// Keep `\` in the words.
        pub raw_escapes: bool,
        /// The lexer before dockerfile 1.16, which did not join `<<` with the blanks after it.
        pub legacy: bool,
    }

    pub enum Error {
        /// BuildKit's lexer fails (its message).
        Syntax(String),
        /// BuildKit releases lex this differently.
        Diverges(Ambiguity),
    }

    struct Lexer {
        chars: Vec<char>,
        pos: usize,
        mode: Mode,
    }

    /// The words of `s`.
    pub fn words(s: &str, mode: Mode) -> Result<Vec<String>, Error> {
        let mut lx = Lexer {
            chars: s.chars().collect(),
            pos: 0,
            mode,
        };
        let mut w = Words::default();
        while let Some(ch) = lx.peek() {
            match ch {
                '$' => {
                    let t = lx.dollar()?;
                    w.add_string(&t);
                }
                '<' if !mode.legacy => {
                    let t = lx.possible_heredoc();
                    w.add_raw_string(&t);
                }
                '\'' => {
                    let t = lx.single_quote()?;
                    w.add_raw_string(&t);
                }
                '"' => {
                    let t = lx.double_quote()?;
                    w.add_raw_string(&t);
                }
                _ => {
                    lx.next();
                    if ch == '\\' {
                        if mode.raw_escapes {
                            w.add_raw_char('\\');
                        }
                        match lx.next() {
                            Some(c) => w.add_raw_char(c),
                            None => break,
                        }
                    } else {
                        w.add_char(ch);
                    }
                }
            }
        }
        Ok(w.finish())
    }

    impl Lexer {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }

        fn next(&mut self) -> Option<char> {
            let c = self.peek();
            if c.is_some() {
                self.pos += 1;
            }
            c
        }

        fn single_quote(&mut self) -> Result<String, Error> {
            self.next();
            let mut r = String::new();
            if self.mode.raw_quotes {
                r.push('\'');
            }
            loop {
                match self.next() {
                    None => {
                        return Err(Error::Syntax(
                            "unexpected end of statement while looking for matching single-quote"
                                .into(),
                        ));
                    }
                    Some('\'') => {
                        if self.mode.raw_quotes {
                            r.push('\'');
                        }
                        return Ok(r);
                    }
                    Some(c) => r.push(c),
                }
            }
        }

        fn double_quote(&mut self) -> Result<String, Error> {
            self.next();
            let mut r = String::new();
            if self.mode.raw_quotes {
                r.push('"');
            }
            loop {
                match self.peek() {
                    None => {
                        return Err(Error::Syntax(
                            "unexpected end of statement while looking for matching double-quote"
                                .into(),
                        ));
                    }
                    Some('"') => {
                        self.next();
                        if self.mode.raw_quotes {
                            r.push('"');
                        }
                        return Ok(r);
                    }
                    Some('$') => {
                        let v = self.dollar()?;
                        r.push_str(&v);
                    }
                    Some(_) => {
                        let mut ch = self.next().unwrap_or_default();
                        if ch == '\\' {
                            if self.mode.raw_escapes {
                                r.push('\\');
                            }
                            match self.peek() {
                                None => continue,
                                Some('"' | '$' | '\\') => ch = self.next().unwrap_or_default(),
                                Some(_) => {}
                            }
                        }
                        r.push(ch);
                    }
                }
            }
        }

        /// `$NAME` and `${NAME}` are kept as written. An expansion with a modifier is where
        /// releases differ: before dockerfile 1.7 `%`, `#` and `/` are errors, since 1.9 a
        /// modifier's word drops the text before it from the current word, since 1.10 `:#` and
        /// `:%` are errors.
        fn dollar(&mut self) -> Result<String, Error> {
            self.next();
            if self.peek() != Some('{') {
                let name = self.name(false)?;
                return Ok(format!("${name}"));
            }
            self.next();
            match self.peek() {
                None => return Err(Error::Syntax("syntax error: missing '}'".into())),
                Some('{' | '}' | ':') => {
                    return Err(Error::Syntax("syntax error: bad substitution".into()));
                }
                Some(_) => {}
            }
            let name = self.name(true)?;
            match self.next() {
                Some('}') => Ok(format!("${{{name}}}")),
                Some(c @ (':' | '+' | '-' | '?' | '#' | '%' | '/')) => Err(Error::Diverges(
                    Ambiguity::Expansion(format!("${{{name}{c}")),
                )),
                c => Err(Error::Syntax(format!(
                    "unsupported modifier ({}) in substitution",
                    c.unwrap_or('\u{fffd}')
                ))),
            }
        }

        /// BuildKit's `processName`: digits, or one special parameter, or letters, digits and
        /// `_`. Go's Unicode letter and digit classes are not Rust's: after `${` a non-ASCII
        /// character is refused. After a bare `$` the classes do not matter: the name is kept
        /// as written, and no letter or digit is a character the lexer treats specially.
        fn name(&mut self, braced: bool) -> Result<String, Error> {
            let mut name = String::new();
            while let Some(ch) = self.peek() {
                if braced && !ch.is_ascii() {
                    return Err(Error::Diverges(Ambiguity::ExpansionName));
                }
                let digit = |c: char| c.is_ascii_digit() || (!braced && c.is_numeric());
                let letter = |c: char| c.is_ascii_alphabetic() || (!braced && c.is_alphabetic());
                if name.is_empty() && digit(ch) {
                    while let Some(d) = self.peek().filter(|&c| digit(c)) {
                        name.push(d);
                        self.next();
                    }
                    return Ok(name);
                }
                if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                    self.next();
                    return Ok(ch.to_string());
                }
                if !letter(ch) && !digit(ch) && ch != '_' {
                    break;
                }
                name.push(ch);
                self.next();
            }
            Ok(name)
        }

        /// Since dockerfile 1.16: `<<` takes the blanks after it into the same word.
        fn possible_heredoc(&mut self) -> String {
            self.next();
            if self.peek() != Some('<') {
                return "<".into();
            }
            self.next();
            let mut r = String::from("<<");
            while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
                r.push(c);
                self.next();
            }
            r
        }
    }

    /// BuildKit's `wordsStruct`.
    #[derive(Default)]
    struct Words {
        buf: String,
        words: Vec<String>,
        in_word: bool,
    }

    impl Words {
        fn add_char(&mut self, ch: char) {
            if ch.is_whitespace() {
                if self.in_word && !self.buf.is_empty() {
                    self.words.push(std::mem::take(&mut self.buf));
                    self.in_word = false;
                }
            } else {
                self.add_raw_char(ch);
            }
        }

        fn add_raw_char(&mut self, ch: char) {
            self.buf.push(ch);
            self.in_word = true;
        }

        fn add_string(&mut self, s: &str) {
            s.chars().for_each(|c| self.add_char(c));
        }

        fn add_raw_string(&mut self, s: &str) {
            self.buf.push_str(s);
            self.in_word = true;
        }

        fn finish(mut self) -> Vec<String> {
            if !self.buf.is_empty() {
                self.words.push(self.buf);
            }
            self.words
        }
    }
}

/// The JSON grammar of Go's `encoding/json` scanner (including its nesting limit of 10000),
/// enough to tell where the first JSON value of a text ends.
mod json {
    const MAX_DEPTH: usize = 10_000;

    pub fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | b'\r')
    }

    /// The end of the JSON value at the start of `b`, and whether it is an array whose
    /// elements are all strings; `None` when `b` does not start with a valid JSON value.
    pub fn value_prefix(b: &[u8]) -> Option<(usize, bool)> {
        let mut p = Parser {
            b,
            i: 0,
            stack: Vec::new(),
            all_strings: true,
        };
        p.value()?;
        Some((p.i, p.all_strings))
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
        /// Open containers: `b'['` or `b'{'`.
        stack: Vec<u8>,
        all_strings: bool,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn skip_space(&mut self) {
            while self.peek().is_some_and(is_space) {
                self.i += 1;
            }
        }

        /// One value, iteratively (the nesting can be deep).
        fn value(&mut self) -> Option<()> {
            loop {
                self.skip_space();
                let top_level_element = self.stack.len() == 1 && self.stack[0] == b'[';
                match self.peek()? {
                    c @ (b'[' | b'{') => {
                        if top_level_element {
                            self.all_strings = false;
                        }
                        self.i += 1;
                        self.stack.push(c);
                        if self.stack.len() > MAX_DEPTH {
                            return None;
                        }
                        self.skip_space();
                        let close = if c == b'[' { b']' } else { b'}' };
                        if self.peek() == Some(close) {
                            self.i += 1;
                            self.stack.pop();
                        } else if c == b'{' {
                            self.key()?;
                            continue;
                        } else {
                            continue;
                        }
                    }
                    b'"' => self.string()?,
                    _ => {
                        if top_level_element {
                            self.all_strings = false;
                        }
                        self.scalar()?;
                    }
                }
                // A value ended: close containers, or go on to the next element.
                loop {
                    let Some(&open) = self.stack.last() else {
                        return Some(());
                    };
                    self.skip_space();
                    match (open, self.peek()?) {
                        (_, b',') => {
                            self.i += 1;
                            if open == b'{' {
                                self.skip_space();
                                self.key()?;
                            }
                            break;
                        }
                        (b'[', b']') | (b'{', b'}') => {
                            self.i += 1;
                            self.stack.pop();
                        }
                        _ => return None,
                    }
                }
            }
        }

        /// `"key"` and `:` of an object member.
        fn key(&mut self) -> Option<()> {
            if self.peek()? != b'"' {
                return None;
            }
            self.string()?;
            self.skip_space();
            (self.peek()? == b':').then(|| self.i += 1)
        }

        fn string(&mut self) -> Option<()> {
            self.i += 1;
            loop {
                match self.peek()? {
                    b'"' => {
                        self.i += 1;
                        return Some(());
                    }
                    b'\\' => {
                        self.i += 1;
                        match self.peek()? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                            b'u' => {
                                self.i += 1;
                                for _ in 0..4 {
                                    if !self.peek()?.is_ascii_hexdigit() {
                                        return None;
                                    }
                                    self.i += 1;
                                }
                            }
                            _ => return None,
                        }
                    }
                    c if c < 0x20 => return None,
                    _ => self.i += 1,
                }
            }
        }

        fn literal(&mut self, word: &[u8]) -> Option<()> {
            self.b[self.i..]
                .starts_with(word)
                .then(|| self.i += word.len())
        }

        fn digits(&mut self) -> usize {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            self.i - start
        }

        fn scalar(&mut self) -> Option<()> {
            match self.peek()? {
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                b'-' | b'0'..=b'9' => {
                    if self.peek() == Some(b'-') {
                        self.i += 1;
                    }
                    match self.peek()? {
                        b'0' => self.i += 1,
                        b'1'..=b'9' => {
                            self.digits();
                        }
                        _ => return None,
                    }
                    if self.peek() == Some(b'.') {
                        self.i += 1;
                        if self.digits() == 0 {
                            return None;
                        }
                    }
                    if matches!(self.peek(), Some(b'e' | b'E')) {
                        self.i += 1;
                        if matches!(self.peek(), Some(b'+' | b'-')) {
                            self.i += 1;
                        }
                        if self.digits() == 0 {
                            return None;
                        }
                    }
                    Some(())
                }
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issues of a block, without their lines.
    fn issues(text: &str) -> Vec<Issue> {
        read(text).issues.into_iter().map(|f| f.issue).collect()
    }

    fn lines_of(text: &str) -> Vec<(Issue, usize)> {
        read(text)
            .issues
            .into_iter()
            .map(|f| (f.issue, f.line))
            .collect()
    }

    /// The heredoc terminators of each instruction.
    fn heredocs(text: &str) -> Vec<Vec<String>> {
        read(text)
            .instructions
            .into_iter()
            .map(|i| i.heredocs)
            .collect()
    }

    #[test]
    fn plain_blocks_are_fine() {
        assert_eq!(issues("RUN echo hi"), vec![]);
        assert_eq!(
            issues("RUN a\n\n# note\nUSER root\nENV A=1 B=\"two words\""),
            vec![]
        );
        let py = "RUN python3 - <<'EOF'\nfrom pathlib import Path\nEOF\nRUN echo done";
        assert_eq!(issues(py), vec![]);
        assert_eq!(heredocs(py), vec![vec!["EOF".to_string()], vec![]]);
    }

    #[test]
    fn from_and_onbuild() {
        assert_eq!(lines_of("RUN a\nfrom x\nRUN b"), vec![(Issue::From, 1)]);
        assert_eq!(issues("\tFrOm scratch"), vec![Issue::From]);
        assert_eq!(
            issues("ONBUILD FROM x"),
            vec![Issue::OnbuildTrigger("FROM".into())]
        );
        assert_eq!(
            issues("onbuild onbuild RUN x"),
            vec![Issue::OnbuildTrigger("onbuild".into())]
        );
        assert_eq!(
            issues("ONBUILD"),
            vec![Issue::OnbuildTrigger(String::new())]
        );
        assert_eq!(issues("ONBUILD RUN echo hi"), vec![]);
        // ONBUILD's trigger opens heredocs too.
        assert_eq!(
            issues("ONBUILD RUN <<EOF\nFROM x"),
            vec![Issue::OpenHeredoc("EOF".into())]
        );
        assert_eq!(issues("ONBUILD RUN <<EOF\nFROM x\nEOF"), vec![]);
    }

    #[test]
    fn unknown_instructions() {
        assert_eq!(
            issues("RUNN x"),
            vec![Issue::UnknownInstruction("RUNN".into())]
        );
        // A non-ASCII name may fold into a real one in Go (the Kelvin sign lowercases to `k`):
        // the reading stops there.
        let kelvin = "WOR\u{212a}DIR /x\nFROM y";
        assert_eq!(
            issues(kelvin),
            vec![Issue::UnknownInstruction("WOR\u{212a}DIR".into())]
        );
        // A no-break space does not separate the name from its arguments.
        assert_eq!(
            issues("FROM\u{a0}x"),
            vec![Issue::UnknownInstruction("FROM\u{a0}x".into())]
        );
    }

    #[test]
    fn directives_are_refused() {
        assert_eq!(
            issues("# syntax=docker/dockerfile:1"),
            vec![Issue::Directive("syntax".into())]
        );
        assert_eq!(
            issues("RUN a\n  #  Escape = `"),
            vec![Issue::Directive("escape".into())]
        );
        assert_eq!(
            issues("RUN a \\\n# check=skip=all\n b"),
            vec![Issue::Directive("check".into())]
        );
        assert_eq!(issues("# syntax is nice\nRUN a"), vec![]);
    }

    #[test]
    fn continuations() {
        assert_eq!(issues("CMD echo hi \\"), vec![Issue::OpenContinuation]);
        // Trailing blanks after `\` still continue the line.
        assert_eq!(issues("CMD echo hi \\ \t"), vec![Issue::OpenContinuation]);
        // A continuation runs through comment lines, and reports its last continued line.
        assert_eq!(
            lines_of("RUN echo a \\\n  b \\\n# note"),
            vec![(Issue::OpenContinuation, 1)]
        );
        // A continued line's next line is not an instruction.
        assert_eq!(issues("RUN echo a \\\n    from-here"), vec![]);
        assert_eq!(
            lines_of("RUN a \\\n\nFROM-ish-arg"),
            vec![(Issue::EmptyContinuationLine, 0)]
        );
        // Reported once per continued line.
        assert_eq!(
            lines_of("RUN a \\\n\n  \n b"),
            vec![(Issue::EmptyContinuationLine, 0)]
        );
        // `\\` at the end is an escaped backslash, not a continuation (BuildKit's regex).
        assert_eq!(issues("RUN echo \\\\\nUSER root"), vec![]);
        assert_eq!(issues("RUN echo \\\\\\\nUSER root"), vec![]);
        // A lone `\` line continues.
        assert_eq!(issues("RUN a\n\\"), vec![Issue::OpenContinuation]);
        // A no-break space after `\` is not a blank to BuildKit: no continuation.
        assert_eq!(issues("RUN a \\\u{a0}\nUSER root"), vec![]);
    }

    #[test]
    fn heredocs_are_found_like_buildkit() {
        assert_eq!(
            lines_of("RUN a\nRUN <<EOF\necho hi"),
            vec![(Issue::OpenHeredoc("EOF".into()), 1)]
        );
        assert_eq!(issues("RUN cat <<<'x'"), vec![]);
        assert_eq!(issues("RUN <<-END\n\tbody\n\t\tEND"), vec![]);
        // Without `-`, tabs before the terminator do not end the heredoc.
        assert_eq!(
            issues("RUN <<END\n\tEND"),
            vec![Issue::OpenHeredoc("END".into())]
        );
        // A terminator with a trailing blank is not the terminator.
        assert_eq!(
            issues("RUN <<END\nEND "),
            vec![Issue::OpenHeredoc("END".into())]
        );
        assert_eq!(issues(r#"RUN python3 -c "print(1<<2)""#), vec![]);
        assert_eq!(issues(r#"LABEL note="use <<here""#), vec![]);
        assert_eq!(issues("RUN cat <<END-MARK\nx\nEND-MARK"), vec![]);
        assert_eq!(issues("COPY <<EOF.txt /a\nx\nEOF.txt"), vec![]);
        // Quotes and escapes in the word are removed from the terminator.
        assert_eq!(
            heredocs("RUN <<\"E'F\"\nE'F"),
            vec![vec!["E'F".to_string()]]
        );
        assert_eq!(
            heredocs("RUN <<E\\\"F\nE\"F"),
            vec![vec!["E\"F".to_string()]]
        );
        assert_eq!(heredocs("RUN 3<<'A B'\nA B"), vec![vec!["A B".to_string()]]);
        // Several heredocs on one line, in order; a continued line's heredocs start after it.
        let two = "RUN cat <<A <<-B \\\n && true\na\nA\n\tB\nUSER root";
        assert_eq!(issues(two), vec![]);
        assert_eq!(
            heredocs(two),
            vec![vec!["A".to_string(), "B".to_string()], vec![]]
        );
        // Not heredocs: not a whole word, an empty word, two words.
        assert_eq!(heredocs("RUN a<<EOF"), vec![Vec::<String>::new()]);
        assert_eq!(heredocs("RUN cat <<\"\""), vec![Vec::<String>::new()]);
    }

    /// BuildKit's own heredoc test (`parser_heredoc_test.go`), without its `FROM` and with its
    /// last two cases (`<<  EOF`, a heredoc only since dockerfile 1.16) apart.
    #[test]
    fn buildkits_heredoc_test() {
        let text = "ENV NAME=me\n\nRUN ls\n\nUSER <<INVALID\nINVALID\n\nRUN <<EMPTY\nEMPTY\n\n\
            RUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\nRUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n\
            RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\nRUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n\
            RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\nRUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n\
            RUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n\
            RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\n\
            RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n\
            COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n\
            COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n\n\
            RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\nCOPY <<file.txt /dest\nhello world\nfile.txt\n\n\
            RUN <<eo'f'\necho foo\neof\n\nRUN <<eo\\'f\necho foo\neo'f\n\nRUN <<'e'o\\'f\necho foo\neo'f\n\n\
            RUN <<'one two'\necho bar\none two\n\nRUN <<$EOF\n$EOF\n";
        let expected: Vec<Vec<&str>> = vec![
            vec![],
            vec![],
            vec![],
            vec![],
            vec!["EMPTY"],
            vec!["EMPTY2"],
            vec![],
            vec!["INDENT"],
            vec!["UNINDENT"],
            vec!["UNINDENT2"],
            vec!["EXPAND"],
            vec!["NOEXPAND"],
            vec!["COPY"],
            vec!["COMMENT"],
            vec!["MOUNT"],
            vec!["FILE1", "FILE2"],
            vec!["EOF"],
            vec!["X", "Y"],
            vec!["COMPLEX"],
            vec!["file.txt"],
            vec!["eof"],
            vec!["eo'f"],
            vec!["eo'f"],
            vec!["one two"],
            vec!["$EOF"],
        ];
        assert_eq!(heredocs(text), expected);
        assert_eq!(
            issues(text),
            vec![Issue::UnknownInstruction("INVALID".into())]
        );
        for text in ["RUN <<  EOF\nEOF", "RUN <<  EOF  > foo\nEOF"] {
            assert_eq!(
                issues(text),
                vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
            );
        }
    }

    #[test]
    fn escaped_quotes_are_read_like_buildkit() {
        // Issue 16, class 1: `\'` is an escaped quote, so the heredoc is open.
        let text = r#"RUN echo \' <<"USER ${NB_UID}""#;
        assert_eq!(
            issues(text),
            vec![Issue::OpenHeredoc("USER ${NB_UID}".into())]
        );
        // A line BuildKit's lexer cannot split (an unclosed quote) has no heredocs at all.
        assert_eq!(heredocs("RUN echo ' <<EOF"), vec![Vec::<String>::new()]);
        assert_eq!(issues("RUN echo ' <<EOF\nFROM x"), vec![Issue::From]);
        // `$'` and `${x}` are kept; `${x` with a bad modifier is a lexer error.
        assert_eq!(heredocs("RUN a ${x} <<E\nE"), vec![vec!["E".to_string()]]);
        // (`E` is then an instruction of its own.)
        assert_eq!(
            heredocs("RUN a ${x!} <<E\nE"),
            vec![Vec::<String>::new(), vec![]]
        );
    }

    #[test]
    fn json_form_has_no_heredocs() {
        // Issue 16, class 2: a JSON-form RUN opens no heredoc, so the FROM after it counts.
        let text =
            "RUN [\"echo\", \"a\\\" <<'USER root' \\\"\"]\nFROM docker.io/attacker/notebook:latest";
        assert_eq!(lines_of(text), vec![(Issue::From, 1)]);
        assert_eq!(issues("COPY [\"<<EOF\", \"/x\"]\nUSER root"), vec![]);
        // Not valid JSON: the shell form, with its heredoc.
        assert_eq!(issues("RUN [\"a\",] <<EOF\nEOF"), vec![]);
        assert_eq!(
            heredocs("RUN [\"a\",] <<EOF\nEOF"),
            vec![vec!["EOF".to_string()]]
        );
        assert_eq!(
            issues("RUN [\"a\", 1]"),
            vec![Issue::Rejected(Rejection::JsonNotStrings)]
        );
        assert_eq!(
            issues("HEALTHCHECK CMD [\"a\", null]"),
            vec![Issue::Rejected(Rejection::JsonNotStrings)]
        );
        assert_eq!(
            issues("RUN [\"a\"] <<EOF\nEOF"),
            vec![Issue::Ambiguous(Ambiguity::JsonPrefix)]
        );
        assert_eq!(
            issues("CMD [\"a\"] b"),
            vec![Issue::Ambiguous(Ambiguity::JsonPrefix)]
        );
        // Flags come before the JSON array.
        assert_eq!(issues("RUN --network=none [\"a\", \"<<EOF\"]"), vec![]);
    }

    #[test]
    fn releases_that_disagree_are_refused() {
        assert_eq!(
            issues("RUN cat << EOF\nEOF"),
            vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
        );
        assert_eq!(
            issues("RUN echo $((1 << 2))"),
            vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
        );
        // `<<` and a blank that make no heredoc either way are fine.
        assert_eq!(issues("RUN echo a<< b"), vec![]);
        assert_eq!(
            issues("RUN cat <<EOF > ${HOME:-/tmp}/x\nEOF"),
            vec![Issue::Ambiguous(Ambiguity::Expansion("${HOME:".into()))]
        );
        assert_eq!(
            issues("RUN cat <<EOF \"${x%y}\"\nEOF"),
            vec![Issue::Ambiguous(Ambiguity::Expansion("${x%".into()))]
        );
        assert_eq!(
            issues("RUN cat <<EOF ${\u{e9}}\nEOF"),
            vec![Issue::Ambiguous(Ambiguity::ExpansionName)]
        );
        // Without `<<` the expansion does not matter.
        assert_eq!(issues("RUN echo ${HOME:-/tmp}"), vec![]);
    }

    #[test]
    fn parser_errors() {
        assert_eq!(
            issues("ENV A"),
            vec![Issue::Rejected(Rejection::NameValueMissing("ENV".into()))]
        );
        assert_eq!(issues("ENV A b c"), vec![]);
        assert_eq!(
            issues("LABEL a=1 b"),
            vec![Issue::Rejected(Rejection::NameValueNoEquals("b".into()))]
        );
        assert_eq!(issues("ENV A=\"x y\" B='z'"), vec![]);
    }

    #[test]
    fn characters_and_lengths() {
        assert_eq!(issues("RUN a\r\nRUN b"), vec![Issue::Character('\r')]);
        assert_eq!(
            issues("RUN \u{feff}<<EOF"),
            vec![Issue::Character('\u{feff}')]
        );
        assert_eq!(issues("RUN\ta\t<<EOF\nb\nEOF"), vec![]);
        let long = format!("RUN echo {}", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(issues(&long), vec![Issue::LineTooLong(MAX_LINE_BYTES + 9)]);
    }

    #[test]
    fn rendered_lines_are_the_block_without_outer_blank_lines() {
        let r = read("\n  \nRUN a  \n\n  RUN b\t\n \n");
        assert_eq!(r.lines, vec!["RUN a  ", "", "  RUN b\t"]);
        assert_eq!(r.instructions[1].line, 4);
    }

    #[test]
    fn flags_are_split_byte_by_byte() {
        assert_eq!(
            split_command("RUN --mount=type=cache,target=/x  echo"),
            ("RUN".into(), "echo".into())
        );
        assert_eq!(split_command("RUN -- --x"), ("RUN".into(), "--x".into()));
        assert_eq!(
            split_command("RUN --a=\"b c\" d"),
            ("RUN".into(), "d".into())
        );
        // U+00E0 is C3 A0: Go's byte-wise IsSpace ends the flag at A0.
        assert_eq!(split_command("RUN --x\u{e0}[\"a\"]").1, "[\"a\"]");
    }

    #[test]
    fn json_grammar() {
        let ok = |s: &str| json::value_prefix(s.as_bytes()).map(|(e, _)| e);
        assert_eq!(ok("[]"), Some(2));
        assert_eq!(ok("[ \"a\" , \"\\u00e9\\n\" ] x"), Some(20));
        assert_eq!(ok("[1.5e+3, -0, {\"a\": [true, null]}]"), Some(33));
        assert_eq!(ok("[01]"), None);
        assert_eq!(ok("[\"a\",]"), None);
        assert_eq!(ok("['a']"), None);
        assert_eq!(ok("[\"\\x\"]"), None);
        assert_eq!(ok("[\"a\tb\"]"), None);
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(ok(&deep(10_000)).is_some());
        assert!(ok(&deep(10_001)).is_none());
        assert_eq!(json::value_prefix(b"[\"a\", \"b\"]"), Some((10, true)));
        assert_eq!(json::value_prefix(b"[\"a\", [\"b\"]]"), Some((12, false)));
    }

    #[test]
    fn whole_dockerfiles() {
        let text = "# syntax=docker/dockerfile:1\nFROM x\nRUN a \\\n  b\nUSER ${NB_UID}\n";
        let r = read_dockerfile(text);
        assert_eq!(r.issues, vec![]);
        let names: Vec<&str> = r.instructions.iter().map(|i| i.command.as_str()).collect();
        assert_eq!(names, ["FROM", "RUN", "USER"]);
        assert_eq!(r.instructions[2].args, "${NB_UID}");
    }
}
