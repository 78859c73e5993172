//! Presets over [`OpenAiCompat`] for the OpenAI-compatible vendors: each
//! one's base URL, key variable, dialect (where the token limit and the seed
//! go, whether `stream` is always sent, whether usage needs
//! `stream_options`), and a capability table read from what its recordings
//! show it accepts or refuses.

use std::sync::Arc;

use super::encode::WireConfig;
use crate::error::Result;
use crate::provider::capabilities::{Capabilities, Support, Thinking};
use crate::provider::endpoint::Endpoint;
use crate::provider::http::ApiKey;
use crate::provider::openai_compat::OpenAiCompat;

/// An OpenAI-compatible vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Vendor {
    /// OpenAI's chat completions (`OPENAI_API_KEY`).
    OpenAi,
    /// Mistral (`MISTRAL_API_KEY`).
    Mistral,
    /// Groq (`GROQ_API_KEY`).
    Groq,
    /// DeepSeek (`DEEPSEEK_API_KEY`).
    DeepSeek,
    /// OpenRouter (`OPENROUTER_API_KEY`).
    OpenRouter,
    /// Together AI (`TOGETHER_API_KEY`).
    Together,
    /// A llama.cpp `llama-server` (no key; its own `n_predict`, no model name).
    LlamaCpp,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 7] = [
        Vendor::OpenAi,
        Vendor::Mistral,
        Vendor::Groq,
        Vendor::DeepSeek,
        Vendor::OpenRouter,
        Vendor::Together,
        Vendor::LlamaCpp,
    ];

    /// The name used on the command line and in spans (`openai`, `mistral`,
    /// `groq`, `deepseek`, `openrouter`, `together`, `llama-cpp`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::OpenAi => "openai",
            Vendor::Mistral => "mistral",
            Vendor::Groq => "groq",
            Vendor::DeepSeek => "deepseek",
            Vendor::OpenRouter => "openrouter",
            Vendor::Together => "together",
            Vendor::LlamaCpp => "llama-cpp",
        }
    }

    /// The vendor of a name (see [`Vendor::name`]; `togetherai` and
    /// `llamacpp` too).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "togetherai" => Some(Vendor::Together),
            "llamacpp" | "llama.cpp" => Some(Vendor::LlamaCpp),
            n => Self::ALL.into_iter().find(|v| v.name() == n),
        }
    }

    /// Where its API is (for llama.cpp, the default local address).
    pub fn base_url(self) -> &'static str {
        match self {
            Vendor::OpenAi => "https://api.openai.com/v1",
            Vendor::Mistral => "https://api.mistral.ai/v1",
            Vendor::Groq => "https://api.groq.com/openai/v1",
            Vendor::DeepSeek => "https://api.deepseek.com",
            Vendor::OpenRouter => "https://openrouter.ai/api/v1",
            Vendor::Together => "https://api.together.xyz/v1",
            Vendor::LlamaCpp => "http://127.0.0.1:8080",
        }
    }

    /// The environment variable its key is read from (none for llama.cpp).
    pub fn key_variable(self) -> Option<&'static str> {
        match self {
            Vendor::OpenAi => Some("OPENAI_API_KEY"),
            Vendor::Mistral => Some("MISTRAL_API_KEY"),
            Vendor::Groq => Some("GROQ_API_KEY"),
            Vendor::DeepSeek => Some("DEEPSEEK_API_KEY"),
            Vendor::OpenRouter => Some("OPENROUTER_API_KEY"),
            Vendor::Together => Some("TOGETHER_API_KEY"),
            Vendor::LlamaCpp => None,
        }
    }

    fn wire(self) -> WireConfig {
        let base = WireConfig {
            explicit_stream: true,
            ..WireConfig::OPENAI
        };
        match self {
            Vendor::OpenAi | Vendor::OpenRouter => WireConfig {
                max_tokens_field: if self == Vendor::OpenAi {
                    "max_completion_tokens"
                } else {
                    "max_tokens"
                },
                ..base
            },
            Vendor::Mistral => WireConfig {
                stream_options: false,
                max_tokens_field: "max_tokens",
                seed_field: "random_seed",
                mistral_media: true,
                ..base
            },
            Vendor::Groq => WireConfig {
                stream_options: false,
                web_search_tool: Some("browser_search"),
                ..base
            },
            Vendor::DeepSeek => WireConfig {
                stream_options: false,
                max_tokens_field: "max_tokens",
                // Thinking mode wants its reasoning back with tool calls.
                reasoning_field: Some("reasoning_content"),
                ..base
            },
            Vendor::Together => WireConfig {
                stream_options: false,
                max_tokens_field: "max_tokens",
                together_forms: true,
                ..base
            },
            Vendor::LlamaCpp => WireConfig {
                stream_options: false,
                max_tokens_field: "n_predict",
                explicit_stream: false,
                send_model: false,
                bare_json_schema: true,
                ..base
            },
        }
    }

    /// What a model of this vendor takes, as the recordings and the vendor's
    /// public scoreboard show (the same model elsewhere may differ).
    pub fn capabilities(self, model: &str) -> Capabilities {
        let m = model.to_ascii_lowercase();
        let mut c = Capabilities::unknown();
        for s in [
            &mut c.json_mode,
            &mut c.json_schema,
            &mut c.tools,
            &mut c.tool_choice_required,
            &mut c.seed,
            &mut c.max_tokens,
            &mut c.stop,
            &mut c.structured_streaming,
        ] {
            *s = Support::Yes;
        }
        c.tools_with_response_format = Support::Unknown;
        // No OpenAI-compatible vendor runs its own web tools through chat
        // completions, nor cites documents.
        c.web_search = Support::No;
        c.web_fetch = Support::No;
        c.citations = Support::No;
        let reasoning = m.starts_with("gpt-5") || m.contains("gpt-oss") || m.starts_with('o');
        match self {
            Vendor::OpenAi => {
                if reasoning {
                    c.stop = Support::No;
                    c.logprobs = Support::No;
                    c.reasoning_effort = Support::Yes;
                    c.thinking = Thinking::Always;
                }
                c.images = Support::Yes;
                c.pdf = Support::Yes;
            }
            Vendor::Mistral => {
                c.logprobs = Support::No;
                c.audio = Support::No;
                c.images = Support::Yes;
            }
            Vendor::Groq => {
                c.images = Support::No;
                c.pdf = Support::No;
                if m.contains("compound") {
                    c.tools = Support::No;
                    c.tool_choice_required = Support::No;
                    c.json_schema = Support::No;
                    c.thinking = Thinking::Always;
                } else if reasoning {
                    // gpt-oss on Groq: no strict schemas, but its browser
                    // search tool.
                    c.json_schema = Support::No;
                    c.reasoning_effort = Support::Yes;
                    c.web_search = Support::Yes;
                    c.thinking = Thinking::Always;
                }
            }
            Vendor::DeepSeek => {
                c.json_schema = Support::No;
                c.logprobs = Support::Yes;
                c.images = Support::No;
                c.thinking = Thinking::OnRequest;
            }
            Vendor::OpenRouter | Vendor::Together => {
                c.logprobs = Support::Flaky;
                if self == Vendor::OpenRouter {
                    c.json_schema = Support::Flaky;
                    c.images = Support::Yes;
                }
            }
            Vendor::LlamaCpp => {
                // What its model takes in (images, audio) the server says
                // in `/props`, asked before the first request.
                c = Capabilities::llama_cpp();
                c.web_search = Support::No;
                c.web_fetch = Support::No;
                c.citations = Support::No;
            }
        }
        c
    }

    /// What a thinking model of this vendor cannot be asked (DeepSeek, and
    /// OpenRouter's qwen3.5-122b, refuse a forced tool while thinking).
    pub fn thinking_capabilities(self, model: &str) -> Capabilities {
        let mut c = self.capabilities(model);
        if self == Vendor::DeepSeek
            || (self == Vendor::OpenRouter && model.contains("qwen3.5-122b"))
        {
            c.tool_choice_required = Support::No;
        }
        c.thinking = Thinking::Always;
        c
    }
}

impl OpenAiCompat {
    /// A client for `vendor` with this key (ignored for llama.cpp), at the
    /// vendor's base URL (change it with [`OpenAiCompat::base_url`]).
    pub fn vendor(vendor: Vendor, api_key: Option<String>) -> Self {
        let client = OpenAiCompat::with_parts(
            vendor.name(),
            vendor.base_url().to_owned(),
            api_key
                .filter(|_| vendor != Vendor::LlamaCpp)
                .map(ApiKey::new),
            vendor.wire(),
            Arc::new(move |m| vendor.capabilities(m)),
        );
        if vendor == Vendor::LlamaCpp {
            client.discovering()
        } else {
            client
        }
    }

    /// A client for `vendor` with its key from the environment
    /// ([`Vendor::key_variable`]).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::config) when the key is not set.
    pub fn vendor_from_env(vendor: Vendor) -> Result<Self> {
        let key = match vendor.key_variable() {
            None => None,
            Some(var) => Some(Endpoint::key_from_env(
                var,
                &format!("export the {} key", vendor.name()),
            )?),
        };
        Ok(Self::vendor(vendor, key))
    }
}
