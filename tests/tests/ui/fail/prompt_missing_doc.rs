use typecall::mcp::{PromptMessage, prompt};

#[prompt]
fn review(code: String) -> PromptMessage {
    PromptMessage::user_text(code)
}

fn main() {}
