//! The validation rules behind `#[webhook(email)]`, `#[webhook(length(..))]` and friends.
//!
//! Generated code calls these through `__private::rules`; the traits decide which field types
//! a rule applies to (a rule on an `Option` skips `None`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::marker::PhantomData;
use std::sync::OnceLock;

use super::{FieldError, FieldPath, ValidationErrors, WebhookPayload};

/// A field the `email`, `url`, `pattern` and `one_of` rules can read as text.
#[diagnostic::on_unimplemented(
    message = "the `email`, `url`, `pattern` and `one_of` rules apply to string fields, not `{Self}`",
    label = "not a string field"
)]
pub trait StrRule {
    /// The text, or `None` to skip the rule (an absent `Option`).
    fn rule_str(&self) -> Option<&str>;
}

impl StrRule for str {
    fn rule_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl StrRule for String {
    fn rule_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl StrRule for Box<str> {
    fn rule_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl StrRule for Cow<'_, str> {
    fn rule_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl<T: StrRule + ?Sized> StrRule for &T {
    fn rule_str(&self) -> Option<&str> {
        (**self).rule_str()
    }
}
impl<T: StrRule> StrRule for Option<T> {
    fn rule_str(&self) -> Option<&str> {
        self.as_ref().and_then(StrRule::rule_str)
    }
}

/// A field the `length` and `non_empty` rules can measure.
#[diagnostic::on_unimplemented(
    message = "the `length` and `non_empty` rules apply to strings, lists and maps, not `{Self}`",
    label = "has no length"
)]
pub trait LengthRule {
    /// The JSON Schema keywords for the lower and upper bound (`minLength`/`maxLength`, …).
    const KEYWORDS: (&'static str, &'static str);
    /// The length (characters for text, items for lists, entries for maps), or `None` to skip.
    fn rule_len(&self) -> Option<usize>;
}

macro_rules! length_text {
    ($($ty:ty),*) => {$(
        impl LengthRule for $ty {
            const KEYWORDS: (&'static str, &'static str) = ("minLength", "maxLength");
            fn rule_len(&self) -> Option<usize> {
                Some(self.chars().count())
            }
        }
    )*};
}
length_text!(str, String, Box<str>, Cow<'_, str>);

macro_rules! length_items {
    ($kw:expr; $($ty:ty => [$($gen:tt)*]),*) => {$(
        impl<$($gen)*> LengthRule for $ty {
            const KEYWORDS: (&'static str, &'static str) = $kw;
            fn rule_len(&self) -> Option<usize> {
                Some(self.len())
            }
        }
    )*};
}
length_items!(("minItems", "maxItems");
    Vec<T> => [T], [T] => [T], VecDeque<T> => [T], HashSet<T, S> => [T, S], BTreeSet<T> => [T]);
length_items!(("minProperties", "maxProperties");
    HashMap<K, V, S> => [K, V, S], BTreeMap<K, V> => [K, V],
    serde_json::Map<String, serde_json::Value> => []);

impl<T: LengthRule + ?Sized> LengthRule for &T {
    const KEYWORDS: (&'static str, &'static str) = T::KEYWORDS;
    fn rule_len(&self) -> Option<usize> {
        (**self).rule_len()
    }
}
impl<T: LengthRule> LengthRule for Option<T> {
    const KEYWORDS: (&'static str, &'static str) = T::KEYWORDS;
    fn rule_len(&self) -> Option<usize> {
        self.as_ref().and_then(LengthRule::rule_len)
    }
}

/// A number the `range` rule can compare.
#[diagnostic::on_unimplemented(
    message = "the `range` rule applies to number fields, not `{Self}`",
    label = "not a number field"
)]
pub trait RangeRule {
    /// The value, or `None` to skip.
    fn rule_number(&self) -> Option<Number>;

    /// A bound as the field's type holds it, to compare the value with: the bound itself,
    /// except for `f32`, whose values are compared with the bound rounded to the nearest
    /// `f32` (so that a field holding `0.1_f32` meets `max = 0.1`, which widened it exceeds).
    #[must_use]
    fn rule_bound(bound: f64) -> f64 {
        bound
    }
}

/// A value the `range` rule compares: integers exactly, whatever their size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer field's value.
    Int(i128),
    /// A floating-point field's value.
    Float(f64),
}

