//! Presets over [`OpenAiCompat`] for the OpenAI-compatible vendors: each
//! one's base URL, key variable, dialect (where the token limit and the seed
//! go, whether `stream` is always sent, whether usage needs
//! `stream_options`), and a capability table read from what its recordings
//! show it accepts or refuses.

use std::sync::Arc;

use super::encode::{
    MaxTokensField, ReasoningField, SchemaForm, SearchSwitch, SeedField, WireConfig,
};
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
    /// Baseten's model APIs (`BASETEN_API_KEY`).
    Baseten,
    /// Hugging Face's inference router (`HF_TOKEN`).
    HuggingFace,
    /// Alibaba Cloud's DashScope (Model Studio), international region
    /// (Singapore; `DASHSCOPE_API_KEY`).
    Alibaba,
    /// Alibaba Cloud's DashScope, US region (Virginia; `DASHSCOPE_API_KEY`,
    /// a key of that region).
    AlibabaUs,
    /// Perplexity's Sonar models (`PERPLEXITY_API_KEY`): web search on
    /// request ([`ServerTool::WebSearch`](crate::chat::ServerTool)), its
    /// sources as citations and a `web_search` call; no function tools.
    Perplexity,
    /// Xiaomi's MiMo (`MIMO_API_KEY`): its own web search, image, audio and
    /// video input (mimo-v2.5); its thinking switch, `thinking: {"type":
    /// "disabled"}`, is an extra field.
    Xiaomi,
    /// Pollinations' text models (`https://text.pollinations.ai/openai`; a
    /// token, if you have one, as the key: none is needed).
    Pollinations,
}

/// Whether a model (lower-case name) is one of OpenAI's reasoning models
/// (`gpt-5*`, `o*`, `gpt-oss*`), wherever it is served.
fn reasoning_model(m: &str) -> bool {
    m.starts_with("gpt-5") || m.contains("gpt-oss") || m.starts_with('o')
}

fn openai_capabilities(c: &mut Capabilities, m: &str) {
    if reasoning_model(m) {
        c.stop = Support::No;
        c.logprobs = Support::No;
        c.reasoning_effort = Support::Yes;
        c.thinking = Thinking::Always;
    }
    c.images = Support::Yes;
    c.pdf = Support::Yes;
}

fn mistral_capabilities(c: &mut Capabilities, _m: &str) {
    c.logprobs = Support::No;
    c.audio = Support::No;
    c.images = Support::Yes;
}

fn groq_capabilities(c: &mut Capabilities, m: &str) {
    c.images = Support::No;
    c.pdf = Support::No;
    if m.contains("compound") {
        c.tools = Support::No;
        c.tool_choice_required = Support::No;
        c.json_schema = Support::No;
        c.thinking = Thinking::Always;
    } else if reasoning_model(m) {
        // gpt-oss on Groq: no strict schemas, but its browser search tool.
        c.json_schema = Support::No;
        c.reasoning_effort = Support::Yes;
        c.web_search = Support::Yes;
        c.thinking = Thinking::Always;
    }
}

fn deepseek_capabilities(c: &mut Capabilities, _m: &str) {
    c.json_schema = Support::No;
    c.logprobs = Support::Yes;
    c.images = Support::No;
    c.thinking = Thinking::OnRequest;
}

fn openrouter_capabilities(c: &mut Capabilities, _m: &str) {
    c.logprobs = Support::Flaky;
    c.json_schema = Support::Flaky;
    c.images = Support::Yes;
}

fn together_capabilities(c: &mut Capabilities, _m: &str) {
    c.logprobs = Support::Flaky;
}

/// Text in only: images, PDFs and audio refused before sending.
fn text_input_only(c: &mut Capabilities) {
    c.images = Support::No;
    c.pdf = Support::No;
    c.audio = Support::No;
}

fn baseten_capabilities(c: &mut Capabilities, _m: &str) {
    // Its chat completions refuse images ("image_url is not supported"). Log
    // probabilities are accepted and not given (as recorded): not refused.
    text_input_only(c);
    c.logprobs = Support::Flaky;
}

fn huggingface_capabilities(c: &mut Capabilities, _m: &str) {
    // The router's providers take text only (images refused, 400 or 402),
    // and give log probabilities; tools and schemas depend on the provider
    // behind the model: sent, and a refusal is typed.
    text_input_only(c);
    c.logprobs = Support::Yes;
}

