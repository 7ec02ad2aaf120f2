//! The Jupyter Docker Stacks' own variables, `NB_USER`, `NB_UID`, `NB_GID`, `HOME` and
//! `CONDA_DIR`, which jcx guards (`jcx::reserved_env`): no `dockerfile` block may set one, and
//! `env` may set only the notebook user's name and ids. They are decided before the other
//! variables, one `ENV` at a time, so that a refused one is a comment on its own instead of
//! taking a whole block with it:
//!
//! - `NB_USER`, `NB_UID`, `NB_GID` with a value `env` accepts become `env`;
//! - `HOME="/home/${NB_USER}"` and `CONDA_DIR=/opt/conda` are the stacks' own values: nothing
//!   (with another `NB_USER`, the stacks' start script moves the home directory at start-up);
//! - any other value is a comment.
//!
//! What cannot stand without them follows: a block that uses the variable after the `ENV` and
//! would now see another value (before jcx's `ENV` lines, for one that became `env`; anywhere,
//! for one that did not) becomes a comment too. An `ARG` of one of these names changes nothing
//! under the stacks' `ENV` of the same name (the `ENV` wins) and is dropped.

use super::draft::{Entry, Item, Kind, Origin, Status};
use super::map::{Step, Walker};
use super::shell;

const RESERVED: [&str; 5] = ["NB_USER", "NB_UID", "NB_GID", "HOME", "CONDA_DIR"];

/// What becomes of one reserved `ENV`.
enum Fate {
    /// An `env` value jcx accepts: blocks placed before jcx's `ENV` lines see the old value.
    Env(String),
    /// The stacks' own value: nothing to do.
    Same,
    /// Nothing jcx can write: every later block sees another value.
    Lost(String),
}

fn id_ok(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 10
        && v.bytes().all(|c| c.is_ascii_digit())
        && !v.starts_with('0')
        && v.parse::<u64>().is_ok_and(|n| n < 1 << 31)
}

fn user_ok(v: &str) -> bool {
    v != "root"
        && v.len() <= 32
        && v.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && v.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-".contains(&c))
}

fn fate(name: &str, raw: &str, value: &str, user_changed: bool) -> Fate {
    let home = |v: &str| {
        matches!(
            v.trim_end_matches('/'),
            "/home/${NB_USER}" | "/home/$NB_USER"
        )
    };
    match name {
        "NB_UID" | "NB_GID" if id_ok(value) => Fate::Env(value.to_string()),
        "NB_UID" | "NB_GID" => {
            Fate::Lost(format!("`{name}` must be a positive number (0 is root)"))
        }
        "NB_USER" if user_ok(value) => Fate::Env(value.to_string()),
        "NB_USER" => Fate::Lost("`NB_USER` must be a user name other than `root`".into()),
        "HOME" if home(raw) || (value == "/home/jovyan" && !user_changed) => Fate::Same,
        "CONDA_DIR" if value.trim_end_matches('/') == "/opt/conda" => Fate::Same,
        _ => Fate::Lost(format!(
            "`{name}` belongs to the base image: jcx's steps and the stacks' start-up scripts use its value"
        )),
    }
}

fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Lines moved to comments after the walk marked them.
fn mark_dropped(w: &mut Walker<'_>, o: &Origin) {
    for l in o.first..=o.last {
        if let Some(s) = w.status.get_mut(l.wrapping_sub(1)) {
            *s = Status::Dropped;
        }
    }
}

/// Decides the reserved variables of `steps`, and demotes the blocks that depend on them.
pub fn settle(w: &mut Walker<'_>, steps: &mut [Step]) {
    // (step index, name, whether blocks at every position see another value).
    let mut changed: Vec<(usize, String, bool)> = Vec::new();
    let mut user_changed = false;
    for k in 0..steps.len() {
        let Step::Var {
            env,
            name,
            value,
            expanded,
            origin,
            ..
        } = &steps[k]
        else {
            continue;
        };
        if !RESERVED.contains(&name.as_str()) {
            continue;
        }
        let (name, origin) = (name.clone(), origin.clone());
        if !env {
            if later_use(steps, k, &name) {
                w.warn(Kind::Changed, origin, format!("`ARG {name}` is dropped: the stacks set `ENV {name}`, which wins over a build argument of the same name"));
            }
            steps[k] = Step::Items(Vec::new());
            continue;
        }
        let raw = value.clone().unwrap_or_default();
        let value = expanded.clone().unwrap_or_else(|| raw.clone());
        match fate(&name, &raw, &value, user_changed) {
            Fate::Env(v) => {
                if name == "NB_USER" && v != "jovyan" {
                    user_changed = true;
                }
                changed.push((k, name.clone(), false));
                steps[k] = Step::Items(vec![Item::new(Entry::Env(name, v), Some(origin))]);
            }
            Fate::Same => {
                if user_changed && name == "HOME" {
                    w.warn(Kind::Changed, origin, "`HOME` stays the base image's, `/home/jovyan`, while the image is built: the stacks' start script moves the home directory to `/home/${NB_USER}` when the container starts (as root) with another `NB_USER`");
                }
                steps[k] = Step::Items(Vec::new());
            }
            Fate::Lost(why) => {
                w.warn(
                    Kind::Dropped,
                    origin.clone(),
                    format!("jcx refuses `ENV {name}={raw}` (jcx::reserved_env): {why}; kept as a comment"),
                );
                mark_dropped(w, &origin);
                changed.push((k, name.clone(), true));
                steps[k] = Step::Drop(origin, vec![format!("ENV {name}={}", quoted(&raw))]);
            }
        }
    }
    for (k, step) in steps.iter_mut().enumerate() {
        let Step::Piece(p) = step else {
            continue;
        };
        let refs = shell::references(&p.lines.join("\n"));
        let Some((_, name, all)) = changed
            .iter()
            .find(|(at, n, all)| *at < k && refs.contains(n) && (*all || p.at < 3))
        else {
            continue;
        };
        let why = if *all {
            format!("these lines use `{name}`, which jcx cannot set as the original did")
        } else {
            format!(
                "these lines use `{name}`, which jcx sets with `env`, after its own steps: here they would see the base image's value"
            )
        };
        let (origin, lines) = (p.origin.clone(), p.lines.clone());
        w.warn(
            Kind::Dropped,
            origin.clone(),
            format!("{why}; kept as a comment"),
        );
        mark_dropped(w, &origin);
        *step = Step::Drop(origin, lines);
    }
}

fn later_use(steps: &[Step], k: usize, name: &str) -> bool {
    steps[k + 1..].iter().any(|s| match s {
        Step::Piece(p) => shell::references(&p.lines.join("\n"))
            .iter()
            .any(|r| r == name),
        _ => false,
    })
}
