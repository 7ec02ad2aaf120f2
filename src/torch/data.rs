//! `data/pytorch.kdl`: its format, how it is read, and what it can be asked.

use std::sync::OnceLock;

use kdl::{KdlDocument, KdlNode, KdlValue};

use super::{IndexChoice, Ver, tag_cuda};

pub const TABLE_SOURCE: &str = include_str!("../../data/pytorch.kdl");

/// One torch release: the CPython versions it has wheels for and the indexes that carry it,
/// each with the key of its source. No index: nobody has curated them yet.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: Ver,
    pub pythons: Vec<Ver>,
    pub indexes: Vec<(String, String)>,
}

impl Release {
    pub fn has_python(&self, python: Ver) -> bool {
        self.pythons.contains(&python)
    }
    pub fn on_index(&self, tag: &str) -> bool {
        self.indexes.iter().any(|(t, _)| t == tag)
    }
}

/// One torchvision or torchaudio release and the torch its metadata requires (`None`: its
/// metadata names no torch, so it cannot be paired).
#[derive(Debug, Clone)]
pub struct Companion {
    pub package: String,
    pub version: Ver,
    pub torch: Option<Vec<(Op, Ver)>>,
    pub torch_text: Option<String>,
    pub pythons: Vec<Ver>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
}

impl Companion {
    /// Whether its torch requirement admits `torch` (false when it names none).
    pub fn accepts(&self, torch: Ver) -> bool {
        self.torch.as_ref().is_some_and(|req| {
            req.iter().all(|(op, v)| match op {
                Op::Eq => torch == *v,
                Op::Ne => torch != *v,
                Op::Ge => torch >= *v,
                Op::Gt => torch > *v,
                Op::Le => torch <= *v,
                Op::Lt => torch < *v,
            })
        })
    }
    pub(super) fn exact(&self) -> bool {
        matches!(self.torch.as_deref(), Some([(Op::Eq, _)]))
    }
}

fn parse_requirement(s: &str) -> Result<Vec<(Op, Ver)>, String> {
    s.split(',')
        .map(|part| {
            let part = part.trim();
            let (op, rest) = [
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">=", Op::Ge),
                ("<=", Op::Le),
                (">", Op::Gt),
                ("<", Op::Lt),
            ]
            .iter()
            .find_map(|(p, op)| part.strip_prefix(p).map(|r| (*op, r)))
            .ok_or_else(|| format!("`{s}`: unsupported requirement"))?;
            Ok((op, ver(rest.trim())?))
        })
        .collect()
}

#[derive(Debug)]
pub struct Table {
    pub checked: String,
    pub platform: String,
    /// (key, what it is)
    pub sources: Vec<(String, String)>,
    /// Oldest first.
    pub releases: Vec<Release>,
    /// By package, oldest first.
    pub companions: Vec<Companion>,
}

/// The embedded table. Its well-formedness is a test (`table_parses_and_names_its_sources`),
/// so this cannot fail in a released binary.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE_SOURCE).expect("data/pytorch.kdl is valid (tested)"))
}

fn string<'a>(n: &'a KdlNode, key: &str) -> Result<&'a str, String> {
    match n.get(key) {
        Some(KdlValue::String(s)) => Ok(s),
        _ => Err(format!("`{}` lacks string `{key}`", n.name().value())),
    }
}
fn arg(n: &KdlNode, i: usize) -> Result<&str, String> {
    match n.get(i) {
        Some(KdlValue::String(s)) => Ok(s),
        _ => Err(format!("`{}` lacks argument {i}", n.name().value())),
    }
}
fn ver(s: &str) -> Result<Ver, String> {
    Ver::parse(s).ok_or_else(|| format!("`{s}` is not a version"))
}
fn pythons(n: &KdlNode) -> Result<Vec<Ver>, String> {
    let list: Vec<Ver> = string(n, "python")?
        .split_whitespace()
        .map(ver)
        .collect::<Result<_, _>>()?;
    if list.is_empty() || list.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("`{}`: python must be a sorted list", arg(n, 0)?));
    }
    Ok(list)
}

