//! Token generation. Everything generated lives in `const _: () = { … };`, names the runtime
//! through an absolute `__private` path and is `#[automatically_derived]`.

mod event;
mod fields;
mod payload;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Container, Data, Derive};
use crate::check;
use crate::ctxt::Ctxt;

/// Run the pipeline: parse → check → expand; on any error, the errors and a stub impl.
pub(crate) fn derive(input: &DeriveInput, derive: Derive) -> TokenStream {
    let cx = Ctxt::new();
    let container = Container::from_ast(&cx, input, derive);
    if let Some(container) = &container {
        check::check(&cx, container);
    }
    let krate = container.as_ref().and_then(|c| c.attrs.krate.clone());
    let private = private_path(krate.as_ref());
    match (cx.check(), container) {
        (Ok(()), Some(container)) => match &container.data {
            Data::Enum(variants) => event::expand(&container, variants, &private),
            Data::Struct(fields) => payload::expand(&container, fields, &private),
        },
        (Err(errors), _) => {
            let errors = errors.to_compile_error();
            let stub = stub(input, derive, &private);
            quote! { #errors #stub }
        }
        (Ok(()), None) => TokenStream::new(),
    }
}

/// `::webhook::__private` unless `#[webhook(crate = "…")]` names another root.
fn private_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::webhook::__private),
    }
}

/// An impl with no behaviour, so a mistake in the attributes does not also break every use of
/// the type (thiserror's fallback).
fn stub(input: &DeriveInput, derive: Derive, private: &TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let body = match derive {
        Derive::Event => quote! {
            impl #impl_generics #private::WebhookEvent for #ident #ty_generics #where_clause {
                fn event_types() -> &'static [&'static ::core::primitive::str] { ::core::unreachable!() }
                fn event_type(&self) -> &::core::primitive::str { ::core::unreachable!() }
                fn decode(_: &#private::WebhookRequest<'_>) -> #private::Result<Self, #private::DecodeError> {
                    ::core::unreachable!()
                }
                fn json_schema() -> #private::serde_json::Value { ::core::unreachable!() }
            }
        },
        Derive::Payload => quote! {
            impl #impl_generics #private::WebhookPayload for #ident #ty_generics #where_clause {
                fn validate_at(&self, _: &#private::FieldPath<'_>, _: &mut #private::ValidationErrors) {
                    ::core::unreachable!()
                }
                fn json_schema() -> #private::serde_json::Value { ::core::unreachable!() }
            }
        },
    };
    quote! {
        #[allow(unreachable_code, clippy::all)]
        const _: () = {
            #[automatically_derived]
            #body
        };
    }
}
