//! Jupyter commands and configuration writes of a `RUN`, as jcx's `jupyter { … }` and
//! `remove-kernel`:
//!
//! - `jupyter labextension enable|disable NAME…` -> `extension "NAME" enabled=#true|#false`;
//! - `jupyter server extension enable|disable NAME…` (and the classic `jupyter
//!   serverextension`, with a warning) -> `server { ServerApp { jpserver_extensions { NAME #true } } }`;
//! - `jupyter kernelspec remove|uninstall NAME…` -> `remove-kernel NAME…`;
//! - `jupyter … list` -> nothing (it only prints);
//! - `echo '{…}' > …/jupyter_server_config.d/NAME.json` (or `printf`) -> `server`, and
//!   `> …/lab/settings/overrides.json` -> `lab-settings`;
//! - `echo "c.Class.trait = VALUE" >> …/jupyter_server_config.py` (or
//!   `jupyter_notebook_config.py`, with a warning), `VALUE` a Python literal -> `server`.
//!
//! What is not literal (a variable, Python code, `>` over a `.py` file that the image already
//! has) stays in a block. Each command is one item: the writer merges an app's items into one
//! `jupyter` node, a later value replacing an earlier one as a later write did.

use super::draft::{Entry, Kind, Origin, Warning};
use super::shell::{self, Tok, Token, Vars};

/// A JSON value in the order it was written (jcx writes keys in manifest order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum J {
    Null,
    Bool(bool),
    /// A number as written: `-?digits(.digits)?`.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// One command's part of the `jupyter` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jup {
    /// `server { CLASS { … } }`: classes and their settings.
    Server(Vec<(String, J)>),
    /// `lab-settings "PLUGIN" { … }`: plugins and their settings.
    Lab(Vec<(String, J)>),
    Extension(String, bool),
}

/// What a command maps to: entries, and the warnings to give.
pub struct Mapped {
    pub entries: Vec<Entry>,
    pub warnings: Vec<Warning>,
}

/// The Jupyter command (or configuration write) of one unit of a `RUN`, if it is one jcx can
/// express. `Some` with no entries: a command that changes nothing (`jupyter … list`).
pub fn classify(tokens: &[Token], vars: &Vars, origin: &Origin) -> Option<Mapped> {
    let redirect = tokens
        .iter()
        .position(|t| matches!(&t.tok, Tok::Op(o) if o == ">" || o == ">>"));
    match redirect {
        Some(r) => write(tokens, r, vars, origin),
        None => command(&shell::words_of(tokens, vars)?, origin),
    }
}

fn changed(origin: &Origin, message: String) -> Warning {
    Warning {
        kind: Kind::Changed,
        origin: origin.clone(),
        message,
    }
}

