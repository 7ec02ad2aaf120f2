//! Paths of the images repository that reach the build context, whoever names them (`file`,
//! `hook file=`, package files, a stage's `file`, a `COPY` or `ADD` in a `dockerfile` block):
//! the path rules, glob patterns as BuildKit's `COPY` matches them, and what to suggest when a
//! path does not exist.
//!
//! Glob patterns (only where the caller allows them: `file` and block sources) follow Go's
//! `filepath.Match`, which BuildKit applies to each path component of a `COPY` source: `*`
//! (any characters but `/`, a leading `.` included), `?` (one character) and classes `[a-z0-9]`,
//! `[^…]`. jcx accepts only what reads the same in the build, in the allowlist (Docker's
//! `.dockerignore` patterns) and as a literal file name nowhere: `**` (an ordinary `*` to
//! COPY, "any depth" to `.dockerignore`), `{a,b}`, `\` escapes and classes holding anything but
//! letters, digits, `.`, `_` and ranges are refused.

use std::path::Path;

use super::check::Checker;
use super::raw::Sp;
use crate::error::{Code, Problem};

/// Who names the path, for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// A manifest node (`file`, `hook file=`, `pip requirements=`, …).
    Node,
    /// A `COPY` or `ADD` source in a `dockerfile` block (already checked for injection).
    Block,
}

/// What a path that passed the rules names on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    /// The path itself, or every match of a glob (sorted), relative to the repository.
    pub matches: Vec<String>,
    /// One of them is a directory (COPY copies its contents).
    pub directory: bool,
}

/// Whether `p` is a glob pattern (it holds `*`, `?` or `[`).
pub fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// Checks `src` against the path rules (glob patterns only when `globs`) and that it exists
/// under the repository: every refusal is reported at `src`. `None` when it was refused or
/// there is no repository to look in.
pub fn check(
    cx: &mut Checker<'_>,
    src: &Sp<String>,
    globs: bool,
    naming: Naming,
) -> Option<OnDisk> {
    if naming == Naming::Node && !cx.safe(src, "the file path", false) {
        return None;
    }
    let p = src.v.as_str();
    let trimmed = p.strip_suffix('/').unwrap_or(p);
    if matches!(trimmed, "." | "./") {
        refuse_root(cx, src);
        return None;
    }
    let refused_chars: &str = if globs { "\"$`'{}" } else { "\"$*?[]{}`'" };
    let bad = p.is_empty()
        || p.starts_with('/')
        || p.contains('\\')
        || trimmed
            .split('/')
            .any(|c| c == ".." || c == ".git" || c == "." || c.is_empty())
        || p.chars()
            .any(|c| refused_chars.contains(c) || c.is_control() || c.is_whitespace());
    if bad {
        cx.push(
            Problem::error(
                Code::InvalidFile,
                src.span,
                format!("`{}` is not a path jcx can copy", p.escape_debug()),
            )
            .label("file path")
            .help(rules_help(globs, naming)),
        );
        return None;
    }
    if globs && is_glob(p) {
        if let Err(why) = trimmed.split('/').try_for_each(|c| pattern(c).map(drop)) {
            cx.push(
                Problem::error(
                    Code::InvalidFile,
                    src.span,
                    format!("`{p}` is not a glob pattern jcx accepts: {why}"),
                )
                .label("glob pattern")
                .help(GLOB_HELP),
            );
            return None;
        }
        return check_glob(cx, src, trimmed, naming);
    }
    let root = cx.root?;
    match std::fs::symlink_metadata(root.join(trimmed)) {
        Ok(m) if m.file_type().is_symlink() => {
            cx.push(symlink(src, p));
            None
        }
        Ok(m) => Some(OnDisk {
            matches: vec![trimmed.to_string()],
            directory: m.is_dir(),
        }),
        Err(_) => {
            let help = match suggest(root, trimmed) {
                Some(hint) => format!("{hint} {}", capitalized(missing_help(naming))),
                None => missing_help(naming).to_string(),
            };
            cx.push(
                Problem::error(Code::MissingFile, src.span, format!("`{p}` does not exist"))
                    .label("no such file or directory")
                    .help(help),
            );
            None
        }
    }
}

