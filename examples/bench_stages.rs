//! Per-stage timings for the benchmark (`scripts/bench`): runs one `compile` or `check` through
//! the library, exactly as the CLI does, and prints the `Timings` as one JSON line on stdout.
//!
//!     cargo run --release --example bench_stages -- compile|check MANIFEST OUT

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use jcx::Timings;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, manifest, out] = args.as_slice() else {
        eprintln!("usage: bench_stages compile|check MANIFEST OUT");
        return ExitCode::from(2);
    };
    let (manifest, out) = (PathBuf::from(manifest), PathBuf::from(out));
    let start = Instant::now();
    let mut t = Timings::default();
    let loaded = match jcx::load(&manifest, &out, &mut t) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (written, drift) = match mode.as_str() {
        "compile" => match jcx::compile(&loaded, &out, false, &mut t) {
            Ok(r) => (r.written.len() + r.removed.len(), 0),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        "check" => match jcx::check(&loaded, &out, &mut t) {
            Ok(d) => (0, d.len()),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        other => {
            eprintln!("unknown mode `{other}`");
            return ExitCode::from(2);
        }
    };
    let total = start.elapsed();
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    println!(
        "{{\"read\":{:.1},\"parse\":{:.1},\"validate\":{:.1},\"render\":{:.1},\"write\":{:.1},\"total\":{:.1},\"files_written\":{written},\"drift\":{drift},\"manifest_bytes\":{}}}",
        us(t.read),
        us(t.parse),
        us(t.validate),
        us(t.render),
        us(t.write),
        us(total),
        loaded.source.text.len()
    );
    ExitCode::SUCCESS
}
