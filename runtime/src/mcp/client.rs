//! The tools of an MCP server as a [`ToolSet`] an agent takes.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock,
    Implementation, NumberOrString, ProgressNotificationParam, ProgressToken, ProtocolVersion,
    RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService, ServiceError};
use rmcp::transport::TokioChildProcess;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

use super::McpError;
use crate::future::BoxFuture;
use crate::schema::{Dialect, Schema, SchemaError};
use crate::tool::{
    Tool, ToolAnnotations, ToolContent, ToolContext, ToolDef, ToolError, ToolResult, ToolSet,
    ToolValue, WRAPPED_RESULT,
};

/// How long a call or a list may take before it is a
/// [`ToolError::TimedOut`] (default; see [`McpClient::call_timeout`]).
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to an MCP server: a child process speaking on its stdin and
/// stdout ([`spawn`](Self::spawn)) or a streamable-HTTP endpoint
/// ([`connect_http`](Self::connect_http)). [`tools`](Self::tools) hands its
/// tools to an agent. Cloning shares the connection; it closes when the last
/// clone and the last of its tools are dropped (a child process is killed).
#[derive(Clone)]
pub struct McpClient {
    connection: Arc<Connection>,
    call_timeout: Duration,
}

struct Connection {
    service: RunningService<RoleClient, Notices>,
    label: String,
    changed: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    calls: AtomicU64,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.connection.label)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// The protocol revisions typecall's client speaks, oldest first: those
/// negotiated by the `initialize` handshake.
pub const MCP_PROTOCOL_VERSIONS: [&str; 4] =
    ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The revision offered unless [`McpHttpClientOptions::protocol_version`]
/// says otherwise: the newest of [`MCP_PROTOCOL_VERSIONS`]. (A server that
/// only speaks an older one answers with it, and the client goes on in it.)
const OFFERED_VERSION: &str = "2025-11-25";

/// What the client hears from the server besides answers, and what it says
/// of itself.
#[derive(Clone)]
struct Notices {
    changed: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    offered: &'static str,
    elicitation: Option<ElicitationHandler>,
    sampling: Option<Arc<dyn crate::Model>>,
}

/// What a server asks the user through [`McpHttpClientOptions::on_elicitation`].
#[derive(Debug, Clone, PartialEq)]
pub struct ElicitationRequest {
    /// What to tell the user.
    pub message: String,
    /// The form: a flat JSON Schema object (strings, numbers, booleans,
    /// enums; defaults where the server gives them).
    pub schema: Value,
}

/// Answers a server's elicitation: the user's answer (an object matching
/// the form), or that they declined or cancelled.
pub type ElicitationHandler =
    Arc<dyn Fn(ElicitationRequest) -> BoxFuture<'static, super::Elicited<Value>> + Send + Sync>;

/// A server's sampling request (`sampling/createMessage` params, as JSON)
/// as a chat request: its system prompt, its messages' text (other content
/// named in brackets), its token limit.
fn sampling_request(asked: &Value) -> crate::chat::ChatRequest {
    use crate::chat::{ChatRequest, Message};
    let text_of = |content: &Value| -> String {
        let one = |c: &Value| match c.get("type").and_then(Value::as_str) {
            Some("text") => c
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Some(other) => format!("[{other}]"),
            None => String::new(),
        };
        match content {
            Value::Array(blocks) => blocks.iter().map(one).collect::<Vec<_>>().join("\n"),
            block => one(block),
        }
    };
    let mut messages = Vec::new();
    if let Some(system) = asked.get("systemPrompt").and_then(Value::as_str) {
        messages.push(Message::system(system));
    }
    for m in asked
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = text_of(m.get("content").unwrap_or(&Value::Null));
        messages.push(match m.get("role").and_then(Value::as_str) {
            Some("assistant") => Message::assistant(text),
            _ => Message::user(text),
        });
    }
    let mut request = ChatRequest::new(messages);
    request.max_tokens = asked
        .get("maxTokens")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    request
}

