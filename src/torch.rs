//! PyTorch wheel compatibility: which torch versions each wheel index (cu118, cpu, ...) carries,
//! which Python versions have wheels, and how torchvision/torchaudio versions follow torch.
//! The facts live in `data/pytorch.kdl` (with their source and date); this module only reads them.

use std::sync::OnceLock;

use kdl::{KdlDocument, KdlNode, KdlValue};

pub const TABLE_SOURCE: &str = include_str!("../data/pytorch.kdl");

/// A release version compared on its numeric parts. `2.11` as an upper bound means any `2.11.x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ver {
    pub major: u64,
    pub minor: u64,
    pub patch: Option<u64>,
}

impl Ver {
    pub fn parse(s: &str) -> Option<Ver> {
        let s = s.split('+').next()?;
        let mut it = s.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = match it.next() {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        if it.next().is_some() {
            return None;
        }
        Some(Ver {
            major,
            minor,
            patch,
        })
    }

    pub fn at_least(self, bound: Ver) -> bool {
        (self.major, self.minor, self.patch.unwrap_or(0))
            >= (bound.major, bound.minor, bound.patch.unwrap_or(0))
    }

    pub fn at_most(self, bound: Ver) -> bool {
        match bound.patch {
            Some(p) => {
                (self.major, self.minor, self.patch.unwrap_or(0)) <= (bound.major, bound.minor, p)
            }
            None => (self.major, self.minor) <= (bound.major, bound.minor),
        }
    }
}

impl std::fmt::Display for Ver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{}", self.major, self.minor, p),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WheelIndex {
    pub tag: String,
    /// `None` for the CPU index.
    pub cuda: Option<String>,
    pub first: Ver,
    pub last: Option<Ver>,
}

impl WheelIndex {
    pub fn range(&self) -> String {
        match self.last {
            Some(l) => format!("{}–{}", self.first, l),
            None => format!("{} and later", self.first),
        }
    }
    pub fn has(&self, v: Ver) -> bool {
        v.at_least(self.first) && self.last.is_none_or(|l| v.at_most(l))
    }
}

#[derive(Debug, Clone)]
pub struct PythonSupport {
    pub python: String,
    pub first: Ver,
    pub last: Option<Ver>,
}

#[derive(Debug)]
pub struct Table {
    pub source: String,
    pub checked: String,
    pub newest_known: Ver,
    pub indexes: Vec<WheelIndex>,
    pub pythons: Vec<PythonSupport>,
    pub companions: Vec<Companion>,
    /// (package, torch release, the package's release that goes with it)
    pub exceptions: Vec<(String, Ver, Ver)>,
}

/// How a companion package's version follows torch's, for one torch major version.
#[derive(Debug, Clone)]
pub struct Companion {
    pub package: String,
    pub torch_major: u64,
    pub major: u64,
    pub minor_offset: u64,
}

/// The embedded table. Its well-formedness is a test (`table_parses`), so this cannot fail in a
/// released binary.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE_SOURCE).expect("data/pytorch.kdl is valid (tested)"))
}

fn s<'a>(n: &'a KdlNode, key: &str) -> Result<&'a str, String> {
    match n.get(key) {
        Some(KdlValue::String(s)) => Ok(s),
        _ => Err(format!("`{}` lacks string `{key}`", n.name().value())),
    }
}
fn i(n: &KdlNode, key: &str) -> Result<u64, String> {
    match n.get(key) {
        Some(KdlValue::Integer(i)) => u64::try_from(*i).map_err(|e| e.to_string()),
        _ => Err(format!("`{}` lacks integer `{key}`", n.name().value())),
    }
}
fn arg(n: &KdlNode) -> Result<&str, String> {
    match n.get(0) {
        Some(KdlValue::String(s)) => Ok(s),
        _ => Err(format!("`{}` lacks its argument", n.name().value())),
    }
}
fn ver(s: &str) -> Result<Ver, String> {
    Ver::parse(s).ok_or_else(|| format!("`{s}` is not a version"))
}

pub fn parse_table(text: &str) -> Result<Table, String> {
    let doc = KdlDocument::parse_v2(text).map_err(|e| format!("{e:?}"))?;
    let mut t = Table {
        source: String::new(),
        checked: String::new(),
        newest_known: Ver {
            major: 0,
            minor: 0,
            patch: None,
        },
        indexes: vec![],
        pythons: vec![],
        companions: vec![],
        exceptions: vec![],
    };
    for n in doc.nodes() {
        match n.name().value() {
            "source" => {
                t.source = arg(n)?.to_string();
                t.checked = s(n, "checked")?.to_string();
            }
            "newest-known-torch" => t.newest_known = ver(arg(n)?)?,
            "index" => t.indexes.push(WheelIndex {
                tag: arg(n)?.to_string(),
                cuda: s(n, "cuda").ok().map(str::to_string),
                first: ver(s(n, "first")?)?,
                last: s(n, "last").ok().map(ver).transpose()?,
            }),
            "python" => t.pythons.push(PythonSupport {
                python: arg(n)?.to_string(),
                first: ver(s(n, "first")?)?,
                last: s(n, "last").ok().map(ver).transpose()?,
            }),
            "companion" => t.companions.push(Companion {
                package: arg(n)?.to_string(),
                torch_major: i(n, "torch-major")?,
                major: i(n, "major")?,
                minor_offset: i(n, "minor-offset")?,
            }),
            "exception" => t.exceptions.push((
                arg(n)?.to_string(),
                ver(s(n, "torch")?)?,
                ver(s(n, "version")?)?,
            )),
            other => return Err(format!("unknown node `{other}`")),
        }
    }
    if t.source.is_empty() || t.checked.is_empty() || t.indexes.is_empty() {
        return Err("the table needs `source`, `checked` and at least one `index`".into());
    }
    Ok(t)
}

