//! `#[derive(Tool)]` on a struct: the fields are the arguments, the struct's
//! `call` method (sync or async, returning a value or a `Result`) is the body.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput};

use crate::options::{ToolOptions, doc_text, snake_case};

const ALLOWED: &[&str] = &["name", "description", "strict", "sequential", "context"];

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut input: DeriveInput = syn::parse2(input)?;
    if !matches!(input.data, Data::Struct(_)) {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Tool)] goes on a struct whose fields are the arguments; for an enum, wrap it in a struct field",
        ));
    }
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Tool)] cannot be used on a generic struct",
        ));
    }
    let options = ToolOptions::take_from(&mut input.attrs, ALLOWED)?;
    let ident = &input.ident;
    let name = options.tool_name(snake_case(&ident.unraw().to_string()), ident)?;
    let description = options.tool_description(doc_text(&input.attrs), ident)?;
    let strict = options.strict.unwrap_or(true);
    let sequential = options.sequential;
    let call = match &options.context {
        Some(ty) => quote! { self.call(__ctx.get::<#ty>(#name)?) },
        None => quote! { self.call() },
    };
    Ok(quote! {
        impl ::typecall::tool::ToolArgs for #ident {
            const NAME: &'static str = #name;
            const DESCRIPTION: &'static str = #description;
            const STRICT: bool = #strict;
            const SEQUENTIAL: bool = #sequential;
            fn run(self, __ctx: &::typecall::tool::ToolContext) -> ::typecall::future::BoxFuture<'_, ::typecall::tool::ToolResult> {
                #[allow(unused_imports)]
                use ::typecall::__private::tool::{FutureKind as _, ValueKind as _, ResultKind as _, PlainKind as _};
                ::std::boxed::Box::pin(async move {
                    let __out = #call;
                    let __tag = (&&::typecall::__private::tool::Wrap(&__out)).kind();
                    let __out = __tag.resolve(__out).await;
                    let __tag = (&&::typecall::__private::tool::Wrap(&__out)).result_kind();
                    __tag.convert(#name, __out)
                })
            }
        }

        impl #ident {
            /// This struct as a [`Tool`](::typecall::Tool): its fields are the arguments.
            pub fn tool() -> ::typecall::tool::ArgsTool<Self> {
                ::typecall::tool::ArgsTool::new()
            }
        }
    })
}
