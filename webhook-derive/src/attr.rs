//! `#[webhook(...)]` attribute grammar, parsed with `parse_nested_meta`, plus the few
//! `#[serde(...)]` settings that change JSON keys or requiredness (read, never consumed).

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use crate::case::{RULE_NAMES, RenameRule};
use crate::ctxt::Ctxt;
use crate::symbol::*;

/// Where an attribute sits, for the grammar and the messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    EventContainer,
    PayloadContainer,
    Variant,
    Field,
}

/// `#[webhook(...)]` on the enum or struct.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) tag: Option<LitStr>,
    pub(crate) content: Option<LitStr>,
    pub(crate) tag_header: Option<LitStr>,
    pub(crate) id: Option<LitStr>,
    pub(crate) id_header: Option<LitStr>,
    pub(crate) timestamp: Option<LitStr>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) deny_unknown_fields: bool,
    pub(crate) serde: SerdeContainer,
}

/// `#[webhook(...)]` on a variant.
#[derive(Default)]
pub(crate) struct VariantAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) aliases: Vec<LitStr>,
    pub(crate) other: Option<Ident>,
    pub(crate) serde: SerdeContainer,
}

/// One field rule, with the span of its keyword.
pub(crate) struct Rule {
    pub(crate) keyword: Ident,
    pub(crate) kind: RuleKind,
}

pub(crate) enum RuleKind {
    Email,
    Url,
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    Pattern(LitStr),
    OneOf(Vec<LitStr>),
    NonEmpty,
    Nested,
    Custom(syn::Path),
}

/// `#[webhook(...)]` rules on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rules: Vec<Rule>,
    pub(crate) serde: SerdeField,
}

/// The serde container settings that shape the JSON.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) default: bool,
    pub(crate) deny_unknown_fields: bool,
}

/// The serde field settings that shape the JSON.
#[derive(Default)]
pub(crate) struct SerdeField {
    pub(crate) rename: Option<String>,
    pub(crate) default: bool,
    /// Read by a function of the application's (`with`, `deserialize_with`): its JSON shape
    /// is the function's, and serde requires it even as an `Option` unless `default`.
    pub(crate) with: bool,
    pub(crate) skip: Option<Span>,
    pub(crate) flatten: bool,
}

fn is_webhook(attr: &Attribute) -> bool {
    attr.path().is_ident(WEBHOOK)
}

fn path_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| quote::quote!(#(meta.path)).to_string(), Ident::to_string)
}

