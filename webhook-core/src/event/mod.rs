//! Typed event sets: the [`WebhookEvent`] trait, payload validation and JSON Schema export.
//!
//! Handlers receive a Rust enum with one variant per event type, already checked against its
//! rules. `#[derive(WebhookEvent)]` (crate `webhook-derive`, re-exported by `webhook`) writes
//! the impl; this module holds the runtime it calls.

mod de;
mod error;
mod path;
#[cfg(feature = "derive")]
pub mod rules;
pub mod schema;
mod strict;

use crate::WebhookRequest;

pub use error::{DecodeError, DecodeErrorKind, FieldError, ValidationErrors};
pub use path::FieldPath;

/// A set of webhook events: an enum with one variant per event type.
///
/// Usually derived with `#[derive(WebhookEvent)]`; see the `webhook` crate for the attribute
/// grammar. Event types the set does not list are rejected (`UnknownEventType`, 422) unless the
/// set has a catch-all variant, so a provider adding a type never breaks decoding by surprise.
pub trait WebhookEvent: Sized {
    /// The canonical name of every event type in the set (aliases and the catch-all excluded).
    fn event_types() -> &'static [&'static str];

    /// The event type of this value. For a derived set:
    ///
    /// - a listed event: its canonical name (also when the sender used an alias);
    /// - a catch-all that keeps the event (`Other { event_type, payload }`): the name the
    ///   sender sent, which decoding has held to the rule for body event ids (visible ASCII,
    ///   1 to 256 bytes, no surrounding spaces);
    /// - a unit catch-all (`#[webhook(other)] Unhandled`): the variant's own name, after the
    ///   set's `rename_all` (`"Unhandled"`, or `"unhandled"` with `snake_case`), whatever type
    ///   was sent: a unit variant keeps nothing of the event. The delivery's span and a
    ///   duplicate's answer name the type sent instead (see
    ///   [`peek_event_type`](Self::peek_event_type) and [`is_catch_all`](Self::is_catch_all)).
    fn event_type(&self) -> &str;

    /// Whether this value is the set's catch-all: an event of a type the set does not list
    /// (derived sets answer for either kind of catch-all; the default is `false`).
    ///
    /// The receive pipeline then records the type [`peek_event_type`](Self::peek_event_type)
    /// reads from the request in the delivery's span, rather than
    /// [`event_type`](Self::event_type), which a unit catch-all answers with its own name.
    fn is_catch_all(&self) -> bool {
        false
    }

    /// Decode and validate an event from the request's headers and body.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::MalformedBody`] when the body is not JSON;
    /// [`DecodeErrorKind::UnknownEventType`] for a type the set does not list and no catch-all;
    /// [`DecodeErrorKind::Validation`] for a missing tag, a wrong shape or a failed rule, with
    /// every failing field's path.
    fn decode(request: &WebhookRequest<'_>) -> Result<Self, DecodeError>;

    /// The event's id, for idempotency, read without decoding the whole event (the receive
    /// pipeline claims it before decoding). `None` when the set declares no id or the body
    /// has none.
    ///
    /// # Errors
    ///
    /// When the body is not JSON or the id is neither a string nor an integer. A derived
    /// impl reading the id from the body also refuses (422) a string that a header message id
    /// could not be: not visible ASCII, empty, with surrounding spaces, or over 256 bytes.
    fn event_id(request: &WebhookRequest<'_>) -> Result<Option<String>, DecodeError> {
        let _ = request;
        Ok(None)
    }

    /// The event type read without decoding the event (from the tag field or header): for a
    /// derived set, the canonical name of a listed type (also for an alias), or, for a type
    /// the set's catch-all takes, the name sent when it is one a body's event id could be
    /// (visible ASCII of 1 to 256 bytes without surrounding spaces), so a unit catch-all too
    /// is named by the type sent, not by its own name as [`event_type`](Self::event_type)
    /// is. `None` when the set does not say where the type is, the request has no type the
    /// set knows or catches, or the catch-all's type breaks that rule (no byte of it is
    /// recorded). The pipeline uses it for answers made before decoding, a duplicate's (see
    /// [`ReceiverBuilder::events`](crate::ReceiverBuilder::events)), and for the delivery's
    /// span when the decoded event is a catch-all.
    fn peek_event_type(request: &WebhookRequest<'_>) -> Option<String> {
        let _ = request;
        None
    }

    /// The event's own timestamp, read without decoding the whole event. `None` when the set
    /// declares none or the body has none.
    ///
    /// # Errors
    ///
    /// When the body is not JSON or the value is neither a string nor an integer.
    fn event_timestamp(
        request: &WebhookRequest<'_>,
    ) -> Result<Option<EventTimestamp>, DecodeError> {
        let _ = request;
        Ok(None)
    }

    /// The JSON Schema (draft 2020-12) of the whole set: a `oneOf` over its event types with
    /// each payload's required fields, formats and bounds. A derived `decode` also reads the
    /// property names it declares, to keep the sender's own keys out of its error paths.
    fn json_schema() -> serde_json::Value;
}

