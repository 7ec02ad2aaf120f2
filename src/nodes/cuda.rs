//! `cuda "X.Y"` or `cuda cpu`: torch, torchvision and torchaudio come from the PyTorch wheel index
//! of that CUDA version, in a layer of their own that nothing later can replace. The rules that
//! check pins against the PyTorch table (`crate::torch`) live here.

use miette::SourceSpan;

use super::check::Checker;
use super::decode::did_you_mean;
use super::identity::Resolved;
use super::pip::{Pip, TORCH_FAMILY, requirements};
use super::raw::{Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, Torch, TorchIndex};
use crate::torch::{Ver, table};

pub static CUDA: Setting = Setting {
    name: "cuda",
    shape: Shape::Text {
        what: "a CUDA version such as \"11.8\", or `cpu`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("cuda \"11.8\""),
    check,
    explain: Explain::Custom(explain),
};

fn check(cx: &mut Checker<'_>, v: &Value) {
    if let Some(c) = v.text()
        && cx.safe(c, "the CUDA version", false)
    {
        check_cuda_version(cx, c);
    }
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    match r.settings.text(&CUDA) {
        Some(c) => {
            cx.one("cuda", c);
            if let Some(t) = &app.torch {
                cx.push(
                    "pytorch index",
                    t.index.tag(),
                    Origin::Derived {
                        note: "from `cuda`".into(),
                    },
                );
            }
        }
        None => cx.push(
            "cuda",
            "none",
            Origin::JcxDefault {
                note: "torch, if listed, comes from PyPI".into(),
            },
        ),
    }
}

/// Splits an app's pip requirements into the torch family of its PyTorch index (when `cuda` is
/// set) and the general requirements (as written), and checks the torch family.
pub fn split_torch(
    cx: &mut Checker<'_>,
    r: &Resolved,
    python: Option<&str>,
) -> (Option<Torch>, Vec<String>) {
    let name = &r.name.v;
    let cuda = r.settings.text(&CUDA);
    let (torch_reqs, general): (Vec<Pip>, Vec<Pip>) = match cuda {
        Some(_) => requirements(r)
            .into_iter()
            .partition(|p| TORCH_FAMILY.contains(&p.name.as_str())),
        None => (Vec::new(), requirements(r)),
    };
    // A `cuda` that was written but refused (`cuda 12.1`) is already reported.
    if cuda.is_none()
        && !r.settings.refused.contains(&CUDA.name)
        && let Some(t) = general
            .iter()
            .find(|p| TORCH_FAMILY.contains(&p.name.as_str()))
    {
        cx.push(
            Problem::warning(Code::TorchWithoutCuda, t.span, format!("`{}` comes from the default index because app `{name}` sets no `cuda`", t.name))
                .label("from the default index")
                .help("add `cuda \"11.8\"` (or another version, or `cpu`) to install it from the matching PyTorch wheel index"),
        );
    }
    let torch = match cuda {
        None => None,
        // An unknown CUDA version is already an error; its torch would only repeat it.
        Some(c) if !cuda_usable(&c.v) => None,
        Some(c) => torch(cx, c, &torch_reqs, python, name, r.name.span),
    };
    (torch, general.into_iter().map(|p| p.text).collect())
}

