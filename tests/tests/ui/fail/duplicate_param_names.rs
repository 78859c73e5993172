use typecall::tool;

/// Moves a point.
#[tool]
fn shift(#[serde(rename = "dx")] x: f64, dx: f64) -> f64 {
    x + dx
}

fn main() {}
