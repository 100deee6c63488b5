//! Rules across the model: tagging is coherent, event names are unique, at most one
//! well-formed catch-all, and each field rule fits its field's type.

use std::collections::HashMap;

use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{Container, Data, Field, Style, Variant};
use crate::attr::{self, Rule, RuleKind};
use crate::ctxt::Ctxt;
use crate::symbol::{
    ALIAS, DEFAULT, DENY_UNKNOWN_FIELDS, DESERIALIZE_ONLY_FIELD, DESERIALIZE_ONLY_VARIANT, OTHER,
    RENAME, RENAME_ALL,
};

pub(crate) fn check(cx: &Ctxt, container: &Container<'_>) {
    match &container.data {
        Data::Enum(variants) => {
            check_tagging(cx, container, variants);
            check_names(cx, variants);
            check_catch_all(cx, variants);
            for variant in variants {
                check_variant_serde(cx, variant);
                for field in &variant.fields {
                    if variant.attrs.other.is_some() {
                        // Nothing of the catch-all's fields is read but the two it keeps.
                        if let Some(rule) = field.attrs.rules.first() {
                            cx.error_spanned_by(
                                &rule.keyword,
                                "the catch-all's fields are never validated: it keeps an \
                                 unknown event as it came; remove the rule",
                            );
                        }
                        attr::refuse_serde(cx, &field.original.attrs, |key| {
                            DESERIALIZE_ONLY_FIELD.contains(&key).then(|| {
                                format!(
                                    "`{}` has no effect on the catch-all's fields: it keeps an \
                                     unknown event as it came",
                                    attr::serde_text(key)
                                )
                            })
                        });
                    } else if variant.style == Style::Newtype {
                        if let Some(rule) = field.attrs.rules.first() {
                            cx.error_spanned_by(
                                &rule.keyword,
                                "rules go on the payload type's fields: derive `WebhookPayload` on it",
                            );
                        }
                        attr::refuse_serde(cx, &field.original.attrs, |key| {
                            DESERIALIZE_ONLY_FIELD.contains(&key).then(|| {
                                format!(
                                    "`{}` has no effect on decoding a newtype variant's \
                                     payload: put serde attributes on the payload type",
                                    attr::serde_text(key)
                                )
                            })
                        });
                    } else {
                        if variant.style == Style::Struct {
                            attr::refuse_serde(cx, &field.original.attrs, |key| {
                                (key == ALIAS).then(|| {
                                    "`#[serde(alias)]` is not supported on an event's field: the \
                                     schema and the event id path know the field by one name; \
                                     use `rename`"
                                        .to_owned()
                                })
                            });
                        }
                        check_field(cx, field);
                    }
                }
            }
        }
        Data::Struct(fields) => fields.iter().for_each(|f| {
            attr::refuse_serde(cx, &f.original.attrs, |key| {
                (key == ALIAS).then(|| {
                    "`#[serde(alias)]` is not supported on a payload's field: the schema and the \
                     event id path know the field by one name; use `rename`"
                        .to_owned()
                })
            });
            check_field(cx, f);
        }),
    }
}

/// The `#[serde(...)]` settings a struct variant passes to the serde struct its fields are
/// read with (`rename` and `bound` there are harmless, and shape a `Serialize` the application
/// derives): the rest give the payload another shape than its fields, which the schema and
/// error paths describe.
const VARIANT_SERDE: &[&str] = &[RENAME_ALL, DENY_UNKNOWN_FIELDS, DEFAULT, RENAME, "bound"];

