//! `#[tool(...)]` options.

use proc_macro2::Span;
use syn::{Attribute, LitBool, LitStr, Type};

/// The options a `#[tool(...)]` attribute can carry.
#[derive(Default)]
pub struct ToolOptions {
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub strict: Option<bool>,
    pub type_name: Option<LitStr>,
    pub blocking: bool,
    pub sequential: bool,
    pub skip: bool,
    pub context: Option<Type>,
    pub title: Option<LitStr>,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

const KNOWN: &str = "name, description, strict, type_name, blocking, sequential, skip, context, title, read_only, destructive, idempotent, open_world";

impl ToolOptions {
    /// Parses the tokens inside `#[tool(...)]`.
    pub fn parse_tokens(tokens: proc_macro2::TokenStream, allowed: &[&str]) -> syn::Result<Self> {
        let mut o = ToolOptions::default();
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
                let known = if KNOWN.contains(&key) && !key.is_empty() {
                    format!(
                        "`{key}` is not accepted here; accepted: {}",
                        allowed.join(", ")
                    )
                } else {
                    format!(
                        "unknown #[tool] option `{}`; expected one of: {}",
                        path_text(&meta.path),
                        allowed.join(", ")
                    )
                };
                return Err(meta.error(known));
            }
            match key.as_str() {
                "name" => o.name = Some(meta.value()?.parse()?),
                "description" => o.description = Some(meta.value()?.parse()?),
                "type_name" => o.type_name = Some(meta.value()?.parse()?),
                "strict" => {
                    let b: LitBool = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(e.span(), "`strict` takes a boolean: `strict = false`")
                    })?;
                    o.strict = Some(b.value);
                }
                "context" => o.context = Some(meta.value()?.parse()?),
                "blocking" => o.blocking = true,
                "sequential" => o.sequential = true,
                "skip" => o.skip = true,
                "title" => o.title = Some(meta.value()?.parse()?),
                "read_only" => o.read_only = true,
                "destructive" => o.destructive = true,
                "idempotent" => o.idempotent = true,
                "open_world" => o.open_world = true,
                _ => {}
            }
            Ok(())
        });
        syn::parse::Parser::parse2(parser, tokens)?;
        Ok(o)
    }

    /// Takes the `#[tool(...)]` attributes out of `attrs` and parses them.
    pub fn take_from(attrs: &mut Vec<Attribute>, allowed: &[&str]) -> syn::Result<Self> {
        let mut found = Vec::new();
        attrs.retain(|a| {
            if a.path().is_ident("tool") {
                found.push(a.clone());
                false
            } else {
                true
            }
        });
        let mut o = ToolOptions::default();
        for a in found {
            let tokens = match &a.meta {
                syn::Meta::Path(_) => proc_macro2::TokenStream::new(),
                syn::Meta::List(l) => l.tokens.clone(),
                syn::Meta::NameValue(nv) => {
                    return Err(syn::Error::new_spanned(
                        nv,
                        "write `#[tool(...)]`, e.g. `#[tool(name = \"x\")]`",
                    ));
                }
            };
            let more = Self::parse_tokens(tokens, allowed)?;
            o.name = more.name.or(o.name);
            o.description = more.description.or(o.description);
            o.strict = more.strict.or(o.strict);
            o.type_name = more.type_name.or(o.type_name);
            o.context = more.context.or(o.context);
            o.blocking |= more.blocking;
            o.sequential |= more.sequential;
            o.skip |= more.skip;
            o.title = more.title.or(o.title);
            o.read_only |= more.read_only;
            o.destructive |= more.destructive;
            o.idempotent |= more.idempotent;
            o.open_world |= more.open_world;
        }
        Ok(o)
    }

    /// An expression building the tool's `ToolAnnotations`.
    pub fn annotations(&self) -> proc_macro2::TokenStream {
        let title = self.title.iter();
        let flag = |on: bool, method: &str| {
            let m = syn::Ident::new(method, Span::call_site());
            on.then(|| quote::quote! { .#m(true) })
        };
        let flags = [
            flag(self.read_only, "read_only"),
            flag(self.destructive, "destructive"),
            flag(self.idempotent, "idempotent"),
            flag(self.open_world, "open_world"),
        ];
        let flags = flags.iter().flatten();
        quote::quote! {
            ::typecall::tool::ToolAnnotations::new() #(.title(#title))* #(#flags)*
        }
    }
}

fn path_text(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The text of the `///` doc comments in `attrs`, trimmed and joined.
pub fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            lines.push(s.value().trim().to_owned());
        }
    }
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

impl ToolOptions {
    /// The tool's name: `name = "…"`, else `default`; checked.
    pub fn tool_name(&self, default: String, ident: &syn::Ident) -> syn::Result<String> {
        let name = self.name.as_ref().map(LitStr::value).unwrap_or(default);
        let span = self
            .name
            .as_ref()
            .map(LitStr::span)
            .unwrap_or_else(|| ident.span());
        check_name(&name, span)?;
        Ok(name)
    }

    /// The tool's description: `description = "…"`, else the doc comment; an
    /// error at `ident` when there is neither.
    pub fn tool_description(&self, doc: Option<String>, ident: &syn::Ident) -> syn::Result<String> {
        match (&self.description, doc) {
            (Some(d), _) => Ok(d.value()),
            (None, Some(doc)) => Ok(doc),
            (None, None) => Err(syn::Error::new_spanned(
                ident,
                "a tool needs a description: add a `///` doc comment saying what it does, or #[tool(description = \"…\")]",
            )),
        }
    }
}

/// Checks a tool name against `^[a-zA-Z0-9_-]{1,64}$`.
pub fn check_name(name: &str, span: Span) -> syn::Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new(
            span,
            format!(
                "tool name `{name}` is not accepted by providers: use 1 to 64 letters, digits, `_` or `-` (e.g. `get_weather`)"
            ),
        ))
    }
}

/// `get_weather` → `GetWeather`.
pub fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `AddNumbers` → `add_numbers`.
pub fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}