/// A flag (`other`, `deny_unknown_fields`) given a value (`other = true`): said so, and the
/// value skipped, rather than a parser's "expected `,`".
fn no_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{name}` takes no value: write `{name}`"),
        );
        skip_value(meta)?;
    }
    Ok(())
}

/// Skip the value of an attribute we do not understand (`= expr` or `(...)`).
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
                let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
                let ins = cur.get(j).copied().unwrap_or(0) + 1;
                cur.push(sub.min(del).min(ins));
            }
            prev = cur;
        }
        prev.last().copied().unwrap_or(usize::MAX)
    }
    candidates
        .iter()
        .copied()
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn unknown(cx: &Ctxt, meta: &ParseNestedMeta<'_>, position: Position) -> syn::Result<()> {
    let name = path_name(meta);
    let elsewhere = [
        (CONTAINER_ATTRS, "a container attribute: put it on the enum"),
        (VARIANT_ATTRS, "a variant attribute: put it on a variant"),
        (FIELD_ATTRS, "a field rule: put it on a field"),
    ];
    let own: &[&str] = match position {
        Position::EventContainer => CONTAINER_ATTRS,
        Position::PayloadContainer => &[CRATE],
        Position::Variant => VARIANT_ATTRS,
        Position::Field => FIELD_ATTRS,
    };
    let message = if let Some((_, what)) = elsewhere
        .iter()
        .find(|(set, _)| set.contains(&name.as_str()))
    {
        if position == Position::PayloadContainer && CONTAINER_ATTRS.contains(&name.as_str()) {
            format!(
                "`{name}` is not a payload attribute: payload structs take only `crate`; serde's own attributes shape their JSON"
            )
        } else {
            format!("`{name}` is {what}")
        }
    } else if let Some(suggestion) = closest(&name, own) {
        format!("unknown webhook attribute `{name}`; did you mean `{suggestion}`?")
    } else {
        format!("unknown webhook attribute `{name}`")
    };
    cx.error_spanned_by(&meta.path, message);
    skip_value(meta)
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta<'_>, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate webhook attribute `{}`", path_name(meta)),
        );
    } else {
        *slot = Some(value);
    }
}

fn parse_rename_rule(cx: &Ctxt, lit: &LitStr) -> Option<RenameRule> {
    let rule = RenameRule::from_str(&lit.value());
    if rule.is_none() {
        cx.error_spanned_by(
            lit,
            format!(
                "unknown rename rule `{}`; expected one of {}",
                lit.value(),
                RULE_NAMES.join(", ")
            ),
        );
    }
    rule
}

fn each_webhook_attr(
    cx: &Ctxt,
    attrs: &[Attribute],
    mut f: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| is_webhook(a)) {
        if let syn::Meta::Path(path) = &attr.meta {
            cx.error_spanned_by(path, "expected `#[webhook(...)]`");
            continue;
        }
        if let Err(err) = attr.parse_nested_meta(|meta| f(&meta)) {
            cx.syn_error(err);
        }
    }
}

/// Parse the container attributes of an event enum or payload struct.
pub(crate) fn container(cx: &Ctxt, attrs: &[Attribute], position: Position) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    let mut rename_all = None;
    let mut deny = None;
    each_webhook_attr(cx, attrs, |meta| {
        let event = position == Position::EventContainer;
        let string_slot = match () {
            () if !event => None,
            () if meta.path.is_ident(TAG) => Some(&mut out.tag),
            () if meta.path.is_ident(CONTENT) => Some(&mut out.content),
            () if meta.path.is_ident(TAG_HEADER) => Some(&mut out.tag_header),
            () if meta.path.is_ident(ID) => Some(&mut out.id),
            () if meta.path.is_ident(ID_HEADER) => Some(&mut out.id_header),
            () if meta.path.is_ident(TIMESTAMP) => Some(&mut out.timestamp),
            () => None,
        };
        if let Some(slot) = string_slot {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                cx.error_spanned_by(&lit, format!("`{}` must not be empty", path_name(meta)));
            }
            set_once(cx, meta, slot, lit);
        } else if event && meta.path.is_ident(RENAME_ALL) {
            let lit: LitStr = meta.value()?.parse()?;
            if let Some(rule) = parse_rename_rule(cx, &lit) {
                set_once(cx, meta, &mut rename_all, rule);
            }
        } else if event && meta.path.is_ident(DENY_UNKNOWN_FIELDS) {
            no_value(cx, meta, DENY_UNKNOWN_FIELDS)?;
            set_once(cx, meta, &mut deny, ());
        } else if meta.path.is_ident(CRATE) {
            let lit: LitStr = meta.value()?.parse()?;
            match lit.parse::<syn::Path>() {
                Ok(path) => set_once(cx, meta, &mut out.krate, path),
                Err(_) => cx.error_spanned_by(&lit, format!("`{}` is not a path", lit.value())),
            }
        } else {
            unknown(cx, meta, position)?;
        }
        Ok(())
    });
    out.rename_all = rename_all;
    out.deny_unknown_fields = deny.is_some();
    out.serde = serde_container(attrs);
    match position {
        Position::EventContainer => refuse_serde(cx, attrs, serde_on_event),
        Position::PayloadContainer => refuse_serde(cx, attrs, serde_on_payload),
        Position::Variant | Position::Field => {}
    }
    out
}

