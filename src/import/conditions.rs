//! `if [ TEST ]; then …; [else …;] fi` whose test reads only variables import knows (a build
//! argument's default or the workflow's value, an `ENV`): the test is decided at import, and
//! only the branch that runs is mapped (`if [ -n "$PIP_PACKAGES" ]` with an empty default
//! does nothing). The build argument can no longer change the branch: a warning says so.

use super::shell::{self, Tok, Token, Vars};

/// The decided test: its text, whether it holds, and the branch that runs (its tokens, empty
/// when nothing runs).
pub struct Decided {
    pub test: String,
    pub holds: bool,
    pub body: Vec<Token>,
}

fn word(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Word(w) => Some(w),
        Tok::Op(_) => None,
    }
}

pub fn decide(tokens: &[Token], vars: &Vars) -> Option<Decided> {
    if word(tokens.first()?)? != "if" {
        return None;
    }
    let (test_end, after) = match word(tokens.get(1)?)? {
        "[" => {
            let close = tokens.iter().position(|t| word(t) == Some("]"))?;
            (close, close + 1)
        }
        "test" => {
            let semi = tokens
                .iter()
                .position(|t| matches!(&t.tok, Tok::Op(o) if o == ";"))?;
            (semi, semi)
        }
        _ => return None,
    };
    let test_words = &tokens[2..test_end];
    let mut i = after;
    if matches!(&tokens.get(i)?.tok, Tok::Op(o) if o == ";") {
        i += 1;
    }
    if word(tokens.get(i)?)? != "then" {
        return None;
    }
    let mut end = tokens.len() - 1;
    if word(tokens.get(end)?)? != "fi" {
        return None;
    }
    if matches!(&tokens.get(end - 1)?.tok, Tok::Op(o) if o == ";") {
        end -= 1;
    }
    let inner = tokens.get(i + 1..end)?;
    // No nesting: the words that open or end a compound command only as `else`.
    let mut split = None;
    for (n, t) in inner.iter().enumerate() {
        match word(t) {
            Some("else") if split.is_none() => split = Some(n),
            Some("if" | "elif" | "fi" | "else" | "case" | "for" | "while") => return None,
            _ => {}
        }
    }
    let (then, otherwise) = match split {
        Some(n) => {
            let mut t = inner[..n].to_vec();
            if matches!(t.last().map(|x| &x.tok), Some(Tok::Op(o)) if o == ";") {
                t.pop();
            }
            (t, inner[n + 1..].to_vec())
        }
        None => (inner.to_vec(), Vec::new()),
    };
    let holds = evaluate(test_words, vars)?;
    let test = test_words
        .iter()
        .filter_map(word)
        .collect::<Vec<_>>()
        .join(" ");
    Some(Decided {
        test,
        holds,
        body: if holds { then } else { otherwise },
    })
}

/// `-n WORD`, `-z WORD`, `A = B`, `A == B`, `A != B`, each maybe after `!`; every variable
/// known.
fn evaluate(tokens: &[Token], vars: &Vars) -> Option<bool> {
    let mut words = Vec::new();
    for t in tokens {
        let w = word(t)?;
        if shell::references(w).iter().any(|r| !vars.contains_key(r))
            || w.contains("$(")
            || w.contains('`')
        {
            return None;
        }
        let v = shell::unquote(w, vars)?;
        if w.contains('$') && !w.contains(['\'', '"', '\\']) {
            // Unquoted: split into fields (`[ -n $X ]` with X empty is `[ -n ]`).
            words.extend(v.split_whitespace().map(str::to_string));
        } else {
            words.push(v);
        }
    }
    let (negate, rest) = match words.split_first() {
        Some((n, rest)) if n == "!" => (true, rest),
        _ => (false, &words[..]),
    };
    let value = match rest {
        [op, a] if op == "-n" => !a.is_empty(),
        [op, a] if op == "-z" => a.is_empty(),
        [a, op, b] if op == "=" || op == "==" => a == b,
        [a, op, b] if op == "!=" => a != b,
        _ => return None,
    };
    Some(value != negate)
}
