//! Reading a function's signature: which parameters are arguments (in the
//! schema) and which are context (injected).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, Pat, Signature, Type};

pub enum ParamKind {
    /// Part of the schema.
    Arg,
    /// `Ctx<S>`: injected.
    Ctx(Type),
    /// `&S`: injected, passed by reference.
    RefCtx(Type),
}

pub struct Param {
    pub ident: Ident,
    pub ty: Type,
    pub kind: ParamKind,
    /// Doc comments and serde/schemars attributes, for the argument struct's field.
    pub field_attrs: Vec<Attribute>,
}

/// Reads (and cleans: parameter docs and serde/schemars attributes are moved
/// out, so rustc accepts the function) the typed parameters of `sig`.
pub fn read_params(sig: &mut Signature) -> syn::Result<Vec<Param>> {
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a tool cannot be generic: its JSON Schema must be known when it is defined; use concrete types",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(v, "a tool cannot be variadic"));
    }
    let mut params = Vec::new();
    let mut wire_names: Vec<(String, Span)> = Vec::new();
    for input in sig.inputs.iter_mut() {
        let FnArg::Typed(pt) = input else { continue };
        let ident = match &*pt.pat {
            Pat::Ident(pi) if pi.subpat.is_none() => pi.ident.clone(),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "tool parameters must be plain names (`city: String`), not patterns: the name is the argument's name",
                ));
            }
        };
        let mut field_attrs = Vec::new();
        pt.attrs.retain(|a| {
            if a.path().is_ident("doc")
                || a.path().is_ident("serde")
                || a.path().is_ident("schemars")
            {
                field_attrs.push(a.clone());
                false
            } else {
                true
            }
        });
        let ty = (*pt.ty).clone();
        let kind = classify(&ty)?;
        if matches!(kind, ParamKind::Arg) {
            let wire = rename_of(&field_attrs)?.unwrap_or_else(|| ident.unraw().to_string());
            if wire_names.iter().any(|(n, _)| *n == wire) {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "two parameters are named `{wire}` in the tool's arguments (after renaming); give each a distinct name"
                    ),
                ));
            }
            wire_names.push((wire, ident.span()));
        }
        params.push(Param {
            ident,
            ty,
            kind,
            field_attrs,
        });
    }
    Ok(params)
}

fn classify(ty: &Type) -> syn::Result<ParamKind> {
    match ty {
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(
            ty,
            "`impl Trait` cannot be a tool argument: the model sends JSON, so use a concrete type that is `Deserialize + JsonSchema`",
        )),
        Type::Reference(r) => {
            if r.mutability.is_some() {
                return Err(syn::Error::new_spanned(
                    ty,
                    "a tool cannot take `&mut` parameters: take arguments by value, and shared state as `Ctx<S>` (with interior mutability)",
                ));
            }
            match &*r.elem {
                Type::Path(p) if p.path.is_ident("str") => Err(syn::Error::new_spanned(
                    ty,
                    "a tool argument cannot be borrowed: use `String` instead of `&str` (a `&S` parameter is only for context state)",
                )),
                Type::Slice(_) => Err(syn::Error::new_spanned(
                    ty,
                    "a tool argument cannot be borrowed: use `Vec<T>` instead of `&[T]`",
                )),
                elem => Ok(ParamKind::RefCtx(elem.clone())),
            }
        }
        Type::Path(p) => {
            if let Some(last) = p.path.segments.last()
                && last.ident == "Ctx"
                && let syn::PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
            {
                return Ok(ParamKind::Ctx(inner.clone()));
            }
            Ok(ParamKind::Arg)
        }
        _ => Ok(ParamKind::Arg),
    }
}

/// The `rename = "…"` of a `#[serde(...)]` attribute, if any.
fn rename_of(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: syn::LitStr = meta.value()?.parse()?;
                found = Some(s.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
    }
    Ok(found)
}

/// The hidden argument struct: one field per argument parameter, after a
/// check of each parameter's type that names it in typecall's own message.
pub fn args_struct(ident: &Ident, params: &[Param]) -> TokenStream {
    let fields = params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Arg))
        .map(|p| {
            let (ident, ty, attrs) = (&p.ident, &p.ty, &p.field_attrs);
            quote! { #(#attrs)* #ident: #ty, }
        });
    let checks = params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Arg))
        .map(|p| {
            let ty = &p.ty;
            quote_spanned! { ty.span()=> const _: () = <#ty as ::typecall::tool::ToolArgument>::IT_IS; }
        });
    quote! {
        #(#checks)*

        #[doc(hidden)]
        #[derive(::typecall::__private::serde::Deserialize, ::typecall::__private::schemars::JsonSchema)]
        #[serde(crate = "::typecall::__private::serde")]
        #[schemars(crate = "::typecall::__private::schemars")]
        #[allow(non_camel_case_types, dead_code)]
        struct #ident { #(#fields)* }
    }
}

/// Statements that fetch the context parameters from `__ctx`.
pub fn context_fetches(params: &[Param], name: &str) -> TokenStream {
    let fetches = params.iter().filter_map(|p| {
        let var = format_ident!("__ctx_{}", p.ident);
        match &p.kind {
            ParamKind::Arg => None,
            ParamKind::Ctx(s) | ParamKind::RefCtx(s) => Some(quote! {
                let #var = __ctx.get::<#s>(#name)?;
            }),
        }
    });
    quote! { #(#fetches)* }
}

/// The arguments of the call to the user's function, in order.
pub fn call_args(params: &[Param]) -> Vec<TokenStream> {
    params
        .iter()
        .map(|p| {
            let ident = &p.ident;
            let var = format_ident!("__ctx_{}", p.ident);
            match &p.kind {
                ParamKind::Arg => quote! { __args.#ident },
                ParamKind::Ctx(_) => quote! { #var },
                ParamKind::RefCtx(_) => quote! { &*#var },
            }
        })
        .collect()
}
