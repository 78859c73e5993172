//! Durable agents on a real Restate server (`scripts/restate start`; skipped,
//! saying so, without `TYPECALL_RESTATE_INGRESS` / `TYPECALL_RESTATE_ADMIN`):
//! the refund agent of `examples/durable_agent.rs` in worker processes (this
//! test binary, started again as a worker), its model a replay server in this
//! process. Workers are killed with SIGKILL while a refund runs and while a
//! refund waits for approval; the run completes with the refund made once
//! (the ledger on disk) and the model asked once per turn. Fifty runs go over
//! two workers at once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use typecall::durable::{DurableAgent, IdempotencyKey};
use typecall::testing::{Interaction, RecordedRequest, RecordedResponse, Replay};
use typecall_examples::refunds::{Ledger, PROMPT};

const MODEL: &str = "refund-model";
const LOOKUP: &str = r#"{"order_id":"42","total_cents":1999}"#;
const REFUNDED: &str = r#"{"order_id":"42","refunded_cents":1999}"#;
const ANSWER: &str = "Refunded 19.99 on order 42.";
const DENIED_ANSWER: &str = "I could not refund order 42: it was not approved.";
const TIMED_OUT_ANSWER: &str = "No one approved the refund of order 42 in time.";
/// The approval timeout of the worker that times out (its message says seconds).
const APPROVAL_TIMEOUT_MS: &str = "1000";

/// When set, this process is a worker: it serves the refund agent there.
const WORKER_ENV: &str = "TYPECALL_DURABLE_WORKER_ADDR";

/// The worker's entry: a test that serves forever when this process was
/// started as a worker, and does nothing otherwise.
#[test]
fn durable_worker() {
    let Ok(addr) = std::env::var(WORKER_ENV) else {
        return;
    };
    let model_url = std::env::var("TYPECALL_DURABLE_MODEL_URL").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        use typecall::durable::restate_sdk::prelude::{Endpoint, HttpServer};
        let model = typecall::OpenAiCompat::new(model_url)
            .discovery(false)
            .retry(typecall::provider::RetryPolicy::none())
            .model(MODEL);
        let model = std::sync::Arc::new(model);
        let mut agent = typecall_examples::refunds::agent(model);
        if let Some(n) = std::env::var("TYPECALL_DURABLE_MAX_TOKENS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            agent = agent.max_tokens(n);
        }
        let mut durable = DurableAgent::new(agent);
        if std::env::var_os("TYPECALL_DURABLE_NO_APPROVAL").is_none() {
            durable = durable.needs_approval("refund");
        }
        if let Some(ms) = std::env::var("TYPECALL_DURABLE_APPROVAL_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            durable = durable.approval_timeout(Duration::from_millis(ms));
        }
        HttpServer::new(Endpoint::builder().bind(durable).build())
            .listen_and_serve(addr.parse().unwrap())
            .await;
    });
}

fn chat_answer(message: Value, finish: &str) -> RecordedResponse {
    RecordedResponse {
        status: 200,
        headers: [(
            "content-type".to_owned(),
            vec!["application/json".to_owned()],
        )]
        .into_iter()
        .collect(),
        body: json!({
            "id": "r", "object": "chat.completion", "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })
        .to_string(),
    }
}

fn turn(tool_results: &[&str], answer: RecordedResponse) -> Interaction {
    let mut messages = vec![json!({"role": "user", "content": PROMPT})];
    messages.extend(
        tool_results
            .iter()
            .map(|r| json!({"role": "tool", "content": r})),
    );
    Interaction {
        request: RecordedRequest {
            method: "POST".into(),
            url: "http://model/v1/chat/completions".into(),
            body: Some(json!({
                "model": MODEL,
                "messages": messages,
                "tools": [
                    {"type": "function", "function": {"name": "lookup_order"}},
                    {"type": "function", "function": {"name": "refund"}}
                ]
            })),
        },
        response: answer,
    }
}

/// The model: it looks the order up and refunds it in one turn, then says
/// what happened (refunded, or denied).
fn model_server() -> Replay {
    let call = |id: &str, name: &str, args: Value| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}});
    let denied = typecall::tool::ToolError::Denied {
        tool: "refund".into(),
        message: "not today".into(),
    }
    .to_string();
    let timed_out = typecall::tool::ToolError::Denied {
        tool: "refund".into(),
        message: "no one approved this call within 1 s".into(),
    }
    .to_string();
    Replay::from_interactions(vec![
        turn(
            &[],
            chat_answer(
                json!({"role": "assistant", "content": null, "tool_calls": [
                    call("call_lookup", "lookup_order", json!({"order_id": "42"})),
                    call("call_refund", "refund", json!({"order_id": "42", "amount_cents": 1999}))
                ]}),
                "tool_calls",
            ),
        ),
        turn(
            &[LOOKUP, REFUNDED],
            chat_answer(json!({"role": "assistant", "content": ANSWER}), "stop"),
        ),
        turn(
            &[LOOKUP, &timed_out],
            chat_answer(
                json!({"role": "assistant", "content": TIMED_OUT_ANSWER}),
                "stop",
            ),
        ),
        turn(
            &[LOOKUP, &denied],
            chat_answer(
                json!({"role": "assistant", "content": DENIED_ANSWER}),
                "stop",
            ),
        ),
    ])
    .unwrap()
}

