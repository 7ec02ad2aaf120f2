//! `jcx import` through the binary, in temporary copies of hand-made repositories:
//! - the fixture modelled on the original repository (tests/fixtures/import/original) imports,
//!   compiles and gives the same package sets, image names and triggers as its hand-made files
//!   and as the project's own manifest for it (manifests/apps.kdl, generated/);
//! - varied hand-written repositories (tests/fixtures/import/varied/*) import and compile;
//! - the imported manifests and the warnings are snapshots.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use support::run;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

fn fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/fixtures/import").join(name), tmp.path());
    tmp
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("import__{}", $name), $value);
        });
    };
}

/// The lines of a generated Dockerfile step: the words after `start` up to the line `    && \`.
fn step_words(dockerfile: &str, start: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut on = false;
    for l in dockerfile.lines() {
        if l.contains(start) {
            on = true;
            continue;
        }
        if on {
            let t = l.trim().trim_end_matches('\\').trim();
            if t == "&&" || t.is_empty() {
                break;
            }
            out.insert(t.trim_matches('\'').to_string());
        }
    }
    out
}

/// What an image holds and how it is built, read from generated files.
#[derive(Debug, PartialEq)]
struct Built {
    apt: BTreeSet<String>,
    mamba: BTreeSet<String>,
    torch: BTreeSet<String>,
    pip: BTreeSet<String>,
    code_server: Option<String>,
    image: String,
    branches: Vec<String>,
    paths: Vec<String>,
}

