//! `variants { AXIS "v1" "v2" …; exclude AXIS="v" … }` in an `app` block: one recipe, several
//! apps. Every combination of the axes' values (their cartesian product, less what an `exclude`
//! names) is one app, read from the template with each `{AXIS}` in its strings replaced by the
//! combination's value. Expansion happens while reading, before `extends` is resolved, so each
//! variant is an ordinary app from then on and is validated on its own; its diagnostics point
//! at the template and, when not every variant has them, name the variant.

use std::collections::HashMap;

use kdl::{KdlNode, KdlValue};
use miette::SourceSpan;

use super::RawManifest;
use super::check::control_char;
use super::decode::{Entries, backticked, did_you_mean, name_span, no_children, string_of};
use super::raw::Sp;
use crate::error::{Code, Problem};

/// Variants of one template, at most: a product of axes grows fast, and each is a workflow.
pub const MAX_VARIANTS: usize = 256;

/// Which variant of which template an app is.
#[derive(Debug, Clone)]
pub struct RawVariant {
    /// The template's name as written (`pytorch-cu{cuda}`), and where.
    pub template: Sp<String>,
    /// Identifies the template (its node's offset).
    pub template_id: usize,
    /// Each axis and its value, in the order of the `variants` block.
    pub values: Vec<(String, String)>,
}

impl RawVariant {
    /// `cuda=11.8, python=3.11`, as messages and `explain` name it.
    pub fn label(&self) -> String {
        self.model().label()
    }

    pub fn model(&self) -> crate::model::Variant {
        crate::model::Variant {
            template: self.template.v.clone(),
            values: self
                .values
                .iter()
                .map(|(a, v)| crate::model::VariantValue {
                    axis: a.clone(),
                    value: v.clone(),
                })
                .collect(),
        }
    }
}

struct Matrix {
    axes: Vec<(String, Vec<Sp<String>>)>,
    /// Each `exclude`: (axis, value) pairs that together remove a combination.
    excludes: Vec<Vec<(String, String)>>,
    span: SourceSpan,
}

/// Reads an `app` node: as one app, or, with a `variants` child, as one app per variant.
pub fn read_app(
    node: &KdlNode,
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let blocks: Vec<&KdlNode> = node
        .children()
        .map_or(&[][..], |c| c.nodes())
        .iter()
        .filter(|n| n.name().value() == "variants")
        .collect();
    let Some(first) = blocks.first() else {
        return super::identity::read_app(node, m, seen, problems);
    };
    for again in &blocks[1..] {
        problems.push(
            Problem::error(
                Code::Duplicate,
                name_span(again),
                "`variants` is given twice in the same app",
            )
            .label("given again here")
            .also(name_span(first), "first given here")
            .help("list every axis in one `variants` block"),
        );
    }
    let mut template = node.clone();
    if let Some(children) = template.children_mut() {
        children
            .nodes_mut()
            .retain(|n| n.name().value() != "variants");
    }
    let name = node
        .entries()
        .iter()
        .find(|e| e.name().is_none())
        .and_then(|e| match e.value() {
            KdlValue::String(s) => Some(Sp::new(s.clone(), e.span())),
            _ => None,
        });
    let matrix = read_matrix(first, problems);
    let combos = match (&matrix, &name) {
        // An unknown placeholder would stay in every variant as text: read the template once.
        (Some(mx), Some(_)) if check_placeholders(&template, mx, problems) => {
            combinations(mx, problems)
        }
        _ => Vec::new(),
    };
    let (Some(name), false) = (name, combos.is_empty()) else {
        // Still read the template once for the mistakes of its other nodes, then drop it.
        let before = m.apps.len();
        super::identity::read_app(&template, m, seen, problems);
        m.apps.truncate(before);
        return;
    };
    expand(&template, &name, &combos, m, seen, problems);
}

