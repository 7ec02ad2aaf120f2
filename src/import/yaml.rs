//! A YAML document as a tree of strings, sequences and mappings, each node with its line, read
//! with yaml-rust2's event parser (the line numbers are what `jcx import` names in warnings).
//! Aliases are not expanded (they read as null): a workflow has no use for them, and an alias
//! bomb then costs nothing.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

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
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(s, style, _, _) => {
                let v = if s.is_empty() && style == yaml_rust2::scanner::TScalarStyle::Plain {
                    Y::Null
                } else {
                    Y::Str(s)
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
                    None => return,
                };
                self.push(node);
            }
            _ => {}
        }
    }
}

/// Parses the first document of `text`: `Err((message, line))` when it is not YAML.
pub fn parse(text: &str) -> Result<Node, (String, usize)> {
    let mut b = Builder::default();
    Parser::new_from_str(text)
        .load(&mut b, false)
        .map_err(|e| (e.info().to_string(), e.marker().line()))?;
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
}
