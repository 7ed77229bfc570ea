//! `/graphql`: the few GraphQL queries MLflow's web UI sends (run page,
//! experiment page, run search, metric charts), answered from the same
//! handlers as the REST routes and projected onto the query's selection.
//!
//! This is not a general GraphQL server: it reads one operation's top-level
//! field (`mlflowGetRun`, `mlflowSearchRuns`, `mlflowGetExperiment`,
//! `mlflowGetMetricHistoryBulkInterval`), its `input` variable, and the
//! nested field names it selects (aliases and `__typename` included); other
//! operations get a GraphQL error.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::request::{blocking, json};
use super::{experiments, history, runs, search};

/// A field of a selection set: its response key, its name, what it selects.
#[derive(Debug, PartialEq)]
struct Field {
    key: String,
    name: String,
    /// The variable its `input:`/`data:` argument names, if any.
    variable: Option<String>,
    selection: Vec<Field>,
}

/// The handler.
pub(crate) async fn graphql(State(state): State<AppState>, body: Bytes) -> Response {
    let answer = blocking(move || answer(&state, &body)).await;
    match answer {
        Ok(v) => json(&v),
        Err(e) => json(&serde_json::json!({"errors": [{"message": e.message}]})),
    }
}

fn answer(state: &AppState, body: &[u8]) -> ApiResult<Value> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("a GraphQL request must be JSON: {e}")))?;
    let query = request
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("a GraphQL request needs a query"))?;
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let fields = parse_operation(query)?;
    let mut data = Map::new();
    for field in &fields {
        let input = field
            .variable
            .as_ref()
            .and_then(|v| variables.get(v))
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let value = match resolve(state, &field.name, snake_keys(input)) {
            Ok(v) => camel_keys(v, false),
            Err(e) => serde_json::json!({"apiError": {
                "code": e.code.as_str(), "message": e.message, "helpUrl": null}}),
        };
        data.insert(
            field.key.clone(),
            project(&value, &field.selection, &field.name),
        );
    }
    Ok(serde_json::json!({ "data": data }))
}

/// The REST answer (snake_case) for a root field and its input.
fn resolve(state: &AppState, name: &str, input: Value) -> ApiResult<Value> {
    fn from<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
        serde_json::from_value(v).map_err(|e| ApiError::invalid(format!("Invalid input: {e}")))
    }
    fn to(v: impl serde::Serialize) -> ApiResult<Value> {
        serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
    }
    match name {
        "mlflowGetRun" => {
            let run = runs::get(state, from(input)?)?;
            let mut v = to(&run)?;
            decorate_run(state, &mut v["run"])?;
            Ok(v)
        }
        "mlflowSearchRuns" => {
            let mut v = to(search::runs(state, from(input)?)?)?;
            if let Some(list) = v.get_mut("runs").and_then(Value::as_array_mut) {
                for run in list {
                    decorate_run(state, run)?;
                }
            }
            Ok(v)
        }
        "mlflowGetExperiment" => to(experiments::get(state, from(input)?)?),
        "mlflowGetMetricHistoryBulkInterval" => to(history::bulk_interval(state, from(input)?)?),
        other => Err(ApiError::invalid(format!(
            "this server answers no GraphQL field {other}"
        ))),
    }
}

/// Adds the fields MLflow's GraphQL run has beyond the REST one: its
/// experiment, and the model versions registered from it.
fn decorate_run(state: &AppState, run: &mut Value) -> ApiResult<()> {
    let Some(exp_id) = run.pointer("/info/experiment_id").and_then(Value::as_str) else {
        return Ok(());
    };
    let experiment = state
        .store
        .get_experiment(experiments::experiment_id(exp_id)?)?;
    run["experiment"] = serde_json::to_value(experiments::experiment_out(state, &experiment))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let run_id = run
        .pointer("/info/run_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let versions = crate::search::search_model_versions(
        &state.store,
        &crate::search::ModelVersionSearch {
            filter: format!("run_id = '{run_id}'"),
            max_results: 10_000,
            order_by: Vec::new(),
            page_token: None,
        },
    )?;
    run["model_versions"] = serde_json::to_value(
        versions
            .model_versions
            .iter()
            .map(super::registry::version_out)
            .collect::<Vec<_>>(),
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(())
}

/// int64 fields, which MLflow's GraphQL schema carries as strings (`LongString`).
const LONG_FIELDS: &[&str] = &[
    "startTime",
    "endTime",
    "timestamp",
    "step",
    "lastUpdateTime",
    "creationTime",
    "creationTimestamp",
    "lastUpdatedTimestamp",
];

/// snake_case keys as camelCase; int64 fields as strings.
fn camel_keys(value: Value, long: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let k = camel(&k);
                    let long = LONG_FIELDS.contains(&k.as_str());
                    (k, camel_keys(v, long))
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| camel_keys(v, long)).collect())
        }
        Value::Number(n) if long => Value::String(n.to_string()),
        other => other,
    }
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn snake_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut s = String::with_capacity(k.len() + 4);
                    for c in k.chars() {
                        if c.is_ascii_uppercase() {
                            s.push('_');
                            s.push(c.to_ascii_lowercase());
                        } else {
                            s.push(c);
                        }
                    }
                    (s, snake_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

/// `value` cut down to `selection` (objects field by field, arrays item by
/// item); `__typename` answers a type name made from `parent`.
fn project(value: &Value, selection: &[Field], parent: &str) -> Value {
    if selection.is_empty() {
        return value.clone();
    }
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| project(v, selection, parent))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            selection
                .iter()
                .map(|f| {
                    let v = if f.name == "__typename" {
                        Value::String(type_name(parent))
                    } else {
                        match map.get(&f.name) {
                            Some(v) => project(v, &f.selection, &f.name),
                            None if !f.selection.is_empty() && is_list_field(&f.name) => {
                                Value::Array(Vec::new())
                            }
                            None => Value::Null,
                        }
                    };
                    (f.key.clone(), v)
                })
                .collect(),
        ),
        Value::Null => Value::Null,
        other => other.clone(),
    }
}

