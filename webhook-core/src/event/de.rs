//! The decode runtime behind derived [`WebhookEvent`](super::WebhookEvent) impls: find the
//! event type (body field or header), deserialize the variant straight from the bytes, then
//! validate. The fast path keeps no diagnostics; when it fails, a second, tracking pass finds
//! the field path and a client-safe message.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::Value;
use serde_json::value::RawValue;

use super::schema::Tagging;
use super::strict::Strict;
use super::{DecodeError, EventTimestamp, FieldPath, ValidationErrors, WebhookEvent};
use crate::WebhookRequest;

/// What the set does with an event type it does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchAll {
    /// Reject it: `UnknownEventType` (422).
    None,
    /// A unit catch-all variant: the payload is skipped.
    Unit,
    /// A catch-all that keeps the type name and the payload as JSON.
    Keep,
}

/// The per-variant half of a derived event set, implemented by the derive.
pub trait Dispatch: Sized {
    /// Where the event type is.
    const TAGGING: Tagging;
    /// What an unlisted event type becomes.
    const CATCH_ALL: CatchAll;
    /// The variant for an event type name (canonical or alias).
    fn variant_index(event_type: &str) -> Option<usize>;
    /// Whether the variant carries no payload (its content may be absent).
    fn is_unit(index: usize) -> bool;
    /// Deserialize the payload of variant `index`.
    ///
    /// # Errors
    ///
    /// The deserializer's, for a payload of the wrong shape.
    fn deserialize_variant<'de, D: Deserializer<'de>>(
        index: usize,
        deserializer: D,
    ) -> Result<Self, D::Error>;
    /// The catch-all event, if the set has one.
    fn catch_all(event_type: String, payload: Value) -> Option<Self>;
    /// Run the field rules of the decoded variant.
    fn validate_variant(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors);
}

enum Target {
    Variant(usize),
    CatchAll(String),
}

/// Why an event type name has no target.
enum Unresolved {
    /// The set neither lists nor catches it.
    Unknown,
    /// A keeping catch-all would keep a name a header message id could not be.
    InvalidName,
}

impl Unresolved {
    /// The answer at the tag's `label` (its field, or its header), without the name.
    fn error(&self, label: &str) -> DecodeError {
        match self {
            Self::Unknown => DecodeError::unknown_event_type(label),
            Self::InvalidName => DecodeError::field(label, NOT_AN_ID),
        }
    }
}

/// The answer for a body's id or a kept event type that [`is_event_id`] refuses.
const NOT_AN_ID: &str =
    "invalid value, expected visible ascii of 1 to 256 bytes without surrounding spaces";

/// The variant or catch-all for an event type. A name a catch-all keeps goes into the
/// delivery's span and a duplicate's answer, so it is held to the rule body ids follow
/// ([`is_event_id`]); listed names are the derive's own.
fn resolve<E: Dispatch>(event_type: &str) -> Result<Target, Unresolved> {
    match E::variant_index(event_type) {
        Some(index) => Ok(Target::Variant(index)),
        None => match E::CATCH_ALL {
            CatchAll::None => Err(Unresolved::Unknown),
            CatchAll::Unit => Ok(Target::CatchAll(String::new())),
            CatchAll::Keep if is_event_id(event_type) => {
                Ok(Target::CatchAll(event_type.to_owned()))
            }
            CatchAll::Keep => Err(Unresolved::InvalidName),
        },
    }
}

struct ContentSeed<E>(Target, PhantomData<E>);

impl<'de, E: Dispatch> DeserializeSeed<'de> for ContentSeed<E> {
    type Value = E;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<E, D::Error> {
        match self.0 {
            Target::Variant(index) => E::deserialize_variant(index, Strict(deserializer)),
            Target::CatchAll(name) => {
                let payload = if E::CATCH_ALL == CatchAll::Keep {
                    Value::deserialize(deserializer)?
                } else {
                    IgnoredAny::deserialize(deserializer)?;
                    Value::Null
                };
                E::catch_all(name, payload).ok_or_else(|| de::Error::custom("no catch-all"))
            }
        }
    }
}

use serde::Deserialize as _;

