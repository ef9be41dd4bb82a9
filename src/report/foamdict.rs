//! Reads the ascii OpenFOAM dictionaries a report quotes (`0.orig/*` boundary conditions,
//! `system/fvSchemes`, `system/fvSolution`) into a tree of entries. Tolerant: lists are kept
//! as one short token (a field's values are not needed), `#include` and macros are kept as
//! words, and anything unreadable ends the entry rather than the report.

/// One entry's value: a sub-dictionary or the tokens before its `;`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Dict(Dict),
    Tokens(Vec<String>),
}

/// A dictionary's entries in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict(pub Vec<(String, Value)>);

impl Dict {
    /// The entry `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The sub-dictionary `key`.
    pub fn dict(&self, key: &str) -> Option<&Dict> {
        match self.get(key) {
            Some(Value::Dict(d)) => Some(d),
            _ => None,
        }
    }

    /// The entry `key` as text (its tokens joined by spaces).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(Value::Tokens(t)) => Some(t.join(" ")),
            _ => None,
        }
    }

    /// A nested entry by a path of keys (`["solvers", "p", "solver"]`).
    pub fn path_text(&self, keys: &[&str]) -> Option<String> {
        let (last, dicts) = keys.split_last()?;
        let mut d = self;
        for k in dicts {
            d = d.dict(k)?;
        }
        d.text(last)
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Semi,
}

/// Splits dictionary text into tokens: comments dropped, quoted strings and parenthesised
/// lists kept whole (a list longer than 60 characters becomes `(…)`).
fn tokens(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'{' => {
                out.push(Tok::Open);
                i += 1;
            }
            b'}' => {
                out.push(Tok::Close);
                i += 1;
            }
            b';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1 + usize::from(b[i] == b'\\');
                }
                i = (i + 1).min(b.len());
                out.push(Tok::Word(text[start..i].to_string()));
            }
            b'(' => {
                let start = i;
                i = past_parens(b, i);
                out.push(Tok::Word(short(&text[start..i])));
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'{' | b'}' | b';' | b'(' | b'"') {
                    i += 1;
                }
                // A word such as `div(phi,U)` carries its parentheses.
                if i < b.len() && b[i] == b'(' && i > start {
                    i = past_parens(b, i);
                }
                out.push(Tok::Word(short(&text[start..i])));
            }
        }
    }
    out
}

/// The index just past the `)` that closes the `(` at `i` (the end of the text when none
/// does).
fn past_parens(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A token as quoted: whitespace collapsed, and a long list (a field's values) cut to
/// `N(…)`.
fn short(tok: &str) -> String {
    let s = tok.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= 60 {
        return s;
    }
    match s.find('(') {
        Some(i) => format!("{}(…)", &s[..i]),
        None => s.chars().take(60).collect::<String>() + "…",
    }
}

/// Parses a dictionary file's text (the `FoamFile` header is an entry like any other).
pub fn parse(text: &str) -> Dict {
    let toks = tokens(text);
    let mut i = 0;
    parse_entries(&toks, &mut i)
}

fn parse_entries(t: &[Tok], i: &mut usize) -> Dict {
    let mut d = Dict::default();
    while *i < t.len() {
        match &t[*i] {
            Tok::Close => {
                *i += 1;
                return d;
            }
            Tok::Semi | Tok::Open => *i += 1,
            Tok::Word(key) => {
                *i += 1;
                if matches!(t.get(*i), Some(Tok::Open)) {
                    *i += 1;
                    let sub = parse_entries(t, i);
                    d.0.push((key.clone(), Value::Dict(sub)));
                    continue;
                }
                let mut words = Vec::new();
                while let Some(Tok::Word(w)) = t.get(*i) {
                    words.push(w.clone());
                    *i += 1;
                }
                if matches!(t.get(*i), Some(Tok::Semi)) {
                    *i += 1;
                }
                d.0.push((key.clone(), Value::Tokens(words)));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_boundary_conditions_and_schemes() {
        let text = r#"FoamFile { version 2.0; class volVectorField; object U; }
// comment
dimensions [0 1 -1 0 0 0 0];
internalField uniform (10 0 0);
boundaryField
{
    inlet { type fixedValue; value uniform (10 0 0); }
    "(lowerWall|cube)" { type noSlip; }
    outlet { type inletOutlet; inletValue uniform (0 0 0); value nonuniform List<vector> 9((1 2 3) (4 5 6) (7 8 9) (1 1 1) (2 2 2) (3 3 3) (4 4 4) (5 5 5) (6 6 6)); }
}
divSchemes { default none; div(phi,U) bounded Gauss linearUpwind grad(U); }
"#;
        let d = parse(text);
        let bf = d.dict("boundaryField").unwrap();
        assert_eq!(bf.path_text(&["inlet", "type"]).as_deref(), Some("fixedValue"));
        assert_eq!(bf.path_text(&["inlet", "value"]).as_deref(), Some("uniform (10 0 0)"));
        assert_eq!(bf.path_text(&["\"(lowerWall|cube)\"", "type"]).as_deref(), Some("noSlip"));
        assert!(bf.path_text(&["outlet", "value"]).unwrap().contains("(…)"));
        assert_eq!(d.path_text(&["divSchemes", "div(phi,U)"]).as_deref(), Some("bounded Gauss linearUpwind grad(U)"));
        assert_eq!(d.text("dimensions").as_deref(), Some("[0 1 -1 0 0 0 0]"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for t in ["{{{", "}}}", "a (", "\"unterminated", "/* open", "x { y ( z ; } ;", ""] {
            let _ = parse(t);
        }
    }
}
