//! The JSON grammar of Go's `encoding/json` scanner (including its nesting limit of 10000),
//! enough to tell where the first JSON value of a text ends.

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
