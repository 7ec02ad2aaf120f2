//! The commands `fsmap` reads, one simple command of a `RUN` chain each: `mkdir`, `chown`,
//! `chmod`, `ln -s`, `rm`, `echo`/`printf` (into a file with `>`/`>>`, or only printing), with
//! their words unquoted and only the expansions that keep them exact (see `literal`,
//! `path_word`). Also the `chmod` modes, applied as `chmod` would.

use super::commands::command_words;
use super::draft::{Entry, Item, Origin};
use super::map::{AT, User};
use super::shell::{self, Tok, Token, Unit, Vars};
use crate::nodes::files::image_path_ok;

/// A command this module reads.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// `echo` without a redirection.
    Echo,
    Mkdir {
        dirs: Vec<String>,
        mode: Option<String>,
    },
    Chown {
        recursive: bool,
        root: bool,
        paths: Vec<String>,
    },
    Chmod {
        recursive: bool,
        spec: String,
        paths: Vec<String>,
    },
    Link {
        target: String,
        link: String,
    },
    Rm {
        words: Vec<String>,
        paths: Vec<String>,
    },
    Write {
        path: String,
        text: String,
        append: bool,
    },
    /// `cat SRC >> PATH`: a file appended to another.
    AppendFrom {
        src: String,
        path: String,
    },
}

impl Cmd {
    /// The paths it changes.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Cmd::Echo => Vec::new(),
            Cmd::Mkdir { dirs: p, .. }
            | Cmd::Chown { paths: p, .. }
            | Cmd::Chmod { paths: p, .. }
            | Cmd::Rm { paths: p, .. } => p.iter().map(String::as_str).collect(),
            Cmd::Link { link, .. } => vec![link],
            Cmd::Write { path, .. } | Cmd::AppendFrom { path, .. } => vec![path],
        }
    }
}

/// A word with no expansion the shell would do: quotes removed. `None` for `$`, `` ` ``, `\`,
/// globs, braces or `~` outside single quotes.
pub fn literal(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                for c in chars.by_ref() {
                    match c {
                        '"' => break,
                        '$' | '`' | '\\' => return None,
                        c => out.push(c),
                    }
                }
            }
            '$' | '`' | '\\' | '*' | '?' | '[' | ']' | '{' | '}' => return None,
            '~' if first => return None,
            c => out.push(c),
        }
        first = false;
    }
    Some(out)
}

/// A path word: `~/x` and `$HOME/x` as `${HOME}/x` (the stacks set HOME for root too), known
/// variables expanded, the stacks' others kept; `None` unless `file to=` would take it.
pub fn path_word(raw: &str, vars: &Vars) -> Option<String> {
    if raw.contains('`') || raw.contains("$(") {
        return None;
    }
    let raw = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("${{HOME}}{rest}"),
        Some(_) => return None,
        None => raw.to_string(),
    };
    let p = shell::unquote(&raw, vars)?;
    let p = if p.len() > 1 {
        p.trim_end_matches('/').to_string()
    } else {
        p
    };
    image_path_ok(&p).then_some(p)
}

/// A word whose every `$` is `$NAME` or `${NAME}`, without a command substitution (`` ` ``,
/// `$(…)`) or an expansion that assigns or fails (`${A:=x}`, `${A:?}`).
fn only_plain_expansions(raw: &str) -> bool {
    let name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = raw;
    if raw.contains('`') {
        return false;
    }
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        rest = if let Some(inner) = after.strip_prefix('{') {
            match inner.split_once('}') {
                Some((n, r)) if !n.is_empty() && n.chars().all(name) => r,
                _ => return false,
            }
        } else {
            let n = after.chars().take_while(|c| name(*c)).count();
            if n == 0 {
                return false;
            }
            &after[n..]
        };
    }
    true
}

fn word(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Word(w) => Some(w),
        Tok::Op(_) => None,
    }
}

/// The words of a command (raw, as written) and the file of its one `>`/`>>` redirection.
/// The raw words of a command, and its redirection (file, `>>`).
type Redirected<'a> = (Vec<&'a str>, Option<(&'a str, bool)>);

fn split_redirect(tokens: &[Token]) -> Option<Redirected<'_>> {
    let Some(op) = tokens.iter().position(|t| matches!(t.tok, Tok::Op(_))) else {
        return Some((tokens.iter().filter_map(word).collect(), None));
    };
    let Tok::Op(o) = &tokens[op].tok else {
        return None;
    };
    let append = match o.as_str() {
        ">" => false,
        ">>" => true,
        _ => return None,
    };
    // `2>file` is a redirection of another descriptor.
    if op > 0 && tokens[op - 1].end == tokens[op].start {
        return None;
    }
    if tokens.len() != op + 2 {
        return None;
    }
    let file = word(&tokens[op + 1])?;
    let words = tokens[..op].iter().filter_map(word).collect();
    Some((words, Some((file, append))))
}

