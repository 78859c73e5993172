//! MCP both ways, against implementations nobody here wrote: typecall's
//! server driven by the official Python SDK's client (PyPI `mcp`), typecall's
//! client against the reference server `@modelcontextprotocol/server-everything`
//! (npm), both installed by `scripts/mcp-peers`; a typecall ↔ typecall round
//! trip; the HTTP server's safety checks; an agent using a tool it only knows
//! through MCP, scripted and on the real local model.
//!
//! The peers are found through `TYPECALL_MCP_PYTHON` / `TYPECALL_MCP_EVERYTHING`
//! (what `scripts/mcp-peers install` prints; `scripts/test` exports them);
//! tests that need one skip, saying so, without it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use typecall::Agent;
use typecall::agent::HookDecision;
use typecall::mcp::{HttpOptions, McpClient, McpError, McpHttpClientOptions, McpServer};
use typecall::testing::ScriptedModel;
use typecall::tool::{ToolContext, ToolError, ToolValue};
use typecall_examples::mcp_tools;

fn peer(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIPPED: {what} is not installed ({var} unset); scripts/mcp-peers install sets it up"
            );
            None
        }
    }
}

/// The example MCP server binary (`examples/mcp_server.rs`), built if needed.
fn example_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples/mcp_server");
    // `cargo test --workspace` builds the examples first; built here only
    // when missing (building with this package's features alone would
    // rebuild the library).
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "typecall-examples",
                "--example",
                "mcp_server",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building the mcp_server example failed");
    }
    path
}

fn everything_command(everything: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(everything).arg("stdio");
    cmd
}

