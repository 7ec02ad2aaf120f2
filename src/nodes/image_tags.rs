//! `image-tags TEMPLATE… [latest=never|default-branch|release]`: the tags an app's image is
//! pushed with, each a template of literal text and named parts (`{base}-{sha}`), rendered by
//! docker/metadata-action. Checked where written (syntax, characters, which parts go together),
//! per app (length with the base tag, which triggers push which template) and across apps
//! ([`collisions`]: two apps sharing an image never push the same tag).

use std::collections::HashMap;

use kdl::KdlNode;
use miette::SourceSpan;

use super::check::Checker;
use super::decode::{Entries, did_you_mean, no_children};
use super::identity::Resolved;
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use super::tag_collision::{Nfa, common_tag, literal_nfa, template_nfa};
use crate::error::{Code, Problem};
use crate::explain::Ctx;
use crate::model::{App, Cache, ImageTags, Latest, TagPart, TagTemplate};

pub static IMAGE_TAGS: Setting = Setting {
    name: "image-tags",
    shape: Shape::Custom(read),
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("image-tags \"{base}-{sha}\" \"{version}\" latest=release"),
    check,
    explain: Explain::Custom(explain),
};

/// jcx's tags when the manifest names none: the original repository's scheme.
pub const DEFAULT_TEMPLATES: &[&str] = &["{base}-{sha}", "{base}-{branch}"];
pub const PART_NAMES: &[&str] = &[
    "base",
    "sha",
    "short-sha",
    "branch",
    "git-tag",
    "version",
    "major",
    "minor",
    "patch",
    "date",
];
pub const LATEST: &[&str] = &["never", "default-branch", "release"];
/// The longest tag a registry accepts.
pub const MAX_TAG_LEN: usize = 128;
pub const SHORT_SHA_LEN: usize = 7;

#[derive(Debug, Clone)]
pub struct RawImageTags {
    pub span: SourceSpan,
    pub templates: Vec<Sp<String>>,
    pub latest: Option<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let templates = en.strings("tag template", true, problems);
    let latest = en.prop_string("latest", problems);
    en.finish(&["latest"], problems);
    no_children(node, problems);
    (!templates.is_empty()).then(|| {
        Value::One(Box::new(RawImageTags {
            span: node.span(),
            templates,
            latest,
        }))
    })
}

fn part(name: &str) -> Option<TagPart> {
    Some(match name {
        "base" => TagPart::Base,
        "sha" => TagPart::Sha,
        "short-sha" => TagPart::ShortSha,
        "branch" => TagPart::Branch,
        "git-tag" => TagPart::GitTag,
        "version" => TagPart::Version,
        "major" => TagPart::Major,
        "minor" => TagPart::Minor,
        "patch" => TagPart::Patch,
        "date" => TagPart::Date,
        _ => return None,
    })
}

/// Template text -> parts, or what is wrong (message, help).
pub fn parse_template(s: &str) -> Result<Vec<TagPart>, (String, String)> {
    if s.is_empty() {
        return Err(("an empty template".into(), "remove it".into()));
    }
    let mut parts = Vec::new();
    let mut rest = s;
    let mut text = String::new();
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let Some(end) = rest.find('}') else {
                return Err((
                    "`{` is never closed".into(),
                    "a part is a name in braces: `{sha}`".into(),
                ));
            };
            let name = &rest[1..end];
            let Some(p) = part(name) else {
                let help = did_you_mean(name, PART_NAMES).unwrap_or_else(|| {
                    format!("the parts are {}", super::decode::backticked(PART_NAMES))
                });
                return Err((format!("`{{{name}}}` is not a tag part"), help));
            };
            if !text.is_empty() {
                parts.push(TagPart::Text(std::mem::take(&mut text)));
            }
            parts.push(p);
            rest = &rest[end + 1..];
        } else if c.is_ascii_alphanumeric() || "_.-".contains(c) {
            text.push(c);
            rest = &rest[1..];
        } else {
            return Err((
                format!("`{}` cannot be in an image tag", c.escape_debug()),
                "tags are letters, digits, `_`, `.` and `-`, and parts in braces such as `{sha}`"
                    .into(),
            ));
        }
    }
    if !text.is_empty() {
        parts.push(TagPart::Text(text));
    }
    shape_rules(s, &parts)?;
    Ok(parts)
}

