//! `jcx import` maps `COPY DIR /tmp/x` + `pip install /tmp/x` of a Python project of the
//! repository to `pip package="DIR"` (the copy consumed), through the binary in small hand-made
//! repositories. `-e`, and paths that are not a project, stay in a block.

mod support;

use support::import;

const BASE: &str = "FROM quay.io/jupyter/base-notebook:2024-12-02\n";
const PYPROJECT: &str = "[project]\nname = \"linea-provider\"\nversion = \"0.1\"\n";

#[test]
fn a_copied_project_directory_becomes_pip_package() {
    let df = format!(
        "{BASE}COPY linea_provider /tmp/linea_provider/\nRUN pip install --no-cache-dir -U /tmp/linea_provider/ && rm -rf /tmp/linea_provider\nCOPY --chown=${{NB_UID}}:${{NB_GID}} tools tools\nRUN pip install \"./tools[plots]\" requests==2.32.3\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("linea_provider/pyproject.toml", PYPROJECT),
        ("linea_provider/linea_provider/__init__.py", ""),
        (
            "tools/setup.py",
            "from setuptools import setup\nsetup(name=\"tools\")\n",
        ),
    ]);
    let nodes = i.nodes();
    assert!(
        nodes.contains("pip package=linea_provider\n"),
        "{}\n{}",
        i.manifest,
        i.stderr
    );
    assert!(
        nodes.contains("pip package=tools extras=plots"),
        "{}",
        i.manifest
    );
    assert!(nodes.contains("requests"), "{}", i.manifest);
    // The copies are consumed, nothing stays in a block.
    assert!(!nodes.contains("file \"linea_provider\""), "{}", i.manifest);
    assert!(!nodes.contains("file \"tools\""), "{}", i.manifest);
    assert!(!nodes.contains("dockerfile"), "{}", i.manifest);
}

#[test]
fn editable_installs_and_non_projects_stay_in_blocks() {
    let df = format!(
        "{BASE}COPY linea_provider /tmp/linea_provider/\nRUN pip install -e /tmp/linea_provider\nCOPY notes /tmp/notes/\nRUN pip install /tmp/notes\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("linea_provider/pyproject.toml", PYPROJECT),
        ("notes/readme.txt", "not a project\n"),
    ]);
    let nodes = i.nodes();
    assert!(!nodes.contains("pip package="), "{}", i.manifest);
    assert!(
        nodes.contains("pip install -e /tmp/linea_provider"),
        "{}",
        i.manifest
    );
    assert!(nodes.contains("pip install /tmp/notes"), "{}", i.manifest);
    assert!(
        i.stderr.contains("holds no `pyproject.toml` or `setup.py`"),
        "{}",
        i.stderr
    );
}
