use typecall::tool;

pub struct Summary {
    pub text: String,
}

/// Writes a report.
#[tool]
fn report(topic: String) -> Summary {
    Summary { text: topic }
}

fn main() {}
