//! `cuda "X.Y"` or `cuda cpu`: torch, torchvision and torchaudio come from the PyTorch wheel index
//! of that CUDA version, in a layer of their own that nothing later can replace. The rules that
//! check pins against the PyTorch table (`crate::torch`) live here.

use miette::SourceSpan;

use kdl::KdlNode;

use super::check::Checker;
use super::decode::{Entries, no_children};
use super::identity::Resolved;
use super::pip::{Pip, TORCH_FAMILY, requirements};
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};
use crate::model::{App, Torch, TorchIndex};
use crate::torch::{IndexChoice, Place, Ver, table};

pub static CUDA: Setting = Setting {
    name: "cuda",
    shape: Shape::Custom(read),
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("cuda \"11.8\""),
    check,
    explain: Explain::Custom(explain),
};

/// `cuda "X.Y" [index="cuXY"]`: the version and, for an index the table does not know yet, the
/// index the manifest declares. Inherited as one value, so `index=` stays with its `cuda`.
#[derive(Debug, Clone)]
pub struct RawCuda {
    pub version: Sp<String>,
    pub index: Option<Sp<String>>,
}

fn read(node: &KdlNode, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut en = Entries::new(node, problems);
    let version = en.one_string("a CUDA version such as \"11.8\", or `cpu`", problems);
    let index = en.prop_string("index", problems);
    en.finish(&["index"], problems);
    no_children(node, problems);
    Some(Value::One(Box::new(RawCuda {
        version: version?,
        index,
    })))
}

/// An app's `cuda`, after inheritance.
pub fn cuda_of(s: &RawSettings) -> Option<&RawCuda> {
    s.one::<RawCuda>(&CUDA)
}

/// `cuda` (and its `index=`) where it is written; `torch::Table::choose_index` decides.
fn check(cx: &mut Checker<'_>, v: &Value) {
    let Some(c) = v.one::<RawCuda>() else { return };
    if !cx.safe(&c.version, "the CUDA version", false)
        || c.index
            .as_ref()
            .is_some_and(|i| !cx.safe(i, "the PyTorch index", false))
    {
        return;
    }
    let decision = table().choose_index(&c.version.v, c.index.as_ref().map(|i| i.v.as_str()));
    if let Some(f) = decision.finding {
        cx.push(f.problem(
            &c.version.v,
            c.version.span,
            c.index.as_ref().map(|i| i.span),
        ));
    }
}

/// The index `cuda` (with its `index=`) chooses, or `None` when it is refused (reported by
/// `check` where it is written).
fn cuda_usable(c: &RawCuda) -> Option<IndexChoice> {
    table()
        .choose_index(&c.version.v, c.index.as_ref().map(|i| i.v.as_str()))
        .index
}

/// The PyTorch index tag (`cu118`, `cpu`) `cuda` chooses, `None` when it is refused.
pub fn index_tag(c: &RawCuda) -> Option<String> {
    cuda_usable(c).map(|i| i.tag().to_string())
}