macro_rules! range_int {
    ($($ty:ty),*) => {$(
        impl RangeRule for $ty {
            #[allow(clippy::cast_lossless)]
            fn rule_number(&self) -> Option<Number> {
                Some(Number::Int(*self as i128))
            }
        }
    )*};
}
range_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

impl RangeRule for u128 {
    /// Exact up to `i128::MAX`; past it (2¹²⁷, where every bound is a float literal, an
    /// integer one being at most `i128::MAX`) compared as the nearest `f64`.
    #[allow(clippy::cast_precision_loss)]
    fn rule_number(&self) -> Option<Number> {
        Some(i128::try_from(*self).map_or(Number::Float(*self as f64), Number::Int))
    }
}

impl RangeRule for f32 {
    fn rule_number(&self) -> Option<Number> {
        Some(Number::Float(f64::from(*self)))
    }
    #[allow(clippy::cast_possible_truncation)] // the rounding to `f32` is the point
    fn rule_bound(bound: f64) -> f64 {
        f64::from(bound as f32)
    }
}
impl RangeRule for f64 {
    fn rule_number(&self) -> Option<Number> {
        Some(Number::Float(*self))
    }
}

impl<T: RangeRule + ?Sized> RangeRule for &T {
    fn rule_number(&self) -> Option<Number> {
        (**self).rule_number()
    }
    fn rule_bound(bound: f64) -> f64 {
        T::rule_bound(bound)
    }
}
impl<T: RangeRule> RangeRule for Option<T> {
    fn rule_number(&self) -> Option<Number> {
        self.as_ref().and_then(RangeRule::rule_number)
    }
    fn rule_bound(bound: f64) -> f64 {
        T::rule_bound(bound)
    }
}

/// A field whose payload rules run: a [`WebhookPayload`] (a `Box` of one is one), or an
/// `Option`, `Vec`, `VecDeque` or array of such fields, or a map (`HashMap`, `BTreeMap`) with
/// such values (so `Option<Box<T>>` for a recursive payload). The derives run these rules on
/// every field of such a type, with or without `#[webhook(nested)]`, which only asserts it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a webhook payload, so `#[webhook(nested)]` cannot validate it",
    label = "needs `#[derive(WebhookPayload)]`",
    note = "`nested` takes a `WebhookPayload` type, or an `Option`, `Box`, `Vec`, `VecDeque`, \
            array or map of them: derive (or implement) `WebhookPayload` for the type, or remove \
            `nested` if it holds no payload"
)]
pub trait NestedRule {
    /// Validate the nested value(s) below `path`.
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors);
    /// The JSON Schema of the field.
    fn nested_schema() -> serde_json::Value;
}

impl<T: WebhookPayload> NestedRule for T {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        self.validate_at(path, errors);
    }
    /// The payload's schema; where a payload contains itself (a tree), the inner occurrence
    /// takes any value in the schema instead of repeating it without end (decoding still
    /// validates every level).
    fn nested_schema() -> serde_json::Value {
        thread_local! {
            static EXPANDING: std::cell::RefCell<Vec<&'static str>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        /// Takes the type off the stack however the expansion ends.
        struct Expanding;
        impl Drop for Expanding {
            fn drop(&mut self) {
                EXPANDING.with_borrow_mut(|stack| {
                    stack.pop();
                });
            }
        }
        // By name: `TypeId` would need `T: 'static`, which payloads with lifetimes are not.
        let id = std::any::type_name::<T>();
        let recursive = EXPANDING.with_borrow_mut(|stack| {
            if stack.contains(&id) {
                return true;
            }
            stack.push(id);
            false
        });
        if recursive {
            return serde_json::Value::Bool(true);
        }
        let _expanding = Expanding;
        T::json_schema()
    }
}
impl<T: NestedRule> NestedRule for Option<T> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        if let Some(value) = self {
            value.validate_nested(path, errors);
        }
    }
    fn nested_schema() -> serde_json::Value {
        super::schema::nullable(T::nested_schema())
    }
}

/// The items of a list, each at its index.
fn validate_items<'a, T: NestedRule + 'a>(
    items: impl Iterator<Item = &'a T>,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    for (i, value) in items.enumerate() {
        value.validate_nested(&path.index(i), errors);
    }
}

