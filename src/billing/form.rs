//! Stripe's request encoding as a typed value: `application/x-www-form-urlencoded` with
//! nested keys (`metadata[plan]=team`, `line_items[0][price]=price_…`). A request body is
//! a [`Form`] built field by field and written by one writer, so no caller formats keys by
//! hand.
use std::collections::BTreeMap;

/// A value in a form: text, a map (`key[sub]`) or a list (`key[0]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Map(Vec<(String, Value)>),
    List(Vec<Value>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Text(n.to_string())
    }
}

impl From<&BTreeMap<String, String>> for Value {
    fn from(m: &BTreeMap<String, String>) -> Self {
        Value::Map(m.iter().map(|(k, v)| (k.clone(), Value::Text(v.clone()))).collect())
    }
}

/// A request body: top-level fields in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form(Vec<(String, Value)>);

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds a field.
    pub fn field(mut self, key: &str, v: impl Into<Value>) -> Form {
        self.0.push((key.to_string(), v.into()));
        self
    }

    /// Adds a field when there is a value.
    pub fn field_opt(self, key: &str, v: Option<impl Into<Value>>) -> Form {
        match v {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    /// The flattened `(key, value)` pairs, in order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            flatten(k.clone(), v, &mut out);
        }
        out
    }

    /// The encoded body.
    pub fn encode(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            s.append_pair(&k, &v);
        }
        s.finish()
    }
}

fn flatten(key: String, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Text(t) => out.push((key, t.clone())),
        Value::Map(m) => m.iter().for_each(|(k, v)| flatten(format!("{key}[{k}]"), v, out)),
        Value::List(l) => l.iter().enumerate().for_each(|(i, v)| flatten(format!("{key}[{i}]"), v, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_are_written_as_stripe_reads_them() {
        let f = Form::new()
            .field("mode", "subscription")
            .field(
                "line_items",
                Value::List(vec![Value::Map(vec![("price".into(), "price_1".into()), ("quantity".into(), 1.into())])]),
            )
            .field("metadata", Value::Map(vec![("flowcfd_subject".into(), "user:a b&c".into())]))
            .field_opt("customer", None::<&str>);
        assert_eq!(
            f.encode(),
            "mode=subscription&line_items%5B0%5D%5Bprice%5D=price_1&line_items%5B0%5D%5Bquantity%5D=1\
             &metadata%5Bflowcfd_subject%5D=user%3Aa+b%26c"
        );
        assert_eq!(f.pairs()[1], ("line_items[0][price]".to_string(), "price_1".to_string()));
    }
}
