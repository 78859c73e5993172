//! A [`Toolbox`] as an MCP server: `tools/list`, `tools/call` with the
//! call's progress and logs (see [`Reporter`]), `logging/setLevel`.
// MCP logging (`logging/setLevel`, `notifications/message`) is in every
// revision up to 2025-11-25, the one clients negotiate through `initialize`;
// rmcp marks it deprecated for the revision after it (SEP-2577).
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, JsonObject, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, ProgressToken, ResourceContents,
    ServerCapabilities, ServerConfig, SetLevelRequestParams,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::McpError;
use super::catalog::{Prompt, Resource, ResourceRequest, ResourceTemplate};
use super::http::{HttpOptions, HttpServer};
use super::live::{McpCatalog, Offer};
use super::sessions::{ResourceNotifier, SessionSeat, Sessions};
use crate::tool::{
    LogLevel, ReportSink, Reporter, Tool, ToolError, ToolValue, Toolbox, WRAPPED_RESULT,
};

/// Serves the tools of a [`Toolbox`] to MCP clients, over stdio
/// ([`serve_stdio`](Self::serve_stdio)) or streamable HTTP
/// ([`serve_http`](Self::serve_http)).
///
/// Every tool is listed with its name, description, input schema, title and
/// behaviour hints ([`ToolAnnotations`](crate::tool::ToolAnnotations)); a
/// tool whose return type has a schema also gets an `outputSchema`, and its
/// results carry `structuredContent` (a non-object result as `{"result": …}`).
/// A failed call (bad arguments, the tool's own error, a panic, a timeout) is
/// an `isError` result whose text tells the client's model what went wrong; only
/// an unknown tool name is a protocol error. A client's cancellation drops the
/// running call (a `blocking` tool's thread runs to its end). The toolbox's
/// context values and timeout apply as in an agent run.
#[derive(Debug, Clone)]
pub struct McpServer {
    handler: ToolHandler,
}

#[derive(Debug, Clone)]
pub(super) struct ToolHandler {
    /// The tools given to [`McpServer::new`] (for [`McpServer::toolbox`]).
    built_with: Arc<Toolbox>,
    /// What is offered now, to every session.
    offer: Arc<Offer>,
    info: Implementation,
    instructions: Option<String>,
    /// The least severe log level the client wants (a [`LogLevel`] as `u8`),
    /// one per session.
    log_level: Arc<AtomicU8>,
    /// Every session, to tell of changes.
    sessions: Arc<Sessions>,
    /// This session's place in `sessions` (none before serving).
    seat: Option<Arc<SessionSeat>>,
}

/// The level logs are sent at until the client sets one.
const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// How many progress and log messages of one call may wait to be sent;
/// beyond it they are dropped rather than holding the tool.
const REPORT_QUEUE: usize = 256;

/// How long the messages a call queued may take to go out after it ended.
const REPORT_FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

impl McpServer {
    /// A server for these tools, introducing itself as `typecall` with
    /// typecall's version (see [`name`](Self::name)).
    pub fn new(tools: Toolbox) -> Self {
        let tools = Arc::new(tools);
        Self {
            handler: ToolHandler {
                built_with: Arc::clone(&tools),
                offer: Arc::new(Offer::new(tools)),
                info: Implementation::new("typecall", env!("CARGO_PKG_VERSION")),
                instructions: None,
                log_level: Arc::new(AtomicU8::new(DEFAULT_LOG_LEVEL as u8)),
                sessions: Arc::default(),
                seat: None,
            },
        }
    }

    /// The name and version the server gives clients.
    pub fn name(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.handler.info = Implementation::new(name, version);
        self
    }