impl<T: NestedRule> NestedRule for Vec<T> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_items(self.iter(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "array", "items": T::nested_schema() })
    }
}
impl<T: NestedRule> NestedRule for VecDeque<T> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_items(self.iter(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "array", "items": T::nested_schema() })
    }
}
/// A slice, as a field holds it in a `Box<[T]>`.
impl<T: NestedRule> NestedRule for [T] {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_items(self.iter(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "array", "items": T::nested_schema() })
    }
}
/// A boxed slice wherever it is (inside an `Option`, a list…): a `Box` the derive does not
/// strip, since only a field's outer `Box` layers are.
impl<T: NestedRule> NestedRule for Box<[T]> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_items(self.iter(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "array", "items": T::nested_schema() })
    }
}
impl<T: NestedRule, const N: usize> NestedRule for [T; N] {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_items(self.iter(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({
            "type": "array", "items": T::nested_schema(), "minItems": N, "maxItems": N
        })
    }
}

/// A map's values. Its keys are the sender's, so an error's path writes each one `*`, as a
/// shape error's path writes a key the schema does not declare.
fn validate_values<'a, V: NestedRule + 'a>(
    values: impl Iterator<Item = &'a V>,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    let entry = path.field("*");
    for value in values {
        value.validate_nested(&entry, errors);
    }
}

impl<K, V: NestedRule, S> NestedRule for HashMap<K, V, S> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_values(self.values(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "object", "additionalProperties": V::nested_schema() })
    }
}
impl<K, V: NestedRule> NestedRule for BTreeMap<K, V> {
    fn validate_nested(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        validate_values(self.values(), path, errors);
    }
    fn nested_schema() -> serde_json::Value {
        serde_json::json!({ "type": "object", "additionalProperties": V::nested_schema() })
    }
}

/// Probe for the payload rules of a field's type, by autoref specialization: with
/// [`ViaPayload`] and [`ViaNoPayload`] in scope, `(&&PayloadOf::<T>::new())` finds
/// [`ViaPayload`] when `T` is a [`NestedRule`] type (a payload, or an `Option`, `Vec`… of
/// payloads), and the no-op [`ViaNoPayload`] otherwise.
///
/// The choice is made where the call is written, from the bounds known there: the derives
/// call it on fields of a concrete type (they refuse generic parameters), where it is exact.
/// Called with a type parameter `T`, it would take the no-op for want of a `T: NestedRule`
/// bound, so generic code must not rely on it.
pub struct PayloadOf<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> PayloadOf<T> {
    /// The probe.
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: ?Sized> Default for PayloadOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> std::fmt::Debug for PayloadOf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadOf")
    }
}

/// The preferred probe: the field's type carries payload rules ([`NestedRule`]).
pub trait ViaPayload {
    /// The field's type.
    type Field: ?Sized;
    /// Run the payload rules of `value` below `path`.
    fn __webhook_validate_payload(
        &self,
        value: &Self::Field,
        path: &FieldPath<'_>,
        errors: &mut ValidationErrors,
    );
    /// The field's schema: its payloads' schema.
    fn __webhook_payload_schema(&self) -> Option<serde_json::Value>;
}
impl<T: NestedRule + ?Sized> ViaPayload for &PayloadOf<T> {
    type Field = T;
    fn __webhook_validate_payload(
        &self,
        value: &T,
        path: &FieldPath<'_>,
        errors: &mut ValidationErrors,
    ) {
        value.validate_nested(path, errors);
    }
    fn __webhook_payload_schema(&self) -> Option<serde_json::Value> {
        Some(T::nested_schema())
    }
}

/// The fallback probe: no payload rules.
pub trait ViaNoPayload {
    /// The field's type.
    type Field: ?Sized;
    /// Nothing to run.
    fn __webhook_validate_payload(
        &self,
        value: &Self::Field,
        path: &FieldPath<'_>,
        errors: &mut ValidationErrors,
    ) {
        let _ = (value, path, errors);
    }
    /// `None`: the field's schema is its type's [`FieldSchema`](super::schema::FieldSchema).
    fn __webhook_payload_schema(&self) -> Option<serde_json::Value> {
        None
    }
}
impl<T: ?Sized> ViaNoPayload for PayloadOf<T> {
    type Field = T;
}

