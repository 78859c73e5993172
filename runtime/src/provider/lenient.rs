//! Leaf types for typed wire formats that read a value of an unexpected type
//! as absent, as `Value::as_str` or `Value::as_u64` would: a server that
//! writes `"id": 7` loses the id, not the answer. Strings are borrowed from
//! the body where they have no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The visitor methods for scalars (and `null`), each answering `$absent`:
/// what a lenient reader makes of a value of a type it does not read.
macro_rules! scalars_are {
    ($absent:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

/// A string, or `None` for anything else (`null`, a number, a list, …).
#[derive(Debug, Default)]
pub(crate) struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    /// The text, owned.
    pub fn owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

/// A non-negative whole number that fits a `u64`, or `None` for anything else.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count(pub Option<u64>);

/// A number, or `None` for anything else.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Real(pub Option<f64>);

/// What a JSON value was, as far as a leaf cares.
enum Leaf<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Other,
}

struct LeafVisitor;

impl<'de> Visitor<'de> for LeafVisitor {
    type Value = Leaf<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Float(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Leaf<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Leaf::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Leaf<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Leaf::Other)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text(match d.deserialize_any(LeafVisitor)? {
            Leaf::Text(s) => Some(s),
            _ => None,
        }))
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Count(match d.deserialize_any(LeafVisitor)? {
            Leaf::Unsigned(n) => Some(n),
            Leaf::Signed(n) => u64::try_from(n).ok(),
            _ => None,
        }))
    }
}

impl<'de> Deserialize<'de> for Real {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Real(match d.deserialize_any(LeafVisitor)? {
            Leaf::Float(x) => Some(x),
            #[allow(clippy::cast_precision_loss)] // a timing in seconds
            Leaf::Unsigned(n) => Some(n as f64),
            #[allow(clippy::cast_precision_loss)]
            Leaf::Signed(n) => Some(n as f64),
            _ => None,
        }))
    }
}

/// An object read as `T`, or `None` for anything else (`null`, a string, a
/// list, …). Inside the object, `T` decides what is an error.
#[derive(Debug)]
pub(crate) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            scalars_are!(Obj(None));
        }
        d.deserialize_any(ObjVisitor(std::marker::PhantomData))
    }
}

/// A list of objects read as `T` (elements that are not objects skipped), or
/// empty for anything that is not a list.
#[derive(Debug)]
pub(crate) struct Items<T>(pub Vec<T>);

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Slots(slots) = Slots::deserialize(d)?;
        Ok(Items(slots.into_iter().flatten().collect()))
    }
}

/// A list of objects read as `T`, each at its position (`None` where an
/// element is not an object: for lists other fields index into), or empty for
/// anything that is not a list.
#[derive(Debug)]
pub(crate) struct Slots<T>(pub Vec<Option<T>>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slots<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SlotsVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SlotsVisitor<T> {
            type Value = Slots<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slots<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
                    out.push(item);
                }
                Ok(Slots(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slots<T>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Slots::default())
            }
            scalars_are!(Slots::default());
        }
        d.deserialize_any(SlotsVisitor(std::marker::PhantomData))
    }
}

/// A list of [`Count`]s (elements that are not counts skipped), or empty for
/// anything that is not a list.
#[derive(Debug, Default)]
pub(crate) struct Counts(pub Vec<u64>);

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CountsVisitor;
        impl<'de> Visitor<'de> for CountsVisitor {
            type Value = Counts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of counts")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counts, A::Error> {
                let mut out = Vec::new();
                while let Some(Count(n)) = seq.next_element::<Count>()? {
                    out.extend(n);
                }
                Ok(Counts(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counts, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Counts::default())
            }
            scalars_are!(Counts::default());
        }
        d.deserialize_any(CountsVisitor)
    }
}

/// For `deserialize_with`: the first element of a list read as an object `T`
/// ([`Obj`]), the rest skipped without being kept; `None` for an empty list
/// or anything that is not a list.
pub(crate) fn first_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct First<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for First<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            let first = seq.next_element::<Obj<T>>()?.and_then(|o| o.0);
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        scalars_are!(None);
    }
    d.deserialize_any(First(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Sample<'a> {
        #[serde(default, borrow)]
        text: Text<'a>,
        #[serde(default)]
        count: Count,
        #[serde(default)]
        real: Real,
        #[serde(default, deserialize_with = "first_object")]
        head: Option<Head>,
        #[serde(default)]
        items: Items<Head>,
        #[serde(default)]
        obj: Obj<Head>,
        #[serde(default)]
        counts: Counts,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Head {
        n: u8,
    }

    fn read(json: &str) -> Sample<'_> {
        serde_json::from_str(json).expect("a sample")
    }

    #[test]
    fn leaves_of_the_wrong_type_read_as_absent() {
        let s = read(
            r#"{"text": "plain", "count": 7, "real": 2, "head": [{"n": 1}, 2, {"n": 3}],
                "items": [{"n": 1}, 2, null, {"n": 3}], "obj": {"n": 4}, "counts": [1, "x", -2, 3]}"#,
        );
        assert!(matches!(s.text.0, Some(Cow::Borrowed("plain"))));
        assert_eq!((s.count.0, s.real.0), (Some(7), Some(2.0)));
        assert_eq!(s.head, Some(Head { n: 1 }));
        assert_eq!(s.items.0, [Head { n: 1 }, Head { n: 3 }]);
        assert_eq!(s.obj.0, Some(Head { n: 4 }));
        assert_eq!(s.counts.0, [1, 3]);
        let s = read(
            r#"{"text": "a\nb", "count": -1, "real": "x", "head": [], "items": {"n": 1}, "obj": [1]}"#,
        );
        assert_eq!(s.text.owned().as_deref(), Some("a\nb"));
        assert_eq!((s.count.0, s.real.0, s.head), (None, None, None));
        assert!(s.items.0.is_empty() && s.obj.0.is_none());
        let s = read(
            r#"{"text": {"k": [1]}, "count": 1.5, "real": null, "head": {"a": 1}, "items": "x", "obj": 5}"#,
        );
        assert_eq!(
            (s.text.0, s.count.0, s.real.0, s.head),
            (None, None, None, None)
        );
        assert!(s.items.0.is_empty() && s.obj.0.is_none());
        let s = read("{}");
        assert_eq!((s.text.0, s.count.0, s.head), (None, None, None));
        assert!(
            serde_json::from_str::<Sample<'_>>(r#"{"obj": {"n": "x"}}"#).is_err(),
            "inside an object, its type decides"
        );
        assert!(
            serde_json::from_str::<Sample<'_>>(r#"{"text": [1,"#).is_err(),
            "not JSON is still an error"
        );
    }
}
