use typecall::tool;

/// Gets the weather.
#[tool(strict = "no")]
fn get_weather(city: String) -> String {
    city
}

fn main() {}
