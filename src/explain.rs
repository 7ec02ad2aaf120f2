//! `list` and `explain`: what a loaded manifest declares, read back for people and scripts.
//! `explain` walks one app's resolved settings (after `defaults` and `extends`) and says where
//! each came from: a line of the manifest, or a default applied by jcx. Reads only; never edits.

use std::fmt::Write as _;

use miette::SourceSpan;
use serde::Serialize;

use crate::Loaded;
use crate::error::{Error, Result};
use crate::model::App;
use crate::nodes::raw::Value;
use crate::nodes::setting::Explain;
use crate::nodes::{RawSettings, Resolved, SETTINGS, Sp};

/// One app as `jcx list` shows it.
#[derive(Debug, Serialize)]
pub struct ListRow {
    pub name: String,
    pub image: String,
    pub base: String,
    /// `11.8`, `cpu`, or none when the image has no PyTorch from a wheel index (its own, or
    /// the parent image's for an app built on another).
    pub cuda: Option<String>,
    pub workflow: String,
    pub dockerfile: String,
    pub description: Option<String>,
    /// The variant the app was expanded from (`variants`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<crate::model::Variant>,
}

pub fn list(loaded: &Loaded) -> Vec<ListRow> {
    loaded
        .manifest
        .apps
        .iter()
        .map(|a| ListRow {
            name: a.name.clone(),
            image: a.image.clone(),
            base: a
                .parent
                .as_ref()
                .map_or_else(|| a.base.full(), |p| format!("app={}", p.app)),
            cuda: a
                .torch
                .as_ref()
                .map(|t| t.cuda.clone())
                .or_else(|| a.parent.as_ref().and_then(|p| p.torch.clone())),
            workflow: a.workflow_path(),
            dockerfile: a.dockerfile_path(),
            description: a.description.clone(),
            variant: a.variant.clone(),
        })
        .collect()
}

/// Rows padded into columns, with a header; a `VARIANT` column when an app is a variant.
pub fn list_table(rows: &[ListRow]) -> String {
    let variants = rows.iter().any(|r| r.variant.is_some());
    let mut header = vec!["APP", "IMAGE", "BASE", "CUDA"];
    if variants {
        header.push("VARIANT");
    }
    header.push("WORKFLOW");
    let table: Vec<Vec<String>> = std::iter::once(header.into_iter().map(String::from).collect())
        .chain(rows.iter().map(|r| {
            let mut row = vec![
                r.name.clone(),
                r.image.clone(),
                r.base.clone(),
                r.cuda.clone().unwrap_or_else(|| "-".into()),
            ];
            if variants {
                row.push(
                    r.variant
                        .as_ref()
                        .map_or_else(|| "-".into(), |v| v.label().replace(", ", ",")),
                );
            }
            row.push(r.workflow.clone());
            row
        }))
        .collect();
    columns(&table)
}

fn columns(table: &[Vec<String>]) -> String {
    let n = table.first().map_or(0, Vec::len);
    let mut widths = vec![0; n];
    for row in table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == n {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Where a resolved setting came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// Written in the manifest: file, line, and the block it is in (`defaults`, `app NAME`).
    Manifest {
        file: String,
        line: usize,
        block: String,
    },
    /// Not written anywhere: jcx's default, perhaps with a note.
    JcxDefault { note: String },
    /// Not written anywhere: jcx derives it from other settings, as the note says.
    Derived { note: String },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Manifest { file, line, block } => write!(f, "{file}:{line} ({block})"),
            Origin::JcxDefault { note } if note.is_empty() => write!(f, "(jcx default)"),
            Origin::JcxDefault { note } => write!(f, "(jcx default: {note})"),
            Origin::Derived { note } => write!(f, "({note})"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// One app's resolved settings with their provenance.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub app: String,
    pub file: String,
    pub line: usize,
    /// The apps it extends, nearest first.
    pub extends: Vec<String>,
    /// The variant it was expanded from (`variants`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<crate::model::Variant>,
    pub settings: Vec<Setting>,
}

pub struct Ctx<'a> {
    loaded: &'a Loaded,
    /// Top-level blocks: byte range and label.
    blocks: Vec<(usize, usize, String)>,
    settings: Vec<Setting>,
}

impl Ctx<'_> {
    /// The whole validated manifest, for settings explained through what it produced.
    pub fn manifest(&self) -> &crate::model::Manifest {
        &self.loaded.manifest
    }

    pub fn origin(&self, span: SourceSpan) -> Origin {
        let (line, _) = self.loaded.source.line_col(span.offset());
        let block = self
            .blocks
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&span.offset()))
            .map_or_else(String::new, |b| b.2.clone());
        Origin::Manifest {
            file: self.loaded.source.name.clone(),
            line,
            block,
        }
    }

    pub fn push(&mut self, key: &str, value: impl Into<String>, origin: Origin) {
        self.settings.push(Setting {
            key: key.to_string(),
            value: value.into(),
            origin,
        });
    }

    pub fn one(&mut self, key: &str, v: &Sp<String>) {
        let o = self.origin(v.span);
        self.push(key, v.v.clone(), o);
    }

    /// A list, one row per manifest line it was written on (a line keeps its items together).
    pub fn list(&mut self, key: &str, items: &[Sp<String>]) {
        let mut rows: Vec<(usize, Vec<String>, SourceSpan)> = Vec::new();
        for it in items {
            let (line, _) = self.loaded.source.line_col(it.span.offset());
            match rows.last_mut() {
                Some((l, vs, _)) if *l == line => vs.push(it.v.clone()),
                _ => rows.push((line, vec![it.v.clone()], it.span)),
            }
        }
        for (_, vs, span) in rows {
            let o = self.origin(span);
            self.push(key, vs.join(" "), o);
        }
    }

    /// A setting's value as `Explain::Rows` shows it.
    pub fn rows(&mut self, def: &crate::nodes::Setting, s: &RawSettings) {
        let Some(v) = s.get(def) else { return };
        match v {
            Value::Text(t) => self.one(def.name, t),
            Value::Words(w) => self.list(def.name, w),
            Value::Flag(f) => {
                let o = self.origin(f.span);
                self.push(def.name, f.v.to_string(), o);
            }
            Value::Number(n) => {
                let o = self.origin(n.span);
                self.push(def.name, n.v.to_string(), o);
            }
            Value::Map(m) => {
                for (k, v) in m {
                    let o = self.origin(k.span);
                    self.push(def.name, format!("{}={}", k.v, v.v), o);
                }
            }
            // Families with their own shapes explain themselves (`Explain::Custom`).
            Value::One(_) | Value::Items(_) => {}
        }
    }
}

