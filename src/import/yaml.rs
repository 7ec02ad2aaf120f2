//! A YAML document as a tree of strings, sequences and mappings, each node with its line, read
//! with `saphyr-parser`'s event parser (the line numbers are what `jcx import` names in warnings).
//! Aliases are not expanded (they read as null): a workflow has no use for them, and an alias
//! bomb then costs nothing.

use saphyr_parser::{Event, Parser, ScalarStyle};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Y {
    Null,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub v: Y,
    /// 1-based line where the node starts.
    pub line: usize,
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            Y::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match &self.v {
            Y::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A sequence's items; a single scalar reads as a list of one.
    pub fn items(&self) -> Vec<&Node> {
        match &self.v {
            Y::Seq(s) => s.iter().collect(),
            Y::Str(_) => vec![self],
            _ => Vec::new(),
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.v {
            Y::Map(m) => m,
            _ => &[],
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(String, Node)>, Option<String>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, key, _)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let k = match node.v {
                        Y::Str(s) => s,
                        _ => String::new(),
                    };
                    *key = Some(k);
                }
            },
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }

    /// Takes one event starting on `line`; true once the first document has ended.
    fn on_event(&mut self, ev: Event, line: usize) -> bool {
        match ev {
            Event::Scalar(s, style, _, _) => {
                let v = if s.is_empty() && style == ScalarStyle::Plain {
                    Y::Null
                } else {
                    Y::Str(s.into_owned())
                };
                self.push(Node { v, line });
            }
            Event::Alias(_) => self.push(Node { v: Y::Null, line }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), line)),
            Event::MappingStart(..) => self.stack.push(Frame::Map(Vec::new(), None, line)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq(items, line)) => Node {
                        v: Y::Seq(items),
                        line,
                    },
                    Some(Frame::Map(entries, _, line)) => Node {
                        v: Y::Map(entries),
                        line,
                    },
                    None => return false,
                };
                self.push(node);
            }
            Event::DocumentEnd => return true,
            _ => {}
        }
        false
    }
}

/// Parses the first document of `text`: `Err((message, line))` when it is not YAML. What follows
/// the first document is not read.
pub fn parse(text: &str) -> Result<Node, (String, usize)> {
    let mut b = Builder::default();
    for event in Parser::new_from_str(text) {
        let (ev, span) = event.map_err(|e| (e.info().to_string(), e.marker().line()))?;
        if b.on_event(ev, span.start.line()) {
            break;
        }
    }
    Ok(b.root.unwrap_or(Node {
        v: Y::Null,
        line: 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_shapes() {
        let n = parse("on:\n  push:\n    branches:\n    - main\n    - 'feat/**'\nenv:\n  A: b\n")
            .unwrap();
        let branches = n
            .get("on")
            .unwrap()
            .get("push")
            .unwrap()
            .get("branches")
            .unwrap();
        let items: Vec<(&str, usize)> = branches
            .items()
            .iter()
            .map(|i| (i.str().unwrap(), i.line))
            .collect();
        assert_eq!(items, vec![("main", 4), ("feat/**", 5)]);
        assert_eq!(n.get("env").unwrap().get("A").unwrap().str(), Some("b"));
        assert!(parse("a: [").is_err());
        assert_eq!(
            parse("a: &x 1\nb: *x")
                .ok()
                .and_then(|n| n.get("b").cloned())
                .map(|n| n.v),
            Some(Y::Null)
        );
    }

    /// An empty value is on its key's line (`workflow_dispatch:` is named where it is written),
    /// a node with an anchor or a tag starts at it, and text after the first document's root
    /// node is not YAML (GitHub refuses such a workflow too).
    #[test]
    fn empty_values_anchors_and_trailing_text() {
        let n = parse(
            "on:
  push:
  workflow_dispatch:
env: &e
  A: b
",
        )
        .unwrap();
        let on = n.get("on").unwrap();
        assert_eq!(on.get("push").map(|p| (&p.v, p.line)), Some((&Y::Null, 2)));
        assert_eq!(on.get("workflow_dispatch").unwrap().line, 3);
        assert_eq!(n.get("env").unwrap().line, 4);
        assert_eq!(
            parse(
                "a
b: c
"
            )
            .err()
            .map(|e| e.1),
            Some(2)
        );
        assert_eq!(
            parse(
                "a: 1
---
b: [
"
            )
            .map(|n| n.entries().len()),
            Ok(1)
        );
        assert_eq!(parse("").map(|n| (n.v, n.line)), Ok((Y::Null, 1)));
    }
}
