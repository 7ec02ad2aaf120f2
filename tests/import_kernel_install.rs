//! `jcx import` maps a package's own kernel installer (`python -m bash_kernel.install`,
//! metakernel's `python -m calysto_scheme install`) to `kernel-install`, through the binary in
//! temporary repositories; every imported manifest must compile.

mod support;

use std::fs;

const BASE: &str = "FROM quay.io/jupyter/base-notebook:2024-12-02\n";

/// Imports a repository whose only file is `Dockerfile`; returns (manifest nodes, stderr, dir).
fn import(df: &str) -> (String, String, tempfile::TempDir) {
    let i = support::import(&[("Dockerfile", df)]);
    (i.nodes(), i.stderr, i.dir)
}

fn dockerfile(dir: &tempfile::TempDir) -> String {
    let src = dir.path().join("src");
    let app = fs::read_dir(&src).unwrap().next().unwrap().unwrap().path();
    fs::read_to_string(app.join("Dockerfile")).unwrap()
}

#[test]
fn installers_become_kernel_install() {
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir bash_kernel calysto_scheme java_syntax_kernel && \\
    python -m bash_kernel.install --sys-prefix && \\
    python3 -m calysto_scheme install --sys-prefix && \\
    python -m java_syntax_kernel.install --prefix \"${{CONDA_DIR}}\" && \\
    fix-permissions \"${{CONDA_DIR}}\"
"
    );
    let (nodes, stderr, dir) = import(&df);
    assert!(
        nodes.contains(
            "kernel-install bash_kernel.install calysto_scheme java_syntax_kernel.install"
        ),
        "{nodes}"
    );
    assert!(!nodes.contains("dockerfile"), "{nodes}");
    assert!(!stderr.contains("kernelspec"), "{stderr}");
    let d = dockerfile(&dir);
    let pip = d.find("pip install --no-cache-dir").unwrap();
    let install = d
        .find("python -m bash_kernel.install --sys-prefix")
        .unwrap();
    assert!(pip < install, "{d}");
    assert!(
        d.contains("python -m calysto_scheme install --sys-prefix"),
        "{d}"
    );
}

#[test]
fn another_location_is_a_warning() {
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir octave_kernel && python -m octave_kernel.install --user\n"
    );
    let (nodes, stderr, _dir) = import(&df);
    assert!(
        nodes.contains("kernel-install octave_kernel.install"),
        "{nodes}"
    );
    assert!(
        stderr.contains("wrote its kernelspec into HOME (`--user`)")
            && stderr.contains("a volume mounted on HOME does not hide it"),
        "{stderr}"
    );
    // As root without an option: the installer's default was /usr/local/share/jupyter.
    let df = format!(
        "{BASE}USER root\nRUN pip install --no-cache-dir sos-notebook && python -m sos_notebook.install\nUSER ${{NB_UID}}\n"
    );
    let (nodes, stderr, _dir) = import(&df);
    assert!(
        nodes.contains("kernel-install sos_notebook.install"),
        "{nodes}"
    );
    assert!(stderr.contains("/usr/local/share/jupyter"), "{stderr}");
}

#[test]
fn options_jcx_does_not_model_stay_in_a_block() {
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir bash_kernel && python -m bash_kernel.install --name bash2 --sys-prefix\n"
    );
    let (nodes, stderr, _dir) = import(&df);
    assert!(!nodes.contains("kernel-install"), "{nodes}");
    assert!(
        nodes.contains("python -m bash_kernel.install --name bash2 --sys-prefix"),
        "{nodes}"
    );
    assert!(
        stderr.contains("runs the installer with `--sys-prefix` only, not with `--name`"),
        "{stderr}"
    );
    // Not installers: ipykernel (a kernel of an environment), pip, other tools' `install`.
    let df = format!(
        "{BASE}RUN python -m pip install --no-cache-dir rich && python -m playwright install --with-deps\n"
    );
    let (nodes, _, _dir) = import(&df);
    assert!(!nodes.contains("kernel-install"), "{nodes}");
}

#[test]
fn an_installer_after_blocks_at_the_end_stays_with_them() {
    // The package comes from a block that goes to the end of the image (after the pip step):
    // the installer must run after it.
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir rich\nRUN pip install --no-cache-dir --no-build-isolation ./vendor/bash_kernel && python -m bash_kernel.install --sys-prefix\n"
    );
    let (nodes, stderr, _dir) = import(&df);
    assert!(!nodes.contains("kernel-install"), "{nodes}");
    assert!(
        nodes.contains("python -m bash_kernel.install --sys-prefix"),
        "{nodes}"
    );
    assert!(
        stderr.contains("would run before the `dockerfile` blocks above it that install packages"),
        "{stderr}"
    );
    // A block at the end that installs nothing does not hold the installer back.
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir bash_kernel\nUSER root\nRUN chown -R root:users /etc/jupyter\nUSER ${{NB_UID}}\nRUN python -m bash_kernel.install --sys-prefix\n"
    );
    let (nodes, _, _dir) = import(&df);
    assert!(
        nodes.contains("kernel-install bash_kernel.install"),
        "{nodes}"
    );
    assert!(
        nodes.contains("RUN chown -R root:users /etc/jupyter"),
        "{nodes}"
    );
}
