//! The diagnostics of the findings: what is wrong, and what exists instead.

use miette::SourceSpan;

use super::{CompanionFinding, CudaFinding, IndexChoice, TorchFinding, Ver, table};
use crate::error::{Code, Problem};

fn list(vs: &[Ver]) -> String {
    match vs {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!(
            "{} and {last}",
            init.iter()
                .map(Ver::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// "the nearest release{where} is 2.2.0" / "the nearest releases{where} are 2.3.0 and 2.3.1".
fn nearest(nearby: &[Ver], place: &str) -> String {
    match nearby {
        [one] => format!("the nearest release{place} is {one}"),
        _ => format!("the nearest releases{place} are {}", list(nearby)),
    }
}

/// `3.8–3.12`, or a list when the versions are not consecutive minors.
fn python_span(ps: &[Ver]) -> String {
    let consecutive = ps
        .windows(2)
        .all(|w| w[0].major == w[1].major && w[0].minor + 1 == w[1].minor);
    match ps {
        [first, .., last] if consecutive => format!("{first}–{last}"),
        _ => list(ps),
    }
}

/// Where a finding is shown: the span it points at, and the spans of `cuda` and of the torch pin
/// for the secondary labels.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub at: SourceSpan,
    pub cuda: SourceSpan,
    pub torch: SourceSpan,
}

impl CudaFinding {
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            CudaFinding::NewerThanTable { .. } | CudaFinding::Declared { .. }
        )
    }

    /// The diagnostic for `cuda "<cuda>"`: `at` is the value, `index` the `index=` value.
    pub fn problem(&self, cuda: &str, at: SourceSpan, index: Option<SourceSpan>) -> Problem {
        let t = table();
        let known = t
            .cuda_versions()
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            CudaFinding::NewerThanTable { tag } => Problem::warning(
                Code::InvalidCuda,
                at,
                format!("CUDA {cuda} is newer than jcx's PyTorch table (checked {})", t.checked),
            )
            .label("not in the table")
            .help(format!(
                "jcx will use the `{tag}` index but cannot check torch versions against it"
            )),
            CudaFinding::Declared { tag, known } => Problem::warning(
                Code::InvalidCuda,
                index.unwrap_or(at),
                format!("the `{tag}` index is declared, so jcx does not check torch against it"),
            )
            .label("declared index")
            .help(if *known {
                format!(
                    "jcx's table knows `{tag}`: remove `index=` to check the torch pins against it"
                )
            } else {
                format!(
                    "jcx's table (checked {}) has no `{tag}` index; the build will tell whether PyTorch publishes one",
                    t.checked
                )
            }),
            CudaFinding::NoSuchIndex {
                suggestion,
                written_as_tag,
                tag,
            } => {
                let mut help = match (written_as_tag, suggestion) {
                    (Some(c), _) => {
                        format!("write the CUDA version, not the index name: `cuda \"{c}\"`. ")
                    }
                    (None, Some(s)) => format!("did you mean `{s}`? "),
                    (None, None) => String::new(),
                };
                help.push_str(&format!(
                    "PyTorch publishes wheel indexes for CUDA {known} and `cpu`"
                ));
                if let Some(tag) = tag {
                    help.push_str(&format!(
                        " (jcx's table, checked {}); if it now publishes `{tag}`, declare it: `cuda \"{cuda}\" index=\"{tag}\"`",
                        t.checked
                    ));
                }
                Problem::error(
                    Code::InvalidCuda,
                    at,
                    format!("`{cuda}` is not a CUDA version with a PyTorch wheel index"),
                )
                .label("CUDA version")
                .help(help)
            }
            CudaFinding::DeclaredMismatch { declared, expected } => Problem::error(
                Code::InvalidCuda,
                index.unwrap_or(at),
                format!("`index=\"{declared}\"` is not the index of CUDA {cuda}"),
            )
            .label("declared index")
            .also(at, "CUDA version")
            .help(format!(
                "PyTorch names the index of CUDA {cuda} `{expected}`: write `index=\"{expected}\"`, or change `cuda`"
            )),
            CudaFinding::DeclaredWithout { declared } => Problem::error(
                Code::InvalidCuda,
                index.unwrap_or(at),
                format!("`index=\"{declared}\"` needs a CUDA version such as `cuda \"13.2\"`"),
            )
            .label("declared index")
            .help(if cuda == "cpu" {
                "`cuda cpu` always uses the cpu index: remove `index=`".to_string()
            } else {
                format!("`{cuda}` is not a CUDA version `X.Y`; `index=` declares the `cuXY` index of one")
            }),
        }
    }
}

