//! `jcx build` end to end with fake builders: scripts named `docker`, `podman` and `buildah` on
//! an isolated PATH record their arguments, so the tests see exactly what jcx runs, in which
//! order, with which builder, build arguments and tags. (The real build, with buildah, is in
//! scripts/build-test.)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fake builder: records `$0 $*` in `$JCX_FAKE_LOG` and prints a line (which jcx must keep
/// off its stdout); `docker version` fails when
/// `JCX_FAKE_NO_DAEMON` is set, and any `bud`/`build` of a Dockerfile named in
/// `JCX_FAKE_FAIL` fails.
const FAKE: &str = r#"#!/bin/sh
name=${0##*/}
echo "$name $*" >> "$JCX_FAKE_LOG"
echo "STEP 1/1: output of the fake $name"
if [ "$name" = docker ] && [ "$1" = version ] && [ -n "${JCX_FAKE_NO_DAEMON:-}" ]; then
    exit 1
fi
case " $* " in
    *" --file ${JCX_FAKE_FAIL:-none} "*) exit 3 ;;
esac
exit 0
"#;

struct Case {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Case {
    /// The chained fixture, compiled, and a bin directory holding `git` and the named fakes.
    fn new(builders: &[&str]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        for b in builders {
            let p = bin.join(b);
            fs::write(&p, FAKE).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let git = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join("git"))
            .find(|p| p.is_file())
            .expect("git on PATH");
        std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
        let repo_dir = dir.path().join("repo");
        fs::create_dir(&repo_dir).unwrap();
        fs::copy(
            repo().join("tests/fixtures/valid/base-app-chain.kdl"),
            repo_dir.join("apps.kdl"),
        )
        .unwrap();
        let c = Case { dir, bin };
        let out = c.jcx(&["compile", "--quiet"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        c
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn jcx(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("jcx").unwrap();
        c.current_dir(self.repo())
            .env("PATH", &self.bin)
            .env("JCX_FAKE_LOG", self.log())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .args(args);
        c
    }

    /// Runs jcx; returns its exit code, stdout, stderr and the builder calls (probes left out).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String, Vec<String>) {
        let _ = fs::remove_file(self.log());
        let mut c = self.jcx(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let calls = fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.ends_with(" --version") && !l.contains(" version"))
            .map(String::from)
            .collect();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
            calls,
        )
    }

    fn git(&self, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(self.repo())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }
}

const QLORA: &str = "registry.example.org/lab/scipy-notebook-qlora";

#[test]
fn builds_the_parents_first_with_the_workflows_arguments() {
    let c = Case::new(&["buildah"]);
    let (code, stdout, stderr, calls) =
        c.run(&["build", "gpu-qlora-zx", "--builder", "buildah"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let expected = [
        "buildah bud --format docker --layers --file src/gpu/Dockerfile --ignorefile src/gpu/Dockerfile.dockerignore --build-arg BASE_IMAGE=quay.io/jupyter/scipy-notebook:python-3.11 --build-arg PYPI_INDEX_URL=https://pypi.mirror.example.org/simple --tag registry.example.org/lab/scipy-notebook:python-3.11 .".to_string(),
        format!("buildah bud --format docker --layers --file src/gpu-qlora/Dockerfile --ignorefile src/gpu-qlora/Dockerfile.dockerignore --build-arg BASE_IMAGE=registry.example.org/lab/scipy-notebook:python-3.11 --build-arg PYPI_INDEX_URL=https://pypi.mirror.example.org/simple --tag {QLORA}:python-3.11 ."),
        format!("buildah bud --format docker --layers --file src/gpu-qlora-zx/Dockerfile --ignorefile src/gpu-qlora-zx/Dockerfile.dockerignore --build-arg BASE_IMAGE={QLORA}:python-3.11 --build-arg PYPI_INDEX_URL=https://pypi.mirror.example.org/simple --tag registry.example.org/lab/scipy-notebook-qlora-zx:python-3.11 ."),
    ];
    assert_eq!(calls, expected);
    assert_eq!(
        stdout,
        "registry.example.org/lab/scipy-notebook-qlora-zx:python-3.11\n"
    );
    assert!(stderr.contains("no commit tag"), "{stderr}");
}

#[test]
fn a_clean_checkout_adds_the_commit_tag_and_push_pushes_both() {
    let c = Case::new(&["podman"]);
    c.git(&["init", "-q"]);
    c.git(&["add", "-A"]);
    c.git(&["commit", "-q", "-m", "images"]);
    let sha = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(c.repo())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let (code, stdout, stderr, calls) = c.run(
        &[
            "build",
            "gpu-qlora",
            "--push",
            "--build-arg",
            "BASE_IMAGE=localhost/stand-in:1",
            "--",
            "--network",
            "host",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("using podman"), "{stderr}");
    let tag = format!("{QLORA}:python-3.11-{sha}");
    assert_eq!(stdout, format!("{tag}\n"));
    assert_eq!(calls.len(), 6, "{calls:#?}");
    // BASE_IMAGE from the command line replaces the first app's base only.
    assert!(calls[0].contains("--build-arg BASE_IMAGE=localhost/stand-in:1 "));
    assert!(
        calls[3].contains(
            "--build-arg BASE_IMAGE=registry.example.org/lab/scipy-notebook:python-3.11 "
        )
    );
    assert!(calls[3].ends_with(&format!(
        "--tag {QLORA}:python-3.11 --tag {tag} --network host ."
    )));
    assert_eq!(calls[4], format!("podman push {QLORA}:python-3.11"));
    assert_eq!(calls[5], format!("podman push {tag}"));
}

#[test]
fn detection_takes_docker_podman_buildah_in_that_order() {
    let c = Case::new(&["docker", "podman", "buildah"]);
    let (code, _, stderr, calls) = c.run(&["build", "cpu"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(calls[0].starts_with("docker buildx build --load --file src/cpu/Dockerfile "));
    // A docker without a daemon is passed over.
    let (code, _, stderr, calls) = c.run(&["build", "cpu"], &[("JCX_FAKE_NO_DAEMON", "1")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(calls[0].starts_with("podman build "), "{calls:?}");
}

#[test]
fn missing_builders_and_failures_are_clear() {
    let c = Case::new(&[]);
    let (code, _, stderr, _) = c.run(&["build", "cpu"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no container image builder found"),
        "{stderr}"
    );
    let (code, _, stderr, _) = c.run(&["build", "cpu", "--builder", "buildah"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("buildah cannot build here"), "{stderr}");
    // A dry run without a builder shows docker's commands.
    let (code, stdout, _, calls) = c.run(&["build", "cpu", "--dry-run"], &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("docker buildx build --load "),
        "{stdout}"
    );
    assert!(calls.is_empty());

    let c = Case::new(&["buildah"]);
    let (code, stdout, stderr, calls) = c.run(
        &["build", "gpu-qlora-zx"],
        &[("JCX_FAKE_FAIL", "src/gpu-qlora/Dockerfile")],
    );
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        calls.len(),
        2,
        "the child of a failed build is not built: {calls:?}"
    );
    assert!(stderr.contains("failed"), "{stderr}");
}

#[test]
fn it_builds_only_what_is_compiled() {
    let c = Case::new(&["buildah"]);
    let manifest = c.repo().join("apps.kdl");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("tmux", "tmux htop")).unwrap();
    let (code, _, stderr, calls) = c.run(&["build", "gpu-qlora-zx"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("run `jcx compile` first"), "{stderr}");
    assert!(calls.is_empty());
    let (code, _, stderr, _) = c.run(&["build", "gpu-qlroa"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `gpu-qlora`"), "{stderr}");
}

#[test]
fn dry_run_prints_what_would_run() {
    let c = Case::new(&["buildah"]);
    let (code, stdout, _, calls) = c.run(&["build", "gpu-qlora", "--dry-run", "--push"], &[]);
    assert_eq!(code, 0);
    assert!(calls.is_empty(), "{calls:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[1].starts_with(
            "buildah push registry.example.org/lab/scipy-notebook:python-3.11 docker://"
        )
    );
    assert!(Path::new(&c.repo()).join("src/gpu/Dockerfile").is_file());
}