fn missing_content<E: Dispatch, Er: de::Error>(target: Target) -> Result<E, Er> {
    match target {
        Target::Variant(index) if E::is_unit(index) => {
            E::deserialize_variant(index, ().into_deserializer())
        }
        Target::Variant(_) => Err(Er::custom("missing content")),
        Target::CatchAll(name) => {
            E::catch_all(name, Value::Null).ok_or_else(|| Er::custom("no catch-all"))
        }
    }
}

enum Key {
    Tag,
    Content,
    Other,
}

struct KeySeed {
    tag: &'static str,
    content: Option<&'static str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<Er: de::Error>(self, key: &str) -> Result<Key, Er> {
        Ok(if key == self.tag {
            Key::Tag
        } else if Some(key) == self.content {
            Key::Content
        } else {
            Key::Other
        })
    }
}

struct TagSeed<E>(PhantomData<E>);

impl<'de, E: Dispatch> DeserializeSeed<'de> for TagSeed<E> {
    type Value = Target;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Target, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<E: Dispatch> Visitor<'_> for TagSeed<E> {
    type Value = Target;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<Er: de::Error>(self, name: &str) -> Result<Target, Er> {
        // Only the fast pass reads this error: the diagnosis reads the tag again.
        resolve::<E>(name).map_err(|_| Er::custom("unresolved event type"))
    }
}

/// The fast adjacent pass: tag then content streams the payload straight into the variant;
/// content before the tag is held as raw JSON and decoded after.
struct AdjacentVisitor<E> {
    tag: &'static str,
    content: &'static str,
    _event: PhantomData<E>,
}

