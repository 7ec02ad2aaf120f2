//! Can two apps push the same tag of one image? Each tag template is turned into a small
//! automaton over the characters of tags (a `{sha}` is 40 hex digits, a `{branch}` any run of
//! tag characters after sanitising, a version part digits, and so on, the way
//! docker/metadata-action renders them), and two templates collide when the intersection of
//! their automata accepts a string. That string is the example the diagnostic shows.

use std::collections::{HashMap, VecDeque};

use crate::model::{TagPart, TagTemplate};

/// A set of ASCII characters.
type Class = u128;

fn class(f: impl Fn(u8) -> bool) -> Class {
    (0u8..128)
        .filter(|c| f(*c))
        .fold(0, |s, c| s | (1u128 << c))
}

fn one(c: u8) -> Class {
    1u128 << c
}

/// A nondeterministic automaton: `edges[s]` are (class, target); `eps[s]` empty moves.
#[derive(Default)]
pub struct Nfa {
    edges: Vec<Vec<(Class, usize)>>,
    eps: Vec<Vec<usize>>,
    accept: usize,
}

impl Nfa {
    fn state(&mut self) -> usize {
        self.edges.push(Vec::new());
        self.eps.push(Vec::new());
        self.edges.len() - 1
    }
    /// One character of `c` from `at`; returns the new state.
    fn step(&mut self, at: usize, c: Class) -> usize {
        let s = self.state();
        self.edges[at].push((c, s));
        s
    }
    fn repeat(&mut self, mut at: usize, c: Class, n: usize) -> usize {
        for _ in 0..n {
            at = self.step(at, c);
        }
        at
    }
    /// One or more characters of `c`.
    fn plus(&mut self, at: usize, c: Class) -> usize {
        let s = self.step(at, c);
        self.edges[s].push((c, s));
        s
    }
    /// One character of `start`, then any number of `rest`.
    fn word(&mut self, at: usize, start: Class, rest: Class) -> usize {
        let s = self.step(at, start);
        let e = self.state();
        self.eps[s].push(e);
        self.edges[s].push((rest, e));
        self.edges[e].push((rest, e));
        e
    }
    fn text(&mut self, mut at: usize, t: &str) -> usize {
        for b in t.bytes() {
            at = self.step(at, one(b));
        }
        at
    }
}

struct Classes {
    hex: Class,
    digit: Class,
    word: Class,
    word_start: Class,
    alnum: Class,
    prerelease: Class,
}

fn classes() -> Classes {
    Classes {
        hex: class(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
        digit: class(|c| c.is_ascii_digit()),
        word: class(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c)),
        word_start: class(|c| c.is_ascii_alphanumeric() || c == b'_'),
        alnum: class(|c| c.is_ascii_alphanumeric()),
        prerelease: class(|c| c.is_ascii_alphanumeric() || b".-".contains(&c)),
    }
}

/// The tags a template can give, with `base` as the app's base tag.
pub fn template_nfa(t: &TagTemplate, base: &str) -> Nfa {
    let k = classes();
    let mut n = Nfa::default();
    let mut at = n.state();
    let first_semver = t.parts.iter().position(TagPart::is_semver);
    let last_semver = t.parts.iter().rposition(TagPart::is_semver);
    let mut i = 0;
    while i < t.parts.len() {
        if Some(i) == first_semver {
            // docker/metadata-action renders the pattern for a release, and the bare version
            // for a pre-release, whatever the pattern says.
            let end = last_semver.unwrap_or(i);
            let (fork, join) = (at, n.state());
            let mut a = fork;
            for p in &t.parts[i..=end] {
                a = match p {
                    TagPart::Text(s) => n.text(a, s),
                    TagPart::Version => {
                        let x = n.plus(a, k.digit);
                        let x = n.step(x, one(b'.'));
                        let x = n.plus(x, k.digit);
                        let x = n.step(x, one(b'.'));
                        n.plus(x, k.digit)
                    }
                    _ => n.plus(a, k.digit),
                };
            }
            n.eps[a].push(join);
            let x = n.plus(fork, k.digit);
            let x = n.step(x, one(b'.'));
            let x = n.plus(x, k.digit);
            let x = n.step(x, one(b'.'));
            let x = n.plus(x, k.digit);
            let x = n.step(x, one(b'-'));
            let x = n.word(x, k.alnum, k.prerelease);
            n.eps[x].push(join);
            at = join;
            i = end + 1;
            continue;
        }
        at = match &t.parts[i] {
            TagPart::Text(s) => n.text(at, s),
            TagPart::Base => n.text(at, base),
            TagPart::Sha => n.repeat(at, k.hex, 40),
            TagPart::ShortSha => n.repeat(at, k.hex, super::image_tags::SHORT_SHA_LEN),
            TagPart::Date => n.repeat(at, k.digit, 8),
            TagPart::Branch | TagPart::GitTag => n.word(at, k.word_start, k.word),
            _ => n.plus(at, k.digit),
        };
        i += 1;
    }
    n.accept = at;
    n
}

