//! End-to-end tests of the user-facing commands on the built binary: `init`, `new`, `fmt`,
//! `list`, `explain`, `completions`, `--version`, `--help` of each, and the drift check a new
//! user meets in their first five minutes. Every run happens in a temporary directory with
//! relative paths, so snapshots never contain a machine path.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap::CommandFactory;
use jcx::cli::Cli;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn jcx(dir: &Path) -> Command {
    let mut c = Command::new(support::jcx_bin());
    c.current_dir(dir).env("NO_COLOR", "1").env("COLUMNS", "80");
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = jcx(dir).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(concat!("commands__", $name), $value);
        });
    };
}

fn load(text: &str) -> jcx::error::Result<jcx::Loaded> {
    let source = jcx::source::Source {
        path: "apps.kdl".into(),
        name: "apps.kdl".into(),
        text: text.to_string(),
    };
    jcx::load_source(source, Path::new("."), &mut jcx::Timings::default())
}

fn model_json(text: &str) -> serde_json::Value {
    let loaded = load(text).unwrap_or_else(|e| panic!("does not load: {e:?}"));
    serde_json::to_value(&loaded.manifest).unwrap()
}

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn every_command_has_help_with_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    let top = run(tmp.path(), &["--help"]);
    assert_eq!(top.code, 0);
    snap!("help", top.stdout);
    for cmd in [
        "init",
        "new",
        "compile",
        "check",
        "fmt",
        "list",
        "explain",
        "completions",
    ] {
        let r = run(tmp.path(), &[cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd} --help");
        assert!(
            r.stdout.contains("Example:\n  jcx "),
            "`jcx {cmd} --help` has no example:\n{}",
            r.stdout
        );
        if matches!(
            cmd,
            "init" | "new" | "fmt" | "list" | "explain" | "completions"
        ) {
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("commands__help_{cmd}"), r.stdout);
            });
        }
    }
}

