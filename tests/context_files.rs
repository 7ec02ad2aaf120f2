//! Repository files that `dockerfile` blocks copy, and `file` globs, end to end on the built
//! binary: `jcx check` fails when such a file goes missing (a glob stops matching) and when the
//! generated allowlist or workflow no longer lets it in; a new file a glob matches changes
//! nothing generated.

mod support;

use std::fs;
use std::path::Path;

const MANIFEST: &str = r##"manifest-version 1
registry "ghcr.io" namespace=lab
app lab {
    base "quay.io/jupyter/base-notebook:2024-12-02"
    file "notebooks/*.ipynb" to="/home/jovyan/work/"
    dockerfile user=root #"""
        RUN mkdir -p /etc/jupyter
        COPY config/jupyter_server_config.py /etc/jupyter/
        """#
}
"##;

const IGNORE: &str = "src/lab/Dockerfile.dockerignore";
const WORKFLOW: &str = ".github/workflows/build-push-lab.yaml";

use support::run;

fn write(d: &Path, path: &str, text: &str) {
    fs::create_dir_all(d.join(path).parent().unwrap()).unwrap();
    fs::write(d.join(path), text).unwrap();
}

fn repository() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "apps.kdl", MANIFEST);
    write(
        d,
        "config/jupyter_server_config.py",
        "c.ServerApp.terminals_enabled = False\n",
    );
    write(d, "notebooks/intro.ipynb", "{}\n");
    let c = run(d, &["compile"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_eq!(run(d, &["check"]).code, 0);
    tmp
}

/// `check` fails as a manifest error (exit 2, nothing written), naming `needle`.
fn check_refuses(d: &Path, needle: &str) {
    let before = fs::read_to_string(d.join(IGNORE)).unwrap();
    let r = run(d, &["check"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(needle), "{}", r.stderr);
    assert_eq!(fs::read_to_string(d.join(IGNORE)).unwrap(), before);
}

/// `check` fails on drift (exit 1), naming each of `paths`.
fn check_stale(d: &Path, paths: &[&str]) {
    let r = run(d, &["check"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    for p in paths {
        assert!(out.contains(&format!("changed: {p}")), "{p} not in:\n{out}");
    }
}

#[test]
fn the_files_reach_the_allowlist_and_the_trigger() {
    let tmp = repository();
    let d = tmp.path();
    let ignore = fs::read_to_string(d.join(IGNORE)).unwrap();
    assert!(
        ignore.ends_with("*\n!notebooks/*.ipynb\n!config/jupyter_server_config.py\n"),
        "{ignore}"
    );
    let wf = fs::read_to_string(d.join(WORKFLOW)).unwrap();
    assert!(
        wf.contains("- 'notebooks/*.ipynb'\n")
            && wf.contains("- 'config/jupyter_server_config.py'\n"),
        "{wf}"
    );
}

#[test]
fn check_fails_when_a_copied_file_goes() {
    let tmp = repository();
    let d = tmp.path();
    fs::remove_file(d.join("config/jupyter_server_config.py")).unwrap();
    check_refuses(d, "`config/jupyter_server_config.py` does not exist");
    check_refuses(d, "apps.kdl:8");
    write(d, "config/jupyter_server_config.py", "\n");
    assert_eq!(run(d, &["check"]).code, 0);

    // A glob: another match keeps it valid and changes nothing generated; none fails.
    write(d, "notebooks/more.ipynb", "{}\n");
    assert_eq!(run(d, &["check"]).code, 0);
    fs::remove_dir_all(d.join("notebooks")).unwrap();
    check_refuses(d, "`notebooks/*.ipynb` matches no file");
}

#[test]
fn check_fails_when_the_allowlist_or_the_trigger_no_longer_lets_a_file_in() {
    let tmp = repository();
    let d = tmp.path();
    let ignore = fs::read_to_string(d.join(IGNORE)).unwrap();
    let wf = fs::read_to_string(d.join(WORKFLOW)).unwrap();

    // Hand edits that drop the file from the allowlist or from the `paths` filter.
    write(
        d,
        IGNORE,
        &ignore.replace("!config/jupyter_server_config.py\n", ""),
    );
    check_stale(d, &[IGNORE]);
    write(d, IGNORE, &ignore);
    write(
        d,
        WORKFLOW,
        &wf.replace("      - 'config/jupyter_server_config.py'\n", ""),
    );
    check_stale(d, &[WORKFLOW]);
    write(d, WORKFLOW, &wf);
    assert_eq!(run(d, &["check"]).code, 0);

    // A block that copies one more file, not compiled yet: the generated files lag behind.
    write(d, "config/extra.json", "{}\n");
    write(
        d,
        "apps.kdl",
        &MANIFEST.replace(
            "        \"\"\"#",
            "        COPY config/extra.json /etc/jupyter/\n        \"\"\"#",
        ),
    );
    check_stale(d, &["src/lab/Dockerfile", IGNORE, WORKFLOW]);
    assert_eq!(run(d, &["compile"]).code, 0);
    assert_eq!(run(d, &["check"]).code, 0);
    let ignore = fs::read_to_string(d.join(IGNORE)).unwrap();
    assert!(ignore.ends_with("!config/extra.json\n"), "{ignore}");
}
