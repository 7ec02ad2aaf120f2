//! How an app's image is published: `registries` (which of the manifest's registries it is
//! pushed to), `cache` (where BuildKit keeps layers between builds), `sbom`, `provenance` and
//! `sign` (supply chain), `native-runners` (one runner per platform instead of QEMU) and
//! `list-packages` (the job summary lists what the image contains).

use super::check::Checker;
use super::decode::did_you_mean;
use super::identity::Resolved;
use super::raw::Value;
use super::setting::{Explain, Inherit, Setting, Shape, no_check};
use crate::error::{Code, Problem};
use crate::model::{App, Cache, Push, Registry, TorchIndex};

pub static REGISTRIES: Setting = Setting {
    name: "registries",
    shape: Shape::Words {
        what: "registry host",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("registries \"ghcr.io\" \"docker.io\""),
    check: no_check,
    explain: Explain::RowsOr(
        |app| {
            app.pushes
                .iter()
                .map(|p| p.registry.host.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        },
        "every registry of the manifest",
    ),
};

pub static CACHE: Setting = Setting {
    name: "cache",
    shape: Shape::Text {
        what: "`gha`, `registry` or `off`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("cache registry"),
    check: check_cache,
    explain: Explain::RowsOr(
        |app| cache_name(app.cache).to_string(),
        "`registry` for CUDA apps, `gha` otherwise",
    ),
};

pub static SBOM: Setting = Setting {
    name: "sbom",
    shape: Shape::Flag {
        fix: "write `sbom #true` (attach an SBOM attestation) or `sbom #false`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(|app| app.sbom.to_string(), ""),
};

pub static PROVENANCE: Setting = Setting {
    name: "provenance",
    shape: Shape::Flag {
        fix: "write `provenance #true` (full provenance, `mode=max`) or `provenance #false` (none)",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(
        |_| "(action default)".into(),
        "build-push-action's, `max` in public repositories, `min` in private",
    ),
};

pub static SIGN: Setting = Setting {
    name: "sign",
    shape: Shape::Flag {
        fix: "write `sign #true` (keyless cosign signature of the pushed digest) or `sign #false`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(|app| app.sign.to_string(), ""),
};

pub static NATIVE_RUNNERS: Setting = Setting {
    name: "native-runners",
    shape: Shape::Flag {
        fix: "write `native-runners #true` (one runner per platform) or `native-runners #false` (QEMU)",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(|app| app.native_runners.to_string(), "QEMU"),
};

pub static LIST_PACKAGES: Setting = Setting {
    name: "list-packages",
    shape: Shape::Flag {
        fix: "write `list-packages #false` (no package lists in the job summary) or `list-packages #true`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: no_check,
    explain: Explain::RowsOr(|app| app.list_packages.to_string(), ""),
};

/// The runner of each platform with `native-runners` (GitHub-hosted; amd64 uses `runs-on`).
pub const ARM64_RUNNER: &str = "ubuntu-24.04-arm";
pub const CACHES: &[&str] = &["gha", "registry", "off"];

pub fn cache_name(c: Cache) -> &'static str {
    match c {
        Cache::Gha => "gha",
        Cache::Registry => "registry",
        Cache::Off => "off",
    }
}

fn check_cache(cx: &mut Checker<'_>, v: &Value) {
    if let Some(c) = v.text()
        && !CACHES.contains(&c.v.as_str())
    {
        let help = did_you_mean(&c.v, CACHES).unwrap_or_else(|| {
            "`gha` (GitHub's Actions cache), `registry` (a `buildcache-<app>` tag in the app's first registry) or `off`".into()
        });
        cx.push(
            Problem::error(
                Code::InvalidChoice,
                c.span,
                format!("`{}` is not a build cache", c.v.escape_debug()),
            )
            .label("cache")
            .help(help),
        );
    }
}

/// The app's images (one per registry it pushes to) and publishing options. `None` when the
/// app names a registry the manifest does not declare (reported).
pub fn apply(
    cx: &mut Checker<'_>,
    r: &Resolved,
    app: &mut App,
    registries: &[Registry],
    image_repo: &str,
) -> Option<()> {
    let s = &r.settings;
    let chosen: Vec<&Registry> = match s.words_opt(&REGISTRIES) {
        None => registries.iter().collect(),
        Some(hosts) => {
            let declared: Vec<&str> = registries.iter().map(|r| r.host.as_str()).collect();
            let mut out: Vec<&Registry> = Vec::new();
            let mut ok = true;
            for h in hosts {
                match registries.iter().find(|r| r.host == h.v) {
                    Some(reg) if !out.iter().any(|o| o.host == reg.host) => out.push(reg),
                    Some(_) => {}
                    None => {
                        ok = false;
                        let help = did_you_mean(&h.v, &declared).unwrap_or_else(|| {
                            format!("declare it at the top level (`registry \"{}\" namespace=…`); declared: {}", h.v.escape_debug(), super::decode::backticked(&declared))
                        });
                        cx.push(
                            Problem::error(
                                Code::InvalidRegistry,
                                h.span,
                                format!(
                                    "`{}` is not a registry of this manifest",
                                    h.v.escape_debug()
                                ),
                            )
                            .label("no such registry")
                            .help(help),
                        );
                    }
                }
            }
            if !ok {
                return None;
            }
            out
        }
    };
    app.pushes = chosen
        .into_iter()
        .map(|reg| Push {
            registry: reg.clone(),
            image: format!("{}/{}/{}", reg.host, reg.namespace, image_repo),
        })
        .collect();
    app.image = app.pushes.first()?.image.clone();
    let cuda = app
        .torch
        .as_ref()
        .is_some_and(|t| matches!(t.index, TorchIndex::Cuda(_)));
    app.cache = match s.text(&CACHE).map(|c| c.v.as_str()) {
        Some("registry") => Cache::Registry,
        Some("off") => Cache::Off,
        Some(_) => Cache::Gha,
        None if cuda => Cache::Registry,
        None => Cache::Gha,
    };
    let flag = |def: &Setting| s.flag(def).map(|f| f.v);
    app.sbom = flag(&SBOM).unwrap_or(false);
    app.provenance = flag(&PROVENANCE);
    app.sign = flag(&SIGN).unwrap_or(false);
    app.list_packages = flag(&LIST_PACKAGES).unwrap_or(true);
    app.native_runners = flag(&NATIVE_RUNNERS).unwrap_or(false);
    if app.native_runners
        && app.self_hosted()
        && let Some(f) = s.flag(&NATIVE_RUNNERS)
    {
        cx.push(
            Problem::error(Code::InvalidRunner, f.span, "`native-runners` needs GitHub-hosted runners, but `runs-on` is self-hosted")
                .label("native runners")
                .help(format!("native runners are `{}` (amd64, from `runs-on`) and `{ARM64_RUNNER}` (arm64); on self-hosted runners build with QEMU (`native-runners #false`)", crate::nodes::workflow::DEFAULT_RUNNER)),
        );
    }
    Some(())
}

/// The runner labels of one platform's job with `native-runners`.
pub fn native_runner(app: &App, platform: &str) -> Vec<String> {
    if platform == "linux/arm64" {
        vec![ARM64_RUNNER.to_string()]
    } else {
        app.runs_on.clone()
    }
}
