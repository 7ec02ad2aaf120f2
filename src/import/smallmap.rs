//! `jcx import` for the small settings: `conda config --set/--add/--prepend` -> `conda-config`,
//! `pip uninstall -y` -> `pip-remove`, `CMD`/`ENTRYPOINT`/`EXPOSE` -> `cmd`/`entrypoint`/`expose`,
//! the zone link (with `/etc/timezone` and `ENV TZ`) -> `timezone`, `/etc/locale.gen` lines with
//! `locale-gen` (with `ENV LANG`/`LC_ALL`/`LANGUAGE`) -> `locale`. Only what maps exactly; each
//! item keeps the original lines as its fallback block. Pieces that only mean something together
//! (a line of `locale.gen` and `locale-gen`) are markers until [`settle`] (`smallmap/settle.rs`)
//! joins them at the end of the walk, or puts them back as blocks.

use super::dockerfile::Instr;
use super::draft::{Entry, Item, Kind, Origin};
use super::map::{AT, User, Walker};
use super::shell::{self, Tok, Unit, Vars};
use crate::edit::kdl_value;
use crate::nodes::conda_config::{ValueKind, value_kind};

/// A conda value as the manifest writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondaWord {
    Flag(bool),
    /// A number, as written.
    Number(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Small {
    /// A key and its values; a list key's values of several commands are joined by [`settle`].
    CondaConfig {
        key: String,
        values: Vec<CondaWord>,
    },
    PipRemove(String),
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Expose(String),
    Timezone(String),
    Locale(Vec<String>),
    /// Markers, joined or put back by [`settle`]: `echo ZONE > /etc/timezone`,
    /// `dpkg-reconfigure tzdata`, a locale added to `/etc/locale.gen`, `locale-gen [LOCALE…]`.
    TimezoneFile(String),
    TzReconfigure,
    LocaleLine(String),
    LocaleGen(Vec<String>),
}

impl Small {
    pub fn setting(&self) -> &'static str {
        match self {
            Small::CondaConfig { .. } => "conda-config",
            Small::PipRemove(_) => "pip-remove",
            Small::Cmd(_) => "cmd",
            Small::Entrypoint(_) => "entrypoint",
            Small::Expose(_) => "expose",
            Small::Timezone(_) | Small::TimezoneFile(_) | Small::TzReconfigure => "timezone",
            Small::Locale(_) | Small::LocaleLine(_) | Small::LocaleGen(_) => "locale",
        }
    }

    /// What an inheriting app replaces it by, for settings inherited by name.
    pub fn name(&self) -> Option<String> {
        match self {
            Small::CondaConfig { key, .. } => Some(key.clone()),
            _ => None,
        }
    }

    /// The values of a list node (`pip-remove a b`, `expose 8888`), as KDL.
    pub fn list_kdl(&self) -> Vec<String> {
        match self {
            Small::PipRemove(p) => vec![kdl_value(p)],
            Small::Expose(p) if p.bytes().all(|b| b.is_ascii_digit()) => vec![p.clone()],
            Small::Expose(p) => vec![kdl_value(p)],
            _ => Vec::new(),
        }
    }

    /// A child of `conda-config { … }`.
    pub fn child_text(&self) -> String {
        match self {
            Small::CondaConfig { key, values } => {
                let words: Vec<String> = values
                    .iter()
                    .map(|v| match v {
                        CondaWord::Flag(b) => if *b { "#true" } else { "#false" }.to_string(),
                        CondaWord::Number(n) => n.clone(),
                        CondaWord::Text(t) => kdl_value(t),
                    })
                    .collect();
                format!("{key} {}", words.join(" "))
            }
            _ => String::new(),
        }
    }

    pub fn node_text(&self) -> String {
        let words = |v: &[String]| v.iter().map(|w| kdl_value(w)).collect::<Vec<_>>().join(" ");
        match self {
            Small::CondaConfig { .. } => format!("conda-config {{ {}; }}", self.child_text()),
            Small::PipRemove(_) | Small::Expose(_) => {
                format!("{} {}", self.setting(), self.list_kdl().join(" "))
            }
            Small::Cmd(v) | Small::Entrypoint(v) | Small::Locale(v) => {
                format!("{} {}", self.setting(), words(v))
            }
            Small::Timezone(z) => format!("timezone {}", kdl_value(z)),
            // Markers never reach the manifest (`settle` replaces them).
            Small::TimezoneFile(_)
            | Small::TzReconfigure
            | Small::LocaleLine(_)
            | Small::LocaleGen(_) => format!("// {self:?}"),
        }
    }
}

