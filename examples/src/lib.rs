//! Shared set-up for typecall's examples: which model to talk to.

use std::sync::Arc;

use typecall::provider::Model;
use typecall::{Cerebras, OpenAiCompat};

/// The model the examples use: Cerebras (`CEREBRAS_API_KEY`, model from
/// `TYPECALL_CEREBRAS_MODEL`, default `gpt-oss-120b`) when a key is set, else the
/// local llama.cpp server at `TYPECALL_LOCAL_BASE_URL` serving
/// `TYPECALL_LOCAL_MODEL` (`qwen` or `smollm2`, the default; see
/// `scripts/local-model`).
///
/// # Errors
/// When neither is configured, saying how to fix it.
pub fn pick_model() -> Result<(Arc<dyn Model>, String), String> {
    if let Ok(cerebras) = Cerebras::from_env() {
        let name =
            std::env::var("TYPECALL_CEREBRAS_MODEL").unwrap_or_else(|_| "gpt-oss-120b".into());
        let label = format!("cerebras {name}");
        return Ok((Arc::new(cerebras.model(name)), label));
    }
    match std::env::var("TYPECALL_LOCAL_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let name = std::env::var("TYPECALL_LOCAL_MODEL").unwrap_or_else(|_| "smollm2".into());
            // Nothing declared: the client asks the server what it is
            // (llama.cpp) before the first request.
            let model = OpenAiCompat::new(url.trim())
                .timeout(std::time::Duration::from_secs(300))
                .model(&name);
            let label = match name.as_str() {
                "qwen" => "Qwen2.5-Coder-0.5B-Instruct",
                "smollm2" => "SmolLM2-135M-Instruct",
                other => other,
            };
            Ok((
                Arc::new(model),
                format!("{label} · llama.cpp on this machine ({})", url.trim()),
            ))
        }
        _ => Err(
            "set CEREBRAS_API_KEY, or start the local model (scripts/local-model start) and set \
                  TYPECALL_LOCAL_BASE_URL to the URL it prints; scripts/demo does this for you"
                .into(),
        ),
    }
}

/// The support ticket the extraction example (and the real-model test) asks for:
/// a struct with an enum, a bounded list of structs, and an optional field.
pub mod refunds;

pub mod ticket {
    use schemars::JsonSchema;
    use serde::Deserialize;

    /// How urgent a ticket is.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Priority {
        /// It can wait.
        Low,
        /// The usual.
        Normal,
        /// Now.
        High,
    }

    /// One step to resolve a ticket.
    #[derive(Debug, Deserialize, JsonSchema)]
    pub struct Step {
        /// What to do.
        #[schemars(length(max = 60))]
        pub action: String,
        /// How long it takes.
        pub minutes: u16,
    }

    /// A support ticket.
    #[derive(Debug, Deserialize, JsonSchema)]
    pub struct Ticket {
        /// A short title.
        #[schemars(length(max = 60))]
        pub title: String,
        /// How urgent.
        pub priority: Priority,
        /// At most three steps.
        #[schemars(length(min = 1, max = 3))]
        pub steps: Vec<Step>,
        /// Who handles it, if anyone yet.
        pub assignee: Option<String>,
    }

    /// The examples' extraction of a [`Ticket`] (the demo's, and its
    /// real-model test's): the server's native JSON Schema output, the full
    /// schema for a `local` llama.cpp server (its grammar enforces the bounds)
    /// and the strict dialect for a hosted one, greedy and seeded so that an
    /// answer shown once is the answer every time.
    pub fn extraction<'m>(
        model: &'m (dyn typecall::Model + 'm),
        local: bool,
    ) -> typecall::Extract<'m, Ticket> {
        typecall::Extract::<Ticket>::with_dyn(model)
            .system("You turn support requests into tickets.")
            .mode(typecall::OutputMode::Native)
            .dialect(if local {
                typecall::schema::Dialect::JsonSchema
            } else {
                typecall::schema::Dialect::Strict
            })
            .max_tokens(300)
            .temperature(0.0)
            .seed(1)
    }

    /// The request the examples extract from.
    pub const TEXT: &str = "The printer on floor 2 is jammed again. It is urgent: clear the paper tray \
                            (5 minutes), then restart it (2 minutes). Nobody is assigned yet.";
}