/// `answer` with the form's defaults for the fields it leaves out (SEP-1034).
fn with_defaults(mut answer: Value, schema: &Value) -> Value {
    if let (Some(answer), Some(properties)) = (
        answer.as_object_mut(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for (name, property) in properties {
            if let Some(default) = property.get("default")
                && !answer.contains_key(name)
            {
                answer.insert(name.clone(), default.clone());
            }
        }
    }
    answer
}

impl ClientHandler for Notices {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.store(true, Ordering::Release);
    }

    async fn on_progress(
        &self,
        notice: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            progress = notice.progress,
            total = notice.total,
            message = notice.message.as_deref().unwrap_or_default(),
            "MCP tool progress"
        );
    }

    async fn create_elicitation(
        &self,
        request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        let Some(handler) = &self.elicitation else {
            return Err(rmcp::ErrorData::method_not_found::<
                rmcp::model::ElicitationCreateRequestMethod,
            >());
        };
        let asked = serde_json::to_value(&request).unwrap_or_default();
        let message = asked
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let schema = asked.get("requestedSchema").cloned().unwrap_or_default();
        let answer = handler(ElicitationRequest {
            message,
            schema: schema.clone(),
        })
        .await;
        let result = match answer {
            super::Elicited::Accepted(content) => serde_json::json!({
                "action": "accept",
                "content": with_defaults(content, &schema),
            }),
            super::Elicited::Declined => serde_json::json!({"action": "decline"}),
            super::Elicited::Cancelled => serde_json::json!({"action": "cancel"}),
        };
        serde_json::from_value(result)
            .map_err(|e| rmcp::ErrorData::internal_error(e.to_string(), None))
    }

    // Sampling is in every revision up to 2025-11-25, the one this client
    // negotiates; rmcp marks it deprecated for the revision after it.
    #[allow(deprecated)]
    async fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        let Some(model) = &self.sampling else {
            return Err(rmcp::ErrorData::method_not_found::<
                rmcp::model::CreateMessageRequestMethod,
            >());
        };
        let asked = serde_json::to_value(&params).unwrap_or_default();
        let request = sampling_request(&asked);
        let answer = model
            .chat(&request)
            .await
            .map_err(|e| rmcp::ErrorData::internal_error(format!("the model failed: {e}"), None))?;
        serde_json::from_value(serde_json::json!({
            "model": model.name(),
            "stopReason": "endTurn",
            "role": "assistant",
            "content": {"type": "text", "text": answer.text()},
        }))
        .map_err(|e| rmcp::ErrorData::internal_error(e.to_string(), None))
    }

    fn get_info(&self) -> ClientConfig {
        let mut offered = serde_json::Map::new();
        if self.elicitation.is_some() {
            offered.insert("elicitation".into(), serde_json::json!({"form": {}}));
        }
        if self.sampling.is_some() {
            offered.insert("sampling".into(), serde_json::json!({}));
        }
        let capabilities: ClientCapabilities =
            serde_json::from_value(Value::Object(offered)).unwrap_or_default();
        ClientConfig::new(
            capabilities,
            Implementation::new("typecall", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(
            ProtocolVersion::KNOWN_VERSIONS
                .iter()
                .find(|v| v.as_str() == self.offered)
                .cloned()
                .unwrap_or(ProtocolVersion::LATEST_WITH_INITIALIZE),
        )
    }
}

/// How [`McpClient::connect_http_with`] reaches a server.
///
/// The client sends only what is set here: never a model provider's API key
/// (those live in the providers' own clients).
#[derive(Clone, Default)]
pub struct McpHttpClientOptions {
    bearer_token: Option<String>,
    protocol_version: Option<String>,
    elicitation: Option<ElicitationHandler>,
    sampling: Option<Arc<dyn crate::Model>>,
    oauth: Option<super::McpOAuth>,
}

impl std::fmt::Debug for McpHttpClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHttpClientOptions")
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("protocol_version", &self.protocol_version)
            .field("on_elicitation", &self.elicitation.is_some())
            .field(
                "sampling_model",
                &self.sampling.as_ref().map(|m| m.name().to_owned()),
            )
            .field("oauth", &self.oauth)
            .finish()
    }
}

