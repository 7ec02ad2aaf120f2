//! `pip package="DIR"` through the binary: `jcx check` follows the package directory (an edit
//! inside it is no drift; losing its `pyproject.toml` fails the check, at the node).

mod support;

use std::fs;

use support::run;

const MANIFEST: &str = r#"manifest-version 1
registry "ghcr.io" namespace=lab
app lab {
    base "quay.io/jupyter/scipy-notebook:python-3.11"
    pip package="packages/tools" extras="plots"
}
"#;

#[test]
fn check_follows_the_package_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("apps.kdl"), MANIFEST).unwrap();
    fs::create_dir_all(root.join("packages/tools/tools")).unwrap();
    fs::write(
        root.join("packages/tools/pyproject.toml"),
        "[project]\nname = \"tools\"\nversion = \"0.1\"\n",
    )
    .unwrap();
    fs::write(root.join("packages/tools/tools/__init__.py"), "").unwrap();
    let c = run(root, &["compile"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let dockerignore = fs::read_to_string(root.join("src/lab/Dockerfile.dockerignore")).unwrap();
    assert!(
        dockerignore.contains("!packages/tools\n!packages/tools/**\n"),
        "{dockerignore}"
    );
    let dockerfile = fs::read_to_string(root.join("src/lab/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("\"/tmp/pip-package/1-tools[plots]\""),
        "{dockerfile}"
    );
    // Editing the package is not drift: nothing of it is generated.
    fs::write(root.join("packages/tools/tools/__init__.py"), "X = 1\n").unwrap();
    let c = run(root, &["check"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    // Without its pyproject.toml it is no package: the check fails at the node.
    fs::remove_file(root.join("packages/tools/pyproject.toml")).unwrap();
    let c = run(root, &["check"]);
    assert_ne!(c.code, 0);
    assert!(c.stderr.contains("jcx::invalid_pip"), "{}", c.stderr);
    assert!(
        c.stderr.contains("holds no `pyproject.toml` or `setup.py`"),
        "{}",
        c.stderr
    );
}