/// `#[serde(...)]` on a variant. Serde's settings shape a `Serialize` the application derives;
/// decoding reads the event's name from `#[webhook(...)]`, and a struct variant's fields with
/// its `rename_all`, `deny_unknown_fields` and `default`. Refused: what can only mean
/// deserialization (decoding would not follow it), and on a struct variant what would give
/// its fields another shape.
fn check_variant_serde(cx: &Ctxt, variant: &Variant<'_>) {
    let catch_all = variant.attrs.other.is_some();
    attr::refuse_serde(cx, &variant.original.attrs, |key| {
        let serde = attr::serde_text(key);
        if key == ALIAS || key == OTHER {
            return Some(format!(
                "`{serde}` has no effect on decoding: write `#[webhook({key}{})]`",
                if key == ALIAS { " = \"…\"" } else { "" }
            ));
        }
        let decodes_fields = variant.style == Style::Struct && !catch_all;
        if decodes_fields {
            return (!VARIANT_SERDE.contains(&key)).then(|| {
                format!(
                    "`{serde}` is not supported on an event variant: the schema and error paths \
                     describe its fields as an object; a variant takes serde's `rename_all`, \
                     `deny_unknown_fields` and `default`"
                )
            });
        }
        if !DESERIALIZE_ONLY_VARIANT.contains(&key) {
            return None;
        }
        Some(if catch_all {
            format!(
                "`{serde}` has no effect on the catch-all: it keeps an unknown event as it came"
            )
        } else if variant.style == Style::Newtype {
            format!(
                "`{serde}` has no effect on decoding a newtype variant: put serde attributes on \
                 the payload type"
            )
        } else {
            format!("`{serde}` has no effect on a unit variant: it has no payload")
        })
    });
}

fn check_tagging(cx: &Ctxt, container: &Container<'_>, variants: &[Variant<'_>]) {
    let attrs = &container.attrs;
    match (&attrs.tag, &attrs.tag_header) {
        (None, None) => cx.error_spanned_by(
            container.ident,
            "missing event tag: add `#[webhook(tag = \"type\")]` (a body field), \
             `#[webhook(tag = \"type\", content = \"data\")]` or `#[webhook(tag_header = \"X-Event\")]`",
        ),
        (Some(_), Some(header)) => {
            cx.error_spanned_by(header, "`tag` and `tag_header` exclude each other: the event type is in one place");
        }
        _ => {}
    }
    if let Some(content) = &attrs.content {
        if attrs.tag.is_none() {
            cx.error_spanned_by(
                content,
                "`content` needs `tag`: `#[webhook(tag = \"type\", content = \"data\")]`",
            );
        } else if attrs
            .tag
            .as_ref()
            .is_some_and(|t| t.value() == content.value())
        {
            cx.error_spanned_by(content, "`content` and `tag` must be different fields");
        }
    }
    if let Some(header) = &attrs.id_header {
        cx.error_spanned_by(
            header,
            "`id_header` is not supported: a header the signature does not cover cannot key \
             deduplication (anyone replaying a delivery could change it); a scheme that signs \
             its id header reads it itself as the message id, and an id in the body is given \
             with `id = \"…\"`",
        );
    }
    for (name, lit) in [("id", &attrs.id), ("timestamp", &attrs.timestamp)] {
        if let Some(lit) = lit
            && lit.value().split('.').any(str::is_empty)
        {
            cx.error_spanned_by(
                lit,
                format!("`{name}` is a dotted path such as \"data.id\", without empty segments"),
            );
        }
    }
    if variants.is_empty() {
        cx.error_spanned_by(
            container.ident,
            "an event set needs at least one event type",
        );
    }
}

