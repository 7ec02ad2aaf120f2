//! A workflow's triggers in jcx's terms: `branches`; the paths jcx computes itself (the app's
//! directory and workflow, and the files it copies); everything else a warning.

use super::draft::{Entry, Item, Kind, Origin};
use super::repo::Found;
use super::workflow::Workflow;

pub fn entries(
    app: &Found,
    wf: &Workflow,
    items: &mut Vec<Item>,
    warn: &mut dyn FnMut(Kind, usize, String),
) {
    let t = &wf.triggers;
    if !t.push {
        warn(Kind::Changed, 0, "the workflow does not build on pushes; jcx's builds and pushes on pushes to the app's `branches` (default `main`)".into());
    }
    match &t.branches {
        Some(b) if !b.is_empty() => {
            let values: Vec<String> = b.iter().map(|x| x.v.clone()).collect();
            items.push(Item::new(
                Entry::Branches(values),
                Some(Origin::new(&wf.path, b[0].line, b[b.len() - 1].line)),
            ));
        }
        _ if t.push => items.push(Item::new(
            Entry::Branches(vec!["**".into()]),
            Some(Origin::new(&wf.path, 0, 0)),
        )),
        _ => {}
    }
    if let Some(l) = t.branches_ignore {
        warn(
            Kind::Dropped,
            l,
            "`branches-ignore` has no counterpart: jcx builds the branches `branches` names".into(),
        );
    }
    if let Some(l) = t.tags {
        warn(
            Kind::Dropped,
            l,
            "builds on git tags have no counterpart in jcx's workflow yet".into(),
        );
    }
    if let Some(l) = t.paths_ignore {
        warn(Kind::Dropped, l, "`paths-ignore` has no counterpart: jcx's workflow builds when the app's own files change".into());
    }
    let dir = if app.dir.is_empty() {
        String::new()
    } else {
        format!("{}/", app.dir)
    };
    for p in t.paths.iter().flatten() {
        let v = p.v.trim_start_matches("./");
        let own = v == format!("{dir}**")
            || v == format!("{dir}*")
            || v == app.dockerfile
            || v == wf.path
            || (!dir.is_empty() && v.starts_with(&dir));
        if !own {
            warn(
                Kind::Dropped,
                p.line,
                format!(
                    "the path filter `{}` is not kept: jcx's workflow builds when `src/{}/`, its own workflow or a file the app copies changes",
                    p.v, app.name
                ),
            );
        }
    }
    if t.paths.is_none() && t.push {
        warn(
            Kind::Changed,
            0,
            format!(
                "the workflow builds on every push; jcx's builds only when `src/{}/`, its workflow or a file the app copies changes",
                app.name
            ),
        );
    }
    if t.pull_request.is_none() {
        warn(
            Kind::Changed,
            0,
            "jcx's workflow also builds pull requests that touch the app (without pushing)".into(),
        );
    }
    if !t.dispatch {
        warn(
            Kind::Changed,
            0,
            "jcx's workflow can also be run by hand (`workflow_dispatch`)".into(),
        );
    }
    for e in &t.other {
        warn(
            Kind::Dropped,
            e.line,
            format!("the `{}` trigger has no counterpart in jcx's workflow", e.v),
        );
    }
}
