//! Every invalid fixture gives the diagnostic its snapshot shows (graphical, no colour, width 80);
//! every valid fixture loads without error. Fixtures named `warning_*` hold a mistake that is only
//! a warning: they load, and fail under `--deny-warnings`.

use std::path::{Path, PathBuf};

use jcx::Timings;
use jcx::source::Source;

/// The fixture's path relative to the crate, so snapshots never show a machine path.
fn relative(path: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

fn load(path: &Path) -> jcx::error::Result<jcx::Loaded> {
    let bytes = std::fs::read(path).expect("fixture is readable");
    let source = Source::from_bytes(&relative(path), bytes)?;
    let out = tempfile::tempdir().expect("temp dir");
    // A fixture `x.kdl` keeps the repository files it copies into images in `x/`.
    let files = path.with_extension("");
    if files.is_dir() {
        let status = std::process::Command::new("cp")
            .arg("-R")
            .arg(files.join("."))
            .arg(out.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
    }
    jcx::load_source(source, out.path(), &mut Timings::default())
}

#[test]
fn invalid_fixtures() {
    let mut unexpected = Vec::new();
    insta::glob!("fixtures/invalid/*.kdl", |path| {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let result = load(path);
        if name.starts_with("warning_") && !result.as_ref().is_ok_and(|l| !l.warnings.is_empty()) {
            unexpected.push(format!(
                "{name}: a warning fixture must load with a warning"
            ));
        }
        let err = match result.and_then(jcx::deny_warnings) {
            Ok(_) => {
                unexpected.push(format!(
                    "{name}: expected a diagnostic, but the manifest is valid"
                ));
                return;
            }
            Err(e) => e,
        };
        let rendered = jcx::cli::render_diagnostic(&err, false, 80);
        assert!(!rendered.contains("panicked"));
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            snapshot_suffix => "",
            input_file => path,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("diagnostics__{name}"), rendered);
        });
    });
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[test]
fn valid_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "kdl"));
    paths.sort();
    paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/apps.kdl"));
    for path in &paths {
        if let Err(e) = load(path) {
            panic!(
                "{} should be valid:\n{}",
                path.display(),
                jcx::cli::render_diagnostic(&e, false, 80)
            );
        }
    }
}

/// The seed repository's pins (torch 2.2.1, torchvision 0.17.1, torchaudio 2.2.1 on cu118 with
/// Python 3.11) are accepted without any warning.
#[test]
fn seed_pins_are_accepted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/apps.kdl");
    let loaded =
        load(&path).unwrap_or_else(|e| panic!("{}", jcx::cli::render_diagnostic(&e, false, 80)));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}
