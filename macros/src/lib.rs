//! Procedural macros for [typecall](https://docs.rs/typecall): `#[tool]`,
//! `#[tools]` and `#[derive(Tool)]`. Use them through the `typecall` crate,
//! which re-exports them and documents them.

mod catalog;
mod codegen;
mod derive;
mod func;
mod impls;
mod options;
mod partial;
mod signature;

use proc_macro::TokenStream;

/// Turns a function into a tool: the doc comment is its description, `///`
/// comments on parameters describe the arguments, and a unit struct named after
/// the function in CamelCase (`get_weather` → `GetWeather`) implements
/// `typecall::Tool`. If that name is taken by a type of yours, name the tool
/// type with `type_name = "…"`.
///
/// Options: `name = "…"`, `description = "…"`, `strict = false`,
/// `type_name = "…"`, `blocking` (run a sync body on the blocking pool),
/// `sequential` (never run two calls of it at once).
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    func::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns every `pub fn` with a doc comment and a `&self` receiver of an `impl`
/// block into a tool sharing the value; `#[tool(skip)]` leaves one out. A
/// `&self` method that is `pub` without a doc comment, or documented but not
/// `pub`, is a compile error unless it says `#[tool(skip)]`.
#[proc_macro_attribute]
pub fn tools(attr: TokenStream, item: TokenStream) -> TokenStream {
    impls::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a struct the arguments of a tool whose body is the struct's `call`
/// method (`fn call(self) -> R`, or async; with `#[tool(context = S)]` it takes a
/// `Ctx<S>`). Register it with `Type::tool()`.
#[proc_macro_derive(Tool, attributes(tool))]
pub fn derive_tool(input: TokenStream) -> TokenStream {
    derive::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a struct's partial shape for streamed extraction: `TicketPartial` for
/// `Ticket`, every field an `Option` (a list: its complete items), read from
/// each partial value with `ExtractEvent::partial`. Honours serde's `rename`
/// and `rename_all`.
#[proc_macro_derive(Partial, attributes(serde))]
pub fn derive_partial(input: TokenStream) -> TokenStream {
    partial::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns a function into an MCP prompt: its parameters are the arguments.
/// Documented where it is re-exported, `typecall::mcp::prompt`.
#[proc_macro_attribute]
pub fn prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    catalog::expand_prompt(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns a function into an MCP resource (or resource template). Documented
/// where it is re-exported, `typecall::mcp::resource`.
#[proc_macro_attribute]
pub fn resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    catalog::expand_resource(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
