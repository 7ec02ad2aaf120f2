//! Entries and values: properties (`key=value`, and `name==version`, a requirement that was not
//! quoted), `[a, b]` lists, `#` comments and keywords, type annotations, bare words and what
//! may follow a value directly.

use super::chars::{is_newline, is_space};
use super::lex::{IssueKind, Tok, Token};
use super::mistakes::{self as m, Context};
use super::scan::{Mask, Reader, ends_node, is_node_space};
use super::words::{Word, classify, classify_token};

impl Reader<'_> {
    /// One entry (the reader is on its first token, after the spaces before it).
    pub(super) fn entry(&mut self, cx: &Context) {
        let t = self.peek();
        match t.tok {
            Tok::Word | Tok::Str | Tok::RawStr
                if t.tok != Tok::Word || classify(self.text(t)) == Word::Ident =>
            {
                let k = self.past_node_space(1);
                if self.peek_at(k).tok == Tok::Eq {
                    return self.property(t, k, cx);
                }
                self.value(cx, false);
            }
            Tok::Word | Tok::Str | Tok::RawStr | Tok::Keyword | Tok::LParen => {
                self.value(cx, false);
            }
            Tok::LBracket => self.list(t, self.entry_slashdash.unwrap_or(t.start), cx),
            Tok::Hash => self.hash_value(t, cx),
            _ => {
                self.findings
                    .push(m::unexpected(self.text(t), t.start..t.end, "a value"));
                self.skip_rest(self.entry_slashdash.unwrap_or(t.start));
            }
        }
    }

    /// `key = value`; the reader is on the key, `eq` tokens ahead is the `=`.
    fn property(&mut self, key: Token, eq: usize, cx: &Context) {
        if key.broken {
            self.masks.push(Mask::Placeholder(key.start..key.end));
        }
        let mut last = key.end;
        for _ in 0..=eq {
            last = self.bump().end;
        }
        self.skip_node_space();
        let v = self.peek();
        match v.tok {
            Tok::Eq if key.tok == Tok::Word => {
                let end = self.requirement_end(key.start);
                let run = self.src[key.start..end].to_string();
                self.resume_at(key.start, end);
                self.report(
                    m::requirement(&run, key.start..end, cx),
                    Mask::Placeholder(key.start..end),
                );
            }
            Tok::Word | Tok::Str | Tok::RawStr | Tok::Keyword | Tok::LParen => {
                self.value(cx, false);
            }
            Tok::LBracket => self.list(v, self.entry_slashdash.unwrap_or(key.start), cx),
            _ => {
                let key_text = self.text(key).to_string();
                self.findings
                    .push(m::missing_value(&key_text, key.start..last));
                let from = self.entry_slashdash.unwrap_or(key.start);
                self.masks.push(Mask::Blank(from..last));
                if !ends_node(v.tok) && v.tok != Tok::LBrace {
                    self.findings
                        .push(m::unexpected(self.text(v), v.start..v.end, "a value"));
                    self.skip_rest(v.start);
                }
            }
        }
    }

    /// `[a, b]`: blanked from `from` (the `[`, or the key of `key=[...]`) to the `]` on the
    /// same line, or to the end of the line.
    fn list(&mut self, open: Token, from: usize, cx: &Context) {
        let mut end = open.end;
        loop {
            let t = self.peek();
            if matches!(
                t.tok,
                Tok::Newline | Tok::Eof | Tok::LineComment | Tok::LBrace | Tok::RBrace
            ) {
                break;
            }
            self.buf.pop_front();
            end = t.end;
            if t.tok == Tok::RBracket {
                break;
            }
        }
        self.consumed(open.start, end);
        self.report(
            m::list(self.src, open.start..end, cx),
            Mask::Blank(from..end),
        );
    }

    /// `#` in a value: a comment to the end of the line, or an unknown keyword.
    fn hash_value(&mut self, t: Token, _cx: &Context) {
        let text = self.text(t);
        if text.trim_start_matches('#').is_empty() {
            let end = self.comment_end(t.start);
            self.resume_at(t.start, end);
            let from = self.entry_slashdash.unwrap_or(t.start);
            self.report(m::hash_comment(t.start..end), Mask::Blank(from..end));
            return;
        }
        let word = text.to_string();
        self.bump();
        self.report(
            m::unknown_keyword(&word, t.start..t.end),
            Mask::Placeholder(t.start..t.end),
        );
        self.after_value(t.end);
    }

    /// A type annotation `(name)`, on the `(`. `Ok` when it is well formed (the reader is
    /// after the `)`); otherwise the mistake is reported, the run hidden behind a placeholder
    /// value, and `Err` with the end of the run.
    fn type_annotation(&mut self) -> Result<(), usize> {
        let open = self.bump();
        self.skip_node_space();
        let name = self.peek();
        let named = match name.tok {
            Tok::Word => classify(self.text(name)) == Word::Ident,
            Tok::Str | Tok::RawStr => !name.broken,
            _ => false,
        };
        if named {
            self.bump();
            self.skip_node_space();
            if self.peek().tok == Tok::RParen {
                self.bump();
                return Ok(());
            }
        }
        let line_end = self.src[open.start..]
            .find(is_newline)
            .map_or(self.src.len(), |i| open.start + i);
        let end = self.src[open.start..line_end]
            .find(')')
            .map_or_else(|| self.run_end(open.start), |i| open.start + i + 1);
        let run = self.src[open.start..end].to_string();
        self.resume_at(open.start, end);
        self.report(
            m::bad_type(&run, open.start..end),
            Mask::Placeholder(open.start..end),
        );
        Err(end)
    }

    /// A value (with `name`, a node name) on the reader's token, type annotation included,
    /// and what may follow it directly.
    pub(super) fn value(&mut self, cx: &Context, name: bool) {
        let mut t = self.peek();
        if t.tok == Tok::LParen {
            let open = t.start;
            if let Err(end) = self.type_annotation() {
                return self.after_value(end);
            }
            self.skip_node_space();
            t = self.peek();
            if !matches!(t.tok, Tok::Word | Tok::Str | Tok::RawStr | Tok::Keyword) {
                // `(lib)` with nothing after it: the annotation was meant as the value.
                let run = self.src[open..t.start]
                    .trim_end_matches(is_space)
                    .to_string();
                let end = open + run.len();
                self.report(
                    m::type_without_value(&run, open..end),
                    Mask::Placeholder(open..end),
                );
                return self.after_value(end);
            }
        }
        let next = self.peek_at(1);
        let unclosed_comment = next.tok == Tok::BlockComment
            && self
                .lx
                .issues
                .iter()
                .any(|i| i.kind == IssueKind::UnclosedComment && i.span.start == next.start);
        let adjacent = next.start == t.end
            && (unclosed_comment
                || (!is_node_space(next.tok)
                    && !ends_node(next.tok)
                    && !matches!(next.tok, Tok::LBrace | Tok::Eq | Tok::RParen)));
        if adjacent && t.tok == Tok::Word {
            let (f, end) = if self.text(t) == "r" && matches!(next.tok, Tok::Str | Tok::RawStr) {
                (
                    m::kdl1_raw(&self.src[t.start..next.end], t.start..next.end),
                    next.end,
                )
            } else {
                let bad = self.src[next.start..].chars().next().unwrap_or(' ');
                let end = self.run_end(t.start).max(next.start + bad.len_utf8());
                (
                    m::bare_word(&self.src[t.start..end], bad, t.start..end, cx),
                    end,
                )
            };
            self.resume_at(t.start, end);
            self.report(f, Mask::Placeholder(t.start..end));
            return self.after_value(end);
        }
        self.bump();
        let text = self.text(t);
        let f = match (t.tok, classify_token(t, text)) {
            (Tok::Word, Word::BareKeyword) => Some(m::bare_keyword(text, t.start..t.end)),
            (Tok::Word, Word::BadNumber) => Some(m::bad_number(text, t.start..t.end, cx)),
            (Tok::Word, Word::Number) if name => Some(m::bad_number(text, t.start..t.end, cx)),
            (Tok::Keyword, _) if name => Some(m::unexpected(text, t.start..t.end, "a node name")),
            _ => None,
        };
        match f {
            Some(f) => self.report(f, Mask::Placeholder(t.start..t.end)),
            None if t.broken => self.masks.push(Mask::Placeholder(t.start..t.end)),
            None => {}
        }
        self.after_value(t.end);
    }

    /// What may directly follow a value (which ended at `end`): a space, the end of the
    /// node, `{`. Anything else is reported and hidden with the rest of its run.
    fn after_value(&mut self, end: usize) {
        let n = self.peek();
        if is_node_space(n.tok) || ends_node(n.tok) || n.tok == Tok::LBrace {
            return;
        }
        if matches!(n.tok, Tok::Eq | Tok::RParen) {
            let f = m::unexpected(
                self.text(n),
                n.start..n.end,
                "a space or the end of the node",
            );
            self.findings.push(f);
            return self.skip_rest(n.start);
        }
        debug_assert!(n.start >= end);
        let run_end = self.run_end(n.start).max(n.end);
        self.resume_at(n.start, run_end);
        self.report(
            m::missing_space(n.start..run_end),
            Mask::Blank(n.start..run_end),
        );
    }
}
