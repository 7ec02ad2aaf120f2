//! PyTorch wheel compatibility: which torch releases exist, which wheel indexes (cu118, cpu, ...)
//! carry each, which CPython versions each has wheels for, and which torch each torchvision and
//! torchaudio release requires. The facts live in `data/pytorch.kdl`, written by
//! `scripts/update-pytorch-table` with the source of each, and are read by `data`; this module
//! makes every decision about a manifest's `cuda` and torch pins, as findings that say what is
//! wrong and what exists instead; `report` turns a finding into a diagnostic. `validate` only
//! places them in the manifest.

mod data;
mod report;

use std::cmp::Ordering;

pub use data::{Companion, Op, Release, TABLE_SOURCE, Table, parse_table, table};
pub use report::Place;

/// A release version compared on its numeric parts; a missing patch counts as 0 (`2.2` is
/// `2.2.0`, as in PEP 440), but is kept for display. A local label (`+cu118`) is ignored.
#[derive(Debug, Clone, Copy)]
pub struct Ver {
    pub major: u64,
    pub minor: u64,
    pub patch: Option<u64>,
}

impl Ver {
    pub fn parse(s: &str) -> Option<Ver> {
        let s = s.split('+').next()?;
        let mut it = s.split('.');
        let num = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let major = num(it.next()?)?;
        let minor = num(it.next()?)?;
        let patch = match it.next() {
            Some(p) => Some(num(p)?),
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

    fn key(self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch.unwrap_or(0))
    }

    fn same_minor(self, other: Ver) -> bool {
        (self.major, self.minor) == (other.major, other.minor)
    }
}

impl PartialEq for Ver {
    fn eq(&self, other: &Ver) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Ver {}
impl PartialOrd for Ver {
    fn partial_cmp(&self, other: &Ver) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ver {
    fn cmp(&self, other: &Ver) -> Ordering {
        self.key().cmp(&other.key())
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

/// `cu118` for CUDA `11.8`: PyTorch names every CUDA index `cu` + major + minor.
pub fn cuda_tag(cuda: &str) -> Option<String> {
    let v = Ver::parse(cuda)?;
    (v.patch.is_none() && !cuda.contains('+')).then(|| format!("cu{}{}", v.major, v.minor))
}

/// `11.8` for `cu118` (the last digit is the minor version).
pub fn tag_cuda(tag: &str) -> Option<String> {
    let digits = tag.strip_prefix("cu")?;
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (major, minor) = digits.split_at(digits.len() - 1);
    Some(format!("{}.{minor}", major.parse::<u64>().ok()?))
}

/// What `cuda` chooses, as far as the table can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChoice {
    /// `cuda cpu`.
    Cpu,
    /// A CUDA index of the table: torch pins are checked against it.
    Known(String),
    /// A CUDA index the table does not know (newer than the table, or declared with
    /// `index=`): used as written, torch pins are not checked against it.
    Unchecked(String),
}

impl IndexChoice {
    pub fn tag(&self) -> &str {
        match self {
            IndexChoice::Cpu => "cpu",
            IndexChoice::Known(t) | IndexChoice::Unchecked(t) => t,
        }
    }
    fn checked(&self) -> bool {
        !matches!(self, IndexChoice::Unchecked(_))
    }
}

/// A finding about `cuda` (and its `index=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaFinding {
    /// Warning: a CUDA version newer than every index of the table.
    NewerThanTable { tag: String },
    /// Warning: `index=` declares the index; jcx takes it as written.
    Declared { tag: String, known: bool },
    /// Error: no such index, and nothing says there is one.
    NoSuchIndex {
        suggestion: Option<String>,
        written_as_tag: Option<String>,
        /// The index `index=` would declare (a well-formed CUDA version only).
        tag: Option<String>,
    },
    /// Error: `index=` names another index than the CUDA version's.
    DeclaredMismatch { declared: String, expected: String },
    /// Error: `index=` with `cuda cpu`, or with a value that is no CUDA version.
    DeclaredWithout { declared: String },
}

/// The result of `cuda` (with its `index=`): the index used, if any, and what to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaDecision {
    pub index: Option<IndexChoice>,
    pub finding: Option<CudaFinding>,
}

/// A finding about a torch pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorchFinding {
    /// Warning: newer than every release of the table.
    NewerThanTable { torch: Ver },
    /// Error: inside the table's range but never released; `nearby` exist (on the index, and
    /// for `python` when the table knows it).
    NeverReleased {
        torch: Ver,
        python: Option<Ver>,
        nearby: Vec<Ver>,
    },
    /// Warning: a release whose indexes the table does not record.
    IndexesNotRecorded { torch: Ver },
    /// Error: the chosen index does not carry it. `elsewhere`: the CUDA versions whose index does;
    /// `first`/`last`: what the chosen index carries.
    NotOnIndex {
        torch: Ver,
        tag: String,
        elsewhere: Vec<String>,
        first: Option<Ver>,
        last: Option<Ver>,
    },
    /// Error: no wheels for the image's Python. `pythons`: the ones it has; `nearby`: releases
    /// on the index with wheels for that Python.
    NoWheelsForPython {
        torch: Ver,
        python: Ver,
        pythons: Vec<Ver>,
        nearby: Vec<Ver>,
    },
    /// Warning: a Python newer than every Python of the table.
    PythonNewerThanTable { torch: Ver, python: Ver },
}

/// A finding about a torchvision or torchaudio pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanionFinding {
    /// Error: no such release (inside the table's range).
    NeverReleased {
        package: String,
        pin: Ver,
        torch: Option<Ver>,
        instead: Option<Ver>,
        nearby: Vec<Ver>,
    },
    /// Warning: newer than every release of the package in the table.
    NewerThanTable { package: String, pin: Ver },
    /// Error: its metadata requires another torch.
    Mismatch {
        package: String,
        pin: Ver,
        torch: Ver,
        requires: String,
        instead: Option<Ver>,
    },
    /// Warning: its metadata names no torch, so it cannot be paired.
    Unpaired {
        package: String,
        pin: Ver,
        torch: Ver,
        instead: Option<Ver>,
    },
    /// Error: no wheels for the image's Python.
    NoWheelsForPython {
        package: String,
        pin: Ver,
        python: Ver,
        pythons: Vec<Ver>,
        instead: Option<Ver>,
    },
}