impl McpHttpClientOptions {
    /// No credentials.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sends `Authorization: Bearer <token>` to this server.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }
    /// Authorizes with the server's authorization server when it asks
    /// (OAuth 2.1, see [`McpOAuth`](super::McpOAuth)), then sends its access
    /// token; replaces a [`bearer_token`](Self::bearer_token).
    pub fn oauth(mut self, oauth: super::McpOAuth) -> Self {
        self.oauth = Some(oauth);
        self
    }
    /// Answers the server's elicitations (questions for the user) with
    /// `handler`; without one the client does not offer elicitation. Fields
    /// of the form the answer leaves out get the form's defaults.
    pub fn on_elicitation<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ElicitationRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = super::Elicited<Value>> + Send + 'static,
    {
        self.elicitation = Some(Arc::new(move |request| Box::pin(handler(request))));
        self
    }

    /// Answers the server's sampling requests (`sampling/createMessage`)
    /// with `model`: the server's messages and system prompt as a chat
    /// request, the model's text as the answer. Off unless set: a server
    /// then spends this client's model (and its provider's key).
    pub fn sampling_model(mut self, model: impl crate::Model + 'static) -> Self {
        self.sampling = Some(Arc::new(model));
        self
    }

    /// The protocol revision to offer (one of [`MCP_PROTOCOL_VERSIONS`];
    /// the newest by default), for a server that refuses newer ones. The
    /// server may answer with an older revision it speaks; the client goes on
    /// in it if typecall knows it.
    pub fn protocol_version(mut self, version: impl Into<String>) -> Self {
        self.protocol_version = Some(version.into());
        self
    }
}

/// The revision to offer: `asked` when typecall speaks it.
fn offered_version(asked: Option<&str>) -> Result<&'static str, McpError> {
    match asked {
        None => Ok(OFFERED_VERSION),
        Some(v) => MCP_PROTOCOL_VERSIONS
            .iter()
            .find(|known| **known == v)
            .copied()
            .ok_or_else(|| {
                McpError::Setting(format!(
                    "MCP protocol version `{v}` is not one typecall speaks ({})",
                    MCP_PROTOCOL_VERSIONS.join(", ")
                ))
            }),
    }
}

impl McpClient {
    /// Starts `command` as an MCP server on its stdin/stdout (its stderr is
    /// discarded; see [`spawn_with_stderr`](Self::spawn_with_stderr)) and
    /// completes the handshake. The process is killed when the client goes.
    ///
    /// # Errors
    /// [`McpError::Io`] when it cannot start, [`McpError::Handshake`] when it
    /// does not answer as an MCP server.
    pub async fn spawn(command: tokio::process::Command) -> Result<Self, McpError> {
        Self::spawn_with_stderr(command, Stdio::null()).await
    }

