//! An apt mirror set by editing the base image's sources, for `jcx import`:
//! `sed -i 's|http://archive.ubuntu.com/ubuntu/|https://mirror.example.org/ubuntu/|g'
//! /etc/apt/sources.list` (or the deb822 `sources.list.d/ubuntu.sources`, or a host for a host:
//! `s/archive.ubuntu.com/mirror.example.org/g`) becomes the manifest's `mirrors { apt "…" }`.
//! jcx's mirror replaces every source URI of the image, so an edit of `security.ubuntu.com` to
//! the same mirror is part of the same setting.

/// A mirror found: its URL, and whether the edit also replaced `security.ubuntu.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub url: String,
    pub security: bool,
}

/// The archive an expression replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archive {
    Main,
    Security,
}

/// `None` when `words` (a command's words, `sudo` dropped) is not a `sed` of apt's sources that
/// names an Ubuntu archive; `Err(why)` when it is one that does not map exactly.
pub fn read(words: &[String]) -> Option<Result<Found, String>> {
    let (first, rest) = words.split_first()?;
    if first != "sed" {
        return None;
    }
    let mut exprs: Vec<&str> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    let mut in_place = false;
    let mut k = 0;
    while k < rest.len() {
        let a = rest[k].as_str();
        match a {
            "-i" | "--in-place" => in_place = true,
            "-E" | "-r" | "--regexp-extended" => {}
            "-e" | "--expression" => {
                k += 1;
                exprs.push(rest.get(k)?.as_str());
            }
            _ if a.starts_with('-') => return unknown_option(rest, a),
            _ if exprs.is_empty() && !rest.iter().any(|w| w == "-e") => exprs.push(a),
            _ => files.push(a),
        }
        k += 1;
    }
    let apt_file =
        |f: &&str| *f == "/etc/apt/sources.list" || f.starts_with("/etc/apt/sources.list.d/");
    if files.is_empty()
        || !files.iter().all(apt_file)
        || !exprs
            .iter()
            .any(|e| e.replace('\\', "").contains("ubuntu.com"))
    {
        return None;
    }
    if !in_place {
        return Some(Err("`sed` without `-i` changes no file".into()));
    }
    let mut url: Option<String> = None;
    let mut security = false;
    for e in &exprs {
        let Some((archive, mirror)) = expression(e) else {
            return Some(Err(format!(
                "`{e}` is not an edit of an Ubuntu archive's URL that jcx's `mirrors {{ apt }}` makes"
            )));
        };
        if url.as_ref().is_some_and(|u| *u != mirror) {
            return Some(Err(format!(
                "the archives go to two mirrors (`{}` and `{mirror}`); jcx's apt mirror replaces every source",
                url.unwrap_or_default()
            )));
        }
        security |= archive == Archive::Security;
        url = Some(mirror);
    }
    url.map(|url| Ok(Found { url, security }))
}

/// A `sed` option this reader does not know: not an apt mirror edit it can read (`-i.bak`
/// keeps a backup, `-n` prints), unless the command is not about apt's sources at all.
fn unknown_option(rest: &[String], a: &str) -> Option<Result<Found, String>> {
    let about_apt = rest.iter().any(|w| w.starts_with("/etc/apt/sources.list"))
        && rest
            .iter()
            .any(|w| w.replace('\\', "").contains("ubuntu.com"));
    about_apt.then(|| Err(format!("`sed {a}` is not an option jcx import reads")))
}

/// `s|FROM|TO|[g]` with FROM an Ubuntu archive: the archive and the mirror's URL.
fn expression(e: &str) -> Option<(Archive, String)> {
    let mut chars = e.chars();
    if chars.next()? != 's' {
        return None;
    }
    let delim = chars.next()?;
    let parts = split_unescaped(chars.as_str(), delim);
    let [from, to, flags] = parts.as_slice() else {
        return None;
    };
    if !flags.chars().all(|c| c == 'g') {
        return None;
    }
    let (from_scheme, from) = scheme(from.trim_start_matches('^'));
    let (host, path) = from.split_once('/').map_or((from, ""), |(h, p)| (h, p));
    let archive = match host {
        "archive.ubuntu.com" => Archive::Main,
        "security.ubuntu.com" => Archive::Security,
        h if h
            .strip_suffix(".archive.ubuntu.com")
            .is_some_and(|cc| cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_lowercase())) =>
        {
            Archive::Main
        }
        _ => return None,
    };
    let (to_scheme, to) = scheme(to);
    let to = to.trim_end_matches('/');
    let scheme = match (from_scheme, to_scheme) {
        (_, Some(s)) => s,
        (None, None) => "http",
        // `http://archive…` to `mirror…`: the line would lose its scheme.
        (Some(_), None) => return None,
    };
    let url = match path.trim_end_matches('/') {
        "" => format!("{scheme}://{to}/ubuntu"),
        "ubuntu" => format!("{scheme}://{to}"),
        _ => return None,
    };
    plain(&url).then_some((archive, url))
}

