//! Shared helpers for typecall's integration tests: where the recorded Cerebras
//! exchanges are, and how a test skips (saying so) when they are absent.

use std::path::{Path, PathBuf};

/// The recordings tree (`…/recordings`, holding `cerebras/`): `TYPECALL_RECORDINGS`
/// if set, else `../shared/recordings` beside the repository. `None` (after
/// printing that the caller skips) when absent.
pub fn recordings_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("TYPECALL_RECORDINGS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/recordings"),
    };
    if dir.join("cerebras").is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED {test}: no recordings at {} (set TYPECALL_RECORDINGS)",
            dir.display()
        );
        None
    }
}

/// Says, past the test harness's output capture, that a test skipped and why.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Every `*.json` file below `dir`, sorted, as paths.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads and parses a recording file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub mod anthropic;
pub mod gemini;
pub mod hostile;
pub mod replay;
pub mod responses;

/// The local llama.cpp server's model (`TYPECALL_LOCAL_BASE_URL`, started by
/// `scripts/local-model start`), or `None` after saying the test skipped.
pub fn local_model(test: &str) -> Option<typecall::provider::OpenAiCompatModel> {
    match std::env::var("TYPECALL_LOCAL_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(
            typecall::OpenAiCompat::new(url.trim())
                .timeout(std::time::Duration::from_secs(120))
                .model(std::env::var("TYPECALL_LOCAL_MODEL").unwrap_or_else(|_| "smollm2".into()))
                .with_capabilities(typecall::provider::Capabilities::llama_cpp()),
        ),
        _ => {
            skip(
                test,
                "TYPECALL_LOCAL_BASE_URL is not set (scripts/local-model start)",
            );
            None
        }
    }
}