fn alibaba_capabilities(c: &mut Capabilities, _m: &str) {
    // Qwen on DashScope: images in, its own web search (`enable_search`).
    c.images = Support::Yes;
    c.web_search = Support::Yes;
    c.logprobs = Support::Yes;
}

fn perplexity_capabilities(c: &mut Capabilities, m: &str) {
    // Sonar searches the web itself and has no function tools: tools, a
    // forced tool, stop sequences, seeds and log probabilities are dropped
    // without a word (so refused here, never silently lost); JSON only
    // with a schema; images in.
    c.tools = Support::No;
    c.tool_choice_required = Support::No;
    c.json_mode = Support::No;
    c.stop = Support::No;
    c.seed = Support::No;
    c.logprobs = Support::No;
    c.images = Support::Yes;
    c.pdf = Support::No;
    c.audio = Support::No;
    c.web_search = Support::Yes;
    if m.contains("reasoning") || m.contains("deep-research") {
        // They think first, in `<think>` tags in the content.
        c.thinking = Thinking::Always;
    }
}

fn xiaomi_capabilities(c: &mut Capabilities, m: &str) {
    if m.contains("tts") {
        // The speech models: text in (the assistant message is spoken),
        // audio out, nothing else.
        *c = Capabilities::unknown();
        c.speech_output = Support::Yes;
        c.max_tokens = Support::Yes;
        for s in [
            &mut c.json_mode,
            &mut c.json_schema,
            &mut c.tools,
            &mut c.tool_choice_required,
            &mut c.logprobs,
            &mut c.images,
            &mut c.pdf,
            &mut c.audio,
            &mut c.video,
            &mut c.citations,
            &mut c.web_search,
            &mut c.web_fetch,
        ] {
            *s = Support::No;
        }
        return;
    }
    // MiMo: tools (forced too), JSON mode but no schemas, its web search;
    // mimo-v2.5 sees images, hears audio and watches video, the -pro model
    // takes text only ("No endpoints found that support image input").
    c.speech_output = Support::No;
    c.json_schema = Support::No;
    c.web_search = Support::Yes;
    c.pdf = Support::No;
    let text_only = m.contains("pro");
    for s in [&mut c.images, &mut c.audio, &mut c.video] {
        *s = if text_only { Support::No } else { Support::Yes };
    }
}

fn pollinations_capabilities(c: &mut Capabilities, _m: &str) {
    // Its OpenAI models see images; audio and PDFs are refused upstream
    // ("Invalid 'messages[1]'", "Invalid image data"), as recorded.
    c.images = Support::Yes;
    c.audio = Support::No;
    c.pdf = Support::No;
    c.video = Support::No;
    c.json_schema = Support::Unknown;
}

fn llama_cpp_capabilities(c: &mut Capabilities, _m: &str) {
    // What its model takes in (images, audio) the server says in `/props`,
    // asked before the first request.
    *c = Capabilities::llama_cpp();
    c.web_search = Support::No;
    c.web_fetch = Support::No;
    c.citations = Support::No;
}

/// A vendor as data: what its client needs besides the model.
struct Row {
    vendor: Vendor,
    /// Its name on the command line and in spans.
    name: &'static str,
    /// Other names it is known by.
    aliases: &'static [&'static str],
    base_url: &'static str,
    /// The environment variable of its key (none: it takes no key).
    key_variable: Option<&'static str>,
    /// How its chat completions differ from OpenAI's.
    wire: WireConfig,
    /// What its models take beyond the common base, given the model's
    /// lower-case name.
    capabilities: fn(&mut Capabilities, &str),
}

/// OpenAI's chat completions as the vendors below speak them: `"stream"`
/// always sent, no `stream_options`, `max_tokens`.
const VENDOR_WIRE: WireConfig = WireConfig {
    explicit_stream: true,
    stream_options: false,
    max_tokens_field: MaxTokensField::MaxTokens,
    ..WireConfig::OPENAI
};

