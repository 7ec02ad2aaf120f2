//! Writes the imported manifest as `jcx fmt` lays it out (four-space indentation, one space
//! between tokens, a blank line after each top-level block), remembering which bytes stand for
//! which imported items, so that an item jcx refuses can be found from its diagnostic's span.

use super::buildstages::{StageBase, StageDraft, StageStep};
use super::draft::{Entry, Item, ORDER, Origin};
use super::shape::{Shaped, Shared};
use crate::edit::kdl_value;

/// What a span of the written text stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Items(Vec<(usize, usize)>),
    /// A line of `mirrors`: `true` for `apt`, `false` for `pypi`.
    Mirror(bool),
    Registry,
    /// A top-level `stage` (its index in `Top::stages`).
    Stage(usize),
}

#[derive(Debug, Default)]
pub struct Written {
    pub text: String,
    pub spans: Vec<(usize, usize, Target)>,
}

impl Written {
    /// The target of the smallest span around `offset`.
    pub fn target_at(&self, offset: usize) -> Option<&Target> {
        self.spans
            .iter()
            .filter(|(s, e, _)| *s <= offset && offset < (*e).max(*s + 1))
            .min_by_key(|(s, e, _)| e - s)
            .map(|(_, _, t)| t)
    }
}

/// The top-level nodes.
#[derive(Debug, Clone, Default)]
pub struct Top {
    pub header: Vec<String>,
    pub host: String,
    pub namespace: String,
    pub username_secret: Option<String>,
    pub password_secret: Option<String>,
    pub mirror: Option<(String, Origin)>,
    pub apt_mirror: Option<(String, Origin)>,
    pub stages: Vec<TopStage>,
}

/// A `stage`, or, once jcx refused it, the comment it became.
#[derive(Debug, Clone)]
pub struct TopStage {
    pub draft: StageDraft,
    /// Why jcx refused it: written as a comment, with the original lines.
    pub refused: Option<String>,
}

const WIDTH: usize = 100;
const INDENT: &str = "    ";

struct W {
    out: Written,
}

impl W {
    fn push(&mut self, s: &str) {
        self.out.text.push_str(s);
    }

    /// Pushes `s` and records it as standing for `t`.
    fn spanned(&mut self, s: &str, t: Target) {
        let start = self.out.text.len();
        self.push(s);
        self.out.spans.push((start, self.out.text.len(), t));
    }

    fn line_len(&self) -> usize {
        self.out.text.len() - self.out.text.rfind('\n').map_or(0, |p| p + 1)
    }

    fn comment(&mut self, indent: &str, text: &str) {
        for l in text.split('\n') {
            let l = l.trim_end();
            self.push(indent);
            self.push("//");
            if !l.is_empty() {
                self.push(" ");
                self.push(&crate::syntax::chars::escape_text(l));
            }
            self.push("\n");
        }
    }
}

fn refs(s: &Shared) -> Target {
    Target::Items(s.refs.clone())
}

pub fn write(top: &Top, shaped: &Shaped) -> Written {
    let mut w = W {
        out: Written::default(),
    };
    for h in &top.header {
        w.comment("", h);
    }
    w.push("manifest-version 1\n\n");
    let mut reg = format!(
        "registry {} namespace={}",
        kdl_value(&top.host),
        kdl_value(&top.namespace)
    );
    if let Some(u) = &top.username_secret {
        reg.push_str(&format!(" username-secret={}", kdl_value(u)));
    }
    if let Some(p) = &top.password_secret {
        reg.push_str(&format!(" password-secret={}", kdl_value(p)));
    }
    w.spanned(&reg, Target::Registry);
    w.push("\n");
    if top.mirror.is_some() || top.apt_mirror.is_some() {
        w.push("\n");
        for (m, what) in [(&top.mirror, "PyPI index"), (&top.apt_mirror, "apt mirror")] {
            if let Some((_, origin)) = m {
                w.comment("", &format!("The {what} of {origin}."));
            }
        }
        w.push("mirrors {\n");
        for (m, name, apt) in [(&top.mirror, "pypi", false), (&top.apt_mirror, "apt", true)] {
            if let Some((url, _)) = m {
                w.push(INDENT);
                w.spanned(&format!("{name} {}", kdl_value(url)), Target::Mirror(apt));
                w.push("\n");
            }
        }
        w.push("}\n");
    }
    for (k, st) in top.stages.iter().enumerate() {
        w.push("\n");
        stage(&mut w, st, k);
    }
    if !shaped.defaults.is_empty() {
        w.push("\ndefaults {\n");
        settings(&mut w, &shaped.defaults);
        w.push("}\n");
    }
    for app in &shaped.apps {
        w.push("\n");
        let mut head = format!("app {}", kdl_value(&app.name));
        if let Some(p) = &app.extends {
            head.push_str(&format!(" extends={}", kdl_value(p)));
        }
        w.push(&head);
        if app.items.is_empty() {
            w.push(" {}\n");
            continue;
        }
        w.push(" {\n");
        settings(&mut w, &app.items);
        w.push("}\n");
    }
    w.out
}

