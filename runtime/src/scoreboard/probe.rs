//! The scenarios of the public scoreboard, and how each cell is decided.

use serde_json::{Value, json};

use super::{Bias, Cell, Inputs, Mode, Outputs, Row, TextCell};
use crate::chat::{
    ChatRequest, ChatResponse, ContentPart, FinishReason, Media, MediaKind, MediaOutput,
    MediaSource, Message, ResponseFormat, ServerTool, ToolCall, ToolChoice,
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
const NO_THINK: &str = "\n\n/no_think";
const FRUIT_PROMPT: &str = "What fruit is it? Reply with only one word.";
const WORD_PROMPT: &str = "What is the word? Reply with only the word.";
const SAID_PROMPT: &str = "What is the word said? Reply with only the word.";
const QUACKILAND: &str =
    "The capital of Quackiland is Quack. The Big Canard Statue is located in Quack.";
const CAPITAL_PROMPT: &str = "What is the capital of Quackiland?";
/// What an image model is asked to draw (the public scoreboard's prompt).
const IMAGE_PROMPT: &str = "Generate one square, white-background doodle with smooth, vibrantly colored image depicting A doodle animation on a white background of Cartoonish shiba inu with brown fur and a white belly, happily eating a pink ice-cream cone, subtle tail wag. Subtle motion but nothing else moves..\n\n*Mandatory Requirements (Compacted):**\n\n**Style:** Simple, vibrant, varied-colored doodle/hand-drawn sketch.\n**Background:** Plain solid white (no background colors/elements). Absolutely no black background.\n**Content & Motion:** Clearly depict **A doodle animation on a white background of Cartoonish shiba inu with brown fur and a white belly, happily eating a pink ice-cream cone, subtle tail wag. Subtle motion but nothing else moves.** action with colored, moving subject (no static images). If there's an action specified, it should be the main difference between frames.\n**Format:** Square image (1:1 aspect ratio).\n**Cropping:** Absolutely no black bars/letterboxing; colorful doodle fully visible against white.\n**Output:** Actual image file for a smooth, colorful doodle-style image on a white background.";
/// What a speech model is given to say (as the assistant's message).
const SPEAK_PROMPT: &str = "Say hi. Just say this word, nothing else.";
const SEARCH_PROMPT: &str = "Search the web to tell who is currently the Prime Minister of Canada. Only search for one result. Give only the name with no explanation.";
/// Where the public scoreboard's test media are.
const MEDIA_BASE: &str =
    "https://raw.githubusercontent.com/maruel/genai/refs/heads/main/scoreboard/testdata/";

/// The media files of the input scenarios: (file, media type, the word the
/// answer must hold, the scenario's name by URL, its name inline).
pub const MEDIA: [(&str, &str, &str, &str, &str); 12] = [
    (
        "image.gif",
        "image/gif",
        "banana",
        "MultiModal-Image-gif-URL",
        "MultiModal-Image-gif-Inline",
    ),
    (
        "image.jpg",
        "image/jpeg",
        "banana",
        "MultiModal-Image-jpg-URL",
        "MultiModal-Image-jpg-Inline",
    ),
    (
        "image.png",
        "image/png",
        "banana",
        "MultiModal-Image-png-URL",
        "MultiModal-Image-png-Inline",
    ),
    (
        "image.webp",
        "image/webp",
        "banana",
        "MultiModal-Image-webp-URL",
        "MultiModal-Image-webp-Inline",
    ),
    (
        "document.pdf",
        "application/pdf",
        "orange",
        "MultiModal-Document-pdf-URL",
        "MultiModal-Document-pdf-Inline",
    ),
    (
        "audio.aac",
        "audio/aac",
        "orange",
        "MultiModal-Audio-aac-URL",
        "MultiModal-Audio-aac-Inline",
    ),
    (
        "audio.flac",
        "audio/flac",
        "orange",
        "MultiModal-Audio-flac-URL",
        "MultiModal-Audio-flac-Inline",
    ),
    (
        "audio.mp3",
        "audio/mpeg",
        "orange",
        "MultiModal-Audio-mp3-URL",
        "MultiModal-Audio-mp3-Inline",
    ),
    (
        "audio.ogg",
        "audio/ogg",
        "orange",
        "MultiModal-Audio-ogg-URL",
        "MultiModal-Audio-ogg-Inline",
    ),
    (
        "audio.wav",
        "audio/wav",
        "orange",
        "MultiModal-Audio-wav-URL",
        "MultiModal-Audio-wav-Inline",
    ),
    (
        "video.mp4",
        "video/mp4",
        "banana",
        "MultiModal-Video-mp4-URL",
        "MultiModal-Video-mp4-Inline",
    ),
    (
        "video.webm",
        "video/webm",
        "banana",
        "MultiModal-Video-webm-URL",
        "MultiModal-Video-webm-Inline",
    ),
];

/// What a probe does beyond the scenarios every model gets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeOptions {
    /// How many times the forced tool call is tried: a cell is 💨 only when
    /// samples disagree (at least 1).
    pub samples: u32,
    /// The 2026 scenarios too: media input (by URL, and inline for the
    /// media types in [`ProbeOptions::media`]), citations, web search.
    pub extended: bool,
    /// Inline media by media type, base64-encoded (see [`MEDIA`]).
    pub media: std::collections::BTreeMap<String, String>,
    /// Qwen3's thinking switch goes in every prompt of a Qwen3 model, as a
    /// text part of its own (`\n\n/think` when thinking, `\n\n/no_think`
    /// otherwise), as the public scoreboard asked Hugging Face's Qwen3
    /// models; otherwise a thinking-on-request model gets a `/think` message.
    pub switch_in_prompt: bool,
    /// Media go in a user message of their own after the prompt's, as the
    /// public scoreboard asked Xiaomi's models; otherwise they are parts of
    /// the prompt's message.
    pub media_in_own_message: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            samples: 1,
            extended: false,
            media: Default::default(),
            switch_in_prompt: false,
            media_in_own_message: false,
        }
    }
}

