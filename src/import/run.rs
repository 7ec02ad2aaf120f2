//! `RUN` instructions: the `&&`/`;` chain is split into commands; each is mapped (apt, conda,
//! pip, code-server, extensions), recognised as clean-up that jcx's steps already do, or kept.
//! The kept commands stay together, in their order, as `RUN` lines of `dockerfile` blocks;
//! `cd`, `set` and assignments go with them when anything is kept.

use std::collections::BTreeMap;

use super::commands::{self, Apt, Conda};
use super::dockerfile::Instr;
use super::draft::{Counts, Entry, Item, Kind, Origin};
use super::map::{Status, Walker};
use super::pipmap::{self, Sourced};
use super::requirements::{self, Line};
use super::shell::{self, Unit, Vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fam {
    Apt,
    Conda,
    Other,
}

#[derive(Debug)]
enum Res {
    Mapped(Vec<Item>, usize),
    Boiler(Fam),
    Neutral,
    /// A message to the build log (`echo`): kept only before a command that stays in a block,
    /// which it announces.
    Log,
    Escape(String),
}

/// A `RUN` instruction.
pub fn run(w: &mut Walker<'_>, i: &Instr) {
    if i.args.starts_with('[') {
        return w.escape(i, "a `RUN` in JSON form is kept as it is");
    }
    if !i.heredocs.is_empty() {
        if super::fsmap::heredoc_run(w, i) {
            return;
        }
        return w.escape(i, "a `RUN` with a heredoc script is kept as it is");
    }
    let mut mounts = BTreeMap::new();
    for f in &i.flags {
        match f.strip_prefix("--mount=") {
            Some(m) if m.contains("type=cache") || m.contains("type=tmpfs") => {}
            Some(m) if m.contains("type=bind") || !m.contains("type=") => {
                let kv: BTreeMap<&str, &str> =
                    m.split(',').filter_map(|p| p.split_once('=')).collect();
                let src = kv
                    .get("source")
                    .or_else(|| kv.get("src"))
                    .copied()
                    .unwrap_or(".");
                let Some(target) = kv
                    .get("target")
                    .or_else(|| kv.get("dst"))
                    .or_else(|| kv.get("destination"))
                else {
                    return w.escape(i, "a `RUN --mount` jcx import cannot read is kept as it is");
                };
                if kv.contains_key("from") {
                    return w.escape(
                        i,
                        "a `RUN --mount` from another stage or image is kept as it is",
                    );
                }
                mounts.insert(target.to_string(), super::files::context_path(w, src));
            }
            _ => return w.escape(i, &format!("`RUN {f}` is kept as it is")),
        }
    }
    let units = shell::split(&i.args);
    w.made_by_mkdir(&units);
    let mut vars = w.vars.clone();
    let mut fetched: Vec<String> = Vec::new();
    let mut kernel = super::kernelmap::run_units(w, i, &units, &mounts);
    let downloads = super::fetch::find(&units, &i.args, &vars);
    for d in &downloads {
        w.made_by_download(&d.entry);
    }
    let in_downloads: Vec<usize> = downloads.iter().flat_map(|d| d.units.clone()).collect();
    // Time zone and locale commands are `timezone`/`locale`'s, not file-system commands; a
    // kernel's commands are the kernel's.
    let not_fs: Vec<usize> = (0..units.len())
        .filter(|&n| {
            in_downloads.contains(&n)
                || kernel[n].is_some()
                || super::smallmap::claims(&units[n], &vars)
        })
        .collect();
    let mut fs = super::fsmap::plan(w, i, &units, &not_fs, &mounts);
    let results: Vec<Res> = units
        .iter()
        .enumerate()
        .map(|(n, u)| {
            match kernel[n].take() {
                Some(super::kernelmap::Claim::Node(items)) => return Res::Mapped(items, 2),
                Some(super::kernelmap::Claim::Part) => return Res::Mapped(Vec::new(), 2),
                None => {}
            }
            match downloads
                .iter()
                .find(|d| d.at == n)
                .or_else(|| downloads.iter().find(|d| d.units.contains(&n)))
            {
                Some(d) if d.at == n => download(w, i, &units, d),
                Some(_) => Res::Mapped(Vec::new(), 1),
                None => match fs[n].take() {
                    Some(super::fsmap::Fs::Items(items, later)) => {
                        Res::Mapped(items, if later { 3 } else { 0 })
                    }
                    Some(super::fsmap::Fs::Folded) => Res::Mapped(Vec::new(), 0),
                    Some(super::fsmap::Fs::Nothing) => Res::Log,
                    Some(super::fsmap::Fs::Kept(why)) => Res::Escape(why),
                    None => classify(w, i, u, &mut vars, &mut fetched, &mounts),
                },
            }
        })
        .collect();
    decide(w, i, &units, results);
}

/// Whether a block before this instruction changes where apt installs from (a source list, a
/// key, `add-apt-repository`): an `apt-get install` after it may need that source.
fn apt_sources_in_block(w: &Walker<'_>) -> bool {
    const SOURCES: &[&str] = &[
        "/etc/apt/sources.list",
        "/etc/apt/keyrings",
        "/etc/apt/trusted.gpg",
        "/usr/share/keyrings",
        "apt-key",
        "add-apt-repository",
        "signed-by",
    ];
    w.steps.iter().any(|s| match s {
        super::map::Step::Piece(p) => p
            .lines
            .iter()
            .any(|l| SOURCES.iter().any(|m| l.contains(m))),
        _ => false,
    })
}

/// `jupyter lab|notebook|server --generate-config`: a config file of comments only (every
/// setting commented out at its default), so nothing changes, unless a later instruction edits
/// it (then it stays with that instruction).
fn generated_config(
    w: &mut Walker<'_>,
    i: &Instr,
    words: &[String],
    origin: &Origin,
) -> Option<Res> {
    let w_ = commands::command_words(words);
    let (app, rest) = match w_ {
        [j, app, rest @ ..] if j == "jupyter" => (app.as_str(), rest),
        _ => return None,
    };
    let generates = matches!(app, "lab" | "notebook" | "server")
        && rest.first().is_some_and(|a| a == "--generate-config")
        && rest[1..]
            .iter()
            .all(|a| a == "-y" || a == "--y" || a == "--yes");
    if !generates {
        return None;
    }
    let file = format!("jupyter_{app}_config.py");
    let later = w.df.lines.get(i.last..).unwrap_or_default().join("\n");
    if later.contains(&file) || later.contains(".jupyter") {
        return Some(Res::Escape(format!(
            "`jupyter {app} --generate-config` writes `~/.jupyter/{file}`, which a later instruction reads or edits"
        )));
    }
    w.warn(
        Kind::Changed,
        origin.clone(),
        format!("`jupyter {app} --generate-config` is dropped: the file it writes, `~/.jupyter/{file}`, holds only comments (every setting at its default); Jupyter settings are `jupyter {{ … }}`"),
    );
    Some(Res::Boiler(Fam::Other))
}

/// A checked download: its entry, with the original commands as its fallback.
fn download(w: &Walker<'_>, i: &Instr, units: &[Unit], d: &super::fetch::Found) -> Res {
    let first = &units[d.units[0]];
    let last = &units[*d.units.iter().max().unwrap_or(&d.units[0])];
    let o = w.origin(
        i.line_of(first.start()),
        i.line_of(last.end().saturating_sub(1)),
    );
    let texts: Vec<String> = d.units.iter().map(|&n| units[n].text(&i.args)).collect();
    let mut item = Item::new(d.entry.clone(), Some(o));
    item.fallback = vec![Entry::Dockerfile {
        root: w.user != super::map::User::Notebook,
        at: super::map::AT[w.at],
        lines: format!("RUN {}", texts.join(" && \\\n    "))
            .lines()
            .map(str::to_string)
            .collect(),
    }];
    let stage = if matches!(d.entry, Entry::Pip(_)) {
        3
    } else {
        1
    };
    Res::Mapped(vec![item], stage)
}

fn unit_origin(w: &Walker<'_>, i: &Instr, u: &Unit) -> Origin {
    w.origin(i.line_of(u.start()), i.line_of(u.end().saturating_sub(1)))
}

fn items(entries: Vec<Entry>, origin: &Origin) -> Vec<Item> {
    entries
        .into_iter()
        .map(|e| Item::new(e, Some(origin.clone())))
        .collect()
}

fn classify(
    w: &mut Walker<'_>,
    i: &Instr,
    u: &Unit,
    vars: &mut Vars,
    fetched: &mut Vec<String>,
    mounts: &BTreeMap<String, String>,
) -> Res {
    let origin = unit_origin(w, i, u);
    let text = u.text(&i.args);
    if let Some((_, body)) = shell::if_file_then(&u.tokens) {
        return branch(w, i, &body, vars, fetched, mounts);
    }
    if let Some(d) = super::conditions::decide(&u.tokens, vars) {
        let res = branch(w, i, &d.body, vars, fetched, mounts);
        if !matches!(res, Res::Escape(_)) {
            let ran = if d.body.is_empty() {
                "nothing runs"
            } else {
                "its branch is mapped"
            };
            w.warn(Kind::Changed, origin, format!("`if [ {} ]` is {} with the values jcx import read for its variables (build arguments' defaults, the workflow's `build-args`), so {ran}: a build argument no longer changes it", d.test, d.holds));
        }
        return res;
    }
    if let Some((var, list, body)) = shell::for_loop(&u.tokens) {
        return for_extensions(&var, &list, &body, vars, &origin).unwrap_or_else(|| {
            Res::Escape(format!("the loop `{}` is kept as it is", short(&text)))
        });
    }
    match commands::code_server_script(&text) {
        Some(Some(v)) => return Res::Mapped(items(vec![Entry::CodeServer(v)], &origin), 1),
        Some(None) => {
            return Res::Escape(
                "code-server's install script without `--version`: give `code-server` a version"
                    .into(),
            );
        }
        None => {}
    }
    match super::smallmap::unit(w, i, u, vars, &origin) {
        Some(Ok((items, stage))) => return Res::Mapped(items, stage),
        Some(Err(why)) => return Res::Escape(why),
        None => {}
    }
    if let Some(m) = super::jupytermap::classify(&u.tokens, vars, &origin) {
        w.warnings.extend(m.warnings);
        if m.entries.is_empty() {
            return Res::Boiler(Fam::Other);
        }
        return Res::Mapped(items(m.entries, &origin), 0);
    }
    let Some(words) = u.words(vars) else {
        return Res::Escape(format!(
            "`{}` is a shell construct jcx import does not map",
            short(&text)
        ));
    };
    match super::kernelinstall::map(w, &words, &origin) {
        Some(Ok(e)) => return Res::Mapped(items(vec![e], &origin), 3),
        Some(Err(why)) => return Res::Escape(why),
        None => {}
    }
    if words.iter().all(|w| commands::is_assignment(w)) || words[0] == "export" {
        for a in &words {
            if let Some((n, v)) = a.split_once('=') {
                vars.insert(n.to_string(), v.to_string());
            }
        }
        return Res::Neutral;
    }
    if matches!(words[0].as_str(), "set" | "cd" | "true" | ":" | "umask") {
        return Res::Neutral;
    }
    known(w, i, u, &words, &origin, fetched, mounts)
}

fn known(
    w: &mut Walker<'_>,
    i: &Instr,
    u: &Unit,
    words: &[String],
    origin: &Origin,
    fetched: &mut Vec<String>,
    mounts: &BTreeMap<String, String>,
) -> Res {
    // A variable jcx import does not know (`${CONDA_DIR}`) is fine in clean-up, not in what
    // is installed. The stacks' own variables are known in file-system commands (the reason
    // one stays in a block is then another).
    let unknown = words.iter().any(|w| w.contains('$'));
    if commands::fix_permissions(words) {
        return Res::Boiler(Fam::Other);
    }
    let fs_command = commands::command_words(words).first().is_some_and(|c| {
        matches!(
            c.as_str(),
            "chown" | "chmod" | "chgrp" | "mkdir" | "ln" | "cp" | "mv" | "touch"
        )
    });
    if unknown
        && words.first().is_none_or(|w| w != "rm")
        && !(fs_command && words.iter().all(|w| stacks_variables_only(w)))
    {
        return Res::Escape(format!(
            "`{}` uses a variable jcx import does not know",
            short(&words.join(" "))
        ));
    }
    if let Some(r) = nothing_to_do(w, words, origin) {
        return r;
    }
    if let Some(r) = generated_config(w, i, words, origin) {
        return r;
    }
    match commands::apt(words) {
        Some(Apt::Install { .. }) if apt_sources_in_block(w) => {
            return Res::Escape(format!(
                "`{}` may install from the apt sources a block before it adds; jcx's `apt` step runs before the blocks",
                short(&words.join(" "))
            ));
        }
        Some(Apt::Install {
            packages,
            recommends,
        }) => {
            let mut e: Vec<Entry> = packages.into_iter().map(Entry::Apt).collect();
            if recommends {
                e.push(Entry::AptRecommends(true));
            }
            return Res::Mapped(items(e, origin), 1);
        }
        Some(Apt::Update | Apt::Clean) => return Res::Boiler(Fam::Apt),
        None => {}
    }
    match commands::conda(words) {
        Some(Conda::Install { specs }) => {
            return Res::Mapped(
                items(specs.into_iter().map(Entry::Mamba).collect(), origin),
                2,
            );
        }
        Some(Conda::Clean) => return Res::Boiler(Fam::Conda),
        None => {}
    }
    match super::pipconda::conda_file(w, words, mounts) {
        Some(Ok(entries)) => return Res::Mapped(items(entries, origin), 2),
        Some(Err(why)) => return Res::Escape(why),
        None => {}
    }
    match super::pipconda::env_update(w, words, mounts) {
        Some(Ok(repo)) => {
            w.consumed.insert(repo.clone());
            return Res::Mapped(items(vec![Entry::MambaEnv(repo)], origin), 2);
        }
        Some(Err(why)) => return Res::Escape(why),
        None => {}
    }
    if let Some(ext) = commands::extensions(words) {
        return Res::Mapped(
            items(ext.into_iter().map(Entry::Extension).collect(), origin),
            2,
        );
    }
    if let Some((url, file)) = commands::fetch(words)
        && let Some(v) = commands::code_server_url(&url)
    {
        fetched.push(file);
        return Res::Mapped(items(vec![Entry::CodeServer(v)], origin), 1);
    }
    if let Some(deb) = commands::deb_install(words)
        && fetched.iter().any(|f| base_name(f) == base_name(&deb))
    {
        return Res::Boiler(Fam::Other);
    }
    let mut extra = fetched.clone();
    for k in w.copies.keys().chain(mounts.keys()) {
        extra.push(k.clone());
        if let Some((dir, _)) = k.rsplit_once('/') {
            extra.push(dir.to_string());
        }
    }
    if commands::cleanup_rm(words, &extra) {
        let apt = words
            .iter()
            .any(|w| w.starts_with("/var/lib/apt") || w.starts_with("/var/cache/apt"));
        return Res::Boiler(if apt { Fam::Apt } else { Fam::Other });
    }
    let uv = super::pipconda::uv_as_pip(words);
    match commands::pip(uv.as_deref().unwrap_or(words)) {
        Ok(Some(p)) => pip(w, i, u, p, origin, mounts),
        Ok(None) => Res::Escape(format!(
            "jcx has no setting for `{}`",
            short(&words.join(" "))
        )),
        Err(opt) => Res::Escape(format!(
            "`pip install {opt}`: jcx's `pip` has no such option"
        )),
    }
}

/// Whether every `$` of `word` is one of the stacks' own variables (`NB_UID`, `NB_GID`,
/// `NB_USER`, `HOME`, `CONDA_DIR`), as `$NAME` or `${NAME}`.
fn stacks_variables_only(word: &str) -> bool {
    const STACKS: &[&str] = &["NB_UID", "NB_GID", "NB_USER", "HOME", "CONDA_DIR"];
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => return false,
            },
            None => {
                let end = after.find(|c| !name_char(c)).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if !STACKS.contains(&name) {
            return false;
        }
        rest = &after[len..];
    }
    true
}

