//! `#[tool]`, `#[tools]` and `#[derive(Tool)]`: the definitions they generate,
//! and the dispatch of calls through a `Toolbox`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use typecall::schema::Dialect;
use typecall::tool::{ToolError, ToolSet, ToolValue, Toolbox};
use typecall::{Ctx, Tool, tool, tools};

// ---------------------------------------------------------------------------
// The tools.

/// Temperature unit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(Debug, Serialize)]
pub struct Weather {
    city: String,
    temperature: f64,
    unit: Unit,
}

#[derive(Debug)]
pub struct WeatherError(String);
impl std::fmt::Display for WeatherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no weather for {}", self.0)
    }
}

/// Get the current weather for a city.
#[tool]
pub async fn get_weather(
    /// City name, for example "Paris".
    city: String,
    /// Temperature unit; Celsius when absent.
    unit: Option<Unit>,
) -> Result<Weather, WeatherError> {
    if city == "Atlantis" {
        return Err(WeatherError(city));
    }
    tokio::task::yield_now().await;
    let unit = unit.unwrap_or(Unit::Celsius);
    let temperature = if unit == Unit::Celsius { 21.5 } else { 70.7 };
    Ok(Weather {
        city,
        temperature,
        unit,
    })
}

/// Calculates and return the square root of a number
#[tool]
fn square_root(number: f64) -> String {
    format!("{:.2}", number.sqrt())
}

/// The countries one may prefer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
pub enum Country {
    Canada,
    #[serde(rename = "USA")]
    Usa,
}

/// A tool to specify the best country
#[tool]
fn best_country(country: Country) -> &'static str {
    match country {
        Country::Canada => "Canada it is",
        Country::Usa => "USA it is",
    }
}

/// An order line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LineItem {
    /// The product's SKU.
    sku: String,
    /// How many.
    #[schemars(range(min = 1))]
    quantity: u32,
}

#[derive(Debug)]
pub struct Db {
    orders: Mutex<Vec<Vec<LineItem>>>,
    greeting: String,
}

/// Place an order and return its id.
#[tool(name = "place_order", sequential)]
fn place(
    /// What to order.
    items: Vec<LineItem>,
    /// A note for the shop.
    note: Option<String>,
    db: Ctx<Db>,
) -> Result<usize, String> {
    if items.is_empty() {
        return Err("an order needs at least one item".into());
    }
    let _ = note;
    let mut orders = db.orders.lock().unwrap();
    orders.push(items);
    Ok(orders.len())
}

/// Greet the current user.
#[tool]
fn greet(db: &Db, name: String) -> String {
    format!("{}, {name}!", db.greeting)
}

/// Crash, to show that panics are caught.
#[tool]
fn crash(reason: String) -> u32 {
    panic!("tool crashed: {reason}")
}

/// Sleep for a while.
#[tool]
async fn nap(millis: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    millis
}

/// Count the words of a text, on the blocking pool.
#[tool(blocking, description = "Count words.", type_name = "WordCounter")]
fn count_words(text: String) -> usize {
    text.split_whitespace().count()
}

/// Record a note; returns nothing.
#[tool(strict = false)]
fn remember(#[serde(rename = "noteText")] note: String, tags: Vec<String>) {
    let _ = (note, tags);
}

/// Say which kind a word is; the names are Rust keywords.
#[tool]
fn r#match(r#type: String) -> String {
    format!("kind {type}", type = r#type)
}

/// A tree, which Strict cannot express but `strict = false` can.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Tree {
    pub label: String,
    pub children: Vec<Tree>,
}

/// Count the nodes of a tree.
#[tool(strict = false)]
fn count_nodes(tree: Tree) -> usize {
    fn n(t: &Tree) -> usize {
        1 + t.children.iter().map(n).sum::<usize>()
    }
    n(&tree)
}

/// Count the nodes of a tree, strictly: cannot be built.
#[tool]
fn count_nodes_strict(tree: Tree) -> usize {
    tree.children.len()
}

