//! Build stages: the `ARG`s before the first `FROM` and the final stage's base image (which
//! becomes `base`), the stages it is built `FROM` (walked first, as if one), and every other
//! stage (a comment: jcx builds one stage).

use super::dockerfile::Instr;
use super::draft::{Kind, Origin};
use super::map::{AppResult, Status, Walker};
use super::shell;

struct Stage {
    from: usize,
    alias: Option<String>,
    image: String,
    members: Vec<usize>,
}

/// The instructions to walk (indexes into `instrs`), with `result.base` set; `None` (and
/// `result.error`) when there is no base image to be found.
pub fn final_stage(
    w: &mut Walker<'_>,
    instrs: &[Instr],
    result: &mut AppResult,
) -> Option<Vec<usize>> {
    let mut stages: Vec<Stage> = Vec::new();
    for (n, i) in instrs.iter().enumerate() {
        if i.keyword == "FROM" {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let alias = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
                _ => None,
            };
            stages.push(Stage {
                from: n,
                alias,
                image: words.first().copied().unwrap_or_default().to_string(),
                members: Vec::new(),
            });
        } else if let Some(s) = stages.last_mut() {
            s.members.push(n);
        } else if i.keyword == "ARG" {
            pre_arg(w, i);
        } else {
            w.drop_instr(i, "an instruction before the first `FROM`");
        }
    }
    let Some(last) = stages.len().checked_sub(1) else {
        result.error = Some(format!("{} has no `FROM` instruction", w.src.path));
        return None;
    };
    // The chain of stages the final one is built FROM.
    let mut chain = vec![last];
    loop {
        let image = stages[*chain.last().expect("one")]
            .image
            .to_ascii_lowercase();
        match stages
            .iter()
            .position(|s| s.alias.as_deref() == Some(image.as_str()))
        {
            Some(p) if !chain.contains(&p) => chain.push(p),
            _ => break,
        }
    }
    chain.reverse();
    let needed = needed(&stages, &chain, instrs, w);
    for &c in &chain {
        register(w, &stages[c], c, None);
    }
    for (n, s) in stages.iter().enumerate() {
        if chain.contains(&n) {
            continue;
        }
        let first = instrs[s.from].first;
        let last_line = s
            .members
            .last()
            .map_or(instrs[s.from].last, |m| instrs[*m].last);
        let origin = w.origin(first, last_line);
        let name = s.alias.clone().unwrap_or_else(|| n.to_string());
        let converted = needed.contains(&n).then(|| {
            let image = shell::unquote(&s.image, &w.pre_args).unwrap_or_else(|| s.image.clone());
            let members: Vec<&Instr> = s.members.iter().map(|m| &instrs[*m]).collect();
            super::buildstages::convert(w, &name, &image, &instrs[s.from], &members)
        });
        let why = match converted {
            Some(Ok(stage)) => {
                w.mark(first, last_line, Status::Mapped);
                register(w, s, n, Some(stage.name.clone()));
                w.stages.push(stage);
                continue;
            }
            Some(Err(why)) => format!("jcx's `stage` cannot hold it: {why}"),
            None => "the final stage copies nothing from it (jcx builds one image per Dockerfile: another target would be an app of its own)".to_string(),
        };
        w.warn(
            Kind::Dropped,
            origin.clone(),
            format!("build stage `{name}` is kept as a comment: {why}"),
        );
        w.mark(first, last_line, Status::Dropped);
        let lines = w.df.lines[first - 1..last_line.min(w.df.lines.len())].to_vec();
        w.steps.push(super::map::Step::Drop(origin, lines));
        register(w, s, n, None);
    }
    let root = &stages[chain[0]];
    let from = &instrs[root.from];
    result.base = base(w, from, &root.image, result);
    result.base.as_ref()?;
    let mut walk = Vec::new();
    for &c in &chain {
        let f = &instrs[stages[c].from];
        w.mark(f.first, f.last, Status::Mapped);
        walk.extend(stages[c].members.iter().copied());
    }
    Some(walk)
}

/// Records what became of a stage, by its name and its index (`COPY --from=0`).
fn register(w: &mut Walker<'_>, s: &Stage, n: usize, written: Option<String>) {
    if let Some(a) = &s.alias {
        w.stage_names.insert(a.clone(), written.clone());
    }
    w.stage_names.insert(n.to_string(), written);
}

/// The stages (indexes) the final chain copies from, and the stages those are built on.
fn needed(stages: &[Stage], chain: &[usize], instrs: &[Instr], w: &Walker<'_>) -> Vec<usize> {
    let find = |name: &str| {
        let name = name.to_ascii_lowercase();
        stages
            .iter()
            .position(|s| s.alias.as_deref() == Some(name.as_str()))
            .or_else(|| name.parse::<usize>().ok().filter(|n| *n < stages.len()))
    };
    let mut out: Vec<usize> = Vec::new();
    for &c in chain {
        for &m in &stages[c].members {
            if let Some(n) = instrs[m].flag("from").and_then(find)
                && !chain.contains(&n)
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
    }
    let mut k = 0;
    while k < out.len() {
        let image = shell::unquote(&stages[out[k]].image, &w.pre_args).unwrap_or_default();
        if let Some(p) = find(&image)
            && !out.contains(&p)
        {
            out.push(p);
        }
        k += 1;
    }
    out
}

fn pre_arg(w: &mut Walker<'_>, i: &Instr) {
    for word in i.args.split_whitespace() {
        let (name, default) = match word.split_once('=') {
            Some((n, d)) => (
                n,
                Some(shell::unquote(d, &w.pre_args).unwrap_or_else(|| d.to_string())),
            ),
            None => (word, None),
        };
        let value = w.src.build_args.get(name).cloned().or(default);
        if let Some(v) = value {
            w.pre_args.insert(name.to_string(), v);
        }
    }
    w.mark(i.first, i.last, Status::Mapped);
}

/// The base image reference, `ARG`s expanded; a tag added when there is none.
fn base(
    w: &mut Walker<'_>,
    from: &Instr,
    image: &str,
    result: &mut AppResult,
) -> Option<(String, Origin)> {
    let origin = w.origin(from.first, from.last);
    if !from.flags.is_empty() {
        w.warn(
            Kind::Changed,
            origin.clone(),
            format!(
                "`{}` is dropped: jcx's `FROM` takes the platform from `platforms`",
                from.flags.join(" ")
            ),
        );
    }
    let Some(mut r) =
        shell::unquote(image, &w.pre_args).filter(|r| !r.is_empty() && !r.contains('$'))
    else {
        result.error = Some(format!(
            "{origin}: the base image `{image}` uses a build argument with no default; give it a default (`ARG NAME=image:tag` before `FROM`) or pass it in the workflow's `build-args`"
        ));
        return None;
    };
    let last = r.rsplit('/').next().unwrap_or(&r);
    let (name_part, digest) = match last.split_once('@') {
        Some((n, d)) => (n.to_string(), Some(d.to_string())),
        None => (last.to_string(), None),
    };
    if !name_part.contains(':') {
        let prefix = &r[..r.len() - last.len()];
        r = match &digest {
            Some(d) => format!("{prefix}{name_part}:latest@{d}"),
            None => format!("{prefix}{name_part}:latest"),
        };
        w.warn(Kind::Changed, origin.clone(), format!("the base image `{image}` has no tag; jcx needs one and uses `{r}`: pin the tag the image should follow"));
    }
    Some((r, origin))
}
