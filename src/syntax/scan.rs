//! The pre-scan: reads the manifest as a KDL 2 document, token by token, in one loop with an
//! explicit stack (no recursion, linear time), before the kdl crate sees it. It
//!
//! - enforces the nesting limits (the kdl crate recurses on nesting and would overflow its
//!   stack, and reads commented-out blocks twice per level),
//! - names every syntax mistake it finds, in words about the mistake (`mistakes.rs`), and
//! - for each one says which bytes to hide from the kdl crate (blanked, or replaced by a
//!   placeholder string of the same length) so that the crate then reads a valid document:
//!   its error recovery, which recurses once per error and can take quadratic time, never runs,
//!   and every independent mistake of the file is reported, each once.
//!
//! The kdl crate stays the parser of record: it builds the document of every valid manifest.

use std::collections::VecDeque;
use std::ops::Range;

use super::chars::{is_forbidden, is_newline, is_space};
use super::lex::{Issue, IssueKind, Lexer, Tok, Token};
use super::mistakes::{self as m, Context, Finding};

/// The deepest nesting of `{ }` blocks given to the kdl crate (see docs/rules.md).
pub const MAX_DEPTH: usize = 64;
/// The deepest nesting of commented-out children blocks (`/-{ }`): the kdl crate reads each of
/// them twice, so its work doubles with every level.
pub const MAX_SLASHDASH_DEPTH: usize = 3;
/// At most this many syntax mistakes are reported (the rest are counted).
pub const MAX_FINDINGS: usize = 50;

/// How to hide bytes from the kdl crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    /// Replace every byte with a space.
    Blank(Range<usize>),
    /// Replace every byte but line breaks with a space.
    BlankKeepLines(Range<usize>),
    /// Replace the bytes with a quoted string of the same length (a value stays a value).
    Placeholder(Range<usize>),
}

#[derive(Debug, Default)]
pub struct Scan {
    pub findings: Vec<Finding>,
    /// In the order to apply them.
    pub masks: Vec<Mask>,
    /// More than [`MAX_FINDINGS`] mistakes: the reader stopped, the rest was not read.
    pub stopped: bool,
}

/// An open `{ }` block.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    brace: usize,
    /// Where the `/-` of a commented-out block is.
    slashdash: Option<usize>,
    /// A `{` with no node before it: the brace and its `}` are hidden from the kdl crate.
    nameless: bool,
    /// A commented-out block after the node's own block.
    after_children: bool,
    /// Indentation of the owner node's line, when the node starts its line.
    indent: Option<usize>,
    /// The first line that starts a node no deeper than the owner: where a forgotten `}`
    /// probably belongs.
    dedent: Option<usize>,
    /// The node that owns the block.
    cx: Context,
}

/// Where the reader is inside a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// After the name: entries, children, or the end.
    Entries,
    /// After `/-{ }` before any children block: more of them, the children block, or the end.
    SlashdashedChildren,
    /// After the children block: `/-{ }` blocks or the end.
    AfterChildren,
}

pub fn scan(src: &str) -> Scan {
    let mut r = Reader {
        src,
        lx: Lexer::new(src),
        buf: VecDeque::new(),
        findings: Vec::new(),
        masks: Vec::new(),
        stack: Vec::new(),
        slashdashes: 0,
        yaml: None,
        sd_tail: None,
        prev_end: 0,
        line_break: None,
        entry_slashdash: None,
        stopped: false,
        block_to_eof: None,
    };
    r.document();
    let mut lexical_masks = Vec::new();
    for issue in std::mem::take(&mut r.lx.issues) {
        r.findings.push(m::lexical(src, &issue));
        lexical_masks.extend(issue.blank.map(Mask::Blank));
    }
    let mut findings = r.findings;
    findings.sort_by_key(|f| (f.span.start, f.span.end));
    findings.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    findings.truncate(MAX_FINDINGS);
    lexical_masks.extend(r.masks);
    Scan {
        findings,
        masks: lexical_masks,
        stopped: r.stopped,
    }
}

