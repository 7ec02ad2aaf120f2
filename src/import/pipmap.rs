//! pip requirements (from a requirements file or a `pip install` line) -> `pip` entries,
//! `cuda` when the torch family comes from a PyTorch wheel index, and a PyPI mirror when the
//! index is neither PyPI nor PyTorch's. Also the original repository's flaw: two `--index-url`
//! lines in one file, of which pip silently uses only the last.

use super::draft::{Entry, Item, Kind, Origin, Pip, Warning};
use super::requirements::Line;

const TORCH_FAMILY: [&str; 3] = ["torch", "torchvision", "torchaudio"];

/// A requirements line and where it is.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub line: Line,
    pub origin: Origin,
}

/// What pip requirements became.
#[derive(Debug, Default)]
pub struct Mapped {
    pub items: Vec<Item>,
    /// The index that replaced PyPI, when it is not PyTorch's.
    pub mirror: Option<(String, Origin)>,
    pub warnings: Vec<Warning>,
    /// Lines of the requirements file that became nothing (option lines kept only as warnings).
    pub dropped_lines: Vec<usize>,
}

/// A PyTorch wheel index URL: (its base, the index tag `cu118`/`cpu`, text run onto it).
pub fn pytorch_index(url: &str) -> Option<(String, String, Option<String>)> {
    let (base, last) = url.trim_end_matches('/').rsplit_once("/whl/")?;
    let tag_len = if let Some(d) = last.strip_prefix("cu") {
        2 + d.bytes().take_while(u8::is_ascii_digit).count()
    } else if last.starts_with("cpu") {
        3
    } else if let Some(d) = last.strip_prefix("rocm") {
        4 + d
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count()
    } else {
        return None;
    };
    if tag_len <= 2 && last.starts_with("cu") {
        return None;
    }
    let tag = &last[..tag_len];
    let rest = last[tag_len..].trim_start_matches('/');
    Some((
        format!("{base}/whl"),
        tag.to_string(),
        (!rest.is_empty()).then(|| rest.to_string()),
    ))
}

fn is_pypi(url: &str) -> bool {
    let u = url.trim_end_matches('/');
    matches!(
        u,
        "https://pypi.org/simple" | "https://pypi.python.org/simple" | "https://pypi.org/simple/"
    )
}

/// A requirement's distribution name, normalized (`Foo_Bar` -> `foo-bar`).
pub fn dist_name(req: &str) -> String {
    req.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace(['_', '.'], "-")
}

/// The `cuda` value for a PyTorch index tag: `cu118` -> `11.8`, `cpu`.
pub fn cuda_of(tag: &str) -> Option<String> {
    if tag == "cpu" {
        return Some("cpu".into());
    }
    crate::torch::tag_cuda(tag)
}