impl<'de, E: Dispatch> Visitor<'de> for AdjacentVisitor<E> {
    type Value = E;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<E, A::Error> {
        let mut target: Option<Target> = None;
        let mut event: Option<E> = None;
        let mut raw: Option<&'de RawValue> = None;
        let (mut seen_tag, mut seen_content) = (false, false);
        while let Some(key) = map.next_key_seed(KeySeed {
            tag: self.tag,
            content: Some(self.content),
        })? {
            match key {
                Key::Tag => {
                    if seen_tag {
                        return Err(de::Error::duplicate_field(self.tag));
                    }
                    seen_tag = true;
                    target = Some(map.next_value_seed(TagSeed::<E>(PhantomData))?);
                }
                Key::Content => {
                    if seen_content {
                        return Err(de::Error::duplicate_field(self.content));
                    }
                    seen_content = true;
                    match target.take() {
                        Some(t) => {
                            event = Some(map.next_value_seed(ContentSeed::<E>(t, PhantomData))?)
                        }
                        None => raw = Some(map.next_value()?),
                    }
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(event) = event {
            return Ok(event);
        }
        let target = target.ok_or_else(|| de::Error::missing_field(self.tag))?;
        match raw {
            Some(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                ContentSeed::<E>(target, PhantomData)
                    .deserialize(&mut de)
                    .map_err(de::Error::custom)
            }
            None => missing_content(target),
        }
    }
}

/// Decode an event of the set `E` from a request: dispatch on the tag, deserialize, validate.
///
/// # Errors
///
/// `MalformedBody` for a body that is not JSON (UTF-8 throughout, members no field reads
/// included), `UnknownEventType` for an unlisted type without a catch-all, `Validation` with
/// every failing field path otherwise.
pub fn decode<E: Dispatch + WebhookEvent>(request: &WebhookRequest<'_>) -> Result<E, DecodeError> {
    let body = utf8(request.body())?;
    let root = FieldPath::root();
    match E::TAGGING {
        Tagging::Adjacent { tag, content } => {
            let visitor = AdjacentVisitor::<E> {
                tag,
                content,
                _event: PhantomData,
            };
            let mut de = serde_json::Deserializer::from_str(body);
            let fast = de
                .deserialize_map(visitor)
                .and_then(|event| de.end().map(|()| event));
            match fast {
                Ok(event) => validated(event, &root.field(content)),
                Err(_) => Err(diagnose_adjacent::<E>(body, tag, content)),
            }
        }
        Tagging::Internal { tag } => {
            let scan = scan(body, tag, None)?;
            let target = read_tag::<E>(scan.tag, tag, tag)?;
            let event = match target {
                Target::Variant(index) => deserialize_body::<E>(index, body, &root)?,
                Target::CatchAll(name) => {
                    let payload = if E::CATCH_ALL == CatchAll::Keep {
                        parse_value(body)?
                    } else {
                        Value::Null
                    };
                    catch_all::<E>(name, payload)?
                }
            };
            validated(event, &root)
        }
        Tagging::Header { header } => {
            let name = match request.optional_single(header) {
                Ok(Some(name)) => name,
                Ok(None) => {
                    return Err(DecodeError::field(
                        format!("header `{header}`"),
                        "is required",
                    ));
                }
                Err(_) => {
                    return Err(DecodeError::field(
                        format!("header `{header}`"),
                        "malformed header",
                    ));
                }
            };
            let label = format!("header `{header}`");
            let target = resolve::<E>(name).map_err(|u| u.error(&label))?;
            let event = match target {
                Target::Variant(index) => deserialize_body::<E>(index, body, &root)?,
                Target::CatchAll(name) => {
                    let payload = if E::CATCH_ALL == CatchAll::Keep {
                        parse_value(body)?
                    } else {
                        // Checked as JSON, and kept nowhere.
                        serde_json::from_str::<IgnoredAny>(body)
                            .map_err(|e| json_error(&e, None, &root))?;
                        Value::Null
                    };
                    catch_all::<E>(name, payload)?
                }
            };
            validated(event, &root)
        }
    }
}

/// The event type of `request` without decoding it: the tag field (read by a scan of the
/// body's top level) or the tag header; the canonical name of a listed type (for an alias
/// too), and the name sent for a type the catch-all takes, whichever its kind; `None` for a
/// body that is not a JSON object, no tag, a type the set neither lists nor catches, or a
/// caught one that a keeping catch-all would refuse (not visible ASCII, empty, with
/// surrounding spaces, or over 256 bytes), so that no such byte reaches a span or an answer.
pub fn peek_event_type<E: Dispatch + WebhookEvent>(request: &WebhookRequest<'_>) -> Option<String> {
    let name: std::borrow::Cow<'_, str> = match E::TAGGING {
        Tagging::Adjacent { tag, .. } | Tagging::Internal { tag } => {
            let raw = scan(utf8(request.body()).ok()?, tag, None).ok()?.tag?;
            serde_json::from_str(raw.get()).ok()?
        }
        Tagging::Header { header } => request.optional_single(header).ok()??.into(),
    };
    match resolve::<E>(&name).ok()? {
        Target::Variant(index) => E::event_types().get(index).map(|&t| t.to_owned()),
        // The type sent, whichever the catch-all's kind (a unit one keeps nothing, and its
        // `event_type` is its own name), held to the rule a keeping one holds it to.
        Target::CatchAll(_) => is_event_id(&name).then(|| name.into_owned()),
    }
}

/// The body as text: JSON is UTF-8 (RFC 8259 §8.1), checked once here for the whole body,
/// so a member no field reads cannot carry raw bytes a field read would refuse. (An escaped
/// lone surrogate, `"\ud800"`, is another matter: serde_json refuses it in a string it
/// reads and skips it in a member it does not, so an unread member may hold one.)
fn utf8(body: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(body).map_err(|_| DecodeError::malformed_body())
}

fn validated<E: Dispatch>(event: E, path: &FieldPath<'_>) -> Result<E, DecodeError> {
    let mut errors = ValidationErrors::new();
    event.validate_variant(path, &mut errors);
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(DecodeError::validation(errors))
    }
}

fn catch_all<E: Dispatch>(name: String, payload: Value) -> Result<E, DecodeError> {
    E::catch_all(name, payload)
        .ok_or_else(|| DecodeError::field("", "event does not match its schema"))
}

fn parse_value(json: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(json).map_err(|e| json_error(&e, None, &FieldPath::root()))
}

/// Deserialize variant `index` from `json`; on failure, decode again with path tracking.
fn deserialize_body<E: Dispatch + WebhookEvent>(
    index: usize,
    json: &str,
    base: &FieldPath<'_>,
) -> Result<E, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let fast =
        E::deserialize_variant(index, Strict(&mut de)).and_then(|event| de.end().map(|()| event));
    fast.map_err(|_| {
        let mut track = serde_path_to_error::Track::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let tracked = E::deserialize_variant(
            index,
            Strict(serde_path_to_error::Deserializer::new(&mut de, &mut track)),
        )
        .and_then(|_| de.end());
        match tracked {
            Err(err) => json_error(&err, Some((&track.path(), E::json_schema)), base),
            Ok(()) => DecodeError::field(base.to_string(), "event does not match its schema"),
        }
    })
}