fn check_glob(
    cx: &mut Checker<'_>,
    src: &Sp<String>,
    pattern: &str,
    naming: Naming,
) -> Option<OnDisk> {
    let root = cx.root?;
    let matches = expand(root, pattern);
    if matches.is_empty() {
        let hint =
            suggest_glob(root, pattern).map_or(String::new(), |p| format!("did you mean `{p}`? "));
        cx.push(
            Problem::error(
                Code::MissingFile,
                src.span,
                format!("`{pattern}` matches no file"),
            )
            .label("no match")
            .help(format!(
                "{hint}A glob must match at least one file or directory when the manifest is compiled or checked (`*` does not cross `/`). {}",
                capitalized(missing_help(naming))
            )),
        );
        return None;
    }
    let mut directory = false;
    for m in &matches {
        let meta = std::fs::symlink_metadata(root.join(m)).ok()?;
        if m.split('/').any(|c| c == ".git") {
            cx.push(
                Problem::error(
                    Code::InvalidFile,
                    src.span,
                    format!("`{pattern}` matches `{m}`"),
                )
                .label("glob pattern")
                .help("`.git` never reaches the build context: narrow the pattern"),
            );
            return None;
        }
        if meta.file_type().is_symlink() {
            cx.push(symlink(src, m));
            return None;
        }
        directory |= meta.is_dir();
    }
    Some(OnDisk { matches, directory })
}

fn symlink(src: &Sp<String>, p: &str) -> Problem {
    Problem::error(
        Code::InvalidFile,
        src.span,
        format!("`{p}` is a symbolic link"),
    )
    .label("symbolic link")
    .help("the build copies the link, not its target: name the file itself")
}

fn rules_help(globs: bool, naming: Naming) -> String {
    let chars = if globs {
        "quotes, `$`, `\\` or `{}`"
    } else {
        "quotes, `$` or glob characters"
    };
    match naming {
        Naming::Node => format!(
            "write a path relative to the images repository (where the generated `src/` lies), without `..`, `.git`, `./`, `//`, {chars}, such as `jupyter/overrides.json`"
        ),
        Naming::Block => format!(
            "a `COPY` source is a path of the build context, the repository root: write it relative to the root, without `..`, `.git`, {chars}, such as `COPY jupyter/overrides.json /etc/jupyter/` (or copy it with `file`)"
        ),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn missing_help(naming: Naming) -> &'static str {
    match naming {
        Naming::Node => {
            "paths are relative to the images repository, the directory jcx compiles into (where `src/` is generated): create the file there, or fix the path"
        }
        Naming::Block => {
            "a `COPY` (or a `RUN --mount` bind) in a `dockerfile` block reads from the build context, the repository root (where `src/` is generated), not from `src/<app>/`: create the file there, or fix the path"
        }
    }
}

const GLOB_HELP: &str = "COPY matches each path component with Go's `filepath.Match`: `*` (any characters but `/`), `?` (one character) and classes such as `[a-z0-9_]` or `[^.]`; `**` is not \"any depth\" there. To copy a whole directory, name the directory (`notebooks/`)";

/// `COPY .`: the whole repository, every app's files, the manifest and the workflows.
fn refuse_root(cx: &mut Checker<'_>, src: &Sp<String>) {
    let mut names: Vec<String> = cx
        .root
        .and_then(|r| std::fs::read_dir(r).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let generated = matches!(name.as_str(), ".git" | ".github" | "src" | "apps.kdl");
            (!generated && !name.starts_with('.')).then(|| {
                if e.path().is_dir() {
                    format!("`{name}/`")
                } else {
                    format!("`{name}`")
                }
            })
        })
        .collect();
    names.sort();
    let holds = match names.len() {
        0 => String::new(),
        n if n > 8 => format!(" (it holds {}, …)", names[..8].join(", ")),
        _ => format!(" (it holds {})", names.join(", ")),
    };
    cx.push(
        Problem::error(Code::InvalidFile, src.span, format!("`{}` is the whole repository", src.v.escape_debug()))
            .label("the build context")
            .help(format!("the build context is the repository root: copying it would put every app's files, the manifest and the generated files into the image, and rebuild it on any change. Name the directory or files the image needs, such as `notebooks/`{holds}")),
    );
}

