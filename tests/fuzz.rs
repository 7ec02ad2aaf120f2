//! Property tests: any bytes, and any mutation of a valid manifest, are either a manifest or a
//! diagnostic. Never a panic (a panic fails the property).

use std::path::{Path, PathBuf};

use jcx::Timings;
use jcx::source::Source;
use proptest::prelude::*;

fn valid_manifests() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join("manifests/apps.kdl")];
    if let Ok(rd) = std::fs::read_dir(root.join("tests/fixtures/valid")) {
        let mut more: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
            .collect();
        more.sort();
        paths.extend(more);
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// Loads bytes as a manifest; renders any diagnostic (rendering must not panic either).
fn load(bytes: Vec<u8>) {
    let out = std::env::temp_dir().join("jcx-fuzz-out-never-written");
    match Source::from_bytes(Path::new("fuzz.kdl"), bytes) {
        Err(e) => {
            jcx::cli::render_diagnostic(&e, false, 80);
        }
        Ok(source) => match jcx::load_source(source, &out, &mut Timings::default()) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    jcx::cli::render_diagnostic(w, false, 80);
                }
                // A manifest that validates must also render: a template failure here would be
                // a value validation let through.
                if let Err(e) = jcx::render_all(&loaded, &mut Timings::default()) {
                    assert!(
                        !matches!(e, jcx::error::Error::Render { .. }),
                        "a valid manifest failed to render: {}",
                        jcx::cli::render_diagnostic(&e, false, 80)
                    );
                }
            }
            Err(e) => {
                jcx::cli::render_diagnostic(&e, false, 80);
            }
        },
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Replace { at: usize, byte: u8 },
    SwapLines { a: usize, b: usize },
    DuplicateLine { a: usize },
}

/// Bytes that matter to KDL and to jcx's rules, more often than chance would pick them.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"{}()\"#=;/\\-_.:@$`'|&<> \t\n\r0123456789azAZ".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            prop::collection::vec(interesting_byte(), 1..8)
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), interesting_byte()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        any::<usize>().prop_map(|a| Mutation::DuplicateLine { a }),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let n = bytes.len().max(1);
        match m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Insert { at, bytes: new } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Replace { at, byte } => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = *byte;
                }
            }
            Mutation::SwapLines { a, b } => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
                bytes = lines.join(&b'\n');
            }
            Mutation::DuplicateLine { a } => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
                let a = a % lines.len();
                let line = lines[a].clone();
                lines.insert(a, line);
                bytes = lines.join(&b'\n');
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load(bytes);
    }

    #[test]
    fn kdl_like_bytes_never_panic(bytes in prop::collection::vec(interesting_byte(), 0..512)) {
        load(bytes);
    }

    #[test]
    fn mutated_valid_manifests_never_panic(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let manifests = valid_manifests();
        let (_, text) = &manifests[which % manifests.len()];
        load(apply(text, &mutations));
    }
}

// ---------------------------------------------------------------------------------------------
// Nesting. The kdl crate recurses on every form of nesting below, and on every syntax error;
// on this test thread (2 MiB of stack, a debug build) it overflowed at about 60 nested blocks.
// An overflow aborts the whole test process, which fails the suite: these properties run far
// beyond every limit. `fmt` (whose document comparison walks the tree) runs on each input too.

/// One form of nesting, `depth` levels deep, with `inner` in the middle, closed `closed` times.
fn nest(form: usize, depth: usize, inner: &str, closed: usize) -> String {
    let (open, close) = match form % 9 {
        0 => ("a {\n", "}\n"),
        1 => ("{ ", "} "),
        2 => ("/-a {\n", "}\n"),
        3 => ("a /-{ ", "} "),
        4 => ("/* ", "*/ "),
        5 => ("/*\n", "*/\n"),
        6 => ("(t)", ""),
        7 => ("", "}"),
        _ => ("a (t){ ", "} "),
    };
    format!(
        "{}{inner}{}",
        open.repeat(depth),
        close.repeat(
            closed
                .min(depth)
                .max(if open.is_empty() { depth } else { 0 })
        )
    )
}

fn nesting() -> impl Strategy<Value = String> {
    let piece = (
        0usize..9,
        prop_oneof![1usize..80, 60usize..70, 200usize..4000],
        prop::sample::select(vec![
            "", "b", "x 1", "\"s\"", "*/", "/*", "}", "{", "a=", "#",
        ]),
        any::<usize>(),
    )
        .prop_map(|(form, depth, inner, closed)| nest(form, depth, inner, closed % (depth + 2)));
    prop::collection::vec(piece, 1..4).prop_map(|v| v.join("\n"))
}

/// Loads text and formats it; renders whatever is refused.
fn load_and_format(text: String) -> String {
    let rendered = match Source::from_bytes(Path::new("fuzz.kdl"), text.clone().into_bytes()) {
        Ok(source) => {
            let _ = jcx::edit::format_source(&source);
            let out = std::env::temp_dir().join("jcx-fuzz-out-never-written");
            match jcx::load_source(source, &out, &mut Timings::default()) {
                Ok(_) => String::new(),
                Err(e) => jcx::cli::render_diagnostic(&e, false, 80),
            }
        }
        Err(e) => jcx::cli::render_diagnostic(&e, false, 80),
    };
    assert!(!rendered.contains("panicked"), "{rendered}");
    rendered
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn nesting_of_every_form_never_crashes(text in nesting()) {
        load_and_format(text);
    }

    #[test]
    fn nesting_inside_a_manifest_never_crashes(
        which in any::<usize>(),
        at in any::<usize>(),
        text in nesting(),
    ) {
        let manifests = valid_manifests();
        let (_, manifest) = &manifests[which % manifests.len()];
        let lines: Vec<&str> = manifest.lines().collect();
        let at = at % (lines.len() + 1);
        let mut out = lines[..at].join("\n");
        out.push('\n');
        out.push_str(&text);
        out.push('\n');
        out.push_str(&lines[at..].join("\n"));
        load_and_format(out);
    }

    /// Closed blocks are refused as too deep exactly when they nest deeper than the limit (for
    /// commented-out blocks `/-{ }`, their own limit).
    #[test]
    fn the_block_limits_are_exact(depth in 1usize..200, form in prop::sample::select(vec![0, 2, 3])) {
        let text = nest(form, depth, "b", depth);
        let rendered = load_and_format(text);
        let limit = if form == 3 { jcx::syntax::MAX_SLASHDASH_DEPTH } else { jcx::syntax::MAX_DEPTH };
        prop_assert_eq!(rendered.contains("jcx::too_deep"), depth > limit, "{}", rendered);
    }
}