fn fail(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    message: impl Into<Cow<'static, str>>,
) {
    if errors.is_full() {
        // Counted without building the path.
        errors.push(FieldError::new(String::new(), ""));
    } else {
        errors.push(FieldError::new(path.to_string(), message));
    }
}

/// The longest address RFC 5321 can carry (a 256-octet path less its angle brackets).
const MAX_EMAIL: usize = 254;

/// Whether `text` is an email address as JSON Schema's `email` format means it (RFC 5321, so
/// ASCII: `josé@example.com` is an `idn-email`, and refused): `local@domain` by the
/// `email_address` crate's local-part and domain grammar (no display name; RFC 5321's empty
/// quoted local part `""` too), with a domain that is a valid host name or an address
/// literal (`[192.0.2.1]`, `[IPv6:…]`, the tag in any case), and at most 254 characters in
/// all, RFC 5321's limit for a path, which the exported schema states as `maxLength` beside
/// the format (the format alone does not bound the length). Allocates nothing.
#[must_use]
pub fn is_email(text: &str) -> bool {
    if !text.is_ascii() || text.len() > MAX_EMAIL {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    if local != "\"\"" && !email_address::EmailAddress::is_valid_local_part(local) {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let v6 = literal
            .split_at_checked(5)
            .filter(|(tag, _)| tag.eq_ignore_ascii_case("IPv6:"))
            .map(|(_, address)| address);
        return match v6 {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        };
    }
    is_hostname(domain) && email_address::EmailAddress::is_valid_domain(domain)
}

fn is_hostname(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

const PCHAR: u8 = 1; // unreserved, sub-delims, ':' and '@'
const QUERY: u8 = 2; // pchar, '/' and '?'
const USERINFO: u8 = 4; // unreserved, sub-delims and ':'
const PATH: u8 = 8; // pchar and '/'
const REG_NAME: u8 = 16; // unreserved and sub-delims

const CLASSES: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut b = 0_usize;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)]
        let c = b as u8;
        let unreserved = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        let sub_delims = matches!(
            c,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        let pchar = unreserved || sub_delims || c == b':' || c == b'@';
        let mut class = 0;
        if pchar {
            class |= PCHAR | QUERY | PATH;
        }
        if c == b'/' || c == b'?' {
            class |= QUERY;
        }
        if c == b'/' {
            class |= PATH;
        }
        if unreserved || sub_delims {
            class |= REG_NAME | USERINFO;
        }
        if c == b':' {
            class |= USERINFO;
        }
        #[allow(clippy::indexing_slicing)] // b < 256 by the loop condition
        {
            table[b] = class;
        }
        b += 1;
    }
    table
};

/// Every byte in `class`, or a well-formed `%XX` escape.
fn all_in(text: &str, class: u8) -> bool {
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = |h: Option<u8>| h.is_some_and(|h| h.is_ascii_hexdigit());
            if !(hex(bytes.next()) && hex(bytes.next())) {
                return false;
            }
        } else if CLASSES.get(usize::from(b)).copied().unwrap_or(0) & class == 0 {
            return false;
        }
    }
    true
}

/// An RFC 3986 authority: `[userinfo@]host[:port]`, where the userinfo holds no `@`, `[` or
/// `]`, and brackets only enclose a whole host that is an IPv6 address or an `IPvFuture`.
fn is_authority(authority: &str) -> bool {
    let host_port = match authority.split_once('@') {
        Some((userinfo, host_port)) => {
            if !all_in(userinfo, USERINFO) {
                return false; // a bracket is no userinfo (a second `@`, no host below)
            }
            host_port
        }
        None => authority,
    };
    let port = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let Some((literal, after)) = bracketed.split_once(']') else {
                return false;
            };
            if !is_ip_literal(literal) {
                return false;
            }
            match after.strip_prefix(':') {
                Some(port) => port,
                None if after.is_empty() => "",
                None => return false,
            }
        }
        None => {
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, ""));
            if !all_in(host, REG_NAME) {
                return false;
            }
            port
        }
    };
    port.bytes().all(|b| b.is_ascii_digit())
}

