//! The schema corpus: 40+ Rust types, each with a snapshot of its Strict and
//! JsonSchema output, a dialect check, a round trip of a sample value, and a
//! broken value that must fail validation at the right JSON pointer.

use std::collections::BTreeMap;
use std::fmt::Debug;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use typecall::schema::{Dialect, Schema, schema_for};

fn check_case<T>(name: &str, sample: T, broken: Value, pointer: &str)
where
    T: JsonSchema + Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    let strict = schema_for::<T>(Dialect::Strict).unwrap_or_else(|e| panic!("{name}: {e}"));
    let plain = schema_for::<T>(Dialect::JsonSchema).unwrap_or_else(|e| panic!("{name}: {e}"));
    insta::assert_json_snapshot!(format!("{name}__strict"), strict.as_json());
    insta::assert_json_snapshot!(format!("{name}__jsonschema"), plain.as_json());
    if let Err(e) = Dialect::Strict.check(strict.as_json()) {
        panic!("{name}: the Strict schema breaks its own dialect: {e}");
    }
    if let Err(e) = Dialect::JsonSchema.check(plain.as_json()) {
        panic!("{name}: {e}");
    }

    // Round trip: serde's own output validates and decodes back equal.
    let value = serde_json::to_value(&sample).unwrap();
    for s in [strict, plain] {
        if let Err(e) = s.validate(&value) {
            panic!(
                "{name} ({}): the sample {value} does not validate: {e}",
                s.dialect()
            );
        }
        let back: T = s
            .decode(s.to_wire(value.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, sample, "{name}: round trip through {}", s.dialect());
    }

    // The broken value fails, at the right place.
    let errors = strict
        .validate(&broken)
        .expect_err(&format!("{name}: {broken} must not validate"));
    assert!(
        errors.pointers().any(|p| p == pointer),
        "{name}: expected an issue at {pointer:?}, got {errors}"
    );
    // The message names the problem (it becomes a repair prompt).
    assert!(errors.issues().iter().all(|i| !i.message.is_empty()));
}