/// A literal tag (`latest`, a cache tag).
pub fn literal_nfa(tag: &str) -> Nfa {
    let mut n = Nfa::default();
    let s = n.state();
    n.accept = n.text(s, tag);
    n
}

fn closure(n: &Nfa, s: usize) -> Vec<usize> {
    let mut out = vec![s];
    let mut i = 0;
    while i < out.len() {
        for &t in &n.eps[out[i]] {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        i += 1;
    }
    out
}

/// A tag both automata accept, if there is one (the shortest, with the smallest characters).
pub fn common_tag(a: &Nfa, b: &Nfa) -> Option<String> {
    // Each reached pair of states, and the pair and character it was reached from.
    type Pair = (usize, usize);
    let mut parent: HashMap<Pair, Option<(Pair, u8)>> = HashMap::new();
    let mut queue = VecDeque::new();
    for x in closure(a, 0) {
        for y in closure(b, 0) {
            parent.entry((x, y)).or_insert(None);
            queue.push_back((x, y));
        }
    }
    while let Some((x, y)) = queue.pop_front() {
        if x == a.accept && y == b.accept {
            let mut tag = Vec::new();
            let mut at = (x, y);
            while let Some(Some((p, c))) = parent.get(&at) {
                tag.push(*c);
                at = *p;
            }
            tag.reverse();
            return Some(String::from_utf8_lossy(&tag).into_owned());
        }
        for &(ca, ta) in &a.edges[x] {
            for &(cb, tb) in &b.edges[y] {
                let both = ca & cb;
                if both == 0 {
                    continue;
                }
                let c = both.trailing_zeros() as u8;
                for nx in closure(a, ta) {
                    for ny in closure(b, tb) {
                        if let std::collections::hash_map::Entry::Vacant(e) = parent.entry((nx, ny))
                        {
                            e.insert(Some(((x, y), c)));
                            queue.push_back((nx, ny));
                        }
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::image_tags::parse_template;

    fn t(s: &str) -> TagTemplate {
        TagTemplate {
            source: s.into(),
            parts: parse_template(s).unwrap(),
        }
    }

    fn collide(a: &str, base_a: &str, b: &str, base_b: &str) -> Option<String> {
        common_tag(&template_nfa(&t(a), base_a), &template_nfa(&t(b), base_b))
    }

    #[test]
    fn collisions() {
        let sha = collide("{base}-{sha}", "python-3.11", "{base}-{sha}", "python-3.11").unwrap();
        assert_eq!(sha, format!("python-3.11-{}", "0".repeat(40)));
        assert!(collide("{base}-{sha}", "python-3.11", "{base}-{sha}", "python-3.12").is_none());
        assert!(collide("cpu-{sha}", "x", "gpu-{sha}", "x").is_none());
        // A branch can be named like anything.
        assert_eq!(
            collide("{branch}", "x", "cpu-{short-sha}", "x").unwrap(),
            "cpu-0000000"
        );
        assert!(collide("cpu-{branch}", "x", "gpu-{branch}", "x").is_none());
        // A pre-release replaces the pattern by the bare version: `v{major}` gives `1.0.0-rc1`.
        // (the suffix stays: jcx writes it as `suffix=`, which metadata-action keeps)
        assert_eq!(
            collide("{major}-cpu", "x", "{version}", "x").unwrap(),
            "0.0.0-0-cpu"
        );
        assert!(collide("cpu-{major}", "x", "gpu-{version}", "x").is_none());
        assert!(collide("{date}", "x", "{short-sha}", "x").is_none());
        assert!(common_tag(&template_nfa(&t("{branch}"), "x"), &literal_nfa("latest")).is_some());
        assert!(common_tag(&template_nfa(&t("{sha}"), "x"), &literal_nfa("latest")).is_none());
    }
}