/// One item with the original command lines as its fallback block.
fn item(w: &Walker<'_>, small: Small, origin: &Origin, lines: Vec<String>) -> Item {
    let mut it = Item::new(Entry::Small(small), Some(origin.clone()));
    it.fallback = vec![Entry::Dockerfile {
        root: w.user != User::Notebook,
        at: AT[w.at],
        lines,
    }];
    it
}

/// Whether [`unit`] reads this command (time zone and locale files and commands): the
/// file-system mapping leaves it alone, since `timezone` and `locale` say more than a file.
pub fn claims(u: &Unit, vars: &Vars) -> bool {
    if redirect(u, vars).is_some() {
        return true;
    }
    let Some(words) = u.words(vars) else {
        return false;
    };
    let words = super::commands::command_words(&words);
    let Some(first) = words.first() else {
        return false;
    };
    let zone = |w: &String| w.starts_with("/usr/share/zoneinfo/") || w == "/etc/localtime";
    match first.as_str() {
        "locale-gen" | "dpkg-reconfigure" => true,
        "ln" | "cp" => words[1..].iter().any(zone),
        "sed" => {
            words.last().is_some_and(|w| w == "/etc/locale.gen")
                || super::aptmirror::read(words).is_some()
        }
        _ => false,
    }
}

/// A command of a `RUN` chain: `None` when it is not one of these; `Err(why)` when it is, but
/// does not map exactly; otherwise the items and the position jcx's step takes (as `AT`).
pub fn unit(
    w: &mut Walker<'_>,
    i: &Instr,
    u: &Unit,
    vars: &Vars,
    origin: &Origin,
) -> Option<Result<(Vec<Item>, usize), String>> {
    let text = u.text(&i.args);
    let lines = vec![format!("RUN {text}")];
    if let Some(r) = redirect(u, vars) {
        return Some(r.map(|s| (vec![item(w, s, origin, lines)], 1)));
    }
    let words = u.words(vars)?;
    let words = super::commands::command_words(&words);
    let first = words.first()?.as_str();
    let (found, stage) = match first {
        "conda" if words.get(1).is_some_and(|w| w == "config") => {
            (conda_config(w, &words[2..], origin), 2)
        }
        "pip" | "pip3" => (pip_uninstall(&words[1..])?, 3),
        "python" | "python3" if words.get(1..3) == Some(&["-m".into(), "pip".into()]) => {
            (pip_uninstall(&words[3..])?, 3)
        }
        "ln" | "cp" => (zone_link(&words[1..])?, 1),
        "dpkg-reconfigure" => (reconfigure_tzdata(&words[1..])?, 1),
        "locale-gen" => (locale_gen(&words[1..]), 1),
        "sed" => match super::aptmirror::read(words) {
            Some(found) => return Some(found.map(|f| (apt_mirror(w, f, origin), 1))),
            None => (uncomment_locales(&words[1..])?, 1),
        },
        _ => return None,
    };
    Some(found.map(|smalls| {
        let items = smalls
            .into_iter()
            .map(|s| item(w, s, origin, lines.clone()))
            .collect();
        (items, stage)
    }))
}

/// The sources edited to a mirror: the manifest's `mirrors { apt }` (nothing in the app; the
/// walk's end says what changes, `apt_mirror_note`).
fn apt_mirror(w: &mut Walker<'_>, f: super::aptmirror::Found, origin: &Origin) -> Vec<Item> {
    match &w.apt_mirror {
        Some((url, _)) if *url != f.url => w.warn(
            Kind::Changed,
            origin.clone(),
            format!(
                "the apt mirror `{}` is dropped: this app's sources were already edited to `{url}`",
                f.url
            ),
        ),
        Some(_) => w.apt_security |= f.security,
        None => {
            w.apt_security = f.security;
            w.apt_mirror = Some((f.url, origin.clone()));
        }
    }
    Vec::new()
}

