//! An agent using the tools of an MCP server it starts as a child process:
//!
//!   `cargo run -p typecall-examples --example mcp_agent -- COMMAND [ARGS…]`
//!
//! e.g. with typecall's own example server:
//!   `cargo run -p typecall-examples --example mcp_agent -- target/debug/examples/mcp_server`
//!
//! The model is the one the other examples use: Cerebras when
//! `CEREBRAS_API_KEY` is set, else the local model at `TYPECALL_LOCAL_BASE_URL`
//! (`scripts/local-model start qwen` prints it). The question can be set with
//! `TYPECALL_MCP_QUESTION`.

use typecall::mcp::McpClient;
use typecall_examples::pick_model;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut argv = std::env::args().skip(1);
    let program = argv
        .next()
        .ok_or("usage: mcp_agent COMMAND [ARGS…] (an MCP server speaking on stdio)")?;
    let mut command = tokio::process::Command::new(&program);
    command.args(argv);

    let client = McpClient::spawn(command).await?;
    if let Some((name, version)) = client.server_name() {
        println!("MCP server: {name} {version}");
    }
    let tools = client.tools().await?;
    println!("tools: {}", tools.names().join(", "));
    for refused in tools.refused() {
        println!("left out: {} ({})", refused.name, refused.error);
    }

    let (model, label) = pick_model()?;
    println!("model: {label}");
    let question = std::env::var("TYPECALL_MCP_QUESTION")
        .unwrap_or_else(|_| "What is the square root of 2? Use the tool.".to_owned());
    println!("user: {question}");
    let agent = typecall_examples::mcp_tools::agent(model, tools);
    let run = agent.run(&question).await?;
    for call in run.tool_calls() {
        println!(
            "  {}({}) → {:?}",
            call.call.name, call.call.arguments, call.result
        );
    }
    println!("assistant: {}", run.text());
    Ok(())
}