    /// [`spawn`](Self::spawn), with the server's stderr going to `stderr`
    /// (`Stdio::inherit()` to see its logs).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    pub async fn spawn_with_stderr(
        command: tokio::process::Command,
        stderr: impl Into<Stdio>,
    ) -> Result<Self, McpError> {
        let label = format!("{:?}", command.as_std().get_program());
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(stderr)
            .spawn()
            .map_err(|source| McpError::Io {
                what: format!("starting the MCP server {label}"),
                source,
            })?;
        Self::handshake(transport, label, OFFERED_VERSION, None, None).await
    }

    /// Connects to a streamable-HTTP MCP endpoint (`http://host:port/mcp`).
    ///
    /// # Errors
    /// [`McpError::Handshake`] when nothing answers there as an MCP server.
    pub async fn connect_http(url: &str) -> Result<Self, McpError> {
        Self::connect_http_with(url, McpHttpClientOptions::new()).await
    }

    /// [`connect_http`](Self::connect_http) with credentials.
    ///
    /// # Errors
    /// As [`connect_http`](Self::connect_http); [`McpError::Setting`] when no
    /// HTTP client can be built or the protocol version asked for is not one
    /// typecall speaks.
    pub async fn connect_http_with(
        url: &str,
        options: McpHttpClientOptions,
    ) -> Result<Self, McpError> {
        let offered = offered_version(options.protocol_version.as_deref())?;
        let http = crate::provider::tls_client_builder()
            .map_err(|e| McpError::Setting(e.to_string()))?
            .build()
            .map_err(|e| McpError::Setting(format!("HTTP client: {e}")))?;
        let mut config = StreamableHttpClientTransportConfig::with_uri(url);
        if let Some(oauth) = options.oauth {
            let http = super::oauth::AuthorizedHttp::new(http, oauth, url).map_err(|source| {
                McpError::Authorization {
                    peer: url.to_owned(),
                    source,
                }
            })?;
            let transport = StreamableHttpClientTransport::with_client(http, config);
            return Self::handshake(
                transport,
                url.to_owned(),
                offered,
                options.elicitation,
                options.sampling,
            )
            .await;
        }
        if let Some(token) = options.bearer_token {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::with_client(http, config);
        Self::handshake(
            transport,
            url.to_owned(),
            offered,
            options.elicitation,
            options.sampling,
        )
        .await
    }

    async fn handshake<T, E, A>(
        transport: T,
        label: String,
        offered: &'static str,
        elicitation: Option<ElicitationHandler>,
        sampling: Option<Arc<dyn crate::Model>>,
    ) -> Result<Self, McpError>
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let changed = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let notices = Notices {
            changed: Arc::clone(&changed),
            progress: Arc::clone(&progress),
            offered,
            elicitation,
            sampling,
        };
        let service = notices.serve(transport).await.map_err(|e| {
            if let rmcp::service::ClientInitializeError::TransportError { error, .. } = &e
                && let Some(refused) = super::oauth::authorization_error(error)
            {
                return McpError::Authorization {
                    peer: label.clone(),
                    source: refused.clone(),
                };
            }
            McpError::Handshake {
                peer: label.clone(),
                message: match &e {
                    rmcp::service::ClientInitializeError::TransportError { error, .. } => {
                        authorization_refusal(error)
                    }
                    _ => None,
                }
                .unwrap_or_else(|| e.to_string()),
            }
        })?;
        let agreed = service
            .peer_info()
            .map(|info| info.protocol_version.to_string())
            .unwrap_or_default();
        if !MCP_PROTOCOL_VERSIONS.contains(&agreed.as_str()) {
            return Err(McpError::Handshake {
                peer: label,
                message: format!(
                    "the server answered in MCP protocol version `{agreed}`, which typecall \
                     does not speak ({})",
                    MCP_PROTOCOL_VERSIONS.join(", ")
                ),
            });
        }
        Ok(Self {
            connection: Arc::new(Connection {
                service,
                label,
                changed,
                progress,
                calls: AtomicU64::new(0),
            }),
            call_timeout: DEFAULT_CALL_TIMEOUT,
        })
    }

    /// How long one call (or the tool list) may take (default 120 s); beyond
    /// it the call is a [`ToolError::TimedOut`] and is cancelled on the server.
    /// Applies to the tools listed after it is set.
    pub fn call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = limit;
        self
    }

    /// The protocol revision the server and this client agreed on.
    pub fn protocol_version(&self) -> String {
        self.connection
            .service
            .peer_info()
            .map(|info| info.protocol_version.to_string())
            .unwrap_or_default()
    }

    /// The server's name and version, as it introduced itself.
    pub fn server_name(&self) -> Option<(String, String)> {
        self.connection.service.peer_info().and_then(|info| {
            info.server_info
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
        })
    }

    /// How many progress notifications the server has sent about this
    /// client's calls (each call asks for them with a progress token; each is
    /// also a `tracing` debug event).
    pub fn progress_updates(&self) -> u64 {
        self.connection.progress.load(Ordering::Relaxed)
    }

    /// Whether the server said its tool list changed since the last
    /// [`tools`](Self::tools).
    pub fn tools_changed(&self) -> bool {
        self.connection.changed.load(Ordering::Acquire)
    }

    /// The server's tools, listed now: each remote input schema checked and
    /// lowered as a Rust type's would be (strict where it can be, plain JSON
    /// Schema where it cannot), ready for [`Agent::tools`](crate::Agent::tools).
    /// Tools whose schema cannot be used at all are left out and named in
    /// [`McpTools::refused`]. Call it again after [`tools_changed`](Self::tools_changed).
    ///
    /// # Errors
    /// [`McpError::Request`] when the server does not answer the list.
    pub async fn tools(&self) -> Result<McpTools, McpError> {
        let connection = &self.connection;
        connection.changed.store(false, Ordering::Release);
        let listed = tokio::time::timeout(
            self.call_timeout,
            connection.service.peer().list_all_tools(),
        )
        .await
        .map_err(|_| McpError::Request {
            request: "tools/list".to_owned(),
            message: format!("no answer within {:?}", self.call_timeout),
        })?
        .map_err(|e| McpError::Request {
            request: "tools/list".to_owned(),
            message: describe(&e, &connection.label),
        })?;
        let mut tools = McpTools::default();
        for remote in listed {
            match RemoteTool::new(Arc::clone(connection), self.call_timeout, remote) {
                Ok(tool) => tools.tools.push(Arc::new(tool)),
                Err(refused) => tools.refused.push(refused),
            }
        }
        Ok(tools)
    }

    /// Calls a tool by name with JSON arguments, without checking them first
    /// (the tools from [`tools`](Self::tools) check them).
    pub async fn call(&self, name: &str, arguments: Value) -> ToolResult {
        call_remote(&self.connection, self.call_timeout, name, arguments, None).await
    }
}

