//! Reliability of `jcx compile` and `jcx check` under faults, run on the built binary: SIGKILL
//! while writing, concurrent compiles, symlinks out of the output tree, stale-file removal,
//! read-only and full disks, a manifest replaced during a compile, CRLF checkouts.
//! What each test proves is written down in docs/reliability.md.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use assert_cmd::prelude::*;

const JCX: &str = env!("CARGO_BIN_EXE_jcx");

/// A valid manifest of `apps` apps (every third a CUDA root, the others extending it, 20 pip
/// requirements each) whose every Dockerfile, requirements.txt and workflow depends on
/// `variant`. Apps `gone0`.. exist only when `extra` is set, so they go stale without it.
fn manifest(apps: usize, variant: &str, extra: usize) -> String {
    manifest_with(apps, variant, extra, 20)
}

/// [`manifest`] with `pips` pip requirements per app (fewer parse faster in a debug build).
fn manifest_with(apps: usize, variant: &str, extra: usize, pips: usize) -> String {
    let mut s = String::from(
        "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\n\ndefaults {\n    \
         base \"quay.io/jupyter/scipy-notebook:python-3.11\"\n    branches main \"feat/**\"\n}\n\n",
    );
    let names = (0..apps)
        .map(|i| format!("app{i:04}"))
        .chain((0..extra).map(|i| format!("gone{i}")));
    for (i, name) in names.enumerate() {
        let root = i % 3 == 0 || i >= apps;
        let extends = if root {
            String::new()
        } else {
            format!(" extends=app{:04}", i - i % 3)
        };
        s += &format!(
            "app {name}{extends} {{\n    description \"{name}, {variant} edition\"\n    image-suffix {name}\n"
        );
        if root {
            s += "    cuda \"11.8\"\n    apt wget curl tmux\n    pip {\n        torch \"2.2.1\"\n        torchvision \"0.17.1\"\n        torchaudio \"2.2.1\"\n";
        } else {
            s += "    pip {\n";
        }
        for k in 0..pips {
            s += &format!("        - \"pkg{k}-{variant}-{name}=={}.{k}\"\n", i % 7);
        }
        s += "    }\n}\n";
    }
    s
}

fn jcx(args: &[&str]) -> Output {
    Command::new(JCX).args(args).output().expect("jcx runs")
}

fn compile(repo: &Path) -> Output {
    jcx(&["compile", "-q", path_str(&repo.join("apps.kdl"))])
}

fn check(repo: &Path) -> Output {
    jcx(&["check", path_str(&repo.join("apps.kdl"))])
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

#[track_caller]
fn assert_exit(o: &Output, code: i32, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}: stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// A repository directory with `apps.kdl` holding `text`.
fn repo_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("apps.kdl"), text).unwrap();
    dir
}

/// Every file under `root` except the manifest, relative and `/`-separated, with its bytes.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.path() != root.join("apps.kdl"))
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