async fn local_http_server(options: HttpOptions) -> typecall::mcp::HttpServer {
    McpServer::new(mcp_tools::toolbox())
        .serve_http(options.addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// typecall's server, driven by the official Python SDK.

fn run_python_client(python: &Path, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mcp/sdk_client.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python SDK client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn assert_what_the_python_client_saw(seen: &Value) {
    let tools = &seen["tools"];
    let root = &tools["square_root"];
    assert_eq!(root["title"], "Square root", "{root}");
    assert_eq!(
        root["description"],
        "The square root of a number, rounded to 2 decimals."
    );
    assert_eq!(
        root["inputSchema"]["properties"]["number"]["type"], "number",
        "{root}"
    );
    assert_eq!(root["annotations"]["readOnlyHint"], true, "{root}");
    assert_eq!(root["annotations"]["idempotentHint"], true, "{root}");
    assert_eq!(tools["delete_note"]["annotations"]["destructiveHint"], true);
    // A typed result: an object schema, and a scalar one wrapped as {"result": …}.
    let stats = &tools["text_stats"]["outputSchema"];
    assert_eq!(stats["properties"]["words"]["type"], "integer", "{stats}");
    assert_eq!(
        root["outputSchema"]["properties"]["result"]["type"],
        "number"
    );

    let calls = &seen["calls"];
    assert_eq!(calls["good"]["isError"], false, "{calls}");
    assert_eq!(calls["good"]["text"], "1.41");
    assert_eq!(calls["good"]["structuredContent"], json!({"result": 1.41}));
    // Bad arguments: a result the client's model can read, not a protocol error.
    assert_eq!(calls["bad"]["isError"], true, "{calls}");
    let bad = calls["bad"]["text"].as_str().unwrap();
    assert!(
        bad.contains("invalid arguments for `square_root`") && bad.contains("/number"),
        "{bad}"
    );
    assert_eq!(calls["tool_error"]["isError"], true);
    assert!(
        calls["tool_error"]["text"]
            .as_str()
            .unwrap()
            .contains("-4 is negative"),
        "{calls}"
    );
    assert_eq!(
        calls["typed"]["structuredContent"],
        json!({"words": 3, "characters": 13})
    );
}

#[test]
fn the_python_sdk_drives_typecall_over_stdio() {
    let Some(python) = peer("TYPECALL_MCP_PYTHON", "the MCP Python SDK") else {
        return;
    };
    let server = example_server();
    let seen = run_python_client(&python, &["stdio", server.to_str().unwrap()]);
    assert_what_the_python_client_saw(&seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_drives_typecall_over_streamable_http() {
    let Some(python) = peer("TYPECALL_MCP_PYTHON", "the MCP Python SDK") else {
        return;
    };
    let server = local_http_server(HttpOptions::new()).await;
    let url = server.url();
    let seen = tokio::task::spawn_blocking(move || run_python_client(&python, &["http", &url]))
        .await
        .unwrap();
    assert_what_the_python_client_saw(&seen);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// typecall's client, against the reference server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typecall_uses_the_reference_servers_tools() {
    let Some(everything) = peer("TYPECALL_MCP_EVERYTHING", "server-everything") else {
        return;
    };
    let client = McpClient::spawn(everything_command(&everything))
        .await
        .unwrap();
    let (name, _) = client.server_name().unwrap();
    assert!(name.contains("everything"), "{name}");
    let tools = client.tools().await.unwrap();
    for expected in [
        "echo",
        "get-sum",
        "get-structured-content",
        "trigger-long-running-operation",
    ] {
        assert!(tools.names().contains(&expected), "{:?}", tools.names());
    }
    assert!(tools.refused().is_empty(), "{:?}", tools.refused());
    let ctx = ToolContext::new();
    // Its schemas lowered like a Rust type's: strict, every property required.
    let sum = tools.get("get-sum").unwrap();
    assert!(sum.def().strict, "{:?}", sum.def());
    assert!(sum.def().parameters.get("$schema").is_none());

    // Its notifications (simulated log messages every few seconds) do not
    // disturb the calls that follow.
    let logging = tools.get("toggle-simulated-logging").unwrap();
    logging.call(json!({}), &ctx).await.unwrap();

    let echo = tools.get("echo").unwrap();
    let out = echo
        .call(json!({"message": "hi from typecall"}), &ctx)
        .await
        .unwrap();
    assert!(out.to_content().contains("hi from typecall"), "{out:?}");
    let out = sum.call(json!({"a": 2, "b": 3.5}), &ctx).await.unwrap();
    assert!(out.to_content().contains("5.5"), "{out:?}");

    // Checked before sending: the server never sees bad arguments.
    let err = echo.call(json!({"message": 5}), &ctx).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments { .. }), "{err:?}");
    assert!(err.to_string().contains("/message"), "{err}");

    // Structured content, checked against the server's outputSchema.
    let weather = tools.get("get-structured-content").unwrap();
    assert!(weather.output_schema().is_some());
    match weather
        .call(json!({"location": "Chicago"}), &ctx)
        .await
        .unwrap()
    {
        ToolValue::Json(v) => assert!(v.get("temperature").is_some(), "{v}"),
        other => panic!("expected structured content, got {other:?}"),
    }

    // A long-running tool (reporting progress as it goes) completes; with
    // less time than it needs, it is a timeout the model is told about.
    let long = tools.get("trigger-long-running-operation").unwrap();
    let out = long
        .call(json!({"duration": 1, "steps": 2}), &ctx)
        .await
        .unwrap();
    assert!(
        out.to_content().to_lowercase().contains("completed"),
        "{out:?}"
    );
    let impatient = McpClient::spawn(everything_command(&everything))
        .await
        .unwrap()
        .call_timeout(Duration::from_millis(300));
    let tools_short = impatient.tools().await.unwrap();
    let err = tools_short
        .get("trigger-long-running-operation")
        .unwrap()
        .call(json!({"duration": 3, "steps": 3}), &ctx)
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::TimedOut { .. }), "{err:?}");

    // An agent, with a scripted model, calls one of its tools.
    let model = ScriptedModel::new()
        .tool_call("get-sum", json!({"a": 20, "b": 22}))
        .text("42");
    let run = Agent::new(model)
        .tools(tools)
        .run("20 + 22?")
        .await
        .unwrap();
    assert_eq!(run.text(), "42");
    let call = run.tool_calls()[0];
    assert_eq!(call.call.name, "get-sum");
    assert!(
        call.result.as_deref().unwrap().contains("42"),
        "{:?}",
        call.result
    );
}

// ---------------------------------------------------------------------------
// typecall ↔ typecall.

async fn round_trip(client: &McpClient) {
    let ctx = ToolContext::new();
    let tools = client.tools().await.unwrap();
    assert_eq!(
        tools.names(),
        ["square_root", "add", "text_stats", "delete_note"]
    );
    let root = tools.get("square_root").unwrap();
    assert!(root.def().strict);
    assert_eq!(root.annotations().title.as_deref(), Some("Square root"));
    assert_eq!(root.annotations().read_only, Some(true));
    assert!(
        tools
            .get("delete_note")
            .unwrap()
            .annotations()
            .may_destroy()
    );
    assert_eq!(
        root.call(json!({"number": 2}), &ctx).await.unwrap(),
        ToolValue::Json(json!(1.41))
    );
    let stats = tools.get("text_stats").unwrap();
    assert_eq!(
        stats.call(json!({"text": "a b"}), &ctx).await.unwrap(),
        ToolValue::Json(json!({"words": 2, "characters": 3}))
    );
    // Caught on this side: never sent.
    let err = root.call(json!({"number": "two"}), &ctx).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments { .. }), "{err:?}");
    // The tool's own error, through `isError`.
    let err = root.call(json!({"number": -1}), &ctx).await.unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed { message, .. } if message.contains("-1 is negative")),
        "{err:?}"
    );
    // Bad arguments the client did not check reach the server's validation.
    let err = client.call("add", json!({"a": 1})).await.unwrap_err();
    assert!(
        err.to_string().contains("invalid arguments for `add`"),
        "{err}"
    );
    // An unknown tool: a protocol error, as a tool failure.
    let err = client.call("nope", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typecall_server_and_client_round_trip_over_stdio() {
    let client = McpClient::spawn(tokio::process::Command::new(example_server()))
        .await
        .unwrap();
    assert_eq!(client.server_name().unwrap().0, "typecall-example");
    round_trip(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typecall_server_and_client_round_trip_over_http_and_a_dead_server_is_a_tool_error() {
    let server = local_http_server(HttpOptions::new()).await;
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    round_trip(&client).await;
    let tools = client.tools().await.unwrap();
    server.shutdown().await;
    let err = tools
        .get("add")
        .unwrap()
        .call(json!({"a": 1, "b": 2}), &ToolContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Failed { .. } | ToolError::TimedOut { .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_offers_the_newest_handshake_revision_or_the_one_asked_for() {
    let server = local_http_server(HttpOptions::new()).await;
    // By default: the newest revision that has an `initialize` handshake.
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    assert_eq!(client.protocol_version(), "2025-11-25");
    assert_eq!(
        typecall::mcp::MCP_PROTOCOL_VERSIONS.last(),
        Some(&"2025-11-25")
    );
    // An older one when asked: the server answers in it, and tools work.
    let older = McpHttpClientOptions::new().protocol_version("2025-06-18");
    let client = McpClient::connect_http_with(&server.url(), older)
        .await
        .unwrap();
    assert_eq!(client.protocol_version(), "2025-06-18");
    round_trip(&client).await;
    // One typecall does not speak is refused before anything is sent.
    let unknown = McpHttpClientOptions::new().protocol_version("1999-01-01");
    let err = McpClient::connect_http_with(&server.url(), unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, McpError::Setting(m) if m.contains("1999-01-01") && m.contains("2025-11-25")),
        "{err:?}"
    );
    server.shutdown().await;
}

/// A chart and its caption.
#[typecall::tool]
fn chart(fail: bool) -> Result<typecall::tool::ToolContent, String> {
    if fail {
        return Err("no data".into());
    }
    Ok(typecall::tool::ToolContent::new()
        .text("Sales rose.")
        .image("image/png", &[1, 2, 3])
        .audio("audio/wav", &[4, 5])
        .resource_text("test://notes", "text/markdown", "# Notes")
        .resource_bytes("test://raw", "application/octet-stream", &[6]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_blocks_cross_mcp_unchanged_both_ways() {
    use typecall::tool::{ContentBlock, ResourceContents, Toolbox};
    let server = McpServer::new(Toolbox::new().with(Chart).unwrap())
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    let got = client.call("chart", json!({"fail": false})).await.unwrap();
    let ToolValue::Content(content) = &got else {
        panic!("expected content blocks, got {got:?}")
    };
    let blocks = content.blocks();
    assert_eq!(blocks.len(), 5, "{blocks:?}");
    assert!(matches!(&blocks[0], ContentBlock::Text { text } if text == "Sales rose."));
    assert!(
        matches!(&blocks[1], ContentBlock::Image { media_type, data } if media_type == "image/png" && data == "AQID")
    );
    assert!(
        matches!(&blocks[2], ContentBlock::Audio { media_type, data } if media_type == "audio/wav" && data == "BAU=")
    );
    assert!(
        matches!(&blocks[3], ContentBlock::Resource { uri, media_type: Some(t), contents: ResourceContents::Text(text) }
        if uri == "test://notes" && t == "text/markdown" && text == "# Notes")
    );
    assert!(
        matches!(&blocks[4], ContentBlock::Resource { contents: ResourceContents::Blob(b), .. } if b == "Bg==")
    );
    // What a model reads of it.
    assert_eq!(
        got.to_content(),
        "Sales rose.\n[image: image/png, 3 bytes]\n[audio: audio/wav, 2 bytes]\n\
         [resource test://notes (text/markdown)]\n# Notes\n\
         [resource test://raw (application/octet-stream), 1 bytes]"
    );
    // The `Err` of a `Result<ToolContent, E>` is still an error result.
    let err = client
        .call("chart", json!({"fail": true}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no data"), "{err}");
    server.shutdown().await;
}

/// Counts to three, reporting each step.
#[typecall::tool]
async fn count_to_three() -> u32 {
    let report = typecall::tool::Reporter::current();
    for i in 1..=3 {
        report.progress(f64::from(i), Some(3.0), None);
        report.log(typecall::tool::LogLevel::Info, &format!("step {i}"));
    }
    3
}

/// The same, on a blocking thread.
#[typecall::tool(blocking)]
fn count_to_three_blocking() -> u32 {
    let report = typecall::tool::Reporter::current();
    for i in 1..=3 {
        report.progress(f64::from(i), Some(3.0), None);
    }
    3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tools_progress_reaches_the_client() {
    use typecall::tool::Toolbox;
    let tools = Toolbox::new()
        .with(CountToThree)
        .unwrap()
        .with(CountToThreeBlocking)
        .unwrap();
    let server = McpServer::new(tools)
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    // The client handles each notification on its own task: give the last
    // ones a moment (they were sent before the result).
    let seen = |n: u64| {
        let client = client.clone();
        async move {
            for _ in 0..200 {
                if client.progress_updates() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            client.progress_updates()
        }
    };
    client.call("count_to_three", json!({})).await.unwrap();
    assert_eq!(seen(3).await, 3);
    client
        .call("count_to_three_blocking", json!({}))
        .await
        .unwrap();
    assert_eq!(seen(6).await, 6);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Safe by default over HTTP.

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
}

async fn post(url: &str, headers: &[(&str, &str)], body: String) -> reqwest::Response {
    // reqwest without a built-in crypto provider: ring, as typecall's own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_unreadable_lines_are_answered_and_the_server_goes_on() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut child = tokio::process::Command::new(example_server())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next = async || {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line))
            .await
            .expect("the server answers")
            .unwrap();
        serde_json::from_str::<Value>(&line).unwrap()
    };
    stdin.write_all(b"not json\n").await.unwrap();
    assert_eq!(next().await["error"]["code"], -32700);
    // Over 16 MiB: refused, skipped, not held.
    let long = vec![b'x'; 17 * 1024 * 1024];
    stdin.write_all(&long).await.unwrap();
    stdin.write_all(b"\n[1, 2]\n").await.unwrap();
    assert_eq!(next().await["error"]["code"], -32700);
    assert_eq!(next().await["error"]["code"], -32600);
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "add", "arguments": [1, 2]}});
    stdin
        .write_all(format!("{call}\n").as_bytes())
        .await
        .unwrap();
    let refused = next().await;
    assert_eq!(
        (refused["error"]["code"].clone(), refused["id"].clone()),
        (json!(-32602), json!(9))
    );
    // And then a client is served as ever.
    let mut init = initialize_body().to_string();
    init.push('\n');
    stdin.write_all(init.as_bytes()).await.unwrap();
    let answer = next().await;
    assert_eq!(answer["id"], 1);
    assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_requests_get_json_rpc_errors_and_nothing_is_left_open() {
    let server = local_http_server(HttpOptions::new()).await;
    let url = server.url();
    let code = |v: &Value| v["error"]["code"].as_i64();

    let r = post(&url, &[], "{not json".into()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(code(&r.json().await.unwrap()), Some(-32700));

    let batch = json!([initialize_body(), initialize_body()]).to_string();
    let r = post(&url, &[], batch).await;
    assert_eq!(r.status(), 400);
    assert_eq!(code(&r.json().await.unwrap()), Some(-32600));

    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "add", "arguments": [1, 2]}});
    let r = post(&url, &[], call.to_string()).await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(code(&answer), Some(-32602), "{answer}");
    assert_eq!(answer["id"], 7);

    // A good request still works after all that.
    let r = post(&url, &[], initialize_body().to_string()).await;
    assert_eq!(r.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_idle_sessions_give_way() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = local_http_server(
        HttpOptions::new()
            .header_read_timeout(Duration::from_millis(300))
            .body_read_timeout(Duration::from_millis(300))
            .max_sessions(2)
            .evictable_after(Duration::from_millis(500)),
    )
    .await;
    let url = server.url();
    let addr = server.local_addr();

    // Headers sent one byte and then nothing: the connection is closed.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"P").await.unwrap();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(_)) | Ok(Err(_))),
        "a client that sends no headers is not cut off"
    );

    // A body promised and not sent: 408.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{{\"a\""
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The cap: two sessions; a third waits until one has been idle long enough.
    let session =
        |r: &reqwest::Response| r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let first = post(&url, &[], initialize_body().to_string()).await;
    assert_eq!(first.status(), 200);
    let first = session(&first);
    let second = post(&url, &[], initialize_body().to_string()).await;
    assert_eq!(second.status(), 200);
    let r = post(&url, &[], initialize_body().to_string()).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let third = post(&url, &[], initialize_body().to_string()).await;
    assert_eq!(third.status(), 200, "{:?}", third.text().await);
    // The least recently used session was the one closed.
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    let r = post(
        &url,
        &[
            ("mcp-session-id", &first),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        ping,
    )
    .await;
    assert_eq!(r.status(), 404, "{:?}", r.text().await);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_cannot_take_every_session() {
    let server = local_http_server(
        HttpOptions::new()
            .bearer_tokens(["alice-token", "bob-token"])
            .max_sessions(4)
            .max_sessions_per_token(2)
            .evictable_after(Duration::from_millis(500)),
    )
    .await;
    let url = server.url();
    let open = async |token: &str| {
        post(
            &url,
            &[("authorization", &format!("Bearer {token}"))],
            initialize_body().to_string(),
        )
        .await
    };
    let session =
        |r: &reqwest::Response| r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let a1 = open("alice-token").await;
    assert_eq!(a1.status(), 200);
    let a1 = session(&a1);
    assert_eq!(open("alice-token").await.status(), 200);
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    let alive = async |token: &str, id: &str| {
        post(
            &url,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("mcp-session-id", id),
                ("mcp-protocol-version", "2025-06-18"),
            ],
            ping.clone(),
        )
        .await
        .status()
    };
    // Alice's third, while both of hers are fresh: 429, and Bob still gets in.
    let refused = open("alice-token").await;
    assert_eq!(refused.status(), 429, "{:?}", refused.text().await);
    let b1 = session(&open("bob-token").await);
    let b2 = session(&open("bob-token").await);
    assert_eq!(open("wrong-token").await.status(), 401);
    // Once hers are idle long enough, her own oldest gives way, and only it:
    // every session is taken (4), yet none of Bob's is closed.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(open("alice-token").await.status(), 200);
    assert_eq!(alive("alice-token", &a1).await, 404);
    assert_eq!(alive("bob-token", &b1).await, 200);
    assert_eq!(alive("bob-token", &b2).await, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_server_refuses_foreign_origins_missing_tokens_big_bodies_and_too_many_sessions() {
    let server = local_http_server(
        HttpOptions::new()
            .bearer_token("s3cret")
            .max_body_bytes(64 * 1024)
            .max_sessions(1),
    )
    .await;
    let url = server.url();
    let auth = ("authorization", "Bearer s3cret");
    let body = initialize_body().to_string();

    let r = post(&url, &[], body.clone()).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = post(&url, &[("authorization", "Bearer wrong")], body.clone()).await;
    assert_eq!(r.status(), 401);
    let r = post(
        &url,
        &[auth, ("origin", "http://evil.example")],
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 403, "{:?}", r.text().await);
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(100 * 1024));
    let r = post(&url, &[auth], big).await;
    assert_eq!(r.status(), 413);

    // A loopback page and a plain client pass; one session is the cap.
    let r = post(
        &url,
        &[auth, ("origin", "http://localhost:3000")],
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = post(&url, &[auth], body.clone()).await;
    assert_eq!(r.status(), 503);
    server.shutdown().await;

    // typecall's own client: with the token it works, without it the
    // handshake fails.
    let server = local_http_server(HttpOptions::new().bearer_token("s3cret")).await;
    // Refused for want of a token: said so, with what the server asks.
    let err = McpClient::connect_http(&server.url()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("authorization required (HTTP 401; it asks: Bearer"),
        "{err}"
    );
    let client = McpClient::connect_http_with(
        &server.url(),
        McpHttpClientOptions::new().bearer_token("s3cret"),
    )
    .await
    .unwrap();
    assert_eq!(client.tools().await.unwrap().len(), 4);

    // Beyond loopback only when asked.
    let err = McpServer::new(mcp_tools::toolbox())
        .serve_http(HttpOptions::new().addr("0.0.0.0:0".parse().unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::Setting(_)), "{err}");
    assert!(!format!("{:?}", HttpOptions::new().bearer_token("s3cret")).contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_tool_waits_for_approval_and_the_others_do_not() {
    let server = local_http_server(HttpOptions::new()).await;
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let model = ScriptedModel::new()
        .tool_calls([
            ("square_root", json!({"number": 9})),
            ("delete_note", json!({"id": 2})),
        ])
        .text("done");
    let run = Agent::new(model)
        .tools(client.tools().await.unwrap())
        .approve_only_destructive()
        .before_tool_call_async(move |call| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await; // a person thinking
                HookDecision::Deny(format!("nobody approved `{}`", call.name))
            }
        })
        .run("clean up")
        .await
        .unwrap();
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "only the destructive call asks"
    );
    let calls = run.tool_calls();
    assert_eq!(calls[0].result.as_deref(), Ok("3.0"));
    let denied = calls[1].result.as_ref().unwrap_err();
    assert!(matches!(denied, ToolError::Denied { .. }), "{denied:?}");
}

// ---------------------------------------------------------------------------
// The real local model, with a tool it only knows through MCP.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_uses_a_tool_it_only_knows_through_mcp() {
    let Ok(url) = std::env::var("TYPECALL_QWEN_BASE_URL") else {
        eprintln!(
            "SKIPPED: no local Qwen server (TYPECALL_QWEN_BASE_URL unset; scripts/test starts it)"
        );
        return;
    };
    let client = McpClient::spawn(tokio::process::Command::new(example_server()))
        .await
        .unwrap();
    let tools = client.tools().await.unwrap();
    let model = typecall::OpenAiCompat::new(url.trim())
        .timeout(Duration::from_secs(300))
        .model("qwen")
        .with_capabilities(typecall::provider::Capabilities::llama_cpp());
    let run = mcp_tools::agent(Arc::new(model), tools)
        .run("What is the square root of 2? Use the tool.")
        .await
        .unwrap();
    let calls = run.tool_calls();
    assert_eq!(calls[0].call.name, "square_root", "{run:#?}");
    let args: Value = serde_json::from_str(&calls[0].call.arguments).unwrap();
    assert_eq!(args["number"].as_f64(), Some(2.0), "{run:#?}");
    assert_eq!(calls[0].result.as_deref(), Ok("1.41"));
    assert!(run.text().contains("1.41"), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_list_change_from_a_python_sdk_server_is_seen_and_refreshes_the_list() {
    let Some(python) = peer("TYPECALL_MCP_PYTHON", "the MCP Python SDK") else {
        return;
    };
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mcp/sdk_server.py"));
    let client = McpClient::spawn(cmd).await.unwrap();
    let tools = client.tools().await.unwrap();
    assert_eq!(tools.names(), ["unlock"]);
    assert!(!client.tools_changed());
    let out = tools
        .get("unlock")
        .unwrap()
        .call(json!({}), &ToolContext::new())
        .await
        .unwrap();
    assert!(out.to_content().contains("unlocked"), "{out:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !client.tools_changed() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tools/list_changed seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tools = client.tools().await.unwrap();
    assert_eq!(tools.names(), ["unlock", "triple"]);
    assert!(!client.tools_changed());
    let out = tools
        .get("triple")
        .unwrap()
        .call(json!({"x": 14}), &ToolContext::new())
        .await
        .unwrap();
    assert!(out.to_content().contains("42"), "{out:?}");
}

static SLOW_TOOL_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks the slow tool's call as dropped (cancelled) unless it finished.
struct DropFlag(bool);
impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.0 {
            SLOW_TOOL_DROPPED.store(true, Ordering::SeqCst);
        }
    }
}

/// Waits ten seconds.
#[typecall::tool]
async fn slow() -> String {
    let mut flag = DropFlag(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    flag.0 = true;
    "finished".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_client_gives_up_on_is_cancelled_on_the_server() {
    let server = McpServer::new(typecall::tool::Toolbox::new().with(Slow).unwrap())
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let client = McpClient::connect_http(&server.url())
        .await
        .unwrap()
        .call_timeout(Duration::from_millis(300));
    let tools = client.tools().await.unwrap();
    let err = tools
        .get("slow")
        .unwrap()
        .call(json!({}), &ToolContext::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::TimedOut { .. }), "{err:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !SLOW_TOOL_DROPPED.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server kept running the call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the head of the first request made to a loopback port, then hangs up.
async fn first_request_head(listener: tokio::net::TcpListener) -> String {
    use tokio::io::AsyncReadExt;
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    String::from_utf8_lossy(&head).to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_client_sends_only_the_credentials_it_was_given() {
    for token in [None, Some("mcp-token")] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let head = tokio::spawn(first_request_head(listener));
        let options = match token {
            Some(t) => McpHttpClientOptions::new().bearer_token(t),
            None => McpHttpClientOptions::new(),
        };
        // The fake server hangs up: the handshake fails, typed.
        let connecting = tokio::time::timeout(
            Duration::from_secs(20),
            McpClient::connect_http_with(&url, options),
        );
        assert!(matches!(
            connecting.await,
            Ok(Err(McpError::Handshake { .. }))
        ));
        let head = head.await.unwrap();
        let auth: Vec<&str> = head
            .lines()
            .filter(|l| l.starts_with("authorization:"))
            .collect();
        match token {
            None => assert!(auth.is_empty(), "{head}"),
            Some(t) => assert_eq!(
                auth,
                [format!("authorization: bearer {t}").as_str()],
                "{head}"
            ),
        }
        assert!(
            !head.contains("x-api-key") && !head.contains("api-key"),
            "{head}"
        );
    }
}

// ---------------------------------------------------------------------------
// Resources, prompts and completion, spoken to line by line.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_prompts_and_completion_are_served_and_subscribers_told() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use typecall::mcp::{Prompt, PromptMessage, Resource, ResourceTemplate};
    use typecall::tool::ResourceContents;

    let server = McpServer::new(typecall::tool::Toolbox::new())
        .resource(Resource::text(
            "memo://today",
            "today",
            "text/plain",
            "Buy milk",
        ))
        .resource_template(
            ResourceTemplate::new("memo://{day}", "memo", "text/plain", |r| async move {
                match r.variables.get("day").map(String::as_str) {
                    Some("never") => Err("no such day".to_owned()),
                    day => Ok(ResourceContents::Text(format!("Memo for {day:?}"))),
                }
            })
            .complete("day", |typed| {
                ["monday", "tuesday", "sunday"]
                    .into_iter()
                    .filter(|d| d.starts_with(typed))
                    .map(str::to_owned)
                    .collect()
            }),
        )
        .prompt(
            Prompt::new("greet", "Greets someone", |args| async move {
                Ok::<_, String>(vec![PromptMessage::user_text(format!(
                    "Say hello to {}",
                    args.get("name").cloned().unwrap_or_default()
                ))])
            })
            .argument("name", "Who", true),
        );
    let notifier = server.resource_notifier();
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    tokio::spawn(server.serve_on((server_read, server_write)));
    let (client_read, mut client_write) = tokio::io::split(client_end);
    let mut lines = BufReader::new(client_read).lines();
    let mut send = async |message: Value| {
        let mut line = message.to_string();
        line.push('\n');
        client_write.write_all(line.as_bytes()).await.unwrap();
    };
    async fn next(
        lines: &mut tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
    ) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("an answer")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap()
    }
    let request = |id: u64, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});

    send(initialize_body()).await;
    let init = next(&mut lines).await;
    let offered = &init["result"]["capabilities"];
    assert_eq!(offered["resources"]["subscribe"], true, "{init}");
    assert!(
        offered["prompts"].is_object() && offered["completions"].is_object(),
        "{init}"
    );
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;

    send(request(2, "resources/list", json!({}))).await;
    assert_eq!(
        next(&mut lines).await["result"]["resources"][0]["uri"],
        "memo://today"
    );
    send(request(3, "resources/read", json!({"uri": "memo://today"}))).await;
    assert_eq!(
        next(&mut lines).await["result"]["contents"][0]["text"],
        "Buy milk"
    );
    send(request(
        4,
        "resources/read",
        json!({"uri": "memo://monday"}),
    ))
    .await;
    let read = next(&mut lines).await;
    assert_eq!(
        read["result"]["contents"][0]["text"], "Memo for Some(\"monday\")",
        "{read}"
    );
    assert_eq!(read["result"]["contents"][0]["mimeType"], "text/plain");
    send(request(
        5,
        "resources/read",
        json!({"uri": "elsewhere://x"}),
    ))
    .await;
    assert_eq!(next(&mut lines).await["error"]["code"], -32002);
    send(request(6, "resources/read", json!({"uri": "memo://never"}))).await;
    let failed = next(&mut lines).await;
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such day"),
        "{failed}"
    );

    send(request(7, "prompts/get", json!({"name": "greet"}))).await;
    assert_eq!(next(&mut lines).await["error"]["code"], -32602);
    send(request(
        8,
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ada"}}),
    ))
    .await;
    let got = next(&mut lines).await;
    assert_eq!(
        got["result"]["messages"][0]["content"]["text"], "Say hello to Ada",
        "{got}"
    );

    send(request(
        9,
        "completion/complete",
        json!({
        "ref": {"type": "ref/resource", "uri": "memo://{day}"},
        "argument": {"name": "day", "value": "s"}}),
    ))
    .await;
    assert_eq!(
        next(&mut lines).await["result"]["completion"]["values"],
        json!(["sunday"])
    );

    send(request(
        10,
        "resources/subscribe",
        json!({"uri": "memo://today"}),
    ))
    .await;
    assert!(next(&mut lines).await["result"].is_object());
    assert_eq!(notifier.updated("memo://today").await, 1);
    assert_eq!(notifier.updated("memo://other").await, 0);
    let told = next(&mut lines).await;
    assert_eq!(told["method"], "notifications/resources/updated", "{told}");
    assert_eq!(told["params"]["uri"], "memo://today");
    send(request(
        11,
        "resources/unsubscribe",
        json!({"uri": "memo://today"}),
    ))
    .await;
    assert!(next(&mut lines).await["result"].is_object());
    assert_eq!(notifier.updated("memo://today").await, 0);
}

// ---------------------------------------------------------------------------
// A tool asking the client back.

/// A pizza order.
#[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
struct Order {
    /// Which pizza.
    pizza: String,
    /// How many.
    #[schemars(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

/// Orders a pizza, asking the user which.
#[typecall::tool]
async fn order_pizza(deadline_ms: u64) -> Result<String, String> {
    use typecall::mcp::{CallingClient, Elicited};
    let client = CallingClient::current().ok_or("not over MCP")?;
    let deadline = Duration::from_millis(deadline_ms);
    match client.elicit::<Order>("Which pizza?", deadline).await {
        Ok(Elicited::Accepted(order)) => Ok(format!("{} x {}", order.count, order.pizza)),
        Ok(Elicited::Declined) => Ok("declined".into()),
        Ok(Elicited::Cancelled) => Ok("cancelled".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks the client's model.
#[typecall::tool]
async fn ask_model() -> Result<String, String> {
    let client = typecall::mcp::CallingClient::current().ok_or("not over MCP")?;
    client
        .sample("Say hi", 10, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_asks_the_user_through_the_client_with_a_deadline() {
    use typecall::mcp::{ElicitationRequest, Elicited};
    let tools = typecall::tool::Toolbox::new()
        .with(OrderPizza)
        .unwrap()
        .with(AskModel)
        .unwrap();
    let server = McpServer::new(tools)
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    assert!(typecall::mcp::CallingClient::current().is_none());

    // Answered without `count`: the form's default fills it.
    let asked = Arc::new(std::sync::Mutex::new(None::<ElicitationRequest>));
    let seen = Arc::clone(&asked);
    let options = McpHttpClientOptions::new().on_elicitation(move |request| {
        *seen.lock().unwrap() = Some(request);
        async { Elicited::Accepted(json!({"pizza": "margherita"})) }
    });
    let client = McpClient::connect_http_with(&server.url(), options)
        .await
        .unwrap();
    let answer = client
        .call("order_pizza", json!({"deadline_ms": 5000}))
        .await
        .unwrap();
    assert!(answer.to_content().contains("1 x margherita"), "{answer:?}");
    let request = asked.lock().unwrap().clone().unwrap();
    assert_eq!(request.message, "Which pizza?");
    assert_eq!(request.schema["properties"]["pizza"]["type"], "string");

    // Declined, and a user who never answers: the deadline ends the wait.
    let options = McpHttpClientOptions::new().on_elicitation(|_| async { Elicited::Declined });
    let client = McpClient::connect_http_with(&server.url(), options)
        .await
        .unwrap();
    let answer = client
        .call("order_pizza", json!({"deadline_ms": 5000}))
        .await
        .unwrap();
    assert!(answer.to_content().contains("declined"), "{answer:?}");
    let options = McpHttpClientOptions::new().on_elicitation(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Elicited::Cancelled
    });
    let client = McpClient::connect_http_with(&server.url(), options)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .call("order_pizza", json!({"deadline_ms": 300}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // A client that cannot elicit or sample says so; the tool reports it.
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    let err = client
        .call("order_pizza", json!({"deadline_ms": 5000}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("elicitation/create"), "{err}");
    let err = client.call("ask_model", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("sampling/createMessage"), "{err}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_answers_sampling_with_its_own_model_when_told_to() {
    let server = McpServer::new(typecall::tool::Toolbox::new().with(AskModel).unwrap())
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let model = Arc::new(ScriptedModel::new().text("Hi there"));
    let seen = Arc::clone(&model);
    let options = McpHttpClientOptions::new().sampling_model(model);
    let client = McpClient::connect_http_with(&server.url(), options)
        .await
        .unwrap();
    let answer = client.call("ask_model", json!({})).await.unwrap();
    assert!(answer.to_content().contains("Hi there"), "{answer:?}");
    let asked = seen.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].messages.last().map(|m| m.text()),
        Some("Say hi".to_owned())
    );
    assert_eq!(asked[0].max_tokens, Some(10));
    server.shutdown().await;
}

/// Served from the start.
#[typecall::tool]
fn listed_first() -> u32 {
    1
}

/// Served through `McpCatalog` while the server runs.
#[typecall::tool]
fn two() -> u32 {
    2
}

/// Greets someone.
#[typecall::mcp::prompt]
fn greet(
    /// Who.
    name: String,
) -> typecall::mcp::PromptMessage {
    typecall::mcp::PromptMessage::user_text(format!("Say hello to {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_changes_its_lists_and_every_client_is_told() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use typecall::mcp::Resource;

    let server = McpServer::new(typecall::tool::Toolbox::new().with(ListedFirst).unwrap());
    let catalog = server.catalog();
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    let serving = tokio::spawn(server.serve_on((server_read, server_write)));
    let (client_read, mut client_write) = tokio::io::split(client_end);
    let mut lines = BufReader::new(client_read).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("a message")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap()
    };
    let request = |id: u64, method: &str| {
        format!(
            "{}\n",
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {}})
        )
    };

    client_write
        .write_all(format!("{}\n", initialize_body()).as_bytes())
        .await
        .unwrap();
    let init = next().await;
    let offered = &init["result"]["capabilities"];
    for kind in ["tools", "resources", "prompts"] {
        assert_eq!(offered[kind]["listChanged"], true, "{kind}: {init}");
    }
    client_write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .unwrap();
    // The session joins once initialized (a ping's answer says the
    // notification before it was handled); until then nobody is told.
    client_write
        .write_all(request(9, "ping").as_bytes())
        .await
        .unwrap();
    assert_eq!(next().await["id"], 9);
    assert_eq!(
        catalog.add_tool(Two).await.unwrap(),
        1,
        "the initialized session is told"
    );
    assert_eq!(next().await["method"], "notifications/tools/list_changed");
    client_write
        .write_all(request(2, "tools/list").as_bytes())
        .await
        .unwrap();
    let listed = next().await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["listed_first", "two"], "{listed}");

    assert_eq!(catalog.add_prompt(Greet).await, 1);
    assert_eq!(next().await["method"], "notifications/prompts/list_changed");
    assert_eq!(
        catalog
            .add_resource(Resource::text("memo://x", "x", "text/plain", "X"))
            .await,
        1
    );
    assert_eq!(
        next().await["method"],
        "notifications/resources/list_changed"
    );
    assert_eq!(catalog.remove_resource("memo://x").await, Some(1));
    assert_eq!(
        next().await["method"],
        "notifications/resources/list_changed"
    );
    assert_eq!(
        catalog.remove_resource("memo://x").await,
        None,
        "nothing to remove: nobody told"
    );
    assert_eq!(catalog.remove_tool("listed_first").await, Some(1));
    assert_eq!(next().await["method"], "notifications/tools/list_changed");

    for (id, method) in [(3, "tools/list"), (4, "prompts/list")] {
        client_write
            .write_all(request(id, method).as_bytes())
            .await
            .unwrap();
    }
    // Requests are answered concurrently: the two answers may come in
    // either order, so each is taken by its id.
    let (first, second) = (next().await, next().await);
    let (tools, prompts) = if first["id"] == 3 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(tools["id"], 3, "{tools}");
    assert_eq!(prompts["id"], 4, "{prompts}");
    assert_eq!(tools["result"]["tools"][0]["name"], "two", "{tools}");
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 1);
    assert_eq!(
        prompts["result"]["prompts"][0]["name"], "greet",
        "{prompts}"
    );
    assert_eq!(
        prompts["result"]["prompts"][0]["arguments"][0]["description"],
        "Who."
    );

    // The client hangs up: its session is forgotten, nobody is told.
    drop(client_write);
    drop(lines);
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("the server ends with its client")
        .unwrap()
        .unwrap();
    assert_eq!(catalog.add_prompt(Greet).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_client_sees_a_tool_added_while_it_is_connected() {
    let server = McpServer::new(typecall::tool::Toolbox::new().with(ListedFirst).unwrap());
    let catalog = server.catalog();
    let http = server
        .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let client = McpClient::connect_http(&http.url()).await.unwrap();
    assert_eq!(client.tools().await.unwrap().names(), ["listed_first"]);
    assert!(!client.tools_changed());
    assert_eq!(catalog.add_tool(Two).await.unwrap(), 1);
    for _ in 0..100 {
        if client.tools_changed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(client.tools_changed(), "the client was told");
    assert_eq!(
        client.tools().await.unwrap().names(),
        ["listed_first", "two"]
    );
}

/// Ends its response stream mid-call, then answers once the client is back.
#[typecall::tool]
async fn outlast_the_proxy() -> Result<String, String> {
    let client = typecall::mcp::CallingClient::current().ok_or("not over MCP")?;
    if client.close_stream(Duration::from_secs(20)).await {
        Ok("answered on the resumed stream".to_owned())
    } else {
        Err("the client did not come back".to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_stream_is_cut_is_answered_on_the_stream_the_client_resumes() {
    let server = McpServer::new(
        typecall::tool::Toolbox::new()
            .with(OutlastTheProxy)
            .unwrap(),
    )
    .serve_http(HttpOptions::new().addr("127.0.0.1:0".parse().unwrap()))
    .await
    .unwrap();
    // typecall's client (rmcp's transport) waits the announced `retry`
    // (3 s), then resumes with Last-Event-ID.
    let client = McpClient::connect_http(&server.url()).await.unwrap();
    let answer = client.call("outlast_the_proxy", json!({})).await.unwrap();
    assert!(
        answer
            .to_content()
            .contains("answered on the resumed stream"),
        "{answer:?}"
    );
    server.shutdown().await;
}