/// The tools of an MCP server, for [`Agent::tools`](crate::Agent::tools) or
/// [`Toolbox::with_set`](crate::tool::Toolbox::with_set).
#[derive(Default, Clone)]
pub struct McpTools {
    tools: Vec<Arc<dyn Tool>>,
    refused: Vec<RefusedTool>,
}

impl std::fmt::Debug for McpTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTools")
            .field("tools", &self.names())
            .field("refused", &self.refused)
            .finish()
    }
}

impl McpTools {
    /// The tools' names.
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.def().name.as_str()).collect()
    }
    /// The tools, by name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.iter().find(|t| t.def().name == name)
    }
    /// The tools left out, and why.
    pub fn refused(&self) -> &[RefusedTool] {
        &self.refused
    }
    /// Keeps only the tools `keep` accepts.
    pub fn filter(mut self, keep: impl Fn(&dyn Tool) -> bool) -> Self {
        self.tools.retain(|t| keep(t.as_ref()));
        self
    }
    /// How many there are.
    pub fn len(&self) -> usize {
        self.tools.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

impl ToolSet for McpTools {
    fn into_tools(self) -> Vec<Arc<dyn Tool>> {
        self.tools
    }
}

/// A remote tool left out of [`McpTools`]: its input schema could not be
/// used (the error names the keyword or the problem).
#[derive(Debug, Clone)]
pub struct RefusedTool {
    /// The tool's name.
    pub name: String,
    /// Why.
    pub error: SchemaError,
}

struct RemoteTool {
    connection: Arc<Connection>,
    call_timeout: Duration,
    def: ToolDef,
    input: Schema,
    output: Option<(Value, Schema)>,
    annotations: ToolAnnotations,
}

impl RemoteTool {
    fn new(
        connection: Arc<Connection>,
        call_timeout: Duration,
        remote: rmcp::model::Tool,
    ) -> Result<Self, RefusedTool> {
        let name = remote.name.to_string();
        let input = input_schema(&name, &remote.input_schema).map_err(|error| RefusedTool {
            name: name.clone(),
            error,
        })?;
        let description = remote
            .description
            .as_deref()
            .or(remote.title.as_deref())
            .unwrap_or_default();
        let def = ToolDef::from_schema(&name, description, &input);
        let output = remote.output_schema.as_ref().and_then(|raw| {
            let raw = Value::Object((**raw).clone());
            Schema::from_json(&name, raw.clone(), Dialect::JsonSchema)
                .ok()
                .map(|schema| (raw, schema))
        });
        let annotations = remote
            .annotations
            .as_ref()
            .map_or_else(ToolAnnotations::new, |a| {
                let mut hints = ToolAnnotations::new();
                hints.title = a.title.clone().or(remote.title.clone());
                hints.read_only = a.read_only_hint;
                hints.destructive = a.destructive_hint;
                hints.idempotent = a.idempotent_hint;
                hints.open_world = a.open_world_hint;
                hints
            });
        Ok(Self {
            connection,
            call_timeout,
            def,
            input,
            output,
            annotations,
        })
    }
}

/// A remote input schema, lowered as a Rust type's would be: strict when the
/// strict dialect can express it, else plain JSON Schema (the provider then
/// does not enforce it; typecall still validates every call against it).
fn input_schema(name: &str, raw: &serde_json::Map<String, Value>) -> Result<Schema, SchemaError> {
    let mut schema = raw.clone();
    // Which draft it was written in is the validator's business, not the
    // model's (and some providers refuse the keyword).
    schema.remove("$schema");
    let schema = Value::Object(schema);
    Schema::from_json(name, schema.clone(), Dialect::Strict)
        .or_else(|_| Schema::from_json(name, schema, Dialect::JsonSchema))
}

impl Tool for RemoteTool {
    fn def(&self) -> &ToolDef {
        &self.def
    }

    fn call<'a>(&'a self, args: Value, _ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let name = &self.def.name;
            let args = if args.is_null() {
                Value::Object(serde_json::Map::new())
            } else {
                self.input.from_wire(args)
            };
            if let Err(errors) = self.input.validate(&args) {
                return Err(ToolError::InvalidArguments {
                    tool: name.clone(),
                    issues: errors.issues().to_vec(),
                });
            }
            call_remote(
                &self.connection,
                self.call_timeout,
                name,
                args,
                self.output.as_ref().map(|(_, s)| s),
            )
            .await
        })
    }

    fn annotations(&self) -> ToolAnnotations {
        self.annotations.clone()
    }

    fn output_schema(&self) -> Option<&Value> {
        self.output.as_ref().map(|(raw, _)| raw)
    }
}