/// The weather tools of the demo and the agent example (and of the demo's
/// real-model test): two `#[tool]` functions, and the agent that answers the
/// demo's question with them.
pub mod weather {
    use std::sync::Arc;

    use schemars::JsonSchema;
    use serde::Deserialize;
    use typecall::chat::ToolChoice;
    use typecall::provider::Model;
    use typecall::{Agent, tool};

    /// The cities the weather service knows.
    #[derive(Debug, Deserialize, JsonSchema)]
    pub enum City {
        /// Paris.
        Paris,
        /// Lyon.
        Lyon,
        /// Nice.
        Nice,
    }

    /// Get the current temperature in a city, in °C.
    #[tool]
    pub async fn temperature(city: City) -> f64 {
        match city {
            City::Paris => 14.5,
            City::Lyon => 17.0,
            City::Nice => 21.5,
        }
    }

    /// Convert a temperature from °C to °F.
    #[tool]
    pub fn to_fahrenheit(celsius: f64) -> f64 {
        ((celsius * 9.0 / 5.0 + 32.0) * 10.0).round() / 10.0
    }

    /// The demo's question (its right answer: 21.5 °C, from `temperature`).
    pub const QUESTION: &str = "How warm is it in Nice right now?";

    /// The demo's agent: both tools, one call required first, then an answer
    /// without tools; one call at a time, at most 4 turns of 256 tokens;
    /// greedy and seeded, so that an answer shown once is the answer every
    /// time (its real-model test runs exactly this agent).
    pub fn agent(model: Arc<dyn Model>) -> Agent {
        Agent::from_arc(model)
            .system("You answer weather questions with the tools. Be brief.")
            .tool(Temperature)
            .tool(ToFahrenheit)
            .first_tool_choice(ToolChoice::Required)
            .tool_choice_after_tools(ToolChoice::None)
            .max_parallel_tools(1)
            .max_turns(4)
            .max_tokens(256)
            .temperature(0.0)
            .seed(1)
    }
}

