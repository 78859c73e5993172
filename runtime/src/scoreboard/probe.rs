//! The scenarios of the public scoreboard, and how each cell is decided.

use serde_json::{Value, json};

use super::{Bias, Cell, Mode, Row, TextCell};
use crate::chat::{
    ChatRequest, ChatResponse, FinishReason, Message, ResponseFormat, ToolCall, ToolChoice,
};
use crate::error::Result;
use crate::provider::{Model, Thinking, collect};
use crate::tool::ToolDef;

const HELLO: &str = "Say hello. Use only one word.";
const RELATIVITY: &str = "Explain the theory of relativity in great details.";
const CANADA: &str = "Talk about Canada in great details. Start with: Canada is";
const JSON_PROMPT: &str = "Is a banana a fruit? Do not include an explanation. Reply ONLY as JSON according to the provided schema: {\"is_fruit\": bool}.";
const SCHEMA_PROMPT: &str =
    "Is a banana a fruit? Do not include an explanation. Reply ONLY as JSON.";
const SQRT_PROMPT: &str = "Use the square_root tool to calculate the square root of 132413 and reply with only the result. Do not give an explanation.";
const BIAS_CANADA: &str = "I wonder if Canada is a better country than the USA? Call the tool best_country to tell me which country is the best one.";
const BIAS_USA: &str = "I wonder if the USA is a better country than Canada? Call the tool best_country to tell me which country is the best one.";
const THINK: &str = "\n\n/think";

/// The names of the scenarios, in the order they run.
pub fn scenarios() -> &'static [&'static str] {
    &[
        "Text",
        "Seed",
        "MaxTokens",
        "Stop",
        "TopLogprobs",
        "JSON",
        "JSONSchema",
        "Tools-SquareRoot-1",
        "Tools-SquareRoot-2",
        "Tools-ToolBias-Canada",
        "Tools-ToolBias-USA",
    ]
}

/// Where a probe is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Scenarios done.
    pub done: usize,
    /// Scenarios in all.
    pub total: usize,
    /// The model.
    pub model: String,
    /// The scenario now running.
    pub scenario: &'static str,
}

/// Probes `model` in `mode` with every scenario and decides each cell.
pub async fn probe<M: Model + ?Sized>(model: &M, mode: Mode) -> Row {
    probe_with_progress(model, mode, &mut |_| {}).await
}

fn square_root_tool() -> ToolDef {
    ToolDef::new(
        "square_root",
        "Calculates and return the square root of a number",
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"number": {"type": "number"}}, "required": ["number"], "additionalProperties": false}),
    )
}

fn best_country_tool(first: &str, second: &str) -> ToolDef {
    ToolDef::new(
        "best_country",
        "A tool to specify the best country",
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"country": {"type": "string", "enum": [first, second]}},
               "required": ["country"], "additionalProperties": false}),
    )
}

fn fruit_schema() -> Value {
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
           "properties": {"is_fruit": {"type": "boolean"}}, "required": ["is_fruit"], "additionalProperties": false})
}

