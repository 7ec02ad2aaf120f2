//! Just enough of the shell for `jcx import`: a `RUN` command line split into the commands of
//! its `&&`/`;` chain (compound commands kept whole), and a simple command into words with
//! quotes removed and known variables expanded. Anything cleverer (pipes, redirections,
//! command substitution) makes a command "not simple", and the mapper leaves it alone.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A word as written (quotes and escapes kept).
    Word(String),
    /// An operator: `&&`, `||`, `;`, `|`, `&`, `(`, `)`, `<`, `>`, `>>`, `<<`, ...
    Op(String),
}

/// A token and its byte range in the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// One command of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub tokens: Vec<Token>,
    /// The separator after it (`&&` or `;`), `None` for the last.
    pub sep: Option<String>,
}

/// Variables known while reading: `ARG`/`ENV` values and shell assignments.
pub type Vars = BTreeMap<String, String>;

fn is_op_char(c: u8) -> bool {
    matches!(c, b'&' | b'|' | b';' | b'(' | b')' | b'<' | b'>')
}

/// Splits a command line into words and operators. Never fails: an unclosed quote runs to
/// the end of the line.
pub fn tokenize(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b' ' || c == b'\t' || c == b'\r' {
            i += 1;
            continue;
        }
        if c == b'\n' {
            out.push(Token {
                tok: Tok::Op(";".into()),
                start: i,
                end: i + 1,
            });
            i += 1;
            continue;
        }
        if is_op_char(c) {
            let two = (c, b.get(i + 1).copied().unwrap_or(0));
            let len = if matches!(
                two,
                (b'&', b'&')
                    | (b'|', b'|')
                    | (b';', b';')
                    | (b'>', b'>')
                    | (b'<', b'<')
                    | (b'>', b'&')
                    | (b'&', b'>')
                    | (b'<', b'&')
            ) {
                2
            } else {
                1
            };
            out.push(Token {
                tok: Tok::Op(s[i..i + len].to_string()),
                start: i,
                end: i + len,
            });
            i += len;
            continue;
        }
        let start = i;
        i = word_end(b, i);
        // A `\` skips one byte, which may be the first of a longer character.
        while !s.is_char_boundary(i) {
            i += 1;
        }
        out.push(Token {
            tok: Tok::Word(s[start..i].to_string()),
            start,
            end: i,
        });
    }
    out
}

/// The end of the word starting at `i`: quotes, escapes and `$(...)`/backquotes kept inside.
fn word_end(b: &[u8], mut i: usize) -> usize {
    let mut paren = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => i += 2,
            b'\'' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'"' | b'`' => {
                let q = c;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'(') => {
                paren += 1;
                i += 2;
            }
            b'(' if paren > 0 => {
                paren += 1;
                i += 1;
            }
            b')' if paren > 0 => {
                paren -= 1;
                i += 1;
            }
            _ if paren > 0 => i += 1,
            b' ' | b'\t' | b'\n' | b'\r' => break,
            _ if is_op_char(c) => break,
            _ => i += 1,
        }
    }
    i.min(b.len())
}

fn word(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Word(w) => Some(w),
        Tok::Op(_) => None,
    }
}

/// Splits a command line into the commands of its top-level `&&` / `;` chain. `if`, `for`,
/// `while`, `case`, `{ }` and `( )` are kept whole, with what they contain.
pub fn split(s: &str) -> Vec<Unit> {
    let tokens = tokenize(s);
    let mut units = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut depth: i64 = 0;
    let mut command_position = true;
    for t in tokens {
        match &t.tok {
            Tok::Op(op) if depth <= 0 && (op == "&&" || op == ";") => {
                if !current.is_empty() {
                    units.push(Unit {
                        tokens: std::mem::take(&mut current),
                        sep: Some(op.clone()),
                    });
                }
                depth = 0;
                command_position = true;
                continue;
            }
            Tok::Op(op) => {
                match op.as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ => {}
                }
                command_position = matches!(op.as_str(), "&&" | "||" | ";" | "|" | "(" | "&");
            }
            Tok::Word(w) => {
                if command_position {
                    match w.as_str() {
                        "if" | "for" | "while" | "until" | "case" | "select" | "{" => depth += 1,
                        "fi" | "done" | "esac" | "}" => depth -= 1,
                        _ => {}
                    }
                }
                command_position = matches!(
                    w.as_str(),
                    "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "!" | "{"
                );
            }
        }
        current.push(t);
    }
    if !current.is_empty() {
        units.push(Unit {
            tokens: current,
            sep: None,
        });
    }
    units
}

