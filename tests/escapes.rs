//! End to end on the built binary: text from the manifest (names, values, comments, the file
//! name) reaches the terminal, a JSON consumer or a GitHub log only escaped, in every output
//! format; and `--message-format json` keeps every label of a diagnostic, with line and column.

use std::path::Path;

use assert_cmd::Command;

const HEAD: &str = "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\n";
const BASE: &str = "    base \"quay.io/jupyter/scipy-notebook:python-3.11\"\n";

/// Bytes a terminal or a log viewer acts on, or that hide text: C0 controls but line feed
/// and tab, DEL, C1 controls (as UTF-8), direction controls.
fn dangerous(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    text.chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}')
        })
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

/// Runs jcx with `args` on `manifest`; returns (exit code, stdout, stderr).
fn jcx(dir: &Path, args: &[&str], manifest: &Path) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let out = Command::cargo_bin("jcx")
        .unwrap()
        .args(args)
        .arg(manifest)
        .arg("--out")
        .arg(dir.join("out"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.code(), out.stdout, out.stderr)
}

/// Every output format of an invalid manifest: graphical, JSON lines, GitHub annotations.
fn every_format(dir: &Path, manifest: &Path) -> Vec<(String, Vec<u8>)> {
    let mut shown = Vec::new();
    for (name, args) in [
        ("human", vec!["compile"]),
        ("json", vec!["compile", "--message-format", "json"]),
        ("github", vec!["check", "--format", "github"]),
    ] {
        let (code, stdout, stderr) = jcx(dir, &args, manifest);
        assert_eq!(
            code,
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&stderr)
        );
        shown.push((format!("{name} stderr"), stderr));
        shown.push((format!("{name} stdout"), stdout));
    }
    shown
}

/// No output prints a dangerous character raw; the graphical report (and, with `annotated`,
/// the GitHub annotations, which have no snippets) shows `expect`.
fn assert_escaped(dir: &Path, manifest: &Path, expect: &str, annotated: bool) {
    let shown = every_format(dir, manifest);
    for (what, bytes) in &shown {
        let bad = dangerous(bytes);
        assert!(
            bad.is_empty(),
            "{what} prints {bad:?} raw:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
    for (what, bytes) in &shown {
        if (annotated && what == "github stdout") || what == "human stderr" {
            let text = String::from_utf8_lossy(bytes);
            assert!(text.contains(expect), "{what} lacks {expect:?}:\n{text}");
        }
    }
}

#[test]
fn a_node_name_cannot_retitle_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    let text = format!("{HEAD}app x {{\n{BASE}    \"\\u{{1b}}]0;pwned\\u{{7}}\" \"x\"\n}}\n");
    std::fs::write(&m, text).unwrap();
    assert_escaped(dir.path(), &m, "\\u{001B}]0;pwned\\u{0007}", true);
}

#[test]
fn values_with_c1_and_direction_controls_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    let text = format!(
        "{HEAD}app x {{\n{BASE}    description \"a\\u{{9b}}31mred\"\n    branches \"main\\u{{202e}}x\"\n}}\n"
    );
    std::fs::write(&m, text).unwrap();
    assert_escaped(dir.path(), &m, "U+009B", true);
}

#[test]
fn control_characters_in_the_source_are_escaped_in_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    // The kdl crate accepts these in a comment; the KDL specification does not, nor does jcx,
    // and the snippet that shows the line must not replay them.
    let text = format!("{HEAD}app x {{\n{BASE}    apt wget // \u{1b}]0;pwned\u{7} \u{202e}x\n}}\n");
    std::fs::write(&m, text).unwrap();
    assert_escaped(dir.path(), &m, "\\u{001B}]0;pwned\\u{0007}", false);
}

#[test]
fn a_file_name_with_control_characters_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps\u{1b}]0;pwned\u{7}.kdl");
    std::fs::write(&m, format!("{HEAD}app x {{\n    base \"x\" {{\n}}\n")).unwrap();
    assert_escaped(dir.path(), &m, "\\u{001B}]0;pwned\\u{0007}", true);
}

fn json_lines(stderr: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_keeps_every_label_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    let text = format!(
        "{HEAD}app a extends=b {{\n{BASE}}}\napp b extends=a {{\n{BASE}}}\napp a {{\n{BASE}}}\n"
    );
    std::fs::write(&m, text).unwrap();
    let (code, _, stderr) = jcx(dir.path(), &["compile", "--message-format", "json"], &m);
    assert_eq!(code, Some(2));
    let lines = json_lines(&stderr);
    let duplicate = lines
        .iter()
        .find(|l| l["code"] == "jcx::duplicate_app")
        .unwrap_or_else(|| panic!("{lines:?}"));
    let labels = duplicate["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2, "{duplicate}");
    assert_eq!(labels[0]["primary"], true);
    assert_eq!(labels[1]["primary"], false);
    let places: Vec<(u64, u64)> = labels
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["column"].as_u64().unwrap()))
        .collect();
    assert!(
        places.contains(&(3, 5)) && places.contains(&(9, 5)),
        "{places:?}"
    );
    assert_eq!(duplicate["line"], labels[0]["line"]);
    for key in ["end_line", "end_column", "offset", "length", "label"] {
        assert!(labels[0].get(key).is_some(), "{key}: {duplicate}");
    }
    let cycle = lines
        .iter()
        .find(|l| l["code"] == "jcx::extends_cycle")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(cycle["labels"].as_array().unwrap().len() >= 2, "{cycle}");
}

#[test]
fn json_places_errors_found_by_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    for (bytes, line, column) in [
        (b"manifest-version 1\nregis\0try\n".to_vec(), 2, 6),
        (b"manifest-version 1\n\xc3\xa9t\xff\n".to_vec(), 2, 3),
    ] {
        std::fs::write(&m, bytes).unwrap();
        let (code, _, stderr) = jcx(dir.path(), &["compile", "--message-format", "json"], &m);
        assert_eq!(code, Some(2));
        let lines = json_lines(&stderr);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let d = &lines[0];
        assert_eq!(d["code"], "jcx::not_text");
        assert_eq!(d["line"], line, "{d}");
        assert_eq!(d["column"], column, "{d}");
        assert!(d["file"].as_str().unwrap().ends_with("apps.kdl"), "{d}");
    }
}

#[test]
fn syntax_errors_in_json_are_the_reported_ones() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("apps.kdl");
    let text = format!(
        "{HEAD}app x {{\n{BASE}    pip {{\n        - transformers==4.41.2\n    }}\n    apt: [wget, curl]\n}}\n"
    );
    std::fs::write(&m, text).unwrap();
    let (code, _, stderr) = jcx(dir.path(), &["compile", "--message-format", "json"], &m);
    assert_eq!(code, Some(2));
    let lines = json_lines(&stderr);
    let messages: Vec<(&str, u64, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["message"].as_str().unwrap(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        vec![
            ("unquoted pip requirement `transformers==4.41.2`", 6, 11),
            ("KDL has no `[...]` lists", 8, 10),
        ]
    );
    assert_eq!(
        lines[0]["help"], "quote it: `- \"transformers==4.41.2\"`",
        "{}",
        lines[0]
    );
}
