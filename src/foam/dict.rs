//! Typed OpenFOAM dictionary model and its one writer.
//!
//! This is the only path from data to dictionary text. User text can only enter as a
//! [`Word`] (validated: no `#`, `$`, quotes, braces, semicolons or whitespace) or as a
//! [`Value::Str`] (quoted, escaped, and refused when it holds `$` or control characters).
//! A `#codeStream`, `#include`, `#calc` or `$var` coming from a user therefore cannot be
//! written, because directives are tokens that only a bare word could produce.

use std::fmt::Write as _;

/// Why a value could not become dictionary text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DictError {
    /// The text is not a valid OpenFOAM word.
    #[error("{0:?} is not a valid OpenFOAM name: use letters, digits, '_', '-' or '.', starting with a letter or '_'")]
    InvalidWord(String),
    /// A string value holds characters that OpenFOAM would expand or that break the file.
    #[error(
        "{0:?} cannot be written as an OpenFOAM string: remove '$', '#', quotes, backslashes and control characters"
    )]
    InvalidString(String),
    /// NaN or infinity.
    #[error("non-finite number {0} cannot be written to an OpenFOAM dictionary")]
    NonFinite(f64),
}

/// A validated OpenFOAM word (keyword, patch name, model name, `div(phi,U)`-style scheme key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Word(String);

impl Word {
    /// Validates `s`. Letters, digits and `_ - . : *` are allowed; `(`, `)` and `,` too, so
    /// scheme keys such as `div(phi,U)` are words, but only with balanced parentheses. The
    /// first character must be a letter or `_`, so a word can never start a directive
    /// (`#...`), a variable (`$...`) or be read as a number.
    pub fn new(s: impl Into<String>) -> Result<Self, DictError> {
        let s = s.into();
        if Self::is_valid(&s) {
            Ok(Word(s))
        } else {
            Err(DictError::InvalidWord(s))
        }
    }

    /// True when `s` may be written as a bare word.
    pub fn is_valid(s: &str) -> bool {
        let mut chars = s.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return false,
        }
        let mut depth = 0i32;
        for c in s.chars() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                c if c.is_ascii_alphanumeric() || "_-.:,*".contains(c) => {}
                _ => return false,
            }
        }
        depth == 0
    }

    /// The word's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dictionary value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A bare word.
    Word(Word),
    /// A double-quoted string (also used for regex keys' values such as patch patterns).
    Str(String),
    /// An integer (label).
    Int(i64),
    /// A scalar, written in shortest round-trip form.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `(x y z)`.
    Vector([f64; 3]),
    /// `(a b c)` on one line, or one item per line when it holds dictionaries.
    List(Vec<Value>),
    /// Space-separated tokens on one line: `uniform (0 0 0)`, `hex (0 1 2 3 4 5 6 7) (10 4 4) simpleGrading (1 1 1)`.
    Seq(Vec<Value>),
    /// A sub-dictionary.
    Dict(Dict),
    /// `name { ... }` as an item of a list (blockMesh `boundary`).
    NamedDict(Word, Dict),
}

/// A dictionary key: a word, or a quoted pattern such as `".*"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// Plain keyword.
    Word(Word),
    /// Quoted regular-expression key; the text is escaped like a string.
    Pattern(String),
}

/// An ordered dictionary: keys keep the order they were inserted in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict {
    entries: Vec<(Key, Value)>,
}