/// The releases around `v`: those of its minor version, and the nearest below and above.
fn nearby(candidates: &[Ver], v: Ver) -> Vec<Ver> {
    let mut out: Vec<Ver> = candidates
        .iter()
        .copied()
        .filter(|c| c.same_minor(v))
        .collect();
    out.extend(candidates.iter().copied().filter(|c| *c < v).max());
    out.extend(candidates.iter().copied().filter(|c| *c > v).min());
    out.sort();
    out.dedup();
    out
}

impl Table {
    /// Decides `cuda` (`11.8`, `cpu`, ...) with its optional `index=`.
    pub fn choose_index(&self, cuda: &str, declared: Option<&str>) -> CudaDecision {
        let decide = |index, finding| CudaDecision {
            index: Some(index),
            finding,
        };
        let refuse = |finding| CudaDecision {
            index: None,
            finding: Some(finding),
        };
        let known = self.index_tags();
        let tag = cuda_tag(cuda);
        match (cuda, declared, &tag) {
            ("cpu", None, _) => decide(IndexChoice::Cpu, None),
            ("cpu", Some(d), _) | (_, Some(d), None) => refuse(CudaFinding::DeclaredWithout {
                declared: d.to_string(),
            }),
            (_, Some(d), Some(t)) if d != t => refuse(CudaFinding::DeclaredMismatch {
                declared: d.to_string(),
                expected: t.clone(),
            }),
            (_, Some(_), Some(t)) => decide(
                IndexChoice::Unchecked(t.clone()),
                Some(CudaFinding::Declared {
                    tag: t.clone(),
                    known: known.contains(&t.as_str()),
                }),
            ),
            (_, None, Some(t)) if known.contains(&t.as_str()) => {
                decide(IndexChoice::Known(t.clone()), None)
            }
            (_, None, Some(t))
                if self
                    .cuda_versions()
                    .iter()
                    .filter_map(|c| Ver::parse(c))
                    .all(|c| Ver::parse(cuda).is_some_and(|v| v > c)) =>
            {
                decide(
                    IndexChoice::Unchecked(t.clone()),
                    Some(CudaFinding::NewerThanTable { tag: t.clone() }),
                )
            }
            _ => refuse(CudaFinding::NoSuchIndex {
                suggestion: self.suggest_cuda(cuda),
                written_as_tag: tag_cuda(&cuda.to_ascii_lowercase())
                    .filter(|_| known.contains(&cuda.to_ascii_lowercase().as_str())),
                tag,
            }),
        }
    }