/// Maps the lines of one pip source (a file, or one `pip install` line).
pub fn map(lines: &[Sourced], what: &str) -> Mapped {
    let mut m = Mapped::default();
    let index_urls: Vec<(&String, &Origin)> = lines
        .iter()
        .filter_map(|s| match &s.line {
            Line::Option {
                name,
                value: Some(v),
                ..
            } if name == "index-url" => Some((v, &s.origin)),
            _ => None,
        })
        .collect();
    let mut torch_index = None;
    for s in &lines.to_vec() {
        if let Line::Option {
            name,
            value: Some(v),
            ..
        } = &s.line
            && (name == "index-url" || name == "extra-index-url")
            && let Some((base, tag, fused)) = pytorch_index(v)
        {
            if let Some(rest) = fused {
                m.warnings.push(Warning {
                    kind: Kind::Changed,
                    origin: s.origin.clone(),
                    message: format!(
                        "`{rest}` runs into the index URL (a lost line break), so pip read it as part of the URL `{v}` and never as a requirement; read as the index `{base}/{tag}`, and `{rest}` is dropped"
                    ),
                });
            }
            if name == "extra-index-url" {
                m.warnings.push(Warning {
                    kind: Kind::Changed,
                    origin: s.origin.clone(),
                    message: format!(
                        "with `--extra-index-url`, pip takes torch from whichever index offers the higher version, often PyPI's build; the manifest installs torch, torchvision and torchaudio from `{base}/{tag}` only"
                    ),
                });
            }
            torch_index.get_or_insert((base, tag, s.origin.clone()));
        }
    }
    let effective = index_urls.last().map(|(u, o)| ((*u).clone(), (*o).clone()));
    if let Some((url, origin)) = &effective
        && pytorch_index(url).is_none()
        && !is_pypi(url)
    {
        m.mirror = Some((url.clone(), origin.clone()));
    }
    if let (Some((base, tag, _)), Some((url, origin))) = (&torch_index, &effective)
        && index_urls.len() > 1
        && pytorch_index(url).is_none()
    {
        let lines: Vec<String> = index_urls
            .iter()
            .map(|(_, o)| o.first.to_string())
            .collect();
        let now = match &m.mirror {
            Some((u, _)) => {
                format!("everything else from `{u}` (the manifest's `mirrors {{ pypi … }}`)")
            }
            None => "everything else from PyPI".to_string(),
        };
        m.warnings.push(Warning {
            kind: Kind::Changed,
            origin: origin.clone(),
            message: format!(
                "{what} sets `--index-url` {} times (lines {}); pip uses only the last one, {}, for every requirement of the file, so torch, torchvision and torchaudio were installed from it and never from the PyTorch index `{base}/{tag}` of line {}. The manifest now uses `cuda \"{}\"`: torch, torchvision and torchaudio come from `{base}/{tag}`, {now}",
                index_urls.len(),
                lines.join(" and "),
                if is_pypi(url) { "PyPI's own index".to_string() } else { format!("`{url}`") },
                torch_index.as_ref().map_or(0, |t| t.2.first),
                cuda_of(tag).unwrap_or_else(|| tag.clone()),
            ),
        });
    }
    if let (Some((base, tag, _)), Some((url, origin))) = (&torch_index, &effective)
        && pytorch_index(url).is_some()
        && lines.iter().any(|s| matches!(&s.line, Line::Requirement { text, .. } if !TORCH_FAMILY.contains(&dist_name(text).as_str())))
    {
        m.warnings.push(Warning {
            kind: Kind::Changed,
            origin: origin.clone(),
            message: format!(
                "every requirement of {what} came from the PyTorch index `{url}`; in the manifest only torch, torchvision and torchaudio do (from `{base}/{tag}`), everything else comes from PyPI"
            ),
        });
    }
    if let Some((_, tag, origin)) = &torch_index {
        let cuda = cuda_of(tag).unwrap_or_else(|| tag.clone());
        m.items
            .push(Item::new(Entry::Cuda(cuda), Some(origin.clone())));
    }
    for s in lines {
        requirement_or_option(s, torch_index.is_some(), &mut m);
    }
    m
}

fn requirement_or_option(s: &Sourced, cuda: bool, m: &mut Mapped) {
    match &s.line {
        Line::Requirement { text, options, .. } => {
            if !options.is_empty() {
                m.warnings.push(Warning {
                    kind: Kind::Changed,
                    origin: s.origin.clone(),
                    message: format!(
                        "the options after `{text}` ({}) are dropped: jcx's requirements have none",
                        options.join(" ")
                    ),
                });
            }
            m.items.push(requirement(text, cuda, &s.origin));
        }
        Line::Option {
            name, value, raw, ..
        } => match name.as_str() {
            "index-url" | "extra-index-url" => {}
            "pre" => m
                .items
                .push(Item::new(Entry::PipPre(true), Some(s.origin.clone()))),
            "editable" if value.as_deref().is_some_and(|v| v.contains("://")) => {
                let v = value.clone().unwrap_or_default();
                let url = v.split('#').next().unwrap_or(&v).to_string();
                let item = requirement(&url, cuda, &s.origin);
                m.warnings.push(Warning {
                    kind: Kind::Changed,
                    origin: s.origin.clone(),
                    message: format!(
                        "`{raw}` is installed from its URL, not as an editable checkout"
                    ),
                });
                m.items.push(item);
            }
            _ => {
                m.dropped_lines.push(s.origin.first);
                m.warnings.push(Warning {
                    kind: Kind::Dropped,
                    origin: s.origin.clone(),
                    message: format!(
                        "`{raw}`: jcx's pip requirements take no options (indexes come from `cuda` and `mirrors`)"
                    ),
                });
            }
        },
    }
}

