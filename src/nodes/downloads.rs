//! `download NAME "URL" sha256="…" to="/PATH" as=file|tar|deb`: a file from the web, its
//! checksum written into the Dockerfile and checked by the build, then placed with a mode,
//! unpacked, or installed as a Debian package. Per-architecture URLs are children named after
//! the build's `TARGETARCH` (`amd64 "URL" sha256="…"`). Never `curl | sh`: what is downloaded is
//! only ever placed, unpacked or installed, and a wrong checksum fails the build.

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, children, name_span, no_children, string_of, unknown_node};
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, Download, DownloadSource};

pub static DOWNLOAD: Setting = Setting {
    name: "download",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: Some(
        "download tool \"https://example.org/tool-1.0\" sha256=\"…\" to=\"/usr/local/bin/tool\" mode=\"0755\"",
    ),
    check,
    explain: Explain::Custom(explain),
};

/// The architectures a download may name: Docker's `TARGETARCH` of the platforms jcx builds.
pub const ARCHES: &[&str] = &["amd64", "arm64"];
pub const KINDS: &[&str] = &["file", "tar", "deb"];
const PROPS: &[&str] = &["sha256", "to", "as", "strip", "mode", "unverified"];

/// One URL of a download: for every architecture (`arch` is `None`) or for one.
#[derive(Debug, Clone)]
pub struct RawSource {
    pub arch: Option<Sp<String>>,
    pub url: Sp<String>,
    pub sha256: Option<Sp<String>>,
}

#[derive(Debug, Clone)]
pub struct RawDownload {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub sources: Vec<RawSource>,
    pub to: Option<Sp<String>>,
    pub kind: Option<Sp<String>>,
    pub strip: Option<Sp<i128>>,
    pub mode: Option<Sp<String>>,
    pub unverified: Option<Sp<bool>>,
}

impl RawDownload {
    fn kind(&self) -> &str {
        self.kind.as_ref().map_or("file", |k| k.v.as_str())
    }
}

pub(super) fn prop_value<T>(
    en: &mut Entries<'_>,
    key: &str,
    expected: &str,
    fix: &str,
    take: fn(&KdlValue) -> Option<T>,
    problems: &mut Vec<Problem>,
) -> Option<Sp<T>> {
    let e = en.prop(key)?;
    match take(e.value()) {
        Some(v) => Some(Sp::new(v, e.span())),
        None => {
            problems.push(
                Problem::error(
                    Code::WrongType,
                    e.span(),
                    format!("`{key}=` expects {expected}"),
                )
                .label("wrong type")
                .help(fix.to_string()),
            );
            None
        }
    }
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let name = en.one_string("a name, then a URL", problems);
    let url = if en.args.is_empty() {
        None
    } else {
        let e = en.args.remove(0);
        string_of(e, "the download URL", problems)
    };
    let sha256 = en.prop_string("sha256", problems);
    let to = en.prop_string("to", problems);
    let kind = en.prop_string("as", problems);
    let strip = prop_value(
        &mut en,
        "strip",
        "a number",
        "write `strip=1` to drop the archive's top directory",
        |v| match v {
            KdlValue::Integer(i) => Some(*i),
            _ => None,
        },
        problems,
    );
    let mode = en.prop_string("mode", problems);
    let unverified = prop_value(
        &mut en,
        "unverified",
        "#true",
        "write `unverified=#true` only when no checksum can exist",
        |v| match v {
            KdlValue::Bool(b) => Some(*b),
            _ => None,
        },
        problems,
    );
    en.finish(PROPS, problems);
    let mut sources = Vec::new();
    match (url, node.children()) {
        (Some(url), None) => sources.push(RawSource {
            arch: None,
            url,
            sha256,
        }),
        (Some(_), Some(_)) => problems.push(
            Problem::error(
                Code::InvalidDownload,
                node.span(),
                "a download has one URL or one URL per architecture, not both",
            )
            .label("URL and children")
            .help("remove the URL after the name, or the `{ amd64 … arm64 … }` block"),
        ),
        (None, None) => {
            if name.is_some() {
                problems.push(
                    Problem::error(Code::MissingArgument, name_span(node), "`download` needs a URL")
                        .label("no URL")
                        .help("write `download NAME \"https://…\" sha256=\"…\" …`, or one URL per architecture in a block: `download NAME … { amd64 \"https://…\" sha256=\"…\"; arm64 … }`"),
                );
            }
        }
        (None, Some(_)) => {
            if let Some(s) = &sha256 {
                problems.push(
                    Problem::error(Code::InvalidDownload, s.span, "with one URL per architecture, each URL has its own `sha256=`")
                        .label("on the download")
                        .help("move the checksum onto the architecture's line: `amd64 \"https://…\" sha256=\"…\"`"),
                );
            }
            sources = read_arches(node, problems);
        }
    }
    let d = RawDownload {
        span: node.span(),
        name: name?,
        sources,
        to,
        kind,
        strip,
        mode,
        unverified,
    };
    (!d.sources.is_empty()).then(|| Value::Items(vec![Box::new(d)]))
}

