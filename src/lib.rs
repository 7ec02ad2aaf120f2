//! jcx: a declarative manifest compiler for JupyterHub notebook images.
//!
//! The pipeline: `source` (read) -> `syntax` (text -> KDL document) -> `nodes::read` (document ->
//! spanned raw settings) -> `nodes::validate` (rules, inheritance -> model) -> `render` (model ->
//! files) -> `write` (write / check / stale files).
//! `main.rs` only parses arguments and maps results to exit codes.

pub mod build;
pub mod cli;
pub mod dockerfile_block;
pub mod drift;
pub mod edit;
pub mod error;
pub mod explain;
pub mod image;
pub mod import;
pub mod model;
pub mod nodes;
pub mod render;
pub mod source;
pub mod syntax;
pub mod torch;
pub mod write;

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use error::{Error, InvalidManifest, Problem, Result, SourcedProblem};
use model::Manifest;
use source::Source;

/// A manifest that passed validation, with its warnings and resolved settings.
pub struct Loaded {
    pub source: Source,
    pub manifest: Manifest,
    pub warnings: Vec<SourcedProblem>,
    pub resolved: Vec<nodes::Resolved>,
    /// Where the manifest is, relative to the output directory (`/`-separated), if inside it.
    pub manifest_in_out: Option<String>,
}

/// Time spent in each stage, for the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    pub read: Duration,
    pub parse: Duration,
    pub validate: Duration,
    pub render: Duration,
    pub write: Duration,
}

fn sourced(source: &Source, problems: Vec<Problem>) -> Vec<SourcedProblem> {
    let named = source.named();
    problems
        .into_iter()
        .map(|problem| SourcedProblem {
            source: problem.file.clone().unwrap_or_else(|| named.clone()),
            problem,
        })
        .collect()
}

/// Parses and validates a manifest already in memory.
pub fn load_source(source: Source, out: &Path, timings: &mut Timings) -> Result<Loaded> {
    let t = Instant::now();
    let doc = syntax::parse_document(&source)?;
    let mut problems = Vec::new();
    let raw = nodes::read(&doc, &mut problems);
    timings.parse = t.elapsed();

    let t = Instant::now();
    // A path that climbs more than one level out of the output directory says more about this
    // machine than about the repository: headers then name the file alone.
    let rel = relative_to(&source.path, out).filter(|r| !r.starts_with("../.."));
    let manifest_in_out = rel.clone().filter(|r| !r.starts_with(".."));
    let source_name = rel.unwrap_or_else(|| {
        source
            .path
            .file_name()
            .map_or_else(|| source.name.clone(), |n| n.to_string_lossy().into_owned())
    });
    // The name goes into a comment line of every generated file (and, as `manifest_in_out`, into
    // the check workflow): it must stay one plain line.
    if source_name.chars().any(char::is_control) || source_name.contains("${{") {
        return Err(Error::Usage {
            message: format!(
                "the manifest path `{}` cannot be named in generated files",
                source_name.escape_debug()
            ),
            help: Some(
                "rename the manifest (or its directory) without control characters or `${{`".into(),
            ),
        });
    }
    let outcome = nodes::validate(&raw, &source_name, &source.text, Some(out), problems);
    timings.validate = t.elapsed();
    match outcome.manifest {
        Some(manifest) if !outcome.problems.iter().any(Problem::is_error) => {
            let warnings = sourced(&source, outcome.problems);
            Ok(Loaded {
                source,
                manifest,
                warnings,
                resolved: outcome.resolved,
                manifest_in_out,
            })
        }
        _ => Err(Error::Invalid(InvalidManifest {
            path: source.name.clone(),
            problems: sourced(&source, outcome.problems),
        })),
    }
}

pub fn load(path: &Path, out: &Path, timings: &mut Timings) -> Result<Loaded> {
    let t = Instant::now();
    let source = Source::read(path)?;
    timings.read = t.elapsed();
    load_source(source, out, timings)
}

/// Turns warnings into an error when the user asked for that.
pub fn deny_warnings(loaded: Loaded) -> Result<Loaded> {
    if loaded.warnings.is_empty() {
        return Ok(loaded);
    }
    Err(Error::Invalid(InvalidManifest {
        path: loaded.source.name.clone(),
        problems: loaded.warnings,
    }))
}

pub fn render_all(loaded: &Loaded, timings: &mut Timings) -> Result<Vec<render::GeneratedFile>> {
    let t = Instant::now();
    if loaded.manifest.check_workflow.is_some() && loaded.manifest_in_out.is_none() {
        return Err(Error::Usage {
            message: format!(
                "`check-workflow` needs the manifest inside the output directory, but `{}` is outside it",
                loaded.source.name
            ),
            help: Some("keep apps.kdl at the root of the images repository and compile into that directory".into()),
        });
    }
    let files = render::render(
        &loaded.manifest,
        loaded.manifest_in_out.as_deref().unwrap_or("apps.kdl"),
    )?;
    timings.render = t.elapsed();
    Ok(files)
}

/// `jcx compile`: render and write. Returns what was written.
pub fn compile(
    loaded: &Loaded,
    out: &Path,
    force: bool,
    timings: &mut Timings,
) -> Result<write::WriteReport> {
    let files = render_all(loaded, timings)?;
    let t = Instant::now();
    let report = write::write(out, &files, &loaded.manifest.source_name, force)?;
    timings.write = t.elapsed();
    Ok(report)
}

/// `jcx check`: render and compare. Writes nothing.
pub fn check(loaded: &Loaded, out: &Path, timings: &mut Timings) -> Result<Vec<write::Drift>> {
    let files = render_all(loaded, timings)?;
    let t = Instant::now();
    let drift = write::check(out, &files, &loaded.manifest.source_name)?;
    timings.write = t.elapsed();
    Ok(drift)
}

/// The output directory a manifest compiles into by default: its own directory.
pub fn default_out(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An absolute, `..`-free form of `p` that works when its tail does not exist yet.
fn absolute(p: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(p).ok()?;
    let mut existing = abs.clone();
    let mut tail = Vec::new();
    while !existing.exists() {
        tail.push(existing.file_name()?.to_owned());
        existing = existing.parent()?.to_path_buf();
    }
    let mut base = existing.canonicalize().ok()?;
    for t in tail.into_iter().rev() {
        base.push(t);
    }
    Some(base)
}

/// `manifest` relative to `out`, `/`-separated (with `..` when it lies outside `out`), so that
/// headers never contain a machine path.
pub fn relative_to(manifest: &Path, out: &Path) -> Option<String> {
    let m = absolute(manifest)?;
    let o = absolute(out)?;
    let mc: Vec<Component> = m.components().collect();
    let oc: Vec<Component> = o.components().collect();
    let common = mc.iter().zip(&oc).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), oc.len() - common).collect();
    parts.extend(
        mc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}
