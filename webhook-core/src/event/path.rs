//! [`FieldPath`]: where in the body a value sits, built on the stack and rendered only on error.

use std::fmt::{self, Write as _};

/// The location of a field in the body, e.g. `data.items[2].url`.
///
/// A chain of borrowed segments: building one costs nothing until an error renders it.
///
/// ```
/// use webhook_core::FieldPath;
///
/// let root = FieldPath::root();
/// let data = root.field("data");
/// let items = data.field("items");
/// let second = items.index(2);
/// assert_eq!(second.field("url").to_string(), "data.items[2].url");
/// assert_eq!(root.to_string(), "");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    segment: Segment<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Root,
    Field(&'a str),
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// The body itself.
    #[must_use]
    pub const fn root() -> Self {
        Self {
            parent: None,
            segment: Segment::Root,
        }
    }

    /// A named field below this path.
    #[must_use]
    pub fn field<'b>(&'b self, name: &'b str) -> FieldPath<'b> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Field(name),
        }
    }

    /// An array item below this path.
    #[must_use]
    pub fn index(&self, index: usize) -> FieldPath<'_> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    fn write_to(&self, out: &mut String) {
        if let Some(parent) = self.parent {
            parent.write_to(out);
        }
        match self.segment {
            Segment::Root => {}
            Segment::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

impl Default for FieldPath<'_> {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_to(&mut out);
        f.write_str(&out)
    }
}
