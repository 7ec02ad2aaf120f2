//! The strings of KDL 2 as the kdl crate reads them: quoted strings with their escapes,
//! multi-line strings (the closing line's indentation, then every line against it), raw
//! strings. Each mistake is an issue; a string the crate would refuse as a whole is `broken`.

use super::chars::{is_newline, is_space, newline_len};
use super::lex::{IssueKind, Lexer, Tok, Token};

impl Lexer<'_> {
    /// One escape after a `\` in a quoted string; `Err` with the escape's text when the crate
    /// does not know it. `Ok(true)` for a whitespace escape (which may cross lines).
    pub(super) fn escape(&mut self) -> Result<bool, String> {
        let start = self.pos;
        self.pos += 1; // `\`
        let Some(c) = self.peek_char() else {
            return Err("\\".into());
        };
        if is_space(c) || is_newline(c) {
            while let Some(c) = self.peek_char() {
                if let Some(n) = newline_len(self.rest()) {
                    self.pos += n;
                } else if is_space(c) {
                    self.pos += c.len_utf8();
                } else {
                    break;
                }
            }
            return Ok(true);
        }
        if "\\\"bfnrts".contains(c) {
            self.pos += 1;
            return Ok(false);
        }
        if c == 'u' && self.rest().starts_with("u{") {
            let digits: String = self.rest()[2..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .take(6)
                .collect();
            let close = 2 + digits.len();
            let valid = !digits.is_empty()
                && self.rest()[close..].starts_with('}')
                && u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .is_some();
            if valid {
                self.pos += close + 1;
                return Ok(false);
            }
            // Report the escape up to its `}` when there is one on this line.
            let tail = &self.rest()[1..];
            let len = tail
                .find(|c: char| c == '}' || c == '"' || is_newline(c))
                .filter(|i| tail[*i..].starts_with('}'))
                .map_or(1, |i| i + 2);
            self.pos += len;
            return Err(self.src[start..self.pos].to_string());
        }
        self.pos += c.len_utf8();
        // `\u00e9`, `\U0001F600`, `\x41`: a code point written the way of another language;
        // its digits belong to the escape.
        if matches!(c, 'u' | 'U' | 'x') {
            let hex = self
                .rest()
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .take(8)
                .count();
            self.pos += hex;
        }
        Err(self.src[start..self.pos].to_string())
    }

    /// A character of a quoted string's text (escapes and forbidden characters checked).
    fn string_char(&mut self) {
        let at = self.pos;
        let c = self.peek_char().expect("caller checked");
        if c == '\\' {
            if let Err(text) = self.escape() {
                self.issue(IssueKind::BadEscape(text), at..self.pos, Some(at..self.pos));
            }
            return;
        }
        self.take_char(c);
    }

    pub(super) fn quoted(&mut self) -> Token {
        let start = self.pos;
        if self.rest().starts_with("\"\"\"") {
            return self.multiline(start);
        }
        self.pos += 1;
        loop {
            let Some(c) = self.peek_char() else {
                return self.unterminated(start);
            };
            if c == '"' {
                self.pos += 1;
                return self.token(Tok::Str, start);
            }
            if newline_len(self.rest()).is_some() {
                return self.unterminated(start);
            }
            self.string_char();
        }
    }

    fn unterminated(&mut self, start: usize) -> Token {
        // `base "x }`: the `}` after the last space most likely closes a block, and the quote
        // was forgotten before it. The string is read up to that space, so the block closes.
        let line = &self.src[start..self.pos];
        let trimmed = line.trim_end_matches(|c| is_space(c) || c == ';');
        let braces = trimmed.len() - trimmed.trim_end_matches('}').len();
        let before = &trimmed[..trimmed.len() - braces];
        if braces > 0 && before.len() > 1 && before.ends_with(is_space) {
            self.pos = start + before.trim_end_matches(is_space).len();
        }
        self.issue(IssueKind::UnterminatedString, start..self.pos, None);
        Token {
            broken: true,
            ..self.token(Tok::Str, start)
        }
    }

    /// The closing line of a multi-line string at `at` (spaces and whitespace escapes, then
    /// `"""` and `hashes` `#`): its end and its indentation.
    fn closing_at(&self, at: usize, hashes: usize, escapes: bool) -> Option<(usize, String)> {
        let mut look = self.look_at(at);
        let mut prefix = String::new();
        loop {
            let c = look.peek_char()?;
            if is_space(c) {
                prefix.push(c);
                look.pos += c.len_utf8();
            } else if escapes
                && c == '\\'
                && look.rest()[1..].starts_with(|c| is_space(c) || is_newline(c))
            {
                look.escape().ok()?;
            } else {
                break;
            }
        }
        let close = format!("\"\"\"{}", "#".repeat(hashes));
        look.rest()
            .starts_with(&close)
            .then(|| (look.pos + close.len(), prefix))
    }

    /// `"""` + newline ... closing `"""`: read as the crate reads it (first the closing line,
    /// then every line against its indentation). A whitespace escape (`\` at the end of a
    /// line) joins lines, so only the lines it does not join are checked.
    fn multiline(&mut self, start: usize) -> Token {
        self.pos += 3;
        match newline_len(self.rest()) {
            Some(n) => self.pos += n,
            None => return self.bad_opening(start),
        }
        let mut lines = Vec::new();
        let mut broken = false;
        let (end, prefix) = loop {
            if let Some((end, prefix)) = self.closing_at(self.pos, 0, true) {
                break (end, prefix);
            }
            let line = self.pos;
            loop {
                if self.peek_char().is_none() {
                    self.swallowed.get_or_insert(start);
                    return self.unterminated(start);
                }
                if let Some(n) = newline_len(self.rest()) {
                    lines.push((line, self.pos));
                    self.pos += n;
                    break;
                }
                if self.rest().starts_with("\"\"\"") {
                    if !broken {
                        let at = self.pos;
                        self.issue(IssueKind::TripleQuoteInBody, at..at + 3, None);
                    }
                    broken = true;
                    self.pos += 3;
                    continue;
                }
                self.string_char();
            }
        };
        self.pos = end;
        broken |= self.check_indent(&lines, &prefix, true);
        Token {
            broken,
            ..self.token(Tok::Str, start)
        }
    }

    /// Pass 2 of a multi-line string: every line (start, where its newline starts) begins with
    /// `prefix` or holds only whitespace. Records one issue for the first line that does not.
    fn check_indent(&mut self, lines: &[(usize, usize)], prefix: &str, escapes: bool) -> bool {
        for &(line, newline) in lines {
            if self.src[line..].starts_with(prefix) {
                continue;
            }
            let mut look = self.look_at(line);
            while let Some(c) = look.peek_char() {
                if is_space(c) {
                    look.pos += c.len_utf8();
                } else if escapes
                    && c == '\\'
                    && look.rest()[1..].starts_with(|c| is_space(c) || is_newline(c))
                {
                    let _ = look.escape();
                } else {
                    break;
                }
            }
            if look.pos != newline {
                self.issue(
                    IssueKind::MultilineIndent {
                        prefix: prefix.to_string(),
                    },
                    line..newline.max(line + 1),
                    None,
                );
                return true;
            }
        }
        false
    }

    /// `"""text` on the opening line: the string runs to a `"""` on the same line, else to the
    /// next line that closes a multi-line string, else to the end of the file.
    fn bad_opening(&mut self, start: usize) -> Token {
        let line_end = self
            .rest()
            .find(['\n', '\r'])
            .map_or(self.src.len(), |i| self.pos + i);
        let same_line = self.src[self.pos..line_end].find("\"\"\"");
        let end = match same_line {
            Some(i) => self.pos + i + 3,
            None => {
                let mut at = line_end;
                loop {
                    if at >= self.src.len() {
                        break self.src.len();
                    }
                    at += newline_len(&self.src[at..]).unwrap_or(1);
                    if let Some((end, _)) = self.closing_at(at, 0, false) {
                        break end;
                    }
                    at = self.src[at..]
                        .find(['\n', '\r'])
                        .map_or(self.src.len(), |i| at + i);
                }
            }
        };
        self.issue(IssueKind::MultilineOpening, start..start + 3, None);
        self.pos = end;
        Token {
            broken: true,
            ..self.token(Tok::Str, start)
        }
    }

    pub(super) fn raw_string(&mut self, hashes: usize) -> Token {
        let start = self.pos;
        self.pos += hashes;
        let close = format!("\"{}", "#".repeat(hashes));
        let multiline =
            self.rest().starts_with("\"\"\"") && newline_len(&self.rest()[3..]).is_some();
        if multiline {
            return self.raw_multiline(start, hashes);
        }
        self.pos += 1;
        let body = self.pos;
        loop {
            if self.rest().starts_with(&close) {
                let text = &self.src[body..self.pos];
                self.pos += close.len();
                if text == "\"" {
                    self.issue(IssueKind::RawLooksMultiline, start..self.pos, None);
                    return Token {
                        broken: true,
                        ..self.token(Tok::RawStr, start)
                    };
                }
                return self.token(Tok::RawStr, start);
            }
            let Some(c) = self.peek_char() else { break };
            if newline_len(self.rest()).is_some() {
                break;
            }
            self.take_char(c);
        }
        self.issue(
            IssueKind::UnterminatedRawString {
                hashes,
                multiline: false,
            },
            start..self.pos,
            None,
        );
        Token {
            broken: true,
            ..self.token(Tok::RawStr, start)
        }
    }

    fn raw_multiline(&mut self, start: usize, hashes: usize) -> Token {
        self.pos += 3;
        self.pos += newline_len(self.rest()).expect("caller checked");
        let close = format!("\"\"\"{}", "#".repeat(hashes));
        let mut lines = Vec::new();
        let mut broken = false;
        let end = loop {
            if let Some((end, prefix)) = self.closing_at(self.pos, hashes, false) {
                broken |= self.check_indent(&lines, &prefix, false);
                break end;
            }
            let line = self.pos;
            loop {
                let Some(c) = self.peek_char() else {
                    self.swallowed.get_or_insert(start);
                    self.issue(
                        IssueKind::UnterminatedRawString {
                            hashes,
                            multiline: true,
                        },
                        start..start + hashes + 3,
                        None,
                    );
                    return Token {
                        broken: true,
                        ..self.token(Tok::RawStr, start)
                    };
                };
                if let Some(n) = newline_len(self.rest()) {
                    lines.push((line, self.pos));
                    self.pos += n;
                    break;
                }
                if self.rest().starts_with(&close) {
                    if !broken {
                        let at = self.pos;
                        self.issue(IssueKind::TripleQuoteInBody, at..at + close.len(), None);
                    }
                    broken = true;
                    self.pos += close.len();
                    continue;
                }
                self.take_char(c);
            }
        };
        self.pos = end;
        Token {
            broken,
            ..self.token(Tok::RawStr, start)
        }
    }
}