/// One element of a path component pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`
    Star,
    /// `?`
    One,
    /// `[…]`, `[^…]`
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Reads one path component as a pattern, with the subset of `filepath.Match` jcx accepts.
fn pattern(component: &str) -> Result<Vec<Tok>, String> {
    if component.contains("**") {
        return Err("COPY reads `**` as `*`, not as any depth".into());
    }
    let mut toks = Vec::new();
    let mut chars = component.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::One),
            ']' => return Err("a `]` without `[`".into()),
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    let lo = match chars.next() {
                        None => return Err("a `[` without `]`".into()),
                        Some(']') if !ranges.is_empty() => break,
                        Some(c) if c.is_ascii_alphanumeric() || c == '.' || c == '_' => c,
                        Some(c) => return Err(format!("`{c}` in a `[…]` class")),
                    };
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        match chars.next() {
                            Some(h) if h.is_ascii_alphanumeric() && h >= lo => h,
                            _ => return Err(format!("a range `{lo}-…` that is not one")),
                        }
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class { negated, ranges });
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

/// Whether a file name matches a component pattern.
fn matches(toks: &[Tok], name: &[char]) -> bool {
    match toks.split_first() {
        None => name.is_empty(),
        Some((Tok::Star, rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some((t, rest)) => {
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            let one = match t {
                Tok::Lit(l) => *l == c,
                Tok::One => true,
                Tok::Class { negated, ranges } => {
                    ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
                }
                Tok::Star => unreachable!(),
            };
            one && matches(rest, tail)
        }
    }
}

/// Every path of the repository a pattern matches, sorted; directories are not entered through
/// symbolic links (BuildKit walks the context without following them).
pub fn expand(root: &Path, pattern_path: &str) -> Vec<String> {
    let components: Vec<&str> = pattern_path.trim_end_matches('/').split('/').collect();
    let mut found: Vec<String> = vec![String::new()];
    for (i, component) in components.iter().enumerate() {
        let toks = pattern(component).ok().filter(|_| is_glob(component));
        let mut next = Vec::new();
        for prefix in &found {
            let join = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                }
            };
            match &toks {
                Some(toks) => {
                    let Ok(entries) = std::fs::read_dir(root.join(prefix)) else {
                        continue;
                    };
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| matches(toks, &n.chars().collect::<Vec<_>>()))
                        .collect();
                    names.sort();
                    next.extend(names.iter().map(|n| join(n)));
                }
                None => {
                    let p = join(component);
                    if std::fs::symlink_metadata(root.join(&p)).is_ok() {
                        next.push(p);
                    }
                }
            }
        }
        // Only real directories lead further.
        if i + 1 < components.len() {
            next.retain(|p| std::fs::symlink_metadata(root.join(p)).is_ok_and(|m| m.is_dir()));
        }
        found = next;
    }
    found
}

/// What a suggestion looks through: the repository's entries from `min` to `max` levels deep
/// (the first 20,000, without `.git` and `node_modules`), as `/`-separated paths relative to
/// `root`, each with whether it is a directory.
fn walk(root: &Path, min: usize, max: usize) -> impl Iterator<Item = (String, bool)> + '_ {
    walkdir::WalkDir::new(root)
        .min_depth(min)
        .max_depth(max)
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            n != ".git" && n != "node_modules"
        })
        .take(20_000)
        .filter_map(Result::ok)
        .filter_map(move |e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .ok()?
                .to_str()?
                .replace('\\', "/");
            Some((rel, e.file_type().is_dir()))
        })
}