    /// Instructions for the client's model, sent at initialization.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.handler.instructions = Some(text.into());
        self
    }

    /// Serves a resource at a fixed URI (one at the same URI is replaced).
    #[must_use]
    pub fn resource(self, resource: impl Into<Resource>) -> Self {
        self.handler.offer.put_resource(resource.into());
        self
    }

    /// Serves the resources of a URI template (one with the same template is
    /// replaced).
    #[must_use]
    pub fn resource_template(self, template: impl Into<ResourceTemplate>) -> Self {
        self.handler.offer.put_template(template.into());
        self
    }

    /// Serves a prompt (one with the same name is replaced).
    #[must_use]
    pub fn prompt(self, prompt: impl Into<Prompt>) -> Self {
        self.handler.offer.put_prompt(prompt.into());
        self
    }

    /// A handle to tell subscribed clients that a resource changed.
    pub fn resource_notifier(&self) -> ResourceNotifier {
        ResourceNotifier {
            sessions: Arc::clone(&self.handler.sessions),
        }
    }

    /// A handle that changes what the server offers while it runs (tools,
    /// resources, templates, prompts) and tells its clients. Take it before
    /// serving: from then on the server tells clients its lists may change
    /// (`listChanged`), and offers resources and prompts even while it has
    /// none.
    pub fn catalog(&self) -> McpCatalog {
        self.handler.offer.handle(&self.handler.sessions)
    }

    /// The tools served now (with the changes made through
    /// [`catalog`](Self::catalog)).
    pub fn tools(&self) -> Arc<Toolbox> {
        self.handler.offer.tools()
    }

    /// The tools the server was built with.
    #[deprecated(note = "changes made through `McpServer::catalog` are not in it: use `tools()`")]
    pub fn toolbox(&self) -> &Toolbox {
        &self.handler.built_with
    }

    /// Serves one client on this process's stdin and stdout until it hangs up.
    /// Nothing else may write to stdout meanwhile (log to stderr). A line
    /// that is not one JSON-RPC message (not JSON, a batch, longer than
    /// 16 MiB) is answered with a JSON-RPC error and skipped.
    ///
    /// # Errors
    /// [`McpError::Handshake`] when the client does not initialize.
    pub async fn serve_stdio(self) -> Result<(), McpError> {
        self.serve_on(rmcp::transport::stdio()).await
    }

    /// Serves one client over a byte stream pair (a pipe, a socket), until it
    /// hangs up.
    ///
    /// # Errors
    /// [`McpError::Handshake`] when the client does not initialize.
    pub async fn serve_on<R, W>(self, (read, write): (R, W)) -> Result<(), McpError>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
        W: tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        // Lines the protocol cannot read are answered before it sees them.
        let (transport, writer) = super::stdio::guarded(read, write, super::stdio::MAX_LINE_BYTES);
        let running = self
            .handler
            .for_session()
            .serve(transport)
            .await
            .map_err(|e| McpError::Handshake {
                peer: "the client".to_owned(),
                message: e.to_string(),
            })?;
        let _ = running.waiting().await;
        // What is still on its way out goes, if the pipe takes it.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
        Ok(())
    }

    /// Serves over streamable HTTP at `options`' address and path (by default
    /// `127.0.0.1:8000`, `/mcp`), safe by default: loopback only, `Origin`
    /// and `Host` checked, request size and sessions capped, an optional
    /// bearer token. Returns once listening; the server runs until
    /// [`HttpServer::shutdown`] or until it is dropped.
    ///
    /// # Errors
    /// [`McpError::Io`] when the address cannot be bound,
    /// [`McpError::Setting`] when `options` would expose the server beyond
    /// loopback without saying so.
    pub async fn serve_http(self, options: HttpOptions) -> Result<HttpServer, McpError> {
        super::http::serve(self.handler, options).await
    }
}

/// Every log level, least severe first.
const LEVELS: [LogLevel; 8] = [
    LogLevel::Debug,
    LogLevel::Info,
    LogLevel::Notice,
    LogLevel::Warning,
    LogLevel::Error,
    LogLevel::Critical,
    LogLevel::Alert,
    LogLevel::Emergency,
];

/// A log level as MCP names it.
fn wire_level(level: LogLevel) -> LoggingLevel {
    match level {
        LogLevel::Debug => LoggingLevel::Debug,
        LogLevel::Info => LoggingLevel::Info,
        LogLevel::Notice => LoggingLevel::Notice,
        LogLevel::Warning => LoggingLevel::Warning,
        LogLevel::Error => LoggingLevel::Error,
        LogLevel::Critical => LoggingLevel::Critical,
        LogLevel::Alert => LoggingLevel::Alert,
        LogLevel::Emergency => LoggingLevel::Emergency,
    }
}

