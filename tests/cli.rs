//! End to end on the built binary, in temporary directories: compile, check, drift, stale files.

mod support;

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use assert_cmd::Command;

const MANIFEST: &str = r#"manifest-version 1
registry "ghcr.io" namespace=lab
defaults { base "quay.io/jupyter/scipy-notebook:python-3.11"; }
app alpha {
    pip { - "requests==2.32.3"; }
}
app beta extends=alpha {
    image-suffix beta
    apt htop
}
"#;

fn jcx(dir: &Path) -> Command {
    let mut c = Command::new(support::jcx_bin());
    c.current_dir(dir);
    c
}

/// Runs jcx in `dir`, asserts its exit code, and returns what it printed on stdout.
fn stdout(dir: &Path, args: &[&str], code: i32) -> String {
    let out = jcx(dir)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("apps.kdl"), MANIFEST).unwrap();
    dir
}

fn mtimes(dir: &Path) -> Vec<(String, SystemTime)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn compile_writes_every_file_next_to_the_manifest_then_check_is_clean() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    for app in ["alpha", "beta"] {
        for f in ["Dockerfile", "requirements.txt", "noop.txt"] {
            assert!(
                dir.path().join("src").join(app).join(f).is_file(),
                "{app}/{f}"
            );
        }
        assert!(
            dir.path()
                .join(format!(".github/workflows/build-push-{app}.yaml"))
                .is_file()
        );
    }
    jcx(dir.path()).arg("check").assert().code(0);
}

#[test]
fn a_hand_edit_is_drift_with_a_diff() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    let req = dir.path().join("src/alpha/requirements.txt");
    let edited = fs::read_to_string(&req)
        .unwrap()
        .replace("requests==2.32.3", "requests==2.0.0");
    fs::write(&req, edited).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    assert!(out.contains("changed: src/alpha/requirements.txt"), "{out}");
    assert!(
        out.contains("-requests==2.0.0") && out.contains("+requests==2.32.3"),
        "{out}"
    );
    // It says where a hand edit belongs, and that compile would overwrite it.
    assert!(
        out.contains("the change belongs in app `alpha` in apps.kdl (likely `pip`)")
            && out.contains("overwrites"),
        "{out}"
    );
    // GitHub annotations and JSON name the same file.
    let gh = stdout(dir.path(), &["check", "--format", "github"], 1);
    assert!(
        gh.starts_with("::error file=src/alpha/requirements.txt,"),
        "{gh}"
    );
    let js = stdout(dir.path(), &["check", "--format", "json"], 1);
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["drift"][0]["kind"], "changed");
    assert_eq!(v["drift"][0]["path"], "src/alpha/requirements.txt");
    // compile repairs it.
    jcx(dir.path()).arg("compile").assert().success();
    jcx(dir.path()).arg("check").assert().code(0);
}

#[test]
fn a_deleted_file_is_reported_missing() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    fs::remove_file(dir.path().join("src/beta/noop.txt")).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    assert!(out.contains("missing: src/beta/noop.txt"), "{out}");
}

#[test]
fn a_removed_app_is_stale_then_removed_but_user_files_survive() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    // The user's own file next to generated ones, without the header.
    fs::write(dir.path().join("src/beta/notes.md"), "# my notes\n").unwrap();
    fs::write(
        dir.path().join(".github/workflows/lint.yaml"),
        "name: lint\n",
    )
    .unwrap();
    let without_beta = MANIFEST.split("app beta").next().unwrap();
    fs::write(dir.path().join("apps.kdl"), without_beta).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    for f in [
        "src/beta/Dockerfile",
        "src/beta/requirements.txt",
        "src/beta/noop.txt",
        ".github/workflows/build-push-beta.yaml",
    ] {
        assert!(
            out.contains(&format!("stale: {f}")),
            "{f} not reported stale in:\n{out}"
        );
    }
    assert!(
        !out.contains("notes.md") && !out.contains("lint.yaml"),
        "{out}"
    );
    jcx(dir.path()).arg("compile").assert().success();
    assert!(!dir.path().join("src/beta/Dockerfile").exists());
    assert!(
        !dir.path()
            .join(".github/workflows/build-push-beta.yaml")
            .exists()
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("src/beta/notes.md")).unwrap(),
        "# my notes\n"
    );
    assert!(dir.path().join(".github/workflows/lint.yaml").exists());
    jcx(dir.path()).arg("check").assert().code(0);
}