/// `#[serde(...)]` on the event enum shapes only a `Serialize` the application derives:
/// nothing derives serde's `Deserialize` for the enum, and decoding follows `#[webhook(...)]`.
/// Refused are the settings that can only mean deserialization, which decoding would not
/// follow; each names the `#[webhook(...)]` equivalent where there is one.
fn serde_on_event(key: &str) -> Option<String> {
    let hint = match key {
        DENY_UNKNOWN_FIELDS => "write `#[webhook(deny_unknown_fields)]`".to_owned(),
        _ if DESERIALIZE_ONLY_CONTAINER.contains(&key) => format!(
            "use `#[webhook(...)]` on the enum ({})",
            CONTAINER_ATTRS.join(", ")
        ),
        _ => return None,
    };
    Some(format!(
        "`{}` has no effect on decoding a `WebhookEvent` enum (serde's attributes there shape \
         only a `Serialize` you derive): {hint}",
        serde_text(key)
    ))
}

/// `#[serde(...)]` on a payload struct: the settings that give it another JSON shape than its
/// own fields, which its schema and error paths describe. (`into` shapes only `Serialize`.)
fn serde_on_payload(key: &str) -> Option<String> {
    let hint = match key {
        TRANSPARENT => {
            "the JSON is then its one field's value: derive `WebhookPayload` on that field's \
             type instead"
        }
        FROM | TRY_FROM => {
            "the JSON is then the other type's: derive `WebhookPayload` on the type it \
             converts from instead"
        }
        _ => return None,
    };
    Some(format!(
        "`#[serde({key})]` cannot be used with `#[derive(WebhookPayload)]`: its JSON Schema and \
         error paths describe the struct's own fields; {hint}"
    ))
}

/// `#[serde(key)]`, or `#[serde(...)]` for an attribute that is not a list.
pub(crate) fn serde_text(key: &str) -> String {
    if key.is_empty() {
        "#[serde(...)]".to_owned()
    } else {
        format!("#[serde({key})]")
    }
}

/// Report every key of the `#[serde(...)]` attributes that `refuse` gives a message for,
/// spanned on the key; an attribute that is not a list is reported whole when `refuse("")`
/// gives one.
pub(crate) fn refuse_serde(
    cx: &Ctxt,
    attrs: &[Attribute],
    refuse: impl Fn(&str) -> Option<String>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
        let mut keys = 0_usize;
        let parsed = attr.parse_nested_meta(|meta| {
            keys += 1;
            if let Some(message) = refuse(&path_name(&meta)) {
                cx.error_spanned_by(&meta.path, message);
            }
            skip_value(&meta)
        });
        if parsed.is_err()
            && keys == 0
            && let Some(message) = refuse("")
        {
            cx.error_spanned_by(attr.path(), message);
        }
    }
}

/// Parse the attributes of a variant.
pub(crate) fn variant(cx: &Ctxt, attrs: &[Attribute]) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    each_webhook_attr(cx, attrs, |meta| {
        if meta.path.is_ident(RENAME) {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                cx.error_spanned_by(&lit, "an event name must not be empty");
            }
            set_once(cx, meta, &mut out.rename, lit);
        } else if meta.path.is_ident(ALIAS) {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                cx.error_spanned_by(&lit, "an event name must not be empty");
            }
            out.aliases.push(lit);
        } else if meta.path.is_ident(OTHER) {
            no_value(cx, meta, OTHER)?;
            let ident = meta.path.get_ident().cloned();
            if let Some(ident) = ident {
                set_once(cx, meta, &mut out.other, ident);
            }
        } else {
            unknown(cx, meta, Position::Variant)?;
        }
        Ok(())
    });
    out.serde = serde_container(attrs);
    out
}

/// A `range` bound: a finite number, and an integer literal only if it is exact as an `f64`
/// (up to 2⁵³, or a multiple of a power of two past that), so that no integer bound is
/// silently rounded. (A float literal is taken as the `f64` it denotes.)
fn number(expr: &Expr) -> Option<f64> {
    number_literal(expr).filter(|n| n.is_finite())
}