impl Dict {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key value;`. Panics only on an invalid *literal* key, which is a programming
    /// error; user-provided keys go through [`Dict::insert_word`].
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.push(key, value);
        self
    }

    /// In-place form of [`Dict::set`].
    pub fn push(&mut self, key: &str, value: impl Into<Value>) {
        let k = Word::new(key).unwrap_or_else(|e| panic!("literal dictionary key: {e}"));
        self.entries.push((Key::Word(k), value.into()));
    }

    /// Appends an entry whose key is an already-validated word (for user-derived keys).
    pub fn insert_word(&mut self, key: Word, value: impl Into<Value>) {
        self.entries.push((Key::Word(key), value.into()));
    }

    /// Appends an entry keyed by a quoted pattern.
    pub fn insert_pattern(&mut self, pattern: &str, value: impl Into<Value>) {
        self.entries.push((Key::Pattern(pattern.to_string()), value.into()));
    }

    /// The entries in order.
    pub fn entries(&self) -> &[(Key, Value)] {
        &self.entries
    }

    /// Sets `key` in place when present (keeping its position), else appends it.
    pub fn replace(&mut self, key: &str, value: impl Into<Value>) {
        match self.entries.iter_mut().find(|(k, _)| matches!(k, Key::Word(w) if w.as_str() == key)) {
            Some((_, v)) => *v = value.into(),
            None => self.push(key, value),
        }
    }

    /// Removes a plain key; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| matches!(k, Key::Word(w) if w.as_str() == key))?;
        Some(self.entries.remove(i).1)
    }

    /// Looks a plain key up.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find_map(|(k, v)| match k {
            Key::Word(w) if w.as_str() == key => Some(v),
            _ => None,
        })
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Self {
        Value::Dict(d)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<i64> for Value {
    fn from(x: i64) -> Self {
        Value::Int(x)
    }
}
impl From<u32> for Value {
    fn from(x: u32) -> Self {
        Value::Int(x as i64)
    }
}
impl From<usize> for Value {
    fn from(x: usize) -> Self {
        Value::Int(x as i64)
    }
}
impl From<bool> for Value {
    fn from(x: bool) -> Self {
        Value::Bool(x)
    }
}
impl From<[f64; 3]> for Value {
    fn from(x: [f64; 3]) -> Self {
        Value::Vector(x)
    }
}
impl From<Word> for Value {
    fn from(w: Word) -> Self {
        Value::Word(w)
    }
}

/// A bare word from a literal in our own code. Panics on an invalid literal (a bug, caught
/// by tests); user text goes through [`Word::new`].
pub fn w(s: &str) -> Value {
    Value::Word(Word::new(s).unwrap_or_else(|e| panic!("literal word: {e}")))
}

/// `uniform <value>` for field entries.
pub fn uniform(v: impl Into<Value>) -> Value {
    Value::Seq(vec![w("uniform"), v.into()])
}

/// `[M L T Θ N I J]` dimension sets are written as words by OpenFOAM convention; we only
/// need them for `dimensions`, where the exponents are our own integers.
pub fn dimensions(exps: [i32; 7]) -> Value {
    Value::Seq(vec![Value::Word(Word(format!(
        "[{}]",
        exps.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" ")
    )))])
}

/// Formats a float in shortest round-trip form; integral values print without a fraction.
pub fn fmt_float(x: f64) -> Result<String, DictError> {
    if !x.is_finite() {
        return Err(DictError::NonFinite(x));
    }
    if x == x.trunc() && x.abs() < 1e15 {
        // -0.0 prints as "0": OpenFOAM does not care about the sign of zero.
        return Ok(format!("{}", x as i64));
    }
    let (plain, sci) = (format!("{x:?}"), format!("{x:e}"));
    Ok(if sci.len() < plain.len() { sci } else { plain })
}

fn check_string(s: &str) -> Result<(), DictError> {
    if s.chars().any(|c| c.is_control() || matches!(c, '$' | '#' | '"' | '\\')) {
        return Err(DictError::InvalidString(s.to_string()));
    }
    Ok(())
}

const HEADER_RULE: &str = "/*--------------------------------*- C++ -*----------------------------------*\\\n";

/// Writes a complete OpenFOAM file: banner, `FoamFile` header, then the entries.
pub fn write_file(class: &str, location: Option<&str>, object: &str, body: &Dict) -> Result<String, DictError> {
    let mut header = Dict::new().set("version", 2.0).set("format", w("ascii")).set("class", w(class));
    if let Some(loc) = location {
        header.push("location", Value::Str(loc.to_string()));
    }
    header.push("object", w(object));
    let mut out = String::new();
    out.push_str(HEADER_RULE);
    out.push_str("  Written by FlowCFD. Edit freely: this case runs with plain OpenFOAM (./Allrun).\n");
    out.push_str("\\*---------------------------------------------------------------------------*/\n");
    write_entry(&mut out, 0, &Key::Word(Word("FoamFile".into())), &Value::Dict(header))?;
    out.push_str("// * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * //\n\n");
    write_entries(&mut out, 0, body)?;
    out.push_str("\n// ************************************************************************* //\n");
    Ok(out)
}

/// Writes only the entries of `d` (no header), as they would appear in a file.
pub fn write_entries_string(d: &Dict) -> Result<String, DictError> {
    let mut out = String::new();
    write_entries(&mut out, 0, d)?;
    Ok(out)
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("    ");
    }
}

fn write_entries(out: &mut String, level: usize, d: &Dict) -> Result<(), DictError> {
    for (k, v) in &d.entries {
        write_entry(out, level, k, v)?;
    }
    Ok(())
}

fn key_text(k: &Key) -> Result<String, DictError> {
    Ok(match k {
        Key::Word(w) => w.0.clone(),
        Key::Pattern(p) => {
            check_string(p)?;
            format!("\"{p}\"")
        }
    })
}

fn write_entry(out: &mut String, level: usize, k: &Key, v: &Value) -> Result<(), DictError> {
    let key = key_text(k)?;
    indent(out, level);
    match v {
        Value::Dict(d) => {
            out.push_str(&key);
            out.push('\n');
            indent(out, level);
            out.push_str("{\n");
            write_entries(out, level + 1, d)?;
            indent(out, level);
            out.push_str("}\n");
        }
        Value::List(items) if items.iter().any(is_compound) => {
            out.push_str(&key);
            out.push('\n');
            write_block_list(out, level, items)?;
            out.push_str(";\n");
        }
        _ => {
            // Align values at column 16 like OpenFOAM's own files.
            let pad = 16usize.saturating_sub(key.len()).max(1);
            let _ = write!(out, "{key}{:pad$}", "");
            write_inline(out, v)?;
            out.push_str(";\n");
        }
    }
    Ok(())
}

fn is_compound(v: &Value) -> bool {
    matches!(v, Value::Dict(_) | Value::NamedDict(..) | Value::List(_) | Value::Vector(_) | Value::Seq(_))
}

fn write_block_list(out: &mut String, level: usize, items: &[Value]) -> Result<(), DictError> {
    indent(out, level);
    out.push_str("(\n");
    for item in items {
        match item {
            Value::Dict(d) => {
                indent(out, level + 1);
                out.push_str("{\n");
                write_entries(out, level + 2, d)?;
                indent(out, level + 1);
                out.push_str("}\n");
            }
            Value::NamedDict(name, d) => {
                indent(out, level + 1);
                out.push_str(name.as_str());
                out.push('\n');
                indent(out, level + 1);
                out.push_str("{\n");
                write_entries(out, level + 2, d)?;
                indent(out, level + 1);
                out.push_str("}\n");
            }
            other => {
                indent(out, level + 1);
                write_inline(out, other)?;
                out.push('\n');
            }
        }
    }
    indent(out, level);
    out.push(')');
    Ok(())
}

fn write_inline(out: &mut String, v: &Value) -> Result<(), DictError> {
    match v {
        Value::Word(w) => out.push_str(&w.0),
        Value::Str(s) => {
            check_string(s)?;
            let _ = write!(out, "\"{s}\"");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) => out.push_str(&fmt_float(*x)?),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Vector(xs) => {
            out.push('(');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&fmt_float(*x)?);
            }
            out.push(')');
        }
        Value::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_inline(out, item)?;
            }
            out.push(')');
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_inline(out, item)?;
            }
        }
        Value::NamedDict(name, d) => {
            out.push_str(name.as_str());
            out.push(' ');
            write_inline(out, &Value::Dict(d.clone()))?;
        }
        Value::Dict(d) => {
            // Inline dictionaries only occur inside one-line lists; write them compactly.
            out.push_str("{ ");
            for (k, v) in &d.entries {
                out.push_str(&key_text(k)?);
                out.push(' ');
                write_inline(out, v)?;
                out.push_str("; ");
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_bytes_of_nested_dict() {
        let d = Dict::new()
            .set("application", w("simpleFoam"))
            .set("endTime", 300i64)
            .set("deltaT", 1.0)
            .set("writeInterval", 0.5)
            .set("tiny", 1e-5)
            .set("flag", true)
            .set("U", [10.0, 0.0, -0.5])
            .set("inner", Dict::new().set("type", w("wall")).set("value", uniform([0.0, 0.0, 0.0])))
            .set("patches", Value::List(vec![w("a"), w("b")]));
        let text = write_entries_string(&d).unwrap();
        assert_eq!(
            text,
            "application     simpleFoam;\n\
             endTime         300;\n\
             deltaT          1;\n\
             writeInterval   0.5;\n\
             tiny            1e-5;\n\
             flag            true;\n\
             U               (10 0 -0.5);\n\
             inner\n{\n    type            wall;\n    value           uniform (0 0 0);\n}\n\
             patches         (a b);\n"
        );
    }

    #[test]
    fn block_lists_and_patterns() {
        let mut d = Dict::new();
        d.insert_pattern(".*", Dict::new().set("level", Value::List(vec![1i64.into(), 2i64.into()])));
        d.push("boxes", Value::List(vec![Value::Dict(Dict::new().set("level", 3i64))]));
        let text = write_entries_string(&d).unwrap();
        assert_eq!(
            text,
            "\".*\"\n{\n    level           (1 2);\n}\nboxes\n(\n    {\n        level           3;\n    }\n);\n"
        );
    }

    #[test]
    fn floats_round_trip_shortest() {
        for x in [0.1, 1.0 / 3.0, 1.5e-5, 6.02e23, -2.5, 1e300, 123456.789] {
            let s = fmt_float(x).unwrap();
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
        }
        assert_eq!(fmt_float(2.0).unwrap(), "2");
        assert!(fmt_float(f64::NAN).is_err());
        assert!(write_entries_string(&Dict::new().set("x", f64::INFINITY)).is_err());
    }

    #[test]
    fn header_is_exact() {
        let text = write_file("dictionary", Some("system"), "controlDict", &Dict::new().set("a", 1i64)).unwrap();
        assert!(text.starts_with(HEADER_RULE));
        assert!(text.contains(
            "FoamFile\n{\n    version         2;\n    format          ascii;\n    class           dictionary;\n    location        \"system\";\n    object          controlDict;\n}\n"
        ));
        assert!(text.contains("\na               1;\n"));
    }

    #[test]
    fn injection_is_impossible_through_words() {
        for bad in [
            "#codeStream",
            "#include",
            "#calc",
            "$var",
            "a;b",
            "a b",
            "a{",
            "}",
            "\"quoted\"",
            "x\n#codeStream{code #{ system(\"rm -rf /\"); #};}",
            "1abc",
            "",
            "a)(",
            "a/b",
            "a'b",
            "ok$FOAM_CASE",
            "p#include",
        ] {
            assert!(Word::new(bad).is_err(), "{bad:?} must be refused");
        }
        for good in ["wall", "body_frt-fairing_001_1", "div(phi,U)", "grad(U)", "_x", "a.b"] {
            assert!(Word::new(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn injection_is_impossible_through_strings_and_patterns() {
        for bad in ["$FOAM_CASE/x", "#include \"etc\"", "a\"; #codeStream {", "back\\slash", "line\nbreak"] {
            let d = Dict::new().set("name", Value::Str(bad.into()));
            assert!(write_entries_string(&d).is_err(), "{bad:?}");
            let mut p = Dict::new();
            p.insert_pattern(bad, 1i64);
            assert!(write_entries_string(&p).is_err(), "{bad:?}");
        }
        let d = Dict::new().set("title", Value::Str("my car (v2) 100%".into()));
        assert_eq!(write_entries_string(&d).unwrap(), "title           \"my car (v2) 100%\";\n");
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_word_is_a_single_safe_token(s in ".{0,24}") {
            if let Ok(word) = Word::new(s.clone()) {
                let t = word.as_str();
                proptest::prop_assert!(!t.starts_with('#') && !t.starts_with('$'));
                let unsafe_chars = ";{}\"'#$/\\";
                proptest::prop_assert!(!t.contains(|c: char| c.is_whitespace() || unsafe_chars.contains(c)), "unsafe word {:?}", t);
            }
        }

        #[test]
        fn any_written_string_has_no_expansion(s in ".{0,24}") {
            let d = Dict::new().set("k", Value::Str(s.clone()));
            if let Ok(text) = write_entries_string(&d) {
                proptest::prop_assert!(!text.contains('$') && !text.contains('#'));
                proptest::prop_assert_eq!(text.matches('"').count(), 2);
            }
        }
    }
}
