//! What an MCP server offers besides tools: resources (at fixed URIs or URI
//! templates) and prompts, each served by a Rust function, with completion
//! of their arguments.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::chat::base64;
use crate::future::BoxFuture;
use crate::tool::{ContentBlock, ResourceContents};

/// What reading a resource gives: its contents, or why not.
type Read = Arc<
    dyn Fn(ResourceRequest) -> BoxFuture<'static, Result<ResourceContents, String>> + Send + Sync,
>;

/// Completions of an argument's value from what was typed so far.
type Complete = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// The most completions given for one argument.
pub(super) const MAX_COMPLETIONS: usize = 100;

/// A resource read: its URI and, for a template, the variables it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The URI asked for.
    pub uri: String,
    /// The template's variables (`{id}` → `"123"`); empty for a fixed URI.
    pub variables: HashMap<String, String>,
}

/// What the listing says of a resource or template.
#[derive(Clone)]
pub(super) struct Listing {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub media_type: Option<String>,
}

/// A resource at a fixed URI, served to MCP clients
/// ([`McpServer::resource`](super::McpServer::resource)).
///
/// ```
/// use typecall::mcp::Resource;
/// let readme = Resource::text("docs://readme", "readme", "text/markdown", "# Hello")
///     .description("The project's README");
/// # let _ = readme;
/// ```
#[derive(Clone)]
pub struct Resource {
    pub(super) uri: String,
    pub(super) listing: Listing,
    pub(super) read: Read,
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.uri)
            .field("name", &self.listing.name)
            .finish_non_exhaustive()
    }
}

fn reader<F, Fut, E>(read: F) -> Read
where
    F: Fn(ResourceRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ResourceContents, E>> + Send + 'static,
    E: Display,
{
    Arc::new(move |request| {
        let read = read(request);
        Box::pin(async move { read.await.map_err(|e| e.to_string()) })
    })
}

impl Resource {
    /// A resource whose contents `read` gives each time it is read.
    pub fn new<F, Fut, E>(
        uri: impl Into<String>,
        name: impl Into<String>,
        media_type: impl Into<String>,
        read: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResourceContents, E>> + Send + 'static,
        E: Display,
    {
        Self {
            uri: uri.into(),
            listing: Listing {
                name: name.into(),
                title: None,
                description: None,
                media_type: Some(media_type.into()),
            },
            read: reader(move |_| read()),
        }
    }

    /// A resource whose contents are this text.
    pub fn text(
        uri: impl Into<String>,
        name: impl Into<String>,
        media_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        let text: Arc<str> = text.into().into();
        Self::new(uri, name, media_type, move || {
            let text = ResourceContents::Text(text.to_string());
            async move { Ok::<_, String>(text) }
        })
    }

    /// A resource whose contents are these bytes.
    pub fn bytes(
        uri: impl Into<String>,
        name: impl Into<String>,
        media_type: impl Into<String>,
        bytes: &[u8],
    ) -> Self {
        let blob: Arc<str> = base64(bytes).into();
        Self::new(uri, name, media_type, move || {
            let blob = ResourceContents::Blob(blob.to_string());
            async move { Ok::<_, String>(blob) }
        })
    }

    /// A title for people.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.listing.title = Some(title.into());
        self
    }

    /// What it is.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.listing.description = Some(description.into());
        self
    }
}

/// Resources whose URIs follow a template (`notes://{id}`): each `{name}`
/// matches one path segment (RFC 6570 level 1), and the read function gets
/// the values ([`McpServer::resource_template`](super::McpServer::resource_template)).
///
/// ```
/// use typecall::mcp::ResourceTemplate;
/// use typecall::tool::ResourceContents;
/// let notes = ResourceTemplate::new("notes://{id}", "note", "text/plain", |request| async move {
///     let id = request.variables.get("id").cloned().unwrap_or_default();
///     Ok::<_, String>(ResourceContents::Text(format!("Note {id}")))
/// })
/// .complete("id", |typed| vec![format!("{typed}1"), format!("{typed}2")]);
/// # let _ = notes;
/// ```
#[derive(Clone)]
pub struct ResourceTemplate {
    pub(super) template: String,
    pub(super) listing: Listing,
    pub(super) read: Read,
    pub(super) completions: HashMap<String, Complete>,
}

impl std::fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("template", &self.template)
            .field("name", &self.listing.name)
            .finish_non_exhaustive()
    }
}