/// The text `printf FORMAT [ARG…]` prints, for a format with no conversion but `%%`, and
/// `'%s\n' LINE…`; escapes `\n`, `\t`, `\\` only.
fn printf_text(args: &[String]) -> Option<String> {
    let (fmt, rest) = args.split_first()?;
    if fmt == "%s\\n" && !rest.is_empty() {
        return Some(rest.iter().map(|l| format!("{l}\n")).collect());
    }
    if !rest.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\' || c == '%') {
            ('\\', _) => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                _ => return None,
            },
            ('%', _) => match chars.next()? {
                '%' => out.push('%'),
                _ => return None,
            },
            (c, _) => out.push(c),
        }
    }
    Some(out)
}

/// Reads one command of a chain.
pub fn parse(u: &Unit, vars: &Vars) -> Option<Cmd> {
    let (raw, redirect) = split_redirect(&u.tokens)?;
    // A message to the build log, whatever variables it names (`$NAME`, `${NAME}` expand to
    // text and do nothing else).
    if redirect.is_none()
        && raw.first() == Some(&"echo")
        && raw[1..].iter().all(|r| only_plain_expansions(r))
    {
        return Some(Cmd::Echo);
    }
    let words: Vec<String> = raw
        .iter()
        .map(|r| shell::unquote(r, vars))
        .collect::<Option<_>>()?;
    let cw = command_words(&words);
    let raw = &raw[words.len() - cw.len()..];
    let name = cw.first()?.as_str();
    let a = Args {
        words: &cw[1..],
        raw: &raw[1..],
        vars,
    };
    if let Some((file, append)) = redirect {
        let path = path_word(file, vars)?;
        let lit = || -> Option<Vec<String>> { a.raw.iter().map(|r| literal(r)).collect() };
        if name == "cat" && append {
            return match a.words {
                [_] => Some(Cmd::AppendFrom {
                    src: path_word(a.raw.first()?, vars)?,
                    path,
                }),
                _ => None,
            };
        }
        let text = match name {
            "echo" if a.words.first().is_none_or(|w| !w.starts_with('-')) => {
                format!("{}\n", lit()?.join(" "))
            }
            "printf" => printf_text(&lit()?)?,
            _ => return None,
        };
        if !(text.is_empty() || text.ends_with('\n')) {
            return None;
        }
        return Some(Cmd::Write { path, text, append });
    }
    match name {
        "echo" if a.raw.iter().all(|r| !r.contains("$(") && !r.contains('`')) => Some(Cmd::Echo),
        "mkdir" => mkdir(&a),
        "chown" | "chmod" => owner_or_mode(name, &a),
        "ln" => ln(&a),
        "rm" => {
            let mut rest = Vec::new();
            for (w, r) in a.words.iter().zip(a.raw) {
                match w.as_str() {
                    "--recursive" | "--force" | "--" => {}
                    f if f.starts_with('-') && f.len() > 1 => {
                        if !f[1..].chars().all(|c| "rfRv".contains(c)) {
                            return None;
                        }
                    }
                    _ => rest.push(*r),
                }
            }
            Some(Cmd::Rm {
                words: words.clone(),
                paths: a.paths(&rest)?,
            })
        }
        _ => None,
    }
}

/// The arguments of a command: expanded, and as written.
struct Args<'a> {
    words: &'a [String],
    raw: &'a [&'a str],
    vars: &'a Vars,
}

impl Args<'_> {
    /// Path words, at least one.
    fn paths(&self, list: &[&str]) -> Option<Vec<String>> {
        let v: Vec<String> = list
            .iter()
            .map(|r| path_word(r, self.vars))
            .collect::<Option<_>>()?;
        (!v.is_empty()).then_some(v)
    }
}