/// The pattern under the first directory (the shallowest) where it matches something.
fn suggest_glob(root: &Path, pattern: &str) -> Option<String> {
    let mut dirs: Vec<String> = walk(root, 1, 6)
        .filter(|(_, is_dir)| *is_dir)
        .map(|(rel, _)| rel)
        .collect();
    dirs.sort_by_key(|d| (d.matches('/').count(), d.clone()));
    dirs.into_iter()
        .map(|d| format!("{d}/{pattern}"))
        .find(|p| !expand(root, p).is_empty())
}

/// A path close to one that does not exist: the same path under a subdirectory (written
/// relative to `src/<app>/` or another build context), else a near name in the same directory.
pub fn suggest(root: &Path, missing: &str) -> Option<String> {
    let suffix = format!("/{missing}");
    let mut under: Vec<String> = walk(root, 0, 8)
        .map(|(rel, _)| rel)
        .filter(|rel| rel.ends_with(&suffix))
        .collect();
    under.sort_by_key(|p| (p.len(), p.clone()));
    if let Some(first) = under.first() {
        return Some(format!("did you mean `{first}`?"));
    }
    let (parent, name) = match missing.rsplit_once('/') {
        Some((parent, name)) => (Some(parent), name),
        None => (None, missing),
    };
    let dir = parent.map_or(root.to_path_buf(), |p| root.join(p));
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let near = refs
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .map(|n| n.to_string())
        .or_else(|| {
            refs.iter()
                .map(|c| (strsim::levenshtein(name, c), *c))
                .filter(|(d, _)| *d < 3 && *d < name.len())
                .min()
                .map(|(_, c)| c.to_string())
        })?;
    Some(match parent {
        Some(p) => format!("did you mean `{p}/{near}`?"),
        None => format!("did you mean `{near}`?"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, name: &str) -> bool {
        matches(&pattern(p).unwrap(), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn component_patterns_follow_filepath_match() {
        assert!(m("*.ipynb", "a.ipynb"));
        assert!(m("*.ipynb", ".hidden.ipynb"));
        assert!(m("*", ""));
        assert!(!m("*.ipynb", "a.ipynb.bak"));
        assert!(m("data-?.csv", "data-1.csv"));
        assert!(!m("data-?.csv", "data-10.csv"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("a*b*c", "abxbc"));
        assert!(pattern("**").is_err());
        assert!(pattern("[").is_err());
        assert!(pattern("[]").is_err());
        assert!(pattern("[!a]").is_err());
        assert!(pattern("[a-]").is_err());
        assert!(pattern("[z-a]").is_err());
        assert!(pattern("a]").is_err());
    }

    #[test]
    fn expansion_walks_component_by_component() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        for f in [
            "nb/a.ipynb",
            "nb/b.ipynb",
            "nb/c.txt",
            "nb/sub/d.ipynb",
            "x/nb/e.ipynb",
        ] {
            std::fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
            std::fs::write(r.join(f), "").unwrap();
        }
        assert_eq!(expand(r, "nb/*.ipynb"), ["nb/a.ipynb", "nb/b.ipynb"]);
        assert_eq!(expand(r, "*/*.ipynb"), ["nb/a.ipynb", "nb/b.ipynb"]);
        assert_eq!(expand(r, "nb/*/d.ipynb"), ["nb/sub/d.ipynb"]);
        assert_eq!(expand(r, "nb/s*"), ["nb/sub"]);
        assert!(expand(r, "nb/*.py").is_empty());
        assert_eq!(
            suggest(r, "nb/e.ipynb").as_deref(),
            Some("did you mean `x/nb/e.ipynb`?")
        );
        assert_eq!(
            suggest(r, "nb/a.ipnb").as_deref(),
            Some("did you mean `nb/a.ipynb`?")
        );
        assert_eq!(suggest(r, "zz/q"), None);
    }
}