/// Fields that are lists in MLflow's schema (an absent one is `[]`, as
/// MLflow answers, not null).
fn is_list_field(name: &str) -> bool {
    matches!(
        name,
        "metrics"
            | "params"
            | "tags"
            | "runs"
            | "datasetInputs"
            | "modelInputs"
            | "modelOutputs"
            | "modelVersions"
    )
}

fn type_name(field: &str) -> String {
    let mut c = field.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + "Response",
        None => "Response".into(),
    }
}

// ---- a minimal reader of one operation's selection sets --------------------

#[derive(Debug, PartialEq, Clone)]
enum Token {
    Name(String),
    Punct(char),
    Text,
}

fn tokens(q: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
        } else if c == '#' {
            while chars.next().is_some_and(|c| c != '\n') {}
        } else if c == '"' {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
            out.push(Token::Text);
        } else if c.is_alphanumeric() || c == '_' {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token::Name(name));
        } else {
            out.push(Token::Punct(c));
            chars.next();
        }
    }
    out
}

/// The top-level fields of the query's (first) operation.
fn parse_operation(q: &str) -> ApiResult<Vec<Field>> {
    let toks = tokens(q);
    let start = toks
        .iter()
        .position(|t| *t == Token::Punct('{'))
        .ok_or_else(|| ApiError::invalid("a GraphQL query needs a selection set"))?;
    let mut pos = start;
    selection_set(&toks, &mut pos)
}

fn selection_set(toks: &[Token], pos: &mut usize) -> ApiResult<Vec<Field>> {
    let bad = || ApiError::invalid("malformed GraphQL selection set");
    if toks.get(*pos) != Some(&Token::Punct('{')) {
        return Err(bad());
    }
    *pos += 1;
    let mut fields = Vec::new();
    loop {
        match toks.get(*pos) {
            Some(Token::Punct('}')) => {
                *pos += 1;
                return Ok(fields);
            }
            Some(Token::Name(first)) => {
                let mut key = first.clone();
                let mut name = first.clone();
                *pos += 1;
                if toks.get(*pos) == Some(&Token::Punct(':')) {
                    match toks.get(*pos + 1) {
                        Some(Token::Name(n)) => {
                            name = n.clone();
                            *pos += 2;
                        }
                        _ => return Err(bad()),
                    }
                } else {
                    key = name.clone();
                }
                let mut variable = None;
                if toks.get(*pos) == Some(&Token::Punct('(')) {
                    variable = arguments(toks, pos)?;
                }
                while toks.get(*pos) == Some(&Token::Punct('@')) {
                    *pos += 2; // @name
                    if toks.get(*pos) == Some(&Token::Punct('(')) {
                        arguments(toks, pos)?;
                    }
                }
                let selection = if toks.get(*pos) == Some(&Token::Punct('{')) {
                    selection_set(toks, pos)?
                } else {
                    Vec::new()
                };
                fields.push(Field {
                    key,
                    name,
                    variable,
                    selection,
                });
            }
            _ => return Err(bad()),
        }
    }
}

/// Skips `( … )`, returning the first `$variable` it names.
fn arguments(toks: &[Token], pos: &mut usize) -> ApiResult<Option<String>> {
    let mut depth = 0;
    let mut variable = None;
    loop {
        match toks.get(*pos) {
            Some(Token::Punct('(')) => depth += 1,
            Some(Token::Punct(')')) => {
                depth -= 1;
                if depth == 0 {
                    *pos += 1;
                    return Ok(variable);
                }
            }
            Some(Token::Punct('$')) => {
                if let (None, Some(Token::Name(n))) = (&variable, toks.get(*pos + 1)) {
                    variable = Some(n.clone());
                }
            }
            None => return Err(ApiError::invalid("unclosed GraphQL arguments")),
            _ => {}
        }
        *pos += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ui_queries_selection_sets() {
        let q = r#"query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.X") {
            mlflowGetRun(input: $data) { apiError { code } run { info { runName startTime } } }
        }"#;
        let fields = parse_operation(q).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].name, "mlflowGetRun");
        assert_eq!(fields[0].variable.as_deref(), Some("data"));
        assert_eq!(
            fields[0].selection[1].selection[0].selection[1].name,
            "startTime"
        );
    }

    #[test]
    fn projection_keeps_selected_fields_and_longs_become_strings() {
        let value = camel_keys(
            serde_json::json!({"run": {"info": {"run_name": "a", "start_time": 5, "x": 1},
                                       "data": {"metrics": [{"key": "m", "value": 1.5, "step": 2}]}}}),
            false,
        );
        let sel = parse_operation("{ run { info { runName startTime } data { metrics { key step } params { key } } } apiError { code } }")
            .unwrap();
        let out = project(&value, &sel, "mlflowGetRun");
        assert_eq!(
            out,
            serde_json::json!({"run": {"info": {"runName": "a", "startTime": "5"},
                "data": {"metrics": [{"key": "m", "step": "2"}], "params": []}}, "apiError": null})
        );
    }
}