fn number_literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let exact = i.base10_parse::<i128>().ok()?;
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let float = exact as f64;
            #[allow(clippy::cast_possible_truncation)]
            let round_trips = float as i128 == exact;
            round_trips.then_some(float)
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => number_literal(expr).map(|n| -n),
        Expr::Group(g) => number_literal(&g.expr),
        _ => None,
    }
}

/// `(min = .., max = ..)`, each a number literal.
fn bounds<T>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    parse: impl Fn(&Expr) -> Option<T>,
    expected: &str,
) -> syn::Result<(Option<T>, Option<T>)> {
    let (mut min, mut max) = (None, None);
    let mut any = false;
    let rule = path_name(meta);
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{rule}` needs bounds: `{rule}(min = .., max = ..)`"),
        );
        return Ok((None, None));
    }
    meta.parse_nested_meta(|inner| {
        let slot = if inner.path.is_ident(MIN) {
            &mut min
        } else if inner.path.is_ident(MAX) {
            &mut max
        } else {
            any = true;
            cx.error_spanned_by(
                &inner.path,
                format!(
                    "unknown `{rule}` bound `{}`; expected `min` or `max`",
                    path_name(&inner)
                ),
            );
            return skip_value(&inner);
        };
        any = true;
        let expr: Expr = inner.value()?.parse()?;
        match parse(&expr) {
            Some(v) => set_once(cx, &inner, slot, v),
            None => cx.error_spanned_by(&expr, format!("expected {expected}")),
        }
        Ok(())
    })?;
    if !any {
        cx.error_spanned_by(&meta.path, format!("`{rule}` needs `min`, `max` or both"));
    }
    Ok((min, max))
}

/// Parse the rules on a field.
pub(crate) fn field(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    each_webhook_attr(cx, attrs, |meta| {
        let Some(keyword) = meta.path.get_ident().cloned() else {
            return unknown(cx, meta, Position::Field);
        };
        let kind = match keyword.to_string().as_str() {
            EMAIL => RuleKind::Email,
            URL => RuleKind::Url,
            NON_EMPTY => RuleKind::NonEmpty,
            NESTED => RuleKind::Nested,
            LENGTH => {
                let (min, max) = bounds(
                    cx,
                    meta,
                    |e| match e {
                        Expr::Lit(ExprLit {
                            lit: Lit::Int(i), ..
                        }) => i.base10_parse::<usize>().ok(),
                        _ => None,
                    },
                    "a non-negative integer",
                )?;
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    cx.error_spanned_by(
                        &keyword,
                        format!("`length` bounds are reversed: min {min} > max {max}"),
                    );
                }
                RuleKind::Length { min, max }
            }
            RANGE => {
                let (min, max) = bounds(
                    cx,
                    meta,
                    number,
                    "a finite number (an integer bound must be exactly representable as an f64: \
                     any integer up to 2^53, beyond that only some)",
                )?;
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    cx.error_spanned_by(
                        &keyword,
                        format!("`range` bounds are reversed: min {min} > max {max}"),
                    );
                }
                RuleKind::Range { min, max }
            }
            PATTERN => {
                let lit: LitStr = meta.value()?.parse()?;
                if let Err(err) = regex_syntax::Parser::new().parse(&lit.value()) {
                    let detail = err.to_string();
                    let last = detail
                        .lines()
                        .rfind(|l| !l.trim().is_empty())
                        .unwrap_or("invalid");
                    let last = last.trim().trim_start_matches("error: ");
                    cx.error_spanned_by(&lit, format!("invalid regular expression: {last}"));
                } else if let Some(why) = crate::dialect::non_portable(&lit.value()) {
                    cx.error_spanned_by(&lit, format!("pattern is not portable: {why}"));
                } else if let Err(regex::Error::CompiledTooBig(limit)) =
                    regex::Regex::new(&lit.value())
                {
                    // Valid syntax, but over the compiled-size limit the runtime would hit
                    // on first use: every value would then fail the rule. (Measured on the
                    // build machine: a target of another pointer width may differ slightly.)
                    cx.error_spanned_by(
                        &lit,
                        format!(
                            "regular expression is too big: compiled, it exceeds the \
                             {limit}-byte size limit; make it smaller (a counted repetition \
                             such as `(?:[a-z]{{1000}}){{1000}}` grows fast)"
                        ),
                    );
                }
                RuleKind::Pattern(lit)
            }
            ONE_OF => {
                let mut values = Vec::new();
                if meta.input.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let list = content
                        .parse_terminated(<LitStr as syn::parse::Parse>::parse, Token![,])?;
                    values.extend(list);
                }
                if values.is_empty() {
                    cx.error_spanned_by(
                        &keyword,
                        "`one_of` needs at least one value: `one_of(\"a\", \"b\")`",
                    );
                }
                RuleKind::OneOf(values)
            }
            CUSTOM => {
                let value = meta.value()?;
                if value.peek(LitStr) {
                    let lit: LitStr = value.parse()?;
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "write `custom = {}`: the function's path, not a string",
                            lit.value()
                        ),
                    ));
                }
                RuleKind::Custom(value.parse()?)
            }
            _ => return unknown(cx, meta, Position::Field),
        };
        if matches!(
            kind,
            RuleKind::Email | RuleKind::Url | RuleKind::NonEmpty | RuleKind::Nested
        ) && !meta.input.is_empty()
            && !meta.input.peek(Token![,])
        {
            cx.error_spanned_by(&keyword, format!("`{keyword}` takes no value"));
            skip_value(meta)?;
        }
        if keyword != CUSTOM && out.rules.iter().any(|r| r.keyword == keyword) {
            cx.error_spanned_by(&keyword, format!("duplicate rule `{keyword}`"));
        }
        out.rules.push(Rule { keyword, kind });
        Ok(())
    });
    out.serde = serde_field(attrs);
    out
}