#[derive(Debug, Default)]
pub struct Shop {
    calls: AtomicUsize,
}

#[derive(Debug, Serialize)]
pub struct Order {
    id: u64,
    status: &'static str,
}

#[tools]
impl Shop {
    /// Creates a shop (an associated function: not a tool).
    pub fn new() -> Self {
        Shop::default()
    }

    /// Look up an order by its id.
    pub async fn order(&self, id: u64) -> Result<Order, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if id == 0 {
            Err("order ids start at 1".into())
        } else {
            Ok(Order {
                id,
                status: "shipped",
            })
        }
    }

    /// Cancel an order. Irreversible.
    #[tool(name = "cancel_order", title = "Cancel an order", destructive)]
    pub fn cancel(&self, id: u64, reason: String) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if reason.is_empty() || id == 0 {
            Err("say why".into())
        } else {
            Ok(())
        }
    }

    /// How many calls were served (documented, but skipped).
    #[tool(skip)]
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Internal helper, not public: not a tool (said with `skip`, else an error).
    #[tool(skip)]
    fn helper(&self) -> u8 {
        1
    }
}

/// Add two numbers.
#[derive(Deserialize, JsonSchema, Tool)]
struct Add {
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
}
impl Add {
    fn call(self) -> f64 {
        self.a + self.b
    }
}

/// Divide two numbers.
#[derive(Deserialize, JsonSchema, Tool)]
#[tool(name = "divide", context = Db)]
struct Divide {
    a: f64,
    b: f64,
}
impl Divide {
    async fn call(self, db: Ctx<Db>) -> Result<String, String> {
        if self.b == 0.0 {
            return Err("division by zero".into());
        }
        Ok(format!("{} {}", db.greeting, self.a / self.b))
    }
}

fn db() -> Db {
    Db {
        orders: Mutex::new(Vec::new()),
        greeting: "Hello".into(),
    }
}

fn toolbox() -> Toolbox {
    let mut tb = Toolbox::new().context(db());
    tb.add(GetWeather).unwrap();
    tb.add(SquareRoot).unwrap();
    tb.add(BestCountry).unwrap();
    tb.add(Place).unwrap();
    tb.add(Greet).unwrap();
    tb.add(Crash).unwrap();
    tb.add(Nap).unwrap();
    tb.add(WordCounter).unwrap();
    tb.add(Remember).unwrap();
    tb.add(CountNodes).unwrap();
    tb.add(Add::tool()).unwrap();
    tb.add(Divide::tool()).unwrap();
    tb.add_set(Shop::new()).unwrap();
    tb.timeout(Duration::from_millis(500))
}

// ---------------------------------------------------------------------------
// Definitions.

#[test]
fn generated_definitions_match_their_snapshots_and_the_strict_dialect() {
    let tb = toolbox();
    assert_eq!(tb.names().len(), 14);
    for def in tb.defs() {
        insta::assert_json_snapshot!(format!("tooldef_{}", def.name), def);
        if def.strict
            && let Err(e) = Dialect::Strict.check(&def.parameters)
        {
            panic!("{}: {e}", def.name);
        }
    }
    let weather = tb.get("get_weather").unwrap().def();
    assert_eq!(weather.description, "Get the current weather for a city.");
    assert_eq!(
        weather.parameters["properties"]["city"]["description"],
        "City name, for example \"Paris\"."
    );
    assert_eq!(weather.parameters["required"], json!(["city", "unit"]));
    // Context parameters are not arguments.
    let place = tb.get("place_order").unwrap();
    assert!(place.def().parameters["properties"].get("db").is_none());
    assert!(place.sequential());
    assert!(
        tb.get("greet").unwrap().def().parameters["properties"]
            .get("db")
            .is_none()
    );
    // Options.
    assert!(!tb.get("remember").unwrap().def().strict);
    assert!(
        tb.get("remember").unwrap().def().parameters["properties"]
            .get("noteText")
            .is_some()
    );
    assert_eq!(
        tb.get("count_words").unwrap().def().description,
        "Count words."
    );
    assert!(tb.get("calls").is_none() && tb.get("helper").is_none() && tb.get("new").is_none());
    // The functions stay ordinary Rust.
    assert_eq!(square_root(4.0), "2.00");
}

