//! The `Tool` implementation shared by `#[tool]` and `#[tools]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

/// What a generated tool needs.
pub struct ToolSpec<'a> {
    pub name: String,
    pub description: String,
    pub strict: bool,
    pub sequential: bool,
    pub blocking: bool,
    /// The type implementing `Tool`.
    pub tool_type: TokenStream,
    /// The hidden argument struct.
    pub args_ident: &'a Ident,
    /// Fetches context values into `__ctx_<param>` variables.
    pub context_fetches: TokenStream,
    /// Sets up anything the call needs (e.g. a clone of `self`), before it.
    pub prelude: TokenStream,
    /// The call of the user's code (may evaluate to a future).
    pub call: TokenStream,
    /// The user's return type, for error spans.
    pub output: &'a ReturnType,
}

pub fn tool_impl(spec: &ToolSpec<'_>) -> TokenStream {
    let ToolSpec {
        name,
        description,
        strict,
        sequential,
        tool_type,
        args_ident,
        context_fetches,
        prelude,
        call,
        ..
    } = spec;
    let ret_span = match spec.output {
        ReturnType::Default => proc_macro2::Span::call_site(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let body = if spec.blocking {
        quote! {
            let __out = ::typecall::tool::__private::run_blocking(#name, move || #call).await?;
        }
    } else {
        quote! {
            let __out = #call;
            let __tag = (&&::typecall::tool::__private::Wrap(&__out)).kind();
            let __out = __tag.resolve(__out).await;
        }
    };
    let convert = quote_spanned! {ret_span=>
        let __tag = (&&::typecall::tool::__private::Wrap(&__out)).result_kind();
        __tag.convert(#name, __out)
    };
    quote! {
        impl #tool_type {
            #[doc(hidden)]
            fn __typecall_built() -> &'static ::typecall::tool::__private::BuiltDef {
                static CELL: ::typecall::tool::__private::DefCell = ::typecall::tool::__private::DefCell::new();
                CELL.get_or_init(|| ::typecall::tool::__private::build_def::<#args_ident>(#name, #description, #strict))
            }
        }

        impl ::typecall::tool::Tool for #tool_type {
            fn def(&self) -> &::typecall::tool::ToolDef {
                &Self::__typecall_built().def
            }
            fn sequential(&self) -> bool {
                #sequential
            }
            fn schema_error(&self) -> ::core::option::Option<&::typecall::schema::SchemaError> {
                Self::__typecall_built().error.as_ref()
            }
            fn call<'__a>(
                &'__a self,
                __json: ::typecall::__private::serde_json::Value,
                __ctx: &'__a ::typecall::tool::ToolContext,
            ) -> ::typecall::future::BoxFuture<'__a, ::typecall::tool::ToolResult> {
                #[allow(unused_imports)]
                use ::typecall::tool::__private::{FutureKind as _, ValueKind as _, ResultKind as _, PlainKind as _};
                ::std::boxed::Box::pin(async move {
                    #[allow(unused_variables)]
                    let __args: #args_ident = ::typecall::tool::__private::decode_args(#name, Self::__typecall_built(), __json)?;
                    #context_fetches
                    #prelude
                    #body
                    #convert
                })
            }
        }
    }
}
