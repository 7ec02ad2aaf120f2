//! `apt-repository NAME "URL" suite= components= key= fingerprint= [arch=] { packages … }`: a
//! third-party apt repository with its signing key, then packages from it. The key is
//! downloaded, checked against the fingerprint written in the manifest (exactly one primary
//! key, that one), exported into its own keyring and named by the source's `signed-by=`, so it
//! vouches for this repository only.

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::{Checker, WordRule};
use super::decode::{Entries, name_span, no_children, unknown_node};
use super::downloads::ARCHES;
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, AptRepository};

pub static APT_REPOSITORY: Setting = Setting {
    name: "apt-repository",
    shape: Shape::Custom(read),
    inherit: Inherit::Custom(merge),
    once: false,
    app_only: false,
    example: Some(
        "apt-repository github-cli \"https://cli.github.com/packages\" suite=stable components=main key=\"https://cli.github.com/packages/githubcli-archive-keyring.gpg\" fingerprint=\"2C61 0620 1985 B60E 6C7A  C873 23F3 D4B0 65F9 FD60\" { packages gh; }",
    ),
    check,
    explain: Explain::Custom(explain),
};

const PROPS: &[&str] = &["suite", "components", "key", "fingerprint", "arch"];

#[derive(Debug, Clone)]
pub struct RawAptRepository {
    pub span: SourceSpan,
    pub name: Sp<String>,
    pub url: Option<Sp<String>>,
    pub suite: Option<Sp<String>>,
    pub components: Option<Sp<String>>,
    pub key: Option<Sp<String>>,
    pub fingerprint: Option<Sp<String>>,
    pub arch: Option<Sp<String>>,
    pub packages: Vec<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let name = en.one_string("a name, then the repository URL", problems);
    let url = if en.args.is_empty() {
        if name.is_some() {
            problems.push(
                Problem::error(Code::MissingArgument, name_span(node), "`apt-repository` needs the repository URL")
                    .label("no URL")
                    .help("write `apt-repository NAME \"https://…\" suite=… components=… key=\"https://…\" fingerprint=\"…\" { packages … }`"),
            );
        }
        None
    } else {
        let e = en.args.remove(0);
        super::decode::string_of(e, "the repository URL", problems)
    };
    let suite = en.prop_string("suite", problems);
    let components = en.prop_string("components", problems);
    let key = en.prop_string("key", problems);
    let fingerprint = en.prop_string("fingerprint", problems);
    let arch = en.prop_string("arch", problems);
    en.finish(PROPS, problems);
    let name = name?;
    for (prop, v) in [
        ("suite", &suite),
        ("components", &components),
        ("key", &key),
        ("fingerprint", &fingerprint),
    ] {
        if v.is_none() {
            problems.push(missing(name_span(node), &name.v, prop));
        }
    }
    let packages = read_packages(node, problems);
    Some(Value::Items(vec![Box::new(RawAptRepository {
        span: node.span(),
        name,
        url,
        suite,
        components,
        key,
        fingerprint,
        arch,
        packages,
    })]))
}

fn missing(at: SourceSpan, name: &str, prop: &str) -> Problem {
    let example = match prop {
        "suite" => "suite=stable (the distribution, such as `jammy` or `stable`)",
        "components" => "components=main (one or more, such as \"main contrib\")",
        "key" => "key=\"https://…/key.gpg\" (the URL of the repository's signing key)",
        _ => {
            "fingerprint=\"<40 hexadecimal digits>\" (as the repository publishes it, spaces allowed)"
        }
    };
    Problem::error(
        Code::InvalidAptRepository,
        at,
        format!("apt repository `{name}` has no `{prop}=`"),
    )
    .label(format!("no `{prop}=`"))
    .help(format!("add `{example}`"))
}