/// What the apt mirror of an app's Dockerfile becomes, once its edits are all read.
pub fn apt_mirror_note(w: &mut Walker<'_>) {
    let Some((url, origin)) = w.apt_mirror.clone() else {
        return;
    };
    let mut how = format!(
        "the apt mirror `{url}` becomes the manifest's `mirrors {{ apt }}`: it is used by the builds of jcx's workflows (the `APT_MIRROR` build argument), for the apps with `apt` packages; a build without that argument uses the base image's sources"
    );
    if !w.apt_security {
        how.push_str("; it also replaces `security.ubuntu.com`, which the Dockerfile left alone");
    }
    w.warn(Kind::Changed, origin, how);
}

/// `echo ZONE > /etc/timezone`, `echo "de_DE.UTF-8 UTF-8" >> /etc/locale.gen`.
fn redirect(u: &Unit, vars: &Vars) -> Option<Result<Small, String>> {
    let toks = &u.tokens;
    let n = toks.len();
    if n < 4 {
        return None;
    }
    let word = |k: usize| match &toks[k].tok {
        Tok::Word(w) => shell::unquote(w, vars),
        Tok::Op(_) => None,
    };
    let op = match &toks[n - 2].tok {
        Tok::Op(o) if o == ">" || o == ">>" => o.clone(),
        _ => return None,
    };
    let file = word(n - 1)?;
    if word(0)? != "echo" || !matches!(file.as_str(), "/etc/timezone" | "/etc/locale.gen") {
        return None;
    }
    let said: Option<Vec<String>> = (1..n - 2).map(word).collect();
    let said = said?.join(" ");
    Some(if file == "/etc/timezone" {
        if op == ">" && crate::nodes::locale::timezone_ok(&said) {
            Ok(Small::TimezoneFile(said))
        } else {
            Err(format!(
                "`{said}` in /etc/timezone is not a zone jcx's `timezone` takes"
            ))
        }
    } else {
        match said.split_once(' ') {
            Some((name, "UTF-8")) if crate::nodes::locale::locale_ok(name) => {
                Ok(Small::LocaleLine(name.to_string()))
            }
            _ => Err(format!(
                "`{said}` in /etc/locale.gen is not a UTF-8 locale jcx's `locale` generates"
            )),
        }
    })
}

/// The arguments of `conda config` after the subcommand.
fn conda_config(
    w: &mut Walker<'_>,
    args: &[String],
    origin: &Origin,
) -> Result<Vec<Small>, String> {
    let mut out = Vec::new();
    let mut system = false;
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        match a {
            "--system" => system = true,
            "-q" | "--quiet" | "--json" => {}
            "--show" | "--get" | "--describe" | "--validate" | "--show-sources" => {
                // Queries: they print into the build log and change nothing.
                return Ok(Vec::new());
            }
            "--set" | "--add" | "--prepend" => {
                let (key, value) = match (args.get(k + 1), args.get(k + 2)) {
                    (Some(key), Some(value)) => (key, value),
                    _ => return Err(format!("`conda config {a}` without a key and a value")),
                };
                out.push(conda_value(a, key, value)?);
                k += 2;
            }
            _ => {
                return Err(format!(
                    "`conda config {a}` has no exact `conda-config` form (it writes another file, appends to a list or removes)"
                ));
            }
        }
        k += 1;
    }
    // Once per Dockerfile: every such command moves the same way.
    let moved = "`conda config` wrote the user's ~/.condarc; `conda-config` writes ${CONDA_DIR}/.condarc (`--system`), which a home volume cannot hide";
    if !system && !out.is_empty() && !w.warnings.iter().any(|x| x.message == moved) {
        w.warn(Kind::Changed, origin.clone(), moved);
    }
    Ok(out)
}

