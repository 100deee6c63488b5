//! The derives' generated code under strict lints: shadowed prelude, crate and primitive
//! names, `#![no_implicit_prelude]`, relative `crate` paths, fields and variants named like
//! generated locals, raw identifiers, odd shapes, serde attributes beside, local items, and
//! a blanket trait in scope whose methods are named like common probe methods.
#![deny(
    missing_docs,
    unused_qualifications,
    unsafe_code,
    unreachable_pub,
    missing_debug_implementations,
    unused_results,
    single_use_lifetimes,
    unused_lifetimes,
    trivial_casts,
    trivial_numeric_casts,
    rust_2018_idioms,
    unused_extern_crates,
    let_underscore_drop,
    unit_bindings,
    unused_import_braces,
    redundant_lifetimes,
    unnameable_types,
    non_local_definitions,
    warnings
)]
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use webhook::{WebhookEvent, WebhookPayload};

/// A documented public event set.
#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "data.id", timestamp = "ts")]
pub enum PublicEvents {
    /// doc on a variant
    #[webhook(rename = "a")]
    A {
        /// doc on a field
        #[webhook(email)]
        to: String,
        /// id
        id: String,
    },
    /// newtype
    B(Payload),
    /// unit
    C,
    /// keeping catch-all
    #[webhook(other)]
    Other {
        /// name
        event_type: String,
        /// json
        payload: ::serde_json::Value,
    },
}

/// A documented public payload.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Payload {
    /// rules of every kind
    #[webhook(email)]
    pub to: String,
    /// url
    #[webhook(url)]
    pub link: Option<String>,
    /// length
    #[webhook(length(min = 1, max = 4))]
    pub tags: Vec<String>,
    /// range
    #[webhook(range(min = 1, max = 100_000_000))]
    pub n: u64,
    /// pattern
    #[webhook(pattern = "^[a-z]+$")]
    pub p: String,
    /// one_of
    #[webhook(one_of("x", "y"))]
    pub k: String,
    /// non_empty
    #[webhook(non_empty)]
    pub s: String,
    /// custom
    #[webhook(custom = small)]
    pub c: i64,
    /// nested
    #[webhook(nested)]
    pub inner: Option<Box<Inner>>,
    /// probe
    pub items: Vec<Inner>,
}

/// Inner.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Inner {
    /// x
    #[webhook(range(max = 9))]
    pub x: u8,
}

fn small(n: &i64) -> Result<(), &'static str> {
    if *n < 5 { Ok(()) } else { Err("big") }
}

// Shadowed prelude names and crate names at module level.
mod shadow {
    #![allow(non_upper_case_globals, non_camel_case_types, unused_imports, unused_macros)]
    use ::serde::Deserialize;
    struct Result;
    struct Option;
    struct String;
    struct Vec;
    struct Default;
    struct Sized;
    const Some: () = ();
    const None: () = ();
    const Ok: () = ();
    const Err: () = ();
    mod serde {}
    mod serde_json {}
    mod webhook {}
    mod webhook_core {}
    mod core {}
    mod std {}
    macro_rules! matches { ($($t:tt)*) => { compile_error!("shadowed matches!") } }
    macro_rules! vec { ($($t:tt)*) => { compile_error!("shadowed vec!") } }
    macro_rules! unreachable { ($($t:tt)*) => { compile_error!("shadowed unreachable!") } }
    trait Deserializer {}
    trait WebhookPayload {}
    type Value = u8;

    #[derive(::std::fmt::Debug, Deserialize, ::webhook::WebhookPayload)]
    struct P {
        #[webhook(email)]
        to: ::std::string::String,
        #[webhook(range(min = 1))]
        n: i64,
        #[webhook(pattern = "^a$")]
        p: ::std::string::String,
        #[webhook(one_of("a"))]
        k: ::std::option::Option<::std::string::String>,
        #[webhook(length(max = 3))]
        v: ::std::vec::Vec<Q>,
        #[serde(default)]
        q: ::std::option::Option<::std::boxed::Box<Q>>,
    }

    #[derive(::std::fmt::Debug, Deserialize, ::webhook::WebhookPayload)]
    struct Q {
        #[webhook(non_empty)]
        s: ::std::string::String,
    }

    #[derive(::std::fmt::Debug, ::webhook::WebhookEvent)]
    #[webhook(tag = "type", id = "id", deny_unknown_fields)]
    enum E {
        A {
            #[webhook(length(min = 1))]
            x: ::std::string::String,
            #[serde(default)]
            y: ::std::vec::Vec<P>,
            #[webhook(url)]
            u: ::std::string::String,
        },
        B(P),
        C,
        #[serde(default)]
        D { z: u8 },
        #[webhook(other)]
        Other { event_type: ::std::string::String, payload: ::serde_json::Value },
    }
}

// #![no_implicit_prelude]
mod nip {
    #![no_implicit_prelude]

