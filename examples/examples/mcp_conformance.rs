//! typecall against the Model Context Protocol's official conformance suite
//! (npm `@modelcontextprotocol/conformance`), written with typecall's public
//! API only. `tests/tests/mcp_conformance.rs` runs the suite with it; by hand:
//!
//! Server mode: serve the suite's fixtures over streamable HTTP, then point
//! the suite at `http://ADDR/mcp`:
//!   `cargo run -p typecall-examples --example mcp_conformance -- server --http 127.0.0.1:8000`
//!   `node …/conformance/dist/index.js server --url http://127.0.0.1:8000/mcp`
//!
//! Client mode: the command the suite's client mode runs; it appends the URL
//! of its own test server and names the scenario in
//! `MCP_CONFORMANCE_SCENARIO`:
//!   `node …/conformance/dist/index.js client --scenario initialize \
//!      --command "target/debug/examples/mcp_conformance client"`
//!
//! The fixtures served are the suite's that typecall can express: each
//! scenario's requirements are in the suite (`conformance list`, and each
//! scenario's description).

use std::sync::Arc;

use serde_json::{Value, json};
use std::time::Duration;
use typecall::future::BoxFuture;
use typecall::mcp::{
    CallingClient, Elicited, HttpOptions, IdentityAssertion, McpClient, McpHttpClientOptions,
    McpOAuth, McpServer, Prompt, PromptMessage, Resource, UserAgent, prompt, resource,
};

use typecall::tool::{
    LogLevel, Reporter, Tool, ToolContent, ToolContext, ToolDef, ToolResult, ToolValue, Toolbox,
};

