//! The ways jcx is packaged agree with each other: the Python distribution name, the version of
//! Cargo.toml in the pre-commit mirror and in every install command the docs give, the hook ids
//! of both hook repositories, the action pins of the release workflow. (That each way works is
//! tested by scripts/wheel-test and scripts/precommit-test; docs/release.md.)

use std::fs;
use std::path::Path;

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version-like words (`0.1.0`) right after each `marker` in `text`.
fn versions_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// Files that tell users how to install jcx.
const INSTALL_DOCS: &[&str] = &[
    "README.md",
    "README.zh-CN.md",
    "docs/install.md",
    "docs/release.md",
    ".pre-commit-hooks.yaml",
    "pre-commit-mirror/README.md",
    "pre-commit-mirror/.pre-commit-hooks.yaml",
    "pre-commit-mirror/pyproject.toml",
];

#[test]
fn every_documented_install_names_this_version() {
    let mut wrong = Vec::new();
    for doc in INSTALL_DOCS {
        let text = read(doc);
        for marker in [
            "rev: v",
            "jcx-cli==",
            "--tag v",
            "jcx_cli-",
            "jcx-version=\"",
        ] {
            for v in versions_after(&text, marker) {
                if v != VERSION {
                    wrong.push(format!("{doc}: `{marker}{v}`"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "jcx is {VERSION}, but the docs say otherwise (bump them with Cargo.toml, docs/release.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_pre_commit_mirror_pins_this_version_of_the_wheel() {
    let mirror = read("pre-commit-mirror/pyproject.toml");
    assert!(
        mirror.contains(&format!("version = \"{VERSION}\"")),
        "pre-commit-mirror/pyproject.toml: version must be {VERSION}"
    );
    let pin = format!("\"{}=={VERSION}\"", jcx::render::PYPI_PACKAGE);
    assert!(
        mirror.contains(&format!("dependencies = [{pin}]")),
        "pre-commit-mirror/pyproject.toml must depend on {pin} alone"
    );
}

#[test]
fn the_wheel_is_the_distribution_the_check_workflow_installs() {
    let pyproject = read("pyproject.toml");
    assert!(
        pyproject.contains(&format!("name = \"{}\"", jcx::render::PYPI_PACKAGE)),
        "pyproject.toml must name the distribution {}",
        jcx::render::PYPI_PACKAGE
    );
    assert!(pyproject.contains("bindings = \"bin\""));
    assert!(
        pyproject.contains("dynamic = [\"version\"]"),
        "the wheel's version is Cargo.toml's"
    );
    let release = read("scripts/release-requirements.txt");
    let ci = read("scripts/ci-requirements.txt");
    assert!(release.contains("maturin==") && ci.contains("-r release-requirements.txt"));
}

#[test]
fn both_hook_repositories_offer_the_same_hooks() {
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("- id: "))
            .map(str::to_string)
            .collect()
    };
    let source = read(".pre-commit-hooks.yaml");
    let mirror = read("pre-commit-mirror/.pre-commit-hooks.yaml");
    assert_eq!(ids(&source), ["jcx-check", "jcx-compile"]);
    assert_eq!(ids(&source), ids(&mirror));
    assert_eq!(source.matches("\n  language: rust\n").count(), 2);
    assert_eq!(mirror.matches("\n  language: python\n").count(), 2);
    for (s, m) in source
        .lines()
        .filter(|l| l.starts_with("  entry: ") || l.starts_with("  files: "))
        .zip(
            mirror
                .lines()
                .filter(|l| l.starts_with("  entry: ") || l.starts_with("  files: ")),
        )
    {
        assert_eq!(
            s, m,
            "the mirror's hooks must run what the source hooks run"
        );
    }
}

#[test]
fn the_release_workflow_pins_checkout_as_the_generated_workflows_do() {
    let release = read(".github/workflows/release.yaml");
    let (_, checkout, version) = jcx::nodes::sources::DEFAULT_ACTIONS
        .iter()
        .find(|(k, _, _)| *k == "checkout")
        .unwrap();
    assert!(
        release.contains(&format!("uses: {checkout}  # {version}")),
        "release.yaml should use {checkout} ({version})"
    );
    for line in release
        .lines()
        .filter(|l| l.trim_start().starts_with("uses: "))
    {
        let (_, r) = line.split_once('@').unwrap();
        let sha = r.split_whitespace().next().unwrap();
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "not pinned by commit SHA: {line}"
        );
        assert!(line.contains("  # v"), "no release comment: {line}");
    }
}