/// Runs `check` on every recording under `root` except those under `skip`
/// (folders, relative to `root`): how many were checked, the failures (each
/// naming its file), and the answers by file name.
pub async fn replay_tree<F, Fut>(
    root: &Path,
    skip: &[&str],
    mut check: F,
) -> (
    usize,
    Vec<String>,
    std::collections::BTreeMap<String, typecall::chat::ChatResponse>,
)
where
    F: FnMut(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<Option<typecall::chat::ChatResponse>, String>>,
{
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut answers = std::collections::BTreeMap::new();
    for path in json_files(root) {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if skip.iter().any(|s| name.starts_with(s)) {
            continue;
        }
        checked += 1;
        match check(path).await {
            Ok(Some(resp)) => {
                answers.insert(name, resp);
            }
            Ok(None) => {}
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    (checked, failures, answers)
}

/// Asserts that every file [`replay_tree`] checked passed (naming each that
/// failed) and that it checked at least `at_least` (the whole tree, not a
/// folder found empty).
pub fn assert_tree_replayed(checked: usize, failures: &[String], at_least: usize) {
    assert!(
        failures.is_empty(),
        "{} of {checked} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked >= at_least,
        "expected the whole tree, found {checked} files"
    );
}

/// How many blocking answers read the same as their streamed twin (same
/// text), asserting that those agree on finish reason and model.
pub fn sync_stream_pairs(
    answers: &std::collections::BTreeMap<String, typecall::chat::ChatResponse>,
) -> usize {
    let mut pairs = 0;
    for (name, sync) in answers {
        if !name.contains("/GenSync") {
            continue;
        }
        let Some(streamed) = answers.get(&name.replace("/GenSync", "/GenStream")) else {
            continue;
        };
        if sync.content == streamed.content {
            pairs += 1;
            assert_eq!(sync.finish_reason, streamed.finish_reason, "{name}");
            assert_eq!(sync.model, streamed.model, "{name}");
        }
    }
    pairs
}

/// The answer of `model` to `request`: blocking, or streamed and collected.
///
/// # Errors
/// The model's error, or the stream's.
pub async fn answer(
    model: &dyn typecall::provider::Model,
    request: &typecall::chat::ChatRequest,
    stream: bool,
) -> typecall::Result<typecall::chat::ChatResponse> {
    if stream {
        typecall::provider::collect(model.stream(request).await?).await
    } else {
        model.chat(request).await
    }
}

/// Runs an agent, blocking or through its event stream, to its end.
pub async fn run_agent(
    agent: typecall::Agent,
    prompt: String,
    stream: bool,
) -> typecall::Result<typecall::agent::Run> {
    if !stream {
        return agent.run(prompt).await;
    }
    typecall::agent::collect(agent.run_stream(prompt).await?).await
}

/// Keeps the request bodies a client sends (an [`ExchangeObserver`](typecall::provider::ExchangeObserver)).
#[derive(Debug, Default)]
pub struct RequestLog(std::sync::Mutex<Vec<serde_json::Value>>);

impl RequestLog {
    /// The bodies so far.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl typecall::provider::ExchangeObserver for RequestLog {
    fn on_exchange(&self, e: typecall::provider::Exchange) {
        if let (Some(b), Ok(mut log)) = (e.request_body, self.0.lock()) {
            log.push(b);
        }
    }
}

/// The interactions of a recording file.
pub fn interactions(path: &Path) -> Vec<typecall::testing::Interaction> {
    serde_json::from_value(read_json(path)["interactions"].clone())
        .unwrap_or_else(|e| panic!("{} is not a recording: {e}", path.display()))
}

/// Calculates and return the square root of a number
#[typecall::tool]
pub fn square_root(number: f64) -> String {
    format!("{:.2}", number.sqrt())
}

/// For a recorded `<Mode>-Tools-SquareRoot-2.json`: its mode (`GenSync` or
/// `GenStream`), the first turn's file and the `tool_choice` it was sent
/// with — `-1.json` (required) when it was answered, else `-1-any.json`
/// (auto, the recording client's retry). `None` for other files.
pub fn square_root_turns(second: &Path) -> Option<(String, PathBuf, typecall::chat::ToolChoice)> {
    use typecall::chat::ToolChoice;
    let file = second.file_name()?.to_string_lossy().to_string();
    let mode = file.strip_suffix("-Tools-SquareRoot-2.json")?.to_owned();
    let dir = second.parent()?;
    let required = dir.join(format!("{mode}-Tools-SquareRoot-1.json"));
    let auto = dir.join(format!("{mode}-Tools-SquareRoot-1-any.json"));
    let answered = |p: &Path| {
        p.exists()
            && interactions(p)
                .last()
                .is_some_and(|i| i.response.status == 200)
    };
    // The choice the file name says (`required`, or `any`), unless the
    // recorded first turn says `"auto"` (Xiaomi's client sent that under
    // the first name).
    let sent_with = |p: &Path, named: ToolChoice| {
        let body = interactions(p).last()?.request.body.clone()?;
        Some(if body["tool_choice"] == "auto" {
            ToolChoice::Auto
        } else {
            named
        })
    };
    if answered(&required) {
        let choice = sent_with(&required, ToolChoice::Required)?;
        Some((mode, required, choice))
    } else if auto.exists() {
        let choice = sent_with(&auto, ToolChoice::Auto)?;
        Some((mode, auto, choice))
    } else {
        None
    }
}

/// Checks an agent run over a recorded SquareRoot conversation: two
/// requests were sent, the second means the recorded one (`same`), the one
/// tool call gave 363.89, and (when given) the answer is `text`.
pub fn check_square_root_run(
    result: typecall::Result<typecall::agent::Run>,
    sent: &[serde_json::Value],
    recorded: &serde_json::Value,
    same: impl Fn(&serde_json::Value, &serde_json::Value) -> bool,
    text: Option<&str>,
) -> Result<(), String> {
    let run = result.map_err(|e| e.to_string())?;
    if sent.len() != 2 || !same(&sent[1], recorded) {
        return Err(format!(
            "second request differs\n  sent:     {:?}\n  recorded: {recorded}",
            sent.get(1)
        ));
    }
    if text.is_some_and(|t| run.text() != t)
        || run.tool_calls().len() != 1
        || run.tool_calls()[0].result.as_deref() != Ok("363.89")
    {
        return Err(format!("run {run:?}"));
    }
    Ok(())
}

/// One recorded SquareRoot conversation (`…-Tools-SquareRoot-2.json` and
/// the first turn it continues), ready to run through an agent.
#[derive(Debug)]
pub struct SquareRootConversation {
    /// Serves the first turn's exchanges, then the recorded second one.
    pub replay: typecall::testing::Replay,
    /// The first turn's recording file.
    pub first_path: PathBuf,
    /// The first turn's recorded exchange.
    pub first: typecall::testing::Interaction,
    /// The second turn's recording file.
    pub second_path: PathBuf,
    /// The recorded second turn.
    pub second: typecall::testing::Interaction,
    /// The `tool_choice` the first turn was sent with.
    pub first_choice: typecall::chat::ToolChoice,
    /// Whether it was streamed (`GenStream`).
    pub stream: bool,
}

/// Walks `root` for recorded SquareRoot conversations and runs each through
/// the agent `build` makes (with the prompt to give it; its model must log
/// what it sends into the given [`RequestLog`]; `None` leaves the
/// conversation out, `build` saying why). Each run must pass
/// [`check_square_root_run`] against the recorded second request (`same`)
/// and the recorded answer text (`answer_text` of the second turn's body,
/// streamed or not). Panics listing every failure; returns how many ran.
pub async fn replay_square_root_conversations(
    root: &Path,
    build: impl Fn(
        &SquareRootConversation,
        std::sync::Arc<RequestLog>,
    ) -> Option<(typecall::Agent, String)>,
    same: impl Fn(&serde_json::Value, &serde_json::Value) -> bool + Copy,
    answer_text: impl Fn(&str, bool) -> Option<String>,
) -> usize {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in json_files(root) {
        let Some((mode, first_path, first_choice)) = square_root_turns(&path) else {
            continue;
        };
        let mut all = interactions(&first_path);
        let first = all.last().unwrap().clone();
        let second = interactions(&path).last().unwrap().clone();
        all.push(second.clone());
        let conversation = SquareRootConversation {
            replay: typecall::testing::Replay::from_interactions(all).unwrap(),
            first_path,
            first,
            second_path: path.clone(),
            second,
            first_choice,
            stream: mode == "GenStream",
        };
        let log = std::sync::Arc::new(RequestLog::default());
        let Some((agent, prompt)) = build(&conversation, log.clone()) else {
            continue;
        };
        let result = run_agent(agent, prompt, conversation.stream).await;
        let text = answer_text(&conversation.second.response.body, conversation.stream);
        let recorded = conversation.second.request.body.clone().unwrap();
        let label = path
            .strip_prefix(root.parent().unwrap_or(root))
            .unwrap()
            .display()
            .to_string();
        match check_square_root_run(result, &log.bodies(), &recorded, same, text.as_deref()) {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    checked
}

/// Compares what every provider's answer has — text, reasoning, tool calls
/// (name and parsed arguments) — with what was recorded.
pub fn compare_answer(
    resp: &typecall::chat::ChatResponse,
    text: &Option<String>,
    reasoning: &Option<String>,
    tool_calls: &[(String, serde_json::Value)],
) -> Result<(), String> {
    if resp.content != *text {
        return Err(format!("text {:?}, recorded {text:?}", resp.content));
    }
    if resp.reasoning != *reasoning {
        return Err(format!(
            "reasoning {:?}, recorded {reasoning:?}",
            resp.reasoning
        ));
    }
    let calls: Vec<(String, serde_json::Value)> = resp
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.parsed_arguments().unwrap_or_default()))
        .collect();
    if calls != tool_calls {
        return Err(format!("tool calls {calls:?}, recorded {tool_calls:?}"));
    }
    Ok(())
}

/// Runs an extraction to its value, blocking or through its event stream.
pub async fn extract_value<T>(
    extract: typecall::Extract<'_, T>,
    prompt: impl Into<typecall::output::Input>,
    stream: bool,
) -> typecall::Result<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
{
    use futures_util::StreamExt;
    if !stream {
        return extract.run(prompt).await.map(|x| x.value);
    }
    let mut s = extract.stream(prompt).await?;
    while let Some(ev) = s.next().await {
        if let typecall::output::ExtractEvent::Done(x) = ev? {
            return Ok(x.value);
        }
    }
    Err(typecall::Error::connection(
        "the extraction's stream ended without its value",
    ))
}

/// The answer of the recorded JSON scenarios (`{"is_fruit": …}`).
#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
pub struct Fruit {
    /// Whether the thing asked about is a fruit.
    pub is_fruit: bool,
}

/// How a recorded JSON scenario asked for its answer, from its file name:
/// `…-JSON.json` is JSON mode, `…-JSONSchema.json` a schema; `None` for
/// every other scenario.
pub fn json_scenario_mode(path: &Path) -> Option<typecall::output::OutputMode> {
    use typecall::output::OutputMode;
    let name = path.file_name()?.to_str()?;
    if name.ends_with("-JSONSchema.json") {
        Some(OutputMode::Native)
    } else if name.ends_with("-JSON.json") {
        Some(OutputMode::JsonMode)
    } else {
        None
    }
}

/// The rows of the first Markdown table in `text`, each cell by its column's
/// header (cells trimmed). Panics when there is no table.
pub fn markdown_table_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines().filter(|l| l.starts_with('|'));
    let header = lines.next().expect("the text has no Markdown table");
    let header: Vec<String> = header.split('|').map(|c| c.trim().to_owned()).collect();
    lines
        .skip(1)
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split('|').map(|c| c.trim().to_owned()))
                .collect()
        })
        .collect()
}