/// A payload type with its own field rules, for newtype variants (`Bounced(Bounce)`) and for
/// fields of event variants and payloads (its rules run wherever it appears, with or without
/// `#[webhook(nested)]`). Derived with `#[derive(WebhookPayload)]` next to serde's
/// `Deserialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a webhook payload",
    label = "needs `#[derive(WebhookPayload)]`",
    note = "derive `WebhookPayload` (with serde's `Deserialize`) on the payload type"
)]
pub trait WebhookPayload: Sized {
    /// Check every rule, appending each failure with its path below `path`.
    fn validate_at(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors);

    /// Check every rule.
    ///
    /// # Errors
    ///
    /// Every failing field, at once.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.validate_at(&FieldPath::root(), &mut errors);
        errors.into_result()
    }

    /// Deserialize from JSON and validate, with the same client-safe errors as events.
    ///
    /// # Errors
    ///
    /// `MalformedBody` when not JSON, `Validation` for a wrong shape or a failed rule.
    fn from_json(json: &[u8]) -> Result<Self, DecodeError>
    where
        Self: serde::de::DeserializeOwned,
    {
        de::decode_payload(json)
    }

    /// The JSON Schema of the payload: an object with its fields, formats and bounds.
    ///
    /// [`from_json`](Self::from_json) reads the property names it declares when a body has the
    /// wrong shape, to name only those in the error's path (any other key is written `*`), so
    /// a hand-written implementation must not panic; `serde_json::Value::Bool(true)` declares
    /// nothing.
    fn json_schema() -> serde_json::Value;
}

/// Any JSON: no rules, schema `true`.
impl WebhookPayload for serde_json::Value {
    fn validate_at(&self, _: &FieldPath<'_>, _: &mut ValidationErrors) {}
    fn json_schema() -> serde_json::Value {
        serde_json::Value::Bool(true)
    }
}

/// A boxed payload is its payload: `Bounced(Box<Bounce>)`, and a field of type `Box<Node>` or
/// `Option<Box<Node>>` (a recursive payload).
impl<T: WebhookPayload> WebhookPayload for Box<T> {
    fn validate_at(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        (**self).validate_at(path, errors);
    }
    fn json_schema() -> serde_json::Value {
        T::json_schema()
    }
}

/// An event's own timestamp, as the body carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventTimestamp {
    /// An integer: seconds since the Unix epoch.
    Unix(i64),
    /// Text, e.g. RFC 3339 `2024-05-01T12:00:00Z`.
    Text(String),
}

impl EventTimestamp {
    /// Seconds since the Unix epoch: the integer itself, or the text parsed as an integer or
    /// as RFC 3339. `None` when the text is neither.
    ///
    /// ```
    /// use webhook_core::EventTimestamp;
    /// assert_eq!(EventTimestamp::Text("1970-01-01T00:01:00Z".into()).unix_seconds(), Some(60));
    /// assert_eq!(EventTimestamp::Unix(5).unix_seconds(), Some(5));
    /// assert_eq!(EventTimestamp::Text("yesterday".into()).unix_seconds(), None);
    /// ```
    #[must_use]
    pub fn unix_seconds(&self) -> Option<i64> {
        match self {
            Self::Unix(seconds) => Some(*seconds),
            Self::Text(text) => text.trim().parse::<i64>().ok().or_else(|| {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(time::OffsetDateTime::unix_timestamp)
            }),
        }
    }
}

/// Whether a value may be reported as an event type or id (in a span, in a duplicate's
/// answer): visible ASCII, spaces and tabs only inside, 1 to 256 bytes, as a body's event id
/// must be. A header's value (an unsigned `X-GitHub-Event`, a long signed message id) could
/// otherwise put hundreds of kilobytes into every log line of a replayed delivery.
pub(crate) fn is_reportable(value: &str) -> bool {
    de::is_event_id(value)
}

/// What generated code reaches through `webhook::__private`. Not a public API.
#[doc(hidden)]
pub(crate) mod private {
    pub use serde;
    pub use serde_json;

    pub use super::de::{
        CatchAll, Dispatch, decode, event_id_at, event_timestamp_at, peek_event_type,
    };
    #[cfg(feature = "derive")]
    pub use super::rules;
    pub use super::schema::{
        self as schema, EventSchema, FieldSchema, ObjectSchema, Payload, SchemaOf, Tagging,
        ViaFallback, ViaFieldSchema,
    };
    pub use super::{
        DecodeError, EventTimestamp, FieldPath, ValidationErrors, WebhookEvent, WebhookPayload,
    };
    pub use crate::WebhookRequest;

    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use std::string::String;
}