fn read_arches(node: &KdlNode, problems: &mut Vec<Problem>) -> Vec<RawSource> {
    let mut out: Vec<RawSource> = Vec::new();
    let Some(c) = children(node, problems) else {
        return out;
    };
    for child in c.nodes() {
        let arch = child.name().value();
        if !ARCHES.contains(&arch) {
            problems.push(unknown_node(child, arch, ARCHES, "a `download` block"));
            continue;
        }
        if let Some(first) = out
            .iter()
            .find(|s| s.arch.as_ref().is_some_and(|a| a.v == arch))
        {
            problems.push(
                Problem::error(
                    Code::Duplicate,
                    name_span(child),
                    format!("`{arch}` is given twice"),
                )
                .label("again")
                .also(first.url.span, "first URL")
                .help("keep one URL per architecture"),
            );
            continue;
        }
        let mut en = Entries::new(child, problems);
        let url = en.one_string("a URL", problems);
        let sha256 = en.prop_string("sha256", problems);
        en.finish(&["sha256"], problems);
        no_children(child, problems);
        if let Some(url) = url {
            out.push(RawSource {
                arch: Some(Sp::new(arch.to_string(), name_span(child))),
                url,
                sha256,
            });
        }
    }
    out
}

/// A download of a child with the name of an inherited one replaces it (a new version).
fn merge(base: &mut Value, over: &Value) {
    let names: Vec<String> = over
        .items::<RawDownload>()
        .map(|d| d.name.v.clone())
        .collect();
    let mut keep: Vec<bool> = base
        .items::<RawDownload>()
        .map(|d| !names.contains(&d.name.v))
        .collect();
    keep.reverse();
    if let Some(items) = base.boxed_items() {
        items.retain(|_| keep.pop().unwrap_or(true));
        for d in over.items::<RawDownload>() {
            items.push(Box::new(d.clone()));
        }
    }
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for d in v.items::<RawDownload>() {
        if let Some(first) = seen.iter().find(|n| n.v == d.name.v) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    d.name.span,
                    format!("download `{}` is declared twice", d.name.v),
                )
                .label("same name")
                .also(first.span, "first declared here")
                .help("give each download its own name"),
            );
        }
        seen.push(&d.name);
        check_name(cx, &d.name);
        check_sources(cx, d);
        check_placement(cx, d);
    }
}

fn check_name(cx: &mut Checker<'_>, n: &Sp<String>) {
    let ok = (1..=40).contains(&n.v.len())
        && n.v.as_bytes()[0].is_ascii_lowercase()
        && n.v
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    if cx.safe(n, "the download name", false) && !ok {
        cx.push(
            Problem::error(Code::InvalidDownload, n.span, format!("`{}` is not a download name", n.v.escape_debug()))
                .label("name")
                .help("lowercase letters, digits and `-`, starting with a letter, at most 40 characters, such as `quarto`; it names the build argument `DOWNLOAD_<NAME>_BASE`"),
        );
    }
}