impl ProbeOptions {
    /// The 2026 scenarios, with `samples` tries of the forced tool call.
    pub fn extended(samples: u32) -> Self {
        Self {
            samples: samples.max(1),
            extended: true,
            media: Default::default(),
            switch_in_prompt: false,
            media_in_own_message: false,
        }
    }
    /// Writes Qwen3's thinking switch into each prompt (see
    /// [`ProbeOptions::switch_in_prompt`]).
    pub fn with_switch_in_prompt(mut self) -> Self {
        self.switch_in_prompt = true;
        self
    }
    /// Sends media in a user message of their own (see
    /// [`ProbeOptions::media_in_own_message`]).
    pub fn with_media_in_own_message(mut self) -> Self {
        self.media_in_own_message = true;
        self
    }
    /// Sends `media_type` inline with these base64 bytes.
    pub fn with_media(mut self, media_type: impl Into<String>, base64: impl Into<String>) -> Self {
        self.media.insert(media_type.into(), base64.into());
        self
    }
}

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

/// As [`probe_with_progress`], with [`ProbeOptions`] (the 2026 scenarios,
/// repeated samples).
pub async fn probe_with<M: Model + ?Sized>(
    model: &M,
    mode: Mode,
    options: &ProbeOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Row {
    run_probe(model, mode, options, on_progress).await
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
    run_probe(model, mode, &ProbeOptions::default(), on_progress).await
}

async fn run_probe<M: Model + ?Sized>(
    model: &M,
    mode: Mode,
    options: &ProbeOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Row {
    let thinks_on_request = model.capabilities().thinking == Thinking::OnRequest;
    let switch_in_prompt =
        options.switch_in_prompt && model.name().to_ascii_lowercase().contains("qwen3");
    let ask = |text: &str| {
        if switch_in_prompt {
            let switch = if mode.thinking { THINK } else { NO_THINK };
            return ChatRequest::new(vec![Message::user_parts(vec![
                ContentPart::text(text),
                ContentPart::text(switch),
            ])]);
        }
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
        total: scenarios().len()
            + if options.extended {
                extended_scenarios(options).len()
            } else {
                0
            },
        notes: Vec::new(),
        on_progress,
    };
    let text = p.run("Text", ask(HELLO)).await;
    let seed = p.run("Seed", ask(HELLO).seed(42)).await;
    // 🌱 only when the same seed gives the same answer again.
    let seed_again = match &seed {
        Some(_) => send(model, &ask(HELLO).seed(42), mode.streaming).await.ok(),
        None => None,
    };
    // The same text (and the same media, for a model that makes them).
    let seeded = matches!((&seed, &seed_again),
        (Some(a), Some(b)) if a.text() == b.text() && a.media == b.media);
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
    let forced = first.as_ref().and_then(sqrt_call).is_some();
    // More samples of the forced call: they decide ✅ against 💨.
    let mut forced_ok = u32::from(forced);
    for _ in 1..options.samples.max(1) {
        let again = send(model, &tools_req(ToolChoice::Required), mode.streaming).await;
        forced_ok += u32::from(again.ok().as_ref().and_then(sqrt_call).is_some());
    }
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
            // The answer goes back as it came: with what its provider needs
            // to continue (thought signatures, a stored response's id).
            let mut answer = Message::assistant_tool_calls(vec![c.clone()]);
            if let Message::Assistant { provider_state, .. } = &mut answer {
                *provider_state = first.as_ref().and_then(|r| r.provider_state.clone());
            }
            let req = ChatRequest::new(vec![
                Message::user(SQRT_PROMPT),
                answer,
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
    let extended = if options.extended {
        extended_probes(&mut p, &ask, options).await
    } else {
        Extended::default()
    };
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
    // A model that ignored the token limit (wrote more than 16 tokens) says
    // truthfully that it stopped on its own.
    // Without a token count (a stream without usage), more than 16 words
    // are more than 16 tokens.
    let over_limit = |r: &ChatResponse| {
        r.usage.completion_tokens > 16
            || (r.usage.completion_tokens == 0 && r.text().split_whitespace().count() > 16)
    };
    let max_tokens_finish = match &max_tokens {
        Some(r) if r.finish_reason == FinishReason::Stop && over_limit(r) => FinishReason::Stop,
        _ => FinishReason::Length,
    };
    let finish_checks = [
        (&text, FinishReason::Stop),
        (&max_tokens, max_tokens_finish),
        (&first, FinishReason::ToolCalls),
        (&extended.speech, FinishReason::Stop),
        (&extended.image, FinishReason::Stop),
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
        cite: works(extended.cited),
        inputs: extended.inputs,
        outputs: Outputs {
            audio: extended.speech.is_some(),
            image: extended.image.is_some(),
        },
        forced_tool: forced,
        web_search: extended.web_search,
        samples: (options.samples.max(1), forced_ok),
        tool_needed_auto: needed_auto,
        text: TextCell {
            seed: seeded,
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
        usage: works(
            [&text, &extended.speech]
                .iter()
                .any(|r| r.as_ref().is_some_and(|r| r.usage.total_tokens > 0)),
        ),
        finish: works(finish_ok),
        notes: p.notes,
    }
}

/// The names of the 2026 scenarios these options run.
fn extended_scenarios(options: &ProbeOptions) -> Vec<String> {
    let mut names = Vec::new();
    for (_, media_type, _, by_url, inline) in MEDIA {
        names.push(by_url.to_owned());
        if options.media.contains_key(media_type) {
            names.push(inline.to_owned());
        }
    }
    names.push("Citations".into());
    names.push("Tools-WebSearch".into());
    names.push("GenDoc-Audio".into());
    names.push("GenDoc-Image".into());
    names
}

/// What the 2026 scenarios showed.
#[derive(Debug, Default)]
struct Extended {
    inputs: Inputs,
    cited: bool,
    web_search: bool,
    /// The answer that spoke, when one did.
    speech: Option<ChatResponse>,
    /// The answer that drew, when one did.
    image: Option<ChatResponse>,
}

async fn extended_probes<M: Model + ?Sized>(
    p: &mut Prober<'_, M>,
    ask: &dyn Fn(&str) -> ChatRequest,
    options: &ProbeOptions,
) -> Extended {
    let mut out = Extended::default();
    for (file, media_type, word, by_url, inline) in MEDIA {
        let prompt = match media_type.split('/').next() {
            Some("image") => FRUIT_PROMPT,
            Some("application") => WORD_PROMPT,
            _ => SAID_PROMPT,
        };
        let mut parts = vec![ContentPart::media_url(
            media_type,
            format!("{MEDIA_BASE}{file}"),
        )];
        if let Some(b64) = options.media.get(media_type) {
            parts.push(ContentPart::Media(Media {
                media_type: media_type.to_owned(),
                source: MediaSource::Base64(b64.clone()),
            }));
        }
        for (part, name) in parts.into_iter().zip([by_url, inline]) {
            let mut req = ask(prompt);
            if options.media_in_own_message {
                req.messages.push(Message::user_parts(vec![part]));
            } else if let Some(Message::User { content }) = req.messages.first_mut() {
                content.push(part);
            }
            let ok = p
                .run(name, req)
                .await
                .is_some_and(|r| r.text().to_lowercase().contains(word));
            if ok {
                let kind = MediaKind::of(media_type);
                out.inputs.set(kind);
            }
        }
    }
    let mut cite = ask(CAPITAL_PROMPT);
    if let Some(Message::User { content }) = cite.messages.first_mut() {
        content.insert(0, ContentPart::document(QUACKILAND));
    }
    out.cited = p
        .run("Citations", cite)
        .await
        .is_some_and(|r| !r.citations.is_empty() && r.text().contains("Quack"));
    let search = ask(SEARCH_PROMPT).server_tool(ServerTool::WebSearch { max_uses: None });
    out.web_search = p.run("Tools-WebSearch", search).await.is_some_and(|r| {
        !r.text().trim().is_empty() && r.server_tool_calls.iter().any(|c| c.name == "web_search")
    });
    // Speech: the words to say as the assistant's message, as the public
    // scoreboard asked; spoken when audio bytes come back.
    let speak = ChatRequest::new(vec![Message::assistant(SPEAK_PROMPT)])
        .media_output(MediaOutput::speech("mp3"));
    out.speech = p.run("GenDoc-Audio", speak).await.filter(|r| {
        r.media
            .iter()
            .any(|m| m.kind() == MediaKind::Audio && m.bytes().is_ok_and(|b| !b.is_empty()))
    });
    // An image, seeded as the public scoreboard asked; drawn when an image
    // comes back (its bytes, or where to fetch them).
    let draw = ask(IMAGE_PROMPT)
        .seed(42)
        .media_output(MediaOutput::image());
    out.image = p.run("GenDoc-Image", draw).await.filter(|r| {
        r.media.iter().any(|m| {
            m.kind() == MediaKind::Image
                && (m.url().is_some() || m.bytes().is_ok_and(|b| !b.is_empty()))
        })
    });
    out
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