fn check_names(cx: &Ctxt, variants: &[Variant<'_>]) {
    let mut seen: HashMap<String, &syn::Ident> = HashMap::new();
    for variant in variants.iter().filter(|v| v.attrs.other.is_none()) {
        let mut spans: Vec<(String, Box<dyn ToTokens + '_>)> = Vec::new();
        let first: Box<dyn ToTokens + '_> = match &variant.attrs.rename {
            Some(lit) => Box::new(lit),
            None => Box::new(variant.ident),
        };
        spans.push((variant.name.clone(), first));
        for alias in &variant.attrs.aliases {
            spans.push((alias.value(), Box::new(alias)));
        }
        for (name, tokens) in spans {
            match seen.get(&name) {
                Some(owner) if *owner == variant.ident => {
                    cx.error_spanned_by(
                        tokens,
                        format!("event name \"{name}\" is listed twice for variant `{owner}`"),
                    );
                }
                Some(owner) => {
                    cx.error_spanned_by(
                        tokens,
                        format!("event name \"{name}\" is already used by variant `{owner}`"),
                    );
                }
                None => {
                    seen.insert(name, variant.ident);
                }
            }
        }
    }
    // A unit catch-all names itself (`event_type()`, the span) when the type sent is not
    // one an event id could be: a listed event's name would be told apart from it by nothing.
    for variant in variants.iter().filter(|v| v.attrs.other.is_some()) {
        if let Some(owner) = seen.get(&variant.name) {
            let tokens: Box<dyn ToTokens + '_> = match &variant.attrs.rename {
                Some(lit) => Box::new(lit),
                None => Box::new(variant.ident),
            };
            cx.error_spanned_by(
                tokens,
                format!(
                    "the catch-all's name \"{}\" is already the event name of variant `{owner}`: \
                     give the catch-all variant another name",
                    variant.name
                ),
            );
        }
    }
}

fn check_catch_all(cx: &Ctxt, variants: &[Variant<'_>]) {
    let mut first: Option<&syn::Ident> = None;
    for variant in variants {
        let Some(other) = &variant.attrs.other else {
            continue;
        };
        if let Some(first) = first {
            cx.error_spanned_by(
                other,
                format!("only one #[webhook(other)] variant is allowed; `{first}` is already the catch-all"),
            );
        } else {
            first = Some(variant.ident);
        }
        if let Some(rename) = &variant.attrs.rename {
            cx.error_spanned_by(
                rename,
                "a catch-all has no event name of its own: remove `rename`",
            );
        }
        if let Some(alias) = variant.attrs.aliases.first() {
            cx.error_spanned_by(
                alias,
                "a catch-all has no event name of its own: remove `alias`",
            );
        }
        if catch_all_shape(variant).is_none() {
            cx.error_spanned_by(
                &variant.original.fields,
                "#[webhook(other)] must be on a unit variant, or on a variant \
                 `{ event_type: String, payload: serde_json::Value }` that keeps the unknown event",
            );
        }
    }
}

/// The catch-all's shape: `Some(false)` unit, `Some(true)` keeping, `None` malformed.
pub(crate) fn catch_all_shape(variant: &Variant<'_>) -> Option<bool> {
    match variant.style {
        Style::Unit => Some(false),
        Style::Struct => {
            let mut names: Vec<String> = variant
                .fields
                .iter()
                .map(|f| f.member.to_token_stream().to_string())
                .collect();
            names.sort();
            (names == ["event_type", "payload"]).then_some(true)
        }
        Style::Newtype => None,
    }
}

/// What a type is, as far as its spelling tells.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Collection,
    Scalar,
    Json,
    Unknown,
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

/// Whether the field is written `Option<…>` (or `Box<Option<…>>`): serde reads it as `None`
/// when absent, whatever `T` is, so the schema must not require it.
pub(crate) fn written_option(ty: &Type) -> bool {
    match ty {
        Type::Group(g) => written_option(&g.elem),
        Type::Paren(p) => written_option(&p.elem),
        _ => match last_segment(ty) {
            Some(seg) if seg.ident == "Option" => true,
            Some(seg) if seg.ident == "Box" => match &seg.arguments {
                PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                    matches!(args.args.first(), Some(GenericArgument::Type(inner)) if written_option(inner))
                }
                _ => false,
            },
            _ => false,
        },
    }
}