/// The top-level fields found by a scan: raw tag and content.
struct Scanned<'a> {
    tag: Option<&'a RawValue>,
    content: Option<&'a RawValue>,
}

struct ScanVisitor {
    tag: &'static str,
    content: Option<&'static str>,
}

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = Scanned<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned<'de>, A::Error> {
        let mut out = Scanned {
            tag: None,
            content: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed {
            tag: self.tag,
            content: self.content,
        })? {
            match key {
                Key::Tag => {
                    if out.tag.is_some() {
                        return Err(de::Error::duplicate_field(self.tag));
                    }
                    out.tag = Some(map.next_value()?);
                }
                Key::Content => {
                    if out.content.is_some() {
                        return Err(de::Error::duplicate_field(self.content.unwrap_or_default()));
                    }
                    out.content = Some(map.next_value()?);
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

fn scan<'a>(
    body: &'a str,
    tag: &'static str,
    content: Option<&'static str>,
) -> Result<Scanned<'a>, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(body);
    de.deserialize_map(ScanVisitor { tag, content })
        .and_then(|s| de.end().map(|()| s))
        .map_err(|e| json_error(&e, None, &FieldPath::root()))
}

fn read_tag<E: Dispatch>(
    raw: Option<&RawValue>,
    tag: &str,
    label: &str,
) -> Result<Target, DecodeError> {
    let raw = raw.ok_or_else(|| DecodeError::field(tag, "is required"))?;
    let name: std::borrow::Cow<'_, str> = serde_json::from_str(raw.get())
        .map_err(|_| DecodeError::field(tag, "invalid type, expected a string"))?;
    resolve::<E>(&name).map_err(|u| u.error(label))
}

/// The slow adjacent pass: the exact reason the fast one failed.
fn diagnose_adjacent<E: Dispatch + WebhookEvent>(
    body: &str,
    tag: &'static str,
    content: &'static str,
) -> DecodeError {
    let scanned = match scan(body, tag, Some(content)) {
        Ok(scanned) => scanned,
        Err(err) => return err,
    };
    let target = match read_tag::<E>(scanned.tag, tag, tag) {
        Ok(target) => target,
        Err(err) => return err,
    };
    let base = FieldPath::root();
    let base = base.field(content);
    match (target, scanned.content) {
        (Target::Variant(index), Some(raw)) => {
            match deserialize_body::<E>(index, raw.get(), &base) {
                Ok(_) => DecodeError::field(content, "event does not match its schema"),
                Err(err) => err,
            }
        }
        (Target::Variant(index), None) if !E::is_unit(index) => {
            DecodeError::field(content, "is required")
        }
        _ => DecodeError::field("", "event does not match its schema"),
    }
}

const MAX_SEGMENT: usize = 64;

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    for (i, c) in key.chars().enumerate() {
        if i == MAX_SEGMENT {
            path.push('…');
            break;
        }
        path.push(if c.is_control() { '?' } else { c });
    }
}

/// serde_json's message for a number beyond every float.
const OUT_OF_RANGE: &str = "number out of range";

/// A type's `json_schema` function.
type SchemaFn = fn() -> Value;

