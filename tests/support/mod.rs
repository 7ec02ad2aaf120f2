//! Shared by the end-to-end tests: which jcx binary they run.

use std::path::PathBuf;

/// The binary under test: `$JCX_BIN` when set (scripts/wheel-test runs the end-to-end tests
/// against the jcx that the Python wheel installed), otherwise the one cargo built.
pub fn jcx_bin() -> PathBuf {
    match std::env::var_os("JCX_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => assert_cmd::cargo::cargo_bin("jcx"),
    }
}
