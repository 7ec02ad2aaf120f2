//! Snapshot of every file generated from every valid fixture, plus the invariants that make the
//! PyTorch install safe. Each fixture is compiled the way a user keeps it: as `apps.kdl` at the
//! root of the output directory.

use std::path::Path;

use jcx::render::GeneratedFile;
use jcx::{Timings, load_source, render_all, source::Source};

/// Copies `from` (a fixture's repository files) into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn generate(fixture: &Path) -> (Vec<GeneratedFile>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    // A fixture `x.kdl` keeps the repository files it copies into images in `x/`.
    let files = fixture.with_extension("");
    if files.is_dir() {
        copy_tree(&files, dir.path());
    }
    let manifest = dir.path().join("apps.kdl");
    std::fs::copy(fixture, &manifest).unwrap();
    let source = Source::read(&manifest).unwrap();
    let mut t = Timings::default();
    let loaded = load_source(source, dir.path(), &mut t).unwrap_or_else(|e| {
        panic!(
            "{} should be valid:\n{}",
            fixture.display(),
            jcx::cli::render_diagnostic(&e, false, 80)
        )
    });
    let warnings = loaded
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.problem.code, w.problem.message))
        .collect();
    (render_all(&loaded, &mut t).unwrap(), warnings)
}

#[test]
fn every_generated_file_of_every_valid_fixture() {
    insta::glob!("fixtures/valid/*.kdl", |path| {
        let (files, warnings) = generate(path);
        let mut out = String::new();
        if !warnings.is_empty() {
            out.push_str("warnings:\n");
            for w in &warnings {
                out.push_str(&format!("  {w}\n"));
            }
            out.push('\n');
        }
        for f in &files {
            out.push_str(&format!("==> {} <==\n{}\n", f.path, f.contents));
        }
        // A parser directive counts only on the very first line.
        for f in files.iter().filter(|f| f.path.ends_with("/Dockerfile")) {
            assert!(
                f.contents.starts_with("# syntax=docker/dockerfile:1\n"),
                "{}: the syntax directive is not the first line",
                f.path
            );
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            input_file => path,
        }, {
            insta::assert_snapshot!(format!("generated__{name}"), out);
        });
    });
}

/// The brief's CUDA rule, read off the generated files: torch only from its wheel index, every
/// other package only from the default index, and torch held by a constraint afterwards.
#[test]
fn torch_comes_from_its_index_and_nothing_replaces_it() {
    insta::glob!("fixtures/valid/*.kdl", |path| {
        let (files, _) = generate(path);
        for f in files
            .iter()
            .filter(|f| f.path.ends_with("requirements.txt"))
        {
            for line in f.contents.lines().filter(|l| !l.starts_with('#')) {
                assert!(
                    !line.trim_start().starts_with('-'),
                    "{}: pip option in requirements.txt: {line}",
                    f.path
                );
                let name = line
                    .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                    .next()
                    .unwrap();
                let dockerfile = files
                    .iter()
                    .find(|d| {
                        let dir = f.path.rsplit_once('/').unwrap().0;
                        d.path == format!("{dir}/Dockerfile")
                    })
                    .unwrap();
                if dockerfile.contents.contains("PYTORCH_INDEX_URL") {
                    assert!(
                        !["torch", "torchvision", "torchaudio"].contains(&name),
                        "{}: {name} must come from the PyTorch index",
                        f.path
                    );
                }
            }
        }
        for d in files.iter().filter(|f| f.path.ends_with("Dockerfile")) {
            let c = &d.contents;
            assert!(
                c.starts_with("# syntax=docker/dockerfile:1\n"),
                "{}: parser directive first",
                d.path
            );
            assert!(
                !c.contains("--extra-index-url"),
                "{}: no extra index may shadow a package",
                d.path
            );
            if let Some(torch_at) = c.find("--index-url \"${PYTORCH_INDEX_URL}\"") {
                let pip_at = c.find("--requirement /tmp/pip-tmp/requirements.txt");
                if let Some(pip_at) = pip_at {
                    assert!(
                        torch_at < pip_at,
                        "{}: torch is installed before the general requirements",
                        d.path
                    );
                    let general = &c[c[..pip_at].rfind("RUN pip install").unwrap()..pip_at];
                    assert!(
                        general.contains(
                            "--constraint \"${CONDA_DIR}/etc/jcx-torch-constraints.txt\""
                        ),
                        "{}: torch held by a constraint",
                        d.path
                    );
                    assert!(
                        !general.contains("PYTORCH_INDEX_URL"),
                        "{}: the general install never sees the PyTorch index",
                        d.path
                    );
                }
                // The Dockerfile defaults to the official index, whatever mirror the manifest sets.
                assert!(
                    c.contains("ARG PYTORCH_INDEX_URL=https://download.pytorch.org/whl/"),
                    "{}",
                    d.path
                );
            }
            // The base image runs as the notebook user; whatever USER the image's stage (after
            // the last FROM: builder stages come first) switches to last must be that user again.
            let app_stage = &c[c.rfind("\nFROM ").unwrap_or(0)..];
            if let Some(last_user) = app_stage.lines().rfind(|l| l.starts_with("USER ")) {
                assert_eq!(
                    last_user, "USER ${NB_UID}",
                    "{}: runs as the notebook user",
                    d.path
                );
            }
        }
    });
}

#[test]
fn generation_is_deterministic() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/apps.kdl");
    assert_eq!(generate(&fixture).0, generate(&fixture).0);
}
