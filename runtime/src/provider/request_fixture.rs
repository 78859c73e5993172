//! A request that uses every field and message shape a [`ChatRequest`] has,
//! for the protocols' tests of the bodies they write.

use serde_json::{Value, json};

use crate::chat::{
    ChatRequest, ContentPart, Message, ProviderState, ReasoningEffort, ResponseFormat, ServerTool,
    ToolCall, ToolChoice,
};
use crate::tool::ToolDef;

/// Every shape at once. The assistant's last answer carries
/// `provider_state`, as the protocol under test wrote it.
pub(crate) fn every_field(provider_state: Option<ProviderState>) -> ChatRequest {
    let good = ToolCall::new("call_1", "weather", r#"{"city":"Oslo"}"#);
    let bad = ToolCall::new("call_2", "weather", "not json");
    let mut asked = Message::assistant_tool_calls(vec![good.clone(), bad.clone()]);
    if let Message::Assistant { content, .. } = &mut asked {
        *content = Some("Let me check.".into());
    }
    let mut answered = Message::assistant("It is 12C.");
    if let Message::Assistant {
        provider_state: s, ..
    } = &mut answered
    {
        *s = provider_state;
    }
    let mut document = ContentPart::document("Oslo is cold.");
    if let ContentPart::Document(d) = &mut document {
        d.title = Some("Notes".into());
    }
    let mut req = ChatRequest::new(vec![
        Message::system("Be brief."),
        Message::system("Use metric units."),
        Message::user_parts(vec![
            ContentPart::text("Look:"),
            ContentPart::image_url("https://example.com/cat.png?size=2"),
            ContentPart::image_bytes("image/png", &[1, 2, 3]),
            ContentPart::media_url("application/pdf", "https://example.com/a.pdf"),
            ContentPart::media_bytes("application/pdf", &[4, 5, 6]),
            document,
        ]),
        asked,
        Message::tool_result(&good, "12C"),
        Message::tool_error(&bad, "bad arguments"),
        answered,
        Message::user("Thanks."),
    ]);
    req.tools = vec![ToolDef {
        name: "weather".into(),
        description: "The weather in a city.".into(),
        parameters: schema(),
        strict: true,
    }];
    req.server_tools = vec![
        ServerTool::WebSearch { max_uses: Some(2) },
        ServerTool::WebFetch { max_uses: None },
    ];
    req.tool_choice = Some(ToolChoice::Tool("weather".into()));
    req.parallel_tool_calls = Some(false);
    req.response_format = ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: schema(),
        strict: true,
    };
    req.temperature = Some(0.5);
    req.top_p = Some(0.25);
    req.seed = Some(7);
    req.max_tokens = Some(100);
    req.stop = vec!["END".into()];
    req.logprobs = true;
    req.top_logprobs = Some(3);
    req.reasoning_effort = Some(ReasoningEffort::Low);
    req
}

/// An object with one required string.
fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": false,
    })
}