fn check_cuda_version(cx: &mut Checker<'_>, c: &Sp<String>) {
    if c.v == "cpu" {
        return;
    }
    let t = table();
    if t.index_for_cuda(&c.v).is_some() {
        return;
    }
    let known = t.cuda_versions();
    let newest = known.iter().filter_map(|v| Ver::parse(v)).max();
    match (Ver::parse(&c.v), newest) {
        (Some(v), Some(n))
            if v.patch.is_none()
                && v > n
                && c.v.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
        {
            cx.push(
                Problem::warning(
                    Code::InvalidCuda,
                    c.span,
                    format!(
                        "CUDA {} is newer than jcx's PyTorch table (checked {})",
                        c.v, t.checked
                    ),
                )
                .label("not in the table")
                .help(format!(
                    "jcx will use the `cu{}` index but cannot check torch versions against it",
                    c.v.replace('.', "")
                )),
            );
        }
        _ => {
            let as_tag = t.indexes.iter().find(|i| i.tag == c.v.to_ascii_lowercase());
            let mut help = match as_tag {
                Some(i) => format!(
                    "write the CUDA version, not the index name: `cuda \"{}\"`.",
                    i.cuda.as_deref().unwrap_or("cpu")
                ),
                None => did_you_mean(&c.v, &known).unwrap_or_default(),
            };
            if !help.is_empty() {
                help.push(' ');
            }
            help.push_str(&format!(
                "PyTorch publishes wheel indexes for CUDA {} and `cpu`",
                known
                    .iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            cx.push(
                Problem::error(
                    Code::InvalidCuda,
                    c.span,
                    format!("`{}` is not a CUDA version with a PyTorch wheel index", c.v),
                )
                .label("CUDA version")
                .help(help),
            );
        }
    }
}

fn torch(
    cx: &mut Checker<'_>,
    cuda: &Sp<String>,
    reqs: &[Pip],
    python: Option<&str>,
    app: &str,
    app_span: SourceSpan,
) -> Option<Torch> {
    let t = table();
    let index = if cuda.v == "cpu" {
        TorchIndex::Cpu
    } else {
        match t.index_for_cuda(&cuda.v) {
            Some(i) => TorchIndex::Cuda(i.tag.clone()),
            None => TorchIndex::Cuda(format!("cu{}", cuda.v.replace('.', ""))),
        }
    };
    let wheel_index = t.index_for_cuda(&cuda.v);
    for r in reqs {
        if r.has_url_or_marker {
            cx.push(
                Problem::error(Code::InvalidPip, r.span, format!("`{}` in a CUDA app must be a plain version requirement", r.name))
                    .label("URL or marker")
                    .help(format!("it is installed from the {} wheel index: write `{} \"X.Y.Z\"`, or remove `cuda` to install it your own way", index.tag(), r.name)),
            );
        }
    }
    let mut requirements: Vec<String> = reqs.iter().map(|r| r.text.clone()).collect();
    let find = |n: &str| reqs.iter().find(|r| r.name == n);
    if find("torch").is_none() {
        requirements.insert(0, "torch".to_string());
    }
    let torch_pin = find("torch")
        .and_then(|r| r.pin.as_deref())
        .and_then(Ver::parse);
    let unpinned = requirements.iter().any(|r| !r.contains("=="));
    let torch_span = find("torch").map_or(app_span, |r| r.span);
    match torch_pin {
        // A URL or marker requirement is already refused above.
        None if find("torch").is_some_and(|r| r.has_url_or_marker) => {}
        None => {
            let range =
                wheel_index.map_or_else(|| "whatever it carries".to_string(), |i| i.range());
            let py = python.map_or(String::new(), |p| format!(" for Python {p}"));
            cx.push(
                Problem::warning(Code::TorchUnpinned, torch_span, format!("torch is not pinned in app `{app}`"))
                    .label(if find("torch").is_some() { "not pinned" } else { "torch added by `cuda`" })
                    .help(format!(
                        "the {} index gives torch {range}; pip installs the newest{py}. Pin it, e.g. `torch \"{}\"`, so rebuilds are repeatable",
                        index.tag(),
                        wheel_index.and_then(|i| i.last).map_or("2.2.1".to_string(), |l| l.to_string()),
                    )),
            );
        }
        Some(tv) => {
            if t.is_newer_than_known(tv) {
                cx.push(
                    Problem::warning(Code::TorchUnknownVersion, torch_span, format!("torch {tv} is newer than jcx's PyTorch table (checked {})", t.checked))
                        .label("not in the table")
                        .help("jcx cannot check it against the wheel index; the build will tell. Upgrade jcx for a newer table"),
                );
            } else {
                if let Some(wi) = wheel_index
                    && !wi.has(tv)
                {
                    let others: Vec<String> = t
                        .indexes
                        .iter()
                        .filter(|i| i.cuda.is_some() && i.has(tv))
                        .map(|i| format!("\"{}\"", i.cuda.as_deref().unwrap_or_default()))
                        .collect();
                    let help = if others.is_empty() {
                        format!("the {} index has torch {}", wi.tag, wi.range())
                    } else {
                        format!(
                            "the {} index has torch {}; torch {tv} has wheels for CUDA {}",
                            wi.tag,
                            wi.range(),
                            others.join(", ")
                        )
                    };
                    cx.push(
                        Problem::error(
                            Code::TorchNotOnIndex,
                            torch_span,
                            format!("torch {tv} has no wheels on the {} index", wi.tag),
                        )
                        .label("not on this index")
                        .also(cuda.span, format!("`cuda` chooses {}", wi.tag))
                        .help(help),
                    );
                }
                if let Some(py) = python
                    && let Some(ps) = t.python(py)
                    && (!tv.at_least(ps.first) || ps.last.is_some_and(|l| !tv.at_most(l)))
                {
                    let range = match ps.last {
                        Some(l) => format!("{}–{}", ps.first, l),
                        None => format!("{} and later", ps.first),
                    };
                    cx.push(
                        Problem::error(Code::TorchPythonMismatch, torch_span, format!("torch {tv} has no wheels for Python {py}"))
                            .label("no wheels for this Python")
                            .help(format!("Python {py} (from the base image tag or `python`) has torch wheels for {range}; change the torch pin or the base image")),
                    );
                }
                if let Some(py) = python
                    && t.python(py).is_none()
                    && let Some(pv) = Ver::parse(py)
                {
                    let known: Vec<Ver> = t
                        .pythons
                        .iter()
                        .filter_map(|p| Ver::parse(&p.python))
                        .collect();
                    if known.iter().all(|k| pv > *k) {
                        cx.push(
                            Problem::warning(Code::TorchUnknownVersion, torch_span, format!("Python {py} is newer than jcx's PyTorch table (checked {})", t.checked))
                                .label("cannot be checked")
                                .help(format!("jcx cannot tell whether torch {tv} has wheels for Python {py}; the build will tell. Upgrade jcx for a newer table")),
                        );
                    } else if known.iter().all(|k| pv < *k) {
                        cx.push(
                            Problem::error(
                                Code::TorchPythonMismatch,
                                torch_span,
                                format!("torch {tv} has no wheels for Python {py}"),
                            )
                            .label("no wheels for this Python")
                            .help({
                                let ok: Vec<&str> = t
                                    .pythons
                                    .iter()
                                    .filter(|p| {
                                        tv.at_least(p.first) && p.last.is_none_or(|l| tv.at_most(l))
                                    })
                                    .map(|p| p.python.as_str())
                                    .collect();
                                format!(
                                    "torch {tv} has wheels for Python {}; use a newer base image",
                                    ok.join(", ")
                                )
                            }),
                        );
                    }
                }
                // `torch==2.2.1+cu121` under `cuda "11.8"`: the local label names another index.
                if let Some(label) = find("torch")
                    .and_then(|r| r.pin.as_deref())
                    .and_then(|p| p.split_once('+'))
                    .map(|(_, l)| l)
                    && label != index.tag()
                {
                    cx.push(
                        Problem::error(
                            Code::TorchNotOnIndex,
                            torch_span,
                            format!(
                                "torch `+{label}` builds are not on the {} index",
                                index.tag()
                            ),
                        )
                        .label("local version label")
                        .also(cuda.span, format!("`cuda` chooses {}", index.tag()))
                        .help(format!(
                            "remove `+{label}`: the index chosen by `cuda` decides the build"
                        )),
                    );
                }
            }
            for package in ["torchvision", "torchaudio"] {
                if let Some(r) = find(package)
                    && let (Some(want), Some(got)) = (
                        t.companion_for(package, tv),
                        r.pin.as_deref().and_then(Ver::parse),
                    )
                    && !t.is_newer_than_known(tv)
                    && want != got
                {
                    cx.push(
                        Problem::error(
                            Code::TorchVersionMismatch,
                            r.span,
                            format!("{package} {got} does not match torch {tv}"),
                        )
                        .label("mismatched version")
                        .also(torch_span, format!("torch {tv}"))
                        .help(format!(
                            "torch {tv} goes with {package} {want}: write `{package} \"{want}\"`"
                        )),
                    );
                }
            }
        }
    }
    Some(Torch {
        index,
        cuda: cuda.v.clone(),
        requirements,
        unpinned,
    })
}

/// `cpu`, a CUDA version of the table, or one newer than the table (a warning, see `cuda`).
fn cuda_usable(cuda: &str) -> bool {
    let t = table();
    if cuda == "cpu" || t.index_for_cuda(cuda).is_some() {
        return true;
    }
    let newest = t.cuda_versions().iter().filter_map(|v| Ver::parse(v)).max();
    matches!((Ver::parse(cuda), newest), (Some(v), Some(n)) if v.patch.is_none() && v > n && cuda.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

#[cfg(test)]
mod tests {
    use crate::error::Code;

    /// Codes of every problem of a manifest, errors and warnings.
    fn codes(text: &str) -> Vec<(Code, bool)> {
        let doc = kdl::KdlDocument::parse_v2(text).expect("test manifests are KDL");
        let mut problems = Vec::new();
        let raw = crate::nodes::read(&doc, &mut problems);
        let outcome = crate::nodes::validate(&raw, "apps.kdl", text, None, problems);
        outcome
            .problems
            .iter()
            .map(|p| (p.code, p.is_error()))
            .collect()
    }

    fn torch_app(python: &str, cuda: &str, pins: &str) -> String {
        format!(
            "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\napp x {{\n    base \"quay.io/jupyter/scipy-notebook:python-{python}\"\n    cuda \"{cuda}\"\n    pip {{ {pins} }}\n}}\n"
        )
    }

    #[test]
    fn seed_pins_are_accepted() {
        let text = torch_app(
            "3.11",
            "11.8",
            r#"torch "2.2.1"; torchvision "0.17.1"; torchaudio "2.2.1""#,
        );
        assert_eq!(codes(&text), vec![]);
    }

    #[test]
    fn torch_2_7_0_on_cu121_is_refused() {
        let text = torch_app("3.11", "12.1", r#"torch "2.7.0""#);
        assert_eq!(codes(&text), vec![(Code::TorchNotOnIndex, true)]);
    }

    #[test]
    fn torch_family_rules() {
        let check = |python, cuda, pins, want: &[(Code, bool)]| {
            assert_eq!(
                codes(&torch_app(python, cuda, pins)),
                want,
                "{python} {cuda} {pins}"
            );
        };
        check(
            "3.11",
            "11.8",
            r#"torch "2.2.1"; torchvision "0.17.0""#,
            &[(Code::TorchVersionMismatch, true)],
        );
        check("3.11", "11.8", r#"torch "2.0.0"; torchaudio "2.0.1""#, &[]);
        check(
            "3.11",
            "11.8",
            r#"torch "2.0.1"; torchaudio "2.0.1""#,
            &[(Code::TorchVersionMismatch, true)],
        );
        check(
            "3.13",
            "11.8",
            r#"torch "2.2.1""#,
            &[(Code::TorchPythonMismatch, true)],
        );
        check("3.13", "12.6", r#"torch "2.6.0""#, &[]);
        check(
            "3.12",
            "12.4",
            r#"- torch"#,
            &[(Code::TorchUnpinned, false)],
        );
        check(
            "3.12",
            "12.8",
            r#"torch "2.12.0""#,
            &[(Code::TorchUnknownVersion, false)],
        );
        check(
            "3.12",
            "13.1",
            r#"torch "2.10.0""#,
            &[(Code::InvalidCuda, false)],
        );
        check(
            "3.12",
            "10.2",
            r#"torch "2.2.1""#,
            &[(Code::InvalidCuda, true)],
        );
        check("3.11", "cpu", r#"torch "2.2.1""#, &[]);
    }
}
