//! MLflow's REST wire format: the JSON messages of its tracking API and its
//! error codes, shared by the server (`runstore serve`, which reads requests
//! and writes responses) and the forwarder (which writes requests to an
//! external MLflow server and reads its responses).
//!
//! The shapes are those of MLflow 3.17's protos as its server prints them:
//! snake_case fields, int64 as JSON numbers, enums by name, NaN and the
//! infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, and unset
//! or empty fields left out. Reading is lenient where MLflow's is: an int64
//! may come as a number or a string (GET requests carry every field as
//! text), unknown fields are ignored.

mod convert;
mod error;
mod json;
mod messages;
mod models;
mod truncate;

pub use convert::{
    INPUT_TAG_CONTEXT, dataset_input_message, engine_dataset_input, experiment_message, run_message,
};
pub use error::{ErrorBody, ErrorCode};
pub use json::{de_f64, de_i64, de_opt_i64, de_opt_text, parse_f64, ser_f64};
pub use messages::*;
pub use models::*;
pub use truncate::{
    ENV_TRUNCATE_LONG_VALUES, param_value, tag_value, truncate_chars, truncation_enabled,
};
