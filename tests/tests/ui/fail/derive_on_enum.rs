use typecall::Tool;

/// A choice.
#[derive(serde::Deserialize, schemars::JsonSchema, Tool)]
enum Choice {
    Yes,
    No,
}

fn main() {}