fn conda_value(op: &str, key: &str, value: &str) -> Result<Small, String> {
    let kind =
        value_kind(key).ok_or_else(|| format!("`{key}` is not a conda setting jcx knows"))?;
    let bad = || {
        Err(format!(
            "`conda config {op} {key} {value}`: not a value `conda-config` takes"
        ))
    };
    let flag = |v: &str| match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => None,
    };
    if value.contains('$') {
        return bad();
    }
    let word = match (kind, op) {
        (ValueKind::List, "--add" | "--prepend") => CondaWord::Text(value.to_string()),
        (ValueKind::List, _) | (_, "--add" | "--prepend") => return bad(),
        (ValueKind::Flag, _) => match flag(value) {
            Some(b) => CondaWord::Flag(b),
            None => return bad(),
        },
        (ValueKind::Whole, _) if value.parse::<u32>().is_ok() => {
            CondaWord::Number(value.parse::<u32>().unwrap_or_default().to_string())
        }
        (ValueKind::Seconds, _)
            if value
                .parse::<f64>()
                .is_ok_and(|f| f.is_finite() && f >= 0.0) =>
        {
            CondaWord::Number(value.to_string())
        }
        (ValueKind::Whole | ValueKind::Seconds, _) => return bad(),
        (ValueKind::FlagOrText, _) => match flag(value) {
            Some(b) => CondaWord::Flag(b),
            None => CondaWord::Text(value.to_string()),
        },
        (ValueKind::Text, _) => CondaWord::Text(value.to_string()),
    };
    Ok(Small::CondaConfig {
        key: key.to_string(),
        values: vec![word],
    })
}

/// `pip uninstall -y NAME…` (after `pip`): `None` for another pip command.
fn pip_uninstall(args: &[String]) -> Option<Result<Vec<Small>, String>> {
    if args.first()? != "uninstall" {
        return None;
    }
    let mut yes = false;
    let mut names = Vec::new();
    for a in &args[1..] {
        match a.as_str() {
            "-y" | "--yes" => yes = true,
            "-q"
            | "--quiet"
            | "-v"
            | "--verbose"
            | "--no-cache-dir"
            | "--no-input"
            | "--disable-pip-version-check"
            | "--root-user-action=ignore" => {}
            n if crate::nodes::pip_remove::is_package_name(n) => names.push(n.to_string()),
            other => {
                return Some(Err(format!(
                    "`pip uninstall {other}`: `pip-remove` takes package names only"
                )));
            }
        }
    }
    Some(if !yes {
        Err("`pip uninstall` without `--yes` asks before it removes".into())
    } else if names.is_empty() {
        Err("`pip uninstall` names no package".into())
    } else {
        Ok(names.into_iter().map(Small::PipRemove).collect())
    })
}

/// `ln -snf /usr/share/zoneinfo/ZONE /etc/localtime` (or `cp`).
fn zone_link(args: &[String]) -> Option<Result<Vec<Small>, String>> {
    let (opts, paths): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| a.starts_with('-'));
    let [src, dest] = paths.as_slice() else {
        return None;
    };
    if dest.as_str() != "/etc/localtime" {
        return None;
    }
    let zone = src.strip_prefix("/usr/share/zoneinfo/")?;
    let opts_ok = opts.iter().all(|o| {
        matches!(
            o.as_str(),
            "--symbolic" | "--force" | "--no-dereference" | "--remove-destination"
        ) || (o.len() > 1 && !o.starts_with("--") && o[1..].bytes().all(|b| b"sfnT".contains(&b)))
    });
    Some(if opts_ok && crate::nodes::locale::timezone_ok(zone) {
        Ok(vec![Small::Timezone(zone.to_string())])
    } else {
        Err(format!("`{src}` is not a zone jcx's `timezone` takes"))
    })
}

/// `dpkg-reconfigure -f noninteractive tzdata`: sets the zone /etc/timezone names.
fn reconfigure_tzdata(args: &[String]) -> Option<Result<Vec<Small>, String>> {
    let ok = match args {
        [p] => p == "tzdata",
        [f, v, p] => f == "-f" && v == "noninteractive" && p == "tzdata",
        [f, p] => (f == "--frontend=noninteractive" || f == "-fnoninteractive") && p == "tzdata",
        _ => false,
    };
    ok.then(|| Ok(vec![Small::TzReconfigure]))
}

