use typecall::tool;

/// Gets the weather.
#[tool(type_name = "weather")]
fn weather(city: String) -> String {
    city
}

fn main() {}