fn read_packages(node: &KdlNode, problems: &mut Vec<Problem>) -> Vec<Sp<String>> {
    let mut out: Vec<Sp<String>> = Vec::new();
    let mut given: Option<SourceSpan> = None;
    for child in node.children().map_or(&[][..], |c| c.nodes()) {
        let n = child.name().value();
        if n != "packages" {
            problems.push(unknown_node(
                child,
                n,
                &["packages"],
                "an `apt-repository` block",
            ));
            continue;
        }
        if let Some(first) = given {
            problems.push(
                Problem::error(
                    Code::Duplicate,
                    name_span(child),
                    "`packages` is given twice",
                )
                .label("again")
                .also(first, "first list")
                .help("list every package of the repository on one `packages` line"),
            );
            continue;
        }
        given = Some(name_span(child));
        let mut en = Entries::new(child, problems);
        out = en.strings("package", true, problems);
        en.finish(&[], problems);
        no_children(child, problems);
    }
    if given.is_none() {
        problems.push(
            Problem::error(
                Code::MissingChildren,
                name_span(node),
                "an apt repository needs the packages to install from it",
            )
            .label("no `packages`")
            .help("add a block after the node, `{ packages NAME… }`: jcx adds a repository only to install from it"),
        );
    }
    out
}

/// A repository of a child with the name of an inherited one replaces it.
fn merge(base: &mut Value, over: &Value) {
    let names: Vec<String> = over
        .items::<RawAptRepository>()
        .map(|d| d.name.v.clone())
        .collect();
    let mut keep: Vec<bool> = base
        .items::<RawAptRepository>()
        .map(|d| !names.contains(&d.name.v))
        .collect();
    keep.reverse();
    if let Some(items) = base.boxed_items() {
        items.retain(|_| keep.pop().unwrap_or(true));
        for d in over.items::<RawAptRepository>() {
            items.push(Box::new(d.clone()));
        }
    }
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for r in v.items::<RawAptRepository>() {
        if let Some(first) = seen.iter().find(|n| n.v == r.name.v) {
            cx.push(
                Problem::error(
                    Code::Duplicate,
                    r.name.span,
                    format!("apt repository `{}` is declared twice", r.name.v),
                )
                .label("same name")
                .also(first.span, "first declared here")
                .help("give each repository its own name"),
            );
        }
        seen.push(&r.name);
        check_one(cx, r);
    }
}

fn refuse(cx: &mut Checker<'_>, span: SourceSpan, msg: String, label: &str, help: &str) {
    cx.push(
        Problem::error(Code::InvalidAptRepository, span, msg)
            .label(label.to_string())
            .help(help.to_string()),
    );
}

/// A word of the `deb` line: letters, digits and `._+-`, starting with a letter or digit.
fn plain_word(s: &str) -> bool {
    s.len() <= 64
        && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c))
}

fn check_one(cx: &mut Checker<'_>, r: &RawAptRepository) {
    let n = &r.name;
    let name_ok = (1..=40).contains(&n.v.len())
        && n.v.as_bytes()[0].is_ascii_lowercase()
        && n.v
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    if cx.safe(n, "the repository name", false) && !name_ok {
        refuse(
            cx,
            n.span,
            format!("`{}` is not an apt repository name", n.v.escape_debug()),
            "name",
            "lowercase letters, digits and `-`, starting with a letter, at most 40 characters, such as `github-cli`; it names `/etc/apt/keyrings/<name>.gpg` and `/etc/apt/sources.list.d/<name>.list`",
        );
    }
    for (v, what) in [(&r.url, "the repository URL"), (&r.key, "the key URL")] {
        if let Some(v) = v {
            https(cx, v, what);
        }
    }
    if let Some(s) = &r.suite
        && cx.safe(s, "the suite", false)
        && !plain_word(&s.v)
    {
        refuse(
            cx,
            s.span,
            format!("`{}` is not a suite", s.v.escape_debug()),
            "suite",
            "one word of letters, digits and `._+-`, as the repository documents it (`stable`, `jammy`); flat repositories (`./`) are not supported",
        );
    }
    if let Some(c) = &r.components
        && cx.safe(c, "the components", false)
        && !c.v.split(' ').all(plain_word)
    {
        refuse(
            cx,
            c.span,
            format!("`{}` is not a list of components", c.v.escape_debug()),
            "components",
            "one or more words of letters, digits and `._+-`, separated by single spaces: `main` or \"main contrib\"",
        );
    }
    if let Some(f) = &r.fingerprint
        && cx.safe(f, "the fingerprint", false)
        && fingerprint(&f.v).is_none()
    {
        let digits = f.v.chars().filter(|c| !c.is_whitespace()).count();
        cx.push(
            Problem::error(Code::InvalidFingerprint, f.span, format!("`{}` is not an OpenPGP fingerprint ({digits} characters without spaces, not 40 hexadecimal digits)", f.v.escape_debug()))
                .label("fingerprint")
                .help("write the full 40-digit fingerprint of the repository's signing key, as its documentation publishes it or as `gpg --show-keys KEYFILE` prints it (spaces allowed); a short or long key ID is not enough"),
        );
    }
    if let Some(a) = &r.arch
        && !ARCHES.contains(&a.v.as_str())
    {
        refuse(
            cx,
            a.span,
            format!("unknown `arch={}`", a.v.escape_debug()),
            "arch",
            "`arch=amd64` or `arch=arm64` (Debian's names), or no `arch=` for every architecture",
        );
    }
    cx.word_list(
        &r.packages,
        WordRule {
            what: "the apt package",
            quoted: false,
            valid: super::packages::is_apt_package,
            code: Code::InvalidAptPackage,
            noun: "a Debian package name",
            label: "apt package",
            help: "package names are lowercase letters, digits, `+`, `-` and `.` (at least two characters, starting with a letter or digit), optionally `=version`",
        },
    );
}

