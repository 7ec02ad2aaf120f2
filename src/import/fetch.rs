//! Checksum-verified downloads in a `RUN` chain, where they map cleanly to `download`: a
//! `curl -o FILE URL` (or `wget -O FILE URL`), a `sha256sum -c` of FILE with its 64-digit
//! checksum, then one placement (`install -m MODE FILE DEST`, `mv FILE DEST` with an optional
//! `chmod`, `tar -xf FILE -C DIR [--strip-components=N]`, `dpkg -i FILE` or
//! `apt-get install ./FILE`), and `rm FILE`. A download that is not checked stays as it is.

use super::commands::{self, command_words};
use super::draft::Entry;
use super::shell::{Unit, Vars};

/// A download found in a chain: the indexes of its commands and its entry.
#[derive(Debug, Clone)]
pub struct Found {
    /// The fetching command.
    pub at: usize,
    pub units: Vec<usize>,
    pub entry: Entry,
}

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// The 64-digit checksum a `sha256sum -c` command checks `file` against.
fn checksum(text: &str, file: &str) -> Option<String> {
    if !text.contains("sha256sum")
        || !(text.contains(" -c") || text.contains("--check"))
        || !text.contains(base(file))
    {
        return None;
    }
    text.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 64)
        .map(str::to_ascii_lowercase)
}