struct Restate {
    ingress: String,
    admin: String,
    http: reqwest::Client,
}

fn restate() -> Option<Restate> {
    match (
        std::env::var("TYPECALL_RESTATE_INGRESS"),
        std::env::var("TYPECALL_RESTATE_ADMIN"),
    ) {
        (Ok(ingress), Ok(admin)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(Restate {
                ingress,
                admin,
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap(),
            })
        }
        _ => {
            typecall_tests::skip(
                "durable agents on Restate",
                "TYPECALL_RESTATE_INGRESS / TYPECALL_RESTATE_ADMIN are not set (scripts/restate start)",
            );
            None
        }
    }
}

impl Restate {
    async fn post(&self, url: String, body: Value) -> Value {
        let request = self.http.post(&url).header("accept", "application/json");
        let request = match body {
            Value::Null => request,
            body => request.json(&body),
        };
        let r = request.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn register(&self, worker: &Worker) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .http
                .post(format!("{}/deployments", self.admin))
                .json(&json!({"uri": worker.url(), "force": true}))
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => return,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(r) => panic!("registering {}: {}", worker.url(), r.text().await.unwrap()),
                Err(e) => panic!("registering {}: {e}", worker.url()),
            }
        }
    }

    /// Starts `run`; its invocation's id.
    async fn start(&self, run: &str) -> String {
        let v = self
            .post(
                format!("{}/Agent/{run}/run/send", self.ingress),
                json!({"input": PROMPT}),
            )
            .await;
        v["invocationId"].as_str().unwrap_or_default().to_owned()
    }

    /// Cancels an invocation (Restate's admin API).
    async fn cancel(&self, invocation: &str) {
        let url = format!("{}/invocations/{invocation}/cancel", self.admin);
        let r = self.http.patch(&url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
    }

    /// The run's end as Restate gives it: its HTTP status and body.
    async fn end(&self, run: &str) -> (u16, String) {
        let url = format!("{}/restate/workflow/Agent/{run}/attach", self.ingress);
        let r = self.http.get(&url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The calls of `run` waiting for approval, once there are some.
    async fn pending(&self, run: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self
                .post(format!("{}/Agent/{run}/pending", self.ingress), json!(null))
                .await;
            if let Some(list) = v.as_array().filter(|l| !l.is_empty()) {
                return list.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{run}: nothing waits for approval"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn approve(&self, run: &str, call_id: &str, approved: bool) {
        self.post(
            format!("{}/Agent/{run}/approve", self.ingress),
            json!({"call_id": call_id, "approved": approved, "reason": "not today"}),
        )
        .await;
    }

    /// The calls of `run` waiting for approval now (none, too).
    async fn pending_now(&self, run: &str) -> Vec<Value> {
        let v = self
            .post(format!("{}/Agent/{run}/pending", self.ingress), json!(null))
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Decides the first call of `run` waiting for approval, and waits for
    /// the run's outcome.
    async fn decide(&self, run: &str, approved: bool) -> Value {
        let pending = self.pending(run).await;
        let call = pending[0]["call_id"].as_str().unwrap_or_default();
        self.approve(run, call, approved).await;
        self.outcome(run).await
    }

    /// The run's outcome, once it is over.
    async fn outcome(&self, run: &str) -> Value {
        let url = format!("{}/restate/workflow/Agent/{run}/attach", self.ingress);
        let r = self.http.get(&url).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{run}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }
}

/// A worker process serving the refund agent.
struct Worker {
    port: u16,
    child: Child,
}

impl Worker {
    fn start(port: u16, model: &Replay, ledger: &Path, latency_ms: u64) -> Self {
        Self::start_with(port, model, ledger, latency_ms, true)
    }

    fn start_with(
        port: u16,
        model: &Replay,
        ledger: &Path,
        latency_ms: u64,
        approvals: bool,
    ) -> Self {
        Self::start_at(port, &model.url(), ledger, latency_ms, approvals, &[])
    }

    /// A worker whose model is at `model_url`, with more `env`.
    fn start_at(
        port: u16,
        model_url: &str,
        ledger: &Path,
        latency_ms: u64,
        approvals: bool,
        env: &[(&str, &str)],
    ) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        if !approvals {
            command.env("TYPECALL_DURABLE_NO_APPROVAL", "1");
        }
        command.envs(env.iter().copied());
        let child = command
            .args([
                "--exact",
                "durable_worker",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_ENV, format!("127.0.0.1:{port}"))
            .env("TYPECALL_DURABLE_MODEL_URL", model_url)
            .env("REFUND_LEDGER", ledger)
            .env("REFUND_API_LATENCY_MS", latency_ms.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the worker on {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy to the model at `upstream` (a base URL) whose answers wait
/// `delay` on each new connection (the request goes through at once): a
/// model answer on its way. Its URL, and how many connections it took.
async fn slow_proxy(
    upstream: &str,
    delay: Duration,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let upstream = upstream
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = taken.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(model) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_in, mut client_out) = client.into_split();
                let (mut model_in, mut model_out) = model.into_split();
                let ask = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_in, &mut model_out).await;
                });
                tokio::time::sleep(delay).await;
                let _ = tokio::io::copy(&mut model_in, &mut client_out).await;
                ask.abort();
            });
        }
    });
    (format!("http://{addr}/v1"), taken)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ledger_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typecall-durable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.tsv"));
    let _ = std::fs::remove_file(&path);
    path
}

