//! A KDL 2 lexer that reads text exactly as the kdl crate (6.x, `parse_v2`) does: strings, raw
//! strings, multi-line strings with their indentation rules, escapes, nested block comments,
//! line continuations. It never fails: a token that the crate would refuse is still returned
//! (so the reader can go on), and the mistake is recorded as an [`Issue`] with the bytes to
//! hide from the kdl parser. One pass, no backtracking, no recursion.

use std::ops::Range;

use super::chars::{is_forbidden, is_ident, is_space, newline_len};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A run of KDL spaces (and the byte order mark at the very start).
    Space,
    Newline,
    /// `//` up to (not including) the end of the line.
    LineComment,
    /// `/* ... */`, nested comments included.
    BlockComment,
    /// `\` at the end of a line: the node goes on on the next line.
    EscLine,
    /// `/-`: the next node, entry or children block is commented out.
    Slashdash,
    /// A run of identifier characters: an identifier, a number, or a mistake.
    Word,
    /// `"..."` or `"""` multi-line string.
    Str,
    /// `#"..."#`, `##"""..."""##`.
    RawStr,
    /// `#true`, `#false`, `#null`, `#inf`, `#-inf`, `#nan`.
    Keyword,
    /// `#` that starts neither a keyword nor a raw string (with the word after it, if any).
    Hash,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Eq,
    Semi,
    /// `/` that starts no comment and no slashdash.
    Slash,
    /// `\` that is not at the end of a line.
    Backslash,
    /// A code point KDL forbids, outside strings and comments.
    Forbidden,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
    /// The token is a string the kdl crate would refuse as a whole (unterminated, bad
    /// indentation): the reader replaces it with a placeholder string.
    pub broken: bool,
}

/// What is wrong inside a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    UnterminatedString,
    /// `"""` followed by text on the same line.
    MultilineOpening,
    /// A line of a multi-line string that does not start with the closing line's indentation.
    MultilineIndent {
        prefix: String,
    },
    /// `"""` inside a multi-line string (not on its closing line).
    TripleQuoteInBody,
    UnterminatedRawString {
        hashes: usize,
        multiline: bool,
    },
    /// `#"""#`: a single-line raw string whose text is `"`.
    RawLooksMultiline,
    /// An escape the crate does not know; the text of the escape.
    BadEscape(String),
    /// A code point KDL forbids (inside a string, or in a comment).
    ForbiddenChar(char),
    UnclosedComment,
    /// A block comment nested deeper than the limit.
    CommentTooDeep,
    /// A block comment with more `*` and `/` than the limit.
    CommentTooLong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub kind: IssueKind,
    /// Where the diagnostic points.
    pub span: Range<usize>,
    /// Bytes to blank (replace with spaces) so the kdl parser can go on; `None` when the
    /// token is [`Token::broken`] and is replaced as a whole.
    pub blank: Option<Range<usize>>,
}

/// Limits on block comments: the kdl crate recurses once per nested comment and once per `*`,
/// `/` and run of other text inside a comment.
pub const MAX_COMMENT_DEPTH: usize = 64;
pub const MAX_COMMENT_SLASHES_AND_STARS: usize = 10_000;

/// The lexer keeps at most this many issues (the reader stops after fewer).
pub const MAX_ISSUES: usize = 64;

