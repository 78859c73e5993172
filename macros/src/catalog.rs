//! `#[prompt]` and `#[resource]`: an MCP server's prompts and resources from
//! free functions, as `#[tool]` makes tools.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{ItemFn, LitStr};

use crate::options::{camel_case, doc_text};
use crate::signature::{ParamKind, args_struct, read_params};

/// The `key = "…"` options of `#[prompt(...)]` / `#[resource(...)]`.
#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    title: Option<LitStr>,
    description: Option<LitStr>,
    type_name: Option<LitStr>,
    uri: Option<LitStr>,
    mime_type: Option<LitStr>,
}

impl Options {
    fn parse(tokens: TokenStream, macro_name: &str, allowed: &[&str]) -> syn::Result<Self> {
        let mut o = Self::default();
        if tokens.is_empty() {
            return Ok(o);
        }
        let parser = syn::meta::parser(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                return Err(meta.error(format!(
                    "unknown #[{macro_name}] option; expected one of: {}",
                    allowed.join(", ")
                )));
            }
            let value: LitStr = meta.value()?.parse().map_err(|e| {
                syn::Error::new(e.span(), format!("`{key}` takes a string: `{key} = \"…\"`"))
            })?;
            let slot = match key.as_str() {
                "name" => &mut o.name,
                "title" => &mut o.title,
                "description" => &mut o.description,
                "type_name" => &mut o.type_name,
                "uri" => &mut o.uri,
                _ => &mut o.mime_type,
            };
            *slot = Some(value);
            Ok(())
        });
        syn::parse::Parser::parse2(parser, tokens)?;
        Ok(o)
    }

    /// The generated type's name: `type_name`, else the function's in
    /// CamelCase.
    fn type_ident(&self, func: &ItemFn, macro_name: &str) -> syn::Result<syn::Ident> {
        let fn_ident = &func.sig.ident;
        let ident = match &self.type_name {
            Some(t) => syn::Ident::new(&t.value(), t.span()),
            None => format_ident!("{}", camel_case(&fn_ident.unraw().to_string())),
        };
        if ident == *fn_ident {
            return Err(syn::Error::new_spanned(
                fn_ident,
                format!(
                    "the {macro_name}'s type would have the function's own name; pick another with #[{macro_name}(type_name = \"…\")]"
                ),
            ));
        }
        Ok(ident)
    }
}

fn parse_fn(item: TokenStream, macro_name: &str) -> syn::Result<ItemFn> {
    let func: ItemFn = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), format!("#[{macro_name}] goes on a function")))?;
    if let Some(r) = func.sig.receiver() {
        return Err(syn::Error::new_spanned(
            r,
            format!("#[{macro_name}] is for free functions"),
        ));
    }
    Ok(func)
}

/// `.await` after the call of an async function.
fn awaiting(func: &ItemFn) -> TokenStream {
    if func.sig.asyncness.is_some() {
        quote! { .await }
    } else {
        quote! {}
    }
}

/// `#[prompt]`: the function's parameters are the prompt's arguments (doc
/// comments their descriptions), its result the messages.
pub fn expand_prompt(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = Options::parse(
        attr,
        "prompt",
        &["name", "title", "description", "type_name"],
    )?;
    let mut func = parse_fn(item, "prompt")?;
    let params = read_params(&mut func.sig)?;
    if let Some(p) = params.iter().find(|p| !matches!(p.kind, ParamKind::Arg)) {
        return Err(syn::Error::new_spanned(
            &p.ty,
            "a prompt's parameters are its arguments: context parameters are for tools",
        ));
    }
    let fn_ident = func.sig.ident.clone();
    let name = options
        .name
        .as_ref()
        .map_or_else(|| fn_ident.unraw().to_string(), LitStr::value);
    let description = match (&options.description, doc_text(&func.attrs)) {
        (Some(d), _) => d.value(),
        (None, Some(doc)) => doc,
        (None, None) => {
            return Err(syn::Error::new_spanned(
                &fn_ident,
                "a prompt needs a description: add a `///` doc comment, or #[prompt(description = \"…\")]",
            ));
        }
    };
    let type_ident = options.type_ident(&func, "prompt")?;
    let args_ident = format_ident!("__TypecallPromptArgs_{}", fn_ident.unraw());
    let args_def = args_struct(&args_ident, &params);
    let fields = params.iter().map(|p| &p.ident);
    let awaited = awaiting(&func);
    let title = options.title.as_ref().map(|t| quote! { .title(#t) });
    let vis = &func.vis;
    let doc = format!(
        "The `{name}` prompt: [`{}`] as an MCP [`Prompt`](::typecall::mcp::Prompt).",
        fn_ident.unraw()
    );
    Ok(quote! {
        #func

        #args_def

        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #type_ident;

        impl ::core::convert::From<#type_ident> for ::typecall::mcp::Prompt {
            fn from(_: #type_ident) -> Self {
                ::typecall::mcp::Prompt::typed(#name, #description, |__args: #args_ident| async move {
                    #[allow(unused_imports)]
                    use ::typecall::__private::mcp::PromptOutput as _;
                    #fn_ident(#(__args.#fields),*) #awaited .into_messages()
                })
                #title
            }
        }
    })
}

/// The `{name}` variables of a URI template, in order.
fn template_variables(uri: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = uri;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + len].to_owned());
        rest = &rest[start + len + 1..];
    }
    out
}