async fn call_remote(
    connection: &Connection,
    timeout: Duration,
    name: &str,
    args: Value,
    output: Option<&Schema>,
) -> ToolResult {
    let Value::Object(arguments) = args else {
        return Err(ToolError::InvalidArguments {
            tool: name.to_owned(),
            issues: vec![crate::schema::ValidationIssue {
                pointer: String::new(),
                message: "the arguments must be a JSON object".to_owned(),
            }],
        });
    };
    let mut request = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    let n = connection.calls.fetch_add(1, Ordering::Relaxed);
    request.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String(format!("typecall-{n}").into()),
    )));
    let answer = tokio::time::timeout(timeout, connection.service.peer().call_tool(request))
        .await
        .map_err(|_| ToolError::TimedOut {
            tool: name.to_owned(),
            after: timeout,
        })?
        .map_err(|e| ToolError::Failed {
            tool: name.to_owned(),
            message: describe(&e, &connection.label),
        })?;
    read_result(name, answer, output)
}

/// A content block as a [`ToolContent`] keeps it.
fn block(b: &ContentBlock) -> crate::tool::ContentBlock {
    use crate::tool::{ContentBlock as Block, ResourceContents as Contents};
    let text = |text: String| Block::Text { text };
    match b {
        ContentBlock::Text(t) => text(t.text.clone()),
        ContentBlock::Image(i) => Block::Image {
            media_type: i.mime_type.clone(),
            data: i.data.clone(),
        },
        ContentBlock::Audio(a) => Block::Audio {
            media_type: a.mime_type.clone(),
            data: a.data.clone(),
        },
        ContentBlock::Resource(r) => match &r.resource {
            rmcp::model::ResourceContents::TextResourceContents {
                uri,
                mime_type,
                text,
                ..
            } => Block::Resource {
                uri: uri.clone(),
                media_type: mime_type.clone(),
                contents: Contents::Text(text.clone()),
            },
            rmcp::model::ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => Block::Resource {
                uri: uri.clone(),
                media_type: mime_type.clone(),
                contents: Contents::Blob(blob.clone()),
            },
            _ => text("[embedded resource]".to_owned()),
        },
        ContentBlock::ResourceLink(r) => text(format!("[resource {}]", r.uri)),
        _ => text("[content]".to_owned()),
    }
}