fn check_sources(cx: &mut Checker<'_>, d: &RawDownload) {
    let unverified = d.unverified.as_ref().filter(|u| u.v);
    if let Some(u) = &d.unverified
        && !u.v
    {
        cx.push(
            Problem::error(Code::InvalidDownload, u.span, "`unverified=#false` is the default")
                .label("remove")
                .help("remove `unverified=#false`; every download needs `sha256=` unless it says `unverified=#true`"),
        );
    }
    for s in &d.sources {
        if s.url.v.starts_with("http://") {
            cx.push(
                Problem::error(Code::InvalidUrl, s.url.span, format!("the download URL `{}` is not https", s.url.v))
                    .label("URL")
                    .help("download over https: with http, anyone between the builder and the host sees and can stall or replace the download (the checksum would then fail the build). A mirror of any scheme can be given at build time with the download's `DOWNLOAD_<NAME>_BASE` build argument"),
            );
        } else if super::sources::url(cx, &s.url, "the download URL", false)
            && s.url.v.ends_with('/')
        {
            cx.push(
                Problem::error(
                    Code::InvalidUrl,
                    s.url.span,
                    format!("`{}` names a directory, not a file", s.url.v),
                )
                .label("URL")
                .help("give the URL of the file itself"),
            );
        }
        match (&s.sha256, unverified) {
            (Some(h), None) => check_sha256(cx, h),
            (Some(h), Some(u)) => cx.push(
                Problem::error(
                    Code::InvalidChecksum,
                    h.span,
                    "a download with a checksum is not unverified",
                )
                .label("checksum")
                .also(u.span, "opt-out")
                .help("remove `unverified=#true`: the checksum is checked"),
            ),
            (None, None) => {
                let at = s.arch.as_ref().map_or(d.name.span, |a| a.span);
                let which = s
                    .arch
                    .as_ref()
                    .map_or(String::new(), |a| format!(" ({})", a.v));
                cx.push(
                    Problem::error(Code::InvalidChecksum, at, format!("download `{}`{which} has no `sha256=`", d.name.v))
                        .label("no checksum")
                        .help("add the file's SHA-256 (`sha256sum FILE`, or the checksum the project publishes): `sha256=\"<64 hex digits>\"`; a wrong one fails the build"),
                );
            }
            (None, Some(_)) => {}
        }
    }
    if let Some(u) = unverified {
        cx.push(
            Problem::warning(Code::UncheckedDownload, u.span, format!("download `{}` is not checked: whoever controls its URL controls what the image runs", d.name.v))
                .label("no checksum")
                .help("give `sha256=\"…\"` instead: the project's published checksum, or `sha256sum` of a file you checked"),
        );
    }
}

fn check_sha256(cx: &mut Checker<'_>, h: &Sp<String>) {
    let ok = h.v.len() == 64 && h.v.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        let why = if h.v.len() != 64 {
            format!("{} characters, not 64", h.v.chars().count())
        } else {
            "not lowercase hexadecimal".to_string()
        };
        cx.push(
            Problem::error(Code::InvalidChecksum, h.span, format!("`{}` is not a SHA-256 checksum ({why})", h.v.escape_debug()))
                .label("sha256")
                .help("write the 64 lowercase hexadecimal digits `sha256sum` prints, without a `sha256:` prefix"),
        );
    }
}