/// One requirement as a `pip` entry; its fallback is a `pip install` line of its own.
fn requirement(text: &str, cuda: bool, origin: &Origin) -> Item {
    let mut text = text.trim().to_string();
    let bare = ["git+", "https://", "http://"]
        .iter()
        .any(|p| text.starts_with(p));
    if bare && let Some(name) = crate::nodes::pip::name_from_url(&text) {
        text = format!("{name} @ {}", text.split("#egg=").next().unwrap_or(&text));
    }
    let name = dist_name(&text);
    let pin = (cuda && TORCH_FAMILY.contains(&name.as_str()))
        .then(|| {
            let rest = text[name.len().min(text.len())..].trim();
            rest.strip_prefix("==")
                .map(str::trim)
                .filter(|v| !v.is_empty() && !v.contains([',', ';', '*', ' ']))
                .map(str::to_string)
        })
        .flatten();
    let fallback = Entry::Dockerfile {
        root: false,
        at: "end",
        lines: vec![format!(
            "RUN pip install --no-cache-dir {}",
            super::shell::quote(&text)
        )],
    };
    let mut item = Item::new(Entry::Pip(Pip { name, text, pin }), Some(origin.clone()));
    item.fallback = vec![fallback];
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::requirements;

    fn sourced(text: &str) -> Vec<Sourced> {
        requirements::read(text)
            .0
            .into_iter()
            .map(|line| {
                let n = line.line();
                Sourced {
                    line,
                    origin: Origin::new("r.txt", n, n),
                }
            })
            .collect()
    }

    #[test]
    fn index_urls() {
        assert_eq!(
            pytorch_index("https://download.pytorch.org/whl/cu118torch==1.12.0+cu116"),
            Some((
                "https://download.pytorch.org/whl".into(),
                "cu118".into(),
                Some("torch==1.12.0+cu116".into())
            ))
        );
        assert_eq!(
            pytorch_index("https://download.pytorch.org/whl/cpu/")
                .unwrap()
                .1,
            "cpu"
        );
        assert_eq!(pytorch_index("https://pypi.org/simple"), None);
    }

    #[test]
    fn the_original_flaw_is_named() {
        let m = map(
            &sourced(
                "--index-url https://download.pytorch.org/whl/cu118torch==1.12.0+cu116\ntorch==2.2.1\n--index-url https://mirror.example.org/simple\ngit+https://github.com/huggingface/peft\n",
            ),
            "r.txt",
        );
        assert_eq!(m.items[0].entry, Entry::Cuda("11.8".into()));
        assert!(matches!(&m.items[1].entry, Entry::Pip(p) if p.pin.as_deref() == Some("2.2.1")));
        assert!(
            matches!(&m.items[2].entry, Entry::Pip(p) if p.text == "peft @ git+https://github.com/huggingface/peft")
        );
        assert_eq!(
            m.mirror.as_ref().unwrap().0,
            "https://mirror.example.org/simple"
        );
        assert_eq!(m.warnings.len(), 2);
        assert!(
            m.warnings[1].message.contains("pip uses only the last one"),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.warnings[1].origin.first, 3);
    }
}