impl ResourceTemplate {
    /// Resources at `template`, read by `read`.
    pub fn new<F, Fut, E>(
        template: impl Into<String>,
        name: impl Into<String>,
        media_type: impl Into<String>,
        read: F,
    ) -> Self
    where
        F: Fn(ResourceRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResourceContents, E>> + Send + 'static,
        E: Display,
    {
        Self {
            template: template.into(),
            listing: Listing {
                name: name.into(),
                title: None,
                description: None,
                media_type: Some(media_type.into()),
            },
            read: reader(read),
            completions: HashMap::new(),
        }
    }

    /// A title for people.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.listing.title = Some(title.into());
        self
    }

    /// What they are.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.listing.description = Some(description.into());
        self
    }

    /// Completes values of `variable` from what the user typed so far
    /// (`completion/complete`; at most 100 are sent).
    #[must_use]
    pub fn complete(
        mut self,
        variable: impl Into<String>,
        complete: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(variable.into(), Arc::new(complete));
        self
    }

    /// The variables of `uri` if it follows the template.
    pub(super) fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        match_template(&self.template, uri)
    }
}

/// The variables of `uri` under `template` (`{name}` matches a non-empty
/// run of characters other than `/`).
fn match_template(template: &str, uri: &str) -> Option<HashMap<String, String>> {
    let mut variables = HashMap::new();
    let mut rest = uri;
    let mut pattern = template;
    while !pattern.is_empty() {
        match pattern.find('{') {
            None => return (rest == pattern).then_some(variables),
            Some(open) => {
                let literal = pattern.get(..open)?;
                rest = rest.strip_prefix(literal)?;
                let close = pattern.get(open..)?.find('}')? + open;
                let name = pattern.get(open + 1..close)?;
                pattern = pattern.get(close + 1..)?;
                // The value runs to the next literal character (or `/`).
                let stop = pattern.chars().next();
                let end = rest
                    .char_indices()
                    .find(|(_, c)| *c == '/' || Some(*c) == stop)
                    .map_or(rest.len(), |(i, _)| i);
                let value = rest.get(..end)?;
                if value.is_empty() {
                    return None;
                }
                variables.insert(name.to_owned(), value.to_owned());
                rest = rest.get(end..)?;
            }
        }
    }
    rest.is_empty().then_some(variables)
}

/// Who says a prompt message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptRole {
    /// The user.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a prompt: who says it, and a content block (text, an
/// image, audio, an embedded resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptMessage {
    /// Who says it.
    pub role: PromptRole,
    /// What is said.
    pub content: ContentBlock,
}

impl PromptMessage {
    /// A user message with this content.
    pub fn user(content: ContentBlock) -> Self {
        Self {
            role: PromptRole::User,
            content,
        }
    }
    /// An assistant message with this content.
    pub fn assistant(content: ContentBlock) -> Self {
        Self {
            role: PromptRole::Assistant,
            content,
        }
    }
    /// A user message of text.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::user(ContentBlock::Text { text: text.into() })
    }
}

/// An argument a prompt takes (MCP's arguments are strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PromptArgument {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

type Get = Arc<
    dyn Fn(HashMap<String, String>) -> BoxFuture<'static, Result<Vec<PromptMessage>, String>>
        + Send
        + Sync,
>;