/// `locale-gen [LOCALE…]` (Ubuntu's takes locales; without, it generates `/etc/locale.gen`).
fn locale_gen(args: &[String]) -> Result<Vec<Small>, String> {
    let mut names = Vec::new();
    for a in args {
        let fixed = a.replace(".utf8", ".UTF-8").replace(".utf-8", ".UTF-8");
        if !crate::nodes::locale::locale_ok(&fixed) {
            return Err(format!("`locale-gen {a}` has no exact `locale` form"));
        }
        names.push(fixed);
    }
    Ok(vec![Small::LocaleGen(names)])
}

/// `sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen`: the locales it uncomments.
fn uncomment_locales(args: &[String]) -> Option<Result<Vec<Small>, String>> {
    let (file, rest) = args.split_last()?;
    if file != "/etc/locale.gen" {
        return None;
    }
    let mut in_place = false;
    let mut exprs: Vec<&str> = Vec::new();
    for a in rest {
        match a.as_str() {
            "-i" | "--in-place" => in_place = true,
            "-e" | "-E" | "-r" | "--regexp-extended" => {}
            e if !e.starts_with('-') => exprs.push(e),
            _ => return Some(Err(format!("`sed {a}` on /etc/locale.gen"))),
        }
    }
    let mut names = Vec::new();
    for e in &exprs {
        match uncommented(e) {
            Some(found) if in_place && !found.is_empty() => names.extend(found),
            _ => {
                return Some(Err(format!(
                    "`sed {e}` on /etc/locale.gen is not the uncommenting of UTF-8 locales"
                )));
            }
        }
    }
    (!names.is_empty()).then(|| Ok(names.into_iter().map(Small::LocaleLine).collect()))
}

/// The UTF-8 locales a sed expression uncomments: `[/ADDR/]s<d>PATTERN<d>REPLACEMENT<d>[g]`
/// whose pattern holds `#` and a locale name, and whose replacement holds no `#`.
fn uncommented(e: &str) -> Option<Vec<String>> {
    let s_at = match e.strip_prefix('/') {
        Some(rest) => rest.find('/')? + 2,
        None => 0,
    };
    let (addr, cmd) = e.split_at(s_at);
    if !cmd.starts_with('s') {
        return None;
    }
    let d = cmd[1..].chars().next()?;
    if d.is_alphanumeric() || d == '\\' {
        return None;
    }
    let parts: Vec<&str> = cmd[1 + d.len_utf8()..].split(d).collect();
    let [pattern, replacement, flags] = parts.as_slice() else {
        return None;
    };
    if !pattern.contains('#') || replacement.contains('#') || !flags.chars().all(|c| c == 'g') {
        return None;
    }
    let text = format!("{addr} {pattern}").replace('\\', "");
    let names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "_.-@".contains(c)))
        .filter(|w| crate::nodes::locale::locale_ok(w) && *w != "C.UTF-8")
        .map(str::to_string)
        .collect();
    Some(names)
}

