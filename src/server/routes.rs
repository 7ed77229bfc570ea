//! The route table: MLflow's paths, under both the REST prefix
//! (`/api/2.0/…`) and the UI's (`/ajax-api/2.0/…`).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};

use super::error::ApiError;
use super::request::rpc;
use super::{
    AppState, ServeOptions, artifacts, auth, experiments, graphql, history, logged_models, logging,
    registry, runs, search, ui,
};
use crate::mlflow::ErrorCode;

/// MLflow's version this server speaks (what `/version` answers: MLflow's
/// client and UI read it as the tracking server's MLflow version).
pub(crate) const MLFLOW_VERSION: &str = "3.17.2";

/// JSON request bodies larger than this are refused (artifact uploads are
/// streamed and limited by `--max-upload-bytes` instead).
const MAX_JSON_BODY: usize = 64 << 20;

/// The tracking API's routes (relative to `/api/2.0/mlflow`).
fn tracking() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(rpc(experiments::create)))
        .route("/experiments/get", get(rpc(experiments::get)))
        .route(
            "/experiments/get-by-name",
            get(rpc(experiments::get_by_name)),
        )
        .route(
            "/experiments/search",
            post(rpc(experiments::search)).get(rpc(experiments::search)),
        )
        .route("/experiments/update", post(rpc(experiments::update)))
        .route("/experiments/delete", post(rpc(experiments::delete)))
        .route("/experiments/restore", post(rpc(experiments::restore)))
        .route(
            "/experiments/set-experiment-tag",
            post(rpc(experiments::set_tag)),
        )
        .route(
            "/experiments/delete-experiment-tag",
            post(rpc(experiments::delete_tag)),
        )
        .route("/experiments/search-datasets", post(rpc(search::datasets)))
        .route("/runs/create", post(rpc(runs::create)))
        .route("/runs/get", get(rpc(runs::get)))
        .route("/runs/update", post(rpc(runs::update)))
        .route("/runs/delete", post(rpc(runs::delete)))
        .route("/runs/restore", post(rpc(runs::restore)))
        .route("/runs/log-metric", post(rpc(runs::log_metric)))
        .route("/runs/log-parameter", post(rpc(runs::log_param)))
        .route("/runs/set-tag", post(rpc(runs::set_tag)))
        .route("/runs/delete-tag", post(rpc(runs::delete_tag)))
        .route("/runs/log-batch", post(rpc(runs::log_batch)))
        .route("/runs/log-inputs", post(rpc(runs::log_inputs)))
        .route("/runs/log-model", post(rpc(runs::log_model)))
        .route("/runs/search", post(rpc(search::runs)))
        .route("/metrics/get-history", get(rpc(history::get)))
        .route(
            "/metrics/get-history-bulk-interval",
            get(rpc(history::bulk_interval)),
        )
        .route("/artifacts/list", get(rpc(artifacts::list_run)))
        .route("/runs/outputs", post(rpc(logged_models::log_outputs)))
        .route("/logged-models", post(rpc(logged_models::create)))
        .route("/logged-models/search", post(rpc(logged_models::search)))
        .route(
            "/logged-models/{model_id}",
            get(logged_models::get)
                .patch(logged_models::finalize)
                .delete(logged_models::delete),
        )
        .route(
            "/logged-models/{model_id}/params",
            post(logged_models::log_params),
        )
        .route(
            "/logged-models/{model_id}/tags",
            patch(logged_models::set_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{tag_key}",
            delete(logged_models::delete_tag),
        )
        .route(
            "/logged-models/{model_id}/artifacts/directories",
            get(logged_models::list_artifacts),
        )
        .route(
            "/logged-models/{model_id}/artifacts/files",
            get(logged_models::artifact_file),
        )
        .merge(registry_routes())
}

