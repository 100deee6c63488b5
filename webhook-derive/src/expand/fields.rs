//! Per-field code shared by both derives: the rule calls and the field's JSON Schema.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Field;
use crate::attr::RuleKind;

fn opt<T: quote::ToTokens>(value: Option<T>, private: &TokenStream) -> TokenStream {
    match value {
        Some(v) => quote!(#private::Some(#v)),
        None => quote!(#private::None),
    }
}

fn float(value: Option<f64>, private: &TokenStream) -> TokenStream {
    opt(value.map(proc_macro2::Literal::f64_suffixed), private)
}

/// Whether the field's type carries payload rules for the derive to look for: every type but
/// those its spelling shows to be text, a number, `bool` or `char` (a payload struct is named
/// none of these), and a `#[serde(skip)]` field's, which is never read.
fn may_hold_payload(field: &Field<'_>) -> bool {
    field.attrs.serde.skip.is_none() && !crate::check::is_scalar(field.ty)
}

/// The type under the `Box` layers the field's type is written with, and how many there are:
/// a `Box` adds nothing to a payload's rules or schema, and its contents (a `Vec` of payloads,
/// say) are probed as the field itself would be.
fn unboxed(mut ty: &syn::Type) -> (&syn::Type, usize) {
    let mut layers = 0;
    loop {
        let syn::Type::Path(path) = ty else {
            return (ty, layers);
        };
        let inner = path.qself.is_none().then_some(()).and_then(|()| {
            let last = path.path.segments.last()?;
            if last.ident != "Box" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            match args.args.iter().collect::<Vec<_>>().as_slice() {
                [syn::GenericArgument::Type(inner)] => Some(inner),
                _ => None,
            }
        });
        match inner {
            Some(inner) => {
                ty = inner;
                layers += 1;
            }
            None => return (ty, layers),
        }
    }
}

/// `value` (an expression of type `&Field`) as a reference to what its `Box` layers hold.
fn unbox_value(value: &TokenStream, layers: usize) -> TokenStream {
    if layers == 0 {
        return value.clone();
    }
    let stars = std::iter::repeat_n(quote!(*), layers + 1);
    quote!(&#(#stars)*(#value))
}

/// The rule calls for one field. `value` is an expression of type `&FieldType`; `path` and
/// `errors` name the parent path and the error list in scope.
///
/// Besides its own rules, a field whose type is a `WebhookPayload` (or an `Option`, `Vec`,
/// map… of them) runs the payload's rules, found by the `PayloadOf` probe (autoref
/// specialization on the field's concrete type: the derives take no generic parameters), so
/// a payload's rules run wherever it appears. `nested` asserts the same: with it, the field's
/// type must carry payload rules (a compile error otherwise), and the probe is not needed.
pub(crate) fn validate(
    field: &Field<'_>,
    value: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let explicit = field
        .attrs
        .rules
        .iter()
        .any(|r| matches!(r.kind, RuleKind::Nested));
    let probe = !explicit && may_hold_payload(field);
    if field.attrs.rules.is_empty() && !probe {
        return TokenStream::new();
    }
    let key = &field.key;
    let ty = field.ty;
    let span = ty.span();
    // A flattened field's keys are its parent's.
    let payload_path = if field.attrs.serde.flatten {
        quote!(__path)
    } else {
        quote!(&__p)
    };
    let calls = field.attrs.rules.iter().map(|rule| {
        let rules = quote!(#private::rules);
        match &rule.kind {
            RuleKind::Email => quote_spanned!(span=> #rules::email(#value, &__p, __errors);),
            RuleKind::Url => quote_spanned!(span=> #rules::url(#value, &__p, __errors);),
            RuleKind::NonEmpty => quote_spanned!(span=> #rules::non_empty(#value, &__p, __errors);),
            RuleKind::Length { min, max } => {
                let (min, max) = (opt(*min, private), opt(*max, private));
                quote_spanned!(span=> #rules::length(#value, #min, #max, &__p, __errors);)
            }
            RuleKind::Range { min, max } => {
                let (min, max) = (float(*min, private), float(*max, private));
                quote_spanned!(span=> #rules::range(#value, #min, #max, &__p, __errors);)
            }
            RuleKind::Pattern(lit) => quote_spanned! {span=>
                {
                    static __PATTERN: #rules::Pattern = #rules::Pattern::new(#lit);
                    #rules::pattern(#value, &__PATTERN, &__p, __errors);
                }
            },
            RuleKind::OneOf(values) => quote_spanned! {span=>
                #rules::one_of(#value, &[#(#values),*], &__p, __errors);
            },
            RuleKind::Nested => {
                let (_, layers) = unboxed(ty);
                let value = unbox_value(value, layers);
                quote_spanned!(span=> #rules::nested(#value, #payload_path, __errors);)
            }
            RuleKind::Custom(path) => {
                let span = path.span();
                quote_spanned!(span=> #rules::custom(#path(#value), &__p, __errors);)
            }
        }
    });
    let payload = probe.then(|| {
        let (inner, layers) = unboxed(ty);
        let value = unbox_value(value, layers);
        quote! {
            {
                #[allow(unused_imports)]
                use #private::rules::{ViaNoPayload as _, ViaPayload as _};
                (&&#private::rules::PayloadOf::<#inner>::new())
                    .__webhook_validate_payload(#value, #payload_path, __errors);
            }
        }
    });
    quote! {
        {
            let __p = __path.field(#key);
            #(#calls)*
            #payload
        }
    }
}

/// Add this field to the object schema builder `__object` in scope. `container_default` is a
/// container-level `#[serde(default)]`.
pub(crate) fn schema(
    field: &Field<'_>,
    container_default: bool,
    private: &TokenStream,
) -> TokenStream {
    if field.attrs.serde.skip.is_some() {
        return TokenStream::new();
    }
    let ty = field.ty;
    let span = ty.span();
    let key = &field.key;
    let nested = field
        .attrs
        .rules
        .iter()
        .any(|r| matches!(r.kind, RuleKind::Nested));
    if field.attrs.serde.flatten {
        return quote!(__object.flatten(););
    }
    // The payloads' schema for a field that holds payloads, `nested` or not (see `validate`,
    // whose `nested` call alone reports a field that holds none).
    let with = field.attrs.serde.with;
    let base = if with {
        // Whatever the application's function reads: any value, as far as the schema knows.
        quote!(#private::serde_json::Value::Bool(true))
    } else if nested || may_hold_payload(field) {
        let (ty, _) = unboxed(ty);
        quote! {
            {
                #[allow(unused_imports)]
                use #private::rules::{ViaNoPayload as _, ViaPayload as _};
                match (&&#private::rules::PayloadOf::<#ty>::new()).__webhook_payload_schema() {
                    #private::Some(__payload) => __payload,
                    #private::None => (&__probe).__webhook_schema(),
                }
            }
        }
    } else {
        quote!((&__probe).__webhook_schema())
    };
    // A field read by a function of the application's: its rules check the value the function
    // made, and say nothing of the JSON sent.
    let rules: &[_] = if with { &[] } else { &field.attrs.rules };
    let keywords = rules.iter().map(|rule| {
        let schema = quote!(#private::schema);
        match &rule.kind {
            RuleKind::Email => quote!(#schema::format(&mut __s, "email");),
            RuleKind::Url => quote!(#schema::format(&mut __s, "uri");),
            RuleKind::NonEmpty => quote_spanned! {span=>
                #schema::length(&mut __s, <#ty as #private::rules::LengthRule>::KEYWORDS, #private::Some(1), #private::None);
            },
            RuleKind::Length { min, max } => {
                let (min, max) = (opt(*min, private), opt(*max, private));
                quote_spanned! {span=>
                    #schema::length(&mut __s, <#ty as #private::rules::LengthRule>::KEYWORDS, #min, #max);
                }
            }
            RuleKind::Range { min, max } => {
                let (min, max) = (float(*min, private), float(*max, private));
                quote!(#schema::range(&mut __s, #min, #max);)
            }
            RuleKind::Pattern(lit) => quote!(#schema::pattern(&mut __s, #lit);),
            RuleKind::OneOf(values) => quote!(#schema::one_of(&mut __s, &[#(#values),*], __optional);),
            RuleKind::Nested | RuleKind::Custom(_) => TokenStream::new(),
        }
    });
    let has_default = field.attrs.serde.default || container_default;
    // Written `Option<…>`: optional even when `T` has no schema of its own (a payload struct,
    // a date type), which the probe alone would take as required.
    let written_option = crate::check::written_option(ty);
    quote! {
        {
            #[allow(unused_imports)]
            use #private::{ViaFallback as _, ViaFieldSchema as _};
            let __probe = #private::SchemaOf::<#ty>::new();
            let __optional: ::core::primitive::bool = !#with && (#written_option || (&__probe).__webhook_optional());
            #[allow(unused_mut)]
            let mut __s: #private::serde_json::Value = #base;
            #(#keywords)*
            __object.field(#key, __s, !__optional && !#has_default);
        }
    }
}

/// The object schema of a list of fields.
pub(crate) fn object_schema(
    fields: &[Field<'_>],
    deny_unknown_fields: bool,
    container_default: bool,
    private: &TokenStream,
) -> TokenStream {
    let each = fields.iter().map(|f| schema(f, container_default, private));
    quote! {
        {
            let mut __object = #private::ObjectSchema::new(#deny_unknown_fields);
            #(#each)*
            __object.finish()
        }
    }
}