/// `CMD`, `ENTRYPOINT` and `EXPOSE`: whether the instruction was mapped.
pub fn instruction(w: &mut Walker<'_>, i: &Instr) -> bool {
    if !i.flags.is_empty() || !i.heredocs.is_empty() {
        return false;
    }
    let json = || serde_json::from_str::<Vec<String>>(i.args.trim()).ok();
    let smalls: Vec<Small> = match i.keyword.as_str() {
        "CMD" => match json().or_else(|| plain_words(&i.args)) {
            Some(v) if !v.is_empty() => vec![Small::Cmd(v)],
            _ => {
                w.escape(i, "a shell-form `CMD` that is more than plain words (variables, quotes, operators) has no exact `cmd` form");
                return true;
            }
        },
        // A shell-form ENTRYPOINT ignores CMD: only the JSON form maps.
        "ENTRYPOINT" => match json() {
            Some(v) if !v.is_empty() => vec![Small::Entrypoint(v)],
            _ => {
                w.escape(i, "a shell-form `ENTRYPOINT` runs without the CMD's arguments; `entrypoint` writes the JSON form, which passes them");
                return true;
            }
        },
        "EXPOSE" => {
            let ports: Option<Vec<String>> = shell::split(&i.args)
                .iter()
                .flat_map(|u| u.tokens.clone())
                .map(|t| match t.tok {
                    Tok::Word(word) => {
                        shell::unquote(&word, &w.vars).filter(|p| crate::nodes::runtime::port_ok(p))
                    }
                    Tok::Op(_) => None,
                })
                .collect();
            match ports {
                Some(p) if !p.is_empty() => p.into_iter().map(Small::Expose).collect(),
                _ => {
                    w.escape(i, "an `EXPOSE` port jcx import cannot read (a variable it does not know, a range)");
                    return true;
                }
            }
        }
        _ => return false,
    };
    let origin = w.origin(i.first, i.last);
    let lines = w.raw_lines(i);
    let mut items = Vec::new();
    for s in smalls {
        let mut it = Item::new(Entry::Small(s), Some(origin.clone()));
        it.fallback = vec![Entry::Dockerfile {
            root: false,
            at: "end",
            lines: lines.clone(),
        }];
        items.push(it);
    }
    w.mapped(i, items);
    true
}

/// A shell-form `CMD` that is one plain word list: what its JSON form runs too.
fn plain_words(args: &str) -> Option<Vec<String>> {
    let words: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    words
        .iter()
        .all(|w| {
            w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_./:=,+@%-".contains(&b))
        })
        .then_some(words)
}

mod settle;
pub use settle::settle;

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn conda_values() {
        assert_eq!(
            conda_value("--set", "channel_priority", "strict"),
            Ok(Small::CondaConfig {
                key: "channel_priority".into(),
                values: vec![CondaWord::Text("strict".into())]
            })
        );
        assert_eq!(
            conda_value("--set", "auto_update_conda", "False"),
            Ok(Small::CondaConfig {
                key: "auto_update_conda".into(),
                values: vec![CondaWord::Flag(false)]
            })
        );
        assert!(conda_value("--set", "channels", "x").is_err());
        assert!(conda_value("--add", "channel_priority", "x").is_err());
        assert!(conda_value("--set", "remote_max_retries", "many").is_err());
        assert!(conda_value("--set", "no_such_key", "1").is_err());
    }

    #[test]
    fn sed_uncomments() {
        assert_eq!(
            uncommented(r"s/^# *\(en_GB.UTF-8 UTF-8\)/\1/"),
            Some(vec!["en_GB.UTF-8".to_string()])
        );
        assert_eq!(
            uncommented("/de_DE.UTF-8/s/^# //g"),
            Some(vec!["de_DE.UTF-8".to_string()])
        );
        assert_eq!(uncommented("s/^de_DE.UTF-8/# de_DE.UTF-8/"), None);
        assert_eq!(
            uncommented("/es_ES.UTF-8/s/^#//"),
            Some(vec!["es_ES.UTF-8".to_string()])
        );
    }

    #[test]
    fn commands() {
        assert_eq!(
            pip_uninstall(&words("uninstall -y a b")),
            Some(Ok(vec![
                Small::PipRemove("a".into()),
                Small::PipRemove("b".into())
            ]))
        );
        assert!(matches!(pip_uninstall(&words("uninstall a")), Some(Err(_))));
        assert!(matches!(
            pip_uninstall(&words("uninstall -y -r x.txt")),
            Some(Err(_))
        ));
        assert_eq!(pip_uninstall(&words("install a")), None);
        assert_eq!(
            zone_link(&words(
                "-snf /usr/share/zoneinfo/Europe/Berlin /etc/localtime"
            )),
            Some(Ok(vec![Small::Timezone("Europe/Berlin".into())]))
        );
        assert_eq!(zone_link(&words("-s /a /b")), None);
        assert_eq!(
            locale_gen(&words("de_DE.utf8")),
            Ok(vec![Small::LocaleGen(vec!["de_DE.UTF-8".into()])])
        );
        assert_eq!(plain_words("python"), Some(vec!["python".to_string()]));
        assert_eq!(plain_words("echo $HOME"), None);
    }
}
