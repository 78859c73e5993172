use typecall::tool;

/// A forecast of the user's own.
pub struct Forecast {
    pub days: u32,
}

/// Forecast the weather for a city.
#[tool]
fn forecast(city: String) -> String {
    city
}

fn main() {
    let _ = Forecast { days: 1 };
}
