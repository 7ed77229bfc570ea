//! # runstore-query
//!
//! runstore's search language: MLflow's run-search filter strings and
//! `order_by` clauses, parsed with [nom] into a typed syntax tree ([`ast`])
//! that accepts and rejects exactly what MLflow 3's `search_runs` does.
//! The grammar, the comparator matrix and every MLflow quirk followed or
//! deliberately not followed are in `docs/query-language.md`.
//!
//! ```
//! use runstore_query::{parse_filter, parse_order_by, Dialect, Expr};
//!
//! let filter = parse_filter(
//!     "metrics.acc > 0.9 and params.model LIKE 'res%' AND tags.`team name` = 'fraud'",
//!     Dialect::Mlflow,
//! )?;
//! let Some(Expr::And(conditions)) = &filter else { unreachable!() };
//! assert_eq!(conditions.len(), 3);
//! // Display prints the canonical text, which parses back to the same tree.
//! let text = filter.as_ref().map(ToString::to_string).unwrap_or_default();
//! assert_eq!(text, "metrics.acc > 0.9 AND params.model LIKE 'res%' AND tags.`team name` = 'fraud'");
//! assert_eq!(parse_filter(&text, Dialect::Mlflow)?, filter);
//!
//! // OR, NOT and parentheses are a runstore extension.
//! assert!(parse_filter("metrics.a > 1 OR metrics.b > 1", Dialect::Mlflow).is_err());
//! assert!(parse_filter("NOT (metrics.a > 1 OR metrics.b > 1)", Dialect::Extended).is_ok());
//!
//! let order = parse_order_by(&["metrics.f1 DESC", "attributes.start_time"])?;
//! assert_eq!(order[0].to_string(), "metrics.f1 DESC");
//!
//! let err = parse_filter("metrics.acc > 'high'", Dialect::Mlflow).unwrap_err();
//! assert_eq!(err.to_string(), "invalid filter: expected a number after '>', found a quoted string at character 15");
//! # Ok::<(), runstore_query::ParseError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ast;
pub mod compare;
mod error;
mod experiments;
pub mod export;
mod parse;
pub mod plan;
pub mod registry;
pub mod search;
pub mod sql;
pub mod tables;
mod token;

pub use ast::{
    Attribute, Condition, DatasetField, Expr, NumOp, OrderBy, OrderKey, SetOp, StrOp,
    TextAttribute, TextOp, TimeAttribute, TimeValue,
};
pub use error::{Error, ParseError, Result};
pub use experiments::{ExperimentSearch, ExperimentsPage, search_experiments};
pub use parse::{Dialect, MAX_DEPTH, parse_filter, parse_order_by, parse_order_by_clause};
pub use registry::{
    DatasetFilter, LoggedModelOrder, LoggedModelSearch, LoggedModelsPage, ModelVersionSearch,
    ModelVersionsPage, RegisteredModelSearch, RegisteredModelsPage, search_logged_models,
    search_model_versions, search_registered_models,
};
pub use search::{
    DEFAULT_MAX_RESULTS, MAX_MAX_RESULTS, PageResults, SearchRequest, SearchResults, search,
    search_async, search_page, search_page_len,
};