pub fn parse_table(text: &str) -> Result<Table, String> {
    let doc = KdlDocument::parse_v2(text).map_err(|e| format!("{e:?}"))?;
    let mut t = Table {
        checked: String::new(),
        platform: String::new(),
        sources: vec![],
        releases: vec![],
        companions: vec![],
    };
    let mut version = None;
    for n in doc.nodes() {
        let name = n.name().value();
        let source = |n: &KdlNode, sources: &[(String, String)], key: &str| -> Result<(), String> {
            match n.get(key) {
                Some(KdlValue::String(s)) if sources.iter().any(|(k, _)| k == s) => Ok(()),
                _ => Err(format!(
                    "`{name} {}`: `{key}` names no `source`",
                    arg(n, 0)?
                )),
            }
        };
        match name {
            "table-version" => version = n.get(0).and_then(KdlValue::as_integer),
            "checked" => t.checked = arg(n, 0)?.to_string(),
            "platform" => t.platform = arg(n, 0)?.to_string(),
            "source" => t
                .sources
                .push((arg(n, 0)?.to_string(), arg(n, 1)?.to_string())),
            "torch" => {
                source(n, &t.sources, "source")?;
                let mut indexes = vec![];
                for e in n.entries() {
                    let Some(key) = e.name().map(|k| k.value()) else {
                        continue;
                    };
                    if key == "cpu" || tag_cuda(key).is_some() {
                        source(n, &t.sources, key)?;
                        indexes.push((key.to_string(), string(n, key)?.to_string()));
                    } else if !matches!(key, "python" | "source") {
                        return Err(format!("`torch {}`: unknown property `{key}`", arg(n, 0)?));
                    }
                }
                t.releases.push(Release {
                    version: ver(arg(n, 0)?)?,
                    pythons: pythons(n)?,
                    indexes,
                });
            }
            "torchvision" | "torchaudio" => {
                source(n, &t.sources, "source")?;
                let torch_text = match n.get("torch") {
                    Some(KdlValue::Null) => None,
                    Some(KdlValue::String(s)) => Some(s.clone()),
                    _ => return Err(format!("`{name} {}` lacks `torch`", arg(n, 0)?)),
                };
                t.companions.push(Companion {
                    package: name.to_string(),
                    version: ver(arg(n, 0)?)?,
                    torch: torch_text.as_deref().map(parse_requirement).transpose()?,
                    torch_text,
                    pythons: pythons(n)?,
                });
            }
            other => return Err(format!("unknown node `{other}`")),
        }
    }
    if version != Some(2) {
        return Err("the table needs `table-version 2`".into());
    }
    if t.checked.len() != 10 || t.releases.is_empty() {
        return Err("the table needs `checked \"YYYY-MM-DD\"` and torch releases".into());
    }
    if t.releases.windows(2).any(|w| w[0].version >= w[1].version) {
        return Err("torch releases must be sorted, oldest first".into());
    }
    Ok(t)
}

impl Table {
    /// The index tags of the table, `cpu` first, then by CUDA version.
    pub fn index_tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .releases
            .iter()
            .flat_map(|r| r.indexes.iter().map(|(t, _)| t.as_str()))
            .collect();
        tags.sort_by_key(|t| (*t != "cpu", tag_cuda(t).and_then(|c| Ver::parse(&c))));
        tags.dedup();
        tags
    }

    /// The CUDA versions that have an index in the table, oldest first.
    pub fn cuda_versions(&self) -> Vec<String> {
        self.index_tags().into_iter().filter_map(tag_cuda).collect()
    }

    pub fn release(&self, v: Ver) -> Option<&Release> {
        self.releases.iter().find(|r| r.version == v)
    }

    pub fn newest(&self) -> Ver {
        self.releases.last().map_or(
            Ver {
                major: 0,
                minor: 0,
                patch: None,
            },
            |r| r.version,
        )
    }

    pub(super) fn newest_python(&self) -> Option<Ver> {
        self.releases
            .iter()
            .flat_map(|r| r.pythons.iter().copied())
            .max()
    }

    /// The Python, unless it is newer than every Python of the table (then nothing is known).
    pub(super) fn known_python(&self, python: Option<Ver>) -> Option<Ver> {
        python.filter(|p| self.newest_python().is_some_and(|n| *p <= n))
    }

    /// Releases the index carries (all releases for an unchecked index) with wheels for the
    /// Python (all, when the Python is unknown or newer than the table).
    pub(super) fn candidates(&self, index: &IndexChoice, python: Option<Ver>) -> Vec<Ver> {
        let python = self.known_python(python);
        self.releases
            .iter()
            .filter(|r| !index.checked() || r.on_index(index.tag()))
            .filter(|r| python.is_none_or(|p| r.has_python(p)))
            .map(|r| r.version)
            .collect()
    }

    /// The first and last torch the index carries, when the table knows the index.
    pub fn index_range(&self, index: &IndexChoice) -> Option<(Ver, Ver)> {
        if !index.checked() {
            return None;
        }
        let on: Vec<Ver> = self
            .releases
            .iter()
            .filter(|r| r.on_index(index.tag()))
            .map(|r| r.version)
            .collect();
        Some((*on.first()?, *on.last()?))
    }

    /// The newest torch the index carries with wheels for the Python.
    pub fn newest_on(&self, index: &IndexChoice, python: Option<Ver>) -> Option<Ver> {
        if !index.checked() {
            return None;
        }
        self.candidates(index, python).last().copied()
    }

    pub(super) fn companions_of(&self, package: &str) -> impl Iterator<Item = &Companion> {
        self.companions.iter().filter(move |c| c.package == package)
    }
}