pub(super) struct Reader<'a> {
    pub(super) src: &'a str,
    pub(super) lx: Lexer<'a>,
    pub(super) buf: VecDeque<Token>,
    pub(super) findings: Vec<Finding>,
    pub(super) masks: Vec<Mask>,
    pub(super) stack: Vec<Frame>,
    /// Commented-out blocks among the open ones.
    pub(super) slashdashes: usize,
    /// The last node was a YAML-style `name:` heading at this depth.
    pub(super) yaml: Option<(usize, String)>,
    /// `a { } /- b`: the commented-out nodes that end a node's line after its block (from the
    /// `/-` to the end of the last one); only the end of the block may follow them.
    pub(super) sd_tail: Option<(usize, usize, usize)>,
    /// The end of the last token that is not a space, a line break or a comment.
    pub(super) prev_end: usize,
    /// Where the last line break (or line comment) read is; an escaped line break, or one
    /// in a comment or a string, does not end a line.
    pub(super) line_break: Option<usize>,
    /// The `/-` of the entry being read, if it is commented out: an entry hidden as a whole
    /// is hidden with it.
    pub(super) entry_slashdash: Option<usize>,
    /// Too many mistakes: the reader stopped.
    pub(super) stopped: bool,
    /// A block refused as too deep ran to the end of the file: the blocks around it are not
    /// closed either (and are not reported).
    pub(super) block_to_eof: Option<usize>,
}

/// Tokens that count as KDL `node-space`. A forbidden character counts as a space: it is
/// reported, and blanked for the kdl crate.
pub(super) fn is_node_space(t: Tok) -> bool {
    matches!(
        t,
        Tok::Space | Tok::EscLine | Tok::BlockComment | Tok::Forbidden
    )
}

pub(super) fn is_line_space(t: Tok) -> bool {
    is_node_space(t) || matches!(t, Tok::Newline | Tok::LineComment)
}

pub(super) fn ends_node(t: Tok) -> bool {
    matches!(
        t,
        Tok::Newline | Tok::Semi | Tok::LineComment | Tok::Eof | Tok::RBrace
    )
}

impl<'a> Reader<'a> {
    pub(super) fn peek_at(&mut self, n: usize) -> Token {
        while self.buf.len() <= n {
            let t = self.lx.next_token();
            self.buf.push_back(t);
        }
        self.buf[n]
    }

    pub(super) fn peek(&mut self) -> Token {
        self.peek_at(0)
    }

    pub(super) fn bump(&mut self) -> Token {
        let t = self.peek();
        self.buf.pop_front();
        if !is_line_space(t.tok) {
            self.prev_end = t.end;
        }
        if matches!(t.tok, Tok::Newline | Tok::LineComment) {
            self.line_break = Some(t.start);
        }
        if t.tok == Tok::Forbidden {
            let c = self.src[t.start..].chars().next().unwrap_or(' ');
            let issue = Issue {
                kind: IssueKind::ForbiddenChar(c),
                span: t.start..t.end,
                blank: Some(t.start..t.end),
            };
            self.findings.push(m::lexical(self.src, &issue));
            self.masks.push(Mask::Blank(t.start..t.end));
        }
        t
    }

    /// Reads a token hidden from the kdl crate as a mistake of its own: it does not extend
    /// the text read before it (the span of a commented-out tail, see `sd_tail`).
    fn bump_hidden(&mut self) {
        let end = self.prev_end;
        self.bump();
        self.prev_end = end;
    }

    pub(super) fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    /// Index of the first token from `n` on that is not node-space.
    pub(super) fn past_node_space(&mut self, mut n: usize) -> usize {
        while is_node_space(self.peek_at(n).tok) {
            n += 1;
        }
        n
    }

    pub(super) fn skip_node_space(&mut self) -> bool {
        let mut any = false;
        while is_node_space(self.peek().tok) {
            self.bump();
            any = true;
        }
        any
    }

    pub(super) fn skip_line_space(&mut self) {
        while is_line_space(self.peek().tok) {
            self.bump();
        }
    }

    pub(super) fn report(&mut self, f: Finding, mask: Mask) {
        self.findings.push(f);
        self.masks.push(mask);
    }

    /// Drops what the lexer read from `from` on, and goes on reading at `at`: for a run of
    /// text that is hidden as a whole (the lexer may have read `/*` in `feat/**` as a comment).
    pub(super) fn resume_at(&mut self, from: usize, at: usize) {
        self.buf.clear();
        self.lx.issues.retain(|i| i.span.start < from);
        self.lx.set_pos(at);
        self.prev_end = self.prev_end.max(at);
    }