/// A serde_json error as a client-safe [`DecodeError`]: syntax → `MalformedBody`; shape →
/// `Validation` at the tracked path, with the value the sender sent left out of the message.
///
/// A tracked path comes with the schema of what was decoded: a key on it that the schema does
/// not declare (a map's key, an unknown field) is payload, and is written `*`.
fn json_error(
    err: &serde_json::Error,
    tracked: Option<(&serde_path_to_error::Path, SchemaFn)>,
    base: &FieldPath<'_>,
) -> DecodeError {
    // serde_json counts a number too large for any float (`1e400`) as a syntax error; it is
    // valid JSON, refused by the field that reads it (422), as a value out of a type's range is.
    if !err.is_data() && !err.to_string().starts_with(OUT_OF_RANGE) {
        return DecodeError::malformed_body();
    }
    let mut path = base.to_string();
    if let Some((tracked, schema)) = tracked {
        let names = declared_names_of(schema);
        let declared = |key: &str| -> bool { names.contains(key) };
        for segment in tracked {
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    let _ = write!(path, "[{index}]");
                }
                serde_path_to_error::Segment::Map { key: name }
                | serde_path_to_error::Segment::Enum { variant: name } => {
                    push_key(&mut path, if declared(name) { name } else { "*" });
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
    }
    let text = err.to_string();
    let text = text
        .rfind(" at line ")
        .and_then(|i| text.get(..i))
        .unwrap_or(&text);
    // A missing or duplicate field's name is serde's `&'static str`: declared, never payload.
    let (field, message) = sanitize(text);
    if let Some(field) = field {
        push_key(&mut path, field);
    }
    DecodeError::field(path, message)
}

/// The names a type's schema declares, built once per schema function: a shape error then
/// costs no schema export. (Two types whose schema functions were merged into one have the
/// same schema, so the function's address is a sound key; the cache holds one entry per
/// schema function the program has.)
fn declared_names_of(schema: SchemaFn) -> Arc<HashSet<String>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<HashSet<String>>>>> = OnceLock::new();
    let key = schema as usize;
    let cache = CACHE.get_or_init(Mutex::default);
    // A poisoned lock still holds complete entries: each is inserted whole.
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(names) = lock().get(&key).cloned() {
        return names;
    }
    let mut names = HashSet::new();
    declared_names(&schema(), &mut names);
    let names = Arc::new(names);
    lock().insert(key, Arc::clone(&names));
    names
}

/// Every name `schema` declares: its objects' property names, and the strings of its `enum`s
/// and `const`s (variant names), at any depth.
fn declared_names(schema: &Value, out: &mut HashSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                out.extend(properties.keys().cloned());
            }
            if let Some(Value::Array(values)) = map.get("enum") {
                out.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            if let Some(Value::String(value)) = map.get("const") {
                out.insert(value.clone());
            }
            for value in map.values() {
                declared_names(value, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                declared_names(item, out);
            }
        }
        _ => {}
    }
}

fn between_backticks(text: &str) -> Option<&str> {
    let start = text.find('`')?;
    let rest = text.get(start + 1..)?;
    rest.get(..rest.find('`')?)
}

fn expected_part(text: &str) -> Option<&str> {
    text.rfind(", expected ")
        .and_then(|i| text.get(i + ", expected ".len()..))
}

/// What serde expected in an unknown field's or variant's message: its own names, in
/// backticks. Nothing when the type has no fields or variants: serde then writes no
/// `expected`, and a `, expected ` found in the text is inside the sender's key.
fn expected_names(text: &str) -> Option<&str> {
    if text.ends_with(", there are no fields") || text.ends_with(", there are no variants") {
        return None;
    }
    expected_part(text).filter(|e| e.starts_with('`') || e.starts_with("one of `"))
}

/// serde's messages echo the offending value (`invalid type: string "x", expected u32`);
/// keep the field and what was expected, drop the value.
fn sanitize(text: &str) -> (Option<&str>, String) {
    if text.starts_with("missing field `") {
        return (between_backticks(text), "is required".to_owned());
    }
    if text.starts_with("duplicate field `") {
        return (between_backticks(text), "duplicate field".to_owned());
    }
    for (prefix, label) in [
        // The tracked path already ends with the field's key (`*`: not declared).
        ("unknown field `", "unknown field"),
        ("unknown variant `", "unknown variant"),
    ] {
        if text.starts_with(prefix) {
            return match expected_names(text) {
                Some(expected) => (None, format!("{label}, expected {expected}")),
                None => (None, label.to_owned()),
            };
        }
    }
    if text.starts_with(OUT_OF_RANGE) {
        return (None, OUT_OF_RANGE.to_owned());
    }
    for (prefix, label) in [
        ("invalid type", "invalid type"),
        ("invalid value", "invalid value"),
        ("invalid length", "invalid length"),
    ] {
        if text.starts_with(prefix) {
            return match expected_part(text) {
                Some(expected) => (None, format!("{label}, expected {expected}")),
                None => (None, label.to_owned()),
            };
        }
    }
    (None, "invalid value".to_owned())
}