    /// The known CUDA version closest to a mistaken one: numerically within the same major
    /// version (`12.7` -> `12.8`; `12.1.1` -> `12.1`), else by spelling.
    fn suggest_cuda(&self, cuda: &str) -> Option<String> {
        let known = self.cuda_versions();
        let numeric = Ver::parse(&cuda.split('.').take(2).collect::<Vec<_>>().join("."));
        if let Some(v) = numeric {
            return known
                .iter()
                .filter_map(|k| Some((Ver::parse(k)?, k)))
                .filter(|(k, _)| k.major == v.major)
                .min_by_key(|(k, _)| (k.minor.abs_diff(v.minor), std::cmp::Reverse(k.minor)))
                .map(|(_, k)| k.clone());
        }
        known
            .iter()
            .map(|k| (strsim::levenshtein(cuda, k), k))
            .filter(|(d, _)| *d < 3)
            .min()
            .map(|(_, k)| k.clone())
    }

    /// Decides a torch pin on the chosen index for the image's Python (if known).
    pub fn check_torch(
        &self,
        index: &IndexChoice,
        torch: Ver,
        python: Option<Ver>,
    ) -> Vec<TorchFinding> {
        let Some(release) = self.release(torch) else {
            return vec![if torch > self.newest() {
                TorchFinding::NewerThanTable { torch }
            } else {
                TorchFinding::NeverReleased {
                    torch,
                    python: self.known_python(python),
                    nearby: nearby(&self.candidates(index, python), torch),
                }
            }];
        };
        let mut out = vec![];
        if index.checked() {
            if release.indexes.is_empty() {
                out.push(TorchFinding::IndexesNotRecorded { torch });
            } else if !release.on_index(index.tag()) {
                let range = self.index_range(index);
                out.push(TorchFinding::NotOnIndex {
                    torch,
                    tag: index.tag().to_string(),
                    elsewhere: release
                        .indexes
                        .iter()
                        .filter_map(|(t, _)| tag_cuda(t))
                        .collect(),
                    first: range.map(|r| r.0),
                    last: range.map(|r| r.1),
                });
            }
        }
        if let Some(py) = python {
            if self.newest_python().is_some_and(|n| py > n) {
                out.push(TorchFinding::PythonNewerThanTable { torch, python: py });
            } else if !release.has_python(py) {
                out.push(TorchFinding::NoWheelsForPython {
                    torch,
                    python: py,
                    pythons: release.pythons.clone(),
                    nearby: nearby(&self.candidates(index, Some(py)), torch),
                });
            }
        }
        out
    }