/// Commands that change nothing jcx's image needs: a message in the build log, the clean-up
/// of caches jcx's steps never leave, and `apt-get upgrade` (dropped, with a warning).
fn nothing_to_do(w: &mut Walker<'_>, words: &[String], origin: &Origin) -> Option<Res> {
    // A message in the build log (`echo Installing…`): nothing in the image.
    if matches!(words.first().map(String::as_str), Some("echo")) {
        return Some(Res::Boiler(Fam::Other));
    }
    // Caches jcx's steps never leave behind.
    if matches!(
        commands::command_words(words)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["uv", "cache", "clean" | "prune"]
            | ["pip" | "pip3", "cache", "purge"]
            | ["npm", "cache", "clean", "--force"]
            | ["yarn", "cache", "clean"]
    ) {
        return Some(Res::Boiler(Fam::Other));
    }
    if apt_upgrade(words) {
        w.warn(
            Kind::Changed,
            origin.clone(),
            format!("`{}` is dropped: jcx's image takes its system packages from the pinned base image (a newer base tag brings the updates), so that a rebuild gives the same image", short(&words.join(" "))),
        );
        return Some(Res::Boiler(Fam::Apt));
    }
    if conda_update_all(words) {
        w.warn(
            Kind::Changed,
            origin.clone(),
            format!("`{}` is dropped: jcx's image keeps the conda packages of the pinned base image, except those the manifest names (a newer base tag brings the updates), so that a rebuild gives the same image", short(&words.join(" "))),
        );
        return Some(Res::Boiler(Fam::Conda));
    }
    None
}

