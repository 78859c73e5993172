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
    for_each_key_value(attrs, &["serde"], |key, value| {
        if key.is_ident("rename")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = value
        {
            found = Some(s.value());
        }
    });
    Ok(found)
}

/// Calls `f` with each `key = value` inside the `#[name(...)]` attributes
/// (`name` among `names`); nested lists are skipped.
fn for_each_key_value(
    attrs: &[Attribute],
    names: &[&str],
    mut f: impl FnMut(&syn::Path, &syn::Expr),
) {
    for a in attrs
        .iter()
        .filter(|a| names.iter().any(|n| a.path().is_ident(n)))
    {
        let _ = a.parse_nested_meta(|meta| {
            if meta.input.peek(syn::Token![=]) {
                let value: syn::Expr = meta.value()?.parse()?;
                f(&meta.path, &value);
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
    }
}

/// The hidden argument struct: one field per argument parameter, after a
/// check of each parameter's type that names it in typecall's own message.
///
/// Each field's type is a type parameter of the struct defaulting to the
/// parameter's type, so the derives put their bounds on the impls instead of
/// failing inside them: a parameter type without `Deserialize + JsonSchema`
/// gets the check's message alone. A parameter that brings its own codec
/// (`#[serde(with …)]`, `#[schemars(with …)]`, …) keeps its written type and is
/// not checked: its type need not implement either trait.
pub fn args_struct(ident: &Ident, params: &[Param]) -> TokenStream {
    let mut generics = Vec::new();
    let mut checks = Vec::new();
    let mut fields = Vec::new();
    let args = params.iter().filter(|p| matches!(p.kind, ParamKind::Arg));
    for (i, p) in args.enumerate() {
        let (ident, ty, attrs) = (&p.ident, &p.ty, &p.field_attrs);
        if own_codec(attrs) {
            fields.push(quote! { #(#attrs)* #ident: #ty, });
            continue;
        }
        let param = format_ident!("__T{}", i);
        generics.push(quote! { #param = #ty });
        checks.push(quote_spanned! { ty.span()=> const _: () = <#ty as ::typecall::tool::ToolArgument>::IT_IS; });
        fields.push(quote! { #(#attrs)* #ident: #param, });
    }
    let schema_name = ident.to_string();
    quote! {
        #(#checks)*

        #[doc(hidden)]
        #[derive(::typecall::__private::serde::Deserialize, ::typecall::__private::schemars::JsonSchema)]
        #[serde(crate = "::typecall::__private::serde")]
        #[schemars(crate = "::typecall::__private::schemars", rename = #schema_name)]
        #[allow(non_camel_case_types, dead_code)]
        struct #ident<#(#generics),*> { #(#fields)* }
    }
}

/// Whether a parameter's attributes give it its own (de)serializer or schema
/// (`with`, `deserialize_with`, `default = "…"`, `schema_with`), which is
/// written for its exact type.
fn own_codec(attrs: &[Attribute]) -> bool {
    let mut found = false;
    for_each_key_value(attrs, &["serde", "schemars"], |key, _| {
        found |= ["with", "deserialize_with", "schema_with", "default"]
            .iter()
            .any(|k| key.is_ident(k));
    });
    found
}

/// Statements that fetch the context parameters from `__ctx`.
pub fn context_fetches(params: &[Param], name: &str) -> TokenStream {
    let fetches = params.iter().enumerate().filter_map(|(i, p)| {
        let var = ctx_var(i);
        match &p.kind {
            ParamKind::Arg => None,
            ParamKind::Ctx(s) | ParamKind::RefCtx(s) => Some(quote! {
                let #var = __ctx.get::<#s>(#name)?;
            }),
        }
    });
    quote! { #(#fetches)* }
}

/// The variable holding the context value of parameter `i` (named by position:
/// a parameter named `_db` would make `__ctx__db`, which rustc warns about).
fn ctx_var(i: usize) -> Ident {
    format_ident!("__ctx{}", i)
}

/// The arguments of the call to the user's function, in order.
pub fn call_args(params: &[Param]) -> Vec<TokenStream> {
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ident = &p.ident;
            let var = ctx_var(i);
            match &p.kind {
                ParamKind::Arg => quote! { __args.#ident },
                ParamKind::Ctx(_) => quote! { #var },
                ParamKind::RefCtx(_) => quote! { &*#var },
            }
        })
        .collect()
}
