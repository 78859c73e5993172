use typecall::tool;

/// Gets the weather.
#[tool(nmae = "weather")]
fn get_weather(city: String) -> String {
    city
}

fn main() {}