/// JSON cannot carry jcx's header: the generated index `src/<app>/jcx-generated.txt` names the
/// JSON files, so they are stale (and removed) when the `jupyter` block goes, a user's JSON file
/// is still never overwritten, and a hand-edited one is reported changed.
#[test]
fn jupyter_json_files_are_recognised_through_the_index() {
    let dir = setup();
    let with = MANIFEST.replace(
        "    apt htop\n",
        "    apt htop\n    jupyter { default-url \"/lab\"; extension \"jupyterlab-git\" enabled=#false; }\n",
    );
    fs::write(dir.path().join("apps.kdl"), &with).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    let json = dir.path().join("src/beta/jupyter_server_config.json");
    assert!(
        fs::read_to_string(&json)
            .unwrap()
            .contains("\"default_url\": \"/lab\"")
    );
    jcx(dir.path()).arg("check").assert().code(0);

    fs::write(&json, "{}\n").unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    assert!(out.contains("src/beta/jupyter_server_config.json"), "{out}");
    // Ours (named by the index): compile replaces it without --force.
    jcx(dir.path()).arg("compile").assert().success();

    fs::write(dir.path().join("apps.kdl"), MANIFEST).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    for f in [
        "src/beta/jupyter_server_config.json",
        "src/beta/page_config.json",
        "src/beta/jcx-generated.txt",
    ] {
        assert!(
            out.contains(&format!("stale: {f}")),
            "{f} not stale in:\n{out}"
        );
    }
    jcx(dir.path()).arg("compile").assert().success();
    assert!(!json.exists() && !dir.path().join("src/beta/page_config.json").exists());
    jcx(dir.path()).arg("check").assert().code(0);

    // A JSON file of the user's where jcx would write one is not replaced.
    fs::write(&json, "{\"mine\": true}\n").unwrap();
    fs::write(dir.path().join("apps.kdl"), &with).unwrap();
    jcx(dir.path()).arg("compile").assert().failure();
    assert_eq!(fs::read_to_string(&json).unwrap(), "{\"mine\": true}\n");
}

/// The JupyterHub files live in `jupyterhub/`: drift there is reported with where the edit
/// belongs, and without the `jupyterhub` node they are stale and removed (the directory too, when
/// nothing of the user's is left in it).
#[test]
fn jupyterhub_files_drift_and_go_stale() {
    let dir = setup();
    let with = format!("{MANIFEST}jupyterhub default=beta\n");
    fs::write(dir.path().join("apps.kdl"), &with).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    let hub = dir.path().join("jupyterhub");
    let profiles = fs::read_to_string(hub.join("profiles.yaml")).unwrap();
    assert!(
        profiles.contains("image: 'ghcr.io/lab/scipy-notebook-beta:python-3.11-main'"),
        "{profiles}"
    );
    jcx(dir.path()).arg("check").assert().code(0);

    fs::write(
        hub.join("profiles.yaml"),
        profiles.replace("Always", "IfNotPresent"),
    )
    .unwrap();
    let out = jcx(dir.path())
        .arg("check")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("jupyterhub/profiles.yaml"), "{text}");
    assert!(
        text.contains("the `jupyterhub` node or an app's `hub-profile`"),
        "{text}"
    );
    jcx(dir.path()).arg("compile").assert().success();

    fs::write(dir.path().join("apps.kdl"), MANIFEST).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    for f in [
        "jupyterhub/profiles.yaml",
        "jupyterhub/prepuller.yaml",
        "jupyterhub/dockerspawner_config.py",
    ] {
        assert!(
            out.contains(&format!("stale: {f}")),
            "{f} not stale in:\n{out}"
        );
    }
    jcx(dir.path()).arg("compile").assert().success();
    assert!(
        !hub.exists(),
        "the emptied jupyterhub/ directory is left behind"
    );
    jcx(dir.path()).arg("check").assert().code(0);

    // A file of the user's in jupyterhub/ stays, and so does the directory.
    fs::write(dir.path().join("apps.kdl"), &with).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    fs::write(hub.join("config.yaml"), "hub: {}\n").unwrap();
    fs::write(dir.path().join("apps.kdl"), MANIFEST).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    assert_eq!(
        fs::read_to_string(hub.join("config.yaml")).unwrap(),
        "hub: {}\n"
    );
    assert!(!hub.join("profiles.yaml").exists());
}