/// Which parts go together: a build is of a branch or of a tag, never both; semantic-version
/// parts form one span.
fn shape_rules(s: &str, parts: &[TagPart]) -> Result<(), (String, String)> {
    let has = |p: &TagPart| parts.contains(p);
    let semver: Vec<usize> = (0..parts.len()).filter(|i| parts[*i].is_semver()).collect();
    if s.eq_ignore_ascii_case("latest") {
        return Err((
            "`latest` as a template would move with every build".into(),
            "say when `latest` moves: `image-tags … latest=default-branch` or `latest=release`"
                .into(),
        ));
    }
    if s.starts_with(['.', '-']) {
        return Err((
            "a tag cannot start with `.` or `-`".into(),
            "start the template with a letter, a digit or a part".into(),
        ));
    }
    if has(&TagPart::Branch) && (has(&TagPart::GitTag) || !semver.is_empty()) {
        return Err((
            "`{branch}` cannot be combined with `{git-tag}` or version parts: a build is of a branch or of a tag".into(),
            "write one template for branch builds and another for tag builds".into(),
        ));
    }
    if has(&TagPart::GitTag) && !semver.is_empty() {
        return Err((
            "`{git-tag}` and version parts name the same tag twice".into(),
            "use `{git-tag}` for the tag as pushed, or `{version}`/`{major}`/`{minor}`/`{patch}` for its parts".into(),
        ));
    }
    if let (Some(a), Some(b)) = (semver.first(), semver.last())
        && parts[*a..*b]
            .iter()
            .any(|p| !p.is_semver() && !matches!(p, TagPart::Text(_)))
    {
        return Err((
            "only literal text can stand between version parts".into(),
            "put other parts before or after the version: `{base}-{major}.{minor}`".into(),
        ));
    }
    Ok(())
}

fn check(cx: &mut Checker<'_>, v: &Value) {
    let Some(t) = v.one::<RawImageTags>() else {
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for tpl in &t.templates {
        if !cx.safe(tpl, "the tag template", false) {
            continue;
        }
        if let Err((message, help)) = parse_template(&tpl.v) {
            cx.push(
                Problem::error(
                    Code::InvalidImageTag,
                    tpl.span,
                    format!("`{}`: {message}", tpl.v.escape_debug()),
                )
                .label("tag template")
                .help(help),
            );
        } else if seen.contains(&tpl.v.as_str()) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    tpl.span,
                    format!("tag template `{}` is listed twice", tpl.v),
                )
                .help("remove one of them"),
            );
        }
        seen.push(&tpl.v);
    }
    if let Some(l) = &t.latest
        && !LATEST.contains(&l.v.as_str())
    {
        let help = did_you_mean(&l.v, LATEST).unwrap_or_else(|| {
            "`never` (default), `default-branch` (builds of the default branch) or `release` (git tags and published releases that are not pre-releases)".into()
        });
        cx.push(
            Problem::error(
                Code::InvalidChoice,
                l.span,
                format!("`latest={}` is not a rule jcx knows", l.v.escape_debug()),
            )
            .label("when `latest` moves")
            .help(help),
        );
    }
}

fn latest_of(s: &str) -> Latest {
    match s {
        "default-branch" => Latest::DefaultBranch,
        "release" => Latest::Release,
        _ => Latest::Never,
    }
}

/// The smallest length a template renders to (unbounded parts count 1, a version 5).
fn min_len(parts: &[TagPart], base: &str) -> usize {
    parts
        .iter()
        .map(|p| match p {
            TagPart::Text(t) => t.len(),
            TagPart::Base => base.len(),
            TagPart::Sha => 40,
            TagPart::ShortSha => SHORT_SHA_LEN,
            TagPart::Date => 8,
            TagPart::Version => 5,
            TagPart::Branch
            | TagPart::GitTag
            | TagPart::Major
            | TagPart::Minor
            | TagPart::Patch => 1,
        })
        .sum()
}

/// The app's tags (after its triggers are known): lengths with its base tag, and every
/// publishing trigger pushing at least one tag.
pub fn model(cx: &mut Checker<'_>, r: &Resolved, app: &App) -> ImageTags {
    let raw = r.settings.one::<RawImageTags>(&IMAGE_TAGS);
    let written: Vec<(Option<SourceSpan>, String)> = match raw {
        Some(t) => t
            .templates
            .iter()
            .map(|s| (Some(s.span), s.v.clone()))
            .collect(),
        None => DEFAULT_TEMPLATES
            .iter()
            .map(|s| (None, s.to_string()))
            .collect(),
    };
    let mut templates = Vec::new();
    let mut refused = false;
    for (span, source) in written {
        let Ok(parts) = parse_template(&source) else {
            refused = true;
            continue;
        };
        let len = min_len(&parts, &app.base.tag);
        if len > MAX_TAG_LEN {
            cx.push(
                Problem::error(Code::InvalidImageTag, span.unwrap_or(r.name.span), format!("`{source}` gives tags of at least {len} characters; registries take at most {MAX_TAG_LEN}"))
                    .label("too long")
                    .help("shorten the literal text, or use `{short-sha}` instead of `{sha}`"),
            );
        }
        if templates.iter().any(|t: &TagTemplate| t.source == source) {
            continue;
        }
        templates.push(TagTemplate { source, parts });
    }
    let tags = ImageTags {
        templates,
        latest: raw
            .and_then(|t| t.latest.as_ref())
            .map_or(Latest::Never, |l| latest_of(&l.v)),
    };
    // With a template refused, which builds lack a tag is not known yet.
    if !refused {
        triggers_get_tags(cx, r, app, &tags, raw);
    }
    tags
}

