//! `#[tools]` on an `impl` block: every `pub fn` with a doc comment and a
//! `&self` receiver becomes a tool sharing `self` (held in an `Arc`); a `&self`
//! method that is `pub` without a doc comment, or documented but not `pub`, is
//! an error unless marked `#[tool(skip)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{ImplItem, ItemImpl, Visibility};

use crate::codegen::{ToolSpec, tool_impl};
use crate::options::{ToolOptions, doc_text};
use crate::signature::{args_struct, call_args, context_fetches, read_params};

const ALLOWED: &[&str] = &[
    "name",
    "description",
    "strict",
    "blocking",
    "sequential",
    "skip",
    "title",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
];

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            "#[tools] takes no options; put #[tool(...)] on the methods",
        ));
    }
    let mut block: ItemImpl = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), "#[tools] goes on an `impl` block"))?;
    if let Some((_, path, _)) = &block.trait_ {
        return Err(syn::Error::new_spanned(
            path,
            "#[tools] goes on an inherent `impl Type { … }` block, not a trait impl",
        ));
    }
    if !block.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &block.generics,
            "#[tools] cannot be used on a generic impl block: tool schemas must be concrete",
        ));
    }
    let self_ty = (*block.self_ty).clone();
    let self_name = match &self_ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[tools] needs a named type",
            ));
        }
    };
    let mut generated = Vec::new();
    let mut tool_types = Vec::new();
    for item in block.items.iter_mut() {
        let ImplItem::Fn(method) = item else { continue };
        let has_tool_attr = method.attrs.iter().any(|a| a.path().is_ident("tool"));
        let options = ToolOptions::take_from(&mut method.attrs, ALLOWED)?;
        if options.skip {
            continue;
        }
        let is_pub = matches!(method.vis, Visibility::Public(_));
        let doc = doc_text(&method.attrs);
        let shares_self = method
            .sig
            .receiver()
            .is_some_and(|r| r.reference.is_some() && r.mutability.is_none());
        // A `&self` method that is half a tool (pub without a doc comment, or
        // documented but not pub) is a mistake either way: say so rather than
        // leave it out silently.
        if shares_self && !has_tool_attr {
            if is_pub && doc.is_none() {
                return Err(syn::Error::new_spanned(
                    &method.sig.ident,
                    format!(
                        "`{}` is a `pub fn` without a `///` doc comment: in #[tools] it would be a tool, whose description the doc comment gives; document it, or leave it out with #[tool(skip)]",
                        method.sig.ident.unraw()
                    ),
                ));
            }
            if !is_pub && doc.is_some() {
                return Err(syn::Error::new_spanned(
                    &method.sig.ident,
                    format!(
                        "`{}` has a doc comment but is not `pub`: #[tools] makes each `pub fn` with a doc comment a tool; make it `pub` to make it one, or mark it #[tool(skip)]",
                        method.sig.ident.unraw()
                    ),
                ));
            }
        }
        let candidate = has_tool_attr || (is_pub && doc.is_some());
        if !candidate {
            continue;
        }
        let Some(receiver) = method.sig.receiver().cloned() else {
            if has_tool_attr {
                return Err(syn::Error::new_spanned(
                    &method.sig.ident,
                    "a tool method needs a `&self` receiver",
                ));
            }
            continue; // an associated function (a constructor): not a tool
        };
        if receiver.reference.is_none() {
            return Err(syn::Error::new_spanned(
                &receiver,
                "tools share the value through an `Arc`, so they take `&self`, not `self`",
            ));
        }
        if receiver.mutability.is_some() {
            return Err(syn::Error::new_spanned(
                &receiver,
                "tools share the value and may run at once, so they take `&self`, not `&mut self`: use interior mutability (a Mutex) for state",
            ));
        }
        let m_ident = method.sig.ident.clone();
        let name = options.tool_name(m_ident.unraw().to_string(), &m_ident)?;
        let description = options.tool_description(doc, &m_ident)?;
        let params = read_params(&mut method.sig)?;
        let args_ident = format_ident!("__TypecallArgs_{}_{}", self_name, m_ident);
        let type_ident = format_ident!("__TypecallTool_{}_{}", self_name, m_ident);
        let args = call_args(&params);
        let (prelude, call) = if options.blocking {
            (
                quote! { let __this = ::std::sync::Arc::clone(&self.0); },
                quote! { __this.#m_ident(#(#args),*) },
            )
        } else {
            (quote! {}, quote! { self.0.#m_ident(#(#args),*) })
        };
        let impl_tokens = tool_impl(&ToolSpec {
            name: name.clone(),
            description,
            strict: options.strict.unwrap_or(true),
            sequential: options.sequential,
            blocking: options.blocking,
            tool_type: quote! { #type_ident },
            args_ident: &args_ident,
            context_fetches: context_fetches(&params, &name),
            prelude,
            call,
            output: &method.sig.output,
            annotations: options.annotations(),
        });
        let args_def = args_struct(&args_ident, &params);
        generated.push(quote! {
            #args_def
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            pub struct #type_ident(::std::sync::Arc<#self_ty>);
            #impl_tokens
        });
        tool_types.push(type_ident);
    }
    if tool_types.is_empty() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "#[tools] found no tools: a tool is a `pub fn` with a `///` doc comment and a `&self` receiver",
        ));
    }
    Ok(quote! {
        #block

        #(#generated)*

        impl ::typecall::tool::SharedTools for #self_ty {
            fn shared_tools(this: ::std::sync::Arc<Self>) -> ::std::vec::Vec<::std::sync::Arc<dyn ::typecall::tool::Tool>> {
                ::std::vec![#(::std::sync::Arc::new(#tool_types(::std::sync::Arc::clone(&this))) as ::std::sync::Arc<dyn ::typecall::tool::Tool>),*]
            }
        }

        impl ::typecall::tool::ToolSet for #self_ty {
            fn into_tools(self) -> ::std::vec::Vec<::std::sync::Arc<dyn ::typecall::tool::Tool>> {
                <Self as ::typecall::tool::SharedTools>::shared_tools(::std::sync::Arc::new(self))
            }
        }
    })
}