/// Where and how the file is placed: (kind, to, mode, strip).
type Placement = (&'static str, Option<String>, Option<String>, Option<u32>);

fn place(words: &[String], file: &str) -> Option<Placement> {
    let w = command_words(words);
    let args: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let is_file = |a: &str| a == file || base(a) == base(file);
    match w.first()?.as_str() {
        "install" => {
            let mode = w
                .iter()
                .position(|a| a == "-m")
                .and_then(|p| w.get(p + 1))
                .cloned();
            let rest: Vec<&&String> = args.iter().filter(|a| Some(**a) != mode.as_ref()).collect();
            match rest.as_slice() {
                [src, dest] if is_file(src) => Some((
                    "file",
                    Some((**dest).clone()),
                    Some(octal(mode.as_deref().unwrap_or("755"))?),
                    None,
                )),
                _ => None,
            }
        }
        "mv" => match args.as_slice() {
            [src, dest] if is_file(src) && !dest.ends_with('/') => {
                Some(("file", Some((*dest).clone()), Some("0644".into()), None))
            }
            _ => None,
        },
        "tar" => {
            let dir = w
                .iter()
                .position(|a| a == "-C" || a == "--directory")
                .and_then(|p| w.get(p + 1))?;
            let strip = w
                .iter()
                .find_map(|a| a.strip_prefix("--strip-components="))
                .map_or(Some(0), |n| n.parse().ok())?;
            let extract = w.iter().any(|a| {
                a.starts_with('-') && !a.starts_with("--") && a.contains('x')
                    || a == "xf"
                    || a == "xzf"
                    || a == "-x"
            });
            (extract && w.iter().any(|a| is_file(a)))
                .then(|| ("tar", Some(dir.clone()), None, (strip > 0).then_some(strip)))
        }
        _ if wheel_install(words, file) => Some(("wheel", None, None, None)),
        _ => commands::deb_install(words)
            .filter(|d| is_file(d))
            .map(|_| ("deb", None, None, None)),
    }
}

/// A file fetched to its final place: an absolute path outside the scratch directories.
fn direct(file: &str) -> Option<Placement> {
    let scratch = ["/tmp/", "/var/tmp/", "/root/"];
    (file.starts_with('/') && !scratch.iter().any(|d| file.starts_with(d)) && !file.ends_with('/'))
        .then(|| ("file", Some(file.to_string()), Some("0644".into()), None))
}

/// Whether a word names the path `file` (a relative one also under a directory): not
/// `/opt/t/t-full.jar` for `/opt/t/t`.
fn names(word: &str, file: &str) -> bool {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "-_.~+@".contains(c);
    word.match_indices(file).any(|(at, _)| {
        let before = word[..at].chars().next_back();
        let after = word[at + file.len()..].chars().next();
        after.is_none_or(|c| !path_char(c))
            && (file.starts_with('/') || before.is_none_or(|c| c == '/' || !path_char(c)))
    })
}

/// `pip install [--no-cache-dir] FILE.whl` of the fetched wheel, and nothing else.
fn wheel_install(words: &[String], file: &str) -> bool {
    file.ends_with(".whl")
        && matches!(commands::pip(words), Ok(Some(p))
            if p.files.is_empty() && p.indexes.is_empty() && !p.pre
                && matches!(p.requirements.as_slice(), [r] if r == file || base(r) == base(file)))
}

/// A wheel's distribution name, from its file name (`templates_menu-0.1.0-py3-none-any.whl`).
fn wheel_name(file: &str) -> Option<String> {
    let stem = base(file).strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    let name = parts.first()?;
    (parts.len() >= 5
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
    .then(|| name.to_string())
}

fn octal(m: &str) -> Option<String> {
    let m = m.trim_start_matches('0');
    (m.len() == 3 && m.bytes().all(|b| (b'0'..=b'7').contains(&b))).then(|| format!("0{m}"))
}

/// `chmod MODE DEST` / `chmod +x DEST` after a placement: the new mode.
fn chmod(words: &[String], dest: &str) -> Option<String> {
    let w = command_words(words);
    match w {
        [c, mode, target] if c == "chmod" && target == dest => match mode.as_str() {
            "+x" | "a+x" | "755" | "0755" => Some("0755".into()),
            m => octal(m),
        },
        _ => None,
    }
}

/// The checked downloads of a chain.
pub fn find(units: &[Unit], line: &str, vars: &Vars) -> Vec<Found> {
    let words: Vec<Option<Vec<String>>> = units.iter().map(|u| u.words(vars)).collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let Some((url, file)) = w.as_deref().and_then(commands::fetch) else {
            continue;
        };
        if commands::code_server_url(&url).is_some() || url.contains('$') || file.contains('$') {
            continue;
        }
        // The checksum, when a `sha256sum -c` checks the file; without one the download is
        // still mapped, as `unverified=#true`, which jcx warns about.
        let check = (i + 1..units.len())
            .find_map(|j| checksum(&units[j].text(line), &file).map(|s| (j, s)));
        let after = check.as_ref().map_or(i, |(j, _)| *j);
        let placed = (after + 1..units.len()).find_map(|k| {
            words[k]
                .as_deref()
                .and_then(|w| place(w, &file))
                .map(|p| (k, p))
        });
        // Fetched straight to where it stays (`curl -o /opt/x/tool URL`).
        let placed = placed.or_else(|| direct(&file).map(|p| (after, p)));
        let Some((k, (kind, to, mut mode, strip))) = placed else {
            continue;
        };
        let (j, sha) = match check {
            Some((j, s)) => (j, Some(s)),
            None => (i, None),
        };
        let mut group = vec![i, j, k];
        // `mkdir -p` of the directory jcx's step creates itself.
        let dir = match (kind, &to) {
            ("tar", Some(t)) => Some(t.trim_end_matches('/').to_string()),
            ("file", Some(t)) => t.rsplit_once('/').map(|(d, _)| d.to_string()),
            _ => None,
        };
        for (n, w) in words.iter().enumerate().take(k) {
            if let (Some(w), Some(d)) = (w, &dir)
                && let [c, rest @ ..] = command_words(w)
                && c == "mkdir"
                && rest
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .all(|a| a.trim_end_matches('/') == d)
            {
                group.push(n);
            }
        }
        for (n, w) in words.iter().enumerate().skip(k + 1) {
            let Some(w) = w else { continue };
            if let Some(m) = to.as_deref().and_then(|t| chmod(w, t)) {
                mode = Some(m);
                group.push(n);
            } else if commands::cleanup_rm(w, std::slice::from_ref(&file))
                && command_words(w).iter().any(|a| base(a) == base(&file))
            {
                group.push(n);
            }
        }
        group.sort_unstable();
        group.dedup();
        // A command outside the download that reads the file would lose it.
        let reads = |n: usize| {
            let text = units[n].text(line);
            // Text written somewhere names the path without reading it.
            if matches!(text.split_whitespace().next(), Some("echo" | "printf")) {
                return false;
            }
            match &words[n] {
                Some(w) => w.iter().any(|a| names(a, &file)),
                None => text.split_whitespace().any(|a| names(a, &file)),
            }
        };
        if (0..units.len()).any(|n| !group.contains(&n) && reads(n)) {
            continue;
        }
        if kind == "wheel" {
            // pip fetches the wheel itself: a requirement with a direct URL (the checksum,
            // when there was one, in its `#sha256=` fragment, which pip checks).
            let Some(name) = wheel_name(&file).filter(|n| {
                !["torch", "torchvision", "torchaudio"].contains(&n.to_ascii_lowercase().as_str())
            }) else {
                continue;
            };
            let text = match &sha {
                Some(s) => format!("{name} @ {url}#sha256={s}"),
                None => format!("{name} @ {url}"),
            };
            out.push(Found {
                at: i,
                units: group,
                entry: Entry::Pip(super::draft::Pip {
                    name,
                    text,
                    pin: None,
                }),
            });
            continue;
        }
        out.push(Found {
            at: i,
            units: group,
            entry: Entry::Download {
                name: super::files::download_name(base(&url)),
                url,
                sha256: sha,
                kind,
                to,
                mode: mode.filter(|_| kind == "file"),
                strip,
            },
        });
    }
    out
}

/// Gives each download of one app its own name (jcx refuses a name declared twice): a second
/// `topcat` (from `topcat` after `topcat-full.jar`) becomes `topcat-2`.
pub fn unique_names(items: &mut [super::draft::Item]) {
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        if let Entry::Download { name, .. } = &mut item.entry {
            let mut n = 2;
            let mut candidate = name.clone();
            while !seen.insert(candidate.clone()) {
                candidate = format!("{name}-{n}");
                n += 1;
            }
            *name = candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_download_maps() {
        let line = "curl -fsSL -o /tmp/yq https://example.org/yq_linux_amd64 && echo \"a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7  /tmp/yq\" | sha256sum -c - && install -m 0755 /tmp/yq /usr/local/bin/yq && rm -f /tmp/yq";
        let units = super::super::shell::split(line);
        let found = find(&units, line, &Vars::new());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].units, vec![0, 1, 2, 3]);
        assert!(
            matches!(&found[0].entry, Entry::Download { name, kind: "file", to: Some(t), mode: Some(m), .. } if name == "yq" && t == "/usr/local/bin/yq" && m == "0755")
        );
        // Without a checksum: `unverified`, placed the same way.
        let unchecked = "curl -o /tmp/x https://example.org/x && install /tmp/x /usr/local/bin/x";
        let found = find(
            &super::super::shell::split(unchecked),
            unchecked,
            &Vars::new(),
        );
        assert!(
            matches!(&found[..], [Found { entry: Entry::Download { sha256: None, to: Some(t), .. }, .. }] if t == "/usr/local/bin/x"),
            "{found:?}"
        );
        // Fetched where it stays, two in one chain sharing their directory's `mkdir`; a
        // scratch file that nothing places is not a download jcx can write.
        let direct = "mkdir -p /opt/t && curl -fsSL https://example.org/t-full.jar -o /opt/t/t-full.jar && curl -fsSL https://example.org/t -o /opt/t/t && chmod +x /opt/t/t && curl -fLo /tmp/w.whl https://example.org/w.whl";
        let found = find(&super::super::shell::split(direct), direct, &Vars::new());
        let got: Vec<(usize, Vec<usize>, Option<String>)> = found
            .iter()
            .map(|f| match &f.entry {
                Entry::Download { mode, .. } => (f.at, f.units.clone(), mode.clone()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, vec![0, 1], Some("0644".into())),
                (2, vec![0, 2, 3], Some("0755".into()))
            ]
        );
        // wget into the working directory or a `-P` directory, installed with gdebi or tar.
        let deb = "wget -q https://example.org/r/rs-1.deb && gdebi -n rs-1.deb && rm -f rs-1.deb";
        let found = find(&super::super::shell::split(deb), deb, &Vars::new());
        assert!(
            matches!(&found[..], [Found { entry: Entry::Download { kind: "deb", .. }, units, .. }] if units == &vec![0, 1, 2]),
            "{found:?}"
        );
        let tgz =
            "wget -P /tmp https://example.org/d.tar.gz && tar -xf /tmp/d.tar.gz -C /usr/local/d";
        let found = find(&super::super::shell::split(tgz), tgz, &Vars::new());
        assert!(
            matches!(&found[..], [Found { entry: Entry::Download { kind: "tar", to: Some(t), .. }, .. }] if t == "/usr/local/d"),
            "{found:?}"
        );
        // curl without `-o`/`-O` writes to its output: no file.
        let piped = "curl -fsSL https://example.org/k.asc > /tmp/k && install /tmp/k /usr/local/k";
        assert!(find(&super::super::shell::split(piped), piped, &Vars::new()).is_empty());
        let tar = "wget -O /tmp/q.tgz https://example.org/q-1.0.tgz && sha256sum --check <<< \"a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7  /tmp/q.tgz\" && tar -xzf /tmp/q.tgz -C /opt/q --strip-components=1";
        let found = find(&super::super::shell::split(tar), tar, &Vars::new());
        assert!(
            matches!(
                &found[0].entry,
                Entry::Download {
                    kind: "tar",
                    strip: Some(1),
                    ..
                }
            ),
            "{found:?}"
        );
    }
}