fn mkdir(a: &Args<'_>) -> Option<Cmd> {
    let mut mode = None;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < a.words.len() {
        match a.words[i].as_str() {
            "-p" | "--parents" | "-v" | "-pv" | "-vp" => {}
            "-m" => {
                i += 1;
                mode = Some(octal(a.words.get(i)?)?);
            }
            w if w.starts_with("--mode=") => mode = Some(octal(&w[7..])?),
            w if w.starts_with('-') => return None,
            _ => rest.push(a.raw[i]),
        }
        i += 1;
    }
    Some(Cmd::Mkdir {
        dirs: a.paths(&rest)?,
        mode,
    })
}

fn owner_or_mode(name: &str, a: &Args<'_>) -> Option<Cmd> {
    let mut recursive = false;
    let mut rest = Vec::new();
    for (w, r) in a.words.iter().zip(a.raw) {
        match w.as_str() {
            "-R" | "--recursive" => recursive = true,
            "-v" | "-c" | "-f" => {}
            _ if w.starts_with('-') && (name == "chown" || !is_mode(w)) => return None,
            _ => rest.push((w.as_str(), *r)),
        }
    }
    let ((first, _), list) = rest.split_first()?;
    let targets: Vec<&str> = list.iter().map(|(_, r)| *r).collect();
    let paths = a.paths(&targets)?;
    if name == "chmod" {
        return is_mode(first).then(|| Cmd::Chmod {
            recursive,
            spec: first.to_string(),
            paths,
        });
    }
    Some(Cmd::Chown {
        recursive,
        root: owner_is_root(first)?,
        paths,
    })
}

fn ln(a: &Args<'_>) -> Option<Cmd> {
    let mut symbolic = false;
    let mut rest = Vec::new();
    for (w, r) in a.words.iter().zip(a.raw) {
        match w.as_str() {
            "--symbolic" => symbolic = true,
            "--force" | "--no-dereference" | "--no-target-directory" | "--verbose" => {}
            f if f.starts_with('-') && !f.starts_with("--") && f.len() > 1 => {
                if !f[1..].chars().all(|c| "sfnTv".contains(c)) {
                    return None;
                }
                symbolic |= f.contains('s');
            }
            f if f.starts_with('-') => return None,
            _ => rest.push(*r),
        }
    }
    let [target, link] = rest.as_slice() else {
        return None;
    };
    if !symbolic || link.ends_with('/') {
        return None;
    }
    // A relative target stays as written: the mapping resolves it against the link's directory.
    let target = match shell::unquote(target, a.vars)? {
        t if t.starts_with('/') || t.starts_with('$') => path_word(target, a.vars)?,
        t if literal(target).is_some() => t,
        _ => return None,
    };
    Some(Cmd::Link {
        target,
        link: path_word(link, a.vars)?,
    })
}

/// `chown` owner: root (`root`, `0`, group root) or the notebook user (its name, uid or the
/// stacks' variables, group `users`/100/NB_GID or none).
pub fn owner_is_root(spec: &str) -> Option<bool> {
    let (user, group) = spec
        .split_once([':', '.'])
        .map_or((spec, None), |(u, g)| (u, Some(g)));
    let root = match super::map::user_of(user) {
        User::Root => true,
        User::Notebook => false,
        User::Other(_) => return None,
    };
    let group_ok = match group {
        None | Some("") => true,
        Some(g) if root => matches!(g, "root" | "0"),
        Some(g) => matches!(g, "users" | "100" | "${NB_GID}" | "$NB_GID"),
    };
    group_ok.then_some(root)
}

/// A mode `chmod` takes: octal or symbolic (`u+x`, `a+rX,go-w`, `g=u`), as `permissions` does.
pub fn is_mode(s: &str) -> bool {
    octal(s).is_some() || crate::nodes::perms::mode_ok(s)
}

/// `755` or `0755` as four octal digits.
pub fn octal(s: &str) -> Option<String> {
    ((1..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .then(|| format!("{:0>4}", s))
}

/// A `chmod` mode applied to `base`: octal replaces it, symbolic changes it (`X` sets `x` on a
/// directory or where some `x` is set). `None` for what this reader does not follow (`+w`
/// without a who, which the umask would filter).
pub fn apply_mode(spec: &str, base: u32, dir: bool) -> Option<u32> {
    if let Some(o) = octal(spec) {
        return u32::from_str_radix(&o, 8).ok();
    }
    let mut mode = base;
    for clause in spec.split(',') {
        let ops_at = clause.find(['+', '-', '='])?;
        let who_s = &clause[..ops_at];
        let mut who = 0;
        for c in who_s.chars() {
            who |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                _ => 0o7777,
            };
        }
        let implicit = who_s.is_empty();
        if implicit {
            who = 0o7777;
        }
        let mut rest = &clause[ops_at..];
        while let Some(op) = rest.chars().next() {
            let end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |e| e + 1);
            let perms = &rest[1..end];
            let mut bits = 0;
            for p in perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' if implicit => return None,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if dir || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return None,
                };
            }
            bits &= who;
            match op {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                _ => mode = (mode & !(who & 0o777)) | bits,
            }
            rest = &rest[end..];
        }
    }
    Some(mode)
}