/// Tests simple text content response
#[typecall::tool]
fn test_simple_text() -> String {
    "This is a simple text response for testing.".to_owned()
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A WAV header with no samples: 8 kHz, mono, 8-bit.
const WAV: &[u8] = &[
    b'R', b'I', b'F', b'F', 36, 0, 0, 0, b'W', b'A', b'V', b'E', b'f', b'm', b't', b' ', 16, 0, 0,
    0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x40, 0x1F, 0, 0, 1, 0, 8, 0, b'd', b'a', b't', b'a', 0, 0, 0,
    0,
];

/// Tests image content response
#[typecall::tool]
fn test_image_content() -> ToolContent {
    ToolContent::new().image("image/png", PNG)
}

/// Tests audio content response
#[typecall::tool]
fn test_audio_content() -> ToolContent {
    ToolContent::new().audio("audio/wav", WAV)
}

/// Tests embedded resource content response
#[typecall::tool]
fn test_embedded_resource() -> ToolContent {
    ToolContent::new().resource_text(
        "test://embedded-resource",
        "text/plain",
        "This is an embedded resource content.",
    )
}

/// Tests response with multiple content types (text, image, resource)
#[typecall::tool]
fn test_multiple_content_types() -> ToolContent {
    ToolContent::new()
        .text("Multiple content types test:")
        .image("image/png", PNG)
        .resource_text(
            "test://mixed-content-resource",
            "application/json",
            r#"{"test":"data","value":123}"#,
        )
}

/// Tests tool that emits log messages during execution
#[typecall::tool]
async fn test_tool_with_logging() -> String {
    let report = Reporter::current();
    report.log(LogLevel::Info, "Tool execution started");
    tokio::time::sleep(Duration::from_millis(50)).await;
    report.log(LogLevel::Info, "Tool processing data");
    tokio::time::sleep(Duration::from_millis(50)).await;
    report.log(LogLevel::Info, "Tool execution completed");
    "Tool with logging executed successfully".to_owned()
}

/// Tests tool that reports progress notifications
#[typecall::tool]
async fn test_tool_with_progress() -> String {
    let report = Reporter::current();
    for step in [0.0, 50.0, 100.0] {
        report.progress(
            step,
            Some(100.0),
            Some(&format!("Completed step {step} of 100")),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    "Progress reported".to_owned()
}

/// How long a fixture waits for the client to answer.
const ASK_DEADLINE: Duration = Duration::from_secs(30);

/// What an elicitation came to, as the suite's fixtures report it.
fn elicited(
    label: &str,
    answer: Result<Elicited<serde_json::Value>, typecall::mcp::McpError>,
) -> String {
    match answer {
        Ok(Elicited::Accepted(content)) => format!("{label}: action=accept, content={content}"),
        Ok(Elicited::Declined) => format!("{label}: action=decline, content={{}}"),
        Ok(Elicited::Cancelled) => format!("{label}: action=cancel, content={{}}"),
        Err(e) => format!("Elicitation not supported or error: {e}"),
    }
}

/// Asks the client's user, with this form.
async fn ask(
    message: &str,
    schema: serde_json::Value,
) -> Result<Elicited<serde_json::Value>, typecall::mcp::McpError> {
    let client = CallingClient::current()
        .ok_or_else(|| typecall::mcp::McpError::Setting("not called over MCP".to_owned()))?;
    client.elicit_schema(message, schema, ASK_DEADLINE).await
}

/// Tests server-initiated sampling (LLM completion request)
///
/// * `prompt` - The prompt to send to the LLM
#[typecall::tool]
async fn test_sampling(prompt: String) -> String {
    let Some(client) = CallingClient::current() else {
        return "Sampling not supported or error: not called over MCP".to_owned();
    };
    match client.sample(&prompt, 100, ASK_DEADLINE).await {
        Ok(text) => format!("LLM response: {text}"),
        Err(e) => format!("Sampling not supported or error: {e}"),
    }
}

/// Tests server-initiated elicitation (user input request)
///
/// * `message` - The message to show the user
#[typecall::tool]
async fn test_elicitation(message: String) -> String {
    let form = json!({
        "type": "object",
        "properties": {"response": {"type": "string", "description": "User's response"}},
        "required": ["response"]
    });
    elicited("User response", ask(&message, form).await)
}

/// Tests elicitation with default values per SEP-1034
#[typecall::tool]
async fn test_elicitation_sep1034_defaults() -> String {
    let form = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {"type": "string", "description": "User status",
                "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "description": "Verification status", "default": true}
        },
        "required": []
    });
    let answer = ask(
        "Please review and update the form fields with defaults",
        form,
    )
    .await;
    elicited("Elicitation completed", answer)
}

/// Tests elicitation with enum schema improvements per SEP-1330
#[typecall::tool]
async fn test_elicitation_sep1330_enums() -> String {
    let form = json!({
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "description": "Select one option",
                "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "description": "Select one option with titles",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]},
            "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "description": "Select multiple options",
                "minItems": 1, "maxItems": 3,
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "description": "Select multiple options with titles",
                "minItems": 1, "maxItems": 3,
                "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}
                ]}}
        },
        "required": []
    });
    let answer = ask("Please select options from the enum fields", form).await;
    elicited("Elicitation completed", answer)
}

/// Tests error response handling
#[typecall::tool]
fn test_error_handling() -> Result<String, String> {
    Err("This tool intentionally returns an error for testing".to_owned())
}

/// A tool whose input schema is given as it is (JSON Schema 2020-12, with
/// `$schema`, `$defs` and `additionalProperties`), not derived from a Rust
/// type: the suite checks that the listing keeps every keyword.
struct JsonSchema2020Tool {
    def: ToolDef,
}

impl JsonSchema2020Tool {
    fn new() -> Self {
        Self {
            def: ToolDef {
                name: "json_schema_2020_12_tool".into(),
                description: "Tool with JSON Schema 2020-12 features".into(),
                parameters: json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "$defs": {
                        "address": {
                            "type": "object",
                            "properties": {
                                "street": {"type": "string"},
                                "city": {"type": "string"}
                            }
                        }
                    },
                    "properties": {
                        "name": {"type": "string"},
                        "address": {"$ref": "#/$defs/address"}
                    },
                    "additionalProperties": false
                }),
                strict: false,
            },
        }
    }
}