/// The model registry's routes (relative to `/api/2.0/mlflow`).
fn registry_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/registered-models/create",
            post(rpc(registry::create_model)),
        )
        .route(
            "/registered-models/rename",
            post(rpc(registry::rename_model)),
        )
        .route(
            "/registered-models/update",
            patch(rpc(registry::update_model)),
        )
        .route(
            "/registered-models/delete",
            delete(rpc(registry::delete_model)),
        )
        .route("/registered-models/get", get(rpc(registry::get_model)))
        .route(
            "/registered-models/search",
            get(rpc(registry::search_models)),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(rpc(registry::latest_versions)).get(rpc(registry::latest_versions)),
        )
        .route(
            "/registered-models/set-tag",
            post(rpc(registry::set_model_tag)),
        )
        .route(
            "/registered-models/delete-tag",
            delete(rpc(registry::delete_model_tag)),
        )
        .route(
            "/registered-models/alias",
            post(rpc(registry::set_alias))
                .delete(rpc(registry::delete_alias))
                .get(rpc(registry::get_by_alias)),
        )
        .route(
            "/model-versions/create",
            post(rpc(registry::create_version)),
        )
        .route(
            "/model-versions/update",
            patch(rpc(registry::update_version)),
        )
        .route(
            "/model-versions/transition-stage",
            post(rpc(registry::transition)),
        )
        .route(
            "/model-versions/delete",
            delete(rpc(registry::delete_version)),
        )
        .route("/model-versions/get", get(rpc(registry::get_version)))
        .route(
            "/model-versions/search",
            get(rpc(registry::search_versions)),
        )
        .route(
            "/model-versions/get-download-uri",
            get(rpc(registry::download_uri)),
        )
        .route(
            "/model-versions/set-tag",
            post(rpc(registry::set_version_tag)),
        )
        .route(
            "/model-versions/delete-tag",
            delete(rpc(registry::delete_version_tag)),
        )
}

/// The artifact proxy's routes (relative to `/api/2.0/mlflow-artifacts`).
fn artifact_proxy() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(artifacts::list))
        .route(
            "/artifacts/{*path}",
            put(artifacts::upload)
                .get(artifacts::download)
                .delete(artifacts::delete),
        )
        .route("/mpu/create/{*path}", post(artifacts::mpu_create))
        .route("/mpu/complete/{*path}", post(rpc(artifacts::mpu_complete)))
        .route("/mpu/abort/{*path}", post(rpc(artifacts::mpu_abort)))
        .route("/mpu/part/{upload_id}/{part}", put(artifacts::mpu_part))
}

/// The whole application.
pub(crate) fn router(state: AppState, options: &ServeOptions) -> Router {
    let api = Router::new()
        .nest("/api/2.0/mlflow", tracking())
        .nest("/ajax-api/2.0/mlflow", tracking())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let proxy = Router::new()
        .nest("/api/2.0/mlflow-artifacts", artifact_proxy())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifact_proxy())
        .layer(DefaultBodyLimit::max(options.max_body_bytes));
    let mut app = Router::new()
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { MLFLOW_VERSION }))
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route("/ajax-api/3.0/mlflow/server-info", get(server_info))
        .route("/get-artifact", get(artifacts::get_run_artifact))
        .route("/graphql", post(graphql::graphql).get(graphql::graphql))
        .route("/", get(ui::index))
        .route("/static-files/{*path}", get(ui::static_file))
        .merge(api)
        .merge(proxy)
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            options.auth.clone(),
            auth::check,
        ));
    if options.log_requests {
        app = app.layer(axum::middleware::from_fn(logging::log));
    }
    app
}

/// `/api/3.0/mlflow/server-info`: how this server is set up.
async fn server_info() -> Response {
    super::request::json(&serde_json::json!({
        "store_type": "runstore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": true,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {"gateway": false},
    }))
}

/// Any other path: MLflow's ENDPOINT_NOT_FOUND with 404.
async fn not_found(uri: Uri) -> Response {
    let mut r = ApiError::new(
        ErrorCode::ENDPOINT_NOT_FOUND,
        format!("No API endpoint {} on this server", uri.path()),
    )
    .into_response();
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
