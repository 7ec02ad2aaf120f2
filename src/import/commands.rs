//! Recognisers for the shell commands a hand-made Dockerfile uses to install things: apt,
//! mamba/conda, pip, code-server and its extensions, and the clean-up commands jcx's own steps
//! already do. Each takes the words of one simple command (quotes removed, variables
//! expanded) and says what it is, or `None`.

/// The words without a leading `sudo` and `NAME=value` assignments (`DEBIAN_FRONTEND=...`).
pub fn command_words(words: &[String]) -> &[String] {
    let mut w = words;
    loop {
        match w.first() {
            Some(first) if first == "sudo" || first == "env" || first == "eatmydata" => w = &w[1..],
            Some(first) if is_assignment(first) && w.len() > 1 => w = &w[1..],
            _ => return w,
        }
    }
}

/// A spelling of the stacks' `CONDA_DIR` (`/opt/conda`, `${CONDA_DIR}`, `$CONDA_DIR`).
pub fn is_conda_dir(p: &str) -> bool {
    matches!(
        p.trim_end_matches('/'),
        "/opt/conda" | "${CONDA_DIR}" | "$CONDA_DIR"
    )
}

/// A command's options read one at a time, as conda, pip and Jupyter's tools take them:
/// `--flag=value`, `--flag value`, `-f value`.
pub struct Options<'a> {
    words: &'a [String],
    next: usize,
}

/// One word read by [`Options`]: the word, its flag (before `=` for `--flag=value`) and the
/// value written with it.
pub struct Opt<'a> {
    pub word: &'a str,
    pub flag: &'a str,
    inline: Option<&'a str>,
}

impl<'a> Options<'a> {
    pub fn new(words: &'a [String]) -> Self {
        Options { words, next: 0 }
    }

    /// The next word.
    pub fn next_opt(&mut self) -> Option<Opt<'a>> {
        let word = self.words.get(self.next)?.as_str();
        self.next += 1;
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (word, None),
        };
        Some(Opt { word, flag, inline })
    }

    /// The value of `o`, the word just read: the one written with it, else the next word.
    pub fn value(&mut self, o: &Opt<'a>) -> Option<String> {
        if let Some(v) = o.inline {
            return Some(v.to_string());
        }
        let v = self.words.get(self.next).cloned();
        self.next += 1;
        v
    }

    /// The words from the one just read on.
    pub fn rest(&self) -> &'a [String] {
        &self.words[self.next.saturating_sub(1)..]
    }
}

/// `NAME=value`.
pub fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(n, _)| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !n.as_bytes()[0].is_ascii_digit()
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apt {
    Update,
    Install {
        packages: Vec<String>,
        recommends: bool,
    },
    Clean,
}

fn apt_package(p: &str) -> bool {
    let name = p.split(['=', ':']).next().unwrap_or(p);
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+.-".contains(&c))
        && !p.ends_with(".deb")
}