fn refunds(path: &Path) -> Vec<(String, String, u64)> {
    Ledger {
        path: path.to_owned(),
        latency: Duration::ZERO,
    }
    .refunds()
}

fn text_of(run: &Value) -> String {
    run["final_text"].as_str().unwrap_or_default().to_owned()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_killed_workers_refund_once_and_scale_over_two() {
    if std::env::var(WORKER_ENV).is_ok() {
        return;
    }
    let Some(restate) = restate() else {
        return;
    };
    let model = model_server();
    let id = std::process::id();

    // 1. Killed while the refund runs (recorded, not yet confirmed).
    let ledger = ledger_path("crash-in-tool");
    let port = free_port();
    let worker = Worker::start(port, &model, &ledger, 5_000);
    restate.register(&worker).await;
    let run = format!("crash-in-tool-{id}");
    restate.start(&run).await;
    let pending = restate.pending(&run).await;
    assert_eq!(pending[0]["tool"], "refund", "{pending:?}");
    restate
        .approve(&run, pending[0]["call_id"].as_str().unwrap(), true)
        .await;
    wait_for("the refund to be recorded", || refunds(&ledger).len() == 1).await;
    worker.kill();
    let served_before_restart = model.served();
    let restarted = Instant::now();
    let _worker = Worker::start(port, &model, &ledger, 0);
    let outcome = restate.outcome(&run).await;
    eprintln!(
        "durable: from the worker's restart to the run's end: {} ms",
        restarted.elapsed().as_millis()
    );
    assert_eq!(text_of(&outcome), ANSWER, "{outcome}");
    let made = refunds(&ledger);
    assert_eq!(made.len(), 1, "the refund is made once: {made:?}");
    assert!(made[0].0.starts_with(&run), "keyed by the run: {made:?}");
    assert_eq!(
        (served_before_restart, model.served()),
        (1, 2),
        "the model is asked once per turn, never again for turn 1"
    );
    drop(_worker);

    // 2. Killed between two tool calls (the lookup done, the refund waiting
    //    for approval); approved after the restart, from another process
    //    (this one).
    let ledger = ledger_path("crash-in-approval");
    let port = free_port();
    let worker = Worker::start(port, &model, &ledger, 0);
    restate.register(&worker).await;
    let run = format!("crash-in-approval-{id}");
    restate.start(&run).await;
    let pending = restate.pending(&run).await;
    worker.kill();
    let _worker = Worker::start(port, &model, &ledger, 0);
    restate
        .approve(&run, pending[0]["call_id"].as_str().unwrap(), true)
        .await;
    let outcome = restate.outcome(&run).await;
    assert_eq!(text_of(&outcome), ANSWER, "{outcome}");
    assert_eq!(refunds(&ledger).len(), 1);

    // 3. Denied: no refund, and the model is told why.
    let run = format!("denied-{id}");
    restate.start(&run).await;
    let outcome = restate.decide(&run, false).await;
    assert_eq!(text_of(&outcome), DENIED_ANSWER, "{outcome}");
    assert_eq!(refunds(&ledger).len(), 1, "nothing refunded when denied");
    drop(_worker);

    // 4. Killed while the model's first answer is on its way: that turn is
    //    asked again (its answer never reached the journal), no other.
    let ledger = ledger_path("crash-in-model-call");
    let (proxy, _) = slow_proxy(&model.url(), Duration::from_secs(2)).await;
    let port = free_port();
    let worker = Worker::start_at(port, &proxy, &ledger, 0, true, &[]);
    restate.register(&worker).await;
    let run = format!("crash-in-model-call-{id}");
    let served = model.served();
    restate.start(&run).await;
    wait_for("the model to be asked", || model.served() == served + 1).await;
    worker.kill();
    let _worker = Worker::start_at(port, &proxy, &ledger, 0, true, &[]);
    let outcome = restate.decide(&run, true).await;
    assert_eq!(text_of(&outcome), ANSWER, "{outcome}");
    assert_eq!(refunds(&ledger).len(), 1);
    assert_eq!(
        model.served() - served,
        3,
        "turn 1 asked again after the crash, turn 2 once"
    );
    drop(_worker);

    // 5. No one approves in time: the call is denied, the model told so.
    let ledger = ledger_path("approval-timeout");
    let worker = Worker::start_at(
        free_port(),
        &model.url(),
        &ledger,
        0,
        true,
        &[("TYPECALL_DURABLE_APPROVAL_TIMEOUT_MS", APPROVAL_TIMEOUT_MS)],
    );
    restate.register(&worker).await;
    let run = format!("approval-timeout-{id}");
    restate.start(&run).await;
    let outcome = restate.outcome(&run).await;
    assert_eq!(text_of(&outcome), TIMED_OUT_ANSWER, "{outcome}");
    assert!(refunds(&ledger).is_empty());
    drop(worker);

    // 6. Cancelled while it waits for approval: it ends, nothing refunded,
    //    and the approval that comes later changes nothing.
    let ledger = ledger_path("cancelled");
    let worker = Worker::start(free_port(), &model, &ledger, 0);
    restate.register(&worker).await;
    let run = format!("cancelled-{id}");
    let invocation = restate.start(&run).await;
    let pending = restate.pending(&run).await;
    restate.cancel(&invocation).await;
    let (status, body) = restate.end(&run).await;
    assert!(
        status >= 400 && body.to_lowercase().contains("cancel"),
        "{status} {body}"
    );
    let late = restate
        .http
        .post(format!("{}/Agent/{run}/approve", restate.ingress))
        .json(&json!({"call_id": pending[0]["call_id"], "approved": true}))
        .send()
        .await
        .unwrap();
    drop(late);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        refunds(&ledger).is_empty(),
        "a cancelled run refunds nothing"
    );
    drop(worker);

    // 7. Fifty runs over two workers at once.
    fifty_runs_over_two_workers(&restate, &model).await;

    // 8. What journaling costs: the same runs with and without Restate.
    journaling_overhead(&restate, &model).await;

    // 9. A real model: the local one, killed while it writes its answer.
    on_the_local_model(&restate).await;
}