/// The stacks' Jupyter configuration files: another mapping (`jupyter`) takes them.
pub fn jupyter_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.contains("jupyter_server_config.d")
        || path.contains("jupyter_notebook_config.d")
        || path.contains("/labconfig/")
        || path.contains("/nbconfig/")
        || (name.starts_with("jupyter_") && name.contains("_config."))
        || name == "overrides.json"
        || name == "page_config.json"
}

/// What an item becomes when jcx refuses it: a root `RUN` doing exactly what the item says,
/// at the end (after everything the file-system step would have come after).
pub fn synthesized(e: &Entry) -> Vec<String> {
    let q = |p: &str| format!("\"{p}\"");
    let owner = |root: bool| {
        if root {
            "root:root"
        } else {
            "\"${NB_UID}:${NB_GID}\""
        }
    };
    let mut cmds: Vec<String> = Vec::new();
    let mut heredoc: Vec<String> = Vec::new();
    match e {
        Entry::Dir { path, root, mode } => {
            cmds.push(format!("mkdir -p {}", q(path)));
            cmds.push(format!("chown {} {}", owner(*root), q(path)));
            if let Some(m) = mode {
                cmds.push(format!("chmod {m} {}", q(path)));
            }
        }
        Entry::Permissions {
            paths,
            root,
            mode,
            recursive,
        } => {
            let r = if *recursive { " -R" } else { "" };
            let paths: Vec<String> = paths.iter().map(|p| q(p)).collect();
            let paths = paths.join(" ");
            if let Some(root) = root {
                cmds.push(format!("chown{r} {} -- {paths}", owner(*root)));
            }
            if let Some(m) = mode {
                cmds.push(if m.starts_with('-') {
                    format!("chmod{r} -- {m} {paths}")
                } else {
                    format!("chmod{r} {m} -- {paths}")
                });
            }
        }
        Entry::Symlink { link, target } => cmds.push(format!("ln -sfnT {} {}", q(target), q(link))),
        Entry::Remove(p) => cmds.push(format!("rm -rf {}", q(p))),
        Entry::Inline {
            to,
            content,
            root,
            mode,
            append,
        } => {
            let mut end = "EOF".to_string();
            while content.lines().any(|l| l == end) {
                end.push('_');
            }
            let op = if *append { ">>" } else { ">" };
            cmds.push(format!("cat <<'{end}' {op} {}", q(to)));
            heredoc = content.lines().map(str::to_string).collect();
            heredoc.push(end);
            if !*append {
                cmds.push(format!("chown {} {}", owner(*root), q(to)));
                cmds.push(format!(
                    "chmod {} {}",
                    mode.as_deref().unwrap_or("0644"),
                    q(to)
                ));
            }
        }
        _ => return Vec::new(),
    }
    // A heredoc's body follows the line that opens it: that command goes last.
    if !heredoc.is_empty() {
        let first = cmds.remove(0);
        cmds.push(first);
    }
    let mut lines = vec![format!("RUN {}", cmds.join(" && \\\n    "))];
    lines = lines.join("\n").lines().map(str::to_string).collect();
    lines.extend(heredoc);
    lines
}

/// An item with its synthesized fallback.
pub fn item(entry: Entry, o: &Origin) -> Item {
    let mut item = Item::new(entry, Some(o.clone()));
    refresh(&mut item);
    item
}