/// `jupyter labextension|server extension|serverextension|kernelspec …`.
fn command(words: &[String], origin: &Origin) -> Option<Mapped> {
    let w = super::commands::command_words(words);
    if w.first()? != "jupyter" {
        return None;
    }
    let (tool, rest) = match (w.get(1)?.as_str(), w.get(2).map(String::as_str)) {
        ("server", Some("extension")) => ("server extension", &w[3..]),
        (t, _) => (t, &w[2..]),
    };
    let sub = rest.first()?.as_str();
    let names: Vec<String> = rest[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let flags_ok = rest[1..].iter().filter(|a| a.starts_with('-')).all(|a| {
        matches!(
            a.as_str(),
            "--py"
                | "--sys-prefix"
                | "--system"
                | "--user"
                | "-f"
                | "-y"
                | "--force"
                | "--yes"
                | "--level=sys_prefix"
                | "--level=system"
                | "--level=user"
                | "--no-build"
        )
    });
    let nothing = || Mapped {
        entries: Vec::new(),
        warnings: Vec::new(),
    };
    match (tool, sub) {
        (
            "labextension" | "serverextension" | "server extension" | "nbextension" | "kernelspec",
            "list",
        ) if names.is_empty() => Some(nothing()),
        _ if !flags_ok || names.is_empty() => None,
        ("labextension", "enable" | "disable") => Some(Mapped {
            entries: names
                .into_iter()
                .map(|n| Entry::Jupyter(Jup::Extension(n, sub == "enable")))
                .collect(),
            warnings: Vec::new(),
        }),
        ("serverextension" | "server extension", "enable" | "disable") => {
            let on = sub == "enable";
            let exts = names.iter().map(|n| (n.clone(), J::Bool(on))).collect();
            let server = vec![(
                "ServerApp".to_string(),
                J::Obj(vec![("jpserver_extensions".to_string(), J::Obj(exts))]),
            )];
            let mut warnings = Vec::new();
            if tool == "serverextension" {
                warnings.push(changed(origin, format!("`jupyter serverextension {sub}` configured the classic notebook server (`NotebookApp.nbserver_extensions`, read by `jupyter notebook` before version 7); jcx sets jupyter_server's `ServerApp.jpserver_extensions`, which JupyterLab 3 and later, Notebook 7 and jupyterhub-singleuser on jupyter_server read: keep the command in a `dockerfile` block for an image that still runs the classic server")));
            }
            Some(Mapped {
                entries: vec![Entry::Jupyter(Jup::Server(server))],
                warnings,
            })
        }
        ("kernelspec", "remove" | "uninstall") => Some(Mapped {
            entries: names.into_iter().map(Entry::RemoveKernel).collect(),
            warnings: Vec::new(),
        }),
        _ => None,
    }
}

/// The text `echo` or `printf` writes (before the redirection at `r`), and the file.
fn write(tokens: &[Token], r: usize, vars: &Vars, origin: &Origin) -> Option<Mapped> {
    let append = matches!(&tokens[r].tok, Tok::Op(o) if o == ">>");
    let [target] = &tokens[r + 1..] else {
        return None;
    };
    let path = shell::words_of(std::slice::from_ref(target), vars)?.join(" ");
    let words = shell::words_of(&tokens[..r], vars)?;
    let text = printed(&words)?;
    let file = path.rsplit('/').next().unwrap_or(&path);
    let dir = &path[..path.len() - file.len()];
    if !append && file.ends_with(".json") {
        let J::Obj(top) = parse(&text, false)? else {
            return None;
        };
        let part =
            if dir.ends_with("/jupyter_server_config.d/") || file == "jupyter_server_config.json" {
                Jup::Server(top)
            } else if file == "overrides.json" && dir.ends_with("/lab/settings/") {
                Jup::Lab(top)
            } else {
                return None;
            };
        return Some(Mapped {
            entries: vec![Entry::Jupyter(part)],
            warnings: Vec::new(),
        });
    }
    let notebook = file == "jupyter_notebook_config.py";
    if !append || !(notebook || file == "jupyter_server_config.py") {
        return None;
    }
    let server = python_config(&text)?;
    let mut warnings = Vec::new();
    if notebook {
        warnings.push(changed(origin, format!("`{file}` is read by the classic notebook server (and nbclassic); jcx writes the settings into jupyter_server's configuration, which JupyterLab and Notebook 7 read")));
    }
    Some(Mapped {
        entries: vec![Entry::Jupyter(Jup::Server(server))],
        warnings,
    })
}

/// What `echo [-n] WORDS…` or `printf FORMAT [ARGS…]` prints; `None` for anything else.
fn printed(words: &[String]) -> Option<String> {
    let w = super::commands::command_words(words);
    match w.first()?.as_str() {
        "echo" => {
            let args: Vec<&String> = w[1..].iter().collect();
            let args = match args.first() {
                Some(a) if a.as_str() == "-n" => &args[1..],
                Some(a) if a.starts_with('-') => return None,
                _ => &args[..],
            };
            if args.iter().any(|a| a.contains('\\')) {
                return None;
            }
            Some(
                args.iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }
        "printf" => {
            let format = w.get(1)?;
            let args = &w[2..];
            if format == "%s\\n" {
                return Some(args.iter().map(|a| format!("{a}\n")).collect());
            }
            if !args.is_empty() || format.replace("%%", "").contains('%') {
                return None;
            }
            unescape(&format.replace("%%", "%"))
        }
        _ => None,
    }
}

/// printf's escapes: `\n`, `\t`, `\\`, `\"`, `\'`; `None` for any other.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            _ => return None,
        });
    }
    Some(out)
}

