//! The model of the input: the enum or struct, its variants and fields, each with its parsed
//! attributes and the spans to report errors on.

use syn::ext::IdentExt as _;
use syn::spanned::Spanned;
use syn::{Data as SynData, DeriveInput, Fields, Ident, Member, Type};

use crate::attr::{self, ContainerAttrs, FieldAttrs, Position, VariantAttrs};
use crate::ctxt::Ctxt;

/// Which derive is running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Event,
    Payload,
}

pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: ContainerAttrs,
    pub(crate) data: Data<'a>,
}

pub(crate) enum Data<'a> {
    Enum(Vec<Variant<'a>>),
    Struct(Vec<Field<'a>>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Unit,
    Newtype,
    Struct,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: VariantAttrs,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) original: &'a syn::Variant,
    /// The canonical event name (after `rename` / `rename_all`).
    pub(crate) name: String,
}

impl Variant<'_> {
    /// Canonical name, then aliases.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        names.extend(self.attrs.aliases.iter().map(syn::LitStr::value));
        names
    }
}

pub(crate) struct Field<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
    pub(crate) original: &'a syn::Field,
    /// The JSON key (after serde `rename` / `rename_all`).
    pub(crate) key: String,
}

fn fields<'a>(
    cx: &Ctxt,
    fields: &'a Fields,
    rename_all: Option<crate::case::RenameRule>,
) -> Vec<Field<'a>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let attrs = attr::field(cx, &field.attrs);
            let member = field
                .ident
                .clone()
                .map_or_else(|| Member::Unnamed(i.into()), Member::Named);
            let ident = field.ident.as_ref().map(|id| {
                let text = id.to_string();
                text.strip_prefix("r#")
                    .map_or_else(|| text.clone(), str::to_owned)
            });
            let key = attrs.serde.rename.clone().unwrap_or_else(|| {
                let ident = ident.unwrap_or_else(|| i.to_string());
                rename_all.map_or_else(|| ident.clone(), |rule| rule.apply_to_field(&ident))
            });
            Field {
                member,
                ty: &field.ty,
                attrs,
                original: field,
                key,
            }
        })
        .collect()
}

impl<'a> Container<'a> {
    /// Parse the input. `None` when its shape is not one the derive supports (already reported).
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Self> {
        let position = match derive {
            Derive::Event => Position::EventContainer,
            Derive::Payload => Position::PayloadContainer,
        };
        let attrs = attr::container(cx, &input.attrs, position);
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "generic webhook types are not supported: the rules of a field's payloads are \
                 found from its concrete type; implement `WebhookPayload` by hand for a generic \
                 payload, whose uses then name a concrete type",
            );
        }
        let data = match (&input.data, derive) {
            (SynData::Enum(data), Derive::Event) => {
                let variants = data
                    .variants
                    .iter()
                    .map(|variant| {
                        let vattrs = attr::variant(cx, &variant.attrs);
                        let style = match &variant.fields {
                            Fields::Unit => Style::Unit,
                            Fields::Named(_) => Style::Struct,
                            Fields::Unnamed(f) if f.unnamed.len() == 1 => Style::Newtype,
                            Fields::Unnamed(f) => {
                                // Spanned by the parentheses' contents, or by the variant's
                                // name when they are empty (`V()`).
                                let at: &dyn quote::ToTokens = if f.unnamed.is_empty() {
                                    &variant.ident
                                } else {
                                    &f.unnamed
                                };
                                cx.error_spanned_by(
                                    at,
                                    "a tuple variant carries exactly one payload type, e.g. `Bounced(Bounce)`",
                                );
                                Style::Newtype
                            }
                        };
                        let fields = fields(cx, &variant.fields, vattrs.serde.rename_all);
                        let name = vattrs.rename.as_ref().map_or_else(
                            || {
                                // A raw identifier names the event without its `r#`, as serde does.
                                let ident = variant.ident.unraw().to_string();
                                attrs.rename_all.map_or_else(|| ident.clone(), |r| r.apply_to_variant(&ident))
                            },
                            syn::LitStr::value,
                        );
                        Variant { ident: &variant.ident, attrs: vattrs, style, fields, original: variant, name }
                    })
                    .collect();
                Data::Enum(variants)
            }
            (SynData::Struct(data), Derive::Payload) => match &data.fields {
                Fields::Named(_) => Data::Struct(fields(cx, &data.fields, attrs.serde.rename_all)),
                _ => {
                    cx.error_spanned_by(
                        &input.ident,
                        "#[derive(WebhookPayload)] needs a struct with named fields",
                    );
                    return None;
                }
            },
            (SynData::Struct(s), Derive::Event) => {
                cx.error_at(
                    s.struct_token.span(),
                    "#[derive(WebhookEvent)] is for enums, one variant per event type; \
                     derive `WebhookPayload` for a payload struct",
                );
                return None;
            }
            (SynData::Enum(e), Derive::Payload) => {
                cx.error_at(
                    e.enum_token.span(),
                    "#[derive(WebhookPayload)] is for structs; derive `WebhookEvent` for an enum of events",
                );
                return None;
            }
            (SynData::Union(u), _) => {
                cx.error_at(
                    u.union_token.span(),
                    "webhook derives do not support unions",
                );
                return None;
            }
        };
        Some(Self {
            ident: &input.ident,
            attrs,
            data,
        })
    }
}
