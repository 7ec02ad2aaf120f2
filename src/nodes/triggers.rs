//! What starts an app's workflow besides branch pushes (`branches`, in `workflow.rs`):
//! `git-tags`, `release`, `schedule`, `pull-requests` and extra `paths`. Each becomes one key of
//! the workflow's `on:`; which image tags each event pushes is `image_tags.rs`'s business.

use miette::SourceSpan;

use super::check::Checker;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use super::workflow::is_branch_pattern;
use crate::error::{Code, Problem};
use crate::model::App;

pub static GIT_TAGS: Setting = Setting {
    name: "git-tags",
    shape: Shape::Words {
        what: "git tag pattern",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("git-tags \"v*\""),
    check: check_git_tags,
    explain: Explain::RowsOr(|_| "(none)".into(), "git tags do not build"),
};

pub static RELEASE: Setting = Setting {
    name: "release",
    shape: Shape::Flag {
        fix: "write `release #true` (published releases build and push) or `release #false`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: super::setting::no_check,
    explain: Explain::RowsOr(|app| app.release.to_string(), ""),
};

pub static SCHEDULE: Setting = Setting {
    name: "schedule",
    shape: Shape::Words {
        what: "cron schedule",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("schedule \"0 3 * * 1\""),
    check: check_schedule,
    explain: Explain::RowsOr(|_| "(none)".into(), "no scheduled rebuilds"),
};

pub static PULL_REQUESTS: Setting = Setting {
    name: "pull-requests",
    shape: Shape::Flag {
        fix: "write `pull-requests #false` (no builds of pull requests) or `pull-requests #true`",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: None,
    check: super::setting::no_check,
    explain: Explain::RowsOr(|app| app.pull_requests.to_string(), ""),
};

pub static PATHS: Setting = Setting {
    name: "paths",
    shape: Shape::Words {
        what: "path pattern",
    },
    inherit: Inherit::Append,
    once: false,
    app_only: false,
    example: Some("paths \"environment.yml\" \"shared/**\""),
    check: check_paths,
    explain: Explain::Rows,
};

fn check_git_tags(cx: &mut Checker<'_>, v: &Value) {
    for t in v.words() {
        if cx.safe(t, "the git tag pattern", false) && !is_branch_pattern(&t.v) {
            cx.push(
                Problem::error(Code::InvalidPattern, t.span, format!("`{}` is not a valid git tag pattern", t.v.escape_debug()))
                    .label("git tag pattern")
                    .help("a git tag name with optional `*`/`**` globs, such as `v*` or `release-*`; no spaces, `..`, `~^:?[\\`, quotes or leading `-`"),
            );
        }
    }
}

/// A repository path or glob: relative, `/`-separated, no `..`, nothing YAML or the shell
/// would read specially. GitHub's `!` negations are refused: jcx's own paths come first, and a
/// negation there would silently drop them.
pub fn is_path_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with(['/', '!', '-'])
        && !s.split('/').any(|c| c == ".." || c == "." || c.is_empty())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/*._-+@".contains(c))
}

fn check_paths(cx: &mut Checker<'_>, v: &Value) {
    for p in v.words() {
        if cx.safe(p, "the path pattern", false) && !is_path_pattern(&p.v) {
            cx.push(
                Problem::error(Code::InvalidPattern, p.span, format!("`{}` is not a path pattern jcx accepts", p.v.escape_debug()))
                    .label("path pattern")
                    .help("a path of the repository, relative to its root, with optional `*`/`**` globs: `environment.yml`, `shared/**`; no `..`, no leading `/` or `!` (negations), letters, digits and `/*._-+@` only"),
            );
        }
    }
}

/// One field of a cron line: its name, range and the names it accepts (`JAN`, `SUN`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of the month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    Field {
        name: "day of the week",
        min: 0,
        max: 6,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

/// GitHub runs a schedule at most once every 5 minutes.
pub const MIN_INTERVAL_MINUTES: u32 = 5;

/// The values one field matches, or what is wrong with it.
fn field_values(text: &str, f: &Field) -> Result<Vec<bool>, String> {
    let mut set = vec![false; f.max as usize + 1];
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = f.names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            return Ok(f.min + i as u32);
        }
        match v.parse::<u32>() {
            Ok(n) if v.bytes().all(|c| c.is_ascii_digit()) && (f.min..=f.max).contains(&n) => Ok(n),
            Ok(_) if v.bytes().all(|c| c.is_ascii_digit()) => Err(format!(
                "{v} is outside the {} range {}-{}",
                f.name, f.min, f.max
            )),
            _ => Err(format!("`{v}` is not a {} value", f.name)),
        }
    };
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => match s.parse::<u32>() {
                Ok(n) if n >= 1 && s.bytes().all(|c| c.is_ascii_digit()) => (r, n),
                _ => return Err(format!("`/{s}` is not a step of 1 or more")),
            },
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (f.min, f.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("the range `{range}` runs backwards"));
            }
            (a, b)
        } else {
            let a = value(range)?;
            // `5/15` means from 5 to the end, every 15.
            (a, if step > 1 { f.max } else { a })
        };
        for v in (lo..=hi).step_by(step as usize) {
            set[v as usize] = true;
        }
    }
    Ok(set)
}

/// Checks a GitHub cron line: five fields, each value in range, and no two runs closer than
/// GitHub's minimum interval. Returns what is wrong.
pub fn check_cron(line: &str) -> Result<(), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a cron schedule has 5 fields (minute, hour, day of the month, month, day of the week), this one has {}",
            fields.len()
        ));
    }
    let mut sets = Vec::new();
    for (text, f) in fields.iter().zip(&FIELDS) {
        sets.push(field_values(text, f).map_err(|e| format!("{} field: {e}", f.name))?);
    }
    let minutes: Vec<u32> = (0..60).filter(|m| sets[0][*m as usize]).collect();
    let closest = minutes.windows(2).map(|w| w[1] - w[0]).min();
    // Across the hour: the last minute of one hour and the first of the next, when two
    // consecutive hours run.
    let consecutive_hours = (0..23).any(|h| sets[1][h] && sets[1][h + 1]);
    let across = match (minutes.first(), minutes.last()) {
        (Some(a), Some(b)) if consecutive_hours => Some(60 - b + a),
        _ => None,
    };
    if let Some(gap) = closest.into_iter().chain(across).min()
        && gap < MIN_INTERVAL_MINUTES
    {
        return Err(format!(
            "it runs every {gap} minute{}: GitHub runs a schedule at most once every {MIN_INTERVAL_MINUTES} minutes",
            if gap == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

fn check_schedule(cx: &mut Checker<'_>, v: &Value) {
    for s in v.words() {
        if !cx.safe(s, "the cron schedule", false) {
            continue;
        }
        if let Err(why) = check_cron(&s.v) {
            cx.push(
                Problem::error(Code::InvalidCron, s.span, format!("`{}` is not a schedule GitHub runs: {why}", s.v.escape_debug()))
                    .label("cron schedule")
                    .help("five fields in UTC, minute hour day-of-month month day-of-week, such as \"0 3 * * 1\" (Mondays at 03:00); `*`, `,`, `-` and `/` as in POSIX cron, `JAN`-`DEC` and `SUN`-`SAT` as names"),
            );
        }
    }
}

/// The trigger settings of an app.
pub fn apply(s: &RawSettings, app: &mut App) {
    let words =
        |def: &Setting| -> Vec<String> { s.words(def).iter().map(|w| w.v.clone()).collect() };
    app.git_tags = words(&GIT_TAGS);
    app.release = s.flag(&RELEASE).is_some_and(|f| f.v);
    app.schedule = words(&SCHEDULE);
    app.pull_requests = s.flag(&PULL_REQUESTS).is_none_or(|f| f.v);
    app.paths = super::check::dedup(words(&PATHS).into_iter());
}

/// Where the app's publishing triggers were written, for diagnostics about them.
pub struct TriggerSpans {
    pub branches: Option<SourceSpan>,
    pub git_tags: Option<SourceSpan>,
    pub release: Option<SourceSpan>,
    pub schedule: Option<SourceSpan>,
}

pub fn spans(s: &RawSettings) -> TriggerSpans {
    let first = |def: &Setting| s.words(def).first().map(|w| w.span);
    TriggerSpans {
        branches: s.get(&super::workflow::BRANCHES).and_then(|v| {
            v.words()
                .first()
                .map(|w| w.span)
                .or(v.flag().map(|f| f.span))
        }),
        git_tags: first(&GIT_TAGS),
        release: s.flag(&RELEASE).map(|f: &Sp<bool>| f.span),
        schedule: first(&SCHEDULE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_lines() {
        assert!(check_cron("0 3 * * 1").is_ok());
        assert!(check_cron("*/5 * * * *").is_ok());
        assert!(check_cron("30 2 1-7 JAN,jul MON-FRI").is_ok());
        assert!(check_cron("0,55 1,2 * * *").is_ok());
        assert!(
            check_cron("* * * * *")
                .unwrap_err()
                .contains("every 1 minute")
        );
        assert!(check_cron("*/4 * * * *").is_err());
        // 58 of one hour and 1 of the next are 3 minutes apart.
        assert!(
            check_cron("1,58 * * * *")
                .unwrap_err()
                .contains("every 3 minutes")
        );
        assert!(check_cron("1,58 3 * * *").is_ok());
        assert!(check_cron("60 * * * *").unwrap_err().contains("outside"));
        assert!(check_cron("0 3 * *").unwrap_err().contains("5 fields"));
        assert!(check_cron("0 3 * * 7").is_err());
        assert!(check_cron("0 3 0 * *").is_err());
        assert!(check_cron("0 5-3 * * *").unwrap_err().contains("backwards"));
        assert!(check_cron("0 3 * * MON/0").is_err());
        assert!(check_cron("0 @daily * * *").is_err());
    }

    #[test]
    fn path_patterns() {
        assert!(is_path_pattern("environment.yml") && is_path_pattern("shared/**"));
        assert!(!is_path_pattern("/abs") && !is_path_pattern("a/../b") && !is_path_pattern("!x"));
        assert!(!is_path_pattern("a b") && !is_path_pattern("a'b") && !is_path_pattern("a//b"));
    }
}