/// Read `#[serde(...)]` leniently: anything unexpected is serde's to report.
fn each_serde(attrs: &[Attribute], mut f: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<bool>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
        let _ = attr.parse_nested_meta(|meta| {
            if !f(&meta)? {
                skip_value(&meta)?;
            }
            Ok(())
        });
    }
}

/// `rename = "x"` or `rename(deserialize = "x")`.
fn deserialize_name(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse::<LitStr>()?.value()));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        let value = inner.value()?.parse::<LitStr>()?.value();
        if inner.path.is_ident(DESERIALIZE) {
            name = Some(value);
        }
        Ok(())
    })?;
    Ok(name)
}

fn serde_container(attrs: &[Attribute]) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    each_serde(attrs, |meta| {
        if meta.path.is_ident(RENAME_ALL) {
            out.rename_all = deserialize_name(meta)?
                .as_deref()
                .and_then(RenameRule::from_str);
        } else if meta.path.is_ident(DEFAULT) {
            out.default = true;
            return Ok(false);
        } else if meta.path.is_ident(DENY_UNKNOWN_FIELDS) {
            out.deny_unknown_fields = true;
        } else {
            return Ok(false);
        }
        Ok(true)
    });
    out
}

fn serde_field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    each_serde(attrs, |meta| {
        if meta.path.is_ident(RENAME) {
            out.rename = deserialize_name(meta)?;
        } else if meta.path.is_ident(DEFAULT) {
            out.default = true;
            return Ok(false);
        } else if meta.path.is_ident("with") || meta.path.is_ident("deserialize_with") {
            out.with = true;
            return Ok(false);
        } else if meta.path.is_ident(SKIP) || meta.path.is_ident(SKIP_DESERIALIZING) {
            out.skip = Some(meta.path.span());
        } else if meta.path.is_ident(FLATTEN) {
            out.flatten = true;
        } else {
            return Ok(false);
        }
        Ok(true)
    });
    out
}