/// Inside `[…]`: `IPv6address / IPvFuture` (`v` hex digits `.` then unreserved, sub-delims
/// or `:`).
fn is_ip_literal(literal: &str) -> bool {
    if let Some(future) = literal
        .strip_prefix('v')
        .or_else(|| literal.strip_prefix('V'))
    {
        let Some((version, rest)) = future.split_once('.') else {
            return false;
        };
        return !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_hexdigit())
            && !rest.is_empty()
            && !rest.contains('%')
            && all_in(rest, USERINFO);
    }
    literal.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Whether `text` is an absolute URL: RFC 3986 syntax (`scheme:[//authority]path[?query][#fragment]`,
/// only the characters it allows, well-formed `%XX`; in the authority, a userinfo without
/// `@` or brackets, and brackets only around an IPv6 or `IPvFuture` host), with the authority
/// also accepted by the `url` crate (host and port checks).
#[must_use]
pub fn is_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut scheme_bytes = scheme.bytes();
    if !scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return false;
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (hier, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !all_in(fragment, QUERY) || !all_in(query, QUERY) {
        return false;
    }
    match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let (authority, path) = after.split_at_checked(end).unwrap_or((after, ""));
            let prefix_len = scheme.len() + 3 + authority.len();
            is_authority(authority)
                && all_in(path, PATH)
                && text
                    .get(..prefix_len)
                    .is_some_and(|prefix| url::Url::parse(prefix).is_ok())
        }
        None => all_in(hier, PATH),
    }
}

/// `email`: the field must be an email address (ASCII, at most 254 characters; see
/// [`is_email`]).
pub fn email<T: StrRule + ?Sized>(value: &T, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
    if let Some(text) = value.rule_str()
        && !is_email(text)
    {
        fail(errors, path, "not a valid email address");
    }
}

/// `url`: the field must be an absolute URL.
pub fn url<T: StrRule + ?Sized>(value: &T, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
    if let Some(text) = value.rule_str()
        && !is_url(text)
    {
        fail(errors, path, "not a valid url");
    }
}

/// `length(min = .., max = ..)`: characters, items or entries within the bounds.
pub fn length<T: LengthRule + ?Sized>(
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    let Some(len) = value.rule_len() else { return };
    if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
        let message = match (min, max) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            (None, None) => return,
        };
        fail(errors, path, message);
    }
}

/// `non_empty`: at least one character, item or entry.
pub fn non_empty<T: LengthRule + ?Sized>(
    value: &T,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    if value.rule_len() == Some(0) {
        fail(errors, path, "must not be empty");
    }
}

/// `range(min = .., max = ..)`: a number within the bounds (inclusive); an `f32` field is
/// compared with the bounds rounded to `f32` (see [`RangeRule::rule_bound`]). NaN and the
/// infinities are refused whatever the bounds: JSON holds neither, but a number too large for
/// an `f32` field can be read as infinity.
pub fn range<T: RangeRule + ?Sized>(
    value: &T,
    min: Option<f64>,
    max: Option<f64>,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    let Some(number) = value.rule_number() else {
        return;
    };
    // Bounds are finite (the derive refuses others). An integer is compared with the
    // integers the bounds admit, exactly: below `min` means below its ceiling, above `max`
    // above its floor (`as` saturates, and no `i128` lies beyond a bound that large).
    #[allow(clippy::cast_possible_truncation)]
    let (below, above, not_finite) = match number {
        Number::Int(n) => (
            min.is_some_and(|m| n < m.ceil() as i128),
            max.is_some_and(|m| n > m.floor() as i128),
            false,
        ),
        Number::Float(x) => (
            min.is_some_and(|m| x < T::rule_bound(m)),
            max.is_some_and(|m| x > T::rule_bound(m)),
            // JSON has neither, but a number too large for an `f32` may be read as infinity
            // (serde_json does so under some of its features): in no range.
            !x.is_finite(),
        ),
    };
    if not_finite {
        fail(errors, path, "not a finite number of the field's type");
    } else if below || above {
        let message = match (min, max) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            (None, None) => "must be a number".to_owned(),
        };
        fail(errors, path, message);
    }
}

/// `one_of("a", "b")`: one of the listed strings.
pub fn one_of<T: StrRule + ?Sized>(
    value: &T,
    allowed: &'static [&'static str],
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    if let Some(text) = value.rule_str()
        && !allowed.contains(&text)
    {
        let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        fail(errors, path, format!("must be one of {}", list.join(", ")));
    }
}