/// A result as the model reads it: the error text of an `isError` result,
/// the checked structured value, the text content, or the content blocks
/// when there is more than text (images, audio, resources).
fn read_result(name: &str, result: CallToolResult, output: Option<&Schema>) -> ToolResult {
    let content = result
        .content
        .iter()
        .fold(ToolContent::new(), |c, b| c.block(block(b)));
    let text = content.to_text();
    if result.is_error == Some(true) {
        return Err(ToolError::Failed {
            tool: name.to_owned(),
            message: if text.is_empty() {
                "the server reported an error without a message".to_owned()
            } else {
                text
            },
        });
    }
    match result.structured_content {
        Some(value) => {
            if let Some(schema) = output
                && let Err(errors) = schema.validate(&value)
            {
                return Err(ToolError::Failed {
                    tool: name.to_owned(),
                    message: format!(
                        "the server's result does not match the tool's outputSchema: {errors}"
                    ),
                });
            }
            let wrapped =
                output.is_some_and(|s| s.full().get(WRAPPED_RESULT) == Some(&Value::Bool(true)));
            Ok(ToolValue::Json(match value {
                Value::Object(mut o) if wrapped && o.len() == 1 && o.contains_key("result") => {
                    o.shift_remove("result").unwrap_or(Value::Null)
                }
                other => other,
            }))
        }
        None if content
            .blocks()
            .iter()
            .all(|b| matches!(b, crate::tool::ContentBlock::Text { .. })) =>
        {
            Ok(ToolValue::Text(text))
        }
        None => Ok(ToolValue::Content(content)),
    }
}

/// What a server said when it refused for want of authorization (HTTP 401
/// or 403), found anywhere in `error`'s sources.
fn authorization_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rmcp::transport::streamable_http_client::{AuthRequiredError, InsufficientScopeError};
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(a) = e.downcast_ref::<AuthRequiredError>() {
            return Some(format!(
                "authorization required (HTTP 401; it asks: {})",
                a.www_authenticate_header
            ));
        }
        if let Some(a) = e.downcast_ref::<InsufficientScopeError>() {
            return Some(format!(
                "insufficient scope (HTTP 403; it asks: {})",
                a.www_authenticate_header
            ));
        }
        cause = e.source();
    }
    None
}

/// A protocol failure in words the model (and a person) can act on.
fn describe(error: &ServiceError, server: &str) -> String {
    if let ServiceError::TransportSend(e) = error {
        if let Some(failed) = super::oauth::authorization_error(e) {
            return format!("authorizing with the MCP server {server} failed: {failed}");
        }
        if let Some(refusal) = authorization_refusal(e) {
            return format!("the MCP server {server} refused the request: {refusal}");
        }
    }
    match error {
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            format!("the MCP server {server} is not reachable any more (its connection closed)")
        }
        ServiceError::McpError(e) => {
            format!("the MCP server {server} refused the request: {}", e.message)
        }
        ServiceError::Timeout { timeout } => {
            format!("the MCP server {server} did not answer within {timeout:?}")
        }
        other => format!("the MCP server {server}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> serde_json::Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn remote_schemas_are_lowered_strictly_when_they_can_be() {
        // As server-everything writes them (draft-07, optional as nullable).
        let s = input_schema(
            "get-sum",
            &object(json!({"$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object", "required": ["a"],
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}}})),
        )
        .unwrap();
        assert!(s.dialect().is_strict());
        assert!(s.as_json().get("$schema").is_none());
        assert_eq!(s.as_json()["additionalProperties"], false);
        // A recursive schema cannot be strict: plain JSON Schema, still validated.
        let tree = json!({"type": "object", "$defs": {"node": {"type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
            "properties": {"root": {"$ref": "#/$defs/node"}}});
        let s = input_schema("tree", &object(tree)).unwrap();
        assert!(!s.dialect().is_strict());
        assert!(s.validate(&json!({"root": {"children": 5}})).is_err());
        // Not a schema at all: refused, saying why.
        let err = input_schema("broken", &object(json!({"type": 5}))).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
    }
}