/// A prompt template served to MCP clients, its messages made by a Rust
/// function from the arguments ([`McpServer::prompt`](super::McpServer::prompt)).
///
/// ```
/// use typecall::mcp::{Prompt, PromptMessage};
///
/// /// What the review prompt takes.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Review {
///     /// The code to review.
///     code: String,
/// }
///
/// let review = Prompt::typed("review", "Review some code", |args: Review| async move {
///     Ok::<_, String>(vec![PromptMessage::user_text(format!("Review this:\n{}", args.code))])
/// });
/// # let _ = review;
/// ```
#[derive(Clone)]
pub struct Prompt {
    pub(super) name: String,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) arguments: Vec<PromptArgument>,
    pub(super) get: Get,
    pub(super) completions: HashMap<String, Complete>,
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.name)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt whose messages `get` makes from the arguments given (declare
    /// them with [`argument`](Self::argument); missing required ones are
    /// refused before `get` runs).
    pub fn new<F, Fut, E>(name: impl Into<String>, description: impl Into<String>, get: F) -> Self
    where
        F: Fn(HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<PromptMessage>, E>> + Send + 'static,
        E: Display,
    {
        Self {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            arguments: Vec::new(),
            get: Arc::new(move |args| {
                let get = get(args);
                Box::pin(async move { get.await.map_err(|e| e.to_string()) })
            }),
            completions: HashMap::new(),
        }
    }

    /// A prompt whose arguments are the fields of `A` (from its JSON Schema:
    /// names, doc comments as descriptions, required unless `Option`); the
    /// arguments given are read into an `A` (a field that is not a string
    /// is read from the string given, e.g. `"3"` for a number).
    pub fn typed<A, F, Fut, E>(
        name: impl Into<String>,
        description: impl Into<String>,
        get: F,
    ) -> Self
    where
        A: schemars::JsonSchema + DeserializeOwned + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<PromptMessage>, E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let get = Arc::new(get);
        let mut prompt = Self::new(name, description, move |args: HashMap<String, String>| {
            let get = Arc::clone(&get);
            async move {
                let object: serde_json::Map<String, Value> = args
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let parsed: A = match serde_json::from_value(Value::Object(object.clone())) {
                    Ok(a) => a,
                    Err(first) => {
                        // A field that is not a string: its value read as JSON
                        // (`"3"` for a number, `"true"` for a flag).
                        let loose: serde_json::Map<String, Value> = object
                            .into_iter()
                            .map(|(k, v)| {
                                let v = match &v {
                                    Value::String(s) => serde_json::from_str(s).unwrap_or(v),
                                    _ => v,
                                };
                                (k, v)
                            })
                            .collect();
                        serde_json::from_value(Value::Object(loose))
                            .map_err(|_| format!("the arguments do not fit: {first}"))?
                    }
                };
                get(parsed).await.map_err(|e| e.to_string())
            }
        });
        prompt.arguments =
            arguments_of(&serde_json::to_value(schemars::schema_for!(A)).unwrap_or_default());
        prompt
    }

    /// Declares an argument.
    #[must_use]
    pub fn argument(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        required: bool,
    ) -> Self {
        self.arguments.push(PromptArgument {
            name: name.into(),
            description: Some(description.into()),
            required,
        });
        self
    }

    /// A title for people.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Completes values of `argument` from what the user typed so far
    /// (`completion/complete`; at most 100 are sent).
    #[must_use]
    pub fn complete(
        mut self,
        argument: impl Into<String>,
        complete: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(argument.into(), Arc::new(complete));
        self
    }
}

/// The arguments an object schema describes.
fn arguments_of(schema: &Value) -> Vec<PromptArgument> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, property)| PromptArgument {
            name: name.clone(),
            description: property
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            required: required.contains(&name.as_str()),
        })
        .collect()
}

/// What `#[prompt]` and `#[resource]` generate calls to. Not a public API.
#[doc(hidden)]
pub mod generated {
    use std::fmt::Display;
    use std::str::FromStr;

    use super::{PromptMessage, ResourceRequest};
    use crate::chat::base64;
    use crate::tool::ResourceContents;

    /// What a `#[prompt]` function may return.
    pub trait PromptOutput {
        /// The messages, or why not.
        fn into_messages(self) -> Result<Vec<PromptMessage>, String>;
    }

    impl PromptOutput for Vec<PromptMessage> {
        fn into_messages(self) -> Result<Vec<PromptMessage>, String> {
            Ok(self)
        }
    }

    impl PromptOutput for PromptMessage {
        fn into_messages(self) -> Result<Vec<PromptMessage>, String> {
            Ok(vec![self])
        }
    }

    impl<T: PromptOutput, E: Display> PromptOutput for Result<T, E> {
        fn into_messages(self) -> Result<Vec<PromptMessage>, String> {
            self.map_err(|e| e.to_string())?.into_messages()
        }
    }

    /// What a `#[resource]` function may return: text (`String`, `&str`),
    /// bytes (`Vec<u8>`), [`ResourceContents`], or a `Result` of one.
    pub trait ResourceOutput {
        /// The contents, or why not.
        fn into_contents(self) -> Result<ResourceContents, String>;
    }

    impl ResourceOutput for String {
        fn into_contents(self) -> Result<ResourceContents, String> {
            Ok(ResourceContents::Text(self))
        }
    }

    impl ResourceOutput for &str {
        fn into_contents(self) -> Result<ResourceContents, String> {
            Ok(ResourceContents::Text(self.to_owned()))
        }
    }

    impl ResourceOutput for Vec<u8> {
        fn into_contents(self) -> Result<ResourceContents, String> {
            Ok(ResourceContents::Blob(base64(&self)))
        }
    }

    impl ResourceOutput for ResourceContents {
        fn into_contents(self) -> Result<ResourceContents, String> {
            Ok(self)
        }
    }

