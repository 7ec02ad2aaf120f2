//! `COPY` and `ADD`: files of the repository become `file` nodes (a glob copied into a
//! directory too: `file` keeps the pattern), or `hook` nodes, when they land in the stacks'
//! start-up hook directories; the requirements files a mapped
//! `pip install -r` reads are absorbed; `ADD --checksum=sha256:… URL` becomes a `download`.
//! A copy from another image or a heredoc stays in a `dockerfile` block; a copy of repository
//! files that no node can express is kept as a comment (in a block, its file would not reach
//! jcx's build context and the build would fail).

use super::dockerfile::Instr;
use super::draft::{Entry, Item, Kind};
use super::map::{Piece, Step, User, Walker};
use super::shell;

/// A path of the build context as a path of the repository (jcx's build context).
pub fn context_path(w: &Walker<'_>, src: &str) -> String {
    let src = src.trim_start_matches("./").trim_end_matches('/');
    let ctx = w.src.context.trim_matches('/');
    match (ctx.is_empty(), src.is_empty() || src == ".") {
        (true, _) => src.to_string(),
        (false, true) => ctx.to_string(),
        (false, false) => format!("{ctx}/{src}"),
    }
}

/// The repository path of a copy's source: in the build context jcx import found for the
/// Dockerfile, or, when that does not hold it but the repository root does, at the root (a
/// context import could not read, such as a workflow's `${{ matrix.… }}`), with a warning.
/// `None` when neither holds it (for a glob: nothing matches).
fn source_path(w: &mut Walker<'_>, i: &Instr, s: &str) -> Option<String> {
    let exists = |p: &str| {
        if p.contains(['*', '?', '[']) {
            !crate::nodes::repo_path::expand(w.src.root, p).is_empty()
        } else {
            w.src.root.join(p).exists()
        }
    };
    let repo = context_path(w, s);
    if exists(&repo) {
        return Some(repo);
    }
    let at_root = s.trim_start_matches("./").trim_end_matches('/');
    if repo == at_root || at_root.is_empty() || !exists(at_root) {
        return None;
    }
    let o = w.origin(i.first, i.last);
    let ctx = w.src.context.trim_matches('/').to_string();
    w.warn(Kind::Changed, o, format!("`{s}` is not in `{ctx}/`, the build context jcx import assumed, but is in the repository root: copied from there"));
    Some(at_root.to_string())
}

pub(super) fn words(args: &str) -> Option<Vec<String>> {
    if args.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(args).ok();
    }
    Some(args.split_whitespace().map(str::to_string).collect())
}

/// Variables a destination may keep as they are: `file to=` accepts them.
const STACK_VARS: [&str; 3] = ["HOME", "CONDA_DIR", "NB_USER"];

pub(super) fn dest_path(w: &Walker<'_>, dest: &str) -> Option<String> {
    let refs = shell::references(dest);
    let dest = if refs.iter().all(|r| STACK_VARS.contains(&r.as_str())) {
        dest.replace("$HOME", "${HOME}")
            .replace("$CONDA_DIR", "${CONDA_DIR}")
            .replace("$NB_USER", "${NB_USER}")
            .replace("${${HOME}}", "${HOME}")
    } else {
        shell::unquote(dest, &w.vars)?
    };
    Some(if dest.starts_with('/') || dest.starts_with("${") {
        dest
    } else {
        let base = w.cwd.clone().unwrap_or_else(|| "${HOME}".into());
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            dest.trim_start_matches("./")
        )
    })
}

/// Who owns the copy: `Some(true)` root, `Some(false)` the notebook user, `None` someone else.
pub(super) fn owner(chown: Option<&str>) -> Option<bool> {
    match chown {
        None => Some(true),
        Some(c) => match super::map::user_of(c) {
            User::Root => Some(true),
            User::Notebook => Some(false),
            User::Other(_) => None,
        },
    }
}

