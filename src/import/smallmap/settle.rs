//! The end of the walk for the small settings: the pieces [`super::Small`] markers stand for
//! are joined into settings (a conda list over several commands, the zone link with
//! `/etc/timezone`, the lines of `/etc/locale.gen` with `locale-gen`, and the `ENV` lines these
//! settings write themselves), or put back as the blocks they came from.

use super::{CondaWord, Small};
use crate::import::draft::{Entry, Item, Kind};
use crate::import::map::{Status, Step, Walker};
use crate::import::shell;
use crate::nodes::conda_config::{ValueKind, value_kind};

type Pos = (usize, usize);

/// Where the items the predicate picks are, in walk order.
fn positions(w: &Walker<'_>, f: impl Fn(&Small) -> bool) -> Vec<Pos> {
    let mut out = Vec::new();
    for (k, step) in w.steps.iter().enumerate() {
        if let Step::Items(items) = step {
            for (j, it) in items.iter().enumerate() {
                if matches!(&it.entry, Entry::Small(s) if f(s)) {
                    out.push((k, j));
                }
            }
        }
    }
    out
}

fn at<'w>(w: &'w mut Walker<'_>, (k, j): Pos) -> &'w mut Item {
    match &mut w.steps[k] {
        Step::Items(items) => &mut items[j],
        _ => unreachable!("positions point at items"),
    }
}

fn small(w: &mut Walker<'_>, p: Pos) -> Small {
    match &at(w, p).entry {
        Entry::Small(s) => s.clone(),
        _ => unreachable!("positions point at small items"),
    }
}

/// Makes the item at `keep` stand for the items at `rest` too (origins, fallback lines), and
/// removes those.
fn absorb(w: &mut Walker<'_>, keep: Pos, rest: &[Pos]) {
    let others: Vec<Item> = rest.iter().map(|p| at(w, *p).clone()).collect();
    let it = at(w, keep);
    for o in &others {
        if let (Some(a), Some(b)) = (&mut it.origin, &o.origin)
            && a.file == b.file
        {
            a.first = a.first.min(b.first);
            a.last = a.last.max(b.last);
        }
        if let (
            Some(Entry::Dockerfile { lines, .. }),
            Some(Entry::Dockerfile { lines: more, .. }),
        ) = (it.fallback.first_mut(), o.fallback.first())
        {
            for l in more {
                if !lines.contains(l) {
                    lines.push(l.clone());
                }
            }
        }
    }
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    for (k, j) in rest.into_iter().rev() {
        if let Step::Items(items) = &mut w.steps[k] {
            items.remove(j);
        }
    }
}

/// A marker that joins nothing goes back to its command, as a block.
fn put_back(w: &mut Walker<'_>, p: Pos, why: &str) {
    let it = at(w, p);
    let Some(origin) = it.origin.clone() else {
        return;
    };
    if let Some(block) = it.fallback.first().cloned() {
        it.entry = block;
        it.fallback.clear();
        it.note = Some(format!("From {origin} (see the warnings of `jcx import`):"));
    }
    w.mark(origin.first, origin.last, Status::Escaped);
    w.warn(Kind::Escaped, origin, why);
}

/// Joins what the walk found in pieces: the values of a conda list key over several commands
/// (each `--add`/`--prepend` puts its value first), the last `--set` of a key, the zone link
/// with `/etc/timezone`, the lines of `/etc/locale.gen` with `locale-gen`, and the `ENV` lines
/// these settings write themselves. Runs before the walk's variables are decided.
pub fn settle(w: &mut Walker<'_>) {
    conda(w);
    timezone(w);
    locale(w);
}