    impl<T: ResourceOutput, E: Display> ResourceOutput for Result<T, E> {
        fn into_contents(self) -> Result<ResourceContents, String> {
            self.map_err(|e| e.to_string())?.into_contents()
        }
    }

    /// The template variable `name` of a read, parsed as a `T`.
    pub fn variable<T>(request: &ResourceRequest, name: &str) -> Result<T, String>
    where
        T: FromStr,
        T::Err: Display,
    {
        let text = request
            .variables
            .get(name)
            .ok_or_else(|| format!("the URI `{}` has no `{name}`", request.uri))?;
        text.parse()
            .map_err(|e| format!("`{name}` in `{}`: {e}", request.uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let vars = match_template("test://template/{id}/data", "test://template/123/data").unwrap();
        assert_eq!(vars.get("id").map(String::as_str), Some("123"));
        assert!(match_template("test://template/{id}/data", "test://template//data").is_none());
        assert!(match_template("test://template/{id}/data", "test://template/1/2/data").is_none());
        assert!(match_template("test://template/{id}/data", "test://template/1/datax").is_none());
        let vars = match_template("db://{table}.{row}", "db://users.42").unwrap();
        assert_eq!(vars.get("table").map(String::as_str), Some("users"));
        assert_eq!(vars.get("row").map(String::as_str), Some("42"));
        assert!(match_template("{", "x").is_none());
    }

    #[test]
    fn typed_prompts_take_their_arguments_from_the_schema() {
        /// Arguments.
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Args {
            /// The topic.
            topic: String,
            /// How many.
            count: Option<u32>,
        }
        let prompt = Prompt::typed("p", "d", |a: Args| async move {
            Ok::<_, String>(vec![PromptMessage::user_text(format!(
                "{} {:?}",
                a.topic, a.count
            ))])
        });
        let args = &prompt.arguments;
        assert_eq!(args.len(), 2);
        let topic = args.iter().find(|a| a.name == "topic").unwrap();
        assert!(topic.required);
        assert_eq!(topic.description.as_deref(), Some("The topic."));
        assert!(!args.iter().find(|a| a.name == "count").unwrap().required);
    }

    /// A note, by number.
    #[crate::mcp::resource(uri = "notes://{id}", mime_type = "text/markdown")]
    async fn note(id: u32) -> Result<String, String> {
        if id == 1 {
            Ok("Buy milk".into())
        } else {
            Err(format!("no note {id}"))
        }
    }

    /// Summarize a text.
    #[crate::mcp::prompt(title = "Summary")]
    fn summarize(
        /// The text.
        text: String,
        /// At most this many words.
        words: Option<u32>,
    ) -> PromptMessage {
        PromptMessage::user_text(format!("{} in {:?} words", text, words))
    }

    #[tokio::test]
    async fn macro_made_resources_and_prompts_read_their_arguments_typed() {
        let template = ResourceTemplate::from(Note);
        assert_eq!(template.template, "notes://{id}");
        assert_eq!(template.listing.name, "note");
        assert_eq!(
            template.listing.description.as_deref(),
            Some("A note, by number.")
        );
        assert_eq!(
            template.listing.media_type.as_deref(),
            Some("text/markdown")
        );
        let read = |id: &str| {
            (template.read)(ResourceRequest {
                uri: format!("notes://{id}"),
                variables: HashMap::from([("id".to_owned(), id.to_owned())]),
            })
        };
        assert_eq!(
            read("1").await,
            Ok(ResourceContents::Text("Buy milk".into()))
        );
        assert_eq!(read("2").await, Err("no note 2".to_owned()));
        let e = read("x").await.unwrap_err();
        assert!(e.starts_with("`id` in `notes://x`: invalid digit"), "{e}");

        let prompt = Prompt::from(Summarize);
        assert_eq!(prompt.name, "summarize");
        assert_eq!(prompt.title.as_deref(), Some("Summary"));
        assert_eq!(prompt.description.as_deref(), Some("Summarize a text."));
        let words = prompt.arguments.iter().find(|a| a.name == "words").unwrap();
        assert!(!words.required);
        assert_eq!(
            words.description.as_deref(),
            Some("At most this many words.")
        );
        let messages = (prompt.get)(HashMap::from([
            ("text".to_owned(), "hello".to_owned()),
            ("words".to_owned(), "3".to_owned()),
        ]))
        .await
        .unwrap();
        assert_eq!(
            messages,
            vec![PromptMessage::user_text("hello in Some(3) words")]
        );
    }
}