/// A model of one of the native providers, as the scoreboard probes it:
/// `provider` is `anthropic`, `gemini` or `openai-responses`; `base_url`
/// overrides the provider's (a replay server); `thinking` turns on what that
/// provider's thinking rows of the public scoreboards use (Anthropic's
/// adaptive thinking, a Gemini thinking budget of 512, OpenAI reasoning
/// summaries). The key comes from the provider's environment variable, or is
/// a placeholder when replaying.
///
/// # Errors
/// An unknown provider, or a missing key for a live one.
pub fn native_model(
    provider: &str,
    base_url: Option<&str>,
    name: &str,
    thinking: bool,
) -> Result<Arc<dyn Model>, String> {
    use typecall::provider::{AnthropicThinking, RetryPolicy};
    use typecall::{Anthropic, Gemini, OpenAiResponses};
    let key = |var: &str| match base_url {
        Some(_) => Ok("replay".to_owned()),
        None => std::env::var(var).map_err(|_| format!("{var} is not set")),
    };
    Ok(match provider {
        "anthropic" => {
            let mut c = Anthropic::new(key("ANTHROPIC_API_KEY")?);
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            let m = c.model(name);
            Arc::new(if thinking {
                m.thinking(AnthropicThinking::Adaptive)
            } else {
                m
            })
        }
        "gemini" => {
            let mut c = Gemini::new(key("GEMINI_API_KEY")?);
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            let m = c.model(name);
            Arc::new(if thinking { m.thinking_budget(512) } else { m })
        }
        "bfl" => {
            let c = match base_url {
                Some(u) => typecall::provider::Bfl::new("replay")
                    .base_url(format!("{u}/v1"))
                    .retry(RetryPolicy::none())
                    .poll_every(std::time::Duration::ZERO),
                None => typecall::provider::Bfl::from_env().map_err(|e| e.to_string())?,
            };
            Arc::new(c.model(name))
        }
        "ollama" => {
            let c = match base_url {
                Some(u) => typecall::provider::Ollama::new(u.trim_end_matches("/v1"))
                    .retry(RetryPolicy::none()),
                None => typecall::provider::Ollama::from_env(),
            };
            let m = c.model(name);
            // Thinking as the model does by default, or switched off.
            Arc::new(if thinking { m } else { m.think(false) })
        }
        "cohere" => {
            // The model's own thinking default, as the public table ran it.
            let c = match base_url {
                Some(u) => typecall::provider::Cohere::new("replay")
                    .base_url(u.trim_end_matches("/v1"))
                    .retry(RetryPolicy::none()),
                None => typecall::provider::Cohere::from_env().map_err(|e| e.to_string())?,
            };
            Arc::new(c.model(name))
        }
        "cloudflare" => {
            let c = match base_url {
                Some(u) => typecall::Cloudflare::new("ACCOUNT_ID", "replay")
                    .base_url(u)
                    .retry(RetryPolicy::none()),
                None => typecall::Cloudflare::from_env().map_err(|e| e.to_string())?,
            };
            Arc::new(c.model(name))
        }
        "openai-responses" => {
            let mut c = OpenAiResponses::new(key("OPENAI_API_KEY")?);
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            Arc::new(c.model(name).reasoning_summary(thinking))
        }
        other => {
            let vendor = typecall::provider::Vendor::from_name(other)
                .ok_or_else(|| format!("unknown provider {other}"))?;
            // Pollinations' base URL is its endpoint (`…/openai`): a replay
            // stands in for its host.
            let at = |u: &str| match vendor {
                typecall::provider::Vendor::Pollinations => {
                    format!("{}/openai", u.trim_end_matches("/v1"))
                }
                _ => u.to_owned(),
            };
            let mut c = match base_url {
                Some(u) => typecall::OpenAiCompat::vendor(vendor, Some("replay".into()))
                    .base_url(at(u))
                    .retry(RetryPolicy::none()),
                None => {
                    typecall::OpenAiCompat::vendor_from_env(vendor).map_err(|e| e.to_string())?
                }
            };
            c = c.timeout(std::time::Duration::from_secs(300));
            let mut m = c.model(name);
            if vendor == typecall::provider::Vendor::LlamaCpp {
                // llama.cpp's own switches: keep the prompt cache, and turn the
                // chat template's thinking on or off (its reasoning then comes
                // apart from the answer, DeepSeek-style).
                m = m.extra_field("cache_prompt", true).extra_field(
                    "chat_template_kwargs",
                    serde_json::json!({ "enable_thinking": thinking }),
                );
                if thinking {
                    m = m.extra_field("reasoning_format", "deepseek");
                }
            }
            if matches!(
                vendor,
                typecall::provider::Vendor::Alibaba | typecall::provider::Vendor::AlibabaUs
            ) {
                // DashScope's thinking switch.
                m = m.extra_field("enable_thinking", thinking);
            }
            if vendor == typecall::provider::Vendor::Xiaomi && !thinking {
                // MiMo thinks unless told not to.
                m = m.extra_field("thinking", serde_json::json!({"type": "disabled"}));
            }
            if vendor == typecall::provider::Vendor::Pollinations {
                // One provider, two APIs: images from its image API.
                let mut images = typecall::provider::PollinationsImages::new();
                if let Some(u) = base_url {
                    images = images
                        .base_url(u.trim_end_matches("/v1"))
                        .retry(RetryPolicy::none());
                }
                return Ok(Arc::new(TextOrImages {
                    text: m,
                    images: images.model(name),
                }));
            }
            Arc::new(if thinking {
                m.with_capabilities(vendor.thinking_capabilities(name))
            } else {
                m
            })
        }
    })
}

/// A provider with a text API and an image API (Pollinations): a request
/// asking for an image goes to the image model, every other to the text
/// model.
struct TextOrImages<T, I> {
    text: T,
    images: I,
}

