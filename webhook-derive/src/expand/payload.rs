//! `#[derive(WebhookPayload)]`: the rules of each field and the struct's JSON Schema.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields;
use crate::ast::{Container, Field};

pub(crate) fn expand(
    container: &Container<'_>,
    fields: &[Field<'_>],
    private: &TokenStream,
) -> TokenStream {
    let ident = container.ident;
    let validate = fields.iter().map(|field| {
        let member = &field.member;
        let span = field.ty.span();
        fields::validate(field, &quote_spanned!(span=> &self.#member), private)
    });
    let serde = &container.attrs.serde;
    let schema = fields::object_schema(fields, serde.deny_unknown_fields, serde.default, private);
    quote! {
        #[allow(clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl #private::WebhookPayload for #ident {
                fn validate_at(
                    &self,
                    __path: &#private::FieldPath<'_>,
                    __errors: &mut #private::ValidationErrors,
                ) {
                    #(#validate)*
                }

                fn json_schema() -> #private::serde_json::Value {
                    #schema
                }
            }
        };
    }
}
