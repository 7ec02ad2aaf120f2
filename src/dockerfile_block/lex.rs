//! BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`) as the parser uses it to find
//! heredocs: no variables are set, unset ones are kept as written.

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