fn conda(w: &mut Walker<'_>) {
    let mut keys: Vec<String> = Vec::new();
    for p in positions(w, |s| matches!(s, Small::CondaConfig { .. })) {
        if let Small::CondaConfig { key, .. } = small(w, p)
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    for key in keys {
        let ps = positions(
            w,
            |s| matches!(s, Small::CondaConfig { key: k, .. } if *k == key),
        );
        if ps.len() < 2 {
            continue;
        }
        let list = value_kind(&key) == Some(ValueKind::List);
        if list {
            let mut values: Vec<CondaWord> = Vec::new();
            for p in &ps {
                if let Small::CondaConfig { values: v, .. } = small(w, *p) {
                    for x in v.into_iter().rev() {
                        values.retain(|y| *y != x);
                        values.insert(0, x);
                    }
                }
            }
            at(w, ps[0]).entry = Entry::Small(Small::CondaConfig { key, values });
            absorb(w, ps[0], &ps[1..]);
        } else {
            // The last `--set` wins, as in the image.
            let last = small(w, ps[ps.len() - 1]);
            at(w, ps[0]).entry = Entry::Small(last);
            absorb(w, ps[0], &ps[1..]);
        }
    }
}

/// Whether a block piece reads `$name` (its `ENV` must then stay where the original has it).
fn read_by_block(w: &Walker<'_>, name: &str) -> bool {
    w.steps.iter().any(|s| {
        matches!(s, Step::Piece(p) if shell::references(&p.lines.join("\n")).iter().any(|r| r == name))
    })
}

/// Drops the `ENV NAME=value` lines that a setting writes itself (unless a block reads them).
fn drop_env(w: &mut Walker<'_>, names: &[&str], value: &str) {
    if names.iter().any(|n| read_by_block(w, n)) {
        return;
    }
    w.steps.retain(|s| {
        !matches!(s, Step::Var { env: true, name, value: Some(v), .. }
            if names.contains(&name.as_str()) && v == value)
    });
}

fn timezone(w: &mut Walker<'_>) {
    let links = positions(w, |s| matches!(s, Small::Timezone(_)));
    let files = positions(w, |s| matches!(s, Small::TimezoneFile(_)));
    let reconf = positions(w, |s| matches!(s, Small::TzReconfigure));
    let zone_of = |w: &mut Walker<'_>, p: Pos| match small(w, p) {
        Small::Timezone(z) | Small::TimezoneFile(z) => z,
        _ => String::new(),
    };
    let keep = match (links.last(), files.first()) {
        (Some(&l), _) => Some(l),
        (None, Some(&f)) if !reconf.is_empty() => {
            let z = zone_of(w, f);
            at(w, f).entry = Entry::Small(Small::Timezone(z));
            Some(f)
        }
        _ => None,
    };
    let mut leftovers: Vec<Pos> = Vec::new();
    if let Some(keep) = keep {
        let zone = zone_of(w, keep);
        let mut joined = Vec::new();
        for p in links.iter().chain(&files).chain(&reconf) {
            if *p == keep {
                continue;
            }
            let same = matches!(small(w, *p), Small::TzReconfigure) || zone_of(w, *p) == zone;
            if same {
                joined.push(*p);
            } else {
                leftovers.push(*p);
            }
        }
        // Put back first: `absorb` removes items and moves the positions after them.
        leftovers.sort_unstable();
        for p in &leftovers {
            put_back(
                w,
                *p,
                "another zone than the one `timezone` sets: kept as it is",
            );
        }
        absorb(w, keep, &joined);
        drop_env(w, &["TZ"], &zone);
    } else {
        for p in files.iter().chain(&reconf) {
            put_back(
                w,
                *p,
                "/etc/timezone without the /etc/localtime link is not all of `timezone`: kept as it is",
            );
        }
    }
}

fn locale(w: &mut Walker<'_>) {
    let ps = positions(w, |s| {
        matches!(s, Small::LocaleLine(_) | Small::LocaleGen(_))
    });
    let mut names: Vec<String> = Vec::new();
    let mut generated = false;
    for p in &ps {
        match small(w, *p) {
            Small::LocaleLine(l) => names.push(l),
            Small::LocaleGen(args) => {
                generated = true;
                names.extend(args);
            }
            _ => {}
        }
    }
    names.dedup();
    let mut seen = Vec::new();
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(n.clone());
        new
    });
    if !generated || names.is_empty() {
        for p in ps {
            put_back(
                w,
                p,
                "a line of /etc/locale.gen without locale-gen, or locale-gen without a locale, is not all of `locale`: kept as it is",
            );
        }
        return;
    }
    // The default: what ENV sets LANG, LC_ALL and LANGUAGE to, when it sets all three alike.
    let env = |w: &Walker<'_>, n: &str| {
        w.steps.iter().rev().find_map(|s| match s {
            Step::Var {
                env: true,
                name,
                value,
                ..
            } if name == n => value.clone(),
            _ => None,
        })
    };
    let vars = ["LANG", "LC_ALL", "LANGUAGE"];
    let set: Vec<Option<String>> = vars.iter().map(|n| env(w, n)).collect();
    let default = match &set[..] {
        [Some(a), Some(b), Some(c)]
            if a == b && b == c && (names.contains(a) || a == "C.UTF-8") =>
        {
            Some(a.clone())
        }
        _ => None,
    };
    let list = match &default {
        Some(d) if !read_by_block(w, "LANG") => {
            let d = d.clone();
            drop_env(w, &vars, &d);
            std::iter::once(d.clone())
                .chain(names.into_iter().filter(|n| *n != d))
                .collect()
        }
        _ => std::iter::once("C.UTF-8".to_string())
            .chain(names.into_iter().filter(|n| n != "C.UTF-8"))
            .collect(),
    };
    let ps = positions(w, |s| {
        matches!(s, Small::LocaleLine(_) | Small::LocaleGen(_))
    });
    at(w, ps[0]).entry = Entry::Small(Small::Locale(list));
    absorb(w, ps[0], &ps[1..]);
}
