//! A request body's JSON, read without copying: strings and object keys
//! borrow from the body's bytes (unless JSON escapes make them differ from
//! them), where a `serde_json::Value` would allocate a `String` for each
//! and a B-tree for each object. The evaluation endpoints read the context
//! this way on every request.
//!
//! An object behaves as `serde_json::Map` does here (without
//! `preserve_order`): members in key order, and the last of duplicate keys
//! wins. So the context mapping reads members, and reports the first bad
//! one, in the same order as it did from a `Value`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value borrowed from a request's bytes.
#[derive(Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: members sorted by key, each key once (the last given).
#[derive(Debug, Default, PartialEq)]
pub struct Object<'a> {
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    fn from_members(mut members: Vec<(Cow<'a, str>, Json<'a>)>) -> Object<'a> {
        // A stable sort keeps duplicates in the order given; the last one
        // of each run is kept, as `BTreeMap::insert` would.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        // In place: `kept` members are unique; a duplicate of the last kept
        // replaces it.
        let mut kept = 0;
        for i in 0..members.len() {
            if kept > 0 && members[kept - 1].0 == members[i].0 {
                members.swap(kept - 1, i);
            } else {
                members.swap(kept, i);
                kept += 1;
            }
        }
        members.truncate(kept);
        Object { members }
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.members
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .and_then(|i| self.members.get(i))
            .map(|(_, v)| v)
    }

    /// Takes a member out (a request's `context`).
    pub fn remove(&mut self, key: &str) -> Option<Json<'a>> {
        let i = self
            .members
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()?;
        Some(self.members.remove(i).1)
    }

    /// The members, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl Iterator<Item = &Json<'a>> {
        self.members.iter().map(|(_, v)| v)
    }
}

impl Json<'_> {
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// What it is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Json<'de>, E> {
        // As `serde_json::Value` does: a float JSON cannot hold is null.
        Ok(Number::from_f64(x).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(Object::from_members(members)))
    }
}

/// An object's key, borrowed when it can be.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }

            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The same tree a `serde_json::Value` reads, member for member.
    fn same(text: &str) {
        let ours: Json = serde_json::from_str(text).expect("valid JSON");
        let theirs: Value = serde_json::from_str(text).expect("valid JSON");
        fn eq(a: &Json, b: &Value) -> bool {
            match (a, b) {
                (Json::Null, Value::Null) => true,
                (Json::Bool(x), Value::Bool(y)) => x == y,
                (Json::Number(x), Value::Number(y)) => x == y,
                (Json::String(x), Value::String(y)) => x == y,
                (Json::Array(x), Value::Array(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| eq(a, b))
                }
                (Json::Object(x), Value::Object(y)) => {
                    x.members.len() == y.len()
                        && x.iter()
                            .zip(y)
                            .all(|((ka, a), (kb, b))| ka == kb && eq(a, b))
                }
                _ => false,
            }
        }
        assert!(eq(&ours, &theirs), "{text}: {ours:?} vs {theirs:?}");
    }

    #[test]
    fn reads_what_a_value_reads() {
        same(r#"{"b": 1, "a": [true, null, 2.5, -3, "x"], "c": {"z": {}, "y": []}}"#);
        // The last of duplicate keys wins, in key order.
        same(r#"{"k": 1, "a": 0, "k": "two", "b": null, "k": [3]}"#);
        same(r#"{"esc\u00e9aped": "line\nbreak", "plain": "\u0041"}"#);
        same(r#"[18446744073709551615, -9223372036854775808, 1e308, 0.0]"#);
        same("null");
    }

    #[test]
    fn borrows_unescaped_strings() {
        let json: Json =
            serde_json::from_str(r#"{"key": "value", "esc\n": "a\tb"}"#).expect("valid JSON");
        let Json::Object(object) = json else {
            panic!("an object")
        };
        let borrowed: Vec<bool> = object
            .members
            .iter()
            .map(|(k, v)| {
                matches!(k, Cow::Borrowed(_)) && matches!(v, Json::String(Cow::Borrowed(_)))
            })
            .collect();
        // Sorted: "esc\n" before "key".
        assert_eq!(borrowed, [false, true]);
    }

    #[test]
    fn syntax_errors_are_the_ones_a_value_gives() {
        for text in ["{", "{\"a\": }", "[1, 2", "{\"a\" 1}", "tru", "\"\\x\""] {
            let ours = serde_json::from_str::<Json>(text)
                .expect_err(text)
                .to_string();
            let theirs = serde_json::from_str::<Value>(text)
                .expect_err(text)
                .to_string();
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
