//! JSON Schema (draft 2020-12) of field types, payloads and whole event sets.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::marker::PhantomData;

use serde_json::{Map, Value, json};

use super::de::{CatchAll, MAX_EVENT_ID};

/// `is_event_id` (in `de.rs`) as a JSON Schema pattern: visible ASCII, spaces and tabs only
/// inside.
const EVENT_ID_PATTERN: &str = r"^[!-~]([\t !-~]*[!-~])?$";

/// The `$schema` of every exported schema.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of a field type: what serde accepts for it.
///
/// Implemented for strings, numbers, `bool`, `Option`, lists, string-keyed maps and
/// `serde_json::Value`; a field of a `WebhookPayload` type (or an `Option`, `Vec`, map… of
/// them, see `rules::NestedRule`) takes its payloads' schema instead, with or without
/// `#[webhook(nested)]`. A field of any other type is exported as `true` (anything), which
/// the schema cannot check.
pub trait FieldSchema {
    /// Whether a missing field is accepted (serde reads it as `None`).
    const OPTIONAL: bool = false;
    /// The schema.
    fn field_schema() -> Value;
}

macro_rules! schema_of {
    ($($ty:ty => $schema:expr),* $(,)?) => {$(
        impl FieldSchema for $ty {
            fn field_schema() -> Value {
                $schema
            }
        }
    )*};
}

schema_of! {
    String => json!({ "type": "string" }),
    str => json!({ "type": "string" }),
    Cow<'_, str> => json!({ "type": "string" }),
    char => json!({ "type": "string", "minLength": 1, "maxLength": 1 }),
    bool => json!({ "type": "boolean" }),
    i8 => json!({ "type": "integer", "minimum": i8::MIN, "maximum": i8::MAX }),
    i16 => json!({ "type": "integer", "minimum": i16::MIN, "maximum": i16::MAX }),
    i32 => json!({ "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX }),
    i64 => json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
    isize => json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
    u8 => json!({ "type": "integer", "minimum": 0, "maximum": u8::MAX }),
    u16 => json!({ "type": "integer", "minimum": 0, "maximum": u16::MAX }),
    u32 => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
    u64 => json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX }),
    usize => json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX }),
    // Beyond a JSON number's common range: bounded only by a `range` rule.
    i128 => json!({ "type": "integer" }),
    u128 => json!({ "type": "integer", "minimum": 0 }),
    f32 => json!({ "type": "number" }),
    f64 => json!({ "type": "number" }),
    Value => Value::Bool(true),
    Map<String, Value> => json!({ "type": "object" }),
}

impl<T: FieldSchema + ?Sized> FieldSchema for Box<T> {
    const OPTIONAL: bool = T::OPTIONAL;
    fn field_schema() -> Value {
        T::field_schema()
    }
}
impl<T: FieldSchema> FieldSchema for Option<T> {
    const OPTIONAL: bool = true;
    fn field_schema() -> Value {
        nullable(T::field_schema())
    }
}
macro_rules! schema_list {
    ($($ty:ty => [$($gen:tt)*]),*) => {$(
        impl<$($gen)*> FieldSchema for $ty {
            fn field_schema() -> Value {
                json!({ "type": "array", "items": T::field_schema() })
            }
        }
    )*};
}
schema_list!(Vec<T> => [T: FieldSchema], VecDeque<T> => [T: FieldSchema],
    HashSet<T, S> => [T: FieldSchema, S], BTreeSet<T> => [T: FieldSchema],
    [T] => [T: FieldSchema]);
impl<T: FieldSchema, const N: usize> FieldSchema for [T; N] {
    fn field_schema() -> Value {
        json!({ "type": "array", "items": T::field_schema(), "minItems": N, "maxItems": N })
    }
}
macro_rules! schema_map {
    ($($ty:ty => [$($gen:tt)*]),*) => {$(
        impl<$($gen)*> FieldSchema for $ty {
            fn field_schema() -> Value {
                json!({ "type": "object", "additionalProperties": V::field_schema() })
            }
        }
    )*};
}
schema_map!(HashMap<String, V, S> => [V: FieldSchema, S], BTreeMap<String, V> => [V: FieldSchema]);