/// Runs every recorded JSON scenario under `root` (`…-JSON.json`,
/// `…-JSONSchema.json`) through `Extract` on the model `build` makes for
/// it (from its replay, its last request's body and URL), with the
/// conversation `messages` reads from the body: a scenario whose recorded
/// answer `answered` (holds the JSON) must decode to a fruit, one that did
/// not must fail. Returns how many passed and each failure.
pub async fn extract_recorded_json<M, B, R, A>(
    root: &Path,
    build: B,
    messages: R,
    answered: A,
) -> (usize, Vec<String>)
where
    M: typecall::provider::Model,
    B: Fn(&typecall::testing::Replay, &serde_json::Value, &str) -> M,
    R: Fn(&serde_json::Value) -> Vec<typecall::chat::Message>,
    A: Fn(&typecall::testing::Interaction, bool) -> bool,
{
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in json_files(root) {
        let Some(mode) = json_scenario_mode(&path) else {
            continue;
        };
        let all = interactions(&path);
        let Some(last) = all.last().cloned() else {
            continue;
        };
        let Some(body) = last.request.body.clone() else {
            continue;
        };
        let stream = body["stream"] == true;
        let answered = answered(&last, stream);
        let replay = typecall::testing::Replay::from_interactions(all).unwrap();
        let model = build(&replay, &body, &last.request.url);
        let extract = typecall::Extract::<Fruit>::new(&model)
            .mode(mode)
            .retries(0);
        let label = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        match (
            answered,
            extract_value(extract, messages(&body), stream).await,
        ) {
            (true, Ok(f)) if f.is_fruit => checked += 1,
            (false, Err(_)) => checked += 1,
            (a, r) => failures.push(format!("{label}: answered {a}, got {r:?}")),
        }
    }
    (checked, failures)
}
