//! typecall tools served over MCP: `square_root`, `add`, `text_stats` (a
//! typed result: MCP clients get its `outputSchema` and `structuredContent`)
//! and `delete_note` (marked destructive).
//!
//! Over stdio (what MCP clients start as a command):
//!   `cargo run -p typecall-examples --example mcp_server`
//! Over streamable HTTP at `http://ADDR/mcp` (loopback only, `Origin` checked;
//! `--token T` requires `Authorization: Bearer T`):
//!   `cargo run -p typecall-examples --example mcp_server -- --http 127.0.0.1:8000`

use typecall::mcp::{HttpOptions, McpServer};
use typecall_examples::mcp_tools;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut http = None;
    let mut token = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--http" => {
                http = Some(
                    args.next()
                        .ok_or("--http needs an address, e.g. 127.0.0.1:8000")?,
                )
            }
            "--token" => token = Some(args.next().ok_or("--token needs a value")?),
            other => {
                return Err(
                    format!("unknown argument `{other}`: use --http ADDR [--token T]").into(),
                );
            }
        }
    }
    let server = McpServer::new(mcp_tools::toolbox())
        .name("typecall-example", env!("CARGO_PKG_VERSION"))
        .instructions("Tools of typecall's MCP example: arithmetic, text statistics, notes.");
    match http {
        None => server.serve_stdio().await?,
        Some(addr) => {
            let mut options = HttpOptions::new().addr(addr.parse()?);
            if let Some(token) = token {
                options = options.bearer_token(token);
            }
            let running = server.serve_http(options).await?;
            // Stdout is free here (not the protocol channel): say where it listens.
            println!("MCP server listening at {}", running.url());
            running.run().await;
        }
    }
    Ok(())
}