fn check_placement(cx: &mut Checker<'_>, d: &RawDownload) {
    let refuse = |cx: &mut Checker<'_>, span: SourceSpan, msg: String, help: &str| {
        cx.push(
            Problem::error(Code::InvalidDownload, span, msg)
                .label("here")
                .help(help.to_string()),
        );
    };
    if let Some(k) = &d.kind
        && !KINDS.contains(&k.v.as_str())
    {
        let help = "`as=file` (the default: placed at `to=` with `mode=`), `as=tar` (unpacked into the directory `to=`) or `as=deb` (installed with apt)";
        refuse(
            cx,
            k.span,
            format!("unknown `as={}`", k.v.escape_debug()),
            help,
        );
        return;
    }
    let kind = d.kind();
    match (&d.to, kind) {
        (Some(t), "deb") => refuse(
            cx,
            t.span,
            "a `.deb` is installed by apt: it takes no `to=`".into(),
            "remove `to=`",
        ),
        (None, "file" | "tar") => refuse(
            cx,
            d.name.span,
            format!("download `{}` needs `to=`", d.name.v),
            "write where it goes: the file's path for `as=file`, the directory for `as=tar`",
        ),
        (Some(t), _) => check_dest(cx, t, kind),
        _ => {}
    }
    if let Some(s) = &d.strip {
        if kind != "tar" {
            refuse(
                cx,
                s.span,
                "`strip=` applies to `as=tar` only".into(),
                "remove `strip=`, or add `as=tar`",
            );
        } else if !(0..=10).contains(&s.v) {
            refuse(
                cx,
                s.span,
                format!("`strip={}` is out of range", s.v),
                "strip between 0 and 10 leading directories",
            );
        }
    }
    if let Some(m) = &d.mode {
        let octal = (3..=4).contains(&m.v.len()) && m.v.bytes().all(|c| (b'0'..=b'7').contains(&c));
        if kind != "file" {
            refuse(
                cx,
                m.span,
                "`mode=` applies to `as=file` only".into(),
                "remove `mode=`; an archive keeps its files' modes",
            );
        } else if !octal {
            refuse(
                cx,
                m.span,
                format!("`{}` is not a file mode", m.v.escape_debug()),
                "write octal permissions as a string, such as `mode=\"0755\"`",
            );
        }
    }
}

fn check_dest(cx: &mut Checker<'_>, t: &Sp<String>, kind: &str) {
    if !cx.safe(t, "the destination", false) {
        return;
    }
    let p = t.v.as_str();
    let ok = p.starts_with('/')
        && p.len() > 1
        && !p.split('/').any(|c| c == ".." || c == ".")
        && p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/._+@-".contains(&c));
    if !ok || (kind == "file" && p.ends_with('/')) {
        cx.push(
            Problem::error(Code::InvalidDownload, t.span, format!("`{}` is not a destination jcx can write", p.escape_debug()))
                .label("destination")
                .help("an absolute path of letters, digits and `/._+@-`, without `..` (for `as=file` the file's full path, such as `/usr/local/bin/tool`)"),
        );
    } else if let Some(tree) = crate::model::stacks_tree(p) {
        cx.push(
            Problem::error(Code::InvalidDownload, t.span, format!("`{p}` lies in `{tree}`, which belongs to the notebook user"))
                .label("root-owned")
                .help("downloads are placed as root: put them outside HOME and CONDA_DIR, such as under `/opt/` or `/usr/local/`"),
        );
    }
}