/// A scalar read at a dotted path of the body.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    String(String),
    Integer(i64),
    /// An integer above `i64::MAX` (an id may be any `u64`).
    Unsigned(u64),
    Other,
}

/// Reads the scalar at `path` (from `depth` on), skipping everything else. A key of the path
/// given twice stops the walk; `duplicate` then holds its depth, so that the error can name
/// the path down to it.
struct Walk<'p> {
    path: &'p [&'p str],
    depth: usize,
    duplicate: &'p Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<Scalar>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<Scalar>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Walk<'_> {
    fn leaf(&self, scalar: Scalar) -> Option<Scalar> {
        (self.depth >= self.path.len()).then_some(scalar)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<Scalar>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<Er: de::Error>(self, _: bool) -> Result<Self::Value, Er> {
        Ok(self.leaf(Scalar::Other))
    }
    fn visit_i64<Er: de::Error>(self, v: i64) -> Result<Self::Value, Er> {
        Ok(self.leaf(Scalar::Integer(v)))
    }
    fn visit_u64<Er: de::Error>(self, v: u64) -> Result<Self::Value, Er> {
        Ok(self.leaf(i64::try_from(v).map_or(Scalar::Unsigned(v), Scalar::Integer)))
    }
    fn visit_f64<Er: de::Error>(self, _: f64) -> Result<Self::Value, Er> {
        Ok(self.leaf(Scalar::Other))
    }
    fn visit_str<Er: de::Error>(self, v: &str) -> Result<Self::Value, Er> {
        Ok(self.leaf(Scalar::String(v.to_owned())))
    }
    fn visit_unit<Er: de::Error>(self) -> Result<Self::Value, Er> {
        Ok(None)
    }
    fn visit_none<Er: de::Error>(self) -> Result<Self::Value, Er> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.leaf(Scalar::Other))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(&first) = self.path.get(self.depth) else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Some(Scalar::Other));
        };
        // A key on the path given twice is refused: readers disagree on which one counts
        // (the first here, the last for `serde_json::Value`), and the id that deduplicates
        // the delivery must be the one the handler sees.
        let (mut found, mut seen) = (None, false);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == first {
                if seen {
                    self.duplicate.set(Some(self.depth));
                    return Err(de::Error::custom("duplicate field"));
                }
                seen = true;
                found = map.next_value_seed(Walk {
                    depth: self.depth + 1,
                    ..self
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

fn read_path(body: &[u8], path: &[&str]) -> Result<Option<Scalar>, DecodeError> {
    let duplicate = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(utf8(body)?);
    let walk = Walk {
        path,
        depth: 0,
        duplicate: &duplicate,
    };
    walk.deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| match duplicate.get() {
            // The path's own keys (the derive's, never the sender's), down to the repeated one.
            Some(depth) => DecodeError::field(
                path.get(..=depth).unwrap_or(path).join("."),
                "duplicate field",
            ),
            None => json_error(&e, None, &FieldPath::root()),
        })
}

/// The longest event id read from the body, in bytes. A header's id is bounded by the
/// framework's header limits; a body's only by the body's, and the id is recorded in the
/// delivery's span and echoed in a duplicate's answer.
pub(super) const MAX_EVENT_ID: usize = 256;

/// Whether a body's id reads as a header message id would: visible ASCII (spaces and tabs
/// inside it only, as `WebhookRequest::require_single` admits them), not empty, nothing
/// around it that a header's trimming would drop, and at most [`MAX_EVENT_ID`] bytes.
pub(crate) fn is_event_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_EVENT_ID
        && id.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
        && id.trim().len() == id.len()
}

/// The event id at a dotted path of the body (a string, or an integer as text).
///
/// # Errors
///
/// `MalformedBody` for a body that is not JSON; `Validation` (422) when the value is neither
/// a string nor an integer, or is a string a header message id could not be: not visible
/// ASCII, empty, with surrounding spaces, or longer than 256 bytes (the message never
/// includes the value).
pub fn event_id_at(
    request: &WebhookRequest<'_>,
    path: &[&str],
) -> Result<Option<String>, DecodeError> {
    match read_path(request.body(), path)? {
        None => Ok(None),
        Some(Scalar::String(s)) if is_event_id(&s) => Ok(Some(s)),
        Some(Scalar::String(_)) => Err(DecodeError::field(path.join("."), NOT_AN_ID)),
        Some(Scalar::Integer(n)) => Ok(Some(n.to_string())),
        Some(Scalar::Unsigned(n)) => Ok(Some(n.to_string())),
        Some(Scalar::Other) => Err(DecodeError::field(
            path.join("."),
            "invalid type, expected a string or an integer",
        )),
    }
}

/// The event timestamp at a dotted path of the body (unix seconds, or text such as RFC 3339).
///
/// # Errors
///
/// `MalformedBody` for a body that is not JSON; `Validation` when the value is neither a
/// string nor an integer.
pub fn event_timestamp_at(
    request: &WebhookRequest<'_>,
    path: &[&str],
) -> Result<Option<EventTimestamp>, DecodeError> {
    match read_path(request.body(), path)? {
        None => Ok(None),
        Some(Scalar::String(s)) => Ok(Some(EventTimestamp::Text(s))),
        Some(Scalar::Integer(n)) => Ok(Some(EventTimestamp::Unix(n))),
        Some(Scalar::Unsigned(_)) => Err(DecodeError::field(
            path.join("."),
            "out of range for a unix timestamp",
        )),
        Some(Scalar::Other) => Err(DecodeError::field(
            path.join("."),
            "invalid type, expected a string or an integer",
        )),
    }
}

/// Decode a payload type on its own, with the same error handling as events.
///
/// # Errors
///
/// As [`decode`].
pub(crate) fn decode_payload<T: serde::de::DeserializeOwned + super::WebhookPayload>(
    json: &[u8],
) -> Result<T, DecodeError> {
    let root = FieldPath::root();
    let json = utf8(json)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let Ok(value) = T::deserialize(Strict(&mut de)).and_then(|v| de.end().map(|()| v)) else {
        let mut track = serde_path_to_error::Track::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let res = T::deserialize(Strict(serde_path_to_error::Deserializer::new(
            &mut de, &mut track,
        )))
        .and_then(|_| de.end());
        return Err(match res {
            Err(err) => json_error(&err, Some((&track.path(), T::json_schema)), &root),
            Ok(()) => DecodeError::field("", "payload does not match its schema"),
        });
    };
    let mut errors = ValidationErrors::new();
    value.validate_at(&root, &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_drops_values() {
        assert_eq!(
            sanitize("invalid type: string \"secret\", expected u32"),
            (None, "invalid type, expected u32".to_owned())
        );
        assert_eq!(
            sanitize("missing field `recipient`"),
            (Some("recipient"), "is required".to_owned())
        );
        assert_eq!(
            sanitize("unknown variant `secret`, expected `a` or `b`"),
            (None, "unknown variant, expected `a` or `b`".to_owned())
        );
        assert_eq!(
            sanitize("my custom error with secret"),
            (None, "invalid value".to_owned())
        );
        // Without fields or variants serde writes no `expected`: one in the text is the key's.
        assert_eq!(
            sanitize("unknown field `x, expected SECRET`, there are no fields"),
            (None, "unknown field".to_owned())
        );
        assert_eq!(
            sanitize("unknown variant `x, expected SECRET`, there are no variants"),
            (None, "unknown variant".to_owned())
        );
        assert_eq!(
            sanitize("unknown field `k`, expected one of `a`, `b`"),
            (None, "unknown field, expected one of `a`, `b`".to_owned())
        );
        assert_eq!(
            sanitize("unknown field `k, expected SECRET`, expected `a`"),
            (None, "unknown field, expected `a`".to_owned())
        );
    }

    #[test]
    fn reads_paths() {
        let body = br#"{"a":{"b":"x","c":[1,2]},"n":7,"f":1.5}"#;
        assert_eq!(
            read_path(body, &["a", "b"]).ok(),
            Some(Some(Scalar::String("x".into())))
        );
        assert_eq!(read_path(body, &["n"]).ok(), Some(Some(Scalar::Integer(7))));
        assert_eq!(read_path(body, &["f"]).ok(), Some(Some(Scalar::Other)));
        // Every u64 is an id, past i64 too; it is no timestamp.
        let big = br#"{"id":18446744073709551615}"#;
        let request = WebhookRequest::new(big);
        assert_eq!(
            event_id_at(&request, &["id"]).ok(),
            Some(Some("18446744073709551615".to_owned()))
        );
        assert!(event_timestamp_at(&request, &["id"]).is_err());
        assert_eq!(read_path(body, &["a", "zz"]).ok(), Some(None));
        assert_eq!(read_path(body, &["n", "deeper"]).ok(), Some(None));
        assert!(read_path(b"{nope", &["a"]).is_err());
        // Not UTF-8 in a member the path does not read: refused as the decoder refuses it.
        assert!(read_path(b"{\"x\":\"\xff\",\"n\":7}", &["n"]).is_err());
        assert_eq!(
            read_path(b"{\"x\":\"\xc3\xa9\",\"n\":7}", &["n"]).ok(),
            Some(Some(Scalar::Integer(7)))
        );
    }

    /// A key on the path given twice is refused (422), wherever on the path; twice off the
    /// path it does not matter.
    #[test]
    fn duplicate_keys_on_the_path_are_refused() {
        for (body, says) in [
            (
                &br#"{"data":{"id":"A","id":"B"}}"#[..],
                "data.id: duplicate field",
            ),
            (
                br#"{"data":{"id":"A"},"data":{"id":"B"}}"#,
                "data: duplicate field",
            ),
            (
                br#"{"data":{"x":{"id":1},"id":"A","id":"B"}}"#,
                "data.id: duplicate field",
            ),
        ] {
            let err = read_path(body, &["data", "id"]).unwrap_err();
            assert_eq!(err.kind(), crate::event::DecodeErrorKind::Validation);
            assert_eq!(err.to_string(), says);
        }
        assert_eq!(
            read_path(br#"{"x":1,"x":2,"data":{"id":"A"}}"#, &["data", "id"]).ok(),
            Some(Some(Scalar::String("A".into())))
        );
    }

    /// A body's id follows a header message id's rule (visible ASCII, nothing a header's
    /// trimming would drop) and is at most 256 bytes; numbers stay ids. A refused id is a
    /// 422 at the id's path, without the value.
    #[test]
    fn body_ids_are_held_to_the_header_rule() {
        let id = |value: &str| {
            let body = format!(r#"{{"data":{{"id":{value}}}}}"#);
            event_id_at(&WebhookRequest::new(body.as_bytes()), &["data", "id"])
        };
        let longest = "x".repeat(MAX_EVENT_ID);
        for (value, expected) in [
            (r#""msg_2Zx-9:a/b=c""#, "msg_2Zx-9:a/b=c"),
            (r#""a b\tc""#, "a b\tc"),
            ("42", "42"),
            ("-7", "-7"),
            (&format!(r#""{longest}""#), &longest),
        ] {
            assert_eq!(id(value).unwrap().as_deref(), Some(expected), "{value}");
        }
        for value in [
            format!(r#""{longest}x""#),
            r#""""#.to_owned(),
            r#"" SECRET""#.to_owned(),
            r#""SECRET\t""#.to_owned(),
            r#""SECRET\nX""#.to_owned(),
            r#""SECRET\u001b[31m""#.to_owned(),
            r#""SECRET\u007f""#.to_owned(),
            r#""SECRÉT""#.to_owned(),
            r#""SECRET\u2028""#.to_owned(),
        ] {
            let err = id(&value).unwrap_err();
            assert_eq!(err.kind(), crate::event::DecodeErrorKind::Validation);
            let verify = crate::VerifyError::from(err.clone());
            assert_eq!(
                (verify.status(), verify.kind().code()),
                (422, "validation_failed")
            );
            assert!(err.to_string().starts_with("data.id: "), "{err}");
            assert!(
                !format!("{err} {err:?}").contains("SECRET") && !err.to_string().contains("xxx"),
                "{err}"
            );
        }
    }
}
