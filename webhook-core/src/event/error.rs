//! [`DecodeError`]: why a body did not become an event, with every failing field.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use crate::error::{VerifyError, VerifyErrorKind};

/// One field that failed: where (`data.recipient`) and why (`not a valid email address`).
///
/// The message names the rule, never the value that broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    path: String,
    message: Cow<'static, str>,
}

impl FieldError {
    /// A failure at `path` (dotted, with `[i]` for array items; empty for the whole body).
    #[must_use]
    pub fn new(path: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where the failure is, e.g. `data.recipient` or `data.items[2].url`; empty for the body.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What rule failed, e.g. `not a valid email address`.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every field failure of one event, in field order: validation reports them all at once,
/// up to [`ValidationErrors::MAX_KEPT`]; past that they are only counted
/// ([`omitted`](Self::omitted)), so that a body of many failing items cannot make the error
/// larger than the body.
///
/// ```
/// use webhook_core::{FieldError, ValidationErrors};
///
/// let mut errors = ValidationErrors::new();
/// errors.push(FieldError::new("data.recipient", "not a valid email address"));
/// errors.push(FieldError::new("data.url", "not a valid url"));
/// assert_eq!(errors.to_string(), "data.recipient: not a valid email address; data.url: not a valid url");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
    omitted: usize,
}

impl ValidationErrors {
    /// The most failures kept; later ones are counted.
    pub const MAX_KEPT: usize = 100;

    /// No failures yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            errors: Vec::new(),
            omitted: 0,
        }
    }

    /// Record one failure (or only count it, once [`MAX_KEPT`](Self::MAX_KEPT) are kept).
    pub fn push(&mut self, error: FieldError) {
        if self.is_full() {
            self.omitted = self.omitted.saturating_add(1);
        } else {
            self.errors.push(error);
        }
    }

    /// Whether [`MAX_KEPT`](Self::MAX_KEPT) failures are kept: the next ones are only counted.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.errors.len() >= Self::MAX_KEPT
    }

    /// How many failures were counted but not kept.
    #[must_use]
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// Whether nothing failed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many failures are kept (see [`omitted`](Self::omitted) for the rest).
    #[must_use]
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The failures kept, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.errors.iter()
    }

    /// `Ok(())` when nothing failed, else `Err(self)`.
    ///
    /// # Errors
    ///
    /// When at least one failure was recorded.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            fmt::Display::fmt(error, f)?;
        }
        if self.omitted > 0 {
            write!(f, "; and {} more", self.omitted)?;
        }
        Ok(())
    }
}

impl StdError for ValidationErrors {}

/// What kind of decode failure; each maps to one [`VerifyErrorKind`] and so one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not JSON at all: syntax error, truncated, bad UTF-8 (400).
    MalformedBody,
    /// The event type is not in the set and the set has no catch-all (422).
    UnknownEventType,
    /// Wrong shape (missing field, wrong type) or a failed rule (422).
    Validation,
}

impl DecodeErrorKind {
    /// The matching [`VerifyErrorKind`].
    #[must_use]
    pub const fn verify_kind(self) -> VerifyErrorKind {
        match self {
            Self::MalformedBody => VerifyErrorKind::MalformedBody,
            Self::UnknownEventType => VerifyErrorKind::UnknownEventType,
            Self::Validation => VerifyErrorKind::Validation,
        }
    }
}

/// Why a body did not decode into an event.
///
/// `Display` is client-safe: field paths and rule descriptions, never a payload value, e.g.
/// `data.recipient: not a valid email address; data.url: not a valid url`. A path names only
/// what the event set's schema declares: a key it does not declare (a map's key, an unknown
/// field) is the sender's data and is written `*`, as in `data.limits.*: invalid type,
/// expected u32`.
/// [`errors`](Self::errors) lists each field failure. Converts into a [`VerifyError`] of kind
/// `MalformedBody` (400), `UnknownEventType` (422) or `Validation` (422).
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    message: Cow<'static, str>,
    errors: ValidationErrors,
}

impl DecodeError {
    /// The body is not JSON (400).
    #[must_use]
    pub fn malformed_body() -> Self {
        Self {
            kind: DecodeErrorKind::MalformedBody,
            message: Cow::Borrowed("body is not valid json"),
            errors: ValidationErrors::new(),
        }
    }

    /// The event type is not handled (422). `field` names where the type was read from, e.g.
    /// `event_type` or ``header `X-GitHub-Event` ``; the type itself is not echoed.
    #[must_use]
    pub fn unknown_event_type(field: &str) -> Self {
        Self {
            kind: DecodeErrorKind::UnknownEventType,
            message: Cow::Owned(format!("{field}: unknown event type")),
            errors: ValidationErrors::new(),
        }
    }

    /// One or more field failures (422).
    #[must_use]
    pub fn validation(errors: ValidationErrors) -> Self {
        Self {
            kind: DecodeErrorKind::Validation,
            message: Cow::Borrowed(""),
            errors,
        }
    }

    /// A single field failure (422).
    #[must_use]
    pub fn field(path: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        let mut errors = ValidationErrors::new();
        errors.push(FieldError::new(path, message));
        Self::validation(errors)
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The field failures (empty unless the kind is `Validation`).
    #[must_use]
    pub fn errors(&self) -> &ValidationErrors {
        &self.errors
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("kind", &self.kind)
            .field("message", &self.to_string())
            .finish()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == DecodeErrorKind::Validation {
            fmt::Display::fmt(&self.errors, f)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl StdError for DecodeError {}

impl From<ValidationErrors> for DecodeError {
    fn from(errors: ValidationErrors) -> Self {
        Self::validation(errors)
    }
}

impl From<DecodeError> for VerifyError {
    fn from(error: DecodeError) -> Self {
        let kind = error.kind.verify_kind();
        let message = error.to_string();
        VerifyError::new(kind)
            .with_message(message)
            .with_source(error)
    }
}
