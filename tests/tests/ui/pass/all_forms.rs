#![deny(warnings)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use typecall::tool::Toolbox;
use typecall::{Ctx, Tool, tool, tools};

#[derive(Serialize, Deserialize, JsonSchema)]
pub enum Unit {
    Celsius,
    Fahrenheit,
}

pub struct Db;

/// Get the weather.
#[tool]
pub async fn get_weather(
    /// The city.
    city: String,
    /// The unit.
    unit: Option<Unit>,
    _db: Ctx<Db>,
) -> Result<String, std::io::Error> {
    let _ = unit;
    Ok(city)
}

/// Square root.
#[tool(name = "sqrt", strict = false, blocking, sequential, title = "Square root", read_only, idempotent, open_world)]
fn square_root(number: f64, _db: &Db) -> f64 {
    number.sqrt()
}

/// Does nothing.
#[tool(description = "Nothing at all.", type_name = "NoOp")]
fn noop() {}

pub struct Shop;

#[tools]
impl Shop {
    /// Look up an order.
    pub async fn order(&self, id: u64) -> Result<u64, String> {
        Ok(id)
    }
    /// Cancel an order.
    #[tool(name = "cancel_order", blocking, destructive)]
    pub fn cancel(&self, id: u64) -> &'static str {
        let _ = id;
        "cancelled"
    }
    /// Not a tool.
    #[tool(skip)]
    pub fn skipped(&self) {}
    #[tool(skip)]
    pub fn undocumented(&self) {}
}

/// Add two numbers.
#[derive(Deserialize, JsonSchema, Tool)]
struct Add {
    a: f64,
    b: f64,
}
impl Add {
    fn call(self) -> f64 {
        self.a + self.b
    }
}

fn main() {
    let tb = Toolbox::new()
        .context(Db)
        .with(GetWeather)
        .and_then(|t| t.with(SquareRoot))
        .and_then(|t| t.with(NoOp))
        .and_then(|t| t.with(Add::tool()))
        .and_then(|t| t.with_set(Shop))
        .expect("all tools build");
    assert_eq!(tb.names(), ["get_weather", "sqrt", "noop", "add", "order", "cancel_order"]);
}