    #[derive(::std::fmt::Debug, ::serde::Deserialize, ::webhook::WebhookPayload)]
    struct P {
        #[webhook(email)]
        to: ::std::string::String,
        #[webhook(range(min = 1, max = 5.5))]
        n: f32,
        #[webhook(pattern = "^a$")]
        p: ::std::string::String,
        #[webhook(one_of("a"))]
        k: ::std::string::String,
        #[webhook(nested)]
        q: ::std::option::Option<::std::boxed::Box<P>>,
        m: ::std::collections::HashMap<::std::string::String, Q>,
    }

    #[derive(::std::fmt::Debug, ::serde::Deserialize, ::webhook::WebhookPayload)]
    struct Q {
        #[webhook(length(min = 1))]
        s: ::std::string::String,
    }

    #[derive(::std::fmt::Debug, ::webhook::WebhookEvent)]
    #[webhook(tag = "type", content = "data", id = "data.id", timestamp = "ts", rename_all = "snake_case")]
    enum E {
        Alpha {
            #[webhook(length(min = 1))]
            x: ::std::string::String,
            #[serde(default)]
            y: ::std::vec::Vec<P>,
        },
        Beta(P),
        Gamma,
        #[webhook(other)]
        Unhandled,
    }

    #[derive(::std::fmt::Debug, ::webhook::WebhookEvent)]
    #[webhook(tag_header = "X-Event")]
    enum H {
        A(::serde_json::Value),
        #[webhook(other)]
        Other { event_type: ::std::string::String, payload: ::serde_json::Value },
    }
}

// Non-global `crate` paths, with `unused_qualifications` denied.
mod krate {
    pub(crate) use ::webhook as wh;

    #[derive(Debug, serde::Deserialize, webhook::WebhookPayload)]
    #[webhook(crate = "webhook")]
    struct P {
        #[webhook(email)]
        to: String,
        inner: Option<Box<P>>,
    }

    #[derive(Debug, webhook::WebhookEvent)]
    #[webhook(crate = "crate::krate::wh", tag = "type", id = "id")]
    enum E {
        A { #[webhook(range(min = 1))] n: i32, p: P },
        B(P),
        #[webhook(other)]
        Other { event_type: String, payload: serde_json::Value },
    }
}

// Names like the generated locals; raw identifiers; variants named like std items.
mod names {
    use super::*;

    #[derive(Debug, Deserialize, WebhookPayload)]
    struct P {
        #[webhook(email)]
        value: String,
        #[webhook(length(min = 1))]
        map: String,
        #[webhook(non_empty)]
        de: String,
        #[webhook(non_empty)]
        errors: String,
        #[webhook(non_empty)]
        __field0: String,
        #[webhook(non_empty)]
        __p: String,
        #[webhook(non_empty)]
        __path: String,
        #[webhook(non_empty)]
        __errors: String,
        __object: Option<String>,
        __s: Option<String>,
        __probe: Option<String>,
        __optional: Option<String>,
        #[webhook(one_of("a"))]
        r#type: String,
        #[webhook(non_empty)]
        r#ref: String,
    }

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type", content = "data", rename_all = "snake_case")]
    #[allow(non_camel_case_types, non_snake_case)]
    enum E {
        Unknown,
        Other { value: String },
        None,
        Some(P),
        Ok { __fields: String, __deserializer: String, __index: String, __D: Option<String>, de: String },
        Err { #[webhook(non_empty)] __field1: String, #[webhook(non_empty)] __field0: String, #[webhook(email)] event_type: String, #[webhook(email)] payload: String },
        r#type { #[webhook(one_of("x"))] r#type: String, r#match: u8 },
        Empty {},
        TAGGING,
        #[webhook(other)]
        Unhandled,
    }
}

// Only a catch-all; one variant; pub(crate); cfg; cfg_attr; docs.
mod shapes {
    use super::*;

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    pub(crate) enum OnlyCatchAll {
        #[webhook(other)]
        Unhandled,
    }

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    pub(crate) enum One {
        A,
    }

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    pub(crate) enum WithCfg {
        /// doc
        #[cfg(any())]
        Gone { x: NotAType },
        #[cfg_attr(all(), webhook(rename = "b.b"))]
        B {
            #[cfg(any())]
            gone: NotAType,
            #[cfg_attr(all(), webhook(email))]
            to: String,
        },
        #[doc = "doc"]
        C,
    }

    #[derive(Debug, WebhookEvent)]
    #[repr(u8)]
    #[webhook(tag = "type")]
    pub(crate) enum Disc {
        A = 1,
        B = 2,
    }
}

// serde attributes for a Serialize derived beside.
mod with_serde {
    use super::*;

    mod as_string {
        pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
            let s = <String as serde::Deserialize>::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        }
        pub(crate) fn serialize<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&v.to_string())
        }
    }

    #[derive(Debug, Serialize, WebhookEvent)]
    #[serde(tag = "kind", rename_all = "kebab-case")]
    #[webhook(tag = "type", rename_all = "snake_case")]
    enum E {
        #[serde(rename = "first", rename_all = "camelCase")]
        FirstThing {
            #[serde(rename = "theValue", with = "as_string")]
            the_value: u32,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            maybe_value: Option<u8>,
        },
        #[serde(rename = "second")]
        Second,
    }
}

