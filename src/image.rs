//! OCI image references (`registry/namespace/name:tag@digest`), parsed by the distribution
//! grammar so that jcx can split the base image into the parts the workflow needs.

use crate::model::ImageRef;

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // a separator run: `.`, `_`, `__` or one or more `-`
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A registry host: `host[:port]` made of DNS labels (or `localhost`).
pub fn is_registry_host(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

fn is_digest(s: &str) -> bool {
    match s.split_once(':') {
        Some(("sha256", hex)) => {
            hex.len() == 64 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        }
        Some(("sha512", hex)) => {
            hex.len() == 128 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        }
        _ => false,
    }
}

/// Why a reference was refused, in words a user can act on.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageError {
    pub message: String,
    pub help: String,
}

fn err(message: impl Into<String>, help: impl Into<String>) -> ImageError {
    ImageError {
        message: message.into(),
        help: help.into(),
    }
}

const EXAMPLE: &str = "a full reference looks like `quay.io/jupyter/scipy-notebook:python-3.11`";

/// Parses a full reference. The tag is required: jcx names the pushed image after it.
pub fn parse_image_ref(s: &str) -> Result<ImageRef, ImageError> {
    if s.is_empty() {
        return Err(err("the image reference is empty", EXAMPLE));
    }
    if s.len() > 255 + 128 + 140 {
        return Err(err("the image reference is too long", EXAMPLE));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            if !is_digest(d) {
                return Err(err(
                    format!("`{d}` is not a valid digest"),
                    "a digest looks like `sha256:` followed by 64 lowercase hex digits",
                ));
            }
            (r, Some(d.to_string()))
        }
        None => (s, None),
    };
    // The tag follows the last `:` that comes after the last `/` (a `:` before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let Some(tag) = tag else {
        return Err(err(
            format!("`{s}` has no tag"),
            "pin the base image by tag (for example `:python-3.11`), so builds are repeatable and the pushed image can be named after it",
        ));
    };
    if !is_tag(tag) {
        return Err(err(
            format!("`{tag}` is not a valid image tag"),
            "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
        ));
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    let registry = if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let r = parts.remove(0);
        if !is_registry_host(r) {
            return Err(err(format!("`{r}` is not a valid registry host"), EXAMPLE));
        }
        r.to_string()
    } else {
        "docker.io".to_string()
    };
    for p in &parts {
        if !is_path_component(p) {
            return Err(err(
                format!("`{p}` is not a valid image path component"),
                "image names are lowercase letters and digits separated by `.`, `_`, `__` or `-`; "
                    .to_string()
                    + EXAMPLE,
            ));
        }
    }
    let name = parts.pop().unwrap_or_default().to_string();
    if registry == "docker.io" && parts.is_empty() {
        parts.push("library");
    }
    Ok(ImageRef {
        registry,
        namespace: parts.join("/"),
        name,
        tag: tag.to_string(),
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quay_reference() {
        let r = parse_image_ref("quay.io/jupyter/scipy-notebook:python-3.11").unwrap();
        assert_eq!(r.registry, "quay.io");
        assert_eq!(r.namespace, "jupyter");
        assert_eq!(r.name, "scipy-notebook");
        assert_eq!(r.tag, "python-3.11");
        assert_eq!(r.full(), "quay.io/jupyter/scipy-notebook:python-3.11");
    }

    #[test]
    fn docker_hub_short_names_and_ports() {
        let r = parse_image_ref("ubuntu:24.04").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.namespace.as_str(), r.name.as_str()),
            ("docker.io", "library", "ubuntu")
        );
        let r = parse_image_ref("localhost:5000/a/b/c:1@sha256:").unwrap_err();
        assert!(r.message.contains("digest"));
        let d = format!("localhost:5000/a/b/c:1@sha256:{}", "a".repeat(64));
        let r = parse_image_ref(&d).unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.namespace.as_str(),
                r.name.as_str(),
                r.tag.as_str()
            ),
            ("localhost:5000", "a/b", "c", "1")
        );
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "quay.io/jupyter/scipy-notebook",
            "Quay/x:1",
            "a//b:1",
            "a/b:-x",
            "a/b-:1",
            "a b:1",
        ] {
            assert!(parse_image_ref(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