/// `#[resource(uri = "…")]`: a function with no parameters serves the
/// resource at that URI; with `{name}` variables in the URI it serves a
/// template, each parameter taking the variable of its name.
pub fn expand_resource(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = Options::parse(
        attr,
        "resource",
        &[
            "uri",
            "name",
            "title",
            "description",
            "mime_type",
            "type_name",
        ],
    )?;
    let mut func = parse_fn(item, "resource")?;
    let Some(uri) = options.uri.clone() else {
        return Err(syn::Error::new_spanned(
            &func.sig.ident,
            "a resource needs its URI: #[resource(uri = \"docs://readme\")] (with `{name}` variables for a template)",
        ));
    };
    let params = read_params(&mut func.sig)?;
    let variables = template_variables(&uri.value());
    for p in &params {
        let named = p.ident.unraw().to_string();
        if !matches!(p.kind, ParamKind::Arg) || !variables.contains(&named) {
            return Err(syn::Error::new_spanned(
                &p.ident,
                format!(
                    "a resource's parameters are the variables of its URI template, each by name; `{}` has no `{{{named}}}`",
                    uri.value()
                ),
            ));
        }
    }
    if let Some(missing) = variables
        .iter()
        .find(|v| !params.iter().any(|p| p.ident.unraw() == v.as_str()))
    {
        return Err(syn::Error::new_spanned(
            &uri,
            format!("the URI template's variable `{missing}` needs a parameter of that name"),
        ));
    }
    let fn_ident = func.sig.ident.clone();
    let name = options
        .name
        .as_ref()
        .map_or_else(|| fn_ident.unraw().to_string(), LitStr::value);
    let mime_type = options
        .mime_type
        .as_ref()
        .map_or_else(|| "text/plain".to_owned(), LitStr::value);
    let description = options
        .description
        .as_ref()
        .map(LitStr::value)
        .or_else(|| doc_text(&func.attrs))
        .map(|d| quote! { .description(#d) });
    let title = options.title.as_ref().map(|t| quote! { .title(#t) });
    let type_ident = options.type_ident(&func, "resource")?;
    let awaited = awaiting(&func);
    let vis = &func.vis;
    let fn_plain = fn_ident.unraw();
    let reads = params.iter().map(|p| {
        let (ident, ty) = (&p.ident, &p.ty);
        let variable = ident.unraw().to_string();
        quote! {
            let #ident = ::typecall::__private::mcp::variable::<#ty>(&__request, #variable)?;
        }
    });
    let args = params.iter().map(|p| &p.ident);
    let read = quote! {
        #[allow(unused_imports)]
        use ::typecall::__private::mcp::ResourceOutput as _;
        #(#reads)*
        #fn_ident(#(#args),*) #awaited .into_contents()
    };
    let built = if variables.is_empty() {
        let doc = format!(
            "The resource `{}`: [`{fn_plain}`] as an MCP [`Resource`](::typecall::mcp::Resource).",
            uri.value()
        );
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, Default)]
            #vis struct #type_ident;

            impl ::core::convert::From<#type_ident> for ::typecall::mcp::Resource {
                fn from(_: #type_ident) -> Self {
                    ::typecall::mcp::Resource::new(#uri, #name, #mime_type, || async move { #read })
                        #description #title
                }
            }
        }
    } else {
        let doc = format!(
            "The resources `{}`: [`{fn_plain}`] as an MCP [`ResourceTemplate`](::typecall::mcp::ResourceTemplate).",
            uri.value()
        );
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, Default)]
            #vis struct #type_ident;

            impl ::core::convert::From<#type_ident> for ::typecall::mcp::ResourceTemplate {
                fn from(_: #type_ident) -> Self {
                    ::typecall::mcp::ResourceTemplate::new(
                        #uri,
                        #name,
                        #mime_type,
                        |__request: ::typecall::mcp::ResourceRequest| async move { #read },
                    )
                    #description #title
                }
            }
        }
    };
    Ok(quote! {
        #func

        #built
    })
}

#[cfg(test)]
mod tests {
    use super::template_variables;

    #[test]
    fn template_variables_are_read_in_order() {
        assert_eq!(
            template_variables("notes://{folder}/{id}"),
            ["folder", "id"]
        );
        assert!(template_variables("docs://readme").is_empty());
        assert!(template_variables("x://{open").is_empty());
    }
}
