//! Integration tests of runstore-query's parser (one test binary).

mod corpus;
mod grammar;
mod json;
mod mlflow_diff;
mod roundtrip;