/// `conda update --all` (or `mamba`, with `-y`, `-n base`), and the package manager updating
/// itself (`conda update conda`, `mamba update -n base mamba`).
fn conda_update_all(words: &[String]) -> bool {
    let w = commands::command_words(words);
    let [tool, sub, rest @ ..] = w else {
        return false;
    };
    if !matches!(tool.as_str(), "conda" | "mamba") || sub != "update" {
        return false;
    }
    let mut args = Vec::new();
    let mut k = 0;
    while k < rest.len() {
        match rest[k].as_str() {
            "-y" | "--yes" | "-q" | "--quiet" => {}
            "-n" | "--name" if rest.get(k + 1).is_some_and(|n| n == "base") => k += 1,
            a => args.push(a),
        }
        k += 1;
    }
    matches!(args.as_slice(), ["--all"]) || args.len() == 1 && args[0] == tool.as_str()
}

/// `apt-get upgrade -y` (also `dist-upgrade`, `full-upgrade`, `apt upgrade`).
fn apt_upgrade(words: &[String]) -> bool {
    let w = commands::command_words(words);
    let args: Vec<&str> = w
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    matches!(w.first().map(String::as_str), Some("apt-get" | "apt"))
        && matches!(
            args.as_slice(),
            ["upgrade" | "dist-upgrade" | "full-upgrade"]
        )
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// A command as a warning quotes it: at most 60 characters.
pub(super) fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The commands of a branch that runs (`if … then BODY`): mapped together, or the whole
/// compound command kept when one of them is not.
fn branch(
    w: &mut Walker<'_>,
    i: &Instr,
    body: &[shell::Token],
    vars: &mut Vars,
    fetched: &mut Vec<String>,
    mounts: &BTreeMap<String, String>,
) -> Res {
    if body.is_empty() {
        return Res::Boiler(Fam::Other);
    }
    let mut all = Vec::new();
    let mut stage = 0;
    for p in shell::split_tokens(body) {
        let sub = Unit {
            tokens: p,
            sep: None,
        };
        match classify(w, i, &sub, vars, fetched, mounts) {
            Res::Mapped(it, s) => {
                all.extend(it);
                stage = stage.max(s);
            }
            Res::Boiler(_) | Res::Neutral | Res::Log => {}
            Res::Escape(why) => return Res::Escape(why),
        }
    }
    Res::Mapped(all, stage)
}

/// `for EXT in a b; do code-server --install-extension $EXT; done`.
fn for_extensions(
    var: &str,
    list: &[shell::Token],
    body: &[shell::Token],
    vars: &Vars,
    origin: &Origin,
) -> Option<Res> {
    let values: Vec<String> = shell::words_of(list, vars)?
        .iter()
        .flat_map(|w| w.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut out = Vec::new();
    for v in values {
        let mut vv = vars.clone();
        vv.insert(var.to_string(), v);
        out.extend(commands::extensions(&shell::words_of(body, &vv)?)?);
    }
    (!out.is_empty()).then(|| {
        Res::Mapped(
            items(out.into_iter().map(Entry::Extension).collect(), origin),
            2,
        )
    })
}

/// `pip install` with its requirements files read and mapped.
fn pip(
    w: &mut Walker<'_>,
    i: &Instr,
    u: &Unit,
    mut p: commands::PipInstall,
    origin: &Origin,
    mounts: &BTreeMap<String, String>,
) -> Res {
    // Package directories the Dockerfile copied: `pip package=`.
    let mut packages = Vec::new();
    let mut requirements = Vec::new();
    for r in std::mem::take(&mut p.requirements) {
        match super::pippackage::local(w, &r, mounts) {
            Some(Ok(e)) => packages.push(Item::new(e, Some(origin.clone()))),
            Some(Err(why)) => return Res::Escape(why),
            None => requirements.push(r),
        }
    }
    p.requirements = requirements;
    let mut lines: Vec<Sourced> = Vec::new();
    for (name, url) in &p.indexes {
        lines.push(Sourced {
            line: Line::Option {
                name: name.clone(),
                value: Some(url.clone()),
                line: origin.first,
                raw: format!("--{name} {url}"),
            },
            origin: origin.clone(),
        });
    }
    let mut what = format!("the `pip install` of {origin}");
    for f in &p.files {
        let path = if f.starts_with('/') {
            f.clone()
        } else {
            format!(
                "{}/{f}",
                w.cwd.clone().unwrap_or_else(|| "/home/${NB_USER}".into())
            )
        };
        let found = mounts
            .get(&path)
            .map(|r| (r.clone(), None))
            .or_else(|| w.copies.get(&path).cloned());
        let Some((repo, step)) = found else {
            return Res::Escape(format!(
                "`pip install -r {f}`: jcx import cannot tell which file of the repository `{f}` is"
            ));
        };
        if !read_requirements(w, &repo, &mut lines, 0) {
            return Res::Escape(format!("`pip install -r {f}`: `{repo}` cannot be read"));
        }
        let _ = step;
        w.consumed.insert(repo.clone());
        what = format!("`{repo}`");
    }
    for r in &p.requirements {
        lines.push(Sourced {
            line: Line::Requirement {
                text: r.clone(),
                options: Vec::new(),
                line: origin.first,
            },
            origin: origin.clone(),
        });
    }
    let m = pipmap::map(&lines, &what);
    w.warnings.extend(m.warnings);
    if let Some(mirror) = m.mirror {
        w.mirror.get_or_insert(mirror);
    }
    let _ = (i, u);
    let mut out = m.items;
    out.extend(packages);
    if p.pre {
        out.push(Item::new(Entry::PipPre(true), Some(origin.clone())));
    }
    Res::Mapped(out, 3)
}

/// Reads a requirements file of the repository (and the files it includes with `-r`).
fn read_requirements(w: &mut Walker<'_>, repo: &str, out: &mut Vec<Sourced>, depth: usize) -> bool {
    if depth > 5 {
        return false;
    }
    let path = w.src.root.join(repo);
    let Ok(meta) = std::fs::metadata(&path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > 1 << 20 {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return false;
    };
    w.consumed.insert(repo.to_string());
    let (lines, other) = requirements::read(&text);
    let total = text.lines().count();
    let mut dropped = 0;
    let mut statuses = std::collections::BTreeMap::new();
    for line in lines {
        let n = line.line();
        if let Line::Option {
            name,
            value: Some(v),
            ..
        } = &line
            && name == "requirement"
        {
            let dir = repo.rsplit_once('/').map_or("", |(d, _)| d);
            let nested = if dir.is_empty() {
                v.clone()
            } else {
                format!("{dir}/{v}")
            };
            if read_requirements(w, &nested, out, depth + 1) {
                continue;
            }
        }
        if matches!(&line, Line::Option { name, .. } if !matches!(name.as_str(), "index-url" | "extra-index-url" | "pre" | "editable"))
        {
            dropped += 1;
            statuses.insert(n, super::map::Status::Dropped);
        } else {
            statuses.insert(n, super::map::Status::Mapped);
        }
        out.push(Sourced {
            line,
            origin: Origin::new(repo, n, n),
        });
    }
    if !w.counts.iter().any(|c| c.file == repo) {
        w.counts.push(Counts {
            file: repo.to_string(),
            mapped: total.saturating_sub(other + dropped),
            escaped: 0,
            dropped,
            other,
            lines: statuses,
        });
    }
    true
}

/// Applies the decisions: mapped commands become items, the rest `dockerfile` block pieces.
fn decide(w: &mut Walker<'_>, i: &Instr, units: &[Unit], results: Vec<Res>) {
    let escaped_fams: Vec<Fam> = units
        .iter()
        .zip(&results)
        .filter(|(_, r)| matches!(r, Res::Escape(_)))
        .map(|(u, _)| {
            match u
                .text(&i.args)
                .split_whitespace()
                .next()
                .unwrap_or_default()
            {
                "apt-get" | "apt" | "dpkg" | "add-apt-repository" => Fam::Apt,
                "mamba" | "conda" | "micromamba" => Fam::Conda,
                _ => Fam::Other,
            }
        })
        .collect();
    let any_escape = !escaped_fams.is_empty();
    let mut keep: Vec<bool> = results
        .iter()
        .map(|r| match r {
            Res::Escape(_) => true,
            Res::Neutral => any_escape,
            Res::Boiler(Fam::Other) => any_escape,
            Res::Boiler(f) => escaped_fams.contains(f),
            Res::Mapped(..) | Res::Log => false,
        })
        .collect();
    for n in (0..results.len()).rev() {
        if matches!(results[n], Res::Log) {
            keep[n] = keep.get(n + 1).copied().unwrap_or(false);
        }
    }
    w.mark(i.first, i.last, Status::Mapped);
    let remounted = i.flags.iter().any(|f| mount_from_root(w, f) != *f);
    if keep.iter().all(|k| *k) && w.df.escape == '\\' && !remounted {
        for (u, r) in units.iter().zip(&results) {
            if let Res::Escape(why) = r {
                let o = unit_origin(w, i, u);
                w.warn(Kind::Escaped, o, why.clone());
            }
        }
        w.mark(i.first, i.last, Status::Escaped);
        let lines = w.raw_lines(i);
        let o = w.origin(i.first, i.last);
        w.piece(lines, o);
        return;
    }
    let mut fragment: Vec<&Unit> = Vec::new();
    for ((u, r), mut k) in units.iter().zip(results).zip(keep) {
        if let Res::Mapped(items, _) = &r
            && !k
        {
            let o = unit_origin(w, i, u);
            let pending: Vec<String> = fragment.iter().map(|f| f.text(&i.args)).collect();
            k = super::kernelinstall::stays_after_blocks(w, items, &pending, &o);
        }
        if k {
            let o = unit_origin(w, i, u);
            w.mark(o.first, o.last, Status::Escaped);
            if let Res::Escape(why) = &r {
                w.warn(Kind::Escaped, o, why.clone());
            }
            fragment.push(u);
            continue;
        }
        flush(w, i, &mut fragment);
        if let Res::Mapped(items, stage) = r {
            w.mapped_refs.extend(shell::references(&u.text(&i.args)));
            w.advance(stage);
            if !items.is_empty() {
                w.steps.push(super::map::Step::Items(items));
            }
        }
    }
    flush(w, i, &mut fragment);
}

/// A `--mount=type=bind` of the build context with its source as a repository path: the block
/// reads from jcx's context, the repository root, not from the Dockerfile's own context.
fn mount_from_root(w: &Walker<'_>, flag: &str) -> String {
    let Some(spec) = flag.strip_prefix("--mount=") else {
        return flag.to_string();
    };
    let fields: Vec<&str> = spec.split(',').collect();
    let field = |k: &str| fields.iter().find_map(|f| f.strip_prefix(&format!("{k}=")));
    let bind = field("type").is_none_or(|t| t == "bind");
    if !bind || field("from").is_some() || w.src.context.trim_matches('/').is_empty() {
        return flag.to_string();
    }
    let mut out: Vec<String> = fields
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k @ ("source" | "src"), v)) if !v.contains('$') => {
                format!("{k}={}", super::files::context_path(w, v))
            }
            _ => f.to_string(),
        })
        .collect();
    if field("source").or_else(|| field("src")).is_none() {
        out.push(format!("source={}", super::files::context_path(w, ".")));
    }
    format!("--mount={}", out.join(","))
}