fn explain(cx: &mut Ctx<'_>, r: &Resolved, app: &App) {
    match cuda_of(&r.settings) {
        Some(c) => {
            cx.one("cuda", &c.version);
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
        None => match app
            .parent
            .as_ref()
            .and_then(|p| p.torch.as_ref().map(|t| (p, t)))
        {
            Some((p, t)) => cx.push(
                "cuda",
                t.clone(),
                Origin::Derived {
                    note: format!(
                        "PyTorch of the image of `{}`, held by its constraints",
                        p.app
                    ),
                },
            ),
            None => cx.push(
                "cuda",
                "none",
                Origin::JcxDefault {
                    note: "torch, if listed, comes from PyPI".into(),
                },
            ),
        },
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
    let cuda = cuda_of(&r.settings);
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
        Some(c) => cuda_usable(c).and_then(|choice| {
            torch(
                cx,
                &c.version,
                choice,
                &torch_reqs,
                python,
                name,
                r.name.span,
            )
        }),
    };
    (torch, general.into_iter().map(|p| p.text).collect())
}

/// The PyTorch family of an app with `cuda`; `torch::Table` decides every pin.
fn torch(
    cx: &mut Checker<'_>,
    cuda: &Sp<String>,
    choice: IndexChoice,
    reqs: &[Pip],
    python: Option<&str>,
    app: &str,
    app_span: SourceSpan,
) -> Option<Torch> {
    let t = table();
    let index = match &choice {
        IndexChoice::Cpu => TorchIndex::Cpu,
        c => TorchIndex::Cuda(c.tag().to_string()),
    };
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
    let py = python.and_then(Ver::parse);
    let place = |at| Place {
        at,
        cuda: cuda.span,
        torch: torch_span,
    };
    match torch_pin {
        // A URL or marker requirement is already refused above.
        None if find("torch").is_some_and(|r| r.has_url_or_marker) => {}
        None => {
            let range = t.index_range(&choice).map_or_else(
                || "whatever it carries".to_string(),
                |(first, last)| format!("{first}–{last}"),
            );
            let for_py = python.map_or(String::new(), |p| format!(" for Python {p}"));
            let example = t.newest_on(&choice, py).unwrap_or_else(|| t.newest());
            cx.push(
                Problem::warning(Code::TorchUnpinned, torch_span, format!("torch is not pinned in app `{app}`"))
                    .label(if find("torch").is_some() { "not pinned" } else { "torch added by `cuda`" })
                    .help(format!(
                        "the {} index gives torch {range}; pip installs the newest{for_py}. Pin it, e.g. `torch \"{example}\"`, so rebuilds are repeatable",
                        index.tag(),
                    )),
            );
        }
        Some(tv) => {
            for f in t.check_torch(&choice, tv, py) {
                cx.push(f.problem(place(torch_span), &choice));
            }
            local_label(cx, find("torch"), &index, cuda.span, torch_span);
        }
    }
    for package in ["torchvision", "torchaudio"] {
        if let Some(r) = find(package)
            && let Some(pin) = r.pin.as_deref().and_then(Ver::parse)
            && let Some(f) = t.check_companion(package, pin, torch_pin, py)
        {
            cx.push(f.problem(place(r.span)));
        }
    }
    Some(Torch {
        index,
        cuda: cuda.v.clone(),
        requirements,
        unpinned,
    })
}

/// `torch==2.2.1+cu121` under `cuda "11.8"`: the local label names another index.
fn local_label(
    cx: &mut Checker<'_>,
    torch: Option<&Pip>,
    index: &TorchIndex,
    cuda_span: SourceSpan,
    torch_span: SourceSpan,
) {
    if let Some(label) = torch
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
            .also(cuda_span, format!("`cuda` chooses {}", index.tag()))
            .help(format!(
                "remove `+{label}`: the index chosen by `cuda` decides the build"
            )),
        );
    }
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
    fn a_declared_index_stays_with_its_cuda() {
        let text = "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\ndefaults { base \"quay.io/jupyter/scipy-notebook:python-3.12\"; }\napp a {\n    cuda \"12.7\" index=\"cu127\"\n    pip { torch \"2.12.0\"; }\n}\napp b extends=a {\n    image-suffix b\n    cuda \"12.8\"\n}\n";
        // a: the declared index (a warning), torch not checked against it; b: cu128, which
        // does not carry torch 2.12.0, so b did not inherit a's `index=`.
        assert_eq!(
            codes(text),
            vec![(Code::InvalidCuda, false), (Code::TorchNotOnIndex, true)]
        );
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
            r#"torch "2.16.0""#,
            &[(Code::TorchUnknownVersion, false)],
        );
        check(
            "3.12",
            "12.8",
            r#"torch "2.12.0""#,
            &[(Code::TorchNotOnIndex, true)],
        );
        check(
            "3.11",
            "12.1",
            r#"torch "2.3.5""#,
            &[(Code::TorchUnknownVersion, true)],
        );
        check(
            "3.12",
            "13.9",
            r#"torch "2.10.0""#,
            &[(Code::InvalidCuda, false)],
        );
        // Between two indexes of the table, but not one of them: refused unless declared.
        check(
            "3.12",
            "13.1",
            r#"torch "2.10.0""#,
            &[(Code::InvalidCuda, true)],
        );
        check(
            "3.12",
            r#"13.1" index="cu131"#,
            r#"torch "2.10.0""#,
            &[(Code::InvalidCuda, false)],
        );
        check(
            "3.12",
            "10.1",
            r#"torch "2.2.1""#,
            &[(Code::InvalidCuda, true)],
        );
        check(
            "3.12",
            "10.2",
            r#"torch "2.2.1""#,
            &[(Code::TorchNotOnIndex, true)],
        );
        check("3.11", "cpu", r#"torch "2.2.1""#, &[]);
        // CUDA 12.9 and 13.2 have indexes; torchaudio 2.11.1 requires torch>=2.11 only.
        check(
            "3.12",
            "12.9",
            r#"torch "2.8.0"; torchvision "0.23.0"; torchaudio "2.8.0""#,
            &[],
        );
        check(
            "3.12",
            "13.2",
            r#"torch "2.14.1"; torchvision "0.29.2"; torchaudio "2.11.1""#,
            &[],
        );
    }
}