    /// The tokens from `from` to `end` were taken as a whole (and hidden): what the lexer
    /// found inside them is not reported.
    pub(super) fn consumed(&mut self, from: usize, end: usize) {
        self.lx
            .issues
            .retain(|i| i.span.start < from || i.span.start >= end);
        self.prev_end = self.prev_end.max(end);
    }

    /// Where a run of text that should have been one quoted value ends: at a space, a line
    /// break, `;`, `{`, `}`, a forbidden character or the end; a quoted part (`a"b c"`) is
    /// part of the run up to its closing quote on the same line.
    pub(super) fn run_end(&self, from: usize) -> usize {
        let s = &self.src[from..];
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            if is_newline(c) || is_forbidden(c) {
                return from + i;
            }
            if quoted {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => quoted = false,
                    _ => {}
                }
                continue;
            }
            if is_space(c) || matches!(c, ';' | '{' | '}') {
                return from + i;
            }
            if c == '"' {
                quoted = true;
            }
        }
        self.src.len()
    }

    /// Like [`Self::run_end`], but spaces next to `=<>!~,;` belong to a pip requirement
    /// (`torch == 2.3.1; python_version < "3.12"`).
    pub(super) fn requirement_end(&self, from: usize) -> usize {
        let s = &self.src[from..];
        let op = |c: char| "=<>!~,;".contains(c);
        let mut end = s.len();
        let mut prev = ' ';
        for (i, c) in s.char_indices() {
            if is_newline(c) || is_forbidden(c) || c == '{' || c == '}' || s[i..].starts_with("//")
            {
                end = i;
                break;
            }
            if is_space(c) {
                let next = s[i..].trim_start_matches(is_space).chars().next();
                if !op(prev) && !next.is_some_and(op) {
                    end = i;
                    break;
                }
                continue;
            }
            prev = c;
        }
        from + s[..end].trim_end_matches(is_space).len()
    }

    /// Blanks the rest of the node from `from`: every token up to the end of the node (a line
    /// break, `;`, a line comment, the end, or a `}` that closes the enclosing block), with
    /// the `{ }` blocks inside it. Nothing in it is checked further.
    pub(super) fn skip_rest(&mut self, from: usize) {
        let mut depth = 0usize;
        let mut end = from.max(self.prev_end);
        loop {
            let t = self.peek();
            match t.tok {
                Tok::Eof => break,
                Tok::Newline | Tok::Semi | Tok::LineComment if depth == 0 => break,
                Tok::RBrace if depth == 0 => break,
                Tok::RBrace => depth -= 1,
                Tok::LBrace => depth += 1,
                _ => {}
            }
            self.buf.pop_front();
            end = t.end;
        }
        self.consumed(from, end);
        if end > from {
            self.masks.push(Mask::Blank(from..end));
        }
    }

    /// Blanks what follows a block's node on its line from `from` (for the kdl crate it would
    /// join that node): through the `;` that ends the node (kept: it ends the node for the
    /// crate too), and past the `}` that close no block the crate sees (reported as stray, or
    /// the end of a block with no node before it, hidden like its `{`).
    fn skip_joined(&mut self, mut from: usize) {
        loop {
            self.skip_rest(from);
            let t = self.peek();
            match t.tok {
                Tok::Semi => {
                    self.bump();
                    return;
                }
                Tok::RBrace if self.stack.last().is_none_or(|f| f.nameless) => {
                    self.bump();
                    match self.stack.pop() {
                        Some(frame) => self.close(frame, t),
                        None => self.report(m::stray_brace(t.start), Mask::Blank(t.start..t.end)),
                    }
                    from = t.end;
                }
                _ => return,
            }
        }
    }

    /// Blanks a `{ }` block from `from` (its `/-` or `{`) through its matching `}`.
    pub(super) fn skip_block(&mut self, from: usize) {
        let mut depth = 0usize;
        let mut end = from;
        loop {
            let t = self.peek();
            if t.tok == Tok::Eof {
                self.block_to_eof.get_or_insert(from);
                break;
            }
            self.buf.pop_front();
            end = t.end;
            match t.tok {
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        self.consumed(from, end);
        self.masks.push(Mask::Blank(from..end));
    }

    /// The nesting depth as the kdl crate sees it (the braces of a block with no node before
    /// it are hidden from it).
    pub(super) fn kdl_depth(&self) -> usize {
        self.stack.iter().filter(|f| !f.nameless).count()
    }

    pub(super) fn indent_of_line(&self, at: usize) -> Option<usize> {
        let line_start = self.src[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let before = &self.src[line_start..at];
        before
            .chars()
            .all(|c| c == ' ' || c == '\t')
            .then(|| before.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum())
    }

    pub(super) fn document(&mut self) {
        loop {
            if self.findings.len() + self.lx.issues.len() > MAX_FINDINGS {
                self.stopped = true;
                return;
            }
            self.skip_line_space();
            let t = self.peek();
            if let Some((depth, start, end)) = self.sd_tail
                && depth == self.kdl_depth()
            {
                let closes = self.stack.last().is_some_and(|f| !f.nameless);
                match t.tok {
                    Tok::Slashdash => {}
                    Tok::RBrace if !closes => {}
                    Tok::RBrace | Tok::Eof => self.sd_tail = None,
                    _ => {
                        self.sd_tail = None;
                        let mask = Mask::BlankKeepLines(start..end);
                        self.report(m::slashdash_tail(start..end), mask);
                        // The tail is blanked but for its line breaks: with none in it, and
                        // none after it, the rest would join the block's node.
                        let line_ended = self.line_break.is_some_and(|at| at >= end);
                        if !line_ended && !self.src[start..end].contains(['\n', '\r']) {
                            self.skip_joined(t.start);
                            continue;
                        }
                    }
                }
            }
            let read_node = match t.tok {
                Tok::Eof => break,
                Tok::RBrace => {
                    self.bump();
                    match self.stack.pop() {
                        Some(frame) => {
                            self.close(frame, t);
                            true
                        }
                        None => {
                            self.report(m::stray_brace(t.start), Mask::Blank(t.start..t.end));
                            false
                        }
                    }
                }
                Tok::Semi => {
                    self.bump();
                    self.report(
                        m::unexpected(";", t.start..t.end, "a node"),
                        Mask::Blank(t.start..t.end),
                    );
                    false
                }
                _ => {
                    self.node();
                    true
                }
            };
            // The commented-out nodes of a tail end where the last one read ends.
            if read_node
                && let Some((depth, start, _)) = self.sd_tail
                && depth == self.kdl_depth()
            {
                self.sd_tail = Some((depth, start, self.prev_end));
            }
        }
        let swallowed = match (self.lx.swallowed, self.block_to_eof) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        while let Some(frame) = self.stack.pop() {
            if frame.nameless {
                continue;
            }
            let (f, masks) = m::unclosed(self.src, frame.brace, frame.slashdash, frame.dedent);
            if swallowed.is_none_or(|at| at < frame.brace) {
                self.findings.push(f);
            }
            self.masks.extend(masks);
        }
    }

    /// The `}` of `frame` was read: the rest of the node that owns the block.
    pub(super) fn close(&mut self, frame: Frame, brace: Token) {
        if frame.slashdash.is_some() {
            self.slashdashes -= 1;
        }
        if frame.nameless {
            // Both braces are hidden from the kdl crate: this one is a space where a node
            // starts.
            self.masks.push(Mask::Blank(brace.start..brace.end));
            return;
        }
        let phase = if frame.slashdash.is_some() && !frame.after_children {
            Phase::SlashdashedChildren
        } else {
            Phase::AfterChildren
        };
        self.rest_of_node(phase, frame.cx);
    }

    pub(super) fn context(&self, node: String, yaml: Option<String>) -> Context {
        Context {
            node,
            parent: self
                .stack
                .last()
                .filter(|f| !f.nameless)
                .map(|f| f.cx.node.clone()),
            yaml,
            slashdashed: false,
        }
    }

    /// A node, from its first token (after any line space).
    pub(super) fn node(&mut self) {
        let first = self.peek();
        if let Some(ind) = self.indent_of_line(first.start) {
            for f in self.stack.iter_mut() {
                if f.dedent.is_none() && f.indent.is_some_and(|i| ind <= i) {
                    f.dedent = Some(first.start);
                }
            }
        }
        let slashdash = (first.tok == Tok::Slashdash).then_some(first.start);
        if slashdash.is_some() {
            self.bump();
            self.skip_line_space();
            if matches!(self.peek().tok, Tok::Eof | Tok::RBrace) {
                let f = m::dangling_slashdash(first.start);
                return self.report(f, Mask::Blank(first.start..first.end));
            }
        }
        let t = self.peek();
        let from = slashdash.unwrap_or(t.start);
        match t.tok {
            Tok::LBrace => {
                if let Some(sd) = slashdash {
                    self.masks.push(Mask::Blank(sd..sd + 2));
                }
                return self.nameless(t);
            }
            Tok::Hash => {
                let end = self.comment_end(t.start);
                self.resume_at(t.start, end);
                return self.report(m::hash_comment(t.start..end), Mask::Blank(from..end));
            }
            Tok::Word | Tok::Str | Tok::RawStr | Tok::Keyword | Tok::LParen => {}
            _ => {
                let f = m::unexpected(self.text(t), t.start..t.end, "a node name");
                self.findings.push(f);
                return self.skip_rest(from);
            }
        }
        let text = match t.tok {
            Tok::LParen => String::new(),
            _ => self.text(t).to_string(),
        };
        let depth = self.stack.len();
        let yaml = match &self.yaml {
            Some((d, y)) if *d == depth && text == "-" => Some(y.clone()),
            _ => None,
        };
        if text != "-" {
            self.yaml = None;
        }
        if t.tok == Tok::Word && text.ends_with(':') && text.len() > 1 {
            let after = self.past_node_space(1);
            if matches!(
                self.peek_at(after).tok,
                Tok::Newline | Tok::LineComment | Tok::Eof
            ) {
                self.yaml = Some((depth, text.trim_end_matches(':').to_string()));
            }
        }
        let mut cx = self.context(text, yaml);
        cx.slashdashed = slashdash.is_some();
        self.value(&cx, true);
        self.rest_of_node(Phase::Entries, cx);
    }

    /// A `{` where a node should start.
    pub(super) fn nameless(&mut self, brace: Token) {
        let indent = self.indent_of_line(brace.start);
        let before =
            self.src[..brace.start].trim_end_matches(|c: char| is_space(c) || is_newline(c));
        let after_node_line = before
            .chars()
            .last()
            .is_some_and(|c| !matches!(c, '{' | '}' | ';'));
        self.bump();
        self.report(
            m::nameless_block(brace.start, after_node_line),
            Mask::Blank(brace.start..brace.end),
        );
        let cx = self.context(String::new(), None);
        self.stack.push(Frame {
            brace: brace.start,
            slashdash: None,
            nameless: true,
            after_children: false,
            indent,
            dedent: None,
            cx,
        });
    }

    /// The end of a `#` "comment": the end of its line (or of the block it is in).
    pub(super) fn comment_end(&self, from: usize) -> usize {
        let s = &self.src[from..];
        let end = s
            .char_indices()
            .find(|(_, c)| is_newline(*c))
            .map_or(s.len(), |(i, _)| i);
        from + s[..end].trim_end_matches(is_space).len()
    }

    /// The rest of a node in `phase`: entries, `{` (which opens a block and returns: the
    /// document loop reads the block, and `close` comes back here), `/-{ }` blocks, the end.
    pub(super) fn rest_of_node(&mut self, mut phase: Phase, cx: Context) {
        let mut first_after_block = phase == Phase::AfterChildren;
        let mut blanked = false;
        loop {
            if self.findings.len() + self.lx.issues.len() > MAX_FINDINGS {
                return;
            }
            let spaced = self.skip_node_space() || std::mem::take(&mut blanked);
            let t = self.peek();
            match t.tok {
                Tok::Semi if cx.slashdashed => {
                    // Hidden from the kdl crate, where it is then a space inside this node.
                    self.bump_hidden();
                    self.report(m::slashdash_semicolon(t.start), Mask::Blank(t.start..t.end));
                    blanked = true;
                }
                Tok::Newline | Tok::Semi | Tok::LineComment => {
                    self.bump();
                    return;
                }
                Tok::RBrace if self.stack.is_empty() => {
                    // Hidden from the kdl crate, where it is then a space inside this node.
                    self.bump_hidden();
                    self.report(m::stray_brace(t.start), Mask::Blank(t.start..t.end));
                    blanked = true;
                }
                Tok::RBrace if self.stack.last().is_some_and(|f| f.nameless) => {
                    // The end of a block with no node before it: hidden like its `{`, so
                    // for the kdl crate this node goes on.
                    self.bump_hidden();
                    self.stack.pop();
                    self.masks.push(Mask::Blank(t.start..t.end));
                    blanked = true;
                }
                Tok::Eof | Tok::RBrace => return,
                Tok::LBrace if phase == Phase::AfterChildren => {
                    self.findings.push(m::second_block(t.start..t.end));
                    self.skip_block(t.start);
                }
                Tok::LBrace => {
                    if self.open(t, None, false, &cx) {
                        return;
                    }
                    phase = Phase::AfterChildren;
                    first_after_block = false;
                }
                Tok::Slashdash => {
                    let k = {
                        let mut k = 1;
                        while is_line_space(self.peek_at(k).tok) {
                            k += 1;
                        }
                        k
                    };
                    let target = self.peek_at(k);
                    if target.tok == Tok::LBrace && (spaced || first_after_block) {
                        for _ in 0..k {
                            self.bump();
                        }
                        let after = phase == Phase::AfterChildren;
                        if self.open(target, Some(t.start), after, &cx) {
                            return;
                        }
                        first_after_block = false;
                        continue;
                    }
                    if phase != Phase::Entries && ends_node(target.tok) {
                        // `a { } /- ;`: nothing to comment out (the `;` ends the node).
                        self.bump_hidden();
                        self.report(m::dangling_slashdash(t.start), Mask::Blank(t.start..t.end));
                        blanked = true;
                        continue;
                    }
                    if phase != Phase::Entries {
                        // `a { } /- b`: the kdl crate reads `/- b` as a commented-out node
                        // (which may only be followed by the end of the block, unless this
                        // node is commented out itself: then it is the next one).
                        if !cx.slashdashed {
                            self.sd_tail = Some((self.kdl_depth(), t.start, t.end));
                        }
                        return;
                    }
                    if !spaced {
                        self.findings.push(m::missing_space(t.start..t.end));
                        self.skip_rest(t.start);
                        continue;
                    }
                    if ends_node(target.tok) || target.tok == Tok::LBrace {
                        self.bump();
                        self.report(m::dangling_slashdash(t.start), Mask::Blank(t.start..t.end));
                        continue;
                    }
                    self.bump();
                    self.skip_line_space();
                    self.entry_slashdash = Some(t.start);
                    self.entry(&cx);
                    self.entry_slashdash = None;
                }
                // The kdl crate ends a commented-out node with its block, and reads what
                // follows as the next node.
                _ if phase != Phase::Entries && cx.slashdashed => return,
                _ if phase != Phase::Entries => {
                    self.findings.push(m::after_children(t.start..t.end));
                    self.skip_rest(t.start);
                }
                _ if !spaced => {
                    let end = self.run_end(t.start).max(t.end);
                    self.resume_at(t.start, end);
                    self.report(m::missing_space(t.start..end), Mask::Blank(t.start..end));
                }
                _ => self.entry(&cx),
            }
        }
    }

    /// Opens a `{ }` block (or refuses one nested too deep, hiding it whole). Returns whether
    /// the block was opened.
    pub(super) fn open(
        &mut self,
        brace: Token,
        slashdash: Option<usize>,
        after: bool,
        cx: &Context,
    ) -> bool {
        let from = slashdash.unwrap_or(brace.start);
        if self.stack.len() >= MAX_DEPTH {
            self.findings.push(m::too_deep(brace.start));
            self.skip_block(from);
            return false;
        }
        if slashdash.is_some() && self.slashdashes >= MAX_SLASHDASH_DEPTH {
            self.findings.push(m::slashdash_too_deep(from));
            self.skip_block(from);
            return false;
        }
        self.bump();
        if slashdash.is_some() {
            self.slashdashes += 1;
        }
        let indent = self.indent_of_line(self.line_first_token(brace.start));
        self.stack.push(Frame {
            brace: brace.start,
            slashdash,
            nameless: false,
            after_children: after,
            indent,
            dedent: None,
            cx: cx.clone(),
        });
        true
    }

    /// The offset of the first non-space character of the line `at` is on.
    pub(super) fn line_first_token(&self, at: usize) -> usize {
        let line_start = self.src[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        line_start + self.src[line_start..at].len()
            - self.src[line_start..at]
                .trim_start_matches([' ', '\t'])
                .len()
    }
}