pub struct Lexer<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    pub issues: Vec<Issue>,
    /// Where a comment or multi-line string that is never closed starts: it runs to the end of
    /// the file, so the blocks before it are not closed either (and are not reported).
    pub swallowed: Option<usize>,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            issues: Vec::new(),
            swallowed: None,
        }
    }

    /// A lexer that reads ahead from `pos` without touching this one.
    pub(super) fn look_at(&self, pos: usize) -> Lexer<'a> {
        Lexer {
            src: self.src,
            pos,
            issues: Vec::new(),
            swallowed: None,
        }
    }

    /// Goes on reading at `pos` (a character boundary).
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(super) fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Steps over the character `c` at the current position, reporting it when KDL forbids it
    /// in the text (its bytes are blanked for the kdl crate).
    pub(super) fn take_char(&mut self, c: char) {
        if is_forbidden(c) {
            let at = self.pos;
            let end = at + c.len_utf8();
            self.issue(IssueKind::ForbiddenChar(c), at..end, Some(at..end));
        }
        self.pos += c.len_utf8();
    }

    pub(super) fn issue(
        &mut self,
        kind: IssueKind,
        span: Range<usize>,
        blank: Option<Range<usize>>,
    ) {
        // One string can hold millions of mistakes; past this many the reader stops anyway.
        if self.issues.len() <= MAX_ISSUES {
            self.issues.push(Issue { kind, span, blank });
        }
    }

    pub(super) fn token(&self, tok: Tok, start: usize) -> Token {
        Token {
            tok,
            start,
            end: self.pos,
            broken: false,
        }
    }

    pub fn next_token(&mut self) -> Token {
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return self.token(Tok::Eof, start);
        };
        let rest = self.rest();
        if let Some(n) = newline_len(rest) {
            self.pos += n;
            return self.token(Tok::Newline, start);
        }
        if is_space(c) || (c == '\u{FEFF}' && start == 0) {
            self.pos += c.len_utf8();
            self.skip_spaces();
            return self.token(Tok::Space, start);
        }
        let single = |lx: &mut Self, tok| {
            lx.pos += 1;
            lx.token(tok, start)
        };
        match c {
            '{' => single(self, Tok::LBrace),
            '}' => single(self, Tok::RBrace),
            '(' => single(self, Tok::LParen),
            ')' => single(self, Tok::RParen),
            '[' => single(self, Tok::LBracket),
            ']' => single(self, Tok::RBracket),
            '=' => single(self, Tok::Eq),
            ';' => single(self, Tok::Semi),
            '"' => self.quoted(),
            '#' => self.hash(),
            '/' => self.slash(),
            '\\' => self.backslash(),
            c if is_forbidden(c) => {
                self.pos += c.len_utf8();
                self.token(Tok::Forbidden, start)
            }
            _ => {
                self.word();
                self.token(Tok::Word, start)
            }
        }
    }

    fn skip_spaces(&mut self) {
        while let Some(c) = self.peek_char().filter(|c| is_space(*c)) {
            self.pos += c.len_utf8();
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        while let Some(c) = self
            .peek_char()
            .filter(|c| is_ident(*c) && !is_forbidden(*c))
        {
            self.pos += c.len_utf8();
        }
        debug_assert!(self.pos > start, "a word has at least one character");
    }

    fn slash(&mut self) -> Token {
        let start = self.pos;
        let rest = self.rest();
        if rest.starts_with("//") {
            self.line_comment();
            self.token(Tok::LineComment, start)
        } else if rest.starts_with("/*") {
            self.block_comment();
            self.token(Tok::BlockComment, start)
        } else if rest.starts_with("/-") {
            self.pos += 2;
            self.token(Tok::Slashdash, start)
        } else {
            self.pos += 1;
            self.token(Tok::Slash, start)
        }
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek_char() {
            if newline_len(self.rest()).is_some() {
                break;
            }
            self.take_char(c);
        }
    }

    /// A block comment, nested ones included, in one loop: the depth and the number of `*`
    /// and `/` are counted (the crate's recursion depth follows them).
    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        let mut depth = 1usize;
        let mut marks = 2usize;
        let mut too_deep = false;
        let mut too_long = false;
        while depth > 0 {
            let rest = self.rest();
            if rest.starts_with("*/") {
                depth -= 1;
                marks += 2;
                self.pos += 2;
            } else if rest.starts_with("/*") {
                depth += 1;
                marks += 2;
                if depth > MAX_COMMENT_DEPTH && !too_deep {
                    too_deep = true;
                    self.issue(IssueKind::CommentTooDeep, self.pos..self.pos + 2, None);
                }
                self.pos += 2;
            } else if let Some(c) = self.peek_char() {
                if c == '*' || c == '/' {
                    marks += 1;
                }
                self.take_char(c);
            } else {
                self.issue(
                    IssueKind::UnclosedComment,
                    start..start + 2,
                    Some(start..self.src.len()),
                );
                self.swallowed.get_or_insert(start);
                break;
            }
            if marks > MAX_COMMENT_SLASHES_AND_STARS && !too_long {
                too_long = true;
                let at = self.pos.saturating_sub(1);
                self.issue(IssueKind::CommentTooLong, at..self.pos, None);
            }
        }
        if too_deep || too_long {
            // The whole comment is hidden from the kdl parser: it is only a comment.
            for i in self.issues.iter_mut().rev() {
                if i.span.start < start {
                    break;
                }
                if matches!(
                    i.kind,
                    IssueKind::CommentTooDeep | IssueKind::CommentTooLong
                ) {
                    i.blank = Some(start..self.pos);
                }
            }
        }
    }

    /// `\`: a line continuation (`\` spaces or block comments, then a line comment, a newline
    /// or the end of the file) or a stray backslash.
    fn backslash(&mut self) -> Token {
        let start = self.pos;
        self.pos += 1;
        let mut look = self.look_at(self.pos);
        look.skip_ws();
        let rest = look.rest();
        let ends = rest.is_empty() || rest.starts_with("//") || newline_len(rest).is_some();
        if !ends {
            return self.token(Tok::Backslash, start);
        }
        self.pos = look.pos;
        self.issues.append(&mut look.issues);
        if self.rest().starts_with("//") {
            self.line_comment();
        }
        if let Some(n) = newline_len(self.rest()) {
            self.pos += n;
        }
        self.skip_ws();
        self.token(Tok::EscLine, start)
    }

    /// KDL `ws*`: spaces and block comments.
    fn skip_ws(&mut self) {
        loop {
            self.skip_spaces();
            if self.rest().starts_with("/*") {
                self.block_comment();
            } else {
                break;
            }
        }
    }

    fn hash(&mut self) -> Token {
        let start = self.pos;
        let hashes = self.rest().bytes().take_while(|b| *b == b'#').count();
        if self.rest()[hashes..].starts_with('"') {
            return self.raw_string(hashes);
        }
        self.pos += hashes;
        let word = self.pos;
        while let Some(c) = self.peek_char().filter(|c| is_ident(*c)) {
            self.pos += c.len_utf8();
        }
        let keyword = matches!(
            &self.src[word..self.pos],
            "true" | "false" | "null" | "nan" | "inf" | "-inf"
        );
        let tok = if hashes == 1 && keyword {
            Tok::Keyword
        } else {
            Tok::Hash
        };
        self.token(tok, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Tok, &str)> {
        let mut lx = Lexer::new(s);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token();
            if t.tok == Tok::Eof {
                break;
            }
            out.push((t.tok, &s[t.start..t.end]));
        }
        out
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("a \"b\\\"c\" #\"r\"# #true /* x /* y */ */ /-{}"),
            vec![
                (Tok::Word, "a"),
                (Tok::Space, " "),
                (Tok::Str, "\"b\\\"c\""),
                (Tok::Space, " "),
                (Tok::RawStr, "#\"r\"#"),
                (Tok::Space, " "),
                (Tok::Keyword, "#true"),
                (Tok::Space, " "),
                (Tok::BlockComment, "/* x /* y */ */"),
                (Tok::Space, " "),
                (Tok::Slashdash, "/-"),
                (Tok::LBrace, "{"),
                (Tok::RBrace, "}"),
            ]
        );
        assert_eq!(
            toks("a \\ // c\n b"),
            vec![
                (Tok::Word, "a"),
                (Tok::Space, " "),
                (Tok::EscLine, "\\ // c\n "),
                (Tok::Word, "b")
            ]
        );
        assert_eq!(toks("# x")[0], (Tok::Hash, "#"));
        assert_eq!(toks("#foo")[0], (Tok::Hash, "#foo"));
    }

    #[test]
    fn multiline_strings() {
        let s = "a \"\"\"\n  x\n \n  y\n  \"\"\" b";
        assert_eq!(toks(s)[2], (Tok::Str, "\"\"\"\n  x\n \n  y\n  \"\"\""));
        let mut lx = Lexer::new("a \"\"\"\n x\n  \"\"\"");
        while lx.next_token().tok != Tok::Eof {}
        assert!(matches!(
            lx.issues[0].kind,
            IssueKind::MultilineIndent { .. }
        ));
        let raw = "a #\"\"\"\n  \"\"\" x\n  \"\"\"#";
        assert_eq!(toks(raw)[2].0, Tok::RawStr);
    }

    #[test]
    fn issues() {
        let issues = |s: &str| {
            let mut lx = Lexer::new(s);
            while lx.next_token().tok != Tok::Eof {}
            lx.issues.into_iter().map(|i| i.kind).collect::<Vec<_>>()
        };
        assert_eq!(
            issues("\"a\\Uz\""),
            vec![IssueKind::BadEscape("\\U".into())]
        );
        assert_eq!(
            issues("\"a\\u{110000}\""),
            vec![IssueKind::BadEscape("\\u{110000}".into())]
        );
        assert_eq!(issues("\"abc\nx"), vec![IssueKind::UnterminatedString]);
        assert_eq!(issues("/* /* */"), vec![IssueKind::UnclosedComment]);
        assert_eq!(
            issues("// \u{202e}"),
            vec![IssueKind::ForbiddenChar('\u{202e}')]
        );
        assert_eq!(issues("\"a\\\n  b\""), vec![]);
    }
}