/// `apt-get update`, `apt-get install -y --no-install-recommends a b`, `apt-get clean`.
pub fn apt(words: &[String]) -> Option<Apt> {
    let w = command_words(words);
    if !matches!(w.first()?.as_str(), "apt-get" | "apt") {
        return None;
    }
    let mut sub = None;
    let mut packages = Vec::new();
    let mut recommends = true;
    let mut i = 1;
    while i < w.len() {
        let a = w[i].as_str();
        match a {
            "-y"
            | "--yes"
            | "-q"
            | "-qq"
            | "--quiet"
            | "--assume-yes"
            | "--no-install-suggests"
            | "--fix-missing"
            | "-yq"
            | "-qy"
            | "-yqq"
            | "--allow-releaseinfo-change" => {}
            "--no-install-recommends" => recommends = false,
            "-o" => {
                i += 1;
                let opt = w.get(i)?;
                if opt.eq_ignore_ascii_case("APT::Install-Recommends=false")
                    || opt.eq_ignore_ascii_case("APT::Install-Recommends=0")
                {
                    recommends = false;
                } else if !opt.starts_with("Dpkg::Options") && !opt.starts_with("Acquire::") {
                    return None;
                }
            }
            _ if a.starts_with('-') => return None,
            _ if sub.is_none() => sub = Some(a),
            _ if apt_package(a) => packages.push(a.to_string()),
            _ => return None,
        }
        i += 1;
    }
    match sub? {
        "update" if packages.is_empty() => Some(Apt::Update),
        "install" if !packages.is_empty() => Some(Apt::Install {
            packages,
            recommends,
        }),
        "clean" | "autoclean" if packages.is_empty() => Some(Apt::Clean),
        "autoremove" | "purge" if packages.is_empty() => Some(Apt::Clean),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conda {
    Install { specs: Vec<String> },
    Clean,
}

/// `mamba install -y -c conda-forge a 'b>=1'` (specs of another channel written `channel::spec`),
/// `conda clean -afy`.
pub fn conda(words: &[String]) -> Option<Conda> {
    let w = command_words(words);
    if !matches!(w.first()?.as_str(), "mamba" | "conda" | "micromamba") {
        return None;
    }
    let sub = w.get(1)?.as_str();
    if sub == "clean" {
        return Some(Conda::Clean);
    }
    if sub != "install" {
        return None;
    }
    let mut channels = Vec::new();
    let mut specs = Vec::new();
    let mut i = 2;
    while i < w.len() {
        let a = w[i].as_str();
        match a {
            "-y"
            | "--yes"
            | "-q"
            | "--quiet"
            | "--freeze-installed"
            | "--override-channels"
            | "--satisfied-skip-solve" => {}
            // `-Sy`: short flags together (`-S` skips the solver when the specs are met).
            _ if a.len() > 1
                && a.starts_with('-')
                && a[1..].bytes().all(|b| matches!(b, b'y' | b'q' | b'S')) => {}
            "-p" | "--prefix" => {
                i += 1;
                if w.get(i)?.trim_end_matches('/') != "/opt/conda" {
                    return None;
                }
            }
            "-c" | "--channel" => {
                i += 1;
                channels.push(w.get(i)?.clone());
            }
            "-n" | "--name" => {
                i += 1;
                if w.get(i)? != "base" {
                    return None;
                }
            }
            _ if a.starts_with("--channel=") => channels.push(a["--channel=".len()..].to_string()),
            _ if a.starts_with('-') => return None,
            _ => specs.push(a.to_string()),
        }
        i += 1;
    }
    let other: Vec<&String> = channels
        .iter()
        .filter(|c| !matches!(c.as_str(), "conda-forge" | "defaults"))
        .collect();
    if other.len() > 1 || specs.is_empty() {
        return None;
    }
    if let Some(c) = other.first() {
        for s in &mut specs {
            if !s.contains("::") {
                *s = format!("{c}::{s}");
            }
        }
    }
    Some(Conda::Install { specs })
}

/// `fix-permissions DIR...`: jcx's steps run it where they write.
pub fn fix_permissions(words: &[String]) -> bool {
    command_words(words)
        .first()
        .is_some_and(|w| w == "fix-permissions")
}

/// Paths whose removal is clean-up that jcx's own steps do.
const CLEANUP: &[&str] = &[
    "/var/lib/apt/lists/*",
    "/var/lib/apt/lists",
    "/var/cache/apt/*",
    "/var/cache/apt/archives/*",
    "/var/log/dpkg.log",
    "/var/log/apt/*",
    "/var/log/apt",
    "/tmp/*",
    "/var/tmp/*",
    "/root/.cache",
    "/root/.cache/pip",
    "~/.cache",
    "~/.cache/pip",
];

/// `rm -rf PATH...` where every path is clean-up (or one of `extra`, files the mapped
/// commands fetched). `home` is the notebook user's home directory.
pub fn cleanup_rm(words: &[String], extra: &[String]) -> bool {
    let w = command_words(words);
    if w.first().map(String::as_str) != Some("rm") {
        return false;
    }
    let paths: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
    !paths.is_empty()
        && paths.iter().all(|p| {
            let p = p.trim_end_matches('/');
            CLEANUP.contains(&p)
                || extra.iter().any(|e| e.trim_end_matches('/') == p)
                || p.ends_with("/.cache")
                || p.ends_with("/.cache/pip")
                || p.ends_with("/pkgs/*") && p.contains("conda")
        })
}

/// `curl -fOL URL` / `curl -o FILE URL` / `wget URL [-O FILE]`: (url, the file it writes).
pub fn fetch(words: &[String]) -> Option<(String, String)> {
    let w = command_words(words);
    let tool = w.first()?.as_str();
    if tool != "curl" && tool != "wget" {
        return None;
    }
    let mut url = None;
    let mut out = None;
    let mut dir: Option<String> = None;
    // curl writes to stdout unless told `-o FILE` or `-O` (the URL's file name); wget writes
    // the URL's file name unless told otherwise.
    let mut remote_name = tool == "wget";
    let short = |a: &str| a.starts_with('-') && !a.starts_with("--");
    let out_flag = if tool == "curl" { 'o' } else { 'O' };
    let mut i = 1;
    while i < w.len() {
        let a = w[i].as_str();
        if a == "--output" || a == "--output-document" || (short(a) && a.ends_with(out_flag)) {
            i += 1;
            out = Some(w.get(i)?.clone());
        } else if let Some(v) = a
            .strip_prefix("--output=")
            .or_else(|| a.strip_prefix("--output-document="))
        {
            out = Some(v.to_string());
        } else if tool == "wget" && (a == "-P" || a == "--directory-prefix") {
            i += 1;
            dir = Some(w.get(i)?.clone());
        } else if let Some(v) = a
            .strip_prefix("--directory-prefix=")
            .filter(|_| tool == "wget")
        {
            dir = Some(v.to_string());
        } else if a.contains("://") {
            url = Some(a.to_string());
        } else if short(a) && a[1..].contains(out_flag) {
            // `-oFILE`, `-ofoo`: not read.
            return None;
        } else if tool == "curl" && (a == "--remote-name" || short(a) && a.contains('O')) {
            remote_name = true;
        } else if matches!(
            a,
            "--retry" | "-w" | "--connect-timeout" | "--max-time" | "-t" | "--tries"
        ) {
            i += 1;
        } else if !a.starts_with('-') {
            return None;
        }
        i += 1;
    }
    let url = url?;
    let file = match out {
        Some(o) if o == "-" => return None,
        Some(o) => o,
        None if remote_name => {
            let name = url.rsplit('/').next().unwrap_or_default();
            match dir {
                Some(d) => format!("{}/{name}", d.trim_end_matches('/')),
                None => name.to_string(),
            }
        }
        None => return None,
    };
    Some((url, file))
}

/// The version of a code-server release package URL
/// (`.../coder/code-server/releases/download/v4.22.1/code-server_4.22.1_amd64.deb`).
pub fn code_server_url(url: &str) -> Option<String> {
    let rest = url.split("/coder/code-server/releases/download/v").nth(1)?;
    let (version, file) = rest.split_once('/')?;
    let ok = file.starts_with(&format!("code-server_{version}_")) && file.ends_with(".deb")
        || file.starts_with(&format!("code-server-{version}-")) && file.ends_with(".rpm");
    (ok && !version.is_empty()).then(|| version.to_string())
}

/// `dpkg -i FILE` or `apt-get install -y ./FILE`: the package file installed.
pub fn deb_install(words: &[String]) -> Option<String> {
    let w = command_words(words);
    match w.first()?.as_str() {
        "dpkg" => {
            let files: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
            (w.iter().any(|a| a == "-i" || a == "--install") && files.len() == 1)
                .then(|| files[0].clone())
        }
        "apt-get" | "apt" => {
            let rest: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
            (rest.len() == 2 && rest[0] == "install" && rest[1].ends_with(".deb"))
                .then(|| rest[1].clone())
        }
        // `gdebi -n FILE`: like `apt-get install ./FILE`, the dependencies from the image's
        // apt sources.
        "gdebi" => {
            let files: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
            let batch = w.iter().any(|a| a == "-n" || a == "--non-interactive");
            (batch && files.len() == 1 && files[0].ends_with(".deb")).then(|| files[0].clone())
        }
        _ => None,
    }
}

/// `curl -fsSL https://code-server.dev/install.sh | sh -s -- --version 4.22.1`: the version
/// (`Some(None)` when the script is run without one).
pub fn code_server_script(text: &str) -> Option<Option<String>> {
    if !text.contains("code-server.dev/install.sh")
        || !(text.contains("| sh") || text.contains("| bash"))
    {
        return None;
    }
    let after = text.split("--version").nth(1)?;
    let v: String = after
        .trim_start_matches(['=', ' '])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    Some((!v.is_empty()).then_some(v))
}

/// `code-server --install-extension A [--install-extension B]`: the extensions.
pub fn extensions(words: &[String]) -> Option<Vec<String>> {
    let w = command_words(words);
    if w.first()? != "code-server" {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < w.len() {
        match w[i].as_str() {
            "--install-extension" => {
                i += 1;
                out.push(w.get(i)?.clone());
            }
            "--force" => {}
            _ => return None,
        }
        i += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// A `pip install` command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipInstall {
    pub requirements: Vec<String>,
    pub files: Vec<String>,
    /// `(option, url)`: `index-url` or `extra-index-url`.
    pub indexes: Vec<(String, String)>,
    pub pre: bool,
}

/// `pip install ...`, `pip3 ...`, `python -m pip ...`: `Err(option)` for an option jcx cannot
/// express, `Ok(None)` when it is not a pip install.
pub fn pip(words: &[String]) -> Result<Option<PipInstall>, String> {
    let w = command_words(words);
    let start = match w.first().map(String::as_str) {
        Some("pip" | "pip3") => 1,
        Some("python" | "python3")
            if w.get(1).map(String::as_str) == Some("-m")
                && w.get(2).is_some_and(|p| p == "pip") =>
        {
            3
        }
        _ => return Ok(None),
    };
    let mut p = PipInstall::default();
    let mut install = false;
    let mut i = start;
    while i < w.len() {
        let a = w[i].as_str();
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => {
                    i += 1;
                    w.get(i).cloned().ok_or_else(|| a.to_string())
                }
            }
        };
        match flag {
            "install" if !install => install = true,
            "--no-cache-dir"
            | "--disable-pip-version-check"
            | "-q"
            | "--quiet"
            | "-qq"
            | "-U"
            | "--upgrade"
            | "--no-input"
            | "--prefer-binary"
            | "--progress-bar"
            | "-v"
            | "--root-user-action"
            | "--no-warn-script-location"
            | "--compile" => {
                if matches!(flag, "--progress-bar" | "--root-user-action") && inline.is_none() {
                    i += 1;
                }
            }
            "--pre" => p.pre = true,
            "-r" | "--requirement" => p.files.push(value()?),
            "-i" | "--index-url" => p.indexes.push(("index-url".into(), value()?)),
            "--extra-index-url" => p.indexes.push(("extra-index-url".into(), value()?)),
            _ if flag.starts_with('-') => return Err(a.to_string()),
            _ if !install => return Ok(None),
            _ => p.requirements.push(a.to_string()),
        }
        i += 1;
    }
    if !install || (p.requirements.is_empty() && p.files.is_empty()) {
        return Ok(None);
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn recognises_installs() {
        assert_eq!(
            apt(&w(
                "DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends wget vim=2:9.1"
            )),
            Some(Apt::Install {
                packages: vec!["wget".into(), "vim=2:9.1".into()],
                recommends: false
            })
        );
        assert_eq!(apt(&w("apt-get install -y ./x.deb")), None);
        assert_eq!(apt(&w("apt-get upgrade -y")), None);
        assert_eq!(
            conda(&w("mamba install --yes -c pytorch faiss-cpu")),
            Some(Conda::Install {
                specs: vec!["pytorch::faiss-cpu".into()]
            })
        );
        assert_eq!(conda(&w("mamba create -n x python")), None);
        assert!(cleanup_rm(&w("rm -rf /var/lib/apt/lists/*"), &[]));
        assert!(!cleanup_rm(&w("rm -rf /opt/x"), &[]));
        assert_eq!(
            fetch(&w("curl -fOL https://github.com/coder/code-server/releases/download/v4.22.1/code-server_4.22.1_amd64.deb")),
            Some(("https://github.com/coder/code-server/releases/download/v4.22.1/code-server_4.22.1_amd64.deb".into(), "code-server_4.22.1_amd64.deb".into()))
        );
        // Options, with their values written after `=` or as the next word.
        let words = w("-y --file=a.lock -n base run python -m x");
        let mut opts = Options::new(&words);
        let mut seen = Vec::new();
        while let Some(o) = opts.next_opt() {
            match o.flag {
                "--file" | "-n" => seen.push(opts.value(&o).unwrap()),
                "run" => {
                    seen.push(opts.rest().join(" "));
                    break;
                }
                _ => seen.push(o.word.to_string()),
            }
        }
        assert_eq!(seen, ["-y", "a.lock", "base", "run python -m x"]);
        let last = w("--name");
        let mut opts = Options::new(&last);
        let o = opts.next_opt().unwrap();
        assert_eq!(opts.value(&o), None);
        assert!(is_conda_dir("${CONDA_DIR}/") && !is_conda_dir("/opt/conda/envs/x"));
        // To standard output: no file.
        assert_eq!(fetch(&w("wget -qO - https://example.org/key.asc")), None);
        assert_eq!(fetch(&w("curl -fsSL https://example.org/key.asc")), None);
        assert_eq!(
            fetch(&w("wget -P /tmp -q https://example.org/a/b.tgz")),
            Some(("https://example.org/a/b.tgz".into(), "/tmp/b.tgz".into()))
        );
        assert_eq!(
            deb_install(&w("gdebi --non-interactive --quiet r_1_amd64.deb")),
            Some("r_1_amd64.deb".into())
        );
        assert_eq!(
            code_server_url(
                "https://github.com/coder/code-server/releases/download/v4.22.1/code-server_4.22.1_amd64.deb"
            ),
            Some("4.22.1".into())
        );
        assert_eq!(
            code_server_script(
                "curl -fsSL https://code-server.dev/install.sh | sh -s -- --version=4.9.0"
            ),
            Some(Some("4.9.0".into()))
        );
        assert_eq!(
            extensions(&w(
                "code-server --install-extension a.b --install-extension c.d"
            )),
            Some(vec!["a.b".into(), "c.d".into()])
        );
        let p = pip(&w(
            "pip3 --disable-pip-version-check --no-cache-dir install -r /tmp/r.txt",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(p.files, vec!["/tmp/r.txt"]);
        let p = pip(&w(
            "python -m pip install --index-url https://download.pytorch.org/whl/cu121 torch==2.2.1",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(p.indexes.len(), 1);
        assert_eq!(pip(&w("pip install --no-deps x")), Err("--no-deps".into()));
        assert_eq!(pip(&w("pip uninstall x")), Ok(None));
    }
}