/// When a template gives a tag.
#[derive(Clone, Copy, PartialEq)]
enum Refs {
    Branch,
    Tag,
    Any,
}

fn refs(t: &TagTemplate) -> Refs {
    if t.parts.contains(&TagPart::Branch) {
        Refs::Branch
    } else if t
        .parts
        .iter()
        .any(|p| p.is_semver() || *p == TagPart::GitTag)
    {
        Refs::Tag
    } else {
        Refs::Any
    }
}

/// Commit tags stay immutable: a scheduled rebuild of the same commit does not push them.
pub fn pushed_on_schedule(t: &TagTemplate) -> bool {
    !t.parts.iter().any(TagPart::is_commit) && refs(t) != Refs::Tag
}

fn triggers_get_tags(
    cx: &mut Checker<'_>,
    r: &Resolved,
    app: &App,
    tags: &ImageTags,
    raw: Option<&RawImageTags>,
) {
    let sp = super::triggers::spans(&r.settings);
    let at = raw.map_or(r.name.span, |t| t.span);
    let branch_builds = !app.branches.is_empty();
    let tag_builds = !app.git_tags.is_empty() || app.release;
    let t = &tags.templates;
    let mut missing = Vec::new();
    if branch_builds && !t.iter().any(|t| refs(t) != Refs::Tag) {
        missing.push(("pushes to the app's branches", sp.branches));
    }
    if tag_builds && !t.iter().any(|t| refs(t) != Refs::Branch) {
        missing.push(("git tags and releases", sp.git_tags.or(sp.release)));
    }
    if !app.schedule.is_empty() && !t.iter().any(pushed_on_schedule) {
        missing.push(("scheduled rebuilds", sp.schedule));
    }
    for (what, trigger) in missing {
        let mut p = Problem::error(Code::UntaggedTrigger, at, format!("{what} would push the image without a tag"))
            .label("no template gives a tag there")
            .help("add a template for those builds: `{base}-{branch}` or `{base}-{sha}` for branches, `{git-tag}` or `{version}` for tags; scheduled rebuilds never push commit tags (`{sha}`), so they need one without");
        if let Some(s) = trigger {
            p = p.also(s, "this trigger");
        }
        cx.push(p);
    }
    let Some(raw) = raw else { return };
    for tpl in &raw.templates {
        let Some(t) = t.iter().find(|t| t.source == tpl.v) else {
            continue;
        };
        let never = match refs(t) {
            Refs::Branch => !branch_builds && app.schedule.is_empty(),
            Refs::Tag => !tag_builds,
            Refs::Any => false,
        };
        if never {
            cx.push(
                Problem::warning(
                    Code::UnusedImageTag,
                    tpl.span,
                    format!(
                        "`{}` is never pushed: the app has no {} builds",
                        tpl.v,
                        if refs(t) == Refs::Branch {
                            "branch"
                        } else {
                            "git tag or release"
                        }
                    ),
                )
                .label("never pushed")
                .help(
                    "add the trigger (`branches`, `git-tags`, `release`), or remove the template",
                ),
            );
        }
    }
    if let Some(l) = &raw.latest {
        let never = match tags.latest {
            Latest::DefaultBranch => !branch_builds && app.schedule.is_empty(),
            Latest::Release => !tag_builds,
            Latest::Never => false,
        };
        if never {
            cx.push(
                Problem::warning(
                    Code::UnusedImageTag,
                    l.span,
                    format!("`latest={}` never happens: the app has no such builds", l.v),
                )
                .label("never")
                .help("add the trigger it waits for, or remove `latest=`"),
            );
        }
    }
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    match r.settings.one::<RawImageTags>(&IMAGE_TAGS) {
        Some(t) => {
            let o = cx.origin(t.span);
            let mut v: Vec<String> = t.templates.iter().map(|s| s.v.clone()).collect();
            if let Some(l) = &t.latest {
                v.push(format!("latest={}", l.v));
            }
            cx.push("image-tags", v.join(" "), o);
        }
        None => cx.push(
            "image-tags",
            DEFAULT_TEMPLATES.join(" "),
            crate::explain::Origin::JcxDefault {
                note: format!("the original scheme, `{}-<commit>`", app.base.tag),
            },
        ),
    }
}

