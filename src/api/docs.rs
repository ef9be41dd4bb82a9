//! `GET /api/docs`: the API reference for people, rendered on the server from the
//! OpenAPI document (`openapi::DOCUMENT`) with an Askama template: the operations by
//! tag with their parameters, bodies and answers, then the schemas. No script and no
//! CDN: the page uses the embedded stylesheet only, under the pages' security policy.
use super::openapi::DOCUMENT;
use crate::state::AppState;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Template)]
#[template(path = "api_docs.html")]
struct Reference {
    version: String,
    intro: String,
    sections: Vec<Section>,
    schemas: Vec<SchemaDoc>,
}

struct Section {
    tag: String,
    description: String,
    ops: Vec<Op>,
}

struct Op {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    public: bool,
    params: Vec<Field>,
    body: Option<String>,
    responses: Vec<Answer>,
}

/// A status, what it means, and what it carries.
struct Answer {
    code: String,
    description: String,
    content: String,
}

/// A parameter or a schema's property: name, where (or required), type, description.
struct Field {
    name: String,
    place: String,
    ty: String,
    description: String,
}

struct SchemaDoc {
    name: String,
    ty: String,
    description: String,
    fields: Vec<Field>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A schema as a short type: `Project`, `[GeometryView]`, `string | null`, `"ok" | "unavailable"`.
fn ty(s: &Value) -> String {
    if let Some(r) = s["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for (key, sep) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
        if let Some(list) = s[key].as_array() {
            return list.iter().map(ty).collect::<Vec<_>>().join(sep);
        }
    }
    if let Some(e) = s["enum"].as_array() {
        return e.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" | ");
    }
    let one = |t: &str| match t {
        "array" => format!("[{}]", ty(&s["items"])),
        "string" if s["format"].is_string() => format!("string ({})", text(&s["format"])),
        other => other.to_string(),
    };
    match &s["type"] {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().map(|t| one(t.as_str().unwrap_or("any"))).collect::<Vec<_>>().join(" | "),
        _ => "any".into(),
    }
}

/// What a request or response carries: `application/json: Project`, one per content type.
fn content(c: &Value) -> String {
    c.as_object()
        .map(|m| m.iter().map(|(mime, v)| format!("{mime}: {}", ty(&v["schema"]))).collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
}

fn response(doc: &Value, r: &Value) -> (String, String) {
    let r = match r["$ref"].as_str().and_then(|p| p.strip_prefix("#/components/responses/")) {
        Some(name) => &doc["components"]["responses"][name],
        None => r,
    };
    (text(&r["description"]), content(&r["content"]))
}

fn op(doc: &Value, path: &str, method: &str, o: &Value) -> Op {
    let params = o["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Field {
            name: text(&p["name"]),
            place: format!("{}{}", text(&p["in"]), if p["required"] == true { ", required" } else { "" }),
            ty: ty(&p["schema"]),
            description: text(&p["description"]),
        })
        .collect();
    let body = o["requestBody"].is_object().then(|| {
        let opt = if o["requestBody"]["required"] == true { "" } else { " (optional)" };
        format!("{}{opt}", content(&o["requestBody"]["content"]))
    });
    let responses = o["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(code, r)| {
            let (description, content) = response(doc, r);
            Answer { code: code.clone(), description, content }
        })
        .collect();
    Op {
        anchor: format!("{method}-{}", path.trim_matches('/').replace(['/', '{', '}', '.'], "-")),
        method: method.to_uppercase(),
        path: path.to_string(),
        summary: text(&o["summary"]),
        description: text(&o["description"]),
        public: o["security"].as_array().is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(|m| m.is_empty()))),
        params,
        body,
        responses,
    }
}

fn schema(name: &str, s: &Value) -> SchemaDoc {
    let required: Vec<&str> = s["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let fields = s["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| Field {
            name: k.clone(),
            place: if required.contains(&k.as_str()) { "required".into() } else { String::new() },
            ty: ty(p),
            description: text(&p["description"]),
        })
        .collect();
    SchemaDoc { name: name.to_string(), ty: ty(s), description: text(&s["description"]), fields }
}

/// The reference's content, in the document's tag order.
fn reference(doc: &Value) -> Reference {
    let mut sections: Vec<Section> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Section { tag: text(&t["name"]), description: text(&t["description"]), ops: Vec::new() })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, o) in item.as_object().into_iter().flatten() {
            let tag = o["tags"][0].as_str().unwrap_or("other");
            let i = match sections.iter().position(|s| s.tag == tag) {
                Some(i) => i,
                None => {
                    sections.push(Section { tag: tag.to_string(), description: String::new(), ops: Vec::new() });
                    sections.len() - 1
                }
            };
            sections[i].ops.push(op(doc, path, method, o));
        }
    }
    sections.retain(|s| !s.ops.is_empty());
    let mut schemas: Vec<SchemaDoc> =
        doc["components"]["schemas"].as_object().into_iter().flatten().map(|(n, s)| schema(n, s)).collect();
    // The types become HTML (the template does not escape them again) with links to the
    // schemas they name.
    let names: BTreeSet<String> = schemas.iter().map(|s| s.name.clone()).collect();
    let link = |t: &mut String| *t = linked(t, &names);
    for o in sections.iter_mut().flat_map(|s| s.ops.iter_mut()) {
        o.params.iter_mut().for_each(|p| link(&mut p.ty));
        o.body.iter_mut().for_each(link);
        o.responses.iter_mut().for_each(|r| link(&mut r.content));
    }
    for s in &mut schemas {
        link(&mut s.ty);
        s.fields.iter_mut().for_each(|f| link(&mut f.ty));
    }
    Reference { version: text(&doc["info"]["version"]), intro: text(&doc["info"]["description"]), sections, schemas }
}

/// `t` as HTML: escaped, each word that names a schema a link to it.
fn linked(t: &str, names: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if names.contains(word.as_str()) {
            out.push_str(&format!("<a href=\"#schema-{word}\">{word}</a>"));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in t.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The API reference (this page), rendered from /api/openapi.json
#[utoipa::path(get, path = "/api/docs", tag = "meta", security(()),
    responses((status = 200, description = "the reference", content_type = "text/html", body = String)))]
async fn page() -> Response {
    let doc = serde_json::to_value(&*DOCUMENT).unwrap_or_default();
    match reference(&doc).render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => crate::error::AppError::Internal(format!("api docs: {e}")).into_response(),
    }
}

/// `/api/docs`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page))
}