/// `schema` that also accepts `null`.
#[must_use]
pub fn nullable(schema: Value) -> Value {
    match schema {
        Value::Bool(true) => Value::Bool(true),
        Value::Object(mut map) => {
            let ty = map.get_mut("type");
            match ty {
                Some(Value::String(one)) => {
                    let one = std::mem::take(one);
                    map.insert("type".to_owned(), json!([one, "null"]));
                    Value::Object(map)
                }
                Some(Value::Array(many)) => {
                    if !many.iter().any(|t| t == "null") {
                        many.push(json!("null"));
                    }
                    Value::Object(map)
                }
                _ => json!({ "anyOf": [Value::Object(map), { "type": "null" }] }),
            }
        }
        other => json!({ "anyOf": [other, { "type": "null" }] }),
    }
}

/// Probe for a field type's schema, falling back to `true` for types without [`FieldSchema`]
/// (autoref specialization: call as `(&SchemaOf::<T>::new()).__webhook_schema()` with both
/// [`ViaFieldSchema`] and [`ViaFallback`] in scope).
#[derive(Debug)]
pub struct SchemaOf<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> SchemaOf<T> {
    /// The probe.
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: ?Sized> Default for SchemaOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The preferred probe: the type's own [`FieldSchema`].
pub trait ViaFieldSchema {
    /// The schema.
    fn __webhook_schema(&self) -> Value;
    /// Whether a missing field is accepted.
    fn __webhook_optional(&self) -> bool;
}
impl<T: FieldSchema + ?Sized> ViaFieldSchema for SchemaOf<T> {
    fn __webhook_schema(&self) -> Value {
        T::field_schema()
    }
    fn __webhook_optional(&self) -> bool {
        T::OPTIONAL
    }
}

/// The fallback probe: anything, required.
pub trait ViaFallback {
    /// `true`.
    fn __webhook_schema(&self) -> Value;
    /// `false`.
    fn __webhook_optional(&self) -> bool;
}
impl<T: ?Sized> ViaFallback for &SchemaOf<T> {
    fn __webhook_schema(&self) -> Value {
        Value::Bool(true)
    }
    fn __webhook_optional(&self) -> bool {
        false
    }
}

fn object(schema: &mut Value) -> Option<&mut Map<String, Value>> {
    if *schema == Value::Bool(true) {
        *schema = Value::Object(Map::new());
    }
    schema.as_object_mut()
}

fn number(bound: f64) -> Value {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    if bound.fract() == 0.0 && bound.abs() < 9.0e15 {
        return Value::from(bound as i64);
    }
    serde_json::Number::from_f64(bound).map_or(Value::Null, Value::Number)
}

/// Add `"format": format` (for `email` and `url`); for `email`, also `"maxLength": 254`
/// (RFC 5321's limit, which the `email` rule enforces and the format alone does not).
pub fn format(schema: &mut Value, format: &str) {
    if let Some(map) = object(schema) {
        map.insert("format".to_owned(), Value::from(format));
        if format == "email" {
            narrow(map, "maxLength", Value::from(254_u32), Bound::Upper);
        }
    }
}

/// Add the length bounds with the keywords of the field type (`minLength`, `minItems`, …),
/// narrowing any the type has already (a fixed-size array's) rather than widening them.
pub fn length(schema: &mut Value, keywords: (&str, &str), min: Option<usize>, max: Option<usize>) {
    if let Some(map) = object(schema) {
        if let Some(min) = min {
            narrow(map, keywords.0, Value::from(min), Bound::Lower);
        }
        if let Some(max) = max {
            narrow(map, keywords.1, Value::from(max), Bound::Upper);
        }
    }
}

/// Add `minimum` / `maximum`, narrowing the bounds of the field's type (`u8`'s 0 and 255)
/// rather than replacing them: `range(max = 1000)` on a `u8` still tops out at 255, as
/// decoding does.
pub fn range(schema: &mut Value, min: Option<f64>, max: Option<f64>) {
    if let Some(map) = object(schema) {
        if let Some(min) = min {
            narrow(map, "minimum", number(min), Bound::Lower);
        }
        if let Some(max) = max {
            narrow(map, "maximum", number(max), Bound::Upper);
        }
    }
}

#[derive(Clone, Copy)]
enum Bound {
    Lower,
    Upper,
}

/// Set `key` to `new` unless the bound already there is at least as tight.
fn narrow(map: &mut Map<String, Value>, key: &str, new: Value, bound: Bound) {
    let tighter = match (map.get(key).and_then(Value::as_f64), new.as_f64()) {
        (Some(old), Some(new)) => match bound {
            Bound::Lower => new > old,
            Bound::Upper => new < old,
        },
        _ => true,
    };
    if tighter {
        map.insert(key.to_owned(), new);
    }
}

/// Add `pattern`.
pub fn pattern(schema: &mut Value, source: &str) {
    if let Some(map) = object(schema) {
        map.insert("pattern".to_owned(), Value::from(source));
    }
}

/// Add `enum` (plus `null` when the field is optional).
pub fn one_of(schema: &mut Value, allowed: &[&str], nullable: bool) {
    if let Some(map) = object(schema) {
        let mut values: Vec<Value> = allowed.iter().map(|a| Value::from(*a)).collect();
        if nullable {
            values.push(Value::Null);
        }
        map.insert("enum".to_owned(), Value::Array(values));
    }
}

/// The schema of a struct's fields, built one field at a time.
#[derive(Debug, Default)]
pub struct ObjectSchema {
    properties: Map<String, Value>,
    required: Vec<Value>,
    closed: bool,
}

impl ObjectSchema {
    /// An object schema; `deny_unknown_fields` closes it (`additionalProperties: false`).
    #[must_use]
    pub fn new(deny_unknown_fields: bool) -> Self {
        Self {
            properties: Map::new(),
            required: Vec::new(),
            closed: deny_unknown_fields,
        }
    }

