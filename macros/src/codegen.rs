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
    /// Fetches context values into `__ctx<position>` variables.
    pub context_fetches: TokenStream,
    /// Sets up anything the call needs (e.g. a clone of `self`), before it.
    pub prelude: TokenStream,
    /// The call of the user's code (may evaluate to a future).
    pub call: TokenStream,
    /// The user's return type, for error spans.
    pub output: &'a ReturnType,
    /// An expression building the tool's `ToolAnnotations`.
    pub annotations: TokenStream,
}

/// The generic arguments of a written `Result` return type (by its last path
/// segment: `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`), if it is one.
fn result_arguments(output: &ReturnType) -> Option<&syn::AngleBracketedGenericArguments> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(p) = &**ty else {
        return None;
    };
    let last = p.path.segments.last().filter(|s| s.ident == "Result")?;
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => Some(args),
        _ => None,
    }
}

/// The type a successful call gives back: `T` of a written `Result<T, …>`,
/// else the return type. `None` for `()` and for types the generated code
/// cannot name (`impl Trait`, `Self`).
fn success_type(output: &ReturnType) -> Option<syn::Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let text = quote!(#ty).to_string();
    if text.contains("impl ")
        || text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == "Self")
    {
        return None;
    }
    match result_arguments(output) {
        Some(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        }),
        None => Some((**ty).clone()),
    }
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
    let annotations = &spec.annotations;
    let output_schema = success_type(spec.output).map(|ty| {
        quote! {
            fn output_schema(&self) -> ::core::option::Option<&::typecall::__private::serde_json::Value> {
                #[allow(unused_imports)]
                use ::typecall::__private::tool::{OutputOf as _, OutputUnknown as _};
                static CELL: ::std::sync::OnceLock<::core::option::Option<::typecall::__private::serde_json::Value>> = ::std::sync::OnceLock::new();
                CELL.get_or_init(|| (&::typecall::__private::tool::Output::<#ty>::NEW).output_schema()).as_ref()
            }
        }
    });
    let ret_span = match spec.output {
        ReturnType::Default => proc_macro2::Span::call_site(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let body = if spec.blocking {
        quote! {
            let __out = ::typecall::__private::tool::run_blocking(#name, move || #call).await?;
        }
    } else {
        quote! {
            let __out = #call;
            let __tag = (&&::typecall::__private::tool::Wrap(&__out)).kind();
            let __out = __tag.resolve(__out).await;
        }
    };
    // A written `Result<…>` (or `io::Result<…>`, `anyhow::Result<…>`): `Ok` is
    // the value, `Err` the error the model reads (its `E` must be `Display`).
    // Anything else is sent as JSON (a `Result` behind an alias included: its
    // `Err` still goes back as an error). Trait-method calls, so a wrong type
    // gets typecall's message alone.
    let convert = if result_arguments(spec.output).is_some() {
        quote_spanned! {ret_span=>
            match __out {
                ::core::result::Result::Ok(__v) => ::typecall::tool::ToolOutput::into_tool_value(__v, #name),
                ::core::result::Result::Err(__e) => ::typecall::tool::ToolErrorMessage::into_tool_error(__e, #name),
            }
        }
    } else {
        quote_spanned! {ret_span=>
            ::typecall::tool::ToolOutput::into_tool_value(__out, #name)
        }
    };
    quote! {
        impl #tool_type {
            #[doc(hidden)]
            fn __typecall_built() -> &'static ::typecall::__private::tool::BuiltDef {
                static CELL: ::typecall::__private::tool::DefCell = ::typecall::__private::tool::DefCell::new();
                #[allow(unused_imports)]
                use ::typecall::__private::tool::{ArgsOf as _, ArgsUnchecked as _};
                CELL.get_or_init(|| (&::typecall::__private::tool::Args::<#args_ident>::NEW).build_def(#name, #description, #strict))
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
            fn annotations(&self) -> ::typecall::tool::ToolAnnotations {
                #annotations
            }
            #output_schema
            fn call<'__a>(
                &'__a self,
                __json: ::typecall::__private::serde_json::Value,
                __ctx: &'__a ::typecall::tool::ToolContext,
            ) -> ::typecall::future::BoxFuture<'__a, ::typecall::tool::ToolResult> {
                #[allow(unused_imports)]
                use ::typecall::__private::tool::{ArgsOf as _, ArgsUnchecked as _, FutureKind as _, ValueKind as _};
                ::std::boxed::Box::pin(async move {
                    #[allow(unused_variables)]
                    let __args: #args_ident = (&::typecall::__private::tool::Args::<#args_ident>::NEW).decode(#name, Self::__typecall_built(), __json)?;
                    #context_fetches
                    #prelude
                    #body
                    #convert
                })
            }
        }
    }
}