/// One app per combination; the problems reading finds are merged across variants.
fn expand(
    template: &KdlNode,
    name: &Sp<String>,
    combos: &[Vec<(String, String)>],
    m: &mut RawManifest,
    seen: &mut Vec<(String, SourceSpan)>,
    problems: &mut Vec<Problem>,
) {
    let template_id = template.span().offset();
    let mut per_variant: PerVariant = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for combo in combos {
        let mut node = template.clone();
        substitute(&mut node, combo);
        let mut found = Vec::new();
        let before = m.apps.len();
        super::identity::read_app(&node, m, seen, &mut found);
        let variant = RawVariant {
            template: name.clone(),
            template_id,
            values: combo.clone(),
        };
        let label = variant.label();
        per_variant.push((label.clone(), found));
        if m.apps.len() == before {
            continue;
        }
        let app = m.apps.last_mut().expect("an app was read");
        if let Some((_, other)) = names.iter().find(|(n, _)| *n == app.name.v) {
            problems.push(
                Problem::error(
                    Code::VariantCollision,
                    name.span,
                    format!("variants {other} and {label} both expand to app `{}`", app.name.v),
                )
                .label("same app name")
                .help("every variant needs its own name: put each axis in it as a placeholder, such as `app \"pytorch-cu{cuda}\"`"),
            );
            m.apps.pop();
            continue;
        }
        names.push((app.name.v.clone(), label));
        app.variant = Some(variant);
    }
    problems.extend(merge(per_variant));
}