/// `stage NAME { … }`, or the comment it became.
fn stage(w: &mut W, st: &TopStage, k: usize) {
    let d = &st.draft;
    if let Some(note) = &st.refused {
        w.comment("", note);
        let text = if d.lines.is_empty() {
            stage_text(d)
        } else {
            d.lines.join("\n")
        };
        w.comment("", &text);
        return;
    }
    if let Some(o) = &d.origin {
        w.comment("", &format!("The build stage of {o}."));
    }
    w.spanned(&stage_text(d), Target::Stage(k));
    w.push("\n");
}

fn stage_text(d: &StageDraft) -> String {
    let q = |s: &str| kdl_value(s);
    let mut out = format!("stage {} {{\n", q(&d.name));
    let line = |out: &mut String, s: &str| {
        out.push_str(INDENT);
        out.push_str(s);
        out.push('\n');
    };
    match &d.base {
        StageBase::Image(i) => line(&mut out, &format!("base {}", q(i))),
        StageBase::Stage(p) => line(&mut out, &format!("base stage={}", q(p))),
    }
    for step in &d.steps {
        match step {
            StageStep::Apt(p) => {
                let mut s = String::from("apt");
                let mut len = INDENT.len() + 3;
                for v in p {
                    let v = q(v);
                    if len + 1 + v.len() > WIDTH && len > INDENT.len() + 3 {
                        s.push_str(&format!(" \\\n{INDENT}{INDENT}"));
                        len = 2 * INDENT.len();
                    } else {
                        s.push(' ');
                        len += 1;
                    }
                    len += v.len();
                    s.push_str(&v);
                }
                line(&mut out, &s);
            }
            StageStep::Env(vars) => {
                line(&mut out, "env {");
                for (k, v) in vars {
                    line(&mut out, &format!("{INDENT}{} {}", q(k), q(v)));
                }
                line(&mut out, "}");
            }
            StageStep::File { src, to } => line(&mut out, &format!("file {} to={}", q(src), q(to))),
            StageStep::Workdir(d) => line(&mut out, &format!("workdir {}", q(d))),
            StageStep::Run(r) => line(&mut out, &format!("run {}", raw_block(r, INDENT))),
        }
    }
    out.push('}');
    out
}

/// The settings of one block, in `ORDER`.
fn settings(w: &mut W, items: &[Shared]) {
    for (setting, _) in ORDER {
        let group: Vec<&Shared> = items
            .iter()
            .filter(|s| s.item.entry.setting() == *setting)
            .collect();
        if group.is_empty() {
            continue;
        }
        match *setting {
            "mamba" => {
                let (files, specs): (Vec<&Shared>, Vec<&Shared>) = group.iter().partition(|s| {
                    matches!(s.item.entry, Entry::MambaEnv(_) | Entry::MambaLock(_))
                });
                if !specs.is_empty() {
                    list(w, setting, &specs);
                }
                for s in files {
                    one(w, s);
                }
            }
            "apt" | "remove-kernel" | "kernel-install" | "branches" | "runs-on" | "platforms"
            | "pip-remove" | "expose" => list(w, setting, &group),
            "jupyter" => jupyter(w, &group),
            "code-server" => code_server(w, &group, items),
            "extensions"
                if !items
                    .iter()
                    .any(|s| matches!(s.item.entry, Entry::CodeServer(_))) =>
            {
                code_server(w, &[], items)
            }
            "extensions" => {}
            "pip" => {
                let (packages, reqs): (Vec<&Shared>, Vec<&Shared>) = group
                    .iter()
                    .partition(|s| matches!(s.item.entry, Entry::PipPackage { .. }));
                if !reqs.is_empty() {
                    children(w, setting, &reqs);
                }
                for s in packages {
                    one(w, s);
                }
            }
            "env" | "labels" | "build-args" | "conda-config" => children(w, setting, &group),
            _ => {
                for s in group {
                    one(w, s);
                }
            }
        }
    }
}