/// What a call reports, on its way to the client.
enum Report {
    Progress(ProgressNotificationParam),
    Log(LoggingMessageNotificationParam),
}

/// A call's [`ReportSink`]: progress only when the call carried a progress
/// token, logs at or above the session's level; queued, never waiting.
struct CallReports {
    queue: mpsc::Sender<Report>,
    token: Option<ProgressToken>,
    log_level: Arc<AtomicU8>,
}

impl ReportSink for CallReports {
    fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.token else { return };
        let mut p = ProgressNotificationParam::new(token.clone(), done);
        p.total = total;
        p.message = message.map(str::to_owned);
        let _ = self.queue.try_send(Report::Progress(p));
    }
    fn log(&self, level: LogLevel, message: &str) {
        if (level as u8) < self.log_level.load(Ordering::Relaxed) {
            return;
        }
        let level = wire_level(level);
        let _ = self
            .queue
            .try_send(Report::Log(LoggingMessageNotificationParam::new(
                level,
                Value::String(message.to_owned()),
            )));
    }
}

/// Sends what `reports` receives to `peer`, in order, until `done` fires;
/// then what is already queued, and ends.
async fn forward_reports(
    peer: Peer<RoleServer>,
    mut reports: mpsc::Receiver<Report>,
    mut done: oneshot::Receiver<()>,
) {
    let send = |report| {
        let peer = peer.clone();
        async move {
            let _ = match report {
                Report::Progress(p) => peer.notify_progress(p).await,
                Report::Log(l) => peer.notify_logging_message(l).await,
            };
        }
    };
    loop {
        tokio::select! {
            biased;
            report = reports.recv() => match report {
                Some(report) => send(report).await,
                None => return,
            },
            _ = &mut done => break,
        }
    }
    while let Ok(report) = reports.try_recv() {
        send(report).await;
    }
}

impl ToolHandler {
    /// The handler of a new session: the same tools, its own log level.
    pub(super) fn for_session(&self) -> Self {
        Self {
            log_level: Arc::new(AtomicU8::new(DEFAULT_LOG_LEVEL as u8)),
            seat: Some(self.sessions.seat()),
            ..self.clone()
        }
    }

    /// This session's key in `sessions`.
    fn session(&self) -> u64 {
        self.seat.as_ref().map_or(0, |seat| seat.id)
    }

    /// Runs a call with a [`Reporter`] whose messages go to the client
    /// before the result does.
    async fn call_reporting(
        &self,
        name: &str,
        args: Value,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let (queue, reports) = mpsc::channel(REPORT_QUEUE);
        let (done, finished) = oneshot::channel();
        let forwarder = tokio::spawn(forward_reports(context.peer.clone(), reports, finished));
        let reporter = Reporter::new(Arc::new(CallReports {
            queue,
            token: context.meta.get_progress_token(),
            log_level: Arc::clone(&self.log_level),
        }));
        let stream = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<super::http::StreamCut>())
            .cloned();
        let call = super::asking::CallingClient::scope(
            context.peer.clone(),
            stream,
            self.call(name, args),
        );
        let result = reporter.scope(call).await;
        let _ = done.send(());
        let _ = tokio::time::timeout(REPORT_FLUSH_LIMIT, forwarder).await;
        result
    }

    fn describe(tool: &Arc<dyn Tool>) -> rmcp::model::Tool {
        let def = tool.def();
        let mut listed = rmcp::model::Tool::new(
            def.name.clone(),
            def.description.clone(),
            as_object(&def.parameters),
        );
        let hints = tool.annotations();
        if let Some(title) = &hints.title {
            listed = listed.with_title(title.clone());
        }
        if hints != crate::tool::ToolAnnotations::default() {
            listed = listed.with_annotations(rmcp::model::ToolAnnotations::from_raw(
                hints.title.clone(),
                hints.read_only,
                hints.destructive,
                hints.idempotent,
                hints.open_world,
            ));
        }
        if let Some(schema) = tool.output_schema() {
            listed = listed.with_raw_output_schema(Arc::new(as_object(schema)));
        }
        listed
    }

    async fn call(&self, name: &str, args: Value) -> Result<CallToolResult, ErrorData> {
        let tools = self.offer.tools();
        let result = tools.call_json(name, args).await;
        let output_schema = tools.get(name).and_then(|t| t.output_schema());
        match result {
            Ok(value) => Ok(success(value, output_schema)),
            Err(e @ ToolError::UnknownTool { .. }) => {
                Err(ErrorData::invalid_params(e.to_string(), None))
            }
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(
                e.to_string(),
            )])),
        }
    }
}