/// Every vendor, one row each.
const ROWS: [Row; 14] = [
    Row {
        vendor: Vendor::OpenAi,
        name: "openai",
        aliases: &[],
        base_url: "https://api.openai.com/v1",
        key_variable: Some("OPENAI_API_KEY"),
        wire: WireConfig {
            explicit_stream: true,
            ..WireConfig::OPENAI
        },
        capabilities: openai_capabilities,
    },
    Row {
        vendor: Vendor::Mistral,
        name: "mistral",
        aliases: &[],
        base_url: "https://api.mistral.ai/v1",
        key_variable: Some("MISTRAL_API_KEY"),
        wire: WireConfig {
            seed_field: SeedField::RandomSeed,
            pdf_as_document_url: true,
            audio_as_bare_base64: true,
            ..VENDOR_WIRE
        },
        capabilities: mistral_capabilities,
    },
    Row {
        vendor: Vendor::Groq,
        name: "groq",
        aliases: &[],
        base_url: "https://api.groq.com/openai/v1",
        key_variable: Some("GROQ_API_KEY"),
        wire: WireConfig {
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            web_search_tool: Some("browser_search"),
            ..VENDOR_WIRE
        },
        capabilities: groq_capabilities,
    },
    Row {
        vendor: Vendor::DeepSeek,
        name: "deepseek",
        aliases: &[],
        base_url: "https://api.deepseek.com",
        key_variable: Some("DEEPSEEK_API_KEY"),
        wire: WireConfig {
            // Thinking mode wants its reasoning back with tool calls.
            reasoning_field: Some(ReasoningField::ReasoningContent),
            ..VENDOR_WIRE
        },
        capabilities: deepseek_capabilities,
    },
    Row {
        vendor: Vendor::OpenRouter,
        name: "openrouter",
        aliases: &[],
        base_url: "https://openrouter.ai/api/v1",
        key_variable: Some("OPENROUTER_API_KEY"),
        wire: WireConfig {
            stream_options: true,
            ..VENDOR_WIRE
        },
        capabilities: openrouter_capabilities,
    },
    Row {
        vendor: Vendor::Together,
        name: "together",
        aliases: &["togetherai"],
        base_url: "https://api.together.xyz/v1",
        key_variable: Some("TOGETHER_API_KEY"),
        wire: WireConfig {
            schema_form: SchemaForm::Flat,
            logprobs_as_count: true,
            ..VENDOR_WIRE
        },
        capabilities: together_capabilities,
    },
    Row {
        vendor: Vendor::LlamaCpp,
        name: "llama-cpp",
        aliases: &["llamacpp", "llama.cpp"],
        base_url: "http://127.0.0.1:8080",
        key_variable: None,
        wire: WireConfig {
            max_tokens_field: MaxTokensField::NPredict,
            explicit_stream: false,
            send_model: false,
            schema_form: SchemaForm::Bare,
            ..VENDOR_WIRE
        },
        capabilities: llama_cpp_capabilities,
    },
    Row {
        vendor: Vendor::Baseten,
        name: "baseten",
        aliases: &[],
        base_url: "https://inference.baseten.co/v1",
        key_variable: Some("BASETEN_API_KEY"),
        // OpenAI's own dialect: `stream_options`, `max_completion_tokens`,
        // `stream` only when streaming.
        wire: WireConfig::OPENAI,
        capabilities: baseten_capabilities,
    },
    Row {
        vendor: Vendor::HuggingFace,
        name: "huggingface",
        aliases: &["hf"],
        base_url: "https://router.huggingface.co/v1",
        key_variable: Some("HF_TOKEN"),
        wire: WireConfig {
            stream_options: true,
            ..VENDOR_WIRE
        },
        capabilities: huggingface_capabilities,
    },
    Row {
        vendor: Vendor::Alibaba,
        name: "alibaba",
        aliases: &["dashscope"],
        base_url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        key_variable: Some("DASHSCOPE_API_KEY"),
        wire: DASHSCOPE_WIRE,
        capabilities: alibaba_capabilities,
    },
    Row {
        vendor: Vendor::AlibabaUs,
        name: "alibaba-us",
        aliases: &["dashscope-us"],
        base_url: "https://dashscope-us.aliyuncs.com/compatible-mode/v1",
        key_variable: Some("DASHSCOPE_API_KEY"),
        wire: DASHSCOPE_WIRE,
        capabilities: alibaba_capabilities,
    },
    Row {
        vendor: Vendor::Perplexity,
        name: "perplexity",
        aliases: &["sonar"],
        base_url: "https://api.perplexity.ai",
        key_variable: Some("PERPLEXITY_API_KEY"),
        // Search is on unless `disable_search`; a schema goes alone
        // (`{"json_schema": {"schema"}}`).
        wire: WireConfig {
            search_switch: Some(SearchSwitch::DisableSearch),
            schema_form: SchemaForm::Bare,
            ..VENDOR_WIRE
        },
        capabilities: perplexity_capabilities,
    },
    Row {
        vendor: Vendor::Xiaomi,
        name: "xiaomi",
        aliases: &["mimo"],
        base_url: "https://api.xiaomimimo.com/v1",
        key_variable: Some("MIMO_API_KEY"),
        // `max_completion_tokens`; usage comes in a last chunk unasked;
        // reasoning goes back as `reasoning_content` with tool calls; its
        // search is a `web_search` tool that is made to run when asked.
        wire: WireConfig {
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            reasoning_field: Some(ReasoningField::ReasoningContent),
            web_search_tool: Some("web_search"),
            force_search: true,
            speech_modalities: false,
            ..VENDOR_WIRE
        },
        capabilities: xiaomi_capabilities,
    },
    Row {
        vendor: Vendor::Pollinations,
        name: "pollinations",
        aliases: &[],
        base_url: "https://text.pollinations.ai/openai",
        key_variable: None,
        // The base URL is the endpoint; `max_tokens`, `stream_options`.
        wire: WireConfig {
            stream_options: true,
            endpoint_path: "",
            ..VENDOR_WIRE
        },
        capabilities: pollinations_capabilities,
    },
];

