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

/// The rule calls for one field. `value` is an expression of type `&FieldType`; `path` and
/// `errors` name the parent path and the error list in scope.
pub(crate) fn validate(
    field: &Field<'_>,
    value: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    if field.attrs.rules.is_empty() {
        return TokenStream::new();
    }
    let key = &field.key;
    let span = field.ty.span();
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
                if field.attrs.serde.flatten {
                    quote_spanned!(span=> #rules::nested(#value, __path, __errors);)
                } else {
                    quote_spanned!(span=> #rules::nested(#value, &__p, __errors);)
                }
            }
            RuleKind::Custom(path) => {
                let span = path.span();
                quote_spanned!(span=> #rules::custom(#path(#value), &__p, __errors);)
            }
        }
    });
    quote! {
        {
            let __p = __path.field(#key);
            #(#calls)*
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
    let base = if nested {
        quote_spanned!(span=> <#ty as #private::rules::NestedRule>::nested_schema())
    } else {
        quote!((&__probe).schema())
    };
    let keywords = field.attrs.rules.iter().map(|rule| {
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
            let __optional: bool = #written_option || (&__probe).optional();
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