fn https(cx: &mut Checker<'_>, v: &Sp<String>, what: &str) {
    if v.v.starts_with("http://") {
        cx.push(
            Problem::error(Code::InvalidUrl, v.span, format!("{what} `{}` is not https", v.v))
                .label("URL")
                .help("use the https URL: the key decides what the image trusts, and over http the repository's metadata can be held back by anyone on the way"),
        );
    } else {
        super::sources::url(cx, v, what, false);
    }
}

/// The 40 hexadecimal digits of a fingerprint, uppercase, spaces removed.
pub fn fingerprint(s: &str) -> Option<String> {
    let f: String = s.chars().filter(|c| *c != ' ').collect();
    (f.len() == 40 && f.bytes().all(|c| c.is_ascii_hexdigit())).then(|| f.to_ascii_uppercase())
}

/// The apt repositories of an app, each checked against the app's platforms.
pub fn model(cx: &mut Checker<'_>, r: &Resolved, platforms: &[String]) -> Vec<AptRepository> {
    let mut out = Vec::new();
    for d in r.settings.items::<RawAptRepository>(&APT_REPOSITORY) {
        if let Some(a) = &d.arch {
            for p in platforms {
                let other = p.trim_start_matches("linux/");
                if other != a.v {
                    cx.push(
                        Problem::error(Code::InvalidAptRepository, a.span, format!("apt repository `{}` is for {} only, but app `{}` also builds for {other}", d.name.v, a.v, r.name.v))
                            .label(format!("`arch={}`", a.v))
                            .help(format!("remove `arch=` if the repository has {other} packages, or remove `{p}` from the app's `platforms`")),
                    );
                }
            }
        }
        let (Some(url), Some(suite), Some(components), Some(key), Some(fpr)) = (
            &d.url,
            &d.suite,
            &d.components,
            &d.key,
            d.fingerprint.as_ref().and_then(|f| fingerprint(&f.v)),
        ) else {
            continue;
        };
        out.push(AptRepository {
            name: d.name.v.clone(),
            url: url.v.clone(),
            suite: suite.v.clone(),
            components: components.v.clone(),
            key: key.v.clone(),
            fingerprint: fpr,
            arch: d.arch.as_ref().map(|a| a.v.clone()),
            packages: d.packages.iter().map(|p| p.v.clone()).collect(),
        });
    }
    out
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, _app: &App) {
    for d in r.settings.items::<RawAptRepository>(&APT_REPOSITORY) {
        let packages: Vec<&str> = d.packages.iter().map(|p| p.v.as_str()).collect();
        let url = d.url.as_ref().map_or("", |u| u.v.as_str());
        let o = cx.origin(d.span);
        cx.push(
            "apt-repository",
            format!(
                "{}: {} from {url} (key checked)",
                d.name.v,
                packages.join(" ")
            ),
            o,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints() {
        assert_eq!(
            fingerprint("2C61 0620 1985 B60E 6C7A  C873 23F3 D4B0 65F9 fd60").as_deref(),
            Some("2C6106201985B60E6C7AC87323F3D4B065F9FD60")
        );
        assert_eq!(fingerprint("23F3D4B065F9FD60"), None);
        assert_eq!(fingerprint(&"g".repeat(40)), None);
        assert!(plain_word("stable") && plain_word("jammy-updates") && !plain_word("./"));
    }
}
