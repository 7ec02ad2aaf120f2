//! The raw, still spanned form of what a manifest says: the values of a `defaults` or `app`
//! block, stored by setting (see [`super::setting::Setting`]) rather than in one field per
//! setting, so that a new setting is declared once, in its family's module.

use std::any::Any;
use std::fmt::Debug;

use miette::SourceSpan;

use super::setting::Setting;

/// A value and the place in the manifest it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub v: T,
    pub span: SourceSpan,
}

impl<T> Sp<T> {
    pub fn new(v: T, span: SourceSpan) -> Self {
        Sp { v, span }
    }
}

/// A family's own raw form (a node with children or properties). Anything `Clone + Debug`.
pub trait Custom: Any + Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn Custom>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Debug + Clone + Send + Sync> Custom for T {
    fn clone_box(&self) -> Box<dyn Custom> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

// Note: `Box<dyn Custom>` is itself `Custom` (the blanket impl covers it), so `as_any` must be
// called on the boxed value, `(**b).as_any()`, never on the box; `Value` does that for families.

impl Clone for Box<dyn Custom> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}

/// The value of one setting in one block.
#[derive(Debug, Clone)]
pub enum Value {
    /// One string argument.
    Text(Sp<String>),
    /// String arguments (`apt a b c`, `branches main "feat/**"`).
    Words(Vec<Sp<String>>),
    Flag(Sp<bool>),
    Number(Sp<i128>),
    /// `NAME "value"` children (`env { HF_HOME "/data" }`).
    Map(Vec<(Sp<String>, Sp<String>)>),
    /// One node of a family's own shape (`code-server "4.22.1" { extensions ... }`).
    One(Box<dyn Custom>),
    /// Items of a family's own shape, in manifest order (`pip` requirements, `dockerfile` blocks).
    Items(Vec<Box<dyn Custom>>),
}

impl Value {
    /// Adds the items of a repeated node of the same setting (lists only).
    pub fn extend(&mut self, more: Value) {
        match (self, more) {
            (Value::Words(a), Value::Words(b)) => a.extend(b),
            (Value::Map(a), Value::Map(b)) => a.extend(b),
            (Value::Items(a), Value::Items(b)) => a.extend(b),
            (slot, more) => *slot = more,
        }
    }
    pub fn text(&self) -> Option<&Sp<String>> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    pub fn words(&self) -> &[Sp<String>] {
        match self {
            Value::Words(w) => w,
            _ => &[],
        }
    }
    pub fn map(&self) -> &[(Sp<String>, Sp<String>)] {
        match self {
            Value::Map(m) => m,
            _ => &[],
        }
    }
    pub fn one<T: Any>(&self) -> Option<&T> {
        match self {
            Value::One(c) => (**c).as_any().downcast_ref(),
            _ => None,
        }
    }
    pub fn one_mut<T: Any>(&mut self) -> Option<&mut T> {
        match self {
            Value::One(c) => (**c).as_any_mut().downcast_mut(),
            _ => None,
        }
    }
    /// The boxed items of a list of a family's own shape, as boxes (for merging).
    pub fn boxed_items(&mut self) -> Option<&mut Vec<Box<dyn Custom>>> {
        match self {
            Value::Items(i) => Some(i),
            _ => None,
        }
    }
    pub fn items<T: Any>(&self) -> impl Iterator<Item = &T> {
        let items: &[Box<dyn Custom>] = match self {
            Value::Items(i) => i,
            _ => &[],
        };
        items.iter().filter_map(|i| (**i).as_any().downcast_ref())
    }
    pub fn flag(&self) -> Option<&Sp<bool>> {
        match self {
            Value::Flag(f) => Some(f),
            _ => None,
        }
    }
    pub fn number(&self) -> Option<&Sp<i128>> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// The settings of a `defaults` or `app` block (or of one app after inheritance). A setting
/// that is absent was not written.
#[derive(Debug, Default, Clone)]
pub struct RawSettings {
    values: Vec<(&'static str, Value)>,
    /// Settings written in this block whose value parsing already refused: validation does not
    /// report them missing as well.
    pub refused: Vec<&'static str>,
}

impl RawSettings {
    pub fn get(&self, s: &Setting) -> Option<&Value> {
        self.values
            .iter()
            .find(|(n, _)| *n == s.name)
            .map(|(_, v)| v)
    }
    pub fn get_mut(&mut self, s: &Setting) -> Option<&mut Value> {
        self.values
            .iter_mut()
            .find(|(n, _)| *n == s.name)
            .map(|(_, v)| v)
    }
    pub fn set(&mut self, s: &Setting, v: Value) {
        match self.get_mut(s) {
            Some(slot) => *slot = v,
            None => self.values.push((s.name, v)),
        }
    }
    pub fn remove(&mut self, s: &Setting) -> Option<Value> {
        let i = self.values.iter().position(|(n, _)| *n == s.name)?;
        Some(self.values.remove(i).1)
    }
    pub fn has(&self, s: &Setting) -> bool {
        self.get(s).is_some()
    }
    pub fn text(&self, s: &Setting) -> Option<&Sp<String>> {
        self.get(s).and_then(Value::text)
    }
    /// The words of a list setting; empty when it is not written.
    pub fn words(&self, s: &Setting) -> &[Sp<String>] {
        self.get(s).map_or(&[], Value::words)
    }
    /// The words of a list setting that overrides (`branches`): `None` when not written.
    pub fn words_opt(&self, s: &Setting) -> Option<&[Sp<String>]> {
        self.get(s).map(Value::words)
    }
    pub fn map(&self, s: &Setting) -> &[(Sp<String>, Sp<String>)] {
        self.get(s).map_or(&[], Value::map)
    }
    pub fn flag(&self, s: &Setting) -> Option<&Sp<bool>> {
        self.get(s).and_then(Value::flag)
    }
    pub fn number(&self, s: &Setting) -> Option<&Sp<i128>> {
        self.get(s).and_then(Value::number)
    }
    pub fn one<T: Any>(&self, s: &Setting) -> Option<&T> {
        self.get(s).and_then(Value::one)
    }
    pub fn items<T: Any>(&self, s: &Setting) -> impl Iterator<Item = &T> {
        self.get(s).into_iter().flat_map(Value::items)
    }
}