/// DashScope's chat completions: `max_tokens`, `stream_options`, and its
/// web search switched on with `enable_search` (its thinking switch,
/// `enable_thinking`, is an extra field).
const DASHSCOPE_WIRE: WireConfig = WireConfig {
    stream_options: true,
    search_switch: Some(SearchSwitch::EnableSearch),
    ..VENDOR_WIRE
};

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 14] = [
        Vendor::OpenAi,
        Vendor::Mistral,
        Vendor::Groq,
        Vendor::DeepSeek,
        Vendor::OpenRouter,
        Vendor::Together,
        Vendor::LlamaCpp,
        Vendor::Baseten,
        Vendor::HuggingFace,
        Vendor::Alibaba,
        Vendor::AlibabaUs,
        Vendor::Perplexity,
        Vendor::Xiaomi,
        Vendor::Pollinations,
    ];

    fn row(self) -> &'static Row {
        // Every vendor has its row (a test checks it); the first serves
        // should one ever be missing.
        let [first, ..] = &ROWS;
        ROWS.iter().find(|r| r.vendor == self).unwrap_or(first)
    }

    /// The name used on the command line and in spans (`openai`, `mistral`,
    /// `groq`, `deepseek`, `openrouter`, `together`, `llama-cpp`, `baseten`,
    /// `huggingface`, `alibaba`, `alibaba-us`, `perplexity`, `xiaomi`,
    /// `pollinations`).
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The vendor of a name (see [`Vendor::name`]; `togetherai` and
    /// `llamacpp` too).
    pub fn from_name(name: &str) -> Option<Self> {
        ROWS.iter()
            .find(|r| r.name == name || r.aliases.contains(&name))
            .map(|r| r.vendor)
    }

    /// Where its API is (for llama.cpp, the default local address).
    pub fn base_url(self) -> &'static str {
        self.row().base_url
    }

    /// The environment variable its key is read from (none for llama.cpp
    /// and Pollinations, which need none).
    pub fn key_variable(self) -> Option<&'static str> {
        self.row().key_variable
    }

    fn wire(self) -> WireConfig {
        self.row().wire
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
        (self.row().capabilities)(&mut c, &m);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_one_row_and_its_names_lead_back_to_it() {
        for v in Vendor::ALL {
            assert_eq!(ROWS.iter().filter(|r| r.vendor == v).count(), 1, "{v:?}");
            assert_eq!(Vendor::from_name(v.name()), Some(v));
        }
        assert_eq!(Vendor::from_name("togetherai"), Some(Vendor::Together));
        assert_eq!(Vendor::from_name("llama.cpp"), Some(Vendor::LlamaCpp));
        assert_eq!(Vendor::from_name("nope"), None);
    }

    #[test]
    fn dashscope_searches_by_its_switch_and_a_user_field_never_overrides_it() {
        use crate::chat::{ChatRequest, Message, ServerTool};
        let wire = Vendor::Alibaba.wire();
        let asked = ChatRequest::new(vec![Message::user("who?")])
            .server_tool(ServerTool::WebSearch { max_uses: None });
        let extra = [("enable_search".to_owned(), serde_json::json!(false))];
        let body = super::super::encode::request_body(&asked, "qwen", false, &wire, &extra);
        assert_eq!(body["enable_search"], true, "{body}");
        assert!(body.get("tools").is_none(), "no tool entry: {body}");
        let plain = ChatRequest::new(vec![Message::user("who?")]);
        let body = super::super::encode::request_body(&plain, "qwen", false, &wire, &[]);
        assert!(body.get("enable_search").is_none(), "{body}");
        assert_eq!(
            Vendor::AlibabaUs.base_url(),
            "https://dashscope-us.aliyuncs.com/compatible-mode/v1"
        );
    }

    #[test]
    fn speech_is_asked_in_each_dialect_and_xiaomi_searches_by_force() {
        use crate::chat::{ChatRequest, MediaOutput, Message, ServerTool};
        use serde_json::json;
        let speak = ChatRequest::new(vec![Message::assistant("Hi.")])
            .media_output(MediaOutput::speech("mp3"));
        let extra = [("audio".to_owned(), json!({"format": "wav"}))];
        let body = |v: Vendor, r: &ChatRequest| {
            super::super::encode::request_body(r, "m", false, &v.wire(), &extra)
        };
        let xiaomi = body(Vendor::Xiaomi, &speak);
        assert_eq!(xiaomi["audio"], json!({"format": "mp3"}), "{xiaomi}");
        assert!(xiaomi.get("modalities").is_none(), "{xiaomi}");
        let openai = body(
            Vendor::OpenAi,
            &speak
                .clone()
                .media_output(MediaOutput::speech("wav").voice("alloy")),
        );
        assert_eq!(openai["modalities"], json!(["text", "audio"]));
        assert_eq!(openai["audio"], json!({"format": "wav", "voice": "alloy"}));
        let plain = ChatRequest::new(vec![Message::user("who?")]);
        assert!(
            body(Vendor::OpenAi, &plain).get("audio").is_none(),
            "no extra field writes it"
        );
        let search = body(
            Vendor::Xiaomi,
            &plain.server_tool(ServerTool::WebSearch { max_uses: None }),
        );
        assert_eq!(
            search["tools"],
            json!([{"type": "web_search", "force_search": true}])
        );
        // Only its speech models speak.
        assert_eq!(
            Vendor::Xiaomi.capabilities("mimo-v2.5-tts").speech_output,
            Support::Yes
        );
        assert_eq!(
            Vendor::Xiaomi.capabilities("mimo-v2.5-tts").tools,
            Support::No
        );
        assert_eq!(
            Vendor::Xiaomi.capabilities("mimo-v2.5").speech_output,
            Support::No
        );
        assert_eq!(
            Vendor::Xiaomi.capabilities("mimo-v2.5-pro").images,
            Support::No
        );
    }

    #[test]
    fn perplexity_searches_only_when_asked_and_a_user_field_never_overrides_it() {
        use crate::chat::{ChatRequest, Message, ServerTool};
        let wire = Vendor::Perplexity.wire();
        let extra = [("disable_search".to_owned(), serde_json::json!(false))];
        let plain = ChatRequest::new(vec![Message::user("who?")]);
        let body = super::super::encode::request_body(&plain, "sonar", false, &wire, &extra);
        assert_eq!(body["disable_search"], true, "{body}");
        let asked = plain.server_tool(ServerTool::WebSearch { max_uses: None });
        let body = super::super::encode::request_body(&asked, "sonar", false, &wire, &extra);
        assert!(body.get("disable_search").is_none(), "{body}");
        assert!(body.get("tools").is_none(), "no tool entry: {body}");
        assert!(
            super::super::encode::check_expressible("sonar", &asked, &wire).is_ok(),
            "its search is carried"
        );
        let caps = Vendor::Perplexity.capabilities("sonar-reasoning-pro");
        assert_eq!(caps.tools, Support::No, "tools would be dropped silently");
        assert_eq!(caps.thinking, Thinking::Always);
        assert_eq!(
            Vendor::Perplexity.capabilities("sonar").thinking,
            Capabilities::unknown().thinking
        );
    }
}