fn blocks(source: &crate::source::Source) -> Vec<(usize, usize, String)> {
    let Ok(doc) = crate::syntax::parse_document(source) else {
        return Vec::new();
    };
    doc.nodes()
        .iter()
        .map(|n| {
            let name = n.name().value();
            let label = match (name, n.entries().iter().find(|e| e.name().is_none())) {
                ("app", Some(e)) => format!("app {}", e.value().as_string().unwrap_or("?")),
                _ => name.to_string(),
            };
            (n.span().offset(), n.span().offset() + n.span().len(), label)
        })
        .collect()
}

fn unknown_app(loaded: &Loaded, name: &str) -> Error {
    let names: Vec<&str> = loaded
        .manifest
        .apps
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let variants: Vec<&str> = loaded
        .manifest
        .apps
        .iter()
        .filter(|a| a.variant.as_ref().is_some_and(|v| v.template == name))
        .map(|a| a.name.as_str())
        .collect();
    let help = if variants.is_empty() {
        crate::nodes::decode::suggest_app(name, &names)
    } else {
        format!(
            "`{name}` is the template of variants; explain one of them: {}",
            crate::nodes::decode::backticked(&variants)
        )
    };
    Error::Usage {
        message: format!("no app `{name}` in `{}`", loaded.source.name),
        help: Some(help),
    }
}

pub fn explain(loaded: &Loaded, name: &str) -> Result<Explanation> {
    let (Some(r), Some(app)) = (
        loaded.resolved.iter().find(|r| r.name.v == name),
        loaded.manifest.apps.iter().find(|a| a.name == name),
    ) else {
        return Err(unknown_app(loaded, name));
    };
    let mut cx = Ctx {
        loaded,
        blocks: blocks(&loaded.source),
        settings: Vec::new(),
    };
    settings(&mut cx, r, app);
    let (line, _) = loaded.source.line_col(r.name.span.offset());
    Ok(Explanation {
        app: name.to_string(),
        file: loaded.source.name.clone(),
        line,
        extends: r.extends_chain.clone(),
        variant: app.variant.clone(),
        settings: cx.settings,
    })
}

fn settings(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    for def in SETTINGS {
        match &def.explain {
            Explain::Rows => cx.rows(def, &r.settings),
            Explain::RowsOr(default, note) => {
                if r.settings.has(def) {
                    cx.rows(def, &r.settings);
                } else {
                    cx.push(
                        def.name,
                        default(app),
                        Origin::JcxDefault {
                            note: note.to_string(),
                        },
                    );
                }
            }
            Explain::Custom(f) => f(cx, r, app),
            Explain::In(_) => {}
        }
    }
    let generated = Origin::Derived {
        note: "written by `jcx compile`".into(),
    };
    cx.push("dockerfile file", app.dockerfile_path(), generated.clone());
    if app.installs_requirements_txt() {
        cx.push(
            "requirements file",
            format!("src/{}/requirements.txt", app.name),
            generated.clone(),
        );
    }
    cx.push("workflow file", app.workflow_path(), generated);
}
pub fn explain_text(e: &Explanation) -> String {
    let mut out = format!("app {} ({}:{})", e.app, e.file, e.line);
    if let Some(v) = &e.variant {
        let _ = write!(out, ", variant {} of `{}`", v.label(), v.template);
    }
    if !e.extends.is_empty() {
        let _ = write!(out, ", extends {}", e.extends.join(" -> "));
    }
    out.push('\n');
    let key_w = e.settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let val_w = e
        .settings
        .iter()
        .map(|s| s.value.chars().count())
        .filter(|w| *w <= 60)
        .max()
        .unwrap_or(0);
    let mut last_key = "";
    for s in &e.settings {
        let key = if s.key == last_key {
            ""
        } else {
            s.key.as_str()
        };
        last_key = &s.key;
        let line = format!("  {key:<key_w$}  {:<val_w$}  {}", s.value, s.origin);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