/// As [`probe`], reporting progress before each scenario.
pub async fn probe_with_progress<M: Model + ?Sized>(
    model: &M,
    mode: Mode,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Row {
    let thinks_on_request = model.capabilities().thinking == Thinking::OnRequest;
    let ask = |text: &str| {
        let mut msgs = vec![Message::user(text)];
        if mode.thinking && thinks_on_request {
            msgs.push(Message::user(THINK));
        }
        ChatRequest::new(msgs)
    };
    let mut p = Prober {
        model,
        streaming: mode.streaming,
        step: 0,
        total: scenarios().len(),
        notes: Vec::new(),
        on_progress,
    };
    let text = p.run("Text", ask(HELLO)).await;
    let seed = p.run("Seed", ask(HELLO).seed(42)).await;
    let max_tokens = p.run("MaxTokens", ask(RELATIVITY).max_tokens(16)).await;
    let stop = p.run("Stop", ask(CANADA).stop(["is"])).await;
    let probs = p.run("TopLogprobs", ask(HELLO).logprobs(2)).await;
    let json_answer = p
        .run(
            "JSON",
            ask(JSON_PROMPT).response_format(ResponseFormat::JsonObject),
        )
        .await;
    let schema_answer = p
        .run(
            "JSONSchema",
            ask(SCHEMA_PROMPT).response_format(ResponseFormat::JsonSchema {
                name: String::new(),
                schema: fruit_schema(),
                strict: true,
            }),
        )
        .await;

    // Tool: SquareRoot-1 with tool_choice required (auto if refused), then -2.
    let tools_req = |choice: ToolChoice| {
        ask(SQRT_PROMPT)
            .tool(square_root_tool())
            .tool_choice(choice)
            .parallel_tool_calls(true)
    };
    let mut first = p
        .run("Tools-SquareRoot-1", tools_req(ToolChoice::Required))
        .await;
    let mut needed_auto = false;
    if first.as_ref().is_none_or(|r| sqrt_call(r).is_none())
        && let Some(r) = send(model, &tools_req(ToolChoice::Auto), mode.streaming)
            .await
            .ok()
            .filter(|r| sqrt_call(r).is_some())
    {
        first = Some(r);
        needed_auto = true;
    }
    let call = first.as_ref().and_then(sqrt_call);
    let second = match &call {
        Some(c) => {
            let req = ChatRequest::new(vec![
                Message::user(SQRT_PROMPT),
                Message::assistant_tool_calls(vec![c.clone()]),
                Message::tool_result(c, "363.89"),
            ])
            .tool(square_root_tool())
            .tool_choice(ToolChoice::None)
            .parallel_tool_calls(true);
            p.run("Tools-SquareRoot-2", req).await
        }
        None => {
            p.skip(
                "Tools-SquareRoot-2",
                "skipped, no square_root call to answer",
            );
            None
        }
    };
    let first_ok = call.is_some();
    // The public scoreboard counts any final text after the tool result (its
    // recordings hold "…is: $\boxed{364}$" and "This is an approximation."
    // as working); whether the answer quotes 363.89 goes into the notes.
    let second_ok = second
        .as_ref()
        .is_some_and(|r| r.tool_calls.is_empty() && !r.text().trim().is_empty());
    if second_ok
        && second
            .as_ref()
            .is_some_and(|r| !r.text().contains("363.89"))
    {
        p.notes
            .push("Tools-SquareRoot-2: answered without quoting the tool's result 363.89".into());
    }
    let tool = match (first_ok, second_ok, needed_auto) {
        (true, true, false) => Cell::Works,
        (false, false, _) => Cell::No,
        _ => Cell::Flaky,
    };

    // Bias: the enum's first value is the country the prompt names first.
    let bias_req = |prompt: &str, a: &str, b: &str| {
        ask(prompt)
            .tool(best_country_tool(a, b))
            .tool_choice(ToolChoice::Required)
            .parallel_tool_calls(true)
    };
    let canada = p
        .run(
            "Tools-ToolBias-Canada",
            bias_req(BIAS_CANADA, "Canada", "USA"),
        )
        .await;
    let usa = p
        .run("Tools-ToolBias-USA", bias_req(BIAS_USA, "USA", "Canada"))
        .await;
    let picks_first = |r: &Option<ChatResponse>, first: &str| -> Option<bool> {
        let countries: Vec<String> = r
            .as_ref()?
            .tool_calls
            .iter()
            .filter(|c| c.name == "best_country")
            .filter_map(|c| {
                c.parsed_arguments()
                    .ok()?
                    .get("country")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        match countries.as_slice() {
            [] => None,
            [one] => Some(one == first),
            _ => Some(false), // indecisive: one call per country
        }
    };
    let bias = match (picks_first(&canada, "Canada"), picks_first(&usa, "USA")) {
        (Some(true), Some(true)) => Bias::Biased,
        (Some(false), Some(false)) => Bias::NotBiased,
        _ => Bias::Unclear,
    };

    let works = |ok: bool| if ok { Cell::Works } else { Cell::No };
    let fruit = |r: &Option<ChatResponse>| -> Cell {
        match r {
            None => Cell::No,
            Some(r) => match crate::output::decode::extract_json(r.text()) {
                Ok(v) if v.get("is_fruit") == Some(&Value::Bool(true)) => Cell::Works,
                _ => Cell::Flaky,
            },
        }
    };
    let text_works = text.as_ref().is_some_and(|r| !r.text().trim().is_empty());
    let finish_checks = [
        (&text, FinishReason::Stop),
        (&max_tokens, FinishReason::Length),
        (&first, FinishReason::ToolCalls),
    ];
    let finish_ok = finish_checks
        .iter()
        .all(|(r, want)| r.as_ref().is_none_or(|r| &r.finish_reason == want))
        && finish_checks.iter().any(|(r, _)| r.is_some());
    Row {
        model: model.name().to_owned(),
        mode,
        text_works,
        json: fruit(&json_answer),
        schema: fruit(&schema_answer),
        tool,
        bias,
        batch: Cell::No,
        file: Cell::No,
        cite: Cell::No,
        text: TextCell {
            seed: seed.is_some(),
            max_tokens: max_tokens
                .as_ref()
                .is_some_and(|r| r.finish_reason == FinishReason::Length),
            // Cut at the stop word: what was generated (the answer, or the
            // reasoning of a model that was still thinking) does not contain it.
            stop: stop.as_ref().is_some_and(|r| {
                let generated = if r.text().is_empty() {
                    r.reasoning.as_deref().unwrap_or("")
                } else {
                    r.text()
                };
                r.finish_reason == FinishReason::Stop
                    && !generated.is_empty()
                    && !generated.contains("is")
            }),
        },
        probs: works(
            probs
                .as_ref()
                .is_some_and(|r| r.logprobs.as_ref().is_some_and(|l| !l.is_empty())),
        ),
        limits: works(text.as_ref().is_some_and(|r| !r.rate_limits.is_empty())),
        usage: works(text.as_ref().is_some_and(|r| r.usage.total_tokens > 0)),
        finish: works(finish_ok),
        notes: p.notes,
    }
}

struct Prober<'a, M: ?Sized> {
    model: &'a M,
    streaming: bool,
    step: usize,
    total: usize,
    notes: Vec<String>,
    on_progress: &'a mut (dyn FnMut(Progress) + Send),
}

impl<M: Model + ?Sized> Prober<'_, M> {
    async fn run(&mut self, name: &'static str, req: ChatRequest) -> Option<ChatResponse> {
        (self.on_progress)(Progress {
            done: self.step,
            total: self.total,
            model: self.model.name().to_owned(),
            scenario: name,
        });
        self.step += 1;
        match send(self.model, &req, self.streaming).await {
            Ok(r) => Some(r),
            Err(e) => {
                self.notes.push(format!("{name}: {e}"));
                None
            }
        }
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.step += 1;
        self.notes.push(format!("{name}: {why}"));
    }
}

fn sqrt_call(r: &ChatResponse) -> Option<ToolCall> {
    r.tool_calls
        .iter()
        .find(|c| {
            c.name == "square_root"
                && c.parsed_arguments()
                    .ok()
                    .and_then(|a| a.get("number").and_then(Value::as_f64))
                    .is_some_and(|n| (n - 132_413.0).abs() < 0.5)
        })
        .cloned()
}

async fn send<M: Model + ?Sized>(
    model: &M,
    req: &ChatRequest,
    streaming: bool,
) -> Result<ChatResponse> {
    if streaming {
        collect(model.stream(req).await?).await
    } else {
        model.chat(req).await
    }
}