const HOOK_DIRS: [(&str, &str); 2] = [
    ("/usr/local/bin/before-notebook.d/", "before-notebook"),
    ("/usr/local/bin/start-notebook.d/", "start-notebook"),
];

/// `COPY` or `ADD`.
pub fn copy(w: &mut Walker<'_>, i: &Instr) {
    if let Some(from) = i.flag("from") {
        return super::buildstages::copy_from(w, i, from);
    }
    if !i.heredocs.is_empty() {
        return heredoc(w, i);
    }
    let Some(mut all) = words(&i.args).filter(|a| a.len() >= 2) else {
        return w.drop_instr(i, "jcx import cannot read this copy");
    };
    let dest_raw = all.pop().expect("two words");
    let Some(dest) = dest_path(w, &dest_raw) else {
        return w.drop_instr(
            i,
            &format!("the destination `{dest_raw}` uses a variable jcx import does not know"),
        );
    };
    // BuildKit copies into a directory that exists, with or without the trailing `/`.
    let into_dir = dest.ends_with('/')
        || all.len() > 1
        || w.is_made_dir(&dest)
        || used_below(w, i, &all[0], &dest);
    if super::fsmap::feeds_jcx_steps(&dest) {
        return w.escape(
            i,
            &format!("the copy to `{dest}` changes configuration that jcx's package steps read, and they run before its files are copied"),
        );
    }
    if i.keyword == "ADD" && all.iter().any(|s| s.contains("://")) {
        return add_url(w, i, &all, &dest, into_dir);
    }
    let Some(root) = owner(i.flag("chown")) else {
        return w.drop_instr(
            i,
            "the copy belongs to a user jcx's `file` cannot name (root or the notebook user)",
        );
    };
    // BuildKit reads a source relative to the context root, with or without a leading `/`.
    let all: Vec<String> = all
        .iter()
        .map(|s| match s.trim_start_matches('/') {
            "" => ".".to_string(),
            t => t.to_string(),
        })
        .collect();
    let mut sources = Vec::new();
    for s in &all {
        let glob = s.contains(['*', '?', '[']);
        if s.contains('$') || s.contains("**") || s.split('/').any(|p| p == "..") {
            return w.drop_instr(i, &format!("`{s}` is not a path jcx's `file` can copy (variables, `**` and paths outside the build context are not)"));
        }
        if glob && !dest.ends_with('/') {
            return w.drop_instr(i, &format!("`{s}` is a glob copied to `{dest}`: jcx's `file` copies a glob into a directory (`to=` ending with `/`)"));
        }
        if i.keyword == "ADD"
            && [".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".txz"]
                .iter()
                .any(|e| s.ends_with(e))
        {
            return w.drop_instr(
                i,
                &format!("`ADD {s}` unpacks the archive; jcx's `file` copies it as it is"),
            );
        }
        let Some(repo) = source_path(w, i, s) else {
            return w.drop_instr(
                i,
                &format!("`{s}` is not in the repository: the copy would fail the build"),
            );
        };
        sources.push(repo);
    }
    let step = w.steps.len();
    for (s, repo) in all.iter().zip(&sources) {
        let target = if into_dir {
            let name = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
            format!("{}/{name}", dest.trim_end_matches('/'))
        } else {
            dest.clone()
        };
        w.copies.insert(target, (repo.clone(), Some(step)));
    }
    // The destination is a directory now: a copy into it, or of a directory (its contents).
    if into_dir || sources.iter().any(|r| w.src.root.join(r).is_dir()) {
        w.made_dir(&dest);
    }
    let o = w.origin(i.first, i.last);
    let mut items = Vec::new();
    for (s, repo) in all.iter().zip(&sources) {
        items.push(file_item(w, i, s, repo, &dest, into_dir, root, &o));
    }
    w.mark(i.first, i.last, super::map::Status::Mapped);
    // A block reads its sources from jcx's build context, the repository root: the copy, if
    // it falls back to one, names them by their repository paths.
    let lines = if all.iter().zip(&sources).all(|(s, r)| s == r)
        || sources
            .iter()
            .chain([&dest_raw])
            .any(|p| p.contains(char::is_whitespace))
    {
        w.raw_lines(i)
    } else {
        let flags: String = i.flags.iter().map(|f| format!("{f} ")).collect();
        vec![format!(
            "{} {flags}{} {dest_raw}",
            i.keyword,
            sources.join(" ")
        )]
    };
    let piece = Piece {
        user: w.user.clone(),
        at: w.at,
        cwd: w.cwd.clone(),
        lines,
        origin: o,
    };
    w.steps.push(Step::Copy(piece, items));
    // Later blocks may use a copied file; a requirements file is usually read by the pip step
    // that follows, and a hook only runs when a container starts.
    let hook = matches!(&w.steps.last(), Some(Step::Copy(_, items)) if items.iter().all(|i| matches!(i.entry, Entry::Hook { .. })));
    if !hook && !all.iter().all(|s| s.ends_with(".txt")) {
        w.advance(3);
    }
}

/// Whether a later line names `DEST/NAME`, NAME the copied file's name (`chmod +x
/// /opt/tool/bin/run.sh` after `COPY run.sh /opt/tool/bin`): the destination was a directory
/// (an archive unpacked there made it, say).
fn used_below(w: &Walker<'_>, i: &Instr, src: &str, dest: &str) -> bool {
    let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
    if name.is_empty() || name.contains(['*', '?', '[', '$']) || dest.contains('$') {
        return false;
    }
    let path = format!("{}/{name}", dest.trim_end_matches('/'));
    w.df.lines.iter().skip(i.last).any(|l| {
        l.match_indices(&path).any(|(at, _)| {
            l[at + path.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-')))
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn file_item(
    w: &mut Walker<'_>,
    i: &Instr,
    s: &str,
    repo: &str,
    dest: &str,
    into_dir: bool,
    mut root: bool,
    o: &super::draft::Origin,
) -> Item {
    let is_dir = w.src.root.join(repo).is_dir();
    let src = if is_dir {
        format!("{repo}/")
    } else {
        repo.to_string()
    };
    let name = s
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(s)
        .to_string();
    let to = if into_dir && !is_dir {
        format!("{}/", dest.trim_end_matches('/'))
    } else if is_dir && !dest.ends_with('/') {
        format!("{dest}/")
    } else {
        dest.to_string()
    };
    let mode = i.flag("chmod").map(|m| {
        if m.len() == 3 {
            format!("0{m}")
        } else {
            m.to_string()
        }
    });
    let target = if to.ends_with('/') && !is_dir {
        format!("{to}{name}")
    } else {
        to.clone()
    };
    for (dir, stage) in HOOK_DIRS {
        if let Some(hook) = target
            .strip_prefix(dir)
            .filter(|h| !h.contains('/') && !is_dir && !h.contains(['*', '?', '[']))
        {
            let mut item = Item::new(
                Entry::Hook {
                    stage: stage.to_string(),
                    name: hook_name(w, hook, o),
                    file: Some(src.clone()),
                    script: None,
                },
                Some(o.clone()),
            );
            item.fallback = vec![Entry::File {
                src: src.clone(),
                to: target.clone(),
                root: true,
                mode: Some(mode.clone().unwrap_or_else(|| "0755".into())),
                append: false,
            }];
            return item;
        }
    }
    if root && crate::model::stacks_tree(&to).is_some() {
        root = false;
        w.warn(Kind::Changed, o.clone(), format!("`{src}` is copied into `{to}` owned by the notebook user, not root: jcx keeps HOME and CONDA_DIR the notebook user's"));
    }
    Item::new(
        Entry::File {
            src,
            to,
            root,
            mode,
            append: false,
        },
        Some(o.clone()),
    )
}

/// A hook's name as jcx takes it (`NN-NAME`): a name that starts with a letter becomes
/// `90-NAME`, which keeps its place after the hooks named with digits (the stacks' own, such as
/// `10activate-conda-env.sh`, and the repository's), where the start script ran it; `20x.sh`
/// becomes `20-x.sh`. Other names stay (jcx refuses them, and the hook becomes a `file`).
fn hook_name(w: &mut Walker<'_>, name: &str, o: &super::draft::Origin) -> String {
    let b = name.as_bytes();
    let renamed = if b.first().is_some_and(u8::is_ascii_alphabetic) {
        format!("90-{name}")
    } else if b.len() > 2
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_alphabetic()
    {
        format!("{}-{}", &name[..2], &name[2..])
    } else {
        return name.to_string();
    };
    w.warn(Kind::Changed, o.clone(), format!("the hook `{name}` is named `{renamed}`: jcx's hook names start with two digits and `-`, the order the start script runs them in; `90-` keeps it after the hooks named with digits, as its name did"));
    renamed
}

/// `ADD [--checksum=sha256:HEX] URL DEST` (without a checksum: `unverified=#true`).
fn add_url(w: &mut Walker<'_>, i: &Instr, all: &[String], dest: &str, into_dir: bool) {
    let sum = i.flag("checksum").and_then(|c| c.strip_prefix("sha256:"));
    let [url] = all else {
        return w.escape(
            i,
            "`ADD` of several URLs: jcx's `download` fetches one file",
        );
    };
    let file = url.rsplit('/').next().unwrap_or_default();
    let to = if into_dir || dest.ends_with('/') {
        format!("{}/{file}", dest.trim_end_matches('/'))
    } else {
        dest.to_string()
    };
    let o = w.origin(i.first, i.last);
    let mut item = Item::new(
        Entry::Download {
            name: download_name(file),
            url: url.clone(),
            sha256: sum.map(str::to_ascii_lowercase),
            kind: "file",
            to: Some(to),
            mode: Some(i.flag("chmod").unwrap_or("0600").to_string()),
            strip: None,
        },
        Some(o),
    );
    item.fallback = vec![Entry::Dockerfile {
        root: w.user == User::Root,
        at: super::map::AT[w.at],
        lines: w.raw_lines(i),
    }];
    w.mapped(i, vec![item]);
    w.advance(1);
}

/// A download name from a file name: `yq_linux_amd64` -> `yq`.
pub fn download_name(file: &str) -> String {
    let stem: String = file
        .to_ascii_lowercase()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let stem = stem
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string();
    if stem.is_empty() {
        "file".into()
    } else {
        stem.chars().take(40).collect()
    }
}

/// `COPY <<EOF /usr/local/bin/before-notebook.d/10-x.sh` -> an inline hook; any other heredoc
/// copy stays in a block.
fn heredoc(w: &mut Walker<'_>, i: &Instr) {
    let words: Vec<&str> = i.args.split_whitespace().collect();
    if let ([_, dest], [h]) = (words.as_slice(), i.heredocs.as_slice()) {
        for (dir, stage) in HOOK_DIRS {
            if let Some(name) = dest
                .strip_prefix(dir)
                .filter(|n| !n.is_empty() && !n.contains('/'))
            {
                let o = w.origin(i.first, i.last);
                let name = hook_name(w, name, &o);
                let mut item = Item::new(
                    Entry::Hook {
                        stage: stage.to_string(),
                        name,
                        file: None,
                        script: Some(h.body.clone()),
                    },
                    Some(o),
                );
                item.fallback = vec![Entry::Dockerfile {
                    root: true,
                    at: "end",
                    lines: w.raw_lines(i),
                }];
                return w.mapped(i, vec![item]);
            }
        }
    }
    if super::fsmap::copy_heredoc(w, i) {
        return;
    }
    w.escape(i, "a `COPY` of a heredoc is kept as it is");
}