    /// Add a field under its JSON key.
    pub fn field(&mut self, key: &str, schema: Value, required: bool) {
        self.properties.insert(key.to_owned(), schema);
        if required {
            self.required.push(Value::from(key));
        }
    }

    /// A `#[serde(flatten)]` field: its keys cannot be listed, so the object stays open.
    pub fn flatten(&mut self) {
        self.closed = false;
    }

    /// The schema.
    #[must_use]
    pub fn finish(self) -> Value {
        let mut map = Map::new();
        map.insert("type".to_owned(), Value::from("object"));
        map.insert("properties".to_owned(), Value::Object(self.properties));
        if !self.required.is_empty() {
            map.insert("required".to_owned(), Value::Array(self.required));
        }
        if self.closed {
            map.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
        Value::Object(map)
    }
}

/// Where an event set reads its event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    /// `tag = "type"`: a field of the body, beside the payload fields.
    Internal {
        /// The tag field.
        tag: &'static str,
    },
    /// `tag = "type", content = "data"`: the payload is under its own field.
    Adjacent {
        /// The tag field.
        tag: &'static str,
        /// The payload field.
        content: &'static str,
    },
    /// `tag_header = "X-GitHub-Event"`: the type is in a header, the body is the payload.
    Header {
        /// The header name.
        header: &'static str,
    },
}

/// What one variant carries, for the schema.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A unit variant: no payload.
    Unit,
    /// A struct variant: its fields' object schema.
    Fields(Value),
    /// A newtype variant: its payload type's schema.
    Newtype(Value),
}

/// One event type of the set: its names (canonical first, then aliases) and payload.
#[derive(Debug, Clone)]
pub struct EventSchema {
    /// The canonical name, then the aliases.
    pub names: &'static [&'static str],
    /// The payload.
    pub payload: Payload,
}

fn name_schema(names: &[&str]) -> Value {
    match names {
        [one] => json!({ "const": one }),
        many => json!({ "enum": many }),
    }
}