macro_rules! case {
    ($test:ident: $ty:ty = $sample:expr; broken $broken:expr => $pointer:expr) => {
        #[test]
        fn $test() {
            check_case::<$ty>(stringify!($test), $sample, $broken, $pointer);
        }
    };
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Flags {
    enabled: bool,
}
case!(bool_field: Flags = Flags { enabled: true }; broken json!({"enabled": "yes"}) => "/enabled");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Signed {
    a: i8,
    b: i16,
    c: i32,
    d: i64,
    e: isize,
}
case!(signed_integers: Signed = Signed { a: -128, b: i16::MAX, c: i32::MIN, d: i64::MAX, e: -1 };
    broken json!({"a": -129, "b": 0, "c": 0, "d": 0, "e": 0}) => "/a");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Unsigned {
    a: u8,
    b: u16,
    c: u32,
    d: u64,
    e: usize,
}
case!(unsigned_integers: Unsigned = Unsigned { a: 255, b: u16::MAX, c: u32::MAX, d: u64::MAX, e: 7 };
    broken json!({"a": 256, "b": 0, "c": 0, "d": 0, "e": 0}) => "/a");
case!(unsigned_negative: Unsigned = Unsigned { a: 0, b: 0, c: 0, d: 0, e: 0 };
    broken json!({"a": 1, "b": 0, "c": -1, "d": 0, "e": 0}) => "/c");
case!(u16_out_of_range: Unsigned = Unsigned { a: 1, b: 2, c: 3, d: 4, e: 5 };
    broken json!({"a": 1, "b": 65536, "c": 0, "d": 0, "e": 0}) => "/b");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Floats {
    single: f32,
    double: f64,
}
case!(floats: Floats = Floats { single: 1.5, double: -2.25 };
    broken json!({"single": "1.5", "double": 0.0}) => "/single");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Chars {
    initial: char,
}
case!(char_field: Chars = Chars { initial: 'é' }; broken json!({"initial": "ab"}) => "/initial");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Text {
    body: String,
}
case!(string_field: Text = Text { body: "hello \u{1F600}".into() }; broken json!({"body": 3}) => "/body");
case!(missing_field: Text = Text { body: String::new() }; broken json!({}) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithOptions {
    nickname: Option<String>,
    age: Option<u32>,
}
case!(options: WithOptions = WithOptions { nickname: None, age: Some(3) };
    broken json!({"nickname": 1, "age": null}) => "/nickname");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithVec {
    tags: Vec<String>,
}
case!(vec_field: WithVec = WithVec { tags: vec!["a".into(), "b".into()] };
    broken json!({"tags": ["a", 2]}) => "/tags/1");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithArray {
    rgb: [u8; 3],
}
case!(fixed_array: WithArray = WithArray { rgb: [1, 2, 3] };
    broken json!({"rgb": [1, 2]}) => "/rgb");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithTuple {
    pair: (String, i32),
}
case!(tuple_field: WithTuple = WithTuple { pair: ("x".into(), 4) };
    broken json!({"pair": ["x", "y"]}) => "/pair/1");

/// A distance in meters.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Meters(f64);

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Distance {
    length: Meters,
}
case!(newtype_field: Distance = Distance { length: Meters(3.5) };
    broken json!({"length": {"value": 3.5}}) => "/length");
case!(newtype_root: Meters = Meters(2.0); broken json!("far") => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Polyline {
    start: Point,
    points: Vec<Point>,
}
case!(nested_structs: Polyline = Polyline { start: Point { x: 0, y: 0 }, points: vec![Point { x: 1, y: 2 }] };
    broken json!({"start": {"x": 0, "y": 0}, "points": [{"x": 1}]}) => "/points/0");

/// A primary colour.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Color {
    Red,
    Green,
    Blue,
}
case!(unit_enum_root: Color = Color::Green; broken json!("Purple") => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Paint {
    color: Color,
    coats: u8,
}
case!(unit_enum_field: Paint = Paint { color: Color::Blue, coats: 2 };
    broken json!({"color": "blue", "coats": 2}) => "/color");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Shape {
    Circle { radius: f64 },
    Square(f64),
    Dot,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Drawing {
    shapes: Vec<Shape>,
}
case!(externally_tagged_enum: Drawing = Drawing { shapes: vec![Shape::Circle { radius: 1.0 }, Shape::Square(2.0), Shape::Dot] };
    broken json!({"shapes": [{"Circle": {"radius": "big"}}]}) => "/shapes/0");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Event {
    Click { x: i32, y: i32 },
    KeyPress { key: String },
    Idle,
}
case!(internally_tagged_enum: Event = Event::KeyPress { key: "a".into() };
    broken json!({"kind": "scroll"}) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "c")]
enum Message {
    Text(String),
    Move { dx: i32, dy: i32 },
    Quit,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Inbox {
    messages: Vec<Message>,
}
case!(adjacently_tagged_enum: Inbox = Inbox { messages: vec![Message::Text("hi".into()), Message::Move { dx: 1, dy: -1 }, Message::Quit] };
    broken json!({"messages": [{"t": "Text", "c": 5}]}) => "/messages/0");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum Id {
    Number(u64),
    Name(String),
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Lookup {
    id: Id,
    fallback: Option<Id>,
}
case!(untagged_enum: Lookup = Lookup { id: Id::Name("x".into()), fallback: Some(Id::Number(3)) };
    broken json!({"id": true, "fallback": null}) => "/id");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct CamelCase {
    first_name: String,
    last_login_at: Option<String>,
}
case!(rename_all_struct: CamelCase = CamelCase { first_name: "Ada".into(), last_login_at: None };
    broken json!({"first_name": "Ada"}) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Renamed {
    #[serde(rename = "type")]
    kind: String,
}
case!(renamed_field: Renamed = Renamed { kind: "x".into() }; broken json!({"type": false}) => "/type");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Level {
    VeryLow,
    Medium,
    #[serde(rename = "max")]
    Maximum,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Alarm {
    level: Level,
}
case!(rename_all_enum: Alarm = Alarm { level: Level::Maximum }; broken json!({"level": "Medium"}) => "/level");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Audit {
    created_by: String,
    created_at: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Document {
    title: String,
    #[serde(flatten)]
    audit: Audit,
}
case!(flatten: Document = Document { title: "t".into(), audit: Audit { created_by: "me".into(), created_at: 5 } };
    broken json!({"title": "t", "created_by": "me"}) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Settings {
    name: String,
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    labels: Vec<String>,
}
case!(serde_default: Settings = Settings { name: "n".into(), retries: 0, labels: vec![] };
    broken json!({"name": "n", "retries": -1}) => "/retries");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithSkip {
    shown: String,
    #[serde(skip)]
    cache: Vec<u8>,
}
case!(serde_skip: WithSkip = WithSkip { shown: "s".into(), cache: vec![] };
    broken json!({"shown": null}) => "/shown");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Page<T> {
    items: Vec<T>,
    total: u32,
}
case!(generic_struct: Page<Point> = Page { items: vec![Point { x: 1, y: 1 }], total: 1 };
    broken json!({"items": [{"x": 1, "y": "1"}], "total": 1}) => "/items/0/y");

/// A person in the address book.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Person {
    /// Full name, as written on an ID card.
    name: String,
    /// Age in whole years.
    age: u8,
    /// Email address, if known.
    email: Option<String>,
}
case!(doc_comments: Person = Person { name: "Ada".into(), age: 36, email: Some("ada@example.com".into()) };
    broken json!({"name": "Ada", "age": 300}) => "/age");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Inventory {
    stock: BTreeMap<String, u32>,
}
case!(string_map: Inventory = Inventory { stock: [("apple".to_owned(), 3), ("pear".to_owned(), 0)].into() };
    broken json!({"stock": {"apple": -3}}) => "/stock/apple");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Matrix {
    rows: Vec<Vec<i32>>,
}
case!(nested_vec: Matrix = Matrix { rows: vec![vec![1, 2], vec![3]] };
    broken json!({"rows": [[1], [2, "3"]]}) => "/rows/1/1");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct MaybeList {
    tags: Option<Vec<String>>,
    origin: Option<Point>,
}
case!(option_of_vec_and_struct: MaybeList = MaybeList { tags: Some(vec!["a".into()]), origin: None };
    broken json!({"tags": "a", "origin": null}) => "/tags");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Palette {
    colors: Vec<Color>,
}
case!(vec_of_enum: Palette = Palette { colors: vec![Color::Red, Color::Blue] };
    broken json!({"colors": ["Red", "Pink"]}) => "/colors/1");

case!(vec_root: Vec<Point> = vec![Point { x: 1, y: 2 }]; broken json!([{"x": 1, "y": 2.5}]) => "/0/y");
case!(integer_root: i32 = -7; broken json!(2_147_483_648_i64) => "");
case!(string_root: String = "free".into(); broken json!(null) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Constrained {
    /// Between 1 and 10.
    #[schemars(range(min = 1, max = 10))]
    rating: u8,
    #[schemars(length(min = 2, max = 8))]
    code: String,
    #[schemars(email)]
    contact: String,
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    currency: String,
    #[schemars(length(min = 1))]
    lines: Vec<String>,
}
case!(validation_keywords: Constrained = Constrained { rating: 5, code: "AB".into(), contact: "a@b.co".into(), currency: "EUR".into(), lines: vec!["l".into()] };
    broken json!({"rating": 5, "code": "AB", "contact": "a@b.co", "currency": "euro", "lines": ["l"]}) => "/currency");
case!(validation_min_items: Constrained = Constrained { rating: 10, code: "ABCDEFGH".into(), contact: "x@y.z".into(), currency: "USD".into(), lines: vec!["a".into(), "b".into()] };
    broken json!({"rating": 5, "code": "AB", "contact": "a@b.co", "currency": "EUR", "lines": []}) => "/lines");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(description = "A boxed linked value.")]
struct Boxed {
    #[schemars(description = "The inner point, on the heap.")]
    inner: Box<Point>,
}
case!(boxed_and_schemars_description: Boxed = Boxed { inner: Box::new(Point { x: 1, y: 1 }) };
    broken json!({"inner": {"x": 1, "y": 1.5}}) => "/inner/y");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Empty {}
case!(empty_struct: Empty = Empty {}; broken json!([]) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Line {
    description: String,
    quantity: u32,
    unit_price_cents: u64,
}

/// An invoice extracted from text.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Invoice {
    number: String,
    total_cents: u64,
    lines: Vec<Line>,
    due: Option<String>,
    currency: Level,
}
case!(invoice: Invoice = Invoice { number: "F-1".into(), total_cents: 1000, lines: vec![Line { description: "x".into(), quantity: 2, unit_price_cents: 500 }], due: None, currency: Level::Medium };
    broken json!({"number": "F-1", "total_cents": 10, "lines": [{"description": "x", "quantity": -2, "unit_price_cents": 5}], "due": null, "currency": "MEDIUM"}) => "/lines/0/quantity");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct L4 {
    leaf: bool,
}
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct L3 {
    l4: L4,
}
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct L2 {
    l3: Vec<L3>,
}
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct L1 {
    l2: Option<L2>,
}
case!(deep_nesting: L1 = L1 { l2: Some(L2 { l3: vec![L3 { l4: L4 { leaf: true } }] }) };
    broken json!({"l2": {"l3": [{"l4": {"leaf": 1}}]}}) => "/l2/l3/0/l4/leaf");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct OptionalDefault {
    #[serde(default)]
    note: Option<String>,
    #[serde(default = "three")]
    count: u8,
}
fn three() -> u8 {
    3
}
case!(option_with_default: OptionalDefault = OptionalDefault { note: None, count: 3 };
    broken json!({"count": "3"}) => "/count");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Calc {
    Add { a: f64, b: f64 },
    Neg { a: f64 },
}
case!(tagged_enum_root: Calc = Calc::Add { a: 1.0, b: 2.0 };
    broken json!({"op": "add", "a": 1.0}) => "");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Scores {
    by_player: BTreeMap<String, Vec<Point>>,
    best: Option<BTreeMap<String, f64>>,
}
case!(map_of_structs: Scores = Scores { by_player: [("a".to_owned(), vec![Point { x: 1, y: 2 }])].into(), best: None };
    broken json!({"by_player": {"a": [{"x": 1}]}, "best": null}) => "/by_player/a/0");

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Pairs {
    pairs: Vec<(Color, bool)>,
}
case!(vec_of_tuples: Pairs = Pairs { pairs: vec![(Color::Red, true)] };
    broken json!({"pairs": [["Red", "true"]]}) => "/pairs/0/1");

// ---------------------------------------------------------------------------
// What strict lowering does, seen from a model's answer.

#[test]
fn strict_objects_list_every_property_and_make_optional_ones_nullable() {
    let s = schema_for::<WithOptions>(Dialect::Strict).unwrap();
    let wire = s.as_json();
    assert_eq!(wire["additionalProperties"], json!(false));
    assert_eq!(wire["required"], json!(["nickname", "age"]));
    // Nullable is `anyOf` with null, never a list of types.
    assert!(
        wire["properties"]["age"]["anyOf"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "null"}))
    );
    assert!(!wire.to_string().contains(r#""type":["#));
    // What a strict model sends back decodes.
    let v: WithOptions = s.decode(json!({"nickname": null, "age": 4})).unwrap();
    assert_eq!(
        v,
        WithOptions {
            nickname: None,
            age: Some(4)
        }
    );
    // A nullable field left out (Cerebras version 2 may omit it) is `None` too.
    let v: WithOptions = s.decode(json!({"age": null})).unwrap();
    assert_eq!(
        v,
        WithOptions {
            nickname: None,
            age: None
        }
    );
}

#[test]
fn a_serde_default_field_decodes_null_to_its_default() {
    let s = schema_for::<Settings>(Dialect::Strict).unwrap();
    assert_eq!(
        s.as_json()["required"],
        json!(["name", "retries", "labels"])
    );
    let v: Settings = s
        .decode(json!({"name": "n", "retries": null, "labels": null}))
        .unwrap();
    assert_eq!(
        v,
        Settings {
            name: "n".into(),
            retries: 0,
            labels: vec![]
        }
    );
    let v: OptionalDefault = schema_for::<OptionalDefault>(Dialect::Strict)
        .unwrap()
        .decode(json!({"note": null, "count": null}))
        .unwrap();
    assert_eq!(
        v,
        OptionalDefault {
            note: None,
            count: 3
        }
    );
}

#[test]
fn maps_are_sent_as_entry_lists_and_decoded_back() {
    let s = schema_for::<Inventory>(Dialect::Strict).unwrap();
    assert_eq!(s.as_json()["properties"]["stock"]["type"], json!("array"));
    let v: Inventory = s
        .decode(json!({"stock": [{"key": "apple", "value": 3}, {"key": "kiwi", "value": 1}]}))
        .unwrap();
    assert_eq!(v.stock.get("kiwi"), Some(&1));
    // A bad value inside an entry is reported at the map key.
    let err = s
        .decode::<Inventory>(json!({"stock": [{"key": "apple", "value": -1}]}))
        .unwrap_err();
    assert!(err.to_string().contains("/stock/apple"), "{err}");
    let v: Scores = schema_for::<Scores>(Dialect::Strict)
        .unwrap()
        .decode(json!({"by_player": [{"key": "p", "value": [{"x": 1, "y": 2}]}], "best": [{"key": "p", "value": 1.5}]}))
        .unwrap();
    assert_eq!(v.best.unwrap().get("p"), Some(&1.5));
}

#[test]
fn non_object_roots_are_wrapped_and_unwrapped() {
    let s = schema_for::<Vec<Point>>(Dialect::Strict).unwrap();
    assert!(s.is_wrapped());
    assert_eq!(s.as_json()["type"], json!("object"));
    assert_eq!(s.as_json()["required"], json!(["value"]));
    let v: Vec<Point> = s.decode(json!({"value": [{"x": 1, "y": 2}]})).unwrap();
    assert_eq!(v, vec![Point { x: 1, y: 2 }]);
    let c: Calc = schema_for::<Calc>(Dialect::Strict)
        .unwrap()
        .decode(json!({"value": {"op": "neg", "a": 2.0}}))
        .unwrap();
    assert_eq!(c, Calc::Neg { a: 2.0 });
    assert!(
        !schema_for::<Vec<Point>>(Dialect::JsonSchema)
            .unwrap()
            .is_wrapped()
    );
}

#[test]
fn dropped_keywords_are_described_and_still_enforced() {
    let s = schema_for::<Constrained>(Dialect::Strict).unwrap();
    let props = &s.as_json()["properties"];
    for (field, note) in [
        ("currency", "pattern: ^[A-Z]{3}$"),
        ("contact", "format: email"),
        ("code", "minLength: 2"),
        ("lines", "minItems: 1"),
    ] {
        let d = props[field]["description"].as_str().unwrap_or_default();
        assert!(d.contains(note), "{field}: {d:?} should mention {note:?}");
        assert!(props[field].get("pattern").is_none() && props[field].get("format").is_none());
    }
    // The range is accepted by the dialect and sent as is.
    assert_eq!(props["rating"]["maximum"], json!(10));
    let err = s
        .validate(&json!({"rating": 5, "code": "A", "contact": "nope", "currency": "EUR", "lines": ["x"]}))
        .unwrap_err();
    let pointers: Vec<&str> = err.pointers().collect();
    assert!(pointers.contains(&"/code"), "{err}");
    assert!(pointers.contains(&"/contact"), "{err}");
}

#[test]
fn every_schema_is_cached_per_type_and_dialect() {
    let a = schema_for::<Invoice>(Dialect::Strict).unwrap();
    let b = schema_for::<Invoice>(Dialect::Strict).unwrap();
    assert!(std::ptr::eq(a, b));
    let c = schema_for::<Invoice>(Dialect::JsonSchema).unwrap();
    assert!(!std::ptr::eq(a, c));
    assert!(!std::ptr::eq(
        schema_for::<Page<Point>>(Dialect::Strict).unwrap(),
        schema_for::<Page<Color>>(Dialect::Strict).unwrap()
    ));
}

// ---------------------------------------------------------------------------
// Types Strict cannot express: a clear error when the schema is built.

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Tree {
    label: String,
    children: Vec<Tree>,
}

#[test]
fn a_recursive_type_is_a_schema_error_in_strict_and_a_schema_in_jsonschema() {
    let err = schema_for::<Tree>(Dialect::Strict).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Tree") && text.contains("children"), "{text}");
    assert!(text.contains("recursive"), "{text}");
    let plain = schema_for::<Tree>(Dialect::JsonSchema).unwrap();
    insta::assert_json_snapshot!("recursive_tree__jsonschema", plain.as_json());
    let t = Tree {
        label: "root".into(),
        children: vec![Tree {
            label: "leaf".into(),
            children: vec![],
        }],
    };
    plain.validate(&serde_json::to_value(&t).unwrap()).unwrap();
    let err = plain
        .validate(&json!({"label": "r", "children": [{"label": 1, "children": []}]}))
        .unwrap_err();
    assert!(err.pointers().any(|p| p == "/children/0/label"), "{err}");
    // OpenAI's strict mode takes recursion.
    let openai = schema_for::<Tree>(Dialect::OpenAiStrict).unwrap();
    Dialect::OpenAiStrict.check(openai.as_json()).unwrap();
    assert!(Dialect::Strict.check(openai.as_json()).is_err());
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Anything {
    payload: Value,
}

#[test]
fn a_free_json_field_is_a_schema_error_naming_the_field() {
    let err = schema_for::<Anything>(Dialect::Strict)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Anything.payload"), "{err}");
    assert!(err.contains("serde_json::Value"), "{err}");
    assert!(schema_for::<Anything>(Dialect::JsonSchema).is_ok());
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
enum SixWays {
    A(u8),
    B(u8),
    C(u8),
    D(u8),
    E(u8),
    F(u8),
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct HoldsSix {
    way: SixWays,
}

#[test]
fn too_many_any_of_branches_is_a_schema_error() {
    let err = schema_for::<HoldsSix>(Dialect::Strict)
        .unwrap_err()
        .to_string();
    assert!(err.contains("anyOf") && err.contains("at most 5"), "{err}");
    assert!(schema_for::<HoldsSix>(Dialect::OpenAiStrict).is_ok());
}

#[test]
fn a_hand_written_schema_can_be_used_too() {
    let full = json!({"type": "object", "properties": {"q": {"type": "string", "maxLength": 3}}, "required": ["q"]});
    let s = Schema::from_json("query", full, Dialect::Strict).unwrap();
    assert_eq!(s.as_json()["additionalProperties"], json!(false));
    assert!(s.validate(&json!({"q": "long"})).is_err());
    assert!(Schema::from_json("broken", json!({"type": 5}), Dialect::Strict).is_err());
}
