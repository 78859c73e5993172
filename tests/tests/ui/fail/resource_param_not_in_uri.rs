use typecall::mcp::resource;

/// A note.
#[resource(uri = "notes://{id}")]
fn note(name: String) -> String {
    name
}

fn main() {}
