//! The JupyterHub files: the Zero to JupyterHub profile list and pre-puller images (Helm values)
//! and the DockerSpawner image list (a Python config snippet). Text goes into YAML single-quoted
//! or folded scalars, descriptions escaped for HTML (KubeSpawner's form inserts them as HTML).

use super::*;
use crate::model::{HubProfile, JupyterHub};

pub const PROFILES_PATH: &str = "jupyterhub/profiles.yaml";
pub const PREPULLER_PATH: &str = "jupyterhub/prepuller.yaml";
pub const DOCKERSPAWNER_PATH: &str = "jupyterhub/dockerspawner_config.py";
/// The directory of the files above: `compile` and `check` look for stale files there.
pub const HUB_DIR: &str = "jupyterhub";

/// `key: 'value'` at `indent`, or, when that line would pass yamllint's 80 columns, a folded
/// block scalar (`key: >-`) whose lines do (one long word stays whole on its own line, which
/// yamllint allows). The value is a single line without control characters (validated).
fn yaml_field(indent: usize, key: &str, value: &str) -> String {
    let pad = " ".repeat(indent);
    let inline = format!("{pad}{key}: {}", yaml_quote(value));
    if inline.chars().count() <= YAML_MAX_LINE {
        return inline;
    }
    let mut out = format!("{pad}{key}: >-");
    for line in fold_words(value, indent + 2) {
        out.push('\n');
        out.push_str(&pad);
        out.push_str("  ");
        out.push_str(&line);
    }
    out
}

/// Text for KubeSpawner's form, which writes it into the page unescaped.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A Python string literal: JSON's escapes are all valid Python escapes.
fn python_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

#[derive(Serialize)]
struct ProfileCtx {
    display_name: String,
    slug: String,
    /// The whole `description:` field, indented, or `None`.
    description: Option<String>,
    default: bool,
    /// The whole `image:` field, indented.
    image: String,
    /// Which builds move the image's tag (a YAML comment above it).
    moved_by: String,
    gpu_resource: Option<String>,
    gpus: String,
}

#[derive(Serialize)]
struct ProfilesCtx {
    header: String,
    profiles: Vec<ProfileCtx>,
}

fn image_ref(p: &HubProfile) -> String {
    format!("{}:{}", p.image, p.tag)
}

pub fn render_profiles(manifest: &Manifest, hub: &JupyterHub) -> Result<String> {
    let profiles = hub
        .profiles
        .iter()
        .map(|p| ProfileCtx {
            display_name: yaml_quote(&p.display_name),
            slug: yaml_quote(&p.slug),
            description: p
                .description
                .as_deref()
                .map(|d| yaml_field(6, "description", &html_escape(d))),
            default: p.default,
            image: yaml_field(8, "image", &image_ref(p)),
            moved_by: p.moved_by.clone(),
            gpu_resource: (p.gpus > 0).then(|| yaml_quote(&p.gpu_resource)),
            gpus: yaml_quote(&p.gpus.to_string()),
        })
        .collect();
    let ctx = ProfilesCtx {
        header: header(manifest, None),
        profiles,
    };
    render_with(&envs().1, "z2jh-profiles.yaml", PROFILES_PATH, ctx)
}

/// The key of an image in `prePuller.extraImages`: the chart names an init container
/// `image-pull-<key>`, which must be a DNS label (at most 63 of `[a-z0-9-]`). The app name when
/// it fits, else its letters and digits with a hash of the name, so the key stays stable.
pub fn prepuller_key(app: &str) -> String {
    const PREFIX: usize = "image-pull-".len();
    let fits = app.len() + PREFIX <= 63
        && app
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !app.ends_with('-');
    if fits {
        return app.to_string();
    }
    // FNV-1a: stable across jcx versions and platforms, unlike std's hasher.
    let hash = app.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let base: String = app
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63 - PREFIX - 9)
        .collect();
    format!("{}-{hash:08x}", base.trim_end_matches('-'))
}