/// The downloads of an app, each checked against the app's platforms.
pub fn model(cx: &mut Checker<'_>, r: &Resolved, platforms: &[String]) -> Vec<Download> {
    let mut out = Vec::new();
    for d in r.settings.items::<RawDownload>(&DOWNLOAD) {
        let per_arch = d.sources.iter().any(|s| s.arch.is_some());
        if per_arch {
            for p in platforms {
                let arch = p.trim_start_matches("linux/");
                if !d
                    .sources
                    .iter()
                    .any(|s| s.arch.as_ref().is_some_and(|a| a.v == arch))
                {
                    cx.push(
                        Problem::error(Code::InvalidDownload, d.name.span, format!("download `{}` has no URL for {arch}, a platform app `{}` builds for", d.name.v, r.name.v))
                            .label(format!("no `{arch}`"))
                            .help(format!("add `{arch} \"https://…\" sha256=\"…\"` to the block, or remove `{p}` from the app's `platforms`")),
                    );
                }
            }
        }
        let Some(base) = common_base(&d.sources) else {
            cx.push(
                Problem::error(Code::InvalidDownload, d.span, format!("the URLs of download `{}` do not share a host", d.name.v))
                    .label("several hosts")
                    .help("one download's URLs share a base (overridable with its build argument): split it into downloads of one host each"),
            );
            continue;
        };
        out.push(Download {
            arg: format!(
                "DOWNLOAD_{}_BASE",
                d.name.v.to_ascii_uppercase().replace('-', "_")
            ),
            tmp: format!(
                "/tmp/jcx-{}{}",
                d.name.v,
                if d.kind() == "deb" {
                    ".deb"
                } else {
                    ".download"
                }
            ),
            name: d.name.v.clone(),
            per_arch,
            sources: d
                .sources
                .iter()
                .map(|s| DownloadSource {
                    arch: s.arch.as_ref().map(|a| a.v.clone()),
                    file: s.url.v[base.len() + 1..].to_string(),
                    sha256: s.sha256.as_ref().map(|h| h.v.clone()),
                })
                .collect(),
            base,
            kind: KINDS
                .iter()
                .find(|k| **k == d.kind())
                .copied()
                .unwrap_or("file"),
            to: d.to.as_ref().map(|t| t.v.clone()),
            strip: d.strip.as_ref().map_or(0, |s| s.v as u32),
            mode: d
                .mode
                .as_ref()
                .map_or_else(|| "0644".to_string(), |m| m.v.clone()),
        });
    }
    out
}

/// The longest directory (without its trailing `/`) every URL lies under, at least
/// `scheme://host`; the rest of each URL is its file.
fn common_base(sources: &[RawSource]) -> Option<String> {
    let first = &sources.first()?.url.v;
    let mut base = &first[..first.rfind('/')?];
    for s in sources {
        while !s.url.v.starts_with(&format!("{base}/")) {
            base = &base[..base.rfind('/')?];
        }
    }
    let host_end = first.find("://")? + 3;
    (base.len() > host_end && !base[host_end..].is_empty()).then(|| base.to_string())
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for d in r.settings.items::<RawDownload>(&DOWNLOAD) {
        let arches: Vec<&str> = d
            .sources
            .iter()
            .filter_map(|s| s.arch.as_ref().map(|a| a.v.as_str()))
            .collect();
        let what = match (d.kind(), &d.to) {
            ("deb", _) => "installed with apt".to_string(),
            ("tar", Some(t)) => format!("unpacked into {}", t.v),
            (_, Some(t)) => format!("placed at {}", t.v),
            _ => String::new(),
        };
        let arches = if arches.is_empty() {
            "every architecture".to_string()
        } else {
            arches.join(", ")
        };
        let checked = if d.unverified.as_ref().is_some_and(|u| u.v) {
            "NOT checked"
        } else {
            "sha256 checked"
        };
        let o = cx.origin(d.span);
        cx.push(
            "download",
            format!("{}: {what} ({arches}; {checked})", d.name.v),
            o,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(url: &str) -> RawSource {
        RawSource {
            arch: None,
            url: Sp::new(url.to_string(), SourceSpan::from(0..0)),
            sha256: None,
        }
    }

    #[test]
    fn base_is_the_common_directory() {
        let a = src("https://h.example/r/v1/x-amd64.tar.gz");
        let b = src("https://h.example/r/v1/x-arm64.tar.gz");
        assert_eq!(
            common_base(&[a.clone(), b]).as_deref(),
            Some("https://h.example/r/v1")
        );
        let c = src("https://h.example/r/v2/x-arm64.tar.gz");
        assert_eq!(
            common_base(&[a.clone(), c]).as_deref(),
            Some("https://h.example/r")
        );
        assert_eq!(
            common_base(&[a.clone(), src("https://other.example/r/x")]),
            None
        );
        assert_eq!(
            common_base(&[src("https://h.example/x")]).as_deref(),
            Some("https://h.example")
        );
    }
}