    /// The release of `package` (torchvision, torchaudio) that goes with a torch release, for
    /// the Python if known: one whose metadata requires exactly that torch, else the newest
    /// that admits it. Only releases the table knows, so only versions that exist.
    pub fn companion_for(&self, package: &str, torch: Ver, python: Option<Ver>) -> Option<Ver> {
        let python = self.known_python(python);
        let ok: Vec<&Companion> = self
            .companions_of(package)
            .filter(|c| c.accepts(torch) && python.is_none_or(|p| c.pythons.contains(&p)))
            .collect();
        let exact = ok.iter().filter(|c| c.exact()).map(|c| c.version).max();
        exact.or_else(|| ok.iter().map(|c| c.version).max())
    }

    /// Decides a torchvision/torchaudio pin next to a torch pin (`None`: not pinned or not a
    /// release the table knows: only the companion's own existence is checked).
    pub fn check_companion(
        &self,
        package: &str,
        pin: Ver,
        torch: Option<Ver>,
        python: Option<Ver>,
    ) -> Option<CompanionFinding> {
        let torch = torch.filter(|t| self.release(*t).is_some());
        let instead = torch.and_then(|t| self.companion_for(package, t, python));
        let all: Vec<&Companion> = self.companions_of(package).collect();
        let Some(c) = all.iter().find(|c| c.version == pin) else {
            let newest = all.iter().map(|c| c.version).max()?;
            return Some(if pin > newest {
                CompanionFinding::NewerThanTable {
                    package: package.to_string(),
                    pin,
                }
            } else {
                let versions: Vec<Ver> = all.iter().map(|c| c.version).collect();
                CompanionFinding::NeverReleased {
                    package: package.to_string(),
                    pin,
                    torch,
                    instead,
                    nearby: nearby(&versions, pin),
                }
            });
        };
        if let Some(t) = torch {
            match &c.torch_text {
                None => {
                    return Some(CompanionFinding::Unpaired {
                        package: package.to_string(),
                        pin,
                        torch: t,
                        instead,
                    });
                }
                Some(req) if !c.accepts(t) => {
                    return Some(CompanionFinding::Mismatch {
                        package: package.to_string(),
                        pin,
                        torch: t,
                        requires: req.clone(),
                        instead,
                    });
                }
                Some(_) => {}
            }
        }
        let py = self.known_python(python)?;
        // When torch itself has no wheels for the Python, that is the one mistake to report.
        let torch_has_py = torch.is_none_or(|t| self.release(t).is_some_and(|r| r.has_python(py)));
        (torch_has_py && !c.pythons.contains(&py)).then(|| CompanionFinding::NoWheelsForPython {
            package: package.to_string(),
            pin,
            python: py,
            pythons: c.pythons.clone(),
            instead,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Ver {
        Ver::parse(s).unwrap()
    }
    fn known(tag: &str) -> IndexChoice {
        IndexChoice::Known(tag.to_string())
    }

    #[test]
    fn table_parses_and_names_its_sources() {
        let t = parse_table(TABLE_SOURCE).unwrap();
        assert_eq!(t.checked.len(), 10, "checked is a date YYYY-MM-DD");
        for key in ["pypi", "commands", "matrix"] {
            assert!(t.sources.iter().any(|(k, _)| k == key), "source {key}");
        }
        // The sources are public PyTorch pages; the registry is named, never its host.
        for (_, text) in &t.sources {
            for url in text.split_whitespace().filter(|w| w.contains("://")) {
                assert!(
                    url.starts_with("https://pytorch.org/")
                        || url.starts_with("https://github.com/pytorch/")
                        || url.starts_with("https://download.pytorch.org/whl/"),
                    "{url}"
                );
            }
        }
        assert!(t.cuda_versions().iter().any(|c| c == "12.9" || c == "13.2"));
        assert!(t.index_tags().first() == Some(&"cpu"));
    }

    #[test]
    fn the_docs_name_what_the_table_knows() {
        let t = table();
        let cudas: Vec<String> = t.cuda_versions().iter().map(|c| format!("`{c}`")).collect();
        let manifest = include_str!("../docs/manifest.md").replace("\n", " ");
        let known = format!(
            "{} and `cpu`, and torch up to {}",
            cudas.join(", "),
            t.newest()
        );
        assert!(
            manifest.contains(&known),
            "docs/manifest.md should say: {known}"
        );
        let rules = include_str!("../docs/rules.md");
        let known = format!("(known: {}, and `cpu`)", t.cuda_versions().join(", "));
        assert!(rules.contains(&known), "docs/rules.md should say: {known}");
    }

    #[test]
    fn malformed_tables_are_refused() {
        let head =
            "table-version 2\nchecked \"2026-12-01\"\nplatform \"x\"\nsource pypi \"PyPI\"\n";
        let ok = format!("{head}torch \"2.2.1\" python=\"3.11 3.12\" source=pypi cpu=pypi\n");
        assert!(parse_table(&ok).is_ok());
        for bad in [
            // an index without a declared source
            format!("{head}torch \"2.2.1\" python=\"3.11\" source=pypi cu118=matrix\n"),
            // unsorted releases
            format!(
                "{head}torch \"2.2.1\" python=\"3.11\" source=pypi\ntorch \"2.2.0\" python=\"3.11\" source=pypi\n"
            ),
            // unsorted Pythons
            format!("{head}torch \"2.2.1\" python=\"3.12 3.11\" source=pypi\n"),
            // a companion requirement jcx cannot read
            format!(
                "{head}torch \"2.2.1\" python=\"3.11\" source=pypi\ntorchvision \"0.17.1\" torch=\"~=2.2\" python=\"3.11\" source=pypi\n"
            ),
            // the old range format
            "source \"x\" checked=\"2026-11-01\"\nindex cu118 cuda=\"11.8\" first=\"2.0.0\"\n"
                .into(),
        ] {
            assert!(parse_table(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seed_pins_are_compatible() {
        let t = table();
        let d = t.choose_index("11.8", None);
        assert_eq!(
            d,
            CudaDecision {
                index: Some(known("cu118")),
                finding: None
            }
        );
        let py = Some(v("3.11"));
        assert_eq!(t.check_torch(&known("cu118"), v("2.2.1"), py), vec![]);
        assert_eq!(
            t.companion_for("torchvision", v("2.2.1"), py),
            Some(v("0.17.1"))
        );
        assert_eq!(
            t.companion_for("torchaudio", v("2.2.1"), py),
            Some(v("2.2.1"))
        );
        for (p, pin) in [("torchvision", "0.17.1"), ("torchaudio", "2.2.1")] {
            assert_eq!(t.check_companion(p, v(pin), Some(v("2.2.1")), py), None);
        }
    }

    #[test]
    fn releases_are_exact() {
        let t = table();
        let py = Some(v("3.11"));
        // Never released, inside the table's range: an error naming real releases nearby.
        assert_eq!(
            t.check_torch(&known("cu121"), v("2.3.5"), py),
            vec![TorchFinding::NeverReleased {
                torch: v("2.3.5"),
                python: py,
                nearby: vec![v("2.3.0"), v("2.3.1"), v("2.4.0")],
            }]
        );
        // Newer than every release: a warning.
        assert!(matches!(
            t.check_torch(&known("cu130"), v("2.99.0"), py)[..],
            [TorchFinding::NewerThanTable { .. }]
        ));
        // `2.2` is `2.2.0`.
        assert_eq!(t.check_torch(&known("cu121"), v("2.2"), py), vec![]);
        // Every release the table knows exists on PyPI, with Python and companion facts.
        assert!(t.releases.iter().all(|r| !r.pythons.is_empty()));
        assert!(t.release(v("2.15.0")).is_some() && t.release(v("2.11.0")).is_some());
    }

    #[test]
    fn indexes_follow_the_install_commands_and_the_matrix() {
        let t = table();
        let on = |tag: &str, torch: &str| t.release(v(torch)).unwrap().on_index(tag);
        assert!(!on("cu121", "2.7.0"), "torch 2.7.0 has no cu121 wheels");
        assert!(on("cu121", "2.5.1") && !on("cu121", "2.0.1"));
        assert!(on("cu118", "2.0.0") && on("cu118", "2.7.1") && !on("cu118", "2.8.0"));
        assert!(on("cu117", "2.0.1") && on("cu117", "1.13.1") && !on("cu117", "2.1.0"));
        assert!(on("cu124", "2.4.0") && on("cu124", "2.6.0") && !on("cu124", "2.7.0"));
        assert!(on("cu129", "2.8.0") && !on("cu129", "2.9.0"));
        assert!(on("cu130", "2.9.0") && !on("cu130", "2.8.0"));
        assert!(on("cu132", "2.12.0") && !on("cu128", "2.12.0"));
        assert!(on("cpu", "1.13.1") && on("cpu", "2.14.1"));
        let r = t.check_torch(&known("cu121"), v("2.7.0"), Some(v("3.11")));
        assert_eq!(
            r,
            vec![TorchFinding::NotOnIndex {
                torch: v("2.7.0"),
                tag: "cu121".into(),
                elsewhere: vec!["11.8".into(), "12.6".into(), "12.8".into()],
                first: Some(v("2.1.0")),
                last: Some(v("2.5.1")),
            }]
        );
        // A release PyPI lists whose indexes nobody has curated: a warning, not an error.
        for r in &t.releases {
            if r.indexes.is_empty() {
                let found = t.check_torch(&known("cu130"), r.version, None);
                assert_eq!(
                    found,
                    vec![TorchFinding::IndexesNotRecorded { torch: r.version }]
                );
            }
        }
        // An index the table does not know is not checked.
        let unchecked = IndexChoice::Unchecked("cu133".into());
        assert_eq!(
            t.check_torch(&unchecked, v("2.14.1"), Some(v("3.12"))),
            vec![]
        );
    }

    #[test]
    fn cuda_versions_and_declared_indexes() {
        let t = table();
        let idx = |c: &str, d: Option<&str>| t.choose_index(c, d);
        assert_eq!(idx("cpu", None).index, Some(IndexChoice::Cpu));
        assert_eq!(idx("12.9", None).index, Some(known("cu129")));
        // Newer than the table: used with a warning.
        let newer = idx("13.9", None);
        assert_eq!(newer.index, Some(IndexChoice::Unchecked("cu139".into())));
        assert!(!newer.finding.unwrap().is_error());
        // Inside the table's range but unknown: an error, with the way out.
        let d = idx("12.7", None);
        assert_eq!(d.index, None);
        assert_eq!(
            d.finding,
            Some(CudaFinding::NoSuchIndex {
                suggestion: Some("12.8".into()),
                written_as_tag: None,
                tag: Some("cu127".into()),
            })
        );
        // ... declared with `index=`: a warning.
        let d = idx("12.7", Some("cu127"));
        assert_eq!(d.index, Some(IndexChoice::Unchecked("cu127".into())));
        assert!(!d.finding.unwrap().is_error());
        // A declared index must be the version's.
        assert!(idx("12.8", Some("cu126")).finding.unwrap().is_error());
        assert!(idx("cpu", Some("cpu")).finding.unwrap().is_error());
        assert_eq!(idx("12.8.1", None).index, None);
        let d = idx("cu118", None);
        assert!(matches!(
            d.finding,
            Some(CudaFinding::NoSuchIndex { written_as_tag: Some(ref c), .. }) if c == "11.8"
        ));
        assert_eq!(cuda_tag("9.2").as_deref(), Some("cu92"));
        assert_eq!(tag_cuda("cu92").as_deref(), Some("9.2"));
        assert_eq!(tag_cuda("cu130").as_deref(), Some("13.0"));
        assert_eq!(cuda_tag("12.1.1"), None);
    }

    #[test]
    fn companion_versions_come_from_their_metadata() {
        let t = table();
        let with = |p: &str, torch: &str| t.companion_for(p, v(torch), None);
        assert_eq!(with("torchvision", "2.0.0"), Some(v("0.15.1")));
        assert_eq!(with("torchvision", "2.0.1"), Some(v("0.15.2")));
        assert_eq!(with("torchvision", "2.7.1"), Some(v("0.22.1")));
        assert_eq!(with("torchaudio", "2.0.0"), Some(v("2.0.1")));
        assert_eq!(with("torchaudio", "2.0.1"), Some(v("2.0.2")));
        assert_eq!(with("torchaudio", "1.13.1"), Some(v("0.13.1")));
        assert_eq!(with("torchvision", "1.13.1"), Some(v("0.14.1")));
        assert_eq!(with("torchvision", "1.7.1"), Some(v("0.8.2")));
        assert_eq!(with("torchaudio", "1.7.1"), Some(v("0.7.2")));
        assert_eq!(with("torchvision", "1.10.2"), Some(v("0.11.3")));
        // torchaudio stopped at 2.11; its 2.11.1 requires torch>=2.11.
        assert_eq!(with("torchaudio", "2.14.1"), Some(v("2.11.1")));
        // The brief's example: nothing made up for a torch that was never released.
        assert_eq!(
            t.check_companion("torchvision", v("0.18.5"), Some(v("2.3.5")), None),
            Some(CompanionFinding::NeverReleased {
                package: "torchvision".into(),
                pin: v("0.18.5"),
                torch: None,
                instead: None,
                nearby: vec![v("0.18.0"), v("0.18.1"), v("0.19.0")],
            })
        );
        // Every version any helper can name is a release the table knows.
        for r in &t.releases {
            for p in ["torchvision", "torchaudio"] {
                if let Some(c) = t.companion_for(p, r.version, None) {
                    assert!(
                        t.companions_of(p)
                            .any(|k| k.version == c && k.accepts(r.version))
                    );
                }
            }
        }
        // torch 2.2.1 has no wheels for Python 3.13: reported once, on torch, not on torchvision.
        assert_eq!(
            t.check_companion(
                "torchvision",
                v("0.17.1"),
                Some(v("2.2.1")),
                Some(v("3.13"))
            ),
            None
        );
        // torchvision 0.14.1 (torch 1.13.1) has no wheels for Python 3.11, torch 1.13.1 has.
        assert!(matches!(
            t.check_companion(
                "torchvision",
                v("0.14.1"),
                Some(v("1.13.1")),
                Some(v("3.11"))
            ),
            Some(CompanionFinding::NoWheelsForPython { .. })
        ));
    }

    #[test]
    fn python_support_is_exact() {
        let t = table();
        let pys = |torch: &str| t.release(v(torch)).unwrap().pythons.clone();
        assert_eq!(pys("2.2.0").first(), Some(&v("3.8")));
        assert!(pys("2.2.0").contains(&v("3.12")) && !pys("2.1.2").contains(&v("3.12")));
        assert!(pys("2.5.0").contains(&v("3.13")) && !pys("2.4.1").contains(&v("3.13")));
        assert!(pys("2.9.0").contains(&v("3.14")) && !pys("2.8.0").contains(&v("3.14")));
        // Requires-Python `>=3.6.2` does not hide 3.6 wheels.
        assert!(pys("1.10.2").contains(&v("3.6")));
        let found = t.check_torch(&known("cu118"), v("2.2.1"), Some(v("3.13")));
        assert!(
            matches!(&found[..], [TorchFinding::NoWheelsForPython { nearby, .. }]
            if nearby.iter().all(|n| t.release(*n).unwrap().has_python(v("3.13"))))
        );
        let newer = Ver {
            major: 3,
            minor: 99,
            patch: None,
        };
        assert!(matches!(
            t.check_torch(&known("cu130"), v("2.11.0"), Some(newer))[..],
            [TorchFinding::PythonNewerThanTable { .. }]
        ));
    }
}