impl Tool for JsonSchema2020Tool {
    fn def(&self) -> &ToolDef {
        &self.def
    }
    fn call<'a>(&'a self, args: Value, _ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move { Ok(ToolValue::Text(format!("Received: {args}"))) })
    }
}

/// The suite's fixtures that typecall can serve.
fn fixtures() -> typecall::Result<Toolbox> {
    let mut tools = Toolbox::new();
    tools.add(TestSimpleText)?;
    tools.add(TestErrorHandling)?;
    tools.add(TestImageContent)?;
    tools.add(TestAudioContent)?;
    tools.add(TestEmbeddedResource)?;
    tools.add(TestMultipleContentTypes)?;
    tools.add(TestToolWithLogging)?;
    tools.add(TestToolWithProgress)?;
    tools.add(TestSampling)?;
    tools.add(TestElicitation)?;
    tools.add(TestElicitationSep1034Defaults)?;
    tools.add(TestElicitationSep1330Enums)?;
    tools.add(TestReconnection)?;
    tools.add_arc(Arc::new(JsonSchema2020Tool::new()))?;
    Ok(tools)
}

/// Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.
#[typecall::tool]
async fn test_reconnection() -> Result<String, String> {
    let client = CallingClient::current().ok_or("not called over MCP")?;
    if client.close_stream(Duration::from_secs(10)).await {
        Ok("Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.".to_owned())
    } else {
        Err("the client did not reconnect within 10 s".to_owned())
    }
}

/// A static text resource for testing
#[resource(
    uri = "test://static-text",
    name = "static-text",
    title = "Static Text Resource"
)]
fn static_text() -> &'static str {
    "This is the content of the static text resource."
}

/// A resource template with parameter substitution
#[resource(
    uri = "test://template/{id}/data",
    name = "template",
    title = "Resource Template",
    mime_type = "application/json"
)]
fn template_data(id: String) -> String {
    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string()
}

/// The suite's resources: fixed text and bytes, a template, one to watch
/// (from `#[resource]` functions and from the builders).
fn with_resources(server: McpServer) -> McpServer {
    server
        .resource(StaticText)
        .resource(
            Resource::bytes("test://static-binary", "static-binary", "image/png", PNG)
                .title("Static Binary Resource")
                .description("A static binary resource (image) for testing"),
        )
        .resource(
            Resource::text(
                "test://watched-resource",
                "watched-resource",
                "text/plain",
                "Watched resource content",
            )
            .description("A resource clients may subscribe to"),
        )
        .resource_template(TemplateData)
}

/// Each block of `content` as a user message, then `text`.
fn user_messages(content: ToolContent, text: &str) -> Vec<PromptMessage> {
    content
        .blocks()
        .iter()
        .cloned()
        .map(PromptMessage::user)
        .chain([PromptMessage::user_text(text)])
        .collect()
}

/// A simple prompt without arguments
#[prompt(name = "test_simple_prompt", title = "Simple Test Prompt")]
fn simple_prompt() -> PromptMessage {
    PromptMessage::user_text("This is a simple prompt for testing.")
}

/// A prompt with required arguments
#[prompt(name = "test_prompt_with_arguments", title = "Prompt With Arguments")]
async fn prompt_with_arguments(
    /// First test argument
    arg1: String,
    /// Second test argument
    arg2: String,
) -> PromptMessage {
    PromptMessage::user_text(format!(
        "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
    ))
}

/// A prompt that includes an embedded resource
#[prompt(
    name = "test_prompt_with_embedded_resource",
    title = "Prompt With Embedded Resource"
)]
fn prompt_with_embedded_resource(
    /// URI of the resource to embed
    #[serde(rename = "resourceUri")]
    resource_uri: String,
) -> Result<Vec<PromptMessage>, String> {
    let resource = ToolContent::new().resource_text(
        resource_uri,
        "text/plain",
        "Embedded resource content for testing.",
    );
    Ok(user_messages(
        resource,
        "Please process the embedded resource above.",
    ))
}

