//! A client whose HTTP client cannot be built says so at `build()`, with the
//! cause as its source, and keeps the settings given before a working
//! `reqwest` client is handed in. The test runs itself again as a child
//! process whose environment points the certificate store at nothing.

use std::error::Error as _;
use std::time::Duration;

use typecall::chat::{ChatRequest, Message};
use typecall::provider::{Limits, RetryPolicy};
use typecall::{ErrorKind, Model, OpenAiCompat};

const CHILD: &str = "TYPECALL_CLIENT_BUILD_CHILD";

#[test]
fn a_client_that_cannot_be_built_says_why_at_build() {
    if std::env::var_os(CHILD).is_some() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        return rt.block_on(without_certificates());
    }
    let out = std::process::Command::new(std::env::current_exe().expect("this test's path"))
        .args([
            "--exact",
            "a_client_that_cannot_be_built_says_why_at_build",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("SSL_CERT_FILE", "/nonexistent/typecall-no-certs.pem")
        .env("SSL_CERT_DIR", "/nonexistent/typecall-no-certs")
        .output()
        .expect("the test runs again as a child");
    assert!(
        out.status.success(),
        "the child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn without_certificates() {
    let e = OpenAiCompat::new("http://127.0.0.1:9/v1")
        .build()
        .expect_err("no certificate store: no TLS, no client");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.source().is_some(), "the cause is kept: {e}");
    assert!(e.to_string().contains("TLS"), "{e}");

    // The same error from the first request, not a panic or a hang.
    let model = OpenAiCompat::new("http://127.0.0.1:9/v1")
        .discovery(false)
        .model("m");
    let request = ChatRequest::new(vec![Message::user("hi")]);
    let e = model.chat(&request).await.expect_err("no client");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");

    // Settings given while there is no client apply to the one handed in.
    // (A user's client with its own roots: here none, for plain HTTP.)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let own = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("a client with its own roots");
    // A server that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/v1", silent.local_addr().expect("its address"));
    let model = OpenAiCompat::new(&url)
        .discovery(false)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(300))
        .limits(Limits::default())
        .http_client(own)
        .build()
        .expect("a client handed in")
        .model("m");
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(20), model.chat(&request)).await;
    let e = answer
        .expect("the 300 ms timeout set before the client applies (not the default 120 s)")
        .expect_err("no answer");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}