impl<T: Model, I: Model> Model for TextOrImages<T, I> {
    fn name(&self) -> &str {
        self.text.name()
    }
    fn capabilities(&self) -> typecall::provider::Capabilities {
        let mut c = self.text.capabilities();
        c.image_output = typecall::provider::Support::Yes;
        c
    }
    fn chat<'a>(
        &'a self,
        request: &'a typecall::chat::ChatRequest,
    ) -> typecall::future::BoxFuture<'a, typecall::Result<typecall::chat::ChatResponse>> {
        match request.media_output {
            Some(typecall::chat::MediaOutput::Image) => self.images.chat(request),
            _ => self.text.chat(request),
        }
    }
    fn stream<'a>(
        &'a self,
        request: &'a typecall::chat::ChatRequest,
    ) -> typecall::future::BoxFuture<'a, typecall::Result<typecall::provider::ChatStream>> {
        match request.media_output {
            Some(typecall::chat::MediaOutput::Image) => self.images.stream(request),
            _ => self.text.stream(request),
        }
    }
}

/// Whether a probe batch came back with its answer (text in its first result).
fn batch_answered(results: Option<Vec<typecall::provider::BatchResult>>) -> bool {
    results
        .as_ref()
        .and_then(|r| r.first())
        .and_then(|r| r.outcome.as_ref().ok())
        .is_some_and(|a| !a.text().is_empty())
}

/// The Batch and File cells of a native provider's scoreboard row, decided
/// by using those APIs: a batch of one request whose result comes back
/// (polled every `poll`, for at most `wait`), and a file uploaded, read and
/// deleted. Providers whose batch or file APIs typecall does not speak get
/// ❌ (Gemini's batch mode).
pub async fn storage_cells(
    provider: &str,
    base_url: Option<&str>,
    name: &str,
    thinking: bool,
    poll: std::time::Duration,
    wait: std::time::Duration,
) -> (typecall::scoreboard::Cell, typecall::scoreboard::Cell) {
    use typecall::chat::{ChatRequest, Message};
    use typecall::provider::{AnthropicThinking, RetryPolicy};
    use typecall::scoreboard::Cell;
    use typecall::{Anthropic, Gemini};
    let works = |ok: bool| if ok { Cell::Works } else { Cell::No };
    let key = |var: &str| match base_url {
        Some(_) => Some("replay".to_owned()),
        None => std::env::var(var).ok(),
    };
    let hello = ChatRequest::new(vec![Message::user("Say hello. Use only one word.")]);
    let text = b"Hello from a typecall scoreboard probe.";
    match provider {
        "anthropic" => {
            let Some(k) = key("ANTHROPIC_API_KEY") else {
                return (Cell::No, Cell::No);
            };
            let mut c = Anthropic::new(k);
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            let mut model = c.model(name);
            if thinking {
                model = model.thinking(AnthropicThinking::Adaptive);
            }
            let batch = batch_answered(
                async {
                    let b = model.create_batch(&[("probe", &hello)]).await.ok()?;
                    c.wait_for_batch_results(&b.id, poll, wait).await.ok()
                }
                .await,
            );
            let file = async {
                let f = c.upload_file("probe.txt", "text/plain", text).await.ok()?;
                c.file(&f.id).await.ok()?;
                c.delete_file(&f.id).await.ok()
            }
            .await
            .is_some();
            (works(batch), works(file))
        }
        // OpenAI's Batch API (over chat completions) serves its chat and
        // Responses models alike; its Files API is not spoken.
        "openai" | "openai-responses" => {
            let Some(k) = key("OPENAI_API_KEY") else {
                return (Cell::No, Cell::No);
            };
            let mut c = typecall::OpenAiCompat::vendor(typecall::provider::Vendor::OpenAi, Some(k));
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            let model = c.model(name);
            let batch = batch_answered(
                async {
                    let b = model.create_batch(&[("probe", &hello)]).await.ok()?;
                    c.wait_for_batch_results(&b.id, poll, wait).await.ok()
                }
                .await,
            );
            (works(batch), Cell::No)
        }
        "gemini" => {
            let Some(k) = key("GEMINI_API_KEY") else {
                return (Cell::No, Cell::No);
            };
            let mut c = Gemini::new(k);
            if let Some(u) = base_url {
                c = c.base_url(u).retry(RetryPolicy::none());
            }
            let file = async {
                let f = c.upload_file("probe.txt", "text/plain", text).await.ok()?;
                c.file(&f.id).await.ok()?;
                c.delete_file(&f.id).await.ok()
            }
            .await
            .is_some();
            (Cell::No, works(file))
        }
        _ => (Cell::No, Cell::No),
    }
}