#[derive(Serialize)]
struct PullCtx {
    key: String,
    /// The whole `name:` field, indented.
    name: String,
    tag: String,
}

#[derive(Serialize)]
struct PrepullerCtx {
    header: String,
    images: Vec<PullCtx>,
}

pub fn render_prepuller(manifest: &Manifest, hub: &JupyterHub) -> Result<String> {
    let images = hub
        .profiles
        .iter()
        .map(|p| PullCtx {
            key: prepuller_key(&p.slug),
            name: yaml_field(6, "name", &p.image),
            tag: yaml_quote(&p.tag),
        })
        .collect();
    let ctx = PrepullerCtx {
        header: header(manifest, None),
        images,
    };
    render_with(&envs().1, "z2jh-prepuller.yaml", PREPULLER_PATH, ctx)
}

#[derive(Serialize)]
struct DockerImageCtx {
    key: String,
    image: String,
}

#[derive(Serialize)]
struct DockerSpawnerCtx {
    header: String,
    images: Vec<DockerImageCtx>,
    default_image: String,
}

pub fn render_dockerspawner(manifest: &Manifest, hub: &JupyterHub) -> Result<String> {
    // The default first: the browser preselects the first choice of DockerSpawner's form.
    let mut ordered: Vec<&HubProfile> = hub.profiles.iter().filter(|p| p.default).collect();
    ordered.extend(hub.profiles.iter().filter(|p| !p.default));
    let ctx = DockerSpawnerCtx {
        header: header(manifest, None),
        images: ordered
            .iter()
            .map(|p| DockerImageCtx {
                key: python_str(&p.display_name),
                image: python_str(&image_ref(p)),
            })
            .collect(),
        default_image: python_str(&ordered.first().map(|p| image_ref(p)).unwrap_or_default()),
    };
    render_with(
        &envs().1,
        "dockerspawner_config.py",
        DOCKERSPAWNER_PATH,
        ctx,
    )
}

/// The three hub files, when the manifest has a `jupyterhub` node that offers an app.
pub fn jupyterhub_files(manifest: &Manifest) -> Result<Vec<GeneratedFile>> {
    let Some(hub) = manifest
        .jupyterhub
        .as_ref()
        .filter(|h| !h.profiles.is_empty())
    else {
        return Ok(Vec::new());
    };
    Ok(vec![
        GeneratedFile {
            path: PROFILES_PATH.to_string(),
            contents: render_profiles(manifest, hub)?,
        },
        GeneratedFile {
            path: PREPULLER_PATH.to_string(),
            contents: render_prepuller(manifest, hub)?,
        },
        GeneratedFile {
            path: DOCKERSPAWNER_PATH.to_string(),
            contents: render_dockerspawner(manifest, hub)?,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepuller_keys_are_dns_labels() {
        assert_eq!(prepuller_key("jupyter-pytorch-x"), "jupyter-pytorch-x");
        for app in ["a.b_c", "x-", &"a".repeat(60)] {
            let k = prepuller_key(app);
            let name = format!("image-pull-{k}");
            assert!(name.len() <= 63, "{name}");
            assert!(
                k.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !k.ends_with('-'),
                "{k}"
            );
        }
        assert_ne!(prepuller_key("a.b"), prepuller_key("a_b"));
    }

    #[test]
    fn long_fields_fold() {
        let short = yaml_field(8, "image", "ghcr.io/lab/x:python-3.11-main");
        assert_eq!(short, "        image: 'ghcr.io/lab/x:python-3.11-main'");
        let long = yaml_field(8, "image", &format!("ghcr.io/{}:t", "a".repeat(80)));
        assert!(
            long.starts_with("        image: >-\n          ghcr.io/"),
            "{long}"
        );
        assert_eq!(html_escape("a<b & 'c'"), "a&lt;b &amp; &#39;c&#39;");
    }
}
