use typecall::tool;

/// Not a function.
#[tool]
struct Weather {
    city: String,
}

fn main() {}