/// The suite's prompts (from `#[prompt]` functions and from the builder).
fn with_prompts(server: McpServer) -> McpServer {
    server
        .prompt(SimplePrompt)
        .prompt(Prompt::from(PromptWithArguments).complete("arg1", |typed| {
            vec![format!("{typed}-one"), format!("{typed}-two")]
        }))
        .prompt(PromptWithEmbeddedResource)
        .prompt(
            Prompt::new(
                "test_prompt_with_image",
                "A prompt that includes image content",
                |_| async {
                    let image = ToolContent::new().image("image/png", PNG);
                    Ok::<_, String>(user_messages(image, "Please analyze the image above."))
                },
            )
            .title("Prompt With Image"),
        )
}

async fn serve(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let server =
        McpServer::new(fixtures()?).name("typecall-conformance", env!("CARGO_PKG_VERSION"));
    let server = with_prompts(with_resources(server));
    let running = server
        .serve_http(HttpOptions::new().addr(addr.parse()?))
        .await?;
    // Stdout is not the protocol channel here: say where it listens.
    println!("MCP server listening at {}", running.url());
    running.run().await;
    Ok(())
}

/// What the suite's client scenarios ask of a client: connect (authorizing
/// where the server asks), list the tools, and call the one the scenario's
/// server offers.
async fn client(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    eprintln!("scenario `{scenario}` against {url}");
    // Elicitations are accepted with nothing filled in: the client gives
    // the form's defaults.
    let mut options = McpHttpClientOptions::new()
        .on_elicitation(|_request| async { Elicited::Accepted(json!({})) });
    if let Some(oauth) = oauth_for(&scenario)? {
        options = options.oauth(oauth);
    }
    let client = McpClient::connect_http_with(url, options).await?;
    let tools = client.tools().await?;
    eprintln!("tools: {:?}", tools.names());
    if tools.get("add_numbers").is_some() {
        let sum = client.call("add_numbers", json!({"a": 2, "b": 3})).await?;
        eprintln!("add_numbers: {}", sum.to_content());
    }
    for name in tools.names() {
        if [
            "test_reconnection",
            "test_client_elicitation_defaults",
            "test-tool",
        ]
        .contains(&name)
        {
            let answer = client.call(name, json!({})).await?;
            eprintln!("{name}: {}", answer.to_content());
        }
    }
    Ok(())
}

/// How to authorize in an `auth/*` scenario: with the credentials the suite
/// hands over in `MCP_CONFORMANCE_CONTEXT` where it does, else as a user
/// whose authorization server grants without a login page, identified by a
/// client-ID metadata document where the server takes one.
fn oauth_for(scenario: &str) -> Result<Option<McpOAuth>, Box<dyn std::error::Error>> {
    if !scenario.starts_with("auth/") {
        return Ok(None);
    }
    let context: Value = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => json!({}),
    };
    let field = |name: &str| -> Result<String, Box<dyn std::error::Error>> {
        context[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("MCP_CONFORMANCE_CONTEXT has no `{name}`").into())
    };
    let as_user = || {
        McpOAuth::authorization_code("http://localhost:3000/callback", UserAgent::Headless)
            .client_name("typecall-conformance")
    };
    Ok(Some(match scenario {
        "auth/client-credentials-jwt" => {
            McpOAuth::client_credentials_jwt(field("client_id")?, &field("private_key_pem")?)?
        }
        "auth/client-credentials-basic" => {
            McpOAuth::client_credentials(field("client_id")?, field("client_secret")?)
        }
        "auth/pre-registration" => as_user()
            .client_id(field("client_id")?)
            .client_secret(field("client_secret")?),
        "auth/cross-app-access-complete-flow" => McpOAuth::identity_assertion(
            IdentityAssertion::new(
                field("idp_token_endpoint")?,
                field("idp_id_token")?,
                field("idp_client_id")?,
            ),
            field("client_id")?,
            field("client_secret")?,
        ),
        _ => as_user().client_metadata_url("https://conformance-test.local/client-metadata.json"),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["server", "--http", addr] => serve(addr).await,
        ["client", url] => client(url).await,
        _ => Err("usage: mcp_conformance server --http ADDR | mcp_conformance client URL".into()),
    }
}
