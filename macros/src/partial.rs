//! `#[derive(Partial)]` on a struct: its partial shape (`TicketPartial` for
//! `Ticket`), every field an `Option` (a list: its complete items), and the
//! `typecall::output::Partial` implementation that reads one from a partial
//! JSON value.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Type};

use crate::options::doc_text;

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Partial)] goes on a struct with named fields (a list of them, `Vec<T>`, needs no derive)",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Partial)] goes on a struct with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Partial)] cannot be used on a generic struct",
        ));
    }
    let ident = &input.ident;
    let vis = &input.vis;
    let shape = format_ident!("{}Partial", ident);
    let rename_all = serde_value(&input.attrs, "rename_all")?;
    let mut shape_fields = Vec::new();
    let mut reads = Vec::new();
    for f in &fields.named {
        let Some(name) = &f.ident else { continue };
        let key = match serde_value(&f.attrs, "rename")? {
            Some(k) => k,
            None => rename(&name.unraw().to_string(), rename_all.as_deref()),
        };
        let ty = &f.ty;
        let doc = doc_text(&f.attrs).unwrap_or_default();
        let (partial_ty, read) = match wrapped(ty) {
            Some(("Option", inner)) => (
                quote! { ::core::option::Option<#inner> },
                quote! { ::typecall::__private::partial::option::<#inner>(__v, #key) },
            ),
            Some(("Vec", inner)) => (
                quote! { ::core::option::Option<::std::vec::Vec<#inner>> },
                quote! { ::typecall::__private::partial::list::<#inner>(__v, #key) },
            ),
            _ => (
                quote! { ::core::option::Option<#ty> },
                quote! { ::typecall::__private::partial::field::<#ty>(__v, #key) },
            ),
        };
        shape_fields.push(quote! { #[doc = #doc] pub #name: #partial_ty, });
        reads.push(quote! { #name: #read, });
    }
    let doc = format!(
        "What has arrived of a streamed [`{ident}`]: each field `None` until it is there (strings as far as they came), each list with its complete items."
    );
    Ok(quote! {
        #[doc = #doc]
        #[derive(Debug, Default)]
        #vis struct #shape { #(#shape_fields)* }

        impl ::typecall::output::Partial for #ident {
            type Shape = #shape;
            fn partial(__v: &::typecall::__private::serde_json::Value) -> #shape {
                #shape { #(#reads)* }
            }
        }
    })
}

/// `Option<T>` → ("Option", T), `Vec<T>` → ("Vec", T), by the last path segment.
fn wrapped(ty: &Type) -> Option<(&'static str, &Type)> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let kind = if seg.ident == "Option" {
        "Option"
    } else if seg.ident == "Vec" {
        "Vec"
    } else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) if args.args.len() == 1 => Some((kind, t)),
        _ => None,
    }
}

/// The string value of `#[serde(key = "…")]` among `attrs`, if any.
fn serde_value(attrs: &[syn::Attribute], key: &str) -> syn::Result<Option<String>> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident(key) {
                let v: syn::LitStr = m.value()?.parse()?;
                found = Some(v.value());
            } else if m.input.peek(syn::Token![=]) {
                let _: syn::Expr = m.value()?.parse()?;
            } else if m.input.peek(syn::token::Paren) {
                let _: proc_macro2::Group = m.input.parse()?;
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// A field name as serde's `rename_all` writes it.
fn rename(field: &str, rule: Option<&str>) -> String {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let cap = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match rule {
        Some("lowercase") => field.to_lowercase(),
        Some("UPPERCASE") => field.to_uppercase(),
        Some("camelCase") => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { (*w).to_owned() } else { cap(w) })
            .collect(),
        Some("PascalCase") => words.iter().map(|w| cap(w)).collect(),
        Some("SCREAMING_SNAKE_CASE") => field.to_uppercase(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => field.replace('_', "-").to_uppercase(),
        _ => field.to_owned(),
    }
}
