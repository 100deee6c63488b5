//! `#[derive(WebhookEvent)]`: dispatch on the tag, per-variant deserialization (through a
//! hidden serde struct for struct variants), validation, id/timestamp access and the schema.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields;
use crate::ast::{Container, Style, Variant};
use crate::check::catch_all_shape;
use crate::symbol::SERDE;

fn lit_path(path: &str) -> TokenStream {
    let segments = path.split('.');
    quote!(&[#(#segments),*])
}

pub(crate) fn expand(
    container: &Container<'_>,
    variants: &[Variant<'_>],
    private: &TokenStream,
) -> TokenStream {
    let ident = container.ident;
    let attrs = &container.attrs;
    let title = ident.to_string();
    let tagging = match (&attrs.tag, &attrs.content, &attrs.tag_header) {
        (Some(tag), Some(content), _) => {
            quote!(#private::Tagging::Adjacent { tag: #tag, content: #content })
        }
        (Some(tag), None, _) => quote!(#private::Tagging::Internal { tag: #tag }),
        (None, _, Some(header)) => quote!(#private::Tagging::Header { header: #header }),
        (None, _, None) => return TokenStream::new(),
    };
    let internal_tag = if attrs.content.is_none() {
        attrs.tag.as_ref()
    } else {
        None
    };

    let events: Vec<(usize, &Variant<'_>)> = variants
        .iter()
        .filter(|v| v.attrs.other.is_none())
        .enumerate()
        .collect();
    let catch_all = variants.iter().find(|v| v.attrs.other.is_some());

    let serde_crate = format!("{}", quote!(#private::serde));
    let mut hidden = Vec::new();
    let mut index_arms = Vec::new();
    let mut unit_indices = Vec::new();
    let mut deserialize_arms = Vec::new();
    let mut validate_arms = Vec::new();
    let mut type_arms = Vec::new();
    let mut schemas = Vec::new();
    let mut canonical = Vec::new();

    for (index, variant) in &events {
        let vident = variant.ident;
        let names = variant.names();
        let name = &variant.name;
        canonical.push(name.clone());
        index_arms.push(quote!(#(#names)|* => #private::Some(#index),));
        match variant.style {
            Style::Unit => {
                unit_indices.push(*index);
                deserialize_arms.push(quote! {
                    #index => {
                        <#private::serde::de::IgnoredAny as #private::serde::Deserialize>::deserialize(__deserializer)?;
                        #private::Ok(Self::#vident)
                    }
                });
                type_arms.push(quote!(Self::#vident => #name,));
                schemas.push(quote! {
                    #private::EventSchema { names: &[#(#names),*], payload: #private::Payload::Unit }
                });
            }
            Style::Newtype => {
                let Some(field) = variant.fields.first() else {
                    continue;
                };
                let ty = field.ty;
                let span = ty.span();
                deserialize_arms.push(quote_spanned! {span=>
                    #index => #private::Ok(Self::#vident(
                        <#ty as #private::serde::Deserialize>::deserialize(__deserializer)?
                    )),
                });
                validate_arms.push(quote_spanned! {span=>
                    Self::#vident(__payload) => <#ty as #private::WebhookPayload>::validate_at(__payload, __path, __errors),
                });
                type_arms.push(quote!(Self::#vident(..) => #name,));
                schemas.push(quote_spanned! {span=>
                    #private::EventSchema {
                        names: &[#(#names),*],
                        payload: #private::Payload::Newtype(<#ty as #private::WebhookPayload>::json_schema()),
                    }
                });
            }
            Style::Struct => {
                let hidden_ident = format_ident!("__WebhookFields{}", vident);
                let members: Vec<_> = variant.fields.iter().map(|f| &f.member).collect();
                let field_defs = variant.fields.iter().map(|f| {
                    let serde_attrs = f.original.attrs.iter().filter(|a| a.path().is_ident(SERDE));
                    let member = &f.member;
                    let ty = f.ty;
                    quote!(#(#serde_attrs)* #member: #ty,)
                });
                let variant_serde = variant
                    .original
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident(SERDE));
                // Closed by the set's `#[webhook(deny_unknown_fields)]` or the variant's own
                // `#[serde(deny_unknown_fields)]` (passed on with the variant's serde
                // attributes): either way the tag beside the fields is known, and the schema
                // is closed too.
                let variant_closed = variant.attrs.serde.deny_unknown_fields;
                let closed = attrs.deny_unknown_fields || variant_closed;
                let deny = (attrs.deny_unknown_fields && !variant_closed)
                    .then(|| quote!(#[serde(deny_unknown_fields)]));
                // A field keyed like the tag reads it already (a second arm for the key would
                // be an unreachable pattern in the user's crate).
                let tag_is_a_field = |tag: &syn::LitStr| {
                    variant.fields.iter().any(|f| {
                        f.key == tag.value()
                            && f.attrs.serde.skip.is_none()
                            && !f.attrs.serde.flatten
                    })
                };
                let tag_field = match (internal_tag, closed) {
                    (Some(tag), true) if !tag_is_a_field(tag) => quote! {
                        #[serde(rename = #tag, default)]
                        __webhook_tag: #private::Option<#private::serde::de::IgnoredAny>,
                    },
                    _ => TokenStream::new(),
                };
                // A variant's `#[serde(default)]` (passed on) fills missing fields from the
                // struct's `Default`, as serde's own does.
                let default = variant
                    .attrs
                    .serde
                    .default
                    .then(|| quote!(#[derive(::core::default::Default)]));
                hidden.push(quote! {
                    #default
                    #[derive(#private::serde::Deserialize)]
                    #[serde(crate = #serde_crate, expecting = "an object")]
                    #(#variant_serde)*
                    #deny
                    #[allow(non_camel_case_types, dead_code, non_snake_case)]
                    struct #hidden_ident {
                        #(#field_defs)*
                        #tag_field
                    }
                });
                deserialize_arms.push(quote! {
                    #index => {
                        let __fields = <#hidden_ident as #private::serde::Deserialize>::deserialize(__deserializer)?;
                        #private::Ok(Self::#vident { #(#members: __fields.#members),* })
                    }
                });
                // The fields with something to check: rules of their own, or a type that
                // may carry payload rules.
                let checked: Vec<_> = variant
                    .fields
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        let binding = format_ident!("__field{}", i, span = f.ty.span());
                        let check = fields::validate(f, &quote!(#binding), private);
                        (!check.is_empty()).then_some((&f.member, binding, check))
                    })
                    .collect();
                if !checked.is_empty() {
                    let members = checked.iter().map(|(m, _, _)| m);
                    let bindings = checked.iter().map(|(_, b, _)| b);
                    let checks = checked.iter().map(|(_, _, c)| c);
                    validate_arms.push(quote! {
                        Self::#vident { #(#members: #bindings,)* .. } => { #(#checks)* }
                    });
                }
                type_arms.push(quote!(Self::#vident { .. } => #name,));
                let object = fields::object_schema(
                    &variant.fields,
                    closed,
                    variant.attrs.serde.default,
                    private,
                );
                schemas.push(quote! {
                    #private::EventSchema { names: &[#(#names),*], payload: #private::Payload::Fields(#object) }
                });
            }
        }
    }

    let (catch_all_kind, catch_all_fn) = match catch_all {
        None => (quote!(#private::CatchAll::None), quote!(#private::None)),
        Some(variant) => {
            let vident = variant.ident;
            if catch_all_shape(variant) == Some(true) {
                // Built with `From` and read with `AsRef<str>`, so `Box<str>` or `Arc<str>`
                // keep the name too; a type that cannot be is an error at the user's field
                // type.
                let field = |name: &str| {
                    variant
                        .fields
                        .iter()
                        .find(|f| f.member.to_token_stream().to_string() == name)
                        .map(|f| f.ty)
                };
                let read = field("event_type").map_or_else(
                    || quote!(::core::convert::AsRef::<::core::primitive::str>::as_ref(event_type)),
                    |ty| quote_spanned! {ty.span()=>
                        <#ty as ::core::convert::AsRef<::core::primitive::str>>::as_ref(event_type)
                    },
                );
                type_arms.push(quote! {
                    Self::#vident { event_type, .. } => #read,
                });
                let event_type = field("event_type").map_or_else(
                    || quote!(event_type),
                    |ty| {
                        quote_spanned! {ty.span()=>
                            <#ty as ::core::convert::From<#private::String>>::from(event_type)
                        }
                    },
                );
                let payload = field("payload").map_or_else(
                    || quote!(payload),
                    |ty| quote_spanned! {ty.span()=>
                        <#ty as ::core::convert::From<#private::serde_json::Value>>::from(payload)
                    },
                );
                (
                    quote!(#private::CatchAll::Keep),
                    quote!(#private::Some(Self::#vident { event_type: #event_type, payload: #payload })),
                )
            } else {
                let name = &variant.name;
                type_arms.push(quote!(Self::#vident => #name,));
                (
                    quote!(#private::CatchAll::Unit),
                    quote!(#private::Some(Self::#vident)),
                )
            }
        }
    };
    // Every kind of catch-all knows itself, so that the pipeline records the type the sender
    // sent rather than the name of a unit catch-all.
    let is_catch_all = catch_all.map(|variant| {
        let vident = variant.ident;
        quote! {
            fn is_catch_all(&self) -> ::core::primitive::bool {
                ::core::matches!(self, Self::#vident { .. })
            }
        }
    });
    let is_unit = if unit_indices.is_empty() {
        quote!(false)
    } else {
        quote!(::core::matches!(__index, #(#unit_indices)|*))
    };

    // Only an id in the body keys deduplication: the body is what the signature covers
    // (`id_header` is refused by the checks).
    let event_id = attrs
        .id
        .as_ref()
        .map(|path| {
            let path = lit_path(&path.value());
            quote!(#private::event_id_at(__request, #path))
        })
        .map(|body| {
            quote! {
                fn event_id(
                    __request: &#private::WebhookRequest<'_>,
                ) -> #private::Result<#private::Option<#private::String>, #private::DecodeError> {
                    #body
                }
            }
        });
    let event_timestamp = attrs.timestamp.as_ref().map(|path| {
        let path = lit_path(&path.value());
        quote! {
            fn event_timestamp(
                __request: &#private::WebhookRequest<'_>,
            ) -> #private::Result<#private::Option<#private::EventTimestamp>, #private::DecodeError> {
                #private::event_timestamp_at(__request, #path)
            }
        }
    });

    quote! {
        #[allow(non_snake_case, clippy::all)]
        const _: () = {
            #(#hidden)*

            #[automatically_derived]
            impl #private::Dispatch for #ident {
                const TAGGING: #private::Tagging = #tagging;
                const CATCH_ALL: #private::CatchAll = #catch_all_kind;

                fn variant_index(__event_type: &::core::primitive::str) -> #private::Option<::core::primitive::usize> {
                    match __event_type {
                        #(#index_arms)*
                        _ => #private::None,
                    }
                }

                fn is_unit(__index: ::core::primitive::usize) -> ::core::primitive::bool {
                    #is_unit
                }

                fn deserialize_variant<'de, __D: #private::serde::Deserializer<'de>>(
                    __index: ::core::primitive::usize,
                    __deserializer: __D,
                ) -> #private::Result<Self, __D::Error> {
                    match __index {
                        #(#deserialize_arms)*
                        _ => #private::Err(<__D::Error as #private::serde::de::Error>::custom("unknown event variant")),
                    }
                }

                fn catch_all(
                    event_type: #private::String,
                    payload: #private::serde_json::Value,
                ) -> #private::Option<Self> {
                    let _ = (&event_type, &payload);
                    #catch_all_fn
                }

                fn validate_variant(
                    &self,
                    __path: &#private::FieldPath<'_>,
                    __errors: &mut #private::ValidationErrors,
                ) {
                    match self {
                        #(#validate_arms)*
                        _ => {}
                    }
                }
            }

            #[automatically_derived]
            impl #private::WebhookEvent for #ident {
                fn event_types() -> &'static [&'static ::core::primitive::str] {
                    &[#(#canonical),*]
                }

                fn event_type(&self) -> &::core::primitive::str {
                    match self {
                        #(#type_arms)*
                    }
                }

                fn decode(
                    __request: &#private::WebhookRequest<'_>,
                ) -> #private::Result<Self, #private::DecodeError> {
                    #private::decode::<Self>(__request)
                }

                fn peek_event_type(
                    __request: &#private::WebhookRequest<'_>,
                ) -> #private::Option<#private::String> {
                    #private::peek_event_type::<Self>(__request)
                }

                #is_catch_all

                #event_id
                #event_timestamp

                fn json_schema() -> #private::serde_json::Value {
                    #private::schema::event_set(
                        #title,
                        <Self as #private::Dispatch>::TAGGING,
                        ::std::vec![#(#schemas),*],
                        <Self as #private::Dispatch>::CATCH_ALL,
                    )
                }
            }
        };
    }
}
