//! The repository files a `dockerfile` block copies: the sources of its `COPY` and `ADD`
//! instructions as BuildKit reads them, and the sources of its `RUN --mount=type=bind`
//! mounts of the build context. Each is checked like a `file` path (it must exist, glob
//! patterns must match) and, like a `file`, reaches the app's allowlist
//! (`Dockerfile.dockerignore`) and its workflow's `paths` filter: a block can no longer copy a
//! file the build context does not hold.
//!
//! Not sources of the build context, so not checked: a copy or mount from another stage or
//! image (`--from=`), a heredoc (`COPY <<EOF /dest`), a URL or git repository that `ADD`
//! fetches, mounts of other types (`cache`, `secret`, `ssh`, `tmpfs`), and `ONBUILD COPY` (it
//! runs in the build of another image).

use std::path::Path;

use super::check::Checker;
use super::raw::Sp;
use super::repo_path::{self, Naming};
use crate::dockerfile_block::Reading;
use crate::error::{Code, Problem};

/// One source of a `COPY` or `ADD` in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// As written.
    pub word: String,
    pub kind: Kind,
    /// 0-based line of the block text where it is written.
    pub line: usize,
    /// A `RUN --mount` source, not a copy's.
    pub mount: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A path of the build context, as BuildKit reads it: relative to the repository root
    /// (a leading `/` or `./` dropped), without a trailing `/`.
    Path(String),
    /// It holds `$`: only the build knows the path.
    Variable,
    /// A URL given to `COPY`, which cannot fetch one.
    Url,
}

/// The sources of the block's `COPY` and `ADD` instructions that come from the build context.
pub fn sources(reading: &Reading, text: &str) -> Vec<Source> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for ins in &reading.instructions {
        if ins.is("RUN") {
            out.extend(mounts(ins, &lines));
            continue;
        }
        let add = ins.is("ADD");
        if !(add || ins.is("COPY"))
            || ins
                .flags
                .iter()
                .any(|f| f.to_ascii_lowercase().starts_with("--from="))
        {
            continue;
        }
        let words: Vec<String> = if ins.json {
            serde_json::from_str(&ins.args).unwrap_or_default()
        } else {
            ins.args
                .split(['\t', '\x0b', '\x0c', '\r', ' '])
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let Some((_, srcs)) = words.split_last() else {
            continue;
        };
        for word in srcs {
            let heredoc = word
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .starts_with("<<");
            let remote = word.contains("://") || word.starts_with("git@");
            if heredoc || (add && remote) {
                continue;
            }
            let kind = if remote {
                Kind::Url
            } else if word.contains('$') {
                Kind::Variable
            } else {
                Kind::Path(normalize(word))
            };
            let line = (ins.line..=ins.end)
                .find(|&n| lines.get(n).is_some_and(|l| l.contains(word.as_str())))
                .unwrap_or(ins.line);
            out.push(Source {
                word: word.clone(),
                kind,
                line,
                mount: false,
            });
        }
    }
    out
}

/// The build-context sources of a `RUN`'s bind mounts: `--mount=type=bind,source=PATH,…`
/// (`bind` is the default type; `src` is `source`; no source is the whole context, `.`).
fn mounts(ins: &crate::dockerfile_block::Instruction, lines: &[&str]) -> Vec<Source> {
    let mut out = Vec::new();
    for f in &ins.flags {
        let Some(spec) = f
            .strip_prefix("--mount=")
            .or_else(|| f.strip_prefix("--MOUNT="))
        else {
            continue;
        };
        let mut kind = "bind";
        let mut source = None;
        let mut other_stage = false;
        for field in spec.split(',') {
            let (k, v) = field.split_once('=').unwrap_or((field, ""));
            match k.to_ascii_lowercase().as_str() {
                "type" => kind = v,
                "source" | "src" => source = Some(v.to_string()),
                "from" => other_stage = true,
                _ => {}
            }
        }
        if !kind.eq_ignore_ascii_case("bind") || other_stage {
            continue;
        }
        let word = source.unwrap_or_else(|| ".".into());
        let kind = if word.contains('$') {
            Kind::Variable
        } else {
            Kind::Path(normalize(&word))
        };
        let line = (ins.line..=ins.end)
            .find(|&n| lines.get(n).is_some_and(|l| l.contains(f.as_str())))
            .unwrap_or(ins.line);
        out.push(Source {
            word,
            kind,
            line,
            mount: true,
        });
    }
    out
}