fn flush(w: &mut Walker<'_>, i: &Instr, fragment: &mut Vec<&Unit>) {
    if fragment.is_empty() {
        return;
    }
    let first = i.line_of(fragment[0].start());
    let last = i.line_of(fragment[fragment.len() - 1].end().saturating_sub(1));
    let mut text = String::from("RUN ");
    for f in &i.flags {
        text.push_str(&mount_from_root(w, f));
        text.push(' ');
    }
    for (n, u) in fragment.iter().enumerate() {
        text.push_str(&u.text(&i.args));
        if n + 1 < fragment.len() {
            text.push_str(&format!(" {} \\\n    ", u.sep.as_deref().unwrap_or("&&")));
        }
    }
    let lines = text.lines().map(str::to_string).collect();
    let o = w.origin(first, last);
    w.piece(lines, o);
    fragment.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacks_variables_are_known() {
        for w in [
            "${NB_UID}:users",
            "$NB_UID:$NB_GID",
            "${HOME}/x",
            "/opt/x",
            "${CONDA_DIR}",
        ] {
            assert!(stacks_variables_only(w), "{w}");
        }
        for w in ["${NB_GROUP}", "$NB_UIDX", "${RDP}/x", "${HOME", "$(id -u)"] {
            assert!(!stacks_variables_only(w), "{w}");
        }
    }
}