/// A regular expression checked at compile time by the derive (its syntax, and its compiled
/// size against the runtime's limit) and compiled once, on first use.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl Pattern {
    /// A pattern from its source; compiled lazily.
    #[must_use]
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern's source.
    #[must_use]
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether `text` contains a match. A pattern that cannot be compiled (one built by hand,
    /// not checked by the derive) matches nothing: the rule fails closed.
    #[must_use]
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| regex::Regex::new(self.source).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// `pattern = "…"`: the text contains a match of the regular expression (use `^…$` to anchor).
pub fn pattern<T: StrRule + ?Sized>(
    value: &T,
    pattern: &Pattern,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    if let Some(text) = value.rule_str()
        && !pattern.is_match(text)
    {
        fail(
            errors,
            path,
            format!("does not match the pattern `{}`", pattern.source()),
        );
    }
}

/// `nested`: validate a nested payload (or an `Option`, `Vec`, `Box`… of payloads, see
/// [`NestedRule`]). The derives run the same rules on such a field without `nested`.
pub fn nested<T: NestedRule + ?Sized>(
    value: &T,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    value.validate_nested(path, errors);
}

/// `custom = path::to_fn`: the function returns `Err(message)` to fail. Keep field values out
/// of the message: it is sent to the client.
pub fn custom<E: Into<Cow<'static, str>>>(
    result: Result<(), E>,
    path: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) {
    if let Err(message) = result {
        fail(errors, path, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "x@[127.0.0.1]",
            "a@localhost",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b..com",
            "a@-b.com",
            "a b@c.com",
            "a@b_c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    /// JSON Schema's `email` is RFC 5321: ASCII only (a non-ASCII address is an `idn-email`),
    /// and at most 254 characters.
    #[test]
    fn emails_are_ascii_and_bounded() {
        for bad in ["josé@example.com", "jose@exämple.com", "a@例え.jp"] {
            assert!(!is_email(bad), "{bad}");
        }
        // 64 + 1 + 189 = 254: the longest address accepted
        let domain = format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(61));
        let longest = format!("{}@{domain}", "a".repeat(64));
        assert_eq!(longest.len(), MAX_EMAIL);
        assert!(is_email(&longest));
        let longer = format!("{longest}d");
        assert!(!is_email(&longer));
        // RFC 5321's empty quoted local part, and an address literal's tag in any case.
        for ok in [
            "\"\"@example.com",
            "a@[IPv6:::1]",
            "a@[ipv6:::1]",
            "a@[192.0.2.1]",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["a@[ipv6:192.0.2.1]", "a@[IPv7:::1]", "a@[::1]"] {
            assert!(!is_email(bad), "{bad}");
        }
        let mut errors = ValidationErrors::new();
        email(longer.as_str(), &FieldPath::root(), &mut errors);
        email("josé@example.com", &FieldPath::root(), &mut errors);
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn urls() {
        for ok in [
            "https://example.com",
            "http://a.b/c?d=e#f",
            "mailto:a@b.com",
            "https://x.io/%20",
        ] {
            assert!(is_url(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "/relative",
            "https://a b",
            "https://x.io/%zz",
            "http://x/é",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
    }

    /// RFC 3986's authority: no `@`, `[` or `]` in the userinfo, brackets only around a whole
    /// IPv6 or `IPvFuture` host.
    #[test]
    fn url_authorities() {
        for ok in [
            "https://user:pa%40ss@example.com/",
            "https://user@example.com:8443/x",
            "https://[2001:db8::1]:8443/x",
            "https://[2001:db8::1]/",
            "https://[::1]",
            "https://example.com:/",
            "https://a!$&'()*+,;=b.example/",
        ] {
            assert!(is_url(ok), "{ok}");
        }
        for bad in [
            "https://a@b@example.com/",
            "https://us[er@example.com/",
            "https://us]er@example.com/",
            "https://[user]@example.com/",
            "https://exa[mple.com/",
            "https://example.com]/",
            "https://[2001:db8::1]x/",
            "https://[2001:db8::1]:84a3/",
            "https://[2001:db8::1/",
            "https://[example.com]/",
            "https://[v1.x:y]junk/",
            "https://ex:ample.com:80/",
            "https://example.com:80a/",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
        assert!(is_ip_literal("v1.fe80::a+en1"));
        assert!(!is_ip_literal("v.x"));
        assert!(!is_ip_literal("v1."));
        assert!(!is_ip_literal("vg.x"));
    }

    #[test]
    fn messages_name_the_rule_and_path() {
        let root = FieldPath::root();
        let data = root.field("data");
        let mut errors = ValidationErrors::new();
        email("nope", &data.field("recipient"), &mut errors);
        length("ab", Some(3), Some(5), &data.field("name"), &mut errors);
        range(&11_u8, Some(1.0), Some(10.0), &data.field("n"), &mut errors);
        one_of(
            "medium",
            &["hard", "soft"],
            &data.field("bounce_type"),
            &mut errors,
        );
        non_empty(&Vec::<u8>::new(), &data.field("tags"), &mut errors);
        pattern(
            "ABC",
            &Pattern::new("^[a-z]+$"),
            &data.field("slug"),
            &mut errors,
        );
        custom::<&str>(Err("too late"), &data.field("at"), &mut errors);
        assert_eq!(
            errors.to_string(),
            "data.recipient: not a valid email address; data.name: length must be between 3 and 5; \
             data.n: must be between 1 and 10; data.bounce_type: must be one of `hard`, `soft`; \
             data.tags: must not be empty; data.slug: does not match the pattern `^[a-z]+$`; data.at: too late"
        );
    }

    /// Integers are compared exactly, past 2⁵³ too, where an `f64` cannot tell neighbours
    /// apart; fractional bounds admit the integers inside them.
    #[test]
    fn integer_ranges_are_exact() {
        let check = |value: u64, min: Option<f64>, max: Option<f64>| {
            let mut errors = ValidationErrors::new();
            range(&value, min, max, &FieldPath::root(), &mut errors);
            errors.is_empty()
        };
        let limit = 1_000_000_000_000_000_000_u64; // 10^18, exact as an f64
        #[allow(clippy::cast_precision_loss)]
        let bound = Some(limit as f64);
        assert!(check(limit, None, bound));
        assert!(
            !check(limit + 1, None, bound),
            "10^18 + 1 rounds to 10^18 as an f64"
        );
        assert!(!check(u64::MAX, None, bound));
        assert!(!check(limit - 1, bound, None));
        assert!(check(2, Some(1.5), Some(2.5)));
        assert!(!check(1, Some(1.5), None));
        assert!(!check(3, None, Some(2.5)));
        let mut errors = ValidationErrors::new();
        range(
            &i64::MIN,
            Some(-1e300),
            None,
            &FieldPath::root(),
            &mut errors,
        );
        range(&f64::NAN, Some(0.0), None, &FieldPath::root(), &mut errors);
        assert_eq!(errors.len(), 1, "only NaN fails: {errors}");
        // JSON cannot hold an infinity, but a number too large for an `f32` can reach the
        // rule as one (serde_json rounds `1e39` to infinity under some of its features, and
        // refuses it under others): refused under any bound, even one that rounds to infinity
        // itself.
        let big = f32::INFINITY;
        for (min, max) in [
            (Some(0.0), None),
            (None, Some(1e39)),
            (Some(-1e39), Some(1e39)),
        ] {
            let mut errors = ValidationErrors::new();
            range(&big, min, max, &FieldPath::root(), &mut errors);
            assert_eq!(errors.len(), 1, "{min:?} {max:?}");
        }
    }

    /// An `f32` field meets a bound it holds: `0.1_f32` is at `max = 0.1` (widened, it is
    /// 0.100000001…), `0.3_f32` at `min = 0.3`; the next `f32` beyond either bound is refused.
    #[test]
    fn f32_ranges_compare_at_the_field_precision() {
        let check = |value: f32, min: Option<f64>, max: Option<f64>| {
            let mut errors = ValidationErrors::new();
            range(&value, min, max, &FieldPath::root(), &mut errors);
            range(&Some(value), min, max, &FieldPath::root(), &mut errors);
            match errors.len() {
                0 => true,
                2 => false,
                _ => panic!("`f32` and `Option<f32>` disagree at {value}"),
            }
        };
        let next_up = |x: f32| f32::from_bits(x.to_bits() + 1); // positive x
        let next_down = |x: f32| f32::from_bits(x.to_bits() - 1);
        assert!(check(0.1, None, Some(0.1)));
        assert!(!check(next_up(0.1), None, Some(0.1)));
        assert!(check(0.3, Some(0.3), None));
        assert!(!check(next_down(0.3), Some(0.3), None));
        // 0.7_f32 is below 0.7 and 0.3_f32 above 0.3: both at their bound all the same
        assert!(check(0.7, Some(0.7), None));
        assert!(!check(next_down(0.7), Some(0.7), None));
        assert!(check(0.3, None, Some(0.3)));
        assert!(!check(next_up(0.3), None, Some(0.3)));
        assert!(check(0.2, Some(0.1), Some(0.3)));
        // `f64` fields keep the exact bound
        let mut errors = ValidationErrors::new();
        range(
            &f64::from(0.1_f32),
            None,
            Some(0.1),
            &FieldPath::root(),
            &mut errors,
        );
        assert_eq!(errors.len(), 1);
    }

    /// A payload whose every value fails, for the probe.
    struct Failing;

    impl WebhookPayload for Failing {
        fn validate_at(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
            fail(errors, &path.field("x"), "fails");
        }
        fn json_schema() -> serde_json::Value {
            serde_json::json!({ "type": "object" })
        }
    }

    /// The probe finds the payloads in every shape `NestedRule` takes, and takes the no-op
    /// for any other type; a map's keys are written `*`.
    #[test]
    #[allow(clippy::needless_borrow)] // the borrows are the autoref specialization
    fn the_payload_probe_finds_payloads_and_skips_the_rest() {
        let root = FieldPath::root();
        let at = root.field("f");
        let mut errors = ValidationErrors::new();
        (&&PayloadOf::<Failing>::new()).__webhook_validate_payload(&Failing, &at, &mut errors);
        (&&PayloadOf::<Option<Box<Failing>>>::new()).__webhook_validate_payload(
            &Some(Box::new(Failing)),
            &at,
            &mut errors,
        );
        (&&PayloadOf::<Vec<Failing>>::new()).__webhook_validate_payload(
            &vec![Failing, Failing],
            &at,
            &mut errors,
        );
        (&&PayloadOf::<[Failing; 1]>::new()).__webhook_validate_payload(
            &[Failing],
            &at,
            &mut errors,
        );
        let map = BTreeMap::from([("SECRET".to_owned(), vec![Failing])]);
        (&&PayloadOf::<BTreeMap<String, Vec<Failing>>>::new()).__webhook_validate_payload(
            &map,
            &at,
            &mut errors,
        );
        (&&PayloadOf::<Option<Failing>>::new()).__webhook_validate_payload(&None, &at, &mut errors);
        assert_eq!(
            errors.to_string(),
            "f.x: fails; f.x: fails; f[0].x: fails; f[1].x: fails; f[0].x: fails; f.*[0].x: fails"
        );
        let mut none = ValidationErrors::new();
        (&&PayloadOf::<String>::new()).__webhook_validate_payload(&"x".to_owned(), &at, &mut none);
        (&&PayloadOf::<HashSet<u8>>::new()).__webhook_validate_payload(
            &HashSet::new(),
            &at,
            &mut none,
        );
        (&&PayloadOf::<(Failing, u8)>::new()).__webhook_validate_payload(
            &(Failing, 1),
            &at,
            &mut none,
        );
        assert!(none.is_empty());
        assert_eq!(
            (&&PayloadOf::<String>::new()).__webhook_payload_schema(),
            None
        );
        assert_eq!(
            (&&PayloadOf::<VecDeque<Failing>>::new()).__webhook_payload_schema(),
            Some(serde_json::json!({ "type": "array", "items": { "type": "object" } }))
        );
        assert_eq!(
            (&&PayloadOf::<HashMap<String, Failing>>::new()).__webhook_payload_schema(),
            Some(serde_json::json!({
                "type": "object", "additionalProperties": { "type": "object" }
            }))
        );
    }

    #[test]
    fn options_skip_none() {
        let mut errors = ValidationErrors::new();
        email(&None::<String>, &FieldPath::root(), &mut errors);
        range(
            &None::<u8>,
            Some(1.0),
            None,
            &FieldPath::root(),
            &mut errors,
        );
        assert!(errors.is_empty());
        email(&Some("x".to_owned()), &FieldPath::root(), &mut errors);
        assert_eq!(errors.len(), 1);
    }
}
