//! What to do about a generated file that differs from what the manifest produces. Running
//! `jcx compile` is right when the manifest changed, and wrong when somebody edited the file by
//! hand: compile overwrites it and the edit is lost. So `check` says where a hand edit belongs:
//! the app that owns the file and, from the lines only the file has, the setting.

use crate::write::Drift;

/// What to do with files that jcx did not write, when jcx's own files should be there: the
/// first compile of a hand-made repository.
pub const ADOPT: &str = "To adopt a hand-made repository: `jcx import` writes an apps.kdl from its files (skip it if apps.kdl already says what you want), then `jcx compile --force` replaces them with what the manifest generates (review the result with `git diff`).";

/// The closing line of `check`'s human report: how many files drifted and what to run. `jcx
/// compile` fixes drift of jcx's own files, but refuses to replace files it did not write, so
/// those get their own advice.
pub fn summary(drift: &[Drift]) -> String {
    let n = drift.len();
    let foreign = drift
        .iter()
        .filter(|d| matches!(d, Drift::NotGenerated { .. }))
        .count();
    if foreign == 0 {
        return format!(
            "{n} generated file{} out of date. Hand edits belong in the manifest (`jcx compile` overwrites generated files); then run `jcx compile` and commit the result",
            if n == 1 { " is" } else { "s are" }
        );
    }
    let of_them = if foreign == n && n == 1 {
        "it was written by hand (no jcx header), and `jcx compile` will not replace it".to_string()
    } else if foreign == n {
        "all of them were written by hand (no jcx header), and `jcx compile` will not replace them"
            .to_string()
    } else {
        format!(
            "{foreign} of them {} written by hand (no jcx header), and `jcx compile` will not replace {}",
            if foreign == 1 { "was" } else { "were" },
            if foreign == 1 { "it" } else { "them" }
        )
    };
    format!(
        "{n} file{} not match the manifest; {of_them}. {ADOPT}",
        if n == 1 { " does" } else { "s do" }
    )
}

/// The app a generated path belongs to: `src/<app>/...` or `build-push-<app>.yaml`.
pub fn app_of(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_prefix("src/") {
        return rest.split_once('/').map(|(app, _)| app);
    }
    path.strip_prefix(".github/workflows/build-push-")
        .and_then(|rest| rest.strip_suffix(".yaml"))
}

/// The lines the file on disk has and the manifest does not produce (`-` lines of the diff,
/// which runs from the file on disk to the generated text).
fn hand_lines(diff: &str) -> impl Iterator<Item = &str> {
    diff.lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .map(|l| l[1..].trim())
        .filter(|l| !l.is_empty())
}

/// The setting a hand-written line of a generated file most likely belongs to.
fn setting_for(path: &str, line: &str) -> &'static str {
    let l = line.to_ascii_lowercase();
    if path.ends_with("requirements.txt") {
        return "pip";
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.starts_with("file-") {
        return "file";
    }
    if name.starts_with("hook-") {
        return "hook";
    }
    if path.ends_with(".yaml") {
        return if l.starts_with("- ") || l.contains("branches") {
            "branches"
        } else if l.contains("runs-on") {
            "runs-on"
        } else if l.contains("platforms") {
            "platforms"
        } else if l.contains("timeout-minutes") {
            "timeout-minutes"
        } else {
            "the app's workflow settings"
        };
    }
    if l.contains("pip install") || l.contains("uv pip") {
        "pip"
    } else if l.contains("apt-get") || l.contains("apt install") {
        "apt"
    } else if l.contains("mamba install") || l.contains("conda install") {
        "mamba"
    } else if l.contains("--install-extension") {
        "code-server"
    } else if l.starts_with("env ") {
        "env"
    } else {
        "dockerfile"
    }
}

/// One line of advice for a changed file: where a hand edit belongs.
pub fn advice(path: &str, diff: &str, manifest: &str) -> Option<String> {
    if path.starts_with("jupyterhub/") {
        return Some(format!(
            "if this file was edited by hand, the change belongs in the `jupyterhub` node or an app's `hub-profile` in {manifest}: `jcx compile` overwrites the file and would discard the edit"
        ));
    }
    let app = app_of(path)?;
    let mut settings: Vec<&str> = Vec::new();
    for line in hand_lines(diff) {
        let s = setting_for(path, line);
        if !settings.contains(&s) {
            settings.push(s);
        }
    }
    let settings: Vec<String> = settings
        .iter()
        .map(|s| {
            if s.starts_with("the ") {
                s.to_string()
            } else {
                format!("`{s}`")
            }
        })
        .collect();
    let where_ = if settings.is_empty() {
        format!("app `{app}` in {manifest}")
    } else {
        format!(
            "app `{app}` in {manifest} (likely {})",
            settings.join(" or ")
        )
    };
    Some(format!(
        "if this file was edited by hand, the change belongs in {where_}: `jcx compile` overwrites the file and would discard the edit"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_app_and_the_setting() {
        let diff = "--- a/src/lab/Dockerfile\n+++ b/src/lab/Dockerfile\n@@ -1,2 +1,1 @@\n FROM x\n-RUN pip install requests\n";
        let a = advice("src/lab/Dockerfile", diff, "apps.kdl").unwrap();
        assert!(a.contains("app `lab` in apps.kdl (likely `pip`)"), "{a}");
        let diff = "-RUN apt-get install -y vim\n-RUN echo hi\n";
        let a = advice("src/lab/Dockerfile", diff, "apps.kdl").unwrap();
        assert!(a.contains("(likely `apt` or `dockerfile`)"), "{a}");
        let a = advice("src/lab/requirements.txt", "-numpy\n", "apps.kdl").unwrap();
        assert!(a.contains("`pip`"), "{a}");
        let a = advice(
            ".github/workflows/build-push-lab.yaml",
            "-      - dev\n",
            "m.kdl",
        );
        assert!(
            a.unwrap()
                .contains("app `lab` in m.kdl (likely `branches`)")
        );
        assert_eq!(app_of(".github/workflows/jcx-check.yaml"), None);
        let a = advice("jupyterhub/profiles.yaml", "-x\n", "apps.kdl").unwrap();
        assert!(
            a.contains("`jupyterhub` node or an app's `hub-profile` in apps.kdl"),
            "{a}"
        );
    }
}