impl Table {
    pub fn index_for_cuda(&self, cuda: &str) -> Option<&WheelIndex> {
        if cuda == "cpu" {
            return self.indexes.iter().find(|i| i.cuda.is_none());
        }
        self.indexes
            .iter()
            .find(|i| i.cuda.as_deref() == Some(cuda))
    }

    pub fn cuda_versions(&self) -> Vec<&str> {
        self.indexes
            .iter()
            .filter_map(|i| i.cuda.as_deref())
            .collect()
    }

    pub fn python(&self, python: &str) -> Option<&PythonSupport> {
        self.pythons.iter().find(|p| p.python == python)
    }

    /// The release of `package` (torchvision, torchaudio) that goes with a torch release, if the
    /// table knows the rule for that torch major version.
    pub fn companion_for(&self, package: &str, torch: Ver) -> Option<Ver> {
        if let Some((_, _, v)) = self
            .exceptions
            .iter()
            .find(|(p, t, _)| p == package && *t == torch)
        {
            return Some(*v);
        }
        let rule = self
            .companions
            .iter()
            .find(|c| c.package == package && c.torch_major == torch.major)?;
        Some(Ver {
            major: rule.major,
            minor: torch.minor + rule.minor_offset,
            patch: torch.patch,
        })
    }

    pub fn torchvision_for(&self, torch: Ver) -> Option<Ver> {
        self.companion_for("torchvision", torch)
    }

    pub fn torchaudio_for(&self, torch: Ver) -> Option<Ver> {
        self.companion_for("torchaudio", torch)
    }

    pub fn is_newer_than_known(&self, v: Ver) -> bool {
        (v.major, v.minor) > (self.newest_known.major, self.newest_known.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Ver {
        Ver::parse(s).unwrap()
    }

    #[test]
    fn table_parses_and_names_its_source() {
        let t = parse_table(TABLE_SOURCE).unwrap();
        assert!(t.source.starts_with("https://download.pytorch.org/whl/"));
        assert_eq!(t.checked.len(), 10, "checked is a date YYYY-MM-DD");
        assert_eq!(
            t.cuda_versions(),
            vec!["11.8", "12.1", "12.4", "12.6", "12.8", "13.0"]
        );
    }

    #[test]
    fn seed_pins_are_compatible() {
        let t = table();
        let cu118 = t.index_for_cuda("11.8").unwrap();
        assert_eq!(cu118.tag, "cu118");
        assert!(cu118.has(v("2.2.1")));
        assert_eq!(t.torchvision_for(v("2.2.1")), Some(v("0.17.1")));
        assert_eq!(t.torchaudio_for(v("2.2.1")), Some(v("2.2.1")));
        let py = t.python("3.11").unwrap();
        assert!(v("2.2.1").at_least(py.first));
    }

    #[test]
    fn index_ranges_match_the_official_index() {
        let t = table();
        let has = |cuda: &str, torch: &str| t.index_for_cuda(cuda).unwrap().has(v(torch));
        assert!(!has("12.1", "2.7.0"), "torch 2.7.0 has no cu121 wheels");
        assert!(has("12.1", "2.5.1") && !has("12.1", "2.0.1"));
        assert!(has("11.8", "2.0.0") && has("11.8", "2.7.1") && !has("11.8", "2.8.0"));
        assert!(has("12.4", "2.4.0") && has("12.4", "2.6.0") && !has("12.4", "2.7.0"));
        assert!(has("12.6", "2.11.0") && has("12.6", "2.11.3") && !has("12.6", "2.12.0"));
        assert!(has("13.0", "2.9.0") && !has("13.0", "2.8.0") && has("13.0", "2.20.0"));
        assert!(has("cpu", "1.13.1"));
    }

    #[test]
    fn companion_versions() {
        let t = table();
        assert_eq!(t.torchvision_for(v("2.0.0")), Some(v("0.15.1")));
        assert_eq!(t.torchvision_for(v("2.0.1")), Some(v("0.15.2")));
        assert_eq!(t.torchvision_for(v("2.7.1")), Some(v("0.22.1")));
        assert_eq!(t.torchaudio_for(v("2.0.0")), Some(v("2.0.1")));
        assert_eq!(t.torchaudio_for(v("2.0.1")), Some(v("2.0.2")));
        assert_eq!(t.torchaudio_for(v("2.0.2")), Some(v("2.0.2")));
        assert_eq!(t.torchaudio_for(v("1.13.1")), Some(v("0.13.1")));
        assert_eq!(t.torchvision_for(v("1.13.1")), Some(v("0.14.1")));
        assert_eq!(t.torchvision_for(v("1.7.1")), Some(v("0.8.2")));
        assert_eq!(t.torchaudio_for(v("1.7.1")), Some(v("0.7.2")));
        assert_eq!(t.torchvision_for(v("1.10.2")), Some(v("0.11.3")));
    }

    #[test]
    fn python_floors() {
        let t = table();
        assert_eq!(t.python("3.12").unwrap().first, v("2.2.0"));
        assert_eq!(t.python("3.13").unwrap().first, v("2.5.0"));
        assert_eq!(t.python("3.14").unwrap().first, v("2.9.0"));
        assert!(t.is_newer_than_known(v("2.12.0")) && !t.is_newer_than_known(v("2.11.1")));
    }
}