#[test]
fn compiling_twice_rewrites_nothing() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    let before = mtimes(dir.path());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = stdout(dir.path(), &["compile"], 0);
    assert!(out.contains("0 written, 10 unchanged, 0 removed"), "{out}");
    assert_eq!(before, mtimes(dir.path()));
}

#[test]
fn a_file_jcx_did_not_write_is_never_overwritten_without_force() {
    let dir = setup();
    fs::create_dir_all(dir.path().join("src/alpha")).unwrap();
    fs::write(dir.path().join("src/alpha/Dockerfile"), "FROM scratch\n").unwrap();
    let err = jcx(dir.path())
        .arg("compile")
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8(err)
            .unwrap()
            .contains("jcx did not generate")
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("src/alpha/Dockerfile")).unwrap(),
        "FROM scratch\n"
    );
    assert!(
        !dir.path().join("src/alpha/requirements.txt").exists(),
        "nothing is written when one file is refused"
    );
    jcx(dir.path())
        .args(["compile", "--force"])
        .assert()
        .success();
    jcx(dir.path()).arg("check").assert().code(0);
}

#[test]
fn out_and_manifest_arguments() {
    let dir = setup();
    fs::create_dir(dir.path().join("manifests")).unwrap();
    fs::rename(
        dir.path().join("apps.kdl"),
        dir.path().join("manifests/apps.kdl"),
    )
    .unwrap();
    jcx(dir.path())
        .args(["compile", "manifests/apps.kdl", "--out", "generated"])
        .assert()
        .success();
    let dockerfile = fs::read_to_string(dir.path().join("generated/src/alpha/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("# Generated by jcx from ../manifests/apps.kdl, app `alpha`."),
        "{dockerfile}"
    );
    jcx(dir.path())
        .args(["check", "manifests/apps.kdl", "--out", "generated"])
        .assert()
        .code(0);
    // Without --out, files land next to the manifest.
    jcx(dir.path())
        .args(["compile", "manifests/apps.kdl"])
        .assert()
        .success();
    assert!(dir.path().join("manifests/src/alpha/Dockerfile").is_file());
}

#[test]
fn the_committed_example_is_in_sync() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    jcx(root)
        .args(["check", "manifests/apps.kdl", "--out", "generated"])
        .assert()
        .code(0);
}

#[test]
fn ghcr_uses_the_workflow_token_unless_the_manifest_names_secrets() {
    let dir = setup();
    jcx(dir.path()).arg("compile").assert().success();
    let wf =
        fs::read_to_string(dir.path().join(".github/workflows/build-push-alpha.yaml")).unwrap();
    assert!(
        wf.contains("username: ${{ github.actor }}")
            && wf.contains("password: ${{ secrets.GITHUB_TOKEN }}")
    );
    assert!(
        wf.contains("packages: write"),
        "the token needs to write packages"
    );

    let with_pat = MANIFEST.replace("namespace=lab", "namespace=lab password-secret=GHCR_PAT");
    fs::write(dir.path().join("apps.kdl"), with_pat).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    let wf =
        fs::read_to_string(dir.path().join(".github/workflows/build-push-alpha.yaml")).unwrap();
    assert!(
        wf.contains("username: ${{ github.actor }}")
            && wf.contains("password: ${{ secrets.GHCR_PAT }}"),
        "{wf}"
    );
    assert!(
        !wf.contains("GITHUB_TOKEN") && !wf.contains("packages: write"),
        "{wf}"
    );
}