/// A successful result: the text for every client, and the structured value
/// when the tool declared an output schema.
fn success(value: ToolValue, output_schema: Option<&Value>) -> CallToolResult {
    if let ToolValue::Content(content) = value {
        return CallToolResult::success(content.blocks().iter().map(block).collect());
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_content())]);
    if let Some(schema) = output_schema {
        let value = match value {
            ToolValue::Json(v) => v,
            other => Value::String(other.to_content()),
        };
        let wrapped = schema.get(WRAPPED_RESULT) == Some(&Value::Bool(true));
        result.structured_content = Some(if wrapped {
            serde_json::json!({ "result": value })
        } else {
            value
        });
    }
    result
}

/// An rmcp type from the JSON the specification gives it.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value)
        .map_err(|e| ErrorData::internal_error(format!("could not build the answer: {e}"), None))
}

/// A resource or template as listed.
fn listed(listing: &super::catalog::Listing, key: &str, at: &str) -> Value {
    let mut item = serde_json::json!({ key: at, "name": listing.name });
    if let Some(t) = &listing.title {
        crate::provider::json::set(&mut item, "title", Value::String(t.clone()));
    }
    if let Some(d) = &listing.description {
        crate::provider::json::set(&mut item, "description", Value::String(d.clone()));
    }
    if let Some(m) = &listing.media_type {
        crate::provider::json::set(&mut item, "mimeType", Value::String(m.clone()));
    }
    item
}

/// A content block as MCP writes it.
fn block(b: &crate::tool::ContentBlock) -> ContentBlock {
    use crate::tool::{ContentBlock as Block, ResourceContents as Contents};
    match b {
        Block::Text { text } => ContentBlock::text(text.clone()),
        Block::Image { media_type, data } => ContentBlock::image(data.clone(), media_type.clone()),
        Block::Audio { media_type, data } => ContentBlock::audio(data.clone(), media_type.clone()),
        Block::Resource {
            uri,
            media_type,
            contents,
        } => {
            let mut resource = match contents {
                Contents::Text(text) => ResourceContents::text(text.clone(), uri.clone()),
                Contents::Blob(data) => ResourceContents::blob(data.clone(), uri.clone()),
            };
            if let Some(t) = media_type {
                resource = resource.with_mime_type(t.clone());
            }
            ContentBlock::resource(resource)
        }
    }
}

fn as_object(v: &Value) -> JsonObject {
    match v {
        Value::Object(o) => o.clone(),
        _ => JsonObject::new(),
    }
}

