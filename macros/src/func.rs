//! `#[tool]` on a free function.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ItemFn;
use syn::ext::IdentExt;

use crate::codegen::{ToolSpec, tool_impl};
use crate::options::{ToolOptions, camel_case, doc_text};
use crate::signature::{args_struct, call_args, context_fetches, read_params};

const ALLOWED: &[&str] = &[
    "name",
    "description",
    "strict",
    "type_name",
    "blocking",
    "sequential",
    "title",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
];

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = ToolOptions::parse_tokens(attr, ALLOWED)?;
    let mut func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(e.span(), "#[tool] goes on a function (or use #[tools] on an impl block, #[derive(Tool)] on a struct)")
    })?;
    if let Some(r) = func.sig.receiver() {
        return Err(syn::Error::new_spanned(
            r,
            "#[tool] is for free functions; for methods put #[tools] on the impl block",
        ));
    }
    let fn_ident = func.sig.ident.clone();
    let fn_name = fn_ident.unraw().to_string();
    let name = options.tool_name(fn_name.clone(), &fn_ident)?;
    let description = options.tool_description(doc_text(&func.attrs), &fn_ident)?;
    if options.blocking && func.sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(
            func.sig.asyncness,
            "`blocking` is for sync functions; an async tool already runs on the runtime",
        ));
    }
    let params = read_params(&mut func.sig)?;
    let type_ident = match &options.type_name {
        Some(t) => syn::Ident::new(&t.value(), t.span()),
        None => format_ident!("{}", camel_case(&fn_name)),
    };
    if type_ident == fn_ident {
        return Err(syn::Error::new_spanned(
            &fn_ident,
            "the tool's type would have the function's own name; pick another with #[tool(type_name = \"…\")]",
        ));
    }
    let args_ident = format_ident!("__TypecallArgs_{}", fn_ident);
    let vis = &func.vis;
    let args = call_args(&params);
    // The tool type lives in a hidden module and comes in through a glob
    // import: a type of the user's with the same name shadows it quietly, and
    // the check below then says so in one message (instead of rustc's clash of
    // definitions and impls).
    let module = format_ident!("__typecall_tool_{}", fn_ident.unraw());
    let tool_type = quote! { #module::#type_ident };
    let impl_tokens = tool_impl(&ToolSpec {
        name: name.clone(),
        description,
        strict: options.strict.unwrap_or(true),
        sequential: options.sequential,
        blocking: options.blocking,
        tool_type: tool_type.clone(),
        args_ident: &args_ident,
        context_fetches: context_fetches(&params, &name),
        prelude: quote! {},
        call: quote! { #fn_ident(#(#args),*) },
        output: &func.sig.output,
        annotations: options.annotations(),
    });
    let args_def = args_struct(&args_ident, &params);
    let fn_plain = fn_ident.unraw();
    let doc = format!(
        "The `{name}` tool: [`{fn_plain}`](super::{fn_plain}) as a [`Tool`](::typecall::Tool) for a model."
    );
    let clash = format!(
        "`{{Self}}` is already a type here, so `#[tool]` on `fn {fn_plain}` cannot name its tool type `{type_ident}`"
    );
    let note = format!(
        "`#[tool]` makes a unit struct named after the function in CamelCase; name it yourself: `#[tool(type_name = \"{type_ident}Tool\")]`"
    );
    let as_written = syn::Ident::new(&type_ident.to_string(), fn_ident.span());
    let check = quote::quote_spanned! {fn_ident.span()=>
        const _: () = <#as_written as #module::IsTheTool>::IT_IS;
    };
    Ok(quote! {
        #func

        #args_def

        #[doc(hidden)]
        #[allow(non_snake_case)]
        mod #module {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #type_ident;

            #[diagnostic::on_unimplemented(message = #clash, label = "this names your type, not the tool's", note = #note)]
            pub trait IsTheTool {
                const IT_IS: () = ();
            }
            impl IsTheTool for #type_ident {}
        }
        #[allow(unused_imports)]
        #vis use #module::*;
        #check

        #impl_tokens
    })
}