/// `c.Class.trait = LITERAL` lines (blank lines and comments allowed): the classes.
fn python_config(text: &str) -> Option<Vec<(String, J)>> {
    let mut classes: Vec<(String, J)> = Vec::new();
    let mut any = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (lhs, rhs) = l.split_once('=')?;
        let mut path = lhs.trim().split('.');
        let (Some("c"), Some(class), Some(name), None) =
            (path.next(), path.next(), path.next(), path.next())
        else {
            return None;
        };
        let ident = |s: &str| {
            s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !ident(class) || !ident(name) {
            return None;
        }
        let value = parse(rhs.trim(), true)?;
        set(&mut classes, class, name, value);
        any = true;
    }
    any.then_some(classes)
}

fn set(classes: &mut Vec<(String, J)>, class: &str, name: &str, value: J) {
    let pos = match classes.iter().position(|(c, _)| c == class) {
        Some(p) => p,
        None => {
            classes.push((class.to_string(), J::Obj(Vec::new())));
            classes.len() - 1
        }
    };
    if let J::Obj(traits) = &mut classes[pos].1 {
        traits.retain(|(k, _)| k != name);
        traits.push((name.to_string(), value));
    }
}

/// A JSON text, or (`python`) a Python literal (`True`, `None`, `'x'`, `r"x"`, lists, tuples,
/// dicts with string keys), as one value with nothing after it.
pub fn parse(text: &str, python: bool) -> Option<J> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        python,
    };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    python: bool,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &str) -> bool {
        let hit = self.s[self.i..].starts_with(w.as_bytes());
        if hit {
            self.i += w.len();
        }
        hit
    }

    fn value(&mut self, depth: usize) -> Option<J> {
        if depth > 32 {
            return None;
        }
        self.ws();
        let c = *self.s.get(self.i)?;
        let (t, f, n) = if self.python {
            ("True", "False", "None")
        } else {
            ("true", "false", "null")
        };
        match c {
            b'{' => self.object(depth),
            b'[' => self.array(b']', depth),
            b'(' if self.python => self.array(b')', depth),
            b'"' => self.string(b'"', false).map(J::Str),
            b'\'' if self.python => self.string(b'\'', false).map(J::Str),
            b'r' | b'R' if self.python && matches!(self.s.get(self.i + 1), Some(b'"' | b'\'')) => {
                self.i += 1;
                let q = self.s[self.i];
                self.string(q, true).map(J::Str)
            }
            _ if self.word(t) => Some(J::Bool(true)),
            _ if self.word(f) => Some(J::Bool(false)),
            _ if self.word(n) => Some(J::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<J> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.s.len() && p.s[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i > s
        };
        if !digits(self) {
            return None;
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E' | b'j' | b'J' | b'_')) {
            return None;
        }
        Some(J::Num(
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
        ))
    }

    fn string(&mut self, q: u8, raw: bool) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            if c == q {
                break;
            }
            if c == b'\n' {
                return None;
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let e = *self.s.get(self.i)?;
            self.i += 1;
            if raw {
                out.push(b'\\');
                out.push(e);
                continue;
            }
            out.push(match e {
                b'n' => b'\n',
                b't' => b'\t',
                b'\\' | b'"' | b'\'' | b'/' => e,
                _ => return None,
            });
        }
        String::from_utf8(out).ok()
    }

    fn array(&mut self, close: u8, depth: usize) -> Option<J> {
        self.i += 1;
        let mut items = Vec::new();
        if self.eat(close) {
            return Some(J::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            if self.eat(close) {
                return Some(J::Arr(items));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.python && self.eat(close) {
                return Some(J::Arr(items));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<J> {
        self.i += 1;
        let mut entries: Vec<(String, J)> = Vec::new();
        if self.eat(b'}') {
            return Some(J::Obj(entries));
        }
        loop {
            let J::Str(k) = self.value(depth + 1)? else {
                return None;
            };
            if !self.eat(b':') {
                return None;
            }
            let v = self.value(depth + 1)?;
            entries.retain(|(x, _)| *x != k);
            entries.push((k, v));
            if self.eat(b'}') {
                return Some(J::Obj(entries));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.python && self.eat(b'}') {
                return Some(J::Obj(entries));
            }
        }
    }
}

/// An app's `jupyter` parts merged as jcx merges them (objects by key, anything else
/// replaced), each value remembering which parts (indexes) it stands for.
enum Tree {
    Leaf(J, usize),
    Obj(Vec<(String, Tree)>, Vec<usize>),
}

fn tree(v: &J, k: usize) -> Tree {
    match v {
        J::Obj(entries) => Tree::Obj(
            entries
                .iter()
                .map(|(n, v)| (n.clone(), tree(v, k)))
                .collect(),
            vec![k],
        ),
        other => Tree::Leaf(other.clone(), k),
    }
}

fn merge(into: &mut Vec<(String, Tree)>, owners: &mut Vec<usize>, from: &[(String, J)], k: usize) {
    if !owners.contains(&k) {
        owners.push(k);
    }
    for (key, v) in from {
        match (into.iter_mut().find(|(n, _)| n == key), v) {
            (Some((_, Tree::Obj(sub, o))), J::Obj(e)) => merge(sub, o, e, k),
            (Some((_, slot)), v) => *slot = tree(v, k),
            (None, v) => into.push((key.clone(), tree(v, k))),
        }
    }
}

/// The lines of an app's `jupyter` node (without indentation before the first), each with
/// the parts it stands for.
pub fn node_lines(parts: &[&Jup], indent: &str) -> Vec<(String, Vec<usize>)> {
    let (mut server, mut so) = (Vec::new(), Vec::new());
    let (mut lab, mut lo) = (Vec::new(), Vec::new());
    let mut ext: Vec<(String, bool, usize)> = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        match p {
            Jup::Server(e) => merge(&mut server, &mut so, e, k),
            Jup::Lab(e) => merge(&mut lab, &mut lo, e, k),
            Jup::Extension(n, on) => {
                ext.retain(|(x, _, _)| x != n);
                ext.push((n.clone(), *on, k));
            }
        }
    }
    let all: Vec<usize> = (0..parts.len()).collect();
    let inner = format!("{indent}    ");
    let mut out = vec![("jupyter {".to_string(), all.clone())];
    if !server.is_empty() {
        out.push((format!("{inner}server {{"), so));
        for (k, v) in &server {
            lines(&mut out, &kdl_key(k), v, &format!("{inner}    "));
        }
        out.push((format!("{inner}}}"), all.clone()));
    }
    for (plugin, v) in &lab {
        lines(
            &mut out,
            &format!("lab-settings {}", crate::edit::kdl_value(plugin)),
            v,
            &inner,
        );
    }
    for (n, on, k) in ext {
        out.push((
            format!(
                "{inner}extension {} enabled={}",
                crate::edit::kdl_value(&n),
                if on { "#true" } else { "#false" }
            ),
            vec![k],
        ));
    }
    out.push((format!("{indent}}}"), all));
    out
}

fn kdl_key(k: &str) -> String {
    crate::edit::kdl_value(k)
}

fn lines(out: &mut Vec<(String, Vec<usize>)>, head: &str, v: &Tree, indent: &str) {
    match v {
        Tree::Leaf(j, k) => json_lines(out, head, j, indent, &[*k]),
        Tree::Obj(entries, owners) if entries.is_empty() => {
            out.push((format!("{indent}{head} {{}}"), owners.clone()))
        }
        Tree::Obj(entries, owners) => {
            out.push((format!("{indent}{head} {{"), owners.clone()));
            for (k, v) in entries {
                lines(out, &kdl_key(k), v, &format!("{indent}    "));
            }
            out.push((format!("{indent}}}"), owners.clone()));
        }
    }
}

fn scalar(j: &J) -> Option<String> {
    Some(match j {
        J::Null => "#null".into(),
        J::Bool(b) => if *b { "#true" } else { "#false" }.into(),
        J::Num(n) => n.clone(),
        J::Str(s) => crate::edit::kdl_value(s),
        J::Arr(_) | J::Obj(_) => return None,
    })
}

/// A JSON value as KDL (`key value`, `key v1 v2`, `key { - v }`, `key { k v }`).
fn json_lines(out: &mut Vec<(String, Vec<usize>)>, head: &str, j: &J, indent: &str, k: &[usize]) {
    let deeper = format!("{indent}    ");
    match j {
        J::Obj(e) if e.is_empty() => out.push((format!("{indent}{head} {{}}"), k.to_vec())),
        J::Obj(e) => {
            out.push((format!("{indent}{head} {{"), k.to_vec()));
            for (n, v) in e {
                json_lines(out, &kdl_key(n), v, &deeper, k);
            }
            out.push((format!("{indent}}}"), k.to_vec()));
        }
        J::Arr(items) if items.len() >= 2 && items.iter().all(|i| scalar(i).is_some()) => {
            let vals: Vec<String> = items.iter().filter_map(scalar).collect();
            out.push((format!("{indent}{head} {}", vals.join(" ")), k.to_vec()));
        }
        // An empty array has no KDL form: jcx refuses the bare key, and the part is demoted.
        J::Arr(items) if items.is_empty() => out.push((format!("{indent}{head}"), k.to_vec())),
        J::Arr(items) => {
            out.push((format!("{indent}{head} {{"), k.to_vec()));
            for i in items {
                json_lines(out, "-", i, &deeper, k);
            }
            out.push((format!("{indent}}}"), k.to_vec()));
        }
        other => {
            let v = scalar(other).unwrap_or_default();
            out.push((format!("{indent}{head} {v}"), k.to_vec()));
        }
    }
}

/// One part alone, as a node (for warnings and comments).
pub fn text(part: &Jup, indent: &str) -> String {
    node_lines(&[part], indent)
        .into_iter()
        .map(|(l, _)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_python_literals() {
        assert_eq!(
            parse(
                r#"{"a": [1, -2.5, "x\n"], "b": {"c": null, "d": true}}"#,
                false
            ),
            Some(J::Obj(vec![
                (
                    "a".into(),
                    J::Arr(vec![
                        J::Num("1".into()),
                        J::Num("-2.5".into()),
                        J::Str("x\n".into())
                    ])
                ),
                (
                    "b".into(),
                    J::Obj(vec![("c".into(), J::Null), ("d".into(), J::Bool(true))])
                ),
            ]))
        );
        assert_eq!(
            parse(r#"r"^/opt/.*$""#, true),
            Some(J::Str("^/opt/.*$".into()))
        );
        assert_eq!(
            parse("['a', (1, 2), {'k': False},]", true),
            Some(J::Arr(vec![
                J::Str("a".into()),
                J::Arr(vec![J::Num("1".into()), J::Num("2".into())]),
                J::Obj(vec![("k".into(), J::Bool(false))]),
            ]))
        );
        assert_eq!(parse("1e5", false), None);
        assert_eq!(parse("os.environ['X']", true), None);
        assert_eq!(parse("{} x", false), None);
        assert_eq!(
            python_config("\nc.A.b = True  \n# note\nc.A.c = 'x'\nc.B.d = None\n"),
            Some(vec![
                (
                    "A".into(),
                    J::Obj(vec![
                        ("b".into(), J::Bool(true)),
                        ("c".into(), J::Str("x".into()))
                    ])
                ),
                ("B".into(), J::Obj(vec![("d".into(), J::Null)])),
            ])
        );
        assert_eq!(python_config("c.A.b.c = 1"), None);
        assert_eq!(python_config("import os"), None);
    }
}