#[test]
fn two_manifests_in_one_directory_never_remove_each_others_files() {
    let dir = setup();
    let other = MANIFEST
        .replace("app alpha", "app gamma")
        .replace("app beta extends=alpha", "app delta extends=gamma")
        .replace("namespace=lab", "namespace=other-lab");
    fs::write(dir.path().join("apps.kdl.v2"), other).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    jcx(dir.path())
        .args(["compile", "apps.kdl.v2"])
        .assert()
        .success();
    // Each manifest sees only its own files: both in sync, nothing reported stale.
    jcx(dir.path()).arg("check").assert().code(0);
    jcx(dir.path())
        .args(["check", "apps.kdl.v2"])
        .assert()
        .code(0);
    jcx(dir.path()).arg("compile").assert().success();
    assert!(dir.path().join("src/gamma/Dockerfile").is_file());
    assert!(
        dir.path()
            .join(".github/workflows/build-push-delta.yaml")
            .is_file()
    );
}

#[test]
fn check_format_github_annotates_manifest_errors() {
    let dir = setup();
    fs::write(
        dir.path().join("apps.kdl"),
        MANIFEST.replace("requests==2.32.3", "--index-url x"),
    )
    .unwrap();
    let out = stdout(dir.path(), &["check", "--format", "github"], 2);
    assert!(
        out.starts_with("::error file=apps.kdl,line=5,col="),
        "{out}"
    );
    assert!(
        out.contains("title=jcx%3A%3Apip_option::pip option `--index-url`"),
        "{out}"
    );
}

/// A kernel's kernel.json is header-less JSON, named by the index: a hand edit is reported
/// changed, and removing the kernel makes it and its requirements file stale.
#[test]
fn kernel_files_are_checked_and_go_stale_with_their_kernel() {
    let dir = setup();
    let with = MANIFEST.replace(
        "    apt htop\n",
        "    apt htop\n    kernel py310 display-name=\"Python 3.10\" { python \"3.10\"; pip { - \"idna==3.6\"; }; }\n",
    );
    fs::write(dir.path().join("apps.kdl"), &with).unwrap();
    jcx(dir.path()).arg("compile").assert().success();
    let spec = dir.path().join("src/beta/kernel-py310.json");
    let reqs = dir.path().join("src/beta/kernel-py310-requirements.txt");
    assert!(
        fs::read_to_string(&spec)
            .unwrap()
            .contains("\"/opt/conda/envs/py310/bin/python\"")
    );
    assert!(
        fs::read_to_string(&reqs)
            .unwrap()
            .ends_with("\nidna==3.6\n")
    );
    jcx(dir.path()).arg("check").assert().code(0);

    fs::write(&spec, "{}\n").unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    assert!(out.contains("src/beta/kernel-py310.json"), "{out}");
    jcx(dir.path()).arg("compile").assert().success();

    fs::write(dir.path().join("apps.kdl"), MANIFEST).unwrap();
    let out = stdout(dir.path(), &["check"], 1);
    for f in [
        "src/beta/kernel-py310.json",
        "src/beta/kernel-py310-requirements.txt",
        "src/beta/jcx-generated.txt",
    ] {
        assert!(
            out.contains(&format!("stale: {f}")),
            "{f} not stale in:\n{out}"
        );
    }
    jcx(dir.path()).arg("compile").assert().success();
    assert!(!spec.exists() && !reqs.exists());
    jcx(dir.path()).arg("check").assert().code(0);
}

/// `jcx list | head -0`: a reader that closed the pipe is not an error (no panic, exit 0).
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let dir = setup();
    for args in [&["list"][..], &["explain", "alpha"][..], &["compile"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(support::jcx_bin())
            .current_dir(dir.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