/// `Option<T>` → `T`, `&T` → `T`, `Box<T>` → `T` (for classification only).
fn unwrap_type(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => unwrap_type(&r.elem),
        Type::Group(g) => unwrap_type(&g.elem),
        Type::Paren(p) => unwrap_type(&p.elem),
        _ => match last_segment(ty) {
            Some(seg) if seg.ident == "Option" || seg.ident == "Box" => match &seg.arguments {
                PathArguments::AngleBracketed(args) => match args.args.first() {
                    Some(GenericArgument::Type(inner)) if args.args.len() == 1 => {
                        unwrap_type(inner)
                    }
                    _ => ty,
                },
                _ => ty,
            },
            _ => ty,
        },
    }
}

fn kind(ty: &Type) -> Kind {
    let ty = unwrap_type(ty);
    if matches!(ty, Type::Slice(_) | Type::Array(_)) {
        return Kind::Collection;
    }
    let Some(seg) = last_segment(ty) else {
        return Kind::Unknown;
    };
    match seg.ident.to_string().as_str() {
        "String" | "str" | "Cow" => Kind::Text,
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" | "f32" | "f64" => Kind::Number,
        "Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "HashMap" | "BTreeMap" | "Map" => {
            Kind::Collection
        }
        "bool" | "char" => Kind::Scalar,
        "Value" => Kind::Json,
        _ => Kind::Unknown,
    }
}

/// Whether the type's spelling shows a `HashSet` or `BTreeSet` (behind `Option`, `Box` or `&`).
fn is_set(ty: &Type) -> bool {
    last_segment(unwrap_type(ty))
        .is_some_and(|seg| seg.ident == "HashSet" || seg.ident == "BTreeSet")
}

/// Whether the type's spelling shows text, a number, `bool` or `char` (behind `Option`, `Box`
/// or `&`): no payload rules can be inside.
pub(crate) fn is_scalar(ty: &Type) -> bool {
    matches!(kind(ty), Kind::Text | Kind::Number | Kind::Scalar)
}

fn check_rule(cx: &Ctxt, field: &Field<'_>, rule: &Rule) {
    let kind = kind(field.ty);
    if kind == Kind::Unknown {
        return; // the trait bounds in the generated code decide, spanned on the field's type
    }
    let (fits, needs) = match rule.kind {
        RuleKind::Email | RuleKind::Url | RuleKind::Pattern(_) | RuleKind::OneOf(_) => {
            (kind == Kind::Text, "it checks strings")
        }
        RuleKind::Length { .. } | RuleKind::NonEmpty => (
            matches!(kind, Kind::Text | Kind::Collection),
            "it measures strings, lists and maps",
        ),
        RuleKind::Range { .. } => (kind == Kind::Number, "it bounds numbers"),
        RuleKind::Nested => (
            !matches!(kind, Kind::Text | Kind::Number | Kind::Scalar | Kind::Json),
            "it descends into payload types that derive `WebhookPayload`",
        ),
        RuleKind::Custom(_) => (true, ""),
    };
    if let RuleKind::Length { .. } = rule.kind
        && is_set(field.ty)
    {
        cx.error_spanned_by(
            &rule.keyword,
            "`length` cannot apply to a set: serde merges a list's repeated items into one \
             before the rule could count them, while the schema's `minItems`/`maxItems` count \
             the list as sent; use a `Vec`, or `non_empty`",
        );
        return;
    }
    if !fits {
        let ty = field
            .ty
            .to_token_stream()
            .to_string()
            .replace(" < ", "<")
            .replace(" >", ">")
            .replace("< ", "<");
        cx.error_spanned_by(
            &rule.keyword,
            format!(
                "`{}` cannot apply to a field of type `{ty}`: {needs}",
                rule.keyword
            ),
        );
    }
}

fn check_field(cx: &Ctxt, field: &Field<'_>) {
    if let (Some(span), Some(rule)) = (field.attrs.serde.skip, field.attrs.rules.first()) {
        let _ = span;
        cx.error_spanned_by(
            &rule.keyword,
            "a `#[serde(skip)]` field is never read, so its rules would never run",
        );
    }
    for rule in &field.attrs.rules {
        check_rule(cx, field, rule);
    }
}