/// A run on the local llama.cpp model (`TYPECALL_LOCAL_BASE_URL`) whose
/// worker is killed while the model is at work: the run ends after the
/// restart (every refund it asks for approved), with at most one refund.
async fn on_the_local_model(restate: &Restate) {
    let Ok(url) = std::env::var("TYPECALL_LOCAL_BASE_URL") else {
        typecall_tests::skip(
            "a durable run on the local model",
            "TYPECALL_LOCAL_BASE_URL is not set (scripts/local-model start)",
        );
        return;
    };
    let ledger = ledger_path("local-model");
    let port = free_port();
    let env = [("TYPECALL_DURABLE_MAX_TOKENS", "96")];
    // The first answer is held back long enough to kill the worker while
    // the model writes it.
    let (proxy, asked) = slow_proxy(url.trim(), Duration::from_secs(3)).await;
    let worker = Worker::start_at(port, &proxy, &ledger, 0, true, &env);
    restate.register(&worker).await;
    let run = format!("local-model-{}", std::process::id());
    restate.start(&run).await;
    wait_for("the local model to be asked", || {
        asked.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    worker.kill();
    let _worker = Worker::start_at(port, url.trim(), &ledger, 0, true, &env);
    let end = restate.end(&run);
    tokio::pin!(end);
    let deadline = Instant::now() + Duration::from_secs(300);
    let (status, body) = loop {
        tokio::select! {
            ended = &mut end => break ended,
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                for p in restate.pending_now(&run).await {
                    restate.approve(&run, p["call_id"].as_str().unwrap_or_default(), true).await;
                }
                assert!(Instant::now() < deadline, "the run on the local model did not end");
            }
        }
    };
    // It ended: with an answer, or with the agent's own stop (a small
    // model may loop: a terminal failure), never stuck.
    let text = serde_json::from_str::<Value>(&body)
        .map(|run| text_of(&run))
        .unwrap_or(body.clone());
    eprintln!("durable: the local model's run ended after the kill: {status} {text:.80}");
    assert!(matches!(status, 200 | 500), "{status} {body}");
    assert!(refunds(&ledger).len() <= 1, "at most one refund");
}

/// The same run (two model calls, two tool calls, no approval) 20 times in
/// this process, then 20 times through Restate: the difference per step.
async fn journaling_overhead(restate: &Restate, model: &Replay) {
    const RUNS: u32 = 20;
    let ledger = ledger_path("overhead");
    let direct = typecall_examples::refunds::agent(std::sync::Arc::new(
        typecall::OpenAiCompat::new(model.url())
            .discovery(false)
            .model(MODEL),
    ))
    .context(IdempotencyKey("direct".into()))
    .context(Ledger {
        path: ledger.clone(),
        latency: Duration::ZERO,
    });
    let t0 = Instant::now();
    for _ in 0..RUNS {
        let run = direct.run(PROMPT).await.unwrap();
        assert_eq!(run.final_text.as_deref(), Some(ANSWER));
    }
    let alone = t0.elapsed() / RUNS;
    let worker = Worker::start_with(free_port(), model, &ledger, 0, false);
    restate.register(&worker).await;
    let id = std::process::id();
    let t0 = Instant::now();
    for i in 0..RUNS {
        let run = restate
            .post(
                format!("{}/Agent/overhead-{id}-{i}/run", restate.ingress),
                json!({"input": PROMPT}),
            )
            .await;
        assert_eq!(text_of(&run), ANSWER, "{run}");
    }
    let durable = t0.elapsed() / RUNS;
    let per_step = durable.saturating_sub(alone) / 4;
    eprintln!(
        "durable: a run of 2 model calls and 2 tool calls takes {} µs alone, {} µs on Restate: {} µs per journaled step",
        alone.as_micros(),
        durable.as_micros(),
        per_step.as_micros()
    );
}

/// Fifty runs at once, half started on one worker and half on another: all
/// complete, each with its one refund.
async fn fifty_runs_over_two_workers(restate: &Restate, model: &Replay) {
    let ledger = ledger_path("fleet");
    let id = std::process::id();
    let runs: Vec<String> = (0..50).map(|i| format!("fleet-{id}-{i}")).collect();
    // Half the runs start on the first worker; the second worker's
    // registration sends the rest to it, while the first keeps its own.
    let first = Worker::start(free_port(), model, &ledger, 0);
    restate.register(&first).await;
    for run in &runs[..25] {
        restate.start(run).await;
    }
    let second = Worker::start(free_port(), model, &ledger, 0);
    restate.register(&second).await;
    for run in &runs[25..] {
        restate.start(run).await;
    }
    let approvals = runs.iter().map(|run| restate.decide(run, true));
    let outcomes = futures_util::future::join_all(approvals).await;
    for (run, outcome) in runs.iter().zip(&outcomes) {
        assert_eq!(text_of(outcome), ANSWER, "{run}: {outcome}");
    }
    let made = refunds(&ledger);
    assert_eq!(made.len(), 50, "one refund per run");
    // Both workers ran some: each run is pinned to the deployment it began on.
    let rows = restate
        .post(
            format!("{}/query", restate.admin),
            json!({"query": format!(
                "SELECT pinned_deployment_id AS d, count(*) AS n FROM sys_invocation \
                 WHERE target_service_key LIKE 'fleet-{id}-%' AND target_handler_name = 'run' \
                 GROUP BY pinned_deployment_id"
            )}),
        )
        .await;
    let per_worker: Vec<u64> = rows["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["n"].as_u64())
        .collect();
    assert!(
        per_worker.len() == 2 && per_worker.iter().all(|n| *n >= 10),
        "runs per worker: {rows}"
    );
    drop((first, second));
}