impl ServerHandler for ToolHandler {
    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        if self.seat.is_some() {
            self.sessions.joined(self.session(), context.peer);
        }
    }

    fn get_info(&self) -> ServerConfig {
        let catalog = self.offer.catalog();
        let changes = self.offer.changeable();
        let mut offered = serde_json::json!({"tools": {"listChanged": changes}, "logging": {}});
        if changes || !catalog.resources.is_empty() || !catalog.templates.is_empty() {
            crate::provider::json::set(
                &mut offered,
                "resources",
                serde_json::json!({"subscribe": true, "listChanged": changes}),
            );
        }
        if changes || !catalog.prompts.is_empty() {
            crate::provider::json::set(
                &mut offered,
                "prompts",
                serde_json::json!({"listChanged": changes}),
            );
        }
        if changes || !catalog.prompts.is_empty() || !catalog.templates.is_empty() {
            crate::provider::json::set(&mut offered, "completions", serde_json::json!({}));
        }
        let capabilities: ServerCapabilities =
            serde_json::from_value(offered).unwrap_or_else(|_| {
                ServerCapabilities::builder()
                    .enable_tools()
                    .enable_logging()
                    .build()
            });
        let mut config = ServerConfig::new(capabilities).with_server_info(self.info.clone());
        if let Some(text) = &self.instructions {
            config = config.with_instructions(text.clone());
        }
        config
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        let resources: Vec<Value> = self
            .offer
            .catalog()
            .resources
            .iter()
            .map(|r| listed(&r.listing, "uri", &r.uri))
            .collect();
        typed(serde_json::json!({ "resources": resources }))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        let templates: Vec<Value> = self
            .offer
            .catalog()
            .templates
            .iter()
            .map(|t| listed(&t.listing, "uriTemplate", &t.template))
            .collect();
        typed(serde_json::json!({ "resourceTemplates": templates }))
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let catalog = self.offer.catalog();
        let found = catalog
            .resources
            .iter()
            .find(|r| r.uri == uri)
            .map(|r| (&r.listing, &r.read, HashMap::new()))
            .or_else(|| {
                catalog
                    .templates
                    .iter()
                    .find_map(|t| t.matches(&uri).map(|vars| (&t.listing, &t.read, vars)))
            });
        let Some((listing, read, variables)) = found else {
            return Err(ErrorData::new(
                rmcp::model::ErrorCode(-32002),
                format!("no resource at `{uri}`"),
                Some(serde_json::json!({ "uri": uri })),
            ));
        };
        let contents = read(ResourceRequest {
            uri: uri.clone(),
            variables,
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("reading `{uri}` failed: {e}"), None))?;
        let mut item = serde_json::json!({ "uri": uri });
        if let Some(t) = &listing.media_type {
            crate::provider::json::set(&mut item, "mimeType", Value::String(t.clone()));
        }
        match contents {
            crate::tool::ResourceContents::Text(text) => {
                crate::provider::json::set(&mut item, "text", text);
            }
            crate::tool::ResourceContents::Blob(blob) => {
                crate::provider::json::set(&mut item, "blob", blob);
            }
        }
        let result: rmcp::model::ReadResourceResult =
            typed(serde_json::json!({ "contents": [item] }))?;
        Ok(result.into())
    }

    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.sessions
            .watch(self.session(), &context.peer, request.uri)
            .map_err(|why| ErrorData::invalid_params(why, None))
    }

    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.sessions.unwatch(self.session(), &request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        let prompts: Vec<Value> = self
            .offer
            .catalog()
            .prompts
            .iter()
            .map(|p| {
                let mut item = serde_json::json!({ "name": p.name });
                if let Some(t) = &p.title {
                    crate::provider::json::set(&mut item, "title", Value::String(t.clone()));
                }
                if let Some(d) = &p.description {
                    crate::provider::json::set(&mut item, "description", Value::String(d.clone()));
                }
                let arguments: Vec<Value> = p
                    .arguments
                    .iter()
                    .map(|a| {
                        let mut arg = serde_json::json!({ "name": a.name, "required": a.required });
                        if let Some(d) = &a.description {
                            crate::provider::json::set(
                                &mut arg,
                                "description",
                                Value::String(d.clone()),
                            );
                        }
                        arg
                    })
                    .collect();
                crate::provider::json::set(&mut item, "arguments", Value::Array(arguments));
                item
            })
            .collect();
        typed(serde_json::json!({ "prompts": prompts }))
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        let catalog = self.offer.catalog();
        let Some(prompt) = catalog.prompts.iter().find(|p| p.name == request.name) else {
            return Err(ErrorData::invalid_params(
                format!("no prompt named `{}`", request.name),
                None,
            ));
        };
        let mut args: HashMap<String, String> = HashMap::new();
        for (k, v) in request.arguments.unwrap_or_default() {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            args.insert(k, v);
        }
        let missing: Vec<&str> = prompt
            .arguments
            .iter()
            .filter(|a| a.required && !args.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ErrorData::invalid_params(
                format!("prompt `{}` needs: {}", prompt.name, missing.join(", ")),
                None,
            ));
        }
        let messages = (prompt.get)(args).await.map_err(|e| {
            ErrorData::internal_error(format!("prompt `{}` failed: {e}", prompt.name), None)
        })?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    super::catalog::PromptRole::User => "user",
                    super::catalog::PromptRole::Assistant => "assistant",
                };
                serde_json::json!({ "role": role, "content": serde_json::to_value(block(&m.content)).unwrap_or_default() })
            })
            .collect();
        let mut result = serde_json::json!({ "messages": messages });
        if let Some(d) = &prompt.description {
            crate::provider::json::set(&mut result, "description", Value::String(d.clone()));
        }
        let result: rmcp::model::GetPromptResult = typed(result)?;
        Ok(result.into())
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        let asked = serde_json::to_value(&request).unwrap_or_default();
        let field = |path: &str| asked.pointer(path).and_then(Value::as_str);
        let argument = field("/argument/name").unwrap_or_default();
        let typed_so_far = field("/argument/value").unwrap_or_default();
        let catalog = self.offer.catalog();
        let completer = match field("/ref/type") {
            Some("ref/prompt") => catalog
                .prompts
                .iter()
                .find(|p| Some(p.name.as_str()) == field("/ref/name"))
                .and_then(|p| p.completions.get(argument)),
            Some("ref/resource") => catalog
                .templates
                .iter()
                .find(|t| Some(t.template.as_str()) == field("/ref/uri"))
                .and_then(|t| t.completions.get(argument)),
            _ => None,
        };
        let mut values = completer.map(|c| c(typed_so_far)).unwrap_or_default();
        let total = values.len();
        values.truncate(super::catalog::MAX_COMPLETIONS);
        typed(serde_json::json!({ "completion": {
            "values": values,
            "total": total,
            "hasMore": total > values.len(),
        }}))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        // The level whose wire name the client gave (every level has one).
        let level = LEVELS
            .into_iter()
            .find(|l| wire_level(*l) == request.level)
            .unwrap_or(DEFAULT_LOG_LEVEL);
        self.log_level.store(level as u8, Ordering::Relaxed);
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let toolbox = self.offer.tools();
        let tools = toolbox
            .names()
            .iter()
            .filter_map(|name| toolbox.get(name))
            .map(Self::describe)
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.map_or(Value::Null, Value::Object);
        tokio::select! {
            result = self.call_reporting(&request.name, args, &context) => result.map(CallToolResponse::from),
            () = context.ct.cancelled() => Err(ErrorData::internal_error(
                format!("the call to `{}` was cancelled by the client", request.name),
                None,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::NumberOrString;

    use super::*;

    fn reports(token: Option<&str>, level: LogLevel) -> (CallReports, mpsc::Receiver<Report>) {
        let (queue, received) = mpsc::channel(2);
        let sink = CallReports {
            queue,
            token: token.map(|t| ProgressToken(NumberOrString::String(t.to_owned().into()))),
            log_level: Arc::new(AtomicU8::new(level as u8)),
        };
        (sink, received)
    }

    fn kinds(received: &mut mpsc::Receiver<Report>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(r) = received.try_recv() {
            seen.push(match r {
                Report::Progress(p) => format!("progress {}", p.progress),
                Report::Log(l) => format!("log {}", l.data),
            });
        }
        seen
    }

    #[test]
    fn progress_goes_only_with_a_token_and_logs_only_at_the_sessions_level() {
        let (sink, mut received) = reports(None, LogLevel::Warning);
        sink.progress(1.0, None, None);
        sink.log(LogLevel::Info, "quiet");
        sink.log(LogLevel::Error, "loud");
        assert_eq!(kinds(&mut received), ["log \"loud\""]);

        // A full queue drops messages instead of waiting.
        let (sink, mut received) = reports(Some("t"), LogLevel::Debug);
        for i in 0..5 {
            sink.progress(f64::from(i), Some(4.0), None);
        }
        assert_eq!(kinds(&mut received), ["progress 0", "progress 1"]);
    }
}