#[test]
fn a_tool_that_cannot_be_strict_is_refused_with_the_reason() {
    let err = Toolbox::new()
        .with(CountNodesStrict)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("recursive") && err.contains("children"),
        "{err}"
    );
    assert!(CountNodesStrict.schema_error().is_some());
}

#[test]
fn duplicate_names_are_refused() {
    let err = Toolbox::new()
        .with(SquareRoot)
        .unwrap()
        .with(SquareRoot)
        .unwrap_err()
        .to_string();
    assert!(err.contains("square_root"), "{err}");
}

// ---------------------------------------------------------------------------
// Dispatch.

#[tokio::test]
async fn json_in_function_runs_json_or_text_out() {
    let tb = toolbox();
    let w = tb
        .call("get_weather", r#"{"city": "Paris", "unit": null}"#)
        .await
        .unwrap();
    assert_eq!(
        w,
        ToolValue::Json(json!({"city": "Paris", "temperature": 21.5, "unit": "celsius"}))
    );
    let w = tb
        .call("get_weather", r#"{"city": "Paris", "unit": "fahrenheit"}"#)
        .await
        .unwrap();
    assert!(w.to_content().contains("70.7"));
    assert_eq!(
        tb.call("square_root", r#"{"number": 132413}"#)
            .await
            .unwrap(),
        ToolValue::Text("363.89".into())
    );
    // Text out, as the model sees it.
    let cases = [
        ("best_country", r#"{"country": "USA"}"#, "USA it is"),
        (
            "place_order",
            r#"{"items": [{"sku": "a", "quantity": 2}], "note": null}"#,
            "1",
        ),
        ("greet", r#"{"name": "Ada"}"#, "Hello, Ada!"),
        ("count_words", r#"{"text": "one two  three"}"#, "3"),
        ("remember", r#"{"noteText": "x", "tags": []}"#, "ok"),
        (
            "count_nodes",
            r#"{"tree": {"label": "r", "children": [{"label": "c", "children": []}]}}"#,
            "2",
        ),
        ("add", r#"{"a": 1.5, "b": 2}"#, "3.5"),
        ("divide", r#"{"a": 1, "b": 4}"#, "Hello 0.25"),
        ("cancel_order", r#"{"id": 42, "reason": "late"}"#, "ok"),
    ];
    for (name, args, out) in cases {
        let got = tb.call(name, args).await.unwrap().to_content();
        assert_eq!(got, out, "{name} {args}");
    }
    assert_eq!(
        tb.call("order", r#"{"id": 42}"#).await.unwrap(),
        ToolValue::Json(json!({"id": 42, "status": "shipped"}))
    );
}

#[tokio::test]
async fn every_failure_is_a_tool_error_the_model_can_act_on() {
    let tb = toolbox();
    // Unknown tool: lists the known ones.
    let e = tb.call("get_wether", "{}").await.unwrap_err();
    assert!(matches!(&e, ToolError::UnknownTool { .. }));
    assert!(
        e.to_string().contains("get_weather") && e.to_string().contains("square_root"),
        "{e}"
    );
    // Not JSON.
    let e = tb.call("square_root", "{number: 4").await.unwrap_err();
    assert!(matches!(e, ToolError::NotJson { .. }), "{e}");
    // Invalid arguments: each pointer and what was expected.
    let e = tb
        .call(
            "place_order",
            r#"{"items": [{"sku": 1, "quantity": 0}], "note": null}"#,
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("/items/0/sku") && text.contains("/items/0/quantity"),
        "{text}"
    );
    assert!(
        !text.contains("invalid arguments for `place_order`: ;"),
        "{text}"
    );
    let e = tb
        .call("best_country", r#"{"country": "Mexico"}"#)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/country"), "{e}");
    let e = tb.call("square_root", r#"{}"#).await.unwrap_err();
    assert!(e.to_string().contains("number"), "{e}");
    // The tool's own error.
    let e = tb
        .call("get_weather", r#"{"city": "Atlantis", "unit": null}"#)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`get_weather` failed: no weather for Atlantis"
    );
    let e = tb
        .call("place_order", r#"{"items": [], "note": null}"#)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least one item"));
    let e = tb.call("divide", r#"{"a": 1, "b": 0}"#).await.unwrap_err();
    assert!(e.to_string().contains("division by zero"));
    let e = tb.call("order", r#"{"id": 0}"#).await.unwrap_err();
    assert!(e.to_string().contains("start at 1"));
    // A panic, caught; the toolbox still works afterwards.
    let e = tb.call("crash", r#"{"reason": "boom"}"#).await.unwrap_err();
    assert!(
        matches!(&e, ToolError::Panicked { message, .. } if message.contains("boom")),
        "{e}"
    );
    assert_eq!(
        tb.call("square_root", r#"{"number": 9}"#)
            .await
            .unwrap()
            .to_content(),
        "3.00"
    );
    // A timeout.
    let e = tb.call("nap", r#"{"millis": 5000}"#).await.unwrap_err();
    assert!(matches!(e, ToolError::TimedOut { .. }), "{e}");
    assert_eq!(
        tb.call("nap", r#"{"millis": 1}"#)
            .await
            .unwrap()
            .to_content(),
        "1"
    );
    // Missing context.
    let bare = Toolbox::new().with(Greet).unwrap();
    let e = bare.call("greet", r#"{"name": "x"}"#).await.unwrap_err();
    assert!(e.to_string().contains("Db"), "{e}");
}

#[tokio::test]
async fn tools_sets_share_one_value() {
    let shop = std::sync::Arc::new(Shop::new());
    let tools = shop.clone().into_tools();
    assert_eq!(tools.len(), 2);
    let mut tb = Toolbox::new();
    for t in tools {
        tb.add_arc(t).unwrap();
    }
    tb.call("order", r#"{"id": 1}"#).await.unwrap();
    tb.call("cancel_order", r#"{"id": 1, "reason": "r"}"#)
        .await
        .unwrap();
    assert_eq!(shop.calls(), 2);
    assert_eq!(shop.helper(), 1);
}

// ---------------------------------------------------------------------------
// The recorded tools, written as #[tool] functions.

#[test]
fn the_recorded_tools_written_as_functions_give_the_recorded_schemas() {
    let Some(dir) = typecall_tests::recordings_dir("recorded tools") else {
        return;
    };
    let tb = toolbox();
    let mut checked = 0;
    for path in typecall_tests::json_files(&dir.join("cerebras")) {
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("GenSync-Tools-")
        {
            continue;
        }
        let rec = typecall_tests::read_json(&path);
        let body = &rec["interactions"][0]["request"]["body"];
        for t in body["tools"].as_array().unwrap() {
            let name = t["function"]["name"].as_str().unwrap();
            let ours = tb.get(name).unwrap().def();
            assert_eq!(
                ours.description,
                t["function"]["description"].as_str().unwrap(),
                "{}",
                path.display()
            );
            let mut recorded = t["function"]["parameters"].clone();
            recorded.as_object_mut().unwrap().remove("$schema");
            let mut mine = ours.parameters.clone();
            mine.as_object_mut().unwrap().remove("$schema");
            // Same meaning: same properties, types, enum values, required, closed.
            assert_eq!(mine["required"], recorded["required"]);
            assert_eq!(
                mine["additionalProperties"],
                recorded["additionalProperties"]
            );
            for (prop, schema) in recorded["properties"].as_object().unwrap() {
                assert_eq!(
                    mine["properties"][prop]["type"], schema["type"],
                    "{name}.{prop}"
                );
                if let Some(e) = schema.get("enum") {
                    let mut a: Vec<_> = e.as_array().unwrap().clone();
                    let mut b: Vec<_> =
                        mine["properties"][prop]["enum"].as_array().unwrap().clone();
                    a.sort_by_key(|v| v.to_string());
                    b.sort_by_key(|v| v.to_string());
                    assert_eq!(a, b, "{name}.{prop}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 10);
}

#[tokio::test]
async fn the_recorded_tool_calls_dispatch_to_the_functions() {
    let Some(dir) = typecall_tests::recordings_dir("recorded tool calls") else {
        return;
    };
    let tb = toolbox();
    let mut ran = 0;
    for path in typecall_tests::json_files(&dir.join("cerebras")) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains("-Tools-") || !name.starts_with("GenSync") {
            continue;
        }
        let rec = typecall_tests::read_json(&path);
        let resp = &rec["interactions"][0]["response"];
        if resp["status"] != 200 {
            continue;
        }
        let answer =
            typecall::testing::decode::chat_response(resp["body"].as_str().unwrap()).unwrap();
        for call in &answer.tool_calls {
            let out = tb
                .call(&call.name, &call.arguments)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if call.name == "square_root" {
                assert_eq!(out.to_content(), "363.89", "{name}");
            } else {
                assert!(out.to_content().ends_with("it is"), "{name}");
            }
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} recorded calls");
}

#[tokio::test]
async fn raw_identifiers_give_plain_names() {
    let tb = Toolbox::new().with(Match).unwrap();
    let def = tb.get("match").unwrap().def();
    assert_eq!(def.parameters["required"], json!(["type"]));
    assert_eq!(
        tb.call("match", r#"{"type": "noun"}"#)
            .await
            .unwrap()
            .to_content(),
        "kind noun"
    );
    assert_eq!(r#match("verb".into()), "kind verb");
}

/// Looks a word up; nothing when it is unknown.
#[tool]
fn look_up(word: String) -> Option<String> {
    (word == "tea").then(|| "a drink".to_owned())
}

/// The outcome of a check, behind an alias the macro cannot see through.
type Outcome = Result<u32, String>;

/// Checks a number.
#[tool]
fn check_number(n: u32) -> Outcome {
    if n > 10 {
        Err(format!("{n} is too large"))
    } else {
        Ok(n)
    }
}

/// Checks a number, with an error that is `Display`.
#[tool]
fn check_io(n: u32) -> std::io::Result<u32> {
    if n > 10 {
        Err(std::io::Error::other(format!("{n} is too large")))
    } else {
        Ok(n)
    }
}

#[tokio::test]
async fn none_says_null_unit_says_ok_and_an_err_is_never_a_success() {
    let tools = Toolbox::new()
        .with(LookUp)
        .unwrap()
        .with(Remember)
        .unwrap()
        .with(CheckNumber)
        .unwrap()
        .with(CheckIo)
        .unwrap();
    let out = |r: typecall::tool::ToolResult| r.map(|v| v.to_content());
    assert_eq!(
        out(tools.call("look_up", r#"{"word": "tea"}"#).await).unwrap(),
        "a drink"
    );
    assert_eq!(
        out(tools.call("look_up", r#"{"word": "x"}"#).await).unwrap(),
        "null"
    );
    let unit = tools
        .call("remember", r#"{"noteText": "a", "tags": []}"#)
        .await;
    assert_eq!(out(unit).unwrap(), "ok");
    // Through an alias: `Ok` is the value, `Err` an error the model reads.
    assert_eq!(
        out(tools.call("check_number", r#"{"n": 3}"#).await).unwrap(),
        "3"
    );
    let err = tools
        .call("check_number", r#"{"n": 30}"#)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed { message, .. } if message == "30 is too large"),
        "{err:?}"
    );
    let err = tools.call("check_io", r#"{"n": 30}"#).await.unwrap_err();
    assert!(err.to_string().contains("30 is too large"), "{err}");
}

/// A cup size.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum Size {
    /// 20 cl.
    Small,
    /// 35 cl.
    Large,
}

/// Orders a coffee.
#[tool]
fn order_coffee(size: Size, sugar: Option<Size>) -> String {
    format!("{size:?} {sugar:?}")
}

#[tokio::test]
async fn a_bad_enum_argument_is_told_the_allowed_values() {
    let tools = Toolbox::new().with(OrderCoffee).unwrap();
    // Documented variants make a `oneOf` of constants (sent as `anyOf`): the
    // message names the values, not the keyword.
    let err = tools
        .call("order_coffee", r#"{"size": "Huge", "sugar": null}"#)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(r#""Huge" is not one of "Small" or "Large""#),
        "{text}"
    );
    assert!(!text.contains("oneOf") && !text.contains("anyOf"), "{text}");
    assert!(text.contains("/size"), "{text}");
    let err = tools
        .call("order_coffee", r#"{"size": "Small", "sugar": "lots"}"#)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#""lots" is not one of "Small", "Large" or null"#)
            || err.contains(r#""lots" is not one of "Small" or "Large""#),
        "{err}"
    );
    // The same in a decoded value (structured output).
    let schema = typecall::schema::schema_for::<Size>(Dialect::Strict).unwrap();
    let e = schema
        .decode::<Size>(json!({"value": "Medium"}))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(r#""Medium" is not one of "Small" or "Large""#),
        "{e}"
    );
}

/// A point in time the caller's own code reads; neither `Deserialize` nor
/// `JsonSchema`.
#[derive(Debug)]
pub struct Stamp(u64);

/// Reads a stamp from its decimal text.
fn stamp_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Stamp).map_err(serde::de::Error::custom)
}

/// Says how long ago a stamp was; `limit` is optional.
#[tool(strict = false)]
fn age(
    #[serde(deserialize_with = "stamp_from_text")]
    #[schemars(with = "String")]
    stamp: Stamp,
    limit: Option<u32>,
) -> u64 {
    1_000u64.saturating_sub(stamp.0) + u64::from(limit.unwrap_or(0))
}

#[tokio::test]
async fn a_parameter_with_its_own_codec_keeps_its_type_and_options_stay_optional() {
    let tools = Toolbox::new().with(Age).unwrap();
    let def = &tools.defs()[0];
    assert_eq!(def.parameters["properties"]["stamp"]["type"], "string");
    // The `Option` is still seen through the struct's type parameter: not required.
    assert_eq!(def.parameters["required"], json!(["stamp"]));
    assert_eq!(
        tools.call("age", r#"{"stamp": "990"}"#).await.unwrap(),
        ToolValue::Json(json!(10))
    );
    let err = tools
        .call("age", r#"{"stamp": "soon", "limit": 1}"#)
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments { .. }), "{err:?}");
}

#[test]
fn hints_come_from_the_attribute_and_output_schemas_from_the_return_type() {
    use typecall::tool::{ToolAnnotations, WRAPPED_RESULT};
    let tools = std::sync::Arc::new(Shop::new()).into_tools();
    let find = |name: &str| tools.iter().find(|t| t.def().name == name).unwrap();
    let cancel = find("cancel_order");
    assert_eq!(
        cancel.annotations(),
        ToolAnnotations::new()
            .title("Cancel an order")
            .destructive(true)
    );
    assert!(cancel.annotations().may_destroy());
    // `Result<(), String>`: nothing structured to describe.
    assert!(cancel.output_schema().is_none());
    // `Order` is `Serialize` but not `JsonSchema`: no schema, no error.
    assert!(find("order").output_schema().is_none());
    assert_eq!(find("order").annotations(), ToolAnnotations::default());
    // A scalar is wrapped as {"result": …}, saying so.
    let age = Age.output_schema().unwrap().clone();
    assert_eq!(age["properties"]["result"]["type"], "integer", "{age}");
    assert_eq!(age[WRAPPED_RESULT], true);
    let text = SquareRoot.output_schema().unwrap().clone();
    assert_eq!(text["properties"]["result"]["type"], "string", "{text}");
    assert!(Remember.output_schema().is_none());
}