fn built(root: &Path, app: &str) -> Built {
    let df = fs::read_to_string(root.join(format!("src/{app}/Dockerfile"))).unwrap();
    let req =
        fs::read_to_string(root.join(format!("src/{app}/requirements.txt"))).unwrap_or_default();
    let wf =
        fs::read_to_string(root.join(format!(".github/workflows/build-push-{app}.yaml"))).unwrap();
    let list = |key: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut on = false;
        for l in wf.lines() {
            if l.trim() == format!("{key}:") {
                on = true;
                continue;
            }
            match l.trim().strip_prefix("- ") {
                Some(v) if on => out.push(v.trim_matches('\'').to_string()),
                _ => on = false,
            }
        }
        out
    };
    Built {
        apt: step_words(&df, "apt-get install --yes"),
        mamba: step_words(&df, "mamba install --yes"),
        torch: step_words(&df, "--index-url \"${PYTORCH_INDEX_URL}\""),
        pip: req
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect(),
        code_server: df
            .lines()
            .find_map(|l| l.strip_prefix("ENV CODE_SERVER_VERSION="))
            .map(str::to_string),
        image: wf
            .lines()
            .find_map(|l| l.trim().strip_prefix("IMAGE: "))
            .unwrap_or_default()
            .trim_matches('\'')
            .to_string(),
        branches: list("branches"),
        paths: list("paths"),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const APPS: [&str; 3] = [
    "jupyter-pytorch-x",
    "jupyter-pytorch-qlora",
    "jupyter-pytorch-qlora-zx",
];

#[test]
fn the_original_repository_round_trips() {
    let tmp = fixture("original");
    let r = run(tmp.path(), &["import"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest = fs::read_to_string(tmp.path().join("apps.kdl")).unwrap();
    snap!("original_apps_kdl", &manifest);
    snap!(
        "original_output",
        format!("{}--- stdout\n{}", r.stderr, r.stdout)
    );
    assert!(
        r.stderr.contains("pip uses only the last one"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("The manifest now uses `cuda \"11.8\"`"),
        "{}",
        r.stderr
    );
    // Formatted as `jcx fmt` would.
    assert_eq!(run(tmp.path(), &["fmt", "--check"]).code, 0);

    let c = run(tmp.path(), &["compile", "--force"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_eq!(run(tmp.path(), &["check"]).code, 0);

    // The hand-made files, read by hand: what every image must still hold.
    let apt = set(&[
        "wget",
        "curl",
        "pandoc",
        "vim",
        "zip",
        "libopenmpi-dev",
        "tmux",
        "screen",
    ]);
    let mamba = set(&["jupyter-server-proxy", "jupyter-vscode-proxy"]);
    let torch = set(&["torch==2.2.1", "torchvision==0.17.1", "torchaudio==2.2.1"]);
    let x = ["mpi4py", "transformers==4.28.1", "icetk"];
    let qlora = [
        "peft @ git+https://github.com/huggingface/peft",
        "deepspeed==0.9.2",
        "accelerate",
        "bitsandbytes",
    ];
    let zx = ["cpm_kernels", "sentencepiece==0.1.99"];
    let pip: Vec<BTreeSet<String>> = vec![
        set(&x),
        set(&[&x[..], &qlora[..]].concat()),
        set(&[&x[..], &qlora[..], &zx[..]].concat()),
    ];
    let images = [
        "scipy-notebook",
        "scipy-notebook-qlora",
        "scipy-notebook-qlora-zx",
    ];
    let independent = tempfile::tempdir().unwrap();
    let example = fs::read_to_string(repo().join("manifests/apps.kdl")).unwrap();
    let example: String = example
        .lines()
        .filter(|l| !l.trim_start().starts_with("base app="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(independent.path().join("apps.kdl"), example).unwrap();
    assert_eq!(run(independent.path(), &["compile", "--quiet"]).code, 0);
    for (n, app) in APPS.iter().enumerate() {
        let b = built(tmp.path(), app);
        assert_eq!(b.apt, apt, "{app}");
        assert_eq!(b.mamba, mamba, "{app}");
        assert_eq!(b.torch, torch, "{app}: torch from the cu118 index");
        assert!(
            fs::read_to_string(tmp.path().join(format!("src/{app}/Dockerfile")))
                .unwrap()
                .contains("PYTORCH_INDEX_URL=https://download.pytorch.org/whl/cu118")
        );
        assert_eq!(b.pip, pip[n], "{app}");
        assert_eq!(b.code_server.as_deref(), Some("4.22.1"), "{app}");
        assert_eq!(
            b.image,
            format!("registry.cn-hangzhou.aliyuncs.com/linuzb/{}", images[n]),
            "{app}"
        );
        assert_eq!(b.branches, vec!["main", "feat/**"], "{app}");
        assert!(
            b.paths.contains(&format!("src/{app}/**")),
            "{app}: {:?}",
            b.paths
        );
        // The same as what the project's own manifest for this repository generates, each app
        // on its own: the example builds its apps on one another (`base app=`), which a
        // hand-made repository of self-contained Dockerfiles cannot say.
        let mut own = built(independent.path(), app);
        own.code_server = b.code_server.clone();
        assert_eq!(b, own, "{app}: the import differs from manifests/apps.kdl");
    }
}

#[test]
fn varied_repositories_import_and_compile() {
    let root = repo().join("tests/fixtures/import/varied");
    let mut names: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 3);
    for name in names {
        let tmp = fixture(&format!("varied/{name}"));
        let r = run(tmp.path(), &["import"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let manifest = fs::read_to_string(tmp.path().join("apps.kdl")).unwrap();
        snap!(format!("varied_{name}_apps_kdl"), &manifest);
        snap!(
            format!("varied_{name}_output"),
            format!("{}--- stdout\n{}", r.stderr, r.stdout)
        );
        assert_eq!(
            run(tmp.path(), &["fmt", "--check"]).code,
            0,
            "{name}: not formatted"
        );
        let c = run(tmp.path(), &["compile", "--force"]);
        assert_eq!(c.code, 0, "{name}: {}", c.stderr);
        assert_eq!(run(tmp.path(), &["check"]).code, 0, "{name}");
    }
}

#[test]
fn never_overwrites_a_manifest_without_force() {
    let tmp = fixture("original");
    fs::write(tmp.path().join("apps.kdl"), "// mine\n").unwrap();
    let r = run(tmp.path(), &["import"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(tmp.path().join("apps.kdl")).unwrap(),
        "// mine\n"
    );
    let r = run(tmp.path(), &["import", ".", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        fs::read_to_string(tmp.path().join("apps.kdl"))
            .unwrap()
            .contains("app jupyter-pytorch-x")
    );
}

#[test]
fn prints_to_stdout_and_writes_elsewhere() {
    let tmp = fixture("original");
    let r = run(tmp.path(), &["import", "-o", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("// apps.kdl: imported by `jcx import`"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("imported 3 apps"), "{}", r.stderr);
    assert!(!tmp.path().join("apps.kdl").exists());
    let r = run(tmp.path(), &["import", ".", "--output", "other.kdl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(tmp.path().join("other.kdl").exists());
}

#[test]
fn a_directory_without_dockerfiles_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(tmp.path(), &["import"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no Dockerfile found"), "{}", r.stderr);
    assert!(!tmp.path().join("apps.kdl").exists());
}

/// A copy of repository files becomes `file` (a glob copied into a directory too, a leading `/`
/// read as BuildKit does, from the context root); a copy of a file the repository does not
/// hold is kept as a comment, never a block whose build would fail.
#[test]
fn copies_of_repository_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (path, text) in [
        ("notebooks/intro.ipynb", "{}\n"),
        ("notebooks/extra.ipynb", "{}\n"),
        ("scripts/setup.sh", "#!/bin/sh\n"),
    ] {
        fs::create_dir_all(d.join(path).parent().unwrap()).unwrap();
        fs::write(d.join(path), text).unwrap();
    }
    fs::write(
        d.join("Dockerfile"),
        "FROM quay.io/jupyter/base-notebook:2024-12-02\n\
         COPY --chown=${NB_UID}:${NB_GID} notebooks/*.ipynb /home/jovyan/work/\n\
         COPY /scripts/setup.sh /usr/local/bin/setup.sh\n\
         COPY config/missing.py /etc/jupyter/\n",
    )
    .unwrap();
    let r = run(d, &["import"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest = fs::read_to_string(d.join("apps.kdl")).unwrap();
    assert!(
        manifest.contains("file \"notebooks/*.ipynb\" to=\"/home/jovyan/work/\"\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("file \"scripts/setup.sh\" to=\"/usr/local/bin/setup.sh\" owner=root"),
        "{manifest}"
    );
    assert!(
        manifest.contains("// COPY config/missing.py /etc/jupyter/")
            && !manifest.contains("dockerfile"),
        "{manifest}"
    );
    assert!(
        r.stderr
            .contains("`config/missing.py` is not in the repository"),
        "{}",
        r.stderr
    );
    let c = run(d, &["compile"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    // The one app's allowlist lets the glob in.
    let app = fs::read_dir(d.join("src"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let ignore = fs::read_to_string(app.path().join("Dockerfile.dockerignore")).unwrap();
    assert!(ignore.contains("\n!notebooks/*.ipynb\n"), "{ignore}");
}