impl Unit {
    /// The command as written, blanks between tokens squeezed to one space.
    pub fn text(&self, line: &str) -> String {
        let mut out = String::new();
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&line[t.start..t.end]);
        }
        out
    }

    pub fn start(&self) -> usize {
        self.tokens.first().map_or(0, |t| t.start)
    }

    pub fn end(&self) -> usize {
        self.tokens.last().map_or(0, |t| t.end)
    }

    /// The words of a simple command (only words; no pipes, redirections, substitutions or
    /// compound commands), quotes removed and known variables expanded. `None` when it is not
    /// simple.
    pub fn words(&self, vars: &Vars) -> Option<Vec<String>> {
        words_of(&self.tokens, vars)
    }
}

/// The expanded words of a run of tokens that holds only words.
pub fn words_of(tokens: &[Token], vars: &Vars) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in tokens {
        let w = word(t)?;
        if w.contains("$(") || w.contains('`') {
            return None;
        }
        if w == "{" || w == "}" || w == "!" {
            return None;
        }
        let value = unquote(w, vars)?;
        if w.contains('$') && !w.contains(['\'', '"', '\\']) {
            // An unquoted expansion is split into fields; an empty one is no word at all.
            out.extend(value.split_whitespace().map(str::to_string));
        } else {
            out.push(value);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A word with quotes and escapes removed and `$NAME`, `${NAME}`, `${NAME:-default}` expanded.
/// A variable that is not in `vars` stays as written (`${NAME}`); `None` for an expansion
/// this reader does not follow (`${NAME%x}`, `${#NAME}`).
pub fn unquote(w: &str, vars: &Vars) -> Option<String> {
    let mut out = String::new();
    let chars: Vec<char> = w.chars().collect();
    let mut i = 0;
    let mut dq = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' if !dq => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '"' => dq = !dq,
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if dq && !matches!(n, '"' | '\\' | '$' | '`') {
                    out.push('\\');
                }
                out.push(n);
                i += 1;
            }
            '$' => {
                let (value, used) = expand(&chars[i..], vars)?;
                out.push_str(&value);
                i += used;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// Expands the variable at the start of `c` (`$NAME`, `${NAME}`, `${NAME:-x}`): its value and
/// how many characters it took. A lone `$` is itself.
fn expand(c: &[char], vars: &Vars) -> Option<(String, usize)> {
    let name_char = |x: &char| x.is_ascii_alphanumeric() || *x == '_';
    if c.get(1) == Some(&'{') {
        let close = c.iter().position(|x| *x == '}')?;
        let inner: String = c[2..close].iter().collect();
        let (name, default) = match inner.split_once(":-").or_else(|| inner.split_once('-')) {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (inner.clone(), None),
        };
        if name.is_empty() || !name.chars().all(|x| name_char(&x)) {
            return None;
        }
        let value = match (vars.get(&name), default) {
            (Some(v), _) if !v.is_empty() => v.clone(),
            (Some(v), None) => v.clone(),
            (_, Some(d)) => d,
            (None, None) => format!("${{{name}}}"),
        };
        return Some((value, close + 1));
    }
    let n = c[1..].iter().take_while(|x| name_char(x)).count();
    if n == 0 {
        return Some(("$".into(), 1));
    }
    let name: String = c[1..=n].iter().collect();
    let value = vars
        .get(&name)
        .cloned()
        .unwrap_or_else(|| format!("${{{name}}}"));
    Some((value, n + 1))
}

/// `if [ -f PATH ]; then BODY; fi` (also `test -f`, `-e`, `-s`): the path word and the body's
/// tokens.
pub fn if_file_then(tokens: &[Token]) -> Option<(String, Vec<Token>)> {
    let words: Vec<Option<&str>> = tokens.iter().map(word).collect();
    if words.first()? != &Some("if") {
        return None;
    }
    let (path, after) = match (words.get(1)?, words.get(2)?, words.get(3)?) {
        (Some("["), Some("-f" | "-e" | "-s"), Some(p)) if words.get(4)? == &Some("]") => (*p, 5),
        (Some("test"), Some("-f" | "-e" | "-s"), Some(p)) => (*p, 4),
        _ => return None,
    };
    let mut i = after;
    if matches!(&tokens.get(i)?.tok, Tok::Op(o) if o == ";") {
        i += 1;
    }
    if words.get(i)? != &Some("then") {
        return None;
    }
    let mut end = tokens.len();
    if words.last()? != &Some("fi") {
        return None;
    }
    end -= 1;
    if matches!(&tokens.get(end - 1)?.tok, Tok::Op(o) if o == ";") {
        end -= 1;
    }
    let body = tokens.get(i + 1..end)?.to_vec();
    if body
        .iter()
        .any(|t| matches!(word(t), Some("else" | "elif" | "fi" | "if")))
    {
        return None;
    }
    Some((path.to_string(), body))
}

/// `for VAR in WORDS...; do BODY; done`: the variable, the words as written and the body.
pub fn for_loop(tokens: &[Token]) -> Option<(String, Vec<Token>, Vec<Token>)> {
    let words: Vec<Option<&str>> = tokens.iter().map(word).collect();
    if words.first()? != &Some("for") || words.get(2)? != &Some("in") {
        return None;
    }
    let var = (*words.get(1)?)?.to_string();
    let semi = tokens
        .iter()
        .position(|t| matches!(&t.tok, Tok::Op(o) if o == ";"))?;
    let list = tokens.get(3..semi)?.to_vec();
    if words.get(semi + 1)? != &Some("do") || words.last()? != &Some("done") {
        return None;
    }
    let mut end = tokens.len() - 1;
    if matches!(&tokens.get(end - 1)?.tok, Tok::Op(o) if o == ";") {
        end -= 1;
    }
    let body = tokens.get(semi + 2..end)?.to_vec();
    Some((var, list, body))
}

/// Splits a run of tokens at `&&` and `;` (a compound command's body).
pub fn split_tokens(tokens: &[Token]) -> Vec<Vec<Token>> {
    let mut out = vec![Vec::new()];
    for t in tokens {
        match &t.tok {
            Tok::Op(o) if o == "&&" || o == ";" => out.push(Vec::new()),
            _ => out.last_mut().expect("one").push(t.clone()),
        }
    }
    out.retain(|u| !u.is_empty());
    out
}

/// Names of the variables a text refers to (`$NAME`, `${NAME...}`).
pub fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let mut j = i + 1;
            if b.get(j) == Some(&b'{') {
                j += 1;
            }
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.push(text[start..j].to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// A word as a shell would read it back: bare when it is plain, else single-quoted.
pub fn quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+,%".contains(&b));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split(s).iter().map(|u| u.text(s)).collect()
    }

    #[test]
    fn chains_split_at_top_level_only() {
        assert_eq!(
            texts(
                "apt-get update   &&  apt-get install -y a b; echo 'x && y' && if [ -f x ]; then a; fi && curl u | sh"
            ),
            vec![
                "apt-get update",
                "apt-get install -y a b",
                "echo 'x && y'",
                "if [ -f x ] ; then a ; fi",
                "curl u | sh"
            ]
        );
        assert_eq!(
            texts("for e in a b; do c $e; done && x"),
            vec!["for e in a b ; do c $e ; done", "x"]
        );
        assert_eq!(texts("echo $(a && b) && c"), vec!["echo $(a && b)", "c"]);
    }

    #[test]
    fn words_unquote_and_expand() {
        let mut vars = Vars::new();
        vars.insert("V".into(), "4.22.1".into());
        let u = &split(r#"curl -fOL "https://x/v$V/code_${V}_amd64.deb" 'a b' c\ d"#)[0];
        assert_eq!(
            u.words(&vars).unwrap(),
            vec![
                "curl",
                "-fOL",
                "https://x/v4.22.1/code_4.22.1_amd64.deb",
                "a b",
                "c d"
            ]
        );
        assert_eq!(
            split("a $UNKNOWN")[0].words(&vars).unwrap(),
            vec!["a", "${UNKNOWN}"]
        );
        assert_eq!(split("a ${X%y}")[0].words(&vars), None);
        assert_eq!(
            split("a ${UNKNOWN:-x}")[0].words(&vars).unwrap(),
            vec!["a", "x"]
        );
        assert_eq!(split("a | b")[0].words(&vars), None);
        assert_eq!(split("a $(b)")[0].words(&vars), None);
    }

    #[test]
    fn compound_forms() {
        let s = r#"if [ -f "/tmp/r.txt" ]; then pip install -r /tmp/r.txt; fi"#;
        let (path, body) = if_file_then(&split(s)[0].tokens).unwrap();
        assert_eq!(path, "\"/tmp/r.txt\"");
        assert_eq!(body.len(), 4);
        let s = "for EXT in $L; do code-server --install-extension $EXT; done";
        let (var, list, body) = for_loop(&split(s)[0].tokens).unwrap();
        assert_eq!((var.as_str(), list.len(), body.len()), ("EXT", 1, 3));
        assert_eq!(references("a $B ${C:-d} $"), vec!["B", "C"]);
        assert_eq!(quote("a b'c"), r"'a b'\''c'");
    }
}