// Items local to a function.
fn local() {
    #[derive(Debug, Deserialize, WebhookPayload)]
    struct LocalP {
        #[webhook(email)]
        to: String,
    }
    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    enum LocalE {
        A { p: LocalP, #[webhook(custom = local_check)] n: u8 },
        B(LocalP),
    }
    fn local_check(_: &u8) -> Result<(), &'static str> {
        Ok(())
    }
    let _e = LocalE::decode(&webhook::WebhookRequest::new(b"{}"));
}

// Primitive type names shadowed where the event derive expands (serde's own derive, which
// the struct variants' hidden payloads use, writes them bare: payloads come from outside).
mod primitives {
    #![allow(non_camel_case_types, dead_code)]
    use super::*;
    struct str;
    struct usize;
    struct bool;

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type", content = "data")]
    enum E {
        A(Payload),
        B(serde_json::Value),
        C,
        #[webhook(other)]
        Other {
            event_type: String,
            payload: serde_json::Value,
        },
    }
}

// A trait in scope, implemented for everything, with methods named `schema`, `optional`,
// `validate_payload` and `payload_schema`.
mod blanket {
    use super::*;

    trait Describe {
        fn schema(&self) -> u8 {
            0
        }
        fn optional(&self) -> u8 {
            0
        }
        fn validate_payload(&self) {}
        fn payload_schema(&self) -> u8 {
            0
        }
    }
    impl<T: ?Sized> Describe for T {}

    #[derive(Debug, Deserialize, WebhookPayload)]
    struct P {
        #[webhook(non_empty)]
        to: String,
        inner: Option<Box<P>>,
        items: Vec<String>,
    }

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    enum E {
        A { p: P, n: Option<u8> },
        B(P),
    }

    pub(super) fn run() {
        let _ = 1u8.schema() + 1u8.optional() + 1u8.payload_schema();
        1u8.validate_payload();
        let decoded = E::decode(&webhook::WebhookRequest::new(
            br#"{"type":"A","p":{"to":"x","items":[]},"n":1}"#,
        ));
        assert!(decoded.is_ok());
        assert!(E::json_schema().is_object());
    }
}

// A closed set whose variant has a field keyed like the tag: the field reads the tag.
mod tag_field {
    use super::*;

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type", deny_unknown_fields)]
    enum T {
        A {
            r#type: String,
            n: u8,
        },
        B {
            n: u8,
        },
        // Skipped: the field does not read the tag, which stays known.
        C {
            #[serde(skip)]
            r#type: String,
            n: u8,
        },
    }

    pub(super) fn run() {
        let decode = |body: &[u8]| T::decode(&webhook::WebhookRequest::new(body));
        match decode(br#"{"type":"A","n":1}"#) {
            Ok(T::A { r#type, n }) => assert_eq!((r#type.as_str(), n), ("A", 1)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(decode(br#"{"type":"B","n":2}"#), Ok(T::B { n: 2 })));
        assert!(decode(br#"{"type":"A","n":1,"x":0}"#).is_err());
        assert!(decode(br#"{"type":"B","n":1,"x":0}"#).is_err());
        match decode(br#"{"type":"C","n":3}"#) {
            Ok(T::C { r#type, n }) => assert_eq!((r#type.as_str(), n), ("", 3)),
            other => panic!("{other:?}"),
        }
        // Each branch lists a required key once (JSON Schema wants them unique).
        let schema = T::json_schema();
        let text = schema.to_string();
        for branch in schema["oneOf"].as_array().expect(&text) {
            let required: Vec<&str> = branch["required"]
                .as_array()
                .expect(&text)
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            let mut unique = required.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), required.len(), "{text}");
            assert!(required.contains(&"type"), "{text}");
        }
    }
}

// A keeping catch-all whose name is a `Box<str>`: built with `From`.
mod catch_all_types {
    use super::*;

    #[derive(Debug, WebhookEvent)]
    #[webhook(tag = "type")]
    enum E {
        A,
        #[webhook(other)]
        Other {
            event_type: Box<str>,
            payload: serde_json::Value,
        },
    }

    pub(super) fn run() {
        let decoded = E::decode(&webhook::WebhookRequest::new(br#"{"type":"z.z","k":1}"#));
        assert_eq!(decoded.as_ref().map(WebhookEvent::event_type).ok(), Some("z.z"));
        match decoded {
            Ok(E::Other {
                event_type,
                payload,
            }) => assert_eq!((&*event_type, &payload["k"]), ("z.z", &serde_json::json!(1))),
            other => panic!("{other:?}"),
        }
    }
}

fn main() {
    catch_all_types::run();
    tag_field::run();
    local();
    blanket::run();
}