/// `apt a b c`, wrapped with `\` continuations.
fn list(w: &mut W, name: &str, group: &[&Shared]) {
    w.push(INDENT);
    w.push(name);
    for s in group {
        let values: Vec<String> = match &s.item.entry {
            Entry::Apt(v) | Entry::Mamba(v) | Entry::RemoveKernel(v) | Entry::KernelInstall(v) => {
                vec![v.clone()]
            }
            Entry::Branches(v) | Entry::RunsOn(v) | Entry::Platforms(v) => v.clone(),
            _ => Vec::new(),
        };
        let text: Vec<String> = match &s.item.entry {
            Entry::Small(x) => x.list_kdl(),
            _ => values.iter().map(|v| kdl_value(v)).collect(),
        };
        let joined = text.join(" ");
        if w.line_len() + 1 + joined.len() > WIDTH && w.line_len() > INDENT.len() + name.len() {
            w.push(" \\\n");
            w.push(INDENT);
            w.push(INDENT);
        } else {
            w.push(" ");
        }
        w.spanned(&joined, refs(s));
    }
    w.push("\n");
}

fn code_server(w: &mut W, group: &[&Shared], all: &[Shared]) {
    w.push(INDENT);
    w.push("code-server");
    if let Some(s) = group.first()
        && let Entry::CodeServer(v) = &s.item.entry
    {
        w.push(" ");
        w.spanned(&kdl_value_string(v), refs(s));
    }
    let ext: Vec<&Shared> = all
        .iter()
        .filter(|s| matches!(s.item.entry, Entry::Extension(_)))
        .collect();
    if ext.is_empty() {
        w.push("\n");
        return;
    }
    w.push(" {\n");
    w.push(INDENT);
    w.push(INDENT);
    w.push("extensions");
    for s in ext {
        if let Entry::Extension(e) = &s.item.entry {
            w.push(" ");
            w.spanned(&kdl_value(e), refs(s));
        }
    }
    w.push("\n");
    w.push(INDENT);
    w.push("}\n");
}

/// The app's one `jupyter` node, merged from its parts; each line spans the parts it holds.
fn jupyter(w: &mut W, group: &[&Shared]) {
    let parts: Vec<&super::jupytermap::Jup> = group
        .iter()
        .filter_map(|s| match &s.item.entry {
            Entry::Jupyter(p) => Some(p),
            _ => None,
        })
        .collect();
    w.push(INDENT);
    for (line, owners) in super::jupytermap::node_lines(&parts, INDENT) {
        let refs: Vec<(usize, usize)> = owners
            .iter()
            .flat_map(|k| group[*k].refs.iter().copied())
            .collect();
        w.spanned(&line, Target::Items(refs));
        w.push("\n");
    }
}

/// A string that must stay a string even when it looks like a number (`"11.8"`).
fn kdl_value_string(s: &str) -> String {
    kdl_value(s)
}

/// `pip { … }`, `env { … }`, `labels { … }`, `build-args { … }`.
fn children(w: &mut W, name: &str, group: &[&Shared]) {
    w.push(INDENT);
    w.push(name);
    w.push(" {\n");
    for s in group {
        w.push(INDENT);
        w.push(INDENT);
        let text = match &s.item.entry {
            Entry::Pip(p) => match &p.pin {
                Some(v) => format!("{} {}", kdl_value(&p.name), kdl_value(v)),
                None => format!("- {}", kdl_value(&p.text)),
            },
            Entry::Env(k, v) | Entry::Label(k, v) | Entry::BuildArg(k, v) => {
                format!("{} {}", kdl_value(k), kdl_value(v))
            }
            Entry::Small(x) => x.child_text(),
            _ => String::new(),
        };
        w.spanned(&text, refs(s));
        w.push("\n");
    }
    w.push(INDENT);
    w.push("}\n");
}