/// After a change to an item's entry: its fallback again.
pub fn refresh(item: &mut Item) {
    item.fallback = vec![Entry::Dockerfile {
        root: true,
        at: AT[AT.len() - 1],
        lines: synthesized(&item.entry),
    }];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Option<Cmd> {
        parse(&shell::split(s)[0], &Vars::new())
    }
    #[test]
    fn reads_file_system_commands() {
        assert!(
            matches!(cmd("mkdir -p /opt/a ~/b"), Some(Cmd::Mkdir { dirs, mode: None }) if dirs == ["/opt/a", "${HOME}/b"])
        );
        assert!(
            matches!(cmd("mkdir -m 700 /opt/a"), Some(Cmd::Mkdir { mode: Some(m), .. }) if m == "0700")
        );
        assert!(matches!(
            cmd("chown -R ${NB_UID}:${NB_GID} /opt/a"),
            Some(Cmd::Chown {
                recursive: true,
                root: false,
                ..
            })
        ));
        assert!(cmd("chown -R bob /opt/a").is_none());
        assert!(
            matches!(cmd("chmod a+rX /opt/a"), Some(Cmd::Chmod { spec, .. }) if spec == "a+rX")
        );
        assert!(
            matches!(cmd("ln -snf /usr/share/zoneinfo/UTC /etc/localtime"), Some(Cmd::Link { target, link }) if target == "/usr/share/zoneinfo/UTC" && link == "/etc/localtime")
        );
        assert!(cmd("ln /a /b").is_none());
        assert!(cmd("ln -s /a /b/").is_none());
        assert!(
            matches!(cmd("rm -rf $HOME/work"), Some(Cmd::Rm { paths, .. }) if paths == ["${HOME}/work"])
        );
        assert!(cmd("rm -rf /opt/*").is_none());
        assert!(
            matches!(cmd("echo 'export A=$B' >> ~/.bashrc"), Some(Cmd::Write { path, text, append: true }) if path == "${HOME}/.bashrc" && text == "export A=$B\n")
        );
        assert!(cmd("echo \"$TZ\" > /etc/timezone").is_none());
        assert!(cmd("echo -n x > /etc/x").is_none());
        assert!(cmd("echo x 2 > /etc/x").is_some());
        assert!(cmd("echo x 2>/etc/x").is_none() && cmd("echo x 2> /etc/x").is_none());
        assert!(
            matches!(cmd("printf 'a\\nb\\n' > /etc/x"), Some(Cmd::Write { text, .. }) if text == "a\nb\n")
        );
        assert!(
            matches!(cmd("printf '%s\\n' 'a b' c > /etc/x"), Some(Cmd::Write { text, .. }) if text == "a b\nc\n")
        );
        assert!(cmd("printf '%d\\n' 1 > /etc/x").is_none());
        assert!(cmd("printf 'no newline' > /etc/x").is_none());
        assert!(matches!(cmd("echo Installing things"), Some(Cmd::Echo)));
        assert!(cmd("echo $(rm -rf /)").is_none());
        assert!(matches!(
            cmd("echo \"Building with Python $PYTHON_VERSION\""),
            Some(Cmd::Echo)
        ));
        assert!(matches!(cmd("echo ${UNKNOWN}"), Some(Cmd::Echo)));
        for kept in [
            "echo ${A:=x}",
            "echo ${A:?unset}",
            "echo `id`",
            "echo \"$(id)\"",
        ] {
            assert!(cmd(kept).is_none(), "{kept}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(apply_mode("+x", 0o644, false), Some(0o755));
        assert_eq!(apply_mode("a+rX", 0o700, true), Some(0o755));
        assert_eq!(apply_mode("a+rX", 0o600, false), Some(0o644));
        assert_eq!(apply_mode("g+rwX", 0o755, true), Some(0o775));
        assert_eq!(apply_mode("go-rwx", 0o755, true), Some(0o700));
        assert_eq!(apply_mode("u=rw,go=r", 0o777, false), Some(0o644));
        assert_eq!(apply_mode("640", 0o777, false), Some(0o640));
        assert_eq!(apply_mode("+w", 0o644, false), None);
        assert_eq!(apply_mode("g+s", 0o755, true), Some(0o2755));
        assert!(is_mode("+x") && is_mode("0755") && is_mode("g=u") && !is_mode("/opt"));
        assert_eq!(apply_mode("g=u", 0o755, true), None);
    }

    #[test]
    fn literal_words_only() {
        assert_eq!(literal("'a $b'").as_deref(), Some("a $b"));
        assert_eq!(literal("\"a b\"").as_deref(), Some("a b"));
        assert_eq!(literal("\"$a\""), None);
        assert_eq!(literal("a*"), None);
        assert_eq!(literal("~x"), None);
        assert!(jupyter_config("/etc/jupyter/jupyter_server_config.py"));
        assert!(jupyter_config(
            "${CONDA_DIR}/share/jupyter/lab/settings/overrides.json"
        ));
        assert!(!jupyter_config("/etc/motd"));
    }
}