fn read_matrix(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Matrix> {
    let en = Entries::new(node, problems);
    en.finish(&[], problems);
    let children = super::decode::children(node, problems)?;
    let mut mx = Matrix {
        axes: Vec::new(),
        excludes: Vec::new(),
        span: name_span(node),
    };
    let mut ok = true;
    for child in children.nodes() {
        let name = child.name().value();
        no_children(child, problems);
        if name == "exclude" {
            continue; // read once every axis is known
        }
        ok &= read_axis(child, &mut mx, problems);
    }
    for child in children
        .nodes()
        .iter()
        .filter(|c| c.name().value() == "exclude")
    {
        ok &= read_exclude(child, &mut mx, problems);
    }
    if mx.axes.is_empty() {
        problems.push(
            Problem::error(Code::InvalidVariants, mx.span, "`variants` names no axis")
                .label("no values to expand")
                .help("list each axis and its values, such as `variants { cuda \"11.8\" \"12.1\" }`, and use them as `{cuda}` in the app"),
        );
        return None;
    }
    ok.then_some(mx)
}

fn axis_name_ok(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.len() <= 32
        && n.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

fn read_axis(node: &KdlNode, mx: &mut Matrix, problems: &mut Vec<Problem>) -> bool {
    let name = node.name().value();
    let mut en = Entries::new(node, problems);
    let values = en.strings("value", true, problems);
    en.finish(&[], problems);
    if !axis_name_ok(name) {
        problems.push(
            Problem::error(Code::InvalidVariants, name_span(node), format!("`{}` is not a valid axis name", name.escape_debug()))
                .label("axis name")
                .help("axis names are lowercase letters, digits, `-` and `_`, starting with a letter, such as `cuda` or `python`; the app uses them as `{cuda}`"),
        );
        return false;
    }
    if let Some((_, first)) = mx.axes.iter().find(|(a, _)| a == name) {
        problems.push(
            Problem::error(
                Code::Duplicate,
                name_span(node),
                format!("axis `{name}` is given twice"),
            )
            .label("given again here")
            .also(
                first.first().map_or(mx.span, |v| v.span),
                "first given here",
            )
            .help("list all its values on one line: `cuda \"11.8\" \"12.1\"`"),
        );
        return false;
    }
    let mut ok = !values.is_empty();
    for (i, v) in values.iter().enumerate() {
        let bad = v.v.is_empty() || v.v.contains(['{', '}']) || control_char(&v.v, false).is_some();
        if bad {
            problems.push(
                Problem::error(
                    Code::InvalidVariants,
                    v.span,
                    format!("`{}` cannot be the value of an axis", v.v.escape_debug()),
                )
                .label("axis value")
                .help("a value is one line of text without `{` or `}`, such as \"11.8\""),
            );
            ok = false;
        } else if let Some(first) = values[..i].iter().find(|f| f.v == v.v) {
            problems.push(
                Problem::error(
                    Code::InvalidVariants,
                    v.span,
                    format!("axis `{name}` lists `{}` twice", v.v),
                )
                .label("listed again")
                .also(first.span, "first listed here")
                .help("remove one of them: two variants would be the same app"),
            );
            ok = false;
        }
    }
    mx.axes.push((name.to_string(), values));
    ok
}

fn read_exclude(node: &KdlNode, mx: &mut Matrix, problems: &mut Vec<Problem>) -> bool {
    let mut en = Entries::new(node, problems);
    let props: Vec<_> = std::mem::take(&mut en.props);
    en.finish(&[], problems);
    if props.is_empty() {
        problems.push(
            Problem::error(Code::InvalidVariants, name_span(node), "`exclude` names no value")
                .label("excludes nothing")
                .help("name the combination to leave out as properties, such as `exclude cuda=\"11.8\" python=\"3.12\"`"),
        );
        return false;
    }
    let axes: Vec<&str> = mx.axes.iter().map(|(a, _)| a.as_str()).collect();
    let mut pairs = Vec::new();
    let mut ok = true;
    for (key, e) in props {
        let Some(v) = string_of(e, &format!("property `{key}`"), problems) else {
            ok = false;
            continue;
        };
        let Some((_, values)) = mx.axes.iter().find(|(a, _)| a == key) else {
            problems.push(
                Problem::error(
                    Code::InvalidVariants,
                    e.span(),
                    format!("`exclude` names `{key}`, which is not an axis"),
                )
                .label("no such axis")
                .help(
                    did_you_mean(key, &axes)
                        .unwrap_or_else(|| format!("the axes are {}", backticked(&axes))),
                ),
            );
            ok = false;
            continue;
        };
        if !values.iter().any(|x| x.v == v.v) {
            let list: Vec<&str> = values.iter().map(|x| x.v.as_str()).collect();
            problems.push(
                Problem::error(
                    Code::InvalidVariants,
                    v.span,
                    format!("axis `{key}` has no value `{}`", v.v.escape_debug()),
                )
                .label("not a value of the axis")
                .help(
                    did_you_mean(&v.v, &list)
                        .unwrap_or_else(|| format!("its values are {}", backticked(&list))),
                ),
            );
            ok = false;
            continue;
        }
        pairs.push((key.to_string(), v.v));
    }
    mx.excludes.push(pairs);
    ok
}

/// The cartesian product of the axes (the first axis varies slowest), less the excluded.
fn combinations(mx: &Matrix, problems: &mut Vec<Problem>) -> Vec<Vec<(String, String)>> {
    let total: usize = mx.axes.iter().map(|(_, v)| v.len()).product();
    if total > MAX_VARIANTS {
        problems.push(
            Problem::error(Code::InvalidVariants, mx.span, format!("`variants` expands to {total} apps; the limit is {MAX_VARIANTS}"))
                .label("too many combinations")
                .help("each variant is an image and a workflow: split the recipe, or `exclude` the combinations nobody uses"),
        );
        return Vec::new();
    }
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (axis, values) in &mx.axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((axis.clone(), v.v.clone()));
                    c
                })
            })
            .collect();
    }
    combos.retain(|c| {
        !mx.excludes
            .iter()
            .any(|ex| !ex.is_empty() && ex.iter().all(|pair| c.contains(pair)))
    });
    if combos.is_empty() {
        problems.push(
            Problem::error(
                Code::InvalidVariants,
                mx.span,
                "`exclude` leaves no variant",
            )
            .label("every combination excluded")
            .help("remove an `exclude`, or the app itself"),
        );
    }
    combos
}

/// The placeholders of a string: `{name}` not preceded by `$` (`${NAME}` is a shell or
/// Dockerfile variable), as byte ranges and names.
fn placeholders(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = s[i..].find('{') {
        let start = i + off;
        i = start + 1;
        if start > 0 && b[start - 1] == b'$' {
            continue;
        }
        let Some(len) = s[start + 1..].find('}') else {
            break;
        };
        let name = &s[start + 1..start + 1 + len];
        if axis_name_ok(name) {
            out.push((start, start + len + 2, name));
        }
    }
    out
}

/// Calls `f` on every string value of the node and its children (not on node names).
fn each_string<'a>(node: &'a KdlNode, f: &mut impl FnMut(&'a str, SourceSpan)) {
    for e in node.entries() {
        if let KdlValue::String(s) = e.value() {
            f(s, e.span());
        }
    }
    for child in node.children().map_or(&[][..], |c| c.nodes()) {
        each_string(child, f);
    }
}