fn one(w: &mut W, s: &Shared) {
    if let Some(note) = &s.item.note {
        w.comment(INDENT, note);
    }
    if let Entry::Comment(lines) = &s.item.entry {
        w.comment(INDENT, &lines.join("\n"));
        return;
    }
    let start = w.out.text.len();
    w.push(INDENT);
    w.push(&node_text(&s.item.entry, INDENT));
    w.out.spans.push((start, w.out.text.len(), refs(s)));
    w.push("\n");
}

/// Whether `text` can be written in a raw string as it is: no control character but tabs and
/// line feeds, no other KDL line break, nothing KDL forbids.
pub fn raw_safe(text: &str) -> bool {
    !text.chars().any(|c| {
        (c.is_control() && c != '\t' && c != '\n')
            || crate::syntax::chars::is_forbidden(c)
            || (c != '\n' && crate::syntax::chars::is_newline(c))
    })
}

/// A raw string holding `text` (several lines), closed at `indent`.
fn raw_block(text: &str, indent: &str) -> String {
    let mut hashes = 1;
    while text.contains(&format!("\"\"\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    let inner = format!("{indent}{INDENT}");
    let mut out = format!("{h}\"\"\"\n");
    for l in text.trim_end_matches('\n').split('\n') {
        if !l.trim().is_empty() {
            out.push_str(&inner);
            out.push_str(l);
        }
        out.push('\n');
    }
    out.push_str(&inner);
    out.push_str(&format!("\"\"\"{h}"));
    out
}

/// The text of an inline file as a KDL string jcx reads back exactly (jcx ends the file with a
/// newline): a multi-line raw string when that is exact, else a quoted string with escapes.
fn content_value(content: &str, indent: &str) -> String {
    let text = content.strip_suffix('\n').unwrap_or(content);
    if text.contains('\n') && raw_safe(text) {
        let raw = raw_block(text, indent);
        let back = ::kdl::KdlDocument::parse_v2(&format!("n {raw}"))
            .ok()
            .and_then(|d| {
                d.nodes()
                    .first()?
                    .entries()
                    .first()?
                    .value()
                    .as_string()
                    .map(str::to_string)
            });
        if back.as_deref() == Some(text) {
            return raw;
        }
    }
    kdl_value(text)
}

/// ` owner=root` and ` mode="…"` of a node that writes into the image, as far as they are set.
fn owner_mode(root: bool, mode: &Option<String>) -> String {
    let mut s = String::new();
    if root {
        s.push_str(" owner=root");
    }
    if let Some(m) = mode {
        s.push_str(&format!(" mode={}", kdl_value(m)));
    }
    s
}

/// One node as written (no indentation before it; continuation lines indented for `indent`).
pub fn node_text(e: &Entry, indent: &str) -> String {
    let q = |s: &str| kdl_value(s);
    match e {
        Entry::Description(v) => format!("description {}", q(v)),
        Entry::Base(v) => format!("base {}", q(v)),
        Entry::BaseApp(v) => format!("base app={}", q(v)),
        Entry::ImageName(v) => format!("image-name {}", q(v)),
        Entry::ImageSuffix(v) => format!("image-suffix {}", q(v)),
        Entry::Cuda(v) => format!("cuda {}", q(v)),
        Entry::Apt(v) => format!("apt {}", q(v)),
        Entry::AptRecommends(b) => {
            format!("apt-recommends {}", if *b { "#true" } else { "#false" })
        }
        Entry::Mamba(v) => format!("mamba {}", q(v)),
        Entry::MambaEnv(f) => format!("mamba environment={}", q(f)),
        Entry::MambaLock(f) => format!("mamba lock={}", q(f)),
        Entry::CodeServer(v) => format!("code-server {}", q(v)),
        Entry::Extension(v) => format!("code-server {{ extensions {}; }}", q(v)),
        Entry::Pip(p) => format!("pip {{ - {}; }}", q(&p.text)),
        Entry::PipPackage { dir, extras } => match extras {
            Some(e) => format!("pip package={} extras={}", q(dir), q(e)),
            None => format!("pip package={}", q(dir)),
        },
        Entry::PipPre(b) => format!("pip-pre {}", if *b { "#true" } else { "#false" }),
        Entry::Env(k, v) => format!("env {{ {} {}; }}", q(k), q(v)),
        Entry::Label(k, v) => format!("labels {{ {} {}; }}", q(k), q(v)),
        Entry::BuildArg(k, v) => format!("build-args {{ {} {}; }}", q(k), q(v)),
        Entry::Workdir(v) => format!("workdir {}", q(v)),
        Entry::Branches(v) | Entry::RunsOn(v) | Entry::Platforms(v) => {
            let vals: Vec<String> = v.iter().map(|x| q(x)).collect();
            format!("{} {}", e.setting(), vals.join(" "))
        }
        Entry::File {
            src,
            to,
            append: true,
            ..
        } => format!("file {} to={} append=#true", q(src), q(to)),
        Entry::File {
            src,
            to,
            root,
            mode,
            ..
        } => {
            format!("file {} to={}{}", q(src), q(to), owner_mode(*root, mode))
        }
        Entry::RemoveKernel(v) => format!("remove-kernel {}", q(v)),
        Entry::KernelInstall(v) => format!("kernel-install {}", q(v)),
        Entry::Kernel(k) => super::kernelmap::node_text(k, indent),
        Entry::Jupyter(part) => super::jupytermap::text(part, indent),
        Entry::CopyFrom {
            stage,
            src,
            to,
            root,
            mode,
        } => {
            let at = format!("{} {} to={}", q(stage), q(src), q(to));
            format!("copy-from {at}{}", owner_mode(*root, mode))
        }
        Entry::Inline {
            to,
            content,
            root,
            mode,
            append,
        } => {
            let mut s = format!("file to={}{}", q(to), owner_mode(*root, mode));
            if *append {
                s.push_str(" append=#true");
            }
            format!("{s} content={}", content_value(content, indent))
        }
        Entry::Remove(p) => format!("remove {}", q(p)),
        Entry::Dir { path, root, mode } => {
            format!("dir {}{}", q(path), owner_mode(*root, mode))
        }
        Entry::Permissions {
            paths,
            root,
            mode,
            recursive,
        } => {
            let mut s = "permissions".to_string();
            for p in paths {
                s.push_str(&format!(" {}", q(p)));
            }
            match root {
                Some(true) => s.push_str(" owner=root"),
                Some(false) => s.push_str(" owner=notebook"),
                None => {}
            }
            if let Some(m) = mode {
                // Octal or symbolic, of `ugoa+-=rwxXst,` only: always quoted, as written.
                s.push_str(&format!(" mode=\"{m}\""));
            }
            if *recursive {
                s.push_str(" recursive=#true");
            }
            s
        }
        Entry::Symlink { link, target } => format!("symlink {} to={}", q(link), q(target)),
        Entry::Download {
            name,
            url,
            sha256,
            kind,
            to,
            mode,
            strip,
        } => {
            let mut s = format!("download {} {}", q(name), q(url));
            match sha256 {
                Some(sum) => s.push_str(&format!(" sha256={}", q(sum))),
                None => s.push_str(" unverified=#true"),
            }
            if *kind != "file" {
                s.push_str(&format!(" as={kind}"));
            }
            if let Some(t) = to {
                s.push_str(&format!(" to={}", q(t)));
            }
            if let Some(n) = strip {
                s.push_str(&format!(" strip={n}"));
            }
            if let Some(m) = mode {
                s.push_str(&format!(" mode={}", q(m)));
            }
            s
        }
        Entry::Hook {
            stage,
            name,
            file,
            script,
        } => match (file, script) {
            (Some(f), _) => format!("hook {stage} {} file={}", q(name), q(f)),
            (None, Some(text)) => format!("hook {stage} {} {}", q(name), raw_block(text, indent)),
            (None, None) => format!("hook {stage} {}", q(name)),
        },
        Entry::Dockerfile { root, at, lines } => {
            let mut s = "dockerfile".to_string();
            if *root {
                s.push_str(" user=root");
            }
            if *at != "end" {
                s.push_str(&format!(" at={at}"));
            }
            format!("{s} {}", raw_block(&lines.join("\n"), indent))
        }
        Entry::Comment(lines) => lines.join(" "),
        Entry::FreeDiskSpace(b) => {
            format!("free-disk-space {}", if *b { "#true" } else { "#false" })
        }
        Entry::Timeout(n) => format!("timeout-minutes {n}"),
        Entry::Small(x) => x.node_text(),
    }
}

/// An item as one comment (what a refused item becomes last).
pub fn as_comment(item: &Item) -> Vec<String> {
    node_text(&item.entry, "")
        .lines()
        .map(str::to_string)
        .collect()
}
