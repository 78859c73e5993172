//! The Model Context Protocol's official conformance suite (npm
//! `@modelcontextprotocol/conformance`, pinned in `scripts/mcp-peers`) against
//! typecall, both ways, through `examples/mcp_conformance.rs` (public API
//! only): every server scenario against its server mode, every client
//! scenario with its client mode as the command. The suite prints each
//! scenario's result (shown here); `tests/fixtures/mcp/conformance-baseline.yml`
//! lists what typecall does not pass yet, and the suite fails the test both
//! on a scenario that fails unlisted and on a listed one that passes.
//!
//! Needs `TYPECALL_MCP_NODE` (Node >= 22) and `TYPECALL_MCP_CONFORMANCE`
//! (what `scripts/mcp-peers install` prints; `scripts/test` exports them);
//! skips, saying so, without them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one mode of the suite may take.
const SUITE_TIME_LIMIT: Duration = Duration::from_secs(300);

/// Node and the suite's entry script, if installed.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.exists())
    };
    match (var("TYPECALL_MCP_NODE"), var("TYPECALL_MCP_CONFORMANCE")) {
        (Some(node), Some(suite)) => Some((node, suite)),
        _ => {
            eprintln!(
                "SKIPPED: the MCP conformance suite is not installed (TYPECALL_MCP_NODE / \
                 TYPECALL_MCP_CONFORMANCE unset); scripts/mcp-peers install sets it up"
            );
            None
        }
    }
}

/// The example binary, built if needed.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples/mcp_conformance");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "typecall-examples",
                "--example",
                "mcp_conformance",
            ])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "building the mcp_conformance example failed"
        );
    }
    path
}

fn baseline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mcp/conformance-baseline.yml")
}

/// Kills the child when dropped (a failed assertion included).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the suite with `args`, within [`SUITE_TIME_LIMIT`]; prints what it
/// printed; returns whether it passed.
fn run_suite(node: &Path, suite: &Path, args: &[&str]) -> bool {
    let out_dir = std::env::temp_dir().join(format!(
        "typecall-conformance-{}-{}",
        std::process::id(),
        args.first().copied().unwrap_or_default()
    ));
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = node.parent() {
        // The suite starts node again by name for some scenarios.
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).unwrap();
    }
    let child = Command::new(node)
        .arg(suite)
        .args(args)
        .arg("--expected-failures")
        .arg(baseline())
        .arg("-o")
        .arg(&out_dir)
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > SUITE_TIME_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut printed = String::new();
    for stream in [
        running
            .0
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>),
        running
            .0
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut stream = stream;
        let _ = stream.read_to_string(&mut printed);
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    // The summary and the baseline's verdict (per-scenario details are in
    // the suite's output when a scenario goes wrong).
    let summary = printed
        .find("SUMMARY")
        .map_or(printed.as_str(), |at| &printed[at..]);
    println!("conformance {}:\n{summary}", args.join(" "));
    match status {
        Some(status) if status.success() => true,
        Some(status) => {
            eprintln!("the suite failed ({status}); all it printed:\n{printed}");
            false
        }
        None => {
            eprintln!("the suite took over {SUITE_TIME_LIMIT:?}; all it printed:\n{printed}");
            false
        }
    }
}

#[test]
fn the_server_passes_every_conformance_scenario_of_what_it_serves() {
    let Some((node, suite)) = suite() else { return };
    let child = Command::new(example())
        .args(["server", "--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    // Kept open to the end: the server may write more.
    let mut said = BufReader::new(server.0.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("MCP server listening at ")
        .unwrap_or_else(|| panic!("the example server said {line:?}"))
        .to_owned();
    assert!(
        run_suite(&node, &suite, &["server", "--url", &url, "--suite", "all"]),
        "the server scenarios regressed, or a baseline entry is stale (see above)"
    );
}

#[test]
fn the_client_passes_every_conformance_scenario_of_what_it_does() {
    let Some((node, suite)) = suite() else { return };
    let command = format!("{} client", example().display());
    assert!(
        run_suite(
            &node,
            &suite,
            &["client", "--command", &command, "--suite", "all"]
        ),
        "the client scenarios regressed, or a baseline entry is stale (see above)"
    );
}
