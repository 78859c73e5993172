//! Reading the fields of JSON objects in place: each field a borrowed
//! [`RawValue`], with no `serde_json::Value` tree built, for the hot path of
//! streamed chunks. As lenient as reading a `Value`: a repeated key keeps its
//! last value, unknown keys are skipped, a field of an unexpected type reads as
//! absent.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// An object's fields named by `keys`, in that order. `Err(())` when `json` is
/// not JSON; `Ok(None)` when it is JSON but not an object.
pub(crate) fn fields<'a, const N: usize>(
    json: &'a str,
    keys: [&str; N],
) -> Result<Option<[Option<&'a RawValue>; N]>, ()> {
    let mut de = serde_json::Deserializer::from_str(json);
    match de.deserialize_any(Fields(&keys)) {
        Ok(found) => de.end().map(|()| found).map_err(|_| ()),
        Err(_) => Err(()),
    }
}

/// [`fields`] of a value already known to be JSON (`None` unless an object).
pub(crate) fn fields_of<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
) -> Option<[Option<&'a RawValue>; N]> {
    fields(raw.get(), keys).ok().flatten()
}

struct Fields<'k, const N: usize>(&'k [&'k str; N]);

impl<'de, const N: usize> Visitor<'de> for Fields<'_, N> {
    type Value = Option<[Option<&'de RawValue>; N]>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = [None; N];
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            if let Some(i) = self.0.iter().position(|k| *k == key.as_str())
                && let Some(slot) = out.get_mut(i)
            {
                *slot = Some(value);
            }
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An object key: borrowed unless it had escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The items of an array (empty for anything else).
pub(crate) fn items(raw: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get()).unwrap_or_default()
}

/// The first item of an array.
pub(crate) fn first_item(raw: &RawValue) -> Option<&RawValue> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<&'de RawValue>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_seq(First).ok().flatten()
}

/// A string field's text (`None` for anything but a string).
pub(crate) fn string(raw: Option<&RawValue>) -> Option<String> {
    serde_json::from_str::<String>(raw?.get()).ok()
}

/// A whole number field (`None` for anything but a non-negative integer that
/// fits).
pub(crate) fn whole(raw: Option<&RawValue>) -> Option<u64> {
    serde_json::from_str::<u64>(raw?.get()).ok()
}

/// Whether the field is absent or `null`.
pub(crate) fn is_null(raw: Option<&RawValue>) -> bool {
    raw.is_none_or(|r| r.get() == "null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_place_as_leniently_as_a_value() {
        let json = r#"{"a": 1, "b": "x", "c": [1, 2], "a": {"k": true}, "\u0062b": "esc"}"#;
        let [a, b, c, bb, z] = fields(json, ["a", "b", "c", "bb", "z"]).unwrap().unwrap();
        assert_eq!(
            a.unwrap().get(),
            r#"{"k": true}"#,
            "the last repeated key wins"
        );
        assert_eq!(string(b).as_deref(), Some("x"));
        assert_eq!(string(c), None, "not a string: absent");
        assert_eq!(string(bb).as_deref(), Some("esc"), "escaped keys match");
        assert!(z.is_none() && is_null(z));
        assert_eq!(first_item(c.unwrap()).unwrap().get(), "1");
        assert_eq!(items(c.unwrap()).len(), 2);
        assert!(matches!(fields("[1]", ["a"]), Ok(None)));
        assert!(matches!(fields("5", ["a"]), Ok(None)));
        assert!(fields("{", ["a"]).is_err());
        assert!(fields("{} x", ["a"]).is_err());
        assert_eq!(
            whole(fields(r#"{"i": -1}"#, ["i"]).unwrap().unwrap()[0]),
            None
        );
        let deep = format!("{{\"a\": {}}}", "[".repeat(100_000));
        assert!(fields(&deep, ["a"]).is_err(), "nesting is bounded");
    }
}