/// A source as BuildKit resolves it in the context: `./a`, `/a`, `a/./b/` are `a`, `a/b`.
fn normalize(word: &str) -> String {
    let parts: Vec<&str> = word
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Checks every source of a block (whose reading found no problem): see the module.
pub fn check(cx: &mut Checker<'_>, text: &Sp<String>, reading: &Reading) {
    for s in sources(reading, &text.v) {
        let span = cx.line_span(text.span, s.line, &text.v);
        match s.kind {
            Kind::Path(p) => {
                repo_path::check(cx, &Sp::new(p, span), true, Naming::Block);
            }
            Kind::Variable => cx.push(
                Problem::error(Code::InvalidFile, span, format!("`{}` names the file to {} through a variable", s.word.escape_debug(), if s.mount { "mount" } else { "copy" }))
                    .label(if s.mount { "variable in a mount source" } else { "variable in a COPY source" })
                    .help("jcx checks every file a block copies and lets exactly those into the build context (the app's `Dockerfile.dockerignore`): a path known only during the build would be left out, and the build would fail. Write the path itself, such as `COPY environment.yml /tmp/`, or copy the file with `file`"),
            ),
            Kind::Url => cx.push(
                Problem::error(Code::InvalidFile, span, format!("`COPY` cannot fetch `{}`", s.word.escape_debug()))
                    .label("URL in a COPY source")
                    .help("BuildKit fails the build: download it with `download` (which checks its sha256), or `ADD --checksum=sha256:… URL DEST`"),
            ),
        }
    }
}

/// The repository paths a block copies, each once, with whether it names (or a glob matches) a
/// directory: for the allowlist and the `paths` filter.
pub fn context_paths(text: &str, root: Option<&Path>) -> Vec<(String, bool)> {
    let reading = crate::dockerfile_block::read(text);
    let mut out: Vec<(String, bool)> = Vec::new();
    for s in sources(&reading, text) {
        let Kind::Path(p) = s.kind else { continue };
        let directory = root.is_some_and(|r| {
            if repo_path::is_glob(&p) {
                repo_path::expand(r, &p).iter().any(|m| r.join(m).is_dir())
            } else {
                r.join(&p).is_dir()
            }
        });
        if !out.iter().any(|(o, _)| *o == p) {
            out.push((p, directory));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, Kind, usize)> {
        sources(&crate::dockerfile_block::read(text), text)
            .into_iter()
            .map(|s| (s.word, s.kind, s.line))
            .collect()
    }

    fn path(p: &str) -> Kind {
        Kind::Path(p.into())
    }

    #[test]
    fn sources_as_buildkit_reads_them() {
        assert_eq!(
            kinds("COPY --chown=1000:100 a.txt ./b/ /dest/"),
            [
                ("a.txt".into(), path("a.txt"), 0),
                ("./b/".into(), path("b"), 0)
            ]
        );
        assert_eq!(
            kinds("RUN x\ncopy [\"c d\", \"/e\"]"),
            [("c d".into(), path("c d"), 1)]
        );
        assert_eq!(
            kinds("COPY a \\\n  nb/*.ipynb /w/"),
            [
                ("a".into(), path("a"), 0),
                ("nb/*.ipynb".into(), path("nb/*.ipynb"), 1)
            ]
        );
        assert_eq!(kinds("COPY /scripts /x")[0].1, path("scripts"));
        assert_eq!(kinds("COPY . /x")[0].1, path("."));
        assert_eq!(kinds("COPY ${F} /x")[0].1, Kind::Variable);
        assert_eq!(kinds("COPY https://e.org/a /x")[0].1, Kind::Url);
        // Bind mounts of the build context are read too.
        assert_eq!(
            kinds(
                "RUN --mount=type=bind,source=./req/r.txt,target=/tmp/r.txt \\
    pip install -r /tmp/r.txt"
            ),
            [("./req/r.txt".into(), path("req/r.txt"), 0)]
        );
        assert_eq!(
            kinds("RUN --mount=target=/src,src=tools make -C /src"),
            [("tools".into(), path("tools"), 0)]
        );
        assert_eq!(kinds("RUN --mount=target=/ctx ls /ctx")[0].1, path("."));
        assert_eq!(
            kinds("RUN --mount=type=bind,source=${F},target=/x true")[0].1,
            Kind::Variable
        );
    }

    #[test]
    fn what_is_not_from_the_build_context() {
        assert!(kinds("COPY --from=build /out /x").is_empty());
        assert!(kinds("COPY --FROM=build /out /x").is_empty());
        assert!(kinds("COPY <<EOF /x\nhi\nEOF").is_empty());
        assert!(kinds("ADD https://e.org/a.tgz /x").is_empty());
        assert!(kinds("ADD git@github.com:o/r.git /x").is_empty());
        assert!(kinds("ONBUILD COPY a /x").is_empty());
        assert!(kinds("COPY onlyone").is_empty());
        assert!(kinds("RUN cp a b").is_empty());
        assert!(kinds("RUN --mount=type=cache,target=/root/.cache pip install x").is_empty());
        assert!(kinds("RUN --mount=type=secret,id=t cat /run/secrets/t").is_empty());
        assert!(kinds("RUN --mount=type=bind,from=build,source=/out,target=/o ls /o").is_empty());
    }
}