/// The scheme of a URL written in a `sed` expression (`http://`, `https://`, or `//`: none).
fn scheme(s: &str) -> (Option<&'static str>, &str) {
    if let Some(r) = s.strip_prefix("https://") {
        (Some("https"), r)
    } else if let Some(r) = s.strip_prefix("http://") {
        (Some("http"), r)
    } else {
        (None, s.trim_start_matches("//"))
    }
}

/// The parts of a `sed` `s` command after `s` and its delimiter, each unescaped (`\.` is `.`).
fn split_unescaped(s: &str, delim: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => parts.last_mut().expect("one part").push(n),
                None => parts.last_mut().expect("one part").push('\\'),
            },
            c if c == delim => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
}

/// A URL jcx's `mirrors` takes: scheme, host name, an optional port and a plain path.
fn plain(url: &str) -> bool {
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (host, port) = authority
        .split_once(':')
        .map_or((authority, "0"), |(h, p)| (h, p));
    host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~/-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn reads_mirror_edits() {
        let found = |s: &str| read(&w(s));
        assert_eq!(
            found(
                "sed -i s|http://archive.ubuntu.com/ubuntu/|https://mirror.example.org/ubuntu/|g /etc/apt/sources.list.d/ubuntu.sources"
            ),
            Some(Ok(Found {
                url: "https://mirror.example.org/ubuntu".into(),
                security: false
            }))
        );
        assert_eq!(
            found(
                "sed -i -e s/archive.ubuntu.com/mirror.example.org/g -e s/security.ubuntu.com/mirror.example.org/g /etc/apt/sources.list"
            ),
            Some(Ok(Found {
                url: "http://mirror.example.org/ubuntu".into(),
                security: true
            }))
        );
        assert_eq!(
            found(
                r"sed -i s/http:\/\/archive\.ubuntu\.com/https:\/\/mirror.example.org/g /etc/apt/sources.list"
            ),
            Some(Ok(Found {
                url: "https://mirror.example.org/ubuntu".into(),
                security: false
            }))
        );
        assert_eq!(
            found("sed -i s@//de.archive.ubuntu.com@//mirror.example.org@g /etc/apt/sources.list"),
            Some(Ok(Found {
                url: "http://mirror.example.org/ubuntu".into(),
                security: false
            }))
        );
        // Two mirrors, a scheme lost, another edit, no -i: not what `mirrors` does.
        assert!(matches!(
            found(
                "sed -i -e s/archive.ubuntu.com/a.example.org/g -e s/security.ubuntu.com/b.example.org/g /etc/apt/sources.list"
            ),
            Some(Err(_))
        ));
        assert!(matches!(
            found("sed -i s|http://archive.ubuntu.com|mirror.example.org|g /etc/apt/sources.list"),
            Some(Err(_))
        ));
        assert!(matches!(
            found(
                "sed -i -e s/archive.ubuntu.com/m.example.org/g -e s/ubuntu/x/ /etc/apt/sources.list"
            ),
            Some(Err(_))
        ));
        assert!(matches!(
            found("sed s/archive.ubuntu.com/m.example.org/g /etc/apt/sources.list"),
            Some(Err(_))
        ));
        assert!(matches!(
            found("sed -i.bak s/archive.ubuntu.com/m.example.org/g /etc/apt/sources.list"),
            Some(Err(_))
        ));
        // Not about the archives, or not apt's sources.
        assert_eq!(
            found("sed -i s/^#force_color_prompt=yes/x/ /etc/bash.bashrc"),
            None
        );
        assert_eq!(
            found("sed -i s/current/10.x-update/ /etc/apt/sources.list.d/htcondor.list"),
            None
        );
    }
}