/// One tag an app may push: how the manifest names it, where, and the tags it stands for.
struct Candidate {
    what: String,
    span: SourceSpan,
    nfa: Nfa,
    /// Pushed to every image of the app, or only to its first (the cache).
    first_image_only: bool,
}

fn candidates(r: &Resolved, app: &App) -> Vec<Candidate> {
    let raw = r.settings.one::<RawImageTags>(&IMAGE_TAGS);
    let span_of = |source: &str| {
        raw.and_then(|t| t.templates.iter().find(|s| s.v == source))
            .map_or(r.name.span, |s| s.span)
    };
    let mut out: Vec<Candidate> = app
        .image_tags
        .templates
        .iter()
        .map(|t| Candidate {
            what: format!("`{}`", t.source),
            span: span_of(&t.source),
            nfa: template_nfa(t, &app.base.tag),
            first_image_only: false,
        })
        .collect();
    if app.image_tags.latest != Latest::Never {
        out.push(Candidate {
            what: "`latest`".into(),
            span: raw
                .and_then(|t| t.latest.as_ref())
                .map_or(r.name.span, |l| l.span),
            nfa: literal_nfa("latest"),
            first_image_only: false,
        });
    }
    if app.cache == Cache::Registry {
        for tag in app.cache_tags() {
            out.push(Candidate {
                what: format!("the cache tag `{tag}`"),
                span: r.name.span,
                nfa: literal_nfa(&tag),
                first_image_only: true,
            });
        }
    }
    out
}

/// Two apps that push one image never push the same tag of it; checked only between apps that
/// share an image (apps of distinct images never meet).
pub fn collisions(cx: &mut Checker<'_>, apps: &[App], resolved: &[(&Resolved, String)]) {
    let mut by_image: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, a) in apps.iter().enumerate() {
        for p in &a.pushes {
            by_image.entry(&p.image).or_default().push(i);
        }
    }
    let mut pairs: Vec<(usize, usize, &str)> = Vec::new();
    for (image, users) in &by_image {
        for (k, &i) in users.iter().enumerate() {
            for &j in &users[k + 1..] {
                if !pairs.iter().any(|(a, b, _)| (*a, *b) == (i, j)) {
                    pairs.push((i, j, image));
                }
            }
        }
    }
    pairs.sort();
    for (i, j, image) in pairs {
        let (ri, rj) = (resolved[i].0, resolved[j].0);
        let (ci, cj) = (candidates(ri, &apps[i]), candidates(rj, &apps[j]));
        let first = |a: &App| a.image == image;
        let found = ci.iter().find_map(|a| {
            cj.iter().find_map(|b| {
                if (a.first_image_only && !first(&apps[i]))
                    || (b.first_image_only && !first(&apps[j]))
                {
                    return None;
                }
                common_tag(&a.nfa, &b.nfa).map(|tag| (a, b, tag))
            })
        });
        let Some((a, b, tag)) = found else { continue };
        cx.push(
            Problem::error(
                Code::ImageNameCollision,
                b.span,
                format!(
                    "apps `{}` and `{}` push the image `{image}` and could both push its tag `{tag}`",
                    apps[i].name, apps[j].name
                ),
            )
            .label(format!("{} of `{}`", b.what, apps[j].name))
            .also(a.span, format!("{} of `{}`", a.what, apps[i].name))
            .help("give one of them an `image-suffix` (or an `image-name`), or keep their tags apart with a literal part: `image-tags \"{base}-cpu-{sha}\"`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            parse_template("{base}-{sha}").unwrap(),
            vec![TagPart::Base, TagPart::Text("-".into()), TagPart::Sha]
        );
        assert!(parse_template("v{major}.{minor}-cuda").is_ok());
        assert!(parse_template("{branch}-{short-sha}").is_ok());
        assert!(parse_template("{shaa}").unwrap_err().1.contains("`sha`"));
        assert!(parse_template("{sha").is_err());
        assert!(parse_template("a/b").is_err());
        assert!(parse_template("-x").is_err());
        assert!(parse_template("latest").is_err());
        assert!(parse_template("{branch}-{git-tag}").is_err());
        assert!(parse_template("{version}-{git-tag}").is_err());
        assert!(parse_template("{major}-{sha}-{minor}").is_err());
        assert!(parse_template("{base}-{major}.{minor}-{short-sha}").is_ok());
    }
}