impl TorchFinding {
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            TorchFinding::NeverReleased { .. }
                | TorchFinding::NotOnIndex { .. }
                | TorchFinding::NoWheelsForPython { .. }
        )
    }

    /// The diagnostic; `index` is the chosen index, `python` the image's Python as written.
    pub fn problem(&self, place: Place, index: &IndexChoice) -> Problem {
        let t = table();
        let on = match index {
            IndexChoice::Unchecked(_) => String::new(),
            i => format!(" on the {} index", i.tag()),
        };
        match self {
            TorchFinding::NewerThanTable { torch } => Problem::warning(
                Code::TorchUnknownVersion,
                place.at,
                format!(
                    "torch {torch} is newer than jcx's PyTorch table (checked {})",
                    t.checked
                ),
            )
            .label("not in the table")
            .help(format!(
                "jcx's table knows torch up to {} and cannot check a newer one; the build will tell. Upgrade jcx for a newer table",
                t.newest()
            )),
            TorchFinding::NeverReleased {
                torch,
                python,
                nearby,
            } => {
                let for_python = python.map_or(String::new(), |p| {
                    format!(" with wheels for Python {p}")
                });
                Problem::error(
                    Code::TorchUnknownVersion,
                    place.at,
                    format!("torch {torch} was never released"),
                )
                .label("no such release")
                .help(if nearby.is_empty() {
                    format!(
                        "jcx's PyTorch table (checked {}) has no torch{on}{for_python}",
                        t.checked
                    )
                } else {
                    format!(
                        "{} (jcx's PyTorch table, checked {})",
                        nearest(nearby, &format!("{on}{for_python}")),
                        t.checked
                    )
                })
            }
            TorchFinding::IndexesNotRecorded { torch } => Problem::warning(
                Code::TorchUnknownVersion,
                place.at,
                format!("jcx's PyTorch table does not record which indexes carry torch {torch}"),
            )
            .label("index not checked")
            .also(place.cuda, format!("`cuda` chooses {}", index.tag()))
            .help(format!(
                "torch {torch} exists, but its wheel indexes were not curated when the table was checked ({}); the build will tell. Upgrade jcx for a newer table",
                t.checked
            )),
            TorchFinding::NotOnIndex {
                torch,
                tag,
                elsewhere,
                first,
                last,
            } => {
                let has = match (first, last) {
                    (Some(f), Some(l)) => format!("the {tag} index has torch {f}–{l}"),
                    _ => format!("the {tag} index has no torch release in jcx's table"),
                };
                let help = if elsewhere.is_empty() {
                    has
                } else {
                    let cudas: Vec<String> = elsewhere.iter().map(|c| format!("\"{c}\"")).collect();
                    format!("{has}; torch {torch} has wheels for CUDA {}", cudas.join(", "))
                };
                Problem::error(
                    Code::TorchNotOnIndex,
                    place.at,
                    format!("torch {torch} has no wheels on the {tag} index"),
                )
                .label("not on this index")
                .also(place.cuda, format!("`cuda` chooses {tag}"))
                .help(help)
            }
            TorchFinding::NoWheelsForPython {
                torch,
                python,
                pythons,
                nearby,
            } => Problem::error(
                Code::TorchPythonMismatch,
                place.at,
                format!("torch {torch} has no wheels for Python {python}"),
            )
            .label("no wheels for this Python")
            .help(if nearby.is_empty() {
                format!(
                    "torch {torch} has wheels for Python {}, and no torch{on} has wheels for Python {python} (from the base image tag or `python`); change the base image",
                    python_span(pythons)
                )
            } else {
                format!(
                    "torch {torch} has wheels for Python {}; with Python {python} (from the base image tag or `python`), {}. Change the torch pin or the base image",
                    python_span(pythons),
                    nearest(nearby, &on)
                )
            }),
            TorchFinding::PythonNewerThanTable { torch, python } => Problem::warning(
                Code::TorchUnknownVersion,
                place.at,
                format!(
                    "Python {python} is newer than jcx's PyTorch table (checked {})",
                    t.checked
                ),
            )
            .label("cannot be checked")
            .help(format!(
                "jcx cannot tell whether torch {torch} has wheels for Python {python}; the build will tell. Upgrade jcx for a newer table"
            )),
        }
    }
}