fn mtimes(root: &Path) -> BTreeMap<String, SystemTime> {
    snapshot(root)
        .into_keys()
        .map(|k| {
            (
                k.clone(),
                fs::metadata(root.join(&k)).unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// What `text` compiles to, from a fresh directory (same relative manifest name, same headers).
fn reference(text: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = repo_with(text);
    assert_ok(&compile(dir.path()), "reference compile");
    snapshot(dir.path())
}

fn is_temp(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with(".jcx-") && name.ends_with(".tmp")
}

/// A small deterministic generator (xorshift), seeded from the clock and printed, so a failing
/// round can be replayed with `JCX_TEST_SEED`.
struct Rng(u64);
impl Rng {
    fn new() -> Self {
        let seed = std::env::var("JCX_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("JCX_TEST_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// (a) SIGKILL at random moments while `compile` replaces a large tree: afterwards every file is
/// its old or its new content (never partial, never missing if both versions have it); only
/// jcx's own temporary files may be left, and the next `compile` removes them and repairs all.
#[test]
fn killed_compile_leaves_old_or_new_files_and_the_next_compile_repairs_them() {
    // 200 apps = 800 files; 12 rounds keep this test near 20 s with a debug build.
    const APPS: usize = 200;
    const ROUNDS: usize = 12;
    let old_text = manifest_with(APPS, "old", 10, 2);
    let new_text = manifest_with(APPS, "new", 0, 2);
    let old = reference(&old_text);
    let new = reference(&new_text);

    let repo = repo_with(&old_text);
    let manifest_path = repo.path().join("apps.kdl");
    assert_ok(&compile(repo.path()), "first compile");
    // How long a compile takes until it starts writing (a no-change compile) and in all.
    let t = Instant::now();
    assert_ok(&compile(repo.path()), "no-change compile");
    let until_writing = t.elapsed();
    fs::write(&manifest_path, &new_text).unwrap();
    let t = Instant::now();
    assert_ok(&compile(repo.path()), "full compile");
    let full = t.elapsed().max(until_writing + Duration::from_millis(1));

    eprintln!("compile: {until_writing:?} until writing, {full:?} in all");
    let mut rng = Rng::new();
    let (mut mixed, mut temps_seen) = (0, 0);
    let mut state_is_new = true;
    for round in 0..ROUNDS {
        // Alternate the direction, so each round replaces every file of the previous one.
        let (from, to, to_text) = if state_is_new {
            (&new, &old, &old_text)
        } else {
            (&old, &new, &new_text)
        };
        fs::write(&manifest_path, to_text).unwrap();
        let window = (full - until_writing).as_micros() as u64;
        let delay =
            until_writing.mul_f64(0.8) + Duration::from_micros(rng.below(window + window / 4));
        let mut child = Command::new(JCX)
            .args(["compile", "-q", path_str(&manifest_path)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();

        let now = snapshot(repo.path());
        let (mut n_from, mut n_to) = (0, 0);
        for (path, bytes) in &now {
            if is_temp(path) {
                temps_seen += 1;
                continue;
            }
            let is_from = from.get(path) == Some(bytes);
            let is_to = to.get(path) == Some(bytes);
            assert!(
                is_from || is_to,
                "round {round}: `{path}` is neither its old nor its new content (partial write?)"
            );
            n_from += usize::from(is_from && !is_to);
            n_to += usize::from(is_to && !is_from);
        }
        for path in from.keys().filter(|p| to.contains_key(*p)) {
            assert!(
                now.contains_key(path),
                "round {round}: `{path}` disappeared"
            );
        }
        if n_from > 0 && n_to > 0 {
            mixed += 1;
        }

        assert_ok(&compile(repo.path()), "repairing compile");
        assert_eq!(
            &snapshot(repo.path()),
            to,
            "round {round}: the repairing compile did not restore every file"
        );
        if round + 1 == ROUNDS {
            assert_ok(&check(repo.path()), "check after repair");
        }
        state_is_new = !state_is_new;
    }
    eprintln!(
        "{ROUNDS} rounds, {mixed} killed half-way through the files, {temps_seen} temporary files left behind and cleaned"
    );
}

/// (b) Two compiles of the same directory at once both succeed, and the files are right.
#[test]
fn concurrent_compiles_end_with_correct_files() {
    let old_text = manifest_with(120, "old", 5, 2);
    let new_text = manifest_with(120, "new", 0, 2);
    let new = reference(&new_text);
    let repo = repo_with(&old_text);
    for round in 0..3 {
        fs::write(repo.path().join("apps.kdl"), &old_text).unwrap();
        assert_ok(&compile(repo.path()), "compile old");
        fs::write(repo.path().join("apps.kdl"), &new_text).unwrap();
        let spawn = || {
            Command::new(JCX)
                .args(["compile", "-q", path_str(&repo.path().join("apps.kdl"))])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert_ok(&a, "first concurrent compile");
        assert_ok(&b, "second concurrent compile");
        assert_eq!(snapshot(repo.path()), new, "round {round}");
        assert_ok(&check(repo.path()), "check");
    }
}

const SMALL: &str = r#"manifest-version 1
registry "ghcr.io" namespace=lab
defaults {
    base "quay.io/jupyter/scipy-notebook:python-3.11"
}
app alpha {
    image-suffix alpha
    apt wget
    pip { - "requests==2.31.0" }
}
app beta {
    image-suffix beta
    pip { - "numpy==1.26.4" }
}
"#;

fn small(edition: &str) -> String {
    SMALL.replace(
        "image-suffix alpha",
        &format!("image-suffix alpha\n    description \"{edition}\""),
    )
}

/// (c) A symlink inside the output tree is refused, not followed, and nothing is written
/// anywhere: not outside, not inside.
#[test]
fn symlinks_out_of_the_output_tree_are_refused() {
    for link in [
        "src/alpha",
        "src",
        ".github",
        ".github/workflows",
        "src/alpha/Dockerfile",
    ] {
        let repo = repo_with(SMALL);
        let outside = tempfile::tempdir().unwrap();
        // Something that looks stale to jcx, so a followed link would also show up as a deletion.
        fs::create_dir_all(outside.path().join("workflows")).unwrap();
        let bait = "# Generated by jcx from apps.kdl, app `zeta`.\nFROM scratch\n";
        fs::write(outside.path().join("workflows/build-push-zeta.yaml"), bait).unwrap();
        fs::write(outside.path().join("Dockerfile"), bait).unwrap();
        let before_outside = snapshot(outside.path());

        let target = if link.ends_with("workflows") {
            outside.path().join("workflows")
        } else {
            outside.path().to_path_buf()
        };
        let target = if link.ends_with("Dockerfile") {
            outside.path().join("Dockerfile")
        } else {
            target
        };
        let at = repo.path().join(link);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &at).unwrap();
        let before = snapshot(repo.path());

        let o = compile(repo.path());
        assert_exit(&o, 2, link);
        let err = stderr(&o);
        assert!(
            err.contains("refusing to follow the symlink") && err.contains(link),
            "{link}: {err}"
        );
        assert_eq!(
            snapshot(outside.path()),
            before_outside,
            "{link}: wrote outside --out"
        );
        assert_eq!(
            snapshot(repo.path()),
            before,
            "{link}: wrote inside --out although it refused"
        );

        let o = check(repo.path());
        assert_exit(&o, 2, link);
        assert_eq!(snapshot(outside.path()), before_outside);
    }
}

/// (c) No name or value in a manifest becomes a path outside `--out`.
#[test]
fn manifest_names_cannot_escape_the_output_directory() {
    let attempts = [
        r#"app "../../escape" { image-suffix x }"#,
        r#"app "a/b" { image-suffix x }"#,
        r#"app "/etc" { image-suffix x }"#,
        r#"app ".." { image-suffix x }"#,
        r#"app ok { image-suffix "../../x" }"#,
        r#"app ok { image-name "../../x" }"#,
        "app \"a\\\\b\" { image-suffix x }",
    ];
    let head = "manifest-version 1\nregistry \"ghcr.io\" namespace=lab\n\
                defaults { base \"quay.io/jupyter/scipy-notebook:python-3.11\"; }\n";
    // The control: the same manifest with a plain name compiles.
    let control = repo_with(&format!("{head}app ok {{ image-suffix x }}\n"));
    assert_ok(&compile(control.path()), "control");
    for app in attempts {
        let parent = tempfile::tempdir().unwrap();
        let repo = parent.path().join("repo");
        fs::create_dir(&repo).unwrap();
        let text = format!("{head}{app}\n");
        fs::write(repo.join("apps.kdl"), &text).unwrap();
        let o = compile(&repo);
        assert_exit(&o, 2, app);
        let everything: Vec<_> = walkdir::WalkDir::new(parent.path())
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .collect();
        assert_eq!(
            everything,
            [
                parent.path().to_path_buf(),
                repo.clone(),
                repo.join("apps.kdl")
            ],
            "{app}: wrote something"
        );
    }
}

/// (d) Stale removal deletes only jcx's own files in the generated paths.
#[test]
fn stale_removal_deletes_only_generated_files_in_generated_paths() {
    let repo = repo_with(SMALL);
    let r = repo.path();
    assert_ok(&compile(r), "compile");
    let header = "# Generated by jcx from apps.kdl, app `gone`.\n# Do not edit by hand.\n";
    let users = [
        ("src/beta/notes.md", "my notes\n"), // the user's file next to generated ones
        ("src/gamma/Dockerfile", "FROM scratch\n"), // a generated path, but the user's own file
        (".github/workflows/ci.yaml", "on: push\n"), // the user's workflow
        ("docs/build-push-old.yaml", header), // has the header, but not a generated path
        ("src/deep/nested/Dockerfile", header), // too deep to be generated
        ("src/Dockerfile", header),          // too shallow
        ("apps/src/x/Dockerfile", header),   // not under the output's src/
        (".github/build-push-old.yaml", header), // not under workflows/
    ];
    for (p, c) in users {
        fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
        fs::write(r.join(p), c).unwrap();
    }
    // Leftovers of an app removed from the manifest: these are jcx's and must go.
    fs::create_dir_all(r.join("src/gone")).unwrap();
    fs::write(r.join("src/gone/Dockerfile"), header).unwrap();
    fs::write(r.join(".github/workflows/build-push-gone.yaml"), header).unwrap();

    // Drop beta from the manifest: its generated files become stale.
    let without_beta = SMALL.split("app beta").next().unwrap().to_string();
    fs::write(r.join("apps.kdl"), &without_beta).unwrap();
    let o = check(r);
    assert_exit(&o, 1, "check before compile");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("stale:") && out.contains("src/gone/Dockerfile"),
        "{out}"
    );
    assert!(
        !out.contains("notes.md") && !out.contains("gamma") && !out.contains("ci.yaml"),
        "{out}"
    );
    assert_ok(&compile(r), "compile without beta");

    for (p, c) in users {
        assert_eq!(fs::read_to_string(r.join(p)).unwrap(), c, "{p} was touched");
    }
    for gone in [
        "src/beta/Dockerfile",
        "src/beta/requirements.txt",
        "src/beta/noop.txt",
        ".github/workflows/build-push-beta.yaml",
        "src/gone",
        ".github/workflows/build-push-gone.yaml",
    ] {
        assert!(!r.join(gone).exists(), "{gone} should have been removed");
    }
    assert!(
        r.join("src/beta").is_dir(),
        "src/beta still holds the user's notes"
    );
    assert_ok(&check(r), "check");
}

/// (e) A read-only generated file is not replaced behind the user's back: clear error, exit 2,
/// nothing written. (Mode bits, so this holds for root too.)
#[test]
fn read_only_file_is_a_clear_error_and_nothing_is_written() {
    use std::os::unix::fs::PermissionsExt;
    let repo = repo_with(&small("first"));
    let r = repo.path();
    assert_ok(&compile(r), "compile");
    let dockerfile = r.join("src/alpha/Dockerfile");
    fs::set_permissions(&dockerfile, fs::Permissions::from_mode(0o444)).unwrap();
    fs::write(r.join("apps.kdl"), small("second")).unwrap();
    let before = snapshot(r);
    let o = compile(r);
    assert_exit(&o, 2, "compile over a read-only file");
    assert!(stderr(&o).contains("is read-only"), "{}", stderr(&o));
    assert_eq!(snapshot(r), before);
    fs::set_permissions(&dockerfile, fs::Permissions::from_mode(0o644)).unwrap();
    assert_ok(&compile(r), "compile once writable");
    assert_ok(&check(r), "check");
}

fn is_root() -> bool {
    // Root ignores permission bits; `id -u` avoids an unsafe libc call.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A tmpfs mounted for one test (root only), unmounted on drop.
struct Tmpfs(PathBuf);
impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                path_str(at),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
    fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro", path_str(&self.0)])
            .status()
            .is_ok_and(|s| s.success())
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// (e) A read-only output directory: chmod for a normal user, a read-only tmpfs for root
/// (skipped when neither can be arranged).
#[test]
fn read_only_output_directory_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let manifest_path = parent.path().join("apps.kdl");
    let out = parent.path().join("out");
    fs::write(&manifest_path, small("first")).unwrap();
    let compile_out = || {
        jcx(&[
            "compile",
            "-q",
            path_str(&manifest_path),
            "--out",
            path_str(&out),
        ])
    };

    let _mount;
    if is_root() {
        let Some(m) = Tmpfs::mount(&out, "4m") else {
            eprintln!("skipped: running as root and cannot mount a tmpfs");
            return;
        };
        _mount = m;
        assert_ok(&compile_out(), "compile");
        assert!(_mount.remount_read_only(), "remount read-only");
    } else {
        assert_ok(&compile_out(), "compile");
        fs::set_permissions(out.join("src/alpha"), fs::Permissions::from_mode(0o555)).unwrap();
    }
    let before = snapshot(&out);
    fs::write(&manifest_path, small("second")).unwrap();
    let o = compile_out();
    assert_exit(&o, 2, "compile into a read-only directory");
    let err = stderr(&o);
    assert!(err.contains("not writable"), "{err}");
    assert!(
        err.contains("src/alpha") || err.contains("output directory"),
        "{err}"
    );
    let after = snapshot(&out);
    assert!(
        after.keys().all(|k| !is_temp(k)),
        "temporary file left behind: {after:?}"
    );
    assert_eq!(
        after.get("src/alpha/Dockerfile"),
        before.get("src/alpha/Dockerfile")
    );
    if !is_root() {
        fs::set_permissions(out.join("src/alpha"), fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// (e) A full disk (a 64 KiB tmpfs, root only): clear error, exit 2, every file on disk
/// complete, no temporary file left.
#[test]
fn full_disk_is_a_clear_error_and_leaves_no_partial_file() {
    if !is_root() {
        eprintln!("skipped: needs root to mount a small tmpfs");
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    let text = manifest(60, "new", 0);
    let manifest_path = parent.path().join("apps.kdl");
    fs::write(&manifest_path, &text).unwrap();
    let out = parent.path().join("out");
    let Some(_mount) = Tmpfs::mount(&out, "64k") else {
        eprintln!("skipped: cannot mount a tmpfs");
        return;
    };
    let o = jcx(&[
        "compile",
        "-q",
        path_str(&manifest_path),
        "--out",
        path_str(&out),
    ]);
    assert_exit(&o, 2, "compile onto a full disk");
    // The diagnostic is wrapped to the terminal's width: compare its words.
    let words = stderr(&o).replace('│', " ");
    let words: Vec<&str> = words.split_whitespace().collect();
    assert!(words.join(" ").contains("disk is full"), "{}", stderr(&o));
    // The same manifest compiled where there is room: what each file must be, if it exists.
    let full = {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("apps.kdl"), &text).unwrap();
        assert_ok(
            &jcx(&[
                "compile",
                "-q",
                path_str(&dir.path().join("apps.kdl")),
                "--out",
                path_str(&dir.path().join("out")),
            ]),
            "reference",
        );
        snapshot(&dir.path().join("out"))
    };
    let on_disk = snapshot(&out);
    assert!(!on_disk.is_empty(), "64 KiB should hold a few files");
    for (path, bytes) in &on_disk {
        assert!(!is_temp(path), "temporary file `{path}` left behind");
        assert_eq!(full.get(path), Some(bytes), "`{path}` is partial");
    }
}

/// (f) The manifest is read once: replaced over and over while compiles run, every compile
/// produces exactly the output of one version.
#[test]
fn manifest_replaced_during_compile_gives_one_consistent_output() {
    let a_text = manifest(100, "a", 0);
    let b_text = manifest(100, "b", 0);
    let (a, b) = (reference(&a_text), reference(&b_text));
    let repo = repo_with(&a_text);
    let dir = repo.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    // The new version is written beside the repository (same file system), then renamed in.
    let aside = tempfile::tempdir().unwrap();
    let swap = aside.path().join("apps.kdl.new");
    let flipper = {
        let (stop, dir) = (stop.clone(), dir.clone());
        std::thread::spawn(move || {
            let mut flips = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // How editors save safely: write aside, rename over.
                let text = if flips.is_multiple_of(2) {
                    &b_text
                } else {
                    &a_text
                };
                fs::write(&swap, text).unwrap();
                fs::rename(&swap, dir.join("apps.kdl")).unwrap();
                flips += 1;
                std::thread::sleep(Duration::from_millis(3));
            }
            flips
        })
    };
    let mut seen = (0, 0);
    for i in 0..6 {
        assert_ok(&compile(&dir), "compile while the manifest changes");
        let now = snapshot(&dir);
        if now == a {
            seen.0 += 1;
        } else if now == b {
            seen.1 += 1;
        } else {
            panic!("compile {i} produced a mix of two manifest versions");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    eprintln!(
        "{flips} manifest replacements; outputs: {} of version a, {} of version b",
        seen.0, seen.1
    );
}

/// (g) A CRLF checkout (Git's `core.autocrlf=true` on Windows) of correct files is in sync:
/// `check` passes and `compile` rewrites nothing. A real change is still drift, and its diff
/// shows only the changed line, not every line end.
#[test]
fn crlf_checkout_is_in_sync_and_real_changes_still_show() {
    let repo = repo_with(SMALL);
    let r = repo.path();
    assert_ok(&compile(r), "compile");
    for (path, bytes) in snapshot(r) {
        let crlf = String::from_utf8(bytes).unwrap().replace('\n', "\r\n");
        fs::write(r.join(path), crlf).unwrap();
    }
    let crlf_files = snapshot(r);
    let before = mtimes(r);
    std::thread::sleep(Duration::from_millis(20));
    assert_ok(&check(r), "check of a CRLF checkout");
    let o = compile(r);
    assert_ok(&o, "compile of a CRLF checkout");
    let o = jcx(&["compile", path_str(&r.join("apps.kdl"))]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 written"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        mtimes(r),
        before,
        "compile rewrote a file only for its line endings"
    );
    assert_eq!(snapshot(r), crlf_files);

    let dockerfile = r.join("src/alpha/Dockerfile");
    let edited = fs::read_to_string(&dockerfile)
        .unwrap()
        .replace("USER root\r\n", "USER root\r\nRUN echo hand-edit\r\n");
    fs::write(&dockerfile, edited).unwrap();
    let o = check(r);
    assert_exit(&o, 1, "check of an edited CRLF file");
    let out = String::from_utf8_lossy(&o.stdout);
    let changed: Vec<&str> = out
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(changed, ["-RUN echo hand-edit"], "{out}");
    assert_ok(&compile(r), "compile repairs");
    assert_ok(&check(r), "check");
}

/// A compile with nothing to change writes no file (mtimes and bytes unchanged), and a
/// killed compile's temporary files do not count as drift.
#[test]
fn no_change_compile_writes_nothing_and_leftover_temps_are_ignored_then_removed() {
    let repo = repo_with(&manifest(30, "x", 0));
    let r = repo.path();
    assert_ok(&compile(r), "compile");
    let before = mtimes(r);
    std::thread::sleep(Duration::from_millis(20));
    let o = jcx(&["compile", path_str(&r.join("apps.kdl"))]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 written, 150 unchanged, 0 removed"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(mtimes(r), before);

    let leftover = r.join("src/app0000/.jcx-AbC123.tmp");
    fs::write(
        &leftover,
        "# Generated by jcx from apps.kdl, app `app0000`.\nFROM sc",
    )
    .unwrap();
    fs::write(r.join(".github/workflows/.jcx-XyZ789.tmp"), "").unwrap();
    assert_ok(&check(r), "check ignores temporary files");
    assert_ok(&compile(r), "compile");
    assert!(!leftover.exists() && !r.join(".github/workflows/.jcx-XyZ789.tmp").exists());
    Command::new(JCX)
        .args(["check", path_str(&r.join("apps.kdl"))])
        .assert()
        .success();
}