/// The tools `examples/mcp_server.rs` serves over MCP (and the MCP tests
/// use): a calculator, a typed result, and a destructive tool.
pub mod mcp_tools {
    use schemars::JsonSchema;
    use serde::Serialize;
    use typecall::tool;
    use typecall::tool::Toolbox;

    /// The square root of a number, rounded to 2 decimals.
    #[tool(title = "Square root", read_only, idempotent)]
    pub fn square_root(
        /// The number (not negative).
        number: f64,
    ) -> Result<f64, String> {
        if number < 0.0 {
            return Err(format!("{number} is negative: it has no real square root"));
        }
        Ok((number.sqrt() * 100.0).round() / 100.0)
    }

    /// Adds two whole numbers.
    #[tool(title = "Add", read_only, idempotent)]
    pub fn add(a: i64, b: i64) -> Result<i64, String> {
        a.checked_add(b)
            .ok_or_else(|| format!("{a} + {b} does not fit in 64 bits"))
    }

    /// Counts of a text.
    #[derive(Debug, Serialize, JsonSchema)]
    pub struct TextStats {
        /// Words, split on whitespace.
        pub words: usize,
        /// Characters (Unicode scalar values).
        pub characters: usize,
    }

    /// Counts the words and characters of a text.
    #[tool(
        title = "Text statistics",
        read_only,
        idempotent,
        type_name = "TextStatsTool"
    )]
    pub fn text_stats(text: String) -> TextStats {
        TextStats {
            words: text.split_whitespace().count(),
            characters: text.chars().count(),
        }
    }

    /// Deletes a note by its id (notes 1 to 3 exist). Cannot be undone.
    #[tool(title = "Delete a note", destructive)]
    pub fn delete_note(id: u32) -> Result<String, String> {
        if (1..=3).contains(&id) {
            Ok(format!("note {id} deleted"))
        } else {
            Err(format!("there is no note {id}; the notes are 1, 2 and 3"))
        }
    }

    /// An agent over the tools of an MCP server: one tool call required
    /// first, then an answer; greedy and seeded like the demo's agent.
    /// Destructive tools (as their hints say) go through the approval hook,
    /// which here refuses them: nobody is there to ask.
    pub fn agent(
        model: std::sync::Arc<dyn typecall::provider::Model>,
        tools: typecall::mcp::McpTools,
    ) -> typecall::Agent {
        typecall::Agent::from_arc(model)
            .system("You answer questions with the tools. After a tool answers, reply with one short sentence that states its result.")
            .tools(tools)
            .first_tool_choice(typecall::chat::ToolChoice::Required)
            .tool_choice_after_tools(typecall::chat::ToolChoice::None)
            .max_parallel_tools(1)
            .max_turns(4)
            .max_tokens(256)
            .temperature(0.0)
            .seed(1)
            .approve_only_destructive()
            .before_tool_call(|call| {
                typecall::agent::HookDecision::Deny(format!(
                    "`{}` may destroy data and needs a person's approval",
                    call.name
                ))
            })
    }

    /// All four, in one toolbox.
    pub fn toolbox() -> Toolbox {
        let mut tools = Toolbox::new();
        for added in [
            tools.add(SquareRoot).map(|_| ()),
            tools.add(Add).map(|_| ()),
            tools.add(TextStatsTool).map(|_| ()),
            tools.add(DeleteNote).map(|_| ()),
        ] {
            added.expect("the example tools have distinct names and strict schemas");
        }
        tools
    }
}