#[test]
fn version() {
    let r = run(Path::new("."), &["--version"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, format!("jcx {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions() {
    for (shell, marker) in [
        ("bash", "_jcx()"),
        ("zsh", "#compdef jcx"),
        ("fish", "complete -c jcx"),
    ] {
        let r = run(Path::new("."), &["completions", shell]);
        assert_eq!(r.code, 0, "{shell}");
        assert!(
            r.stdout.contains(marker),
            "{shell} completion lacks `{marker}`"
        );
        for sub in ["init", "explain", "fmt"] {
            assert!(r.stdout.contains(sub), "{shell} completion lacks `{sub}`");
        }
    }
}

#[test]
fn init_compiles_as_is_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let r = run(d, &["init"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(d.join("apps.kdl")).unwrap(),
        jcx::edit::init_text()
    );
    assert_eq!(run(d, &["compile"]).code, 0);
    let check = run(d, &["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(d.join("src/notebook/Dockerfile").is_file());
    // The starter is already formatted, and warns about nothing.
    assert_eq!(run(d, &["fmt", "--check"]).code, 0);
    assert!(load(&jcx::edit::init_text()).unwrap().warnings.is_empty());

    let again = run(d, &["init"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        fs::read_to_string(d.join("apps.kdl")).unwrap(),
        jcx::edit::init_text()
    );

    // `jcx init DIR` creates the directory.
    assert_eq!(run(d, &["init", "nested/images"]).code, 0);
    assert!(d.join("nested/images/apps.kdl").is_file());
}

/// The commented-out parts of the starter are valid once uncommented.
#[test]
fn init_commented_examples_are_valid() {
    let text = jcx::edit::init_text();
    let uncomment = |from: &str, to: &str| {
        let mut out = String::new();
        let mut on = false;
        for line in text.lines() {
            if line.starts_with(from) {
                on = true;
            }
            if on && let Some(rest) = line.strip_prefix("// ") {
                out.push_str(rest);
            } else {
                out.push_str(line);
            }
            out.push('\n');
            if on && line.starts_with(to) {
                on = false;
            }
        }
        out
    };
    let cuda = uncomment("// app pytorch", "// }");
    assert!(cuda.contains("\napp pytorch {"));
    let loaded = load(&cuda).unwrap_or_else(|e| panic!("CUDA example does not load: {e:?}"));
    assert!(
        loaded.warnings.is_empty(),
        "{:?}",
        loaded
            .warnings
            .iter()
            .map(|w| w.problem.message.clone())
            .collect::<Vec<_>>()
    );
    let app = loaded
        .manifest
        .apps
        .iter()
        .find(|a| a.name == "pytorch")
        .unwrap();
    assert_eq!(app.torch.as_ref().unwrap().cuda, "12.1");

    let mirrors = uncomment("// mirrors {", "// }");
    let loaded = load(&mirrors).unwrap_or_else(|e| panic!("mirrors example does not load: {e:?}"));
    assert!(loaded.manifest.mirrors.pypi.is_some() && loaded.manifest.mirrors.pytorch.is_some());

    let check = uncomment("// check-workflow", "// check-workflow");
    let loaded =
        load(&check).unwrap_or_else(|e| panic!("check-workflow example does not load: {e:?}"));
    assert_eq!(
        loaded.manifest.check_workflow.unwrap().jcx_version,
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn new_appends_and_keeps_the_rest_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let original = fs::read_to_string(repo().join("manifests/apps.kdl")).unwrap();
    fs::write(d.join("apps.kdl"), &original).unwrap();

    let r = run(d, &["new", "vision"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        d,
        &["new", "qlora-vision", "--from", "jupyter-pytorch-qlora"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = fs::read_to_string(d.join("apps.kdl")).unwrap();
    let added = after
        .strip_prefix(original.as_str())
        .expect("the original text is a prefix, byte for byte");
    snap!("new_appended", added);
    snap!("new_stdout", r.stdout);

    // Both apps load, and every other app is unchanged.
    let before = model_json(&original);
    let now = model_json(&after);
    assert_eq!(
        before["apps"].as_array().unwrap()[..],
        now["apps"].as_array().unwrap()[..3]
    );
    assert_eq!(now["apps"][3]["name"], "vision");
    assert_eq!(now["apps"][4]["name"], "qlora-vision");
    assert_eq!(
        run(d, &["fmt", "--check"]).code,
        0,
        "the appended blocks are formatted"
    );
}

#[test]
fn new_refuses_what_validation_refuses_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert_eq!(run(d, &["init"]).code, 0);
    let before = fs::read(d.join("apps.kdl")).unwrap();
    for (args, code) in [
        (&["new", "notebook"][..], "jcx::duplicate_app"),
        (&["new", "My Env"][..], "jcx::invalid_name"),
        (
            &["new", "x", "--from", "notebok"][..],
            "did you mean `notebook`?",
        ),
        (&["new", "x", "--from", "x"][..], "jcx::self_extends"),
        (&["new", "a\"} app b {"][..], "jcx::invalid_name"),
    ] {
        let r = run(d, args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(code), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing was written"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(
            fs::read(d.join("apps.kdl")).unwrap(),
            before,
            "{args:?} changed the manifest"
        );
    }
    let names: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("apps.kdl")],
        "no temporary file left behind"
    );
    let missing = run(d, &["new", "x", "--manifest", "nope.kdl"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.kdl"));
}

#[test]
fn fmt_fixes_layout_and_keeps_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let messy = fs::read_to_string(repo().join("tests/fixtures/commands/messy.kdl")).unwrap();
    fs::write(d.join("apps.kdl"), &messy).unwrap();

    let check = run(d, &["fmt", "--check"]);
    assert_eq!(check.code, 1);
    snap!("fmt_check_diff", check.stdout);
    assert_eq!(
        fs::read_to_string(d.join("apps.kdl")).unwrap(),
        messy,
        "--check writes nothing"
    );

    let r = run(d, &["fmt"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let formatted = fs::read_to_string(d.join("apps.kdl")).unwrap();
    snap!("fmt_messy", formatted.clone());

    // Every comment survives, the model is the same, and a second run changes nothing.
    for comment in messy
        .lines()
        .filter_map(|l| l.find("//").map(|i| l[i..].trim_end()))
    {
        assert!(formatted.contains(comment), "lost comment {comment:?}");
    }
    assert!(formatted.contains("/* A block comment\n     spanning lines, kept as written */"));
    assert!(formatted.contains("/-app retired"));
    assert!(formatted.contains("      RUN echo \"keep   this   spacing\"\n      \"\"\"#"));
    assert_eq!(model_json(&messy), model_json(&formatted));
    assert_eq!(jcx::edit::format_text(&formatted), formatted);
    assert_eq!(run(d, &["fmt", "--check"]).code, 0);
    let again = run(d, &["fmt"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "nothing to do the second time"
    );
}

#[test]
fn fmt_keeps_the_example_manifest_as_is() {
    let example = fs::read_to_string(repo().join("manifests/apps.kdl")).unwrap();
    assert_eq!(jcx::edit::format_text(&example), example);
}

#[test]
fn fmt_refuses_invalid_kdl() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("apps.kdl"), "app x {\n").unwrap();
    let r = run(tmp.path(), &["fmt"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("jcx::kdl_syntax"), "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(tmp.path().join("apps.kdl")).unwrap(),
        "app x {\n"
    );
}

#[test]
fn list_and_explain_the_example() {
    let r = run(&repo(), &["list", "manifests/apps.kdl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("list", r.stdout);
    let r = run(&repo(), &["list", "manifests/apps.kdl", "--json"]);
    assert_eq!(r.code, 0);
    snap!("list_json", r.stdout);

    let r = run(
        &repo(),
        &["explain", "jupyter-pytorch-qlora-zx", "manifests/apps.kdl"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("explain", r.stdout);
    let r = run(
        &repo(),
        &[
            "explain",
            "jupyter-pytorch-x",
            "manifests/apps.kdl",
            "--json",
        ],
    );
    assert_eq!(r.code, 0);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let branches = json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "branches")
        .unwrap();
    assert_eq!(branches["origin"]["line"], 11);
    assert_eq!(branches["origin"]["block"], "defaults");

    let r = run(
        &repo(),
        &["explain", "jupyter-pytorch-qlor", "manifests/apps.kdl"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `jupyter-pytorch-qlora`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn explain_shows_jcx_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(
        d.join("apps.kdl"),
        "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\napp small {\n    base \"quay.io/jupyter/minimal-notebook:2024-05-01\"\n    code-server \"4.22.1\"\n}\n",
    )
    .unwrap();
    let r = run(d, &["explain", "small"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("explain_defaults", r.stdout);
    assert!(r.stdout.contains("branches         main"));
    assert!(r.stdout.contains("(jcx default)"));
}

/// A new user's first five minutes: init, new, compile, a hand edit caught by check.
#[test]
fn first_five_minutes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert_eq!(run(d, &["init"]).code, 0);
    assert_eq!(run(d, &["new", "pytorch-lab"]).code, 0);
    let compile = run(d, &["compile"]);
    assert_eq!(compile.code, 0, "{}", compile.stderr);
    assert_eq!(run(d, &["check"]).code, 0);

    let dockerfile = d.join("src/pytorch-lab/Dockerfile");
    let mut text = fs::read_to_string(&dockerfile).unwrap();
    text.push_str("RUN pip install --no-cache-dir requests\n");
    fs::write(&dockerfile, text).unwrap();

    let check = run(d, &["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("changed: src/pytorch-lab/Dockerfile"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("-RUN pip install --no-cache-dir requests"),
        "{}",
        check.stdout
    );
    let gh = run(d, &["check", "--format", "github"]);
    assert_eq!(gh.code, 1);
    assert!(
        gh.stdout
            .starts_with("::error file=src/pytorch-lab/Dockerfile,"),
        "{}",
        gh.stdout
    );
    assert_eq!(run(d, &["compile", "--quiet"]).code, 0);
    assert_eq!(run(d, &["check"]).code, 0);
}

/// `check-workflow` in the manifest adds `.github/workflows/jcx-check.yaml`, kept in sync.
#[test]
fn check_workflow_is_generated_when_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = jcx::edit::init_text();
    text.push_str(
        "\ncheck-workflow jcx-version=\"0.1.0\" repository=\"https://github.com/my-lab/jcx\"\n",
    );
    fs::write(d.join("apps.kdl"), text).unwrap();
    assert_eq!(run(d, &["compile"]).code, 0);
    let wf = fs::read_to_string(d.join(".github/workflows/jcx-check.yaml")).unwrap();
    assert!(wf.contains("jcx check"), "{wf}");
    assert!(
        wf.contains("0.1.0") && wf.contains("https://github.com/my-lab/jcx"),
        "{wf}"
    );
    assert_eq!(run(d, &["check"]).code, 0);
    // Without the node, the workflow is stale and compile removes it.
    fs::write(d.join("apps.kdl"), jcx::edit::init_text()).unwrap();
    assert_eq!(run(d, &["check"]).code, 1);
    assert_eq!(run(d, &["compile"]).code, 0);
    assert!(!d.join(".github/workflows/jcx-check.yaml").exists());
}

/// `variants` through the binary: `list` shows each variant (and the column), `explain` names
/// the variant and its template, and the template's name is not an app.
#[test]
fn list_and_explain_show_variants() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::copy(
        repo().join("tests/fixtures/valid/variants.kdl"),
        d.join("apps.kdl"),
    )
    .unwrap();
    let r = run(d, &["list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("list_variants", r.stdout);
    assert!(r.stdout.lines().next().unwrap().contains("VARIANT"));

    let r = run(d, &["list", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pytorch-py3.11-cu11.8",
            "pytorch-py3.11-cu12.1",
            "pytorch-py3.12-cu12.1",
            "qlora",
            "course-cu11.8",
            "course-cu12.1"
        ]
    );
    assert_eq!(
        rows[2]["variant"]["template"],
        "pytorch-py{python}-cu{cuda}"
    );
    assert_eq!(rows[2]["variant"]["values"][0]["axis"], "python");
    assert_eq!(rows[2]["variant"]["values"][0]["value"], "3.12");
    assert!(rows[3].get("variant").is_none(), "qlora is no variant");

    let r = run(d, &["explain", "course-cu12.1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("explain_variant", r.stdout);
    assert!(
        r.stdout
            .starts_with("app course-cu12.1 (apps.kdl:42), variant cuda=12.1 of `course-cu{cuda}`"),
        "{}",
        r.stdout
    );

    let r = run(d, &["explain", "course-cu12.1", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["variant"]["values"][0]["value"], "12.1");

    let r = run(d, &["explain", "pytorch-py{python}-cu{cuda}"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is the template of variants"),
        "{}",
        r.stderr
    );
}

/// Builder stages through the binary: each app's Dockerfile holds the stages it copies from,
/// first, and `check` is clean afterwards.
#[test]
fn stages_compile_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let status = std::process::Command::new("cp")
        .arg("-R")
        .arg(repo().join("tests/fixtures/valid/stages/."))
        .arg(d)
        .status()
        .unwrap();
    assert!(status.success());
    fs::copy(
        repo().join("tests/fixtures/valid/stages.kdl"),
        d.join("apps.kdl"),
    )
    .unwrap();
    let r = run(d, &["compile", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run(d, &["check"]).code, 0);
    let tools = fs::read_to_string(d.join("src/tools/Dockerfile")).unwrap();
    let froms: Vec<&str> = tools.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        [
            "FROM ${STAGE_C_BUILD_IMAGE} AS jcx-stage-c-build",
            "FROM jcx-stage-c-build AS jcx-stage-c-strip",
            "FROM ${STAGE_RUST_TOOLS_IMAGE} AS jcx-stage-rust-tools",
            "FROM ${BASE_IMAGE}",
        ]
    );
    let lite = fs::read_to_string(d.join("src/tools-lite/Dockerfile")).unwrap();
    assert!(!lite.contains("c-build"), "{lite}");
    let r = run(d, &["explain", "tools"]);
    assert!(
        r.stdout.contains(
            "copy-from        c-strip:/out/bin/hello -> /usr/local/bin/hello (root, mode 0755)"
        ),
        "{}",
        r.stdout
    );
}