impl CompanionFinding {
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            CompanionFinding::NewerThanTable { .. } | CompanionFinding::Unpaired { .. }
        )
    }

    pub fn problem(&self, place: Place) -> Problem {
        let t = table();
        let write =
            |package: &str, v: &Option<Ver>| v.map(|v| format!("write `{package} \"{v}\"`"));
        match self {
            CompanionFinding::NeverReleased {
                package,
                pin,
                torch,
                instead,
                nearby,
            } => Problem::error(
                Code::TorchVersionMismatch,
                place.at,
                format!("{package} {pin} was never released"),
            )
            .label("no such release")
            .help(match (torch, instead) {
                (Some(t), Some(i)) => format!("torch {t} goes with {package} {i}: write `{package} \"{i}\"`"),
                _ => format!(
                    "{package} releases near it: {} (jcx's table, checked {})",
                    list(nearby),
                    t.checked
                ),
            }),
            CompanionFinding::NewerThanTable { package, pin } => Problem::warning(
                Code::TorchUnknownVersion,
                place.at,
                format!(
                    "{package} {pin} is newer than jcx's PyTorch table (checked {})",
                    t.checked
                ),
            )
            .label("not in the table")
            .help("jcx cannot check which torch it requires; the build will tell. Upgrade jcx for a newer table"),
            CompanionFinding::Mismatch {
                package,
                pin,
                torch,
                requires,
                instead,
            } => Problem::error(
                Code::TorchVersionMismatch,
                place.at,
                format!("{package} {pin} does not match torch {torch}"),
            )
            .label("mismatched version")
            .also(place.torch, format!("torch {torch}"))
            .help(match write(package, instead) {
                Some(w) => format!(
                    "{package} {pin} requires torch{requires}; torch {torch} goes with {package} {}: {w}",
                    instead.unwrap_or(*pin)
                ),
                None => format!(
                    "{package} {pin} requires torch{requires}, and no {package} release in jcx's table goes with torch {torch}: remove the {package} pin"
                ),
            }),
            CompanionFinding::Unpaired {
                package,
                pin,
                torch,
                instead,
            } => Problem::warning(
                Code::TorchVersionMismatch,
                place.at,
                format!("jcx cannot tell whether {package} {pin} goes with torch {torch}"),
            )
            .label("not checked")
            .also(place.torch, format!("torch {torch}"))
            .help(match write(package, instead) {
                Some(w) => format!(
                    "the metadata of {package} {pin} requires no torch version; {package} {} requires one that torch {torch} meets: {w}",
                    instead.unwrap_or(*pin)
                ),
                None => format!(
                    "the metadata of {package} {pin} requires no torch version; the build will not tell either, so test the image"
                ),
            }),
            CompanionFinding::NoWheelsForPython {
                package,
                pin,
                python,
                pythons,
                instead,
            } => Problem::error(
                Code::TorchPythonMismatch,
                place.at,
                format!("{package} {pin} has no wheels for Python {python}"),
            )
            .label("no wheels for this Python")
            .help(match instead {
                Some(v) if v != pin => format!(
                    "{package} {pin} has wheels for Python {}; for Python {python}, {package} {v} goes with this torch: write `{package} \"{v}\"`",
                    python_span(pythons)
                ),
                _ => format!(
                    "{package} {pin} has wheels for Python {}; change the torch and {package} pins or the base image",
                    python_span(pythons)
                ),
            }),
        }
    }
}