/// Every `{name}` of the template must be an axis.
fn check_placeholders(template: &KdlNode, mx: &Matrix, problems: &mut Vec<Problem>) -> bool {
    let axes: Vec<&str> = mx.axes.iter().map(|(a, _)| a.as_str()).collect();
    let mut ok = true;
    each_string(template, &mut |s, span| {
        for (_, _, name) in placeholders(s) {
            if axes.contains(&name) {
                continue;
            }
            ok = false;
            problems.push(
                Problem::error(Code::UnknownPlaceholder, span, format!("`{{{name}}}` is not an axis of `variants`"))
                    .label("unknown placeholder")
                    .help(match did_you_mean(name, &axes) {
                        Some(d) => d,
                        None => format!("the axes are {}; in a variant app, `{{name}}` in a string is a placeholder (`${{NAME}}` is not)", backticked(&axes)),
                    }),
            );
        }
    });
    ok
}

fn replace(s: &str, combo: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (start, end, name) in placeholders(s) {
        if let Some((_, v)) = combo.iter().find(|(a, _)| a == name) {
            out.push_str(&s[last..start]);
            out.push_str(v);
            last = end;
        }
    }
    out.push_str(&s[last..]);
    out
}

fn substitute(node: &mut KdlNode, combo: &[(String, String)]) {
    for e in node.entries_mut() {
        if let KdlValue::String(s) = e.value_mut() {
            *s = replace(s, combo);
        }
    }
    if let Some(children) = node.children_mut() {
        for child in children.nodes_mut() {
            substitute(child, combo);
        }
    }
}

/// The problems each variant had, once: unchanged when every variant had it, otherwise once
/// per variant that had it, saying which.
pub fn merge(per_variant: PerVariant) -> Vec<Problem> {
    let n = per_variant.len();
    let mut keys: Vec<(Problem, Vec<String>)> = Vec::new();
    for (label, found) in per_variant {
        for p in found {
            match keys.iter_mut().find(|(k, _)| same(k, &p)) {
                Some((_, labels)) if !labels.contains(&label) => labels.push(label.clone()),
                Some(_) => {}
                None => keys.push((p, vec![label.clone()])),
            }
        }
    }
    let mut out = Vec::new();
    for (p, labels) in keys {
        if labels.len() == n {
            out.push(p);
            continue;
        }
        for l in labels {
            let mut q = p.clone();
            q.message = format!("in variant {l}: {}", p.message);
            out.push(q);
        }
    }
    out
}

fn same(a: &Problem, b: &Problem) -> bool {
    a.code == b.code && a.span == b.span && a.message == b.message && a.severity == b.severity
}

/// Each variant's label and the problems it had.
type PerVariant = Vec<(String, Vec<Problem>)>;

/// Problems found while validating variant apps, held back until every variant was validated.
#[derive(Default)]
pub struct Held {
    by_template: HashMap<usize, PerVariant>,
}

impl Held {
    /// Takes the problems pushed since `mark` when they belong to a variant.
    pub fn take(&mut self, problems: &mut Vec<Problem>, mark: usize, v: Option<&RawVariant>) {
        let Some(v) = v else { return };
        let found: Vec<Problem> = problems.drain(mark..).collect();
        let label = v.label();
        let list = self.by_template.entry(v.template_id).or_default();
        match list.iter_mut().find(|(l, _)| *l == label) {
            Some((_, ps)) => ps.extend(found),
            None => list.push((label, found)),
        }
    }

    /// Every held problem, merged across the variants of its template (see [`merge`]).
    pub fn finish(self, raw: &RawManifest, problems: &mut Vec<Problem>) {
        let mut templates: Vec<(usize, PerVariant)> = self.by_template.into_iter().collect();
        templates.sort_by_key(|(id, _)| *id);
        for (id, mut list) in templates {
            // Variants that had nothing to say count too.
            for app in raw.apps.iter().filter_map(|a| a.variant.as_ref()) {
                if app.template_id == id && !list.iter().any(|(l, _)| *l == app.label()) {
                    list.push((app.label(), Vec::new()));
                }
            }
            problems.extend(merge(list));
        }
    }
}