fn pointer_escape(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        match byte {
            b'~' => out.push_str("~0"),
            b'/' => out.push_str("~1"),
            b if b.is_ascii_alphanumeric() || b"-._".contains(&b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The schema of a whole event set: a `oneOf` over its event types for body tags; `$defs` by
/// event type and an `anyOf` for header tags (the body alone cannot say which type it is).
/// A catch-all that keeps the type name takes only a name a body's event id could be (visible
/// ASCII, 1 to 256 bytes, no surrounding spaces), as decoding does.
#[must_use]
pub fn event_set(
    title: &str,
    tagging: Tagging,
    events: Vec<EventSchema>,
    catch_all: CatchAll,
) -> Value {
    let all_names: Vec<&str> = events
        .iter()
        .flat_map(|e| e.names.iter().copied())
        .collect();
    let mut root = Map::new();
    root.insert("$schema".to_owned(), Value::from(DRAFT_2020_12));
    root.insert("title".to_owned(), Value::from(title));
    let (tag, content) = match tagging {
        Tagging::Header { header } => {
            root.insert("x-webhook-tag-header".to_owned(), Value::from(header));
            let mut defs = Map::new();
            let mut refs = Vec::new();
            for event in events {
                let Some(first) = event.names.first() else {
                    continue;
                };
                let schema = match event.payload {
                    Payload::Unit => Value::Bool(true),
                    Payload::Fields(s) | Payload::Newtype(s) => s,
                };
                refs.push(json!({ "$ref": format!("#/$defs/{}", pointer_escape(first)) }));
                defs.insert((*first).to_owned(), schema);
            }
            if catch_all != CatchAll::None {
                refs.push(Value::Bool(true));
            }
            root.insert("$defs".to_owned(), Value::Object(defs));
            root.insert("anyOf".to_owned(), Value::Array(refs));
            return Value::Object(root);
        }
        Tagging::Internal { tag } => (tag, None),
        Tagging::Adjacent { tag, content } => (tag, Some(content)),
    };
    let mut one_of = Vec::new();
    for event in events {
        let name = name_schema(event.names);
        let branch = match (content, event.payload) {
            (_, Payload::Unit) => json!({
                "type": "object", "properties": { tag: name }, "required": [tag]
            }),
            (Some(content), Payload::Fields(s) | Payload::Newtype(s)) => json!({
                "type": "object",
                "properties": { tag: name, content: s },
                "required": [tag, content]
            }),
            (None, Payload::Fields(mut s)) => {
                if let Some(map) = s.as_object_mut() {
                    if let Some(Value::Object(props)) = map.get_mut("properties") {
                        props.insert(tag.to_owned(), name);
                    }
                    match map.get_mut("required") {
                        // A field keyed like the tag is listed already.
                        Some(Value::Array(required)) => {
                            if !required.iter().any(|r| r.as_str() == Some(tag)) {
                                required.insert(0, Value::from(tag));
                            }
                        }
                        _ => {
                            map.insert("required".to_owned(), json!([tag]));
                        }
                    }
                }
                s
            }
            (None, Payload::Newtype(s)) => json!({
                "allOf": [s, { "type": "object", "properties": { tag: name }, "required": [tag] }]
            }),
        };
        one_of.push(branch);
    }
    let mut other_name = json!({ "type": "string", "not": { "enum": all_names } });
    if catch_all == CatchAll::Keep
        && let Some(map) = other_name.as_object_mut()
    {
        map.insert("maxLength".to_owned(), Value::from(MAX_EVENT_ID));
        map.insert("pattern".to_owned(), Value::from(EVENT_ID_PATTERN));
    }
    if catch_all != CatchAll::None {
        one_of.push(json!({
            "type": "object",
            "properties": { tag: other_name },
            "required": [tag]
        }));
    }
    root.insert("oneOf".to_owned(), Value::Array(one_of));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_adds_null() {
        assert_eq!(
            nullable(json!({"type": "string"})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(nullable(Value::Bool(true)), Value::Bool(true));
        assert_eq!(
            nullable(json!({"allOf": []})),
            json!({"anyOf": [{"allOf": []}, {"type": "null"}]})
        );
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is the autoref specialization
    fn probe_falls_back() {
        struct Opaque;
        let probe = SchemaOf::<Opaque>::new();
        assert_eq!((&probe).__webhook_schema(), Value::Bool(true));
        assert!(!(&probe).__webhook_optional());
        let probe = SchemaOf::<Option<u8>>::new();
        assert!((&probe).__webhook_optional());
        assert_eq!(
            (&probe).__webhook_schema()["type"],
            json!(["integer", "null"])
        );
    }

    #[test]
    fn bounds_are_integers_when_whole() {
        let mut s = json!({"type": "number"});
        range(&mut s, Some(1.0), Some(2.5));
        assert_eq!(s, json!({"type": "number", "minimum": 1, "maximum": 2.5}));
    }
}
