//! The artifact proxy (`/api/2.0/mlflow-artifacts/…`): upload (PUT),
//! download (GET), list, delete, and MLflow's multipart uploads; plus the
//! tracking API's `artifacts/list` and the UI's `get-artifact`.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::experiments::Empty;
use super::files::{Written, join, safe_relative};
use super::request::{blocking, json, parse, required};
use super::runs::run_id;
use crate::engine::ArtifactEntry;
use crate::mlflow::{FileInfo, ListArtifactsResponse, de_opt_i64};

/// Name of the directory (in the artifact root) where multipart uploads
/// gather their parts; never listed.
const MPU_DIR: &str = ".runstore-mpu";

/// Whether a directory entry is the server's own (a multipart staging
/// directory, an upload's temporary file), not an artifact.
fn is_internal(name: &str) -> bool {
    name == MPU_DIR || (name.starts_with('.') && name.contains(".upload-"))
}

/// Immediate children of `rel` under the artifact root as MLflow's
/// `FileInfo`s, paths relative to `rel`'s parent-less listing (bare names),
/// sorted. A file or a missing path lists nothing (as MLflow's local
/// repository).
pub(crate) fn list_dir(state: &AppState, rel: &str) -> ApiResult<Vec<FileInfo>> {
    // The catalog records every file this server stored: a listing is a
    // range scan, not a directory walk.
    let dir_rel = rel.trim_matches('/');
    safe_relative(dir_rel)?;
    let recorded = state.store.list_artifacts(dir_rel)?;
    if !recorded.is_empty() {
        return Ok(recorded
            .into_iter()
            .map(|l| FileInfo {
                path: l.name().to_owned(),
                is_dir: l.is_dir,
                file_size: l.size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            })
            .collect());
    }
    // Files put there by other writers (the Python plugin writes a store's
    // artifacts directly): list the directory itself.
    let dir = state.artifacts.path(rel)?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_internal(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        files.push(FileInfo {
            path: name,
            is_dir: meta.is_dir(),
            file_size: (!meta.is_dir()).then(|| i64::try_from(meta.len()).unwrap_or(i64::MAX)),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// PUT: stores the body at the path, atomically.
pub(crate) async fn upload(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    body: Body,
) -> Response {
    let record = state.clone();
    let rel = path.clone();
    let written = match store_upload(state, path, body).await {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let recorded = blocking(move || {
        record.store.record_artifact(ArtifactEntry {
            path: rel.trim_matches('/').to_owned(),
            size: written.size,
            digest: written.digest,
            modified_ms: now_ms(),
        })?;
        Ok(())
    })
    .await;
    match recorded {
        Ok(()) => json(&Empty {}),
        Err(e) => e.into_response(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Streams `body` into the artifact file `path` from a blocking thread.
async fn store_upload(state: AppState, path: String, body: Body) -> ApiResult<Written> {
    safe_relative(&path)?;
    let limit = state.max_upload;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let writer = tokio::task::spawn_blocking(move || {
        let mut chunks = std::iter::from_fn(|| rx.blocking_recv());
        state.artifacts.write(&path, &mut chunks)
    });
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(std::io::Error::other);
        if let Ok(c) = &chunk {
            total += c.len() as u64;
            if total > limit {
                chunk = Err(std::io::Error::other(format!(
                    "the upload is larger than this server's limit of {limit} bytes"
                )));
            }
        }
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    match writer.await {
        Ok(result) => result,
        Err(e) => Err(ApiError::internal(format!("storing the upload: {e}"))),
    }
}

/// GET with a path: the file's bytes.
pub(crate) async fn download(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    match state.artifacts.path(&path) {
        Ok(file) => send_file(&file).await,
        Err(e) => e.into_response(),
    }
}

/// A file as a streamed response, with a content type guessed from its name.
pub(crate) async fn send_file(path: &Path) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(_) => {
            return ApiError::not_found(format!("artifact {} not found", display_name(path)))
                .into_response();
        }
    };
    match file.metadata().await {
        Ok(m) if m.is_dir() => {
            return ApiError::invalid(format!("{} is a directory", display_name(path)))
                .into_response();
        }
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
        Ok(_) => {}
    }
    let stream = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 << 10];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    response
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A content type by file extension (text for MLflow's own text files, so
/// the UI can preview them).
pub(crate) fn content_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name == "mlmodel" || name == "requirements.txt" {
        return "text/plain; charset=utf-8";
    }
    match name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("") {
        "txt" | "log" | "md" | "py" | "yaml" | "yml" | "cfg" | "ini" | "toml" => {
            "text/plain; charset=utf-8"
        }
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "js" => "text/javascript",
        "css" => "text/css",
        _ => "application/octet-stream",
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    path: Option<String>,
}

/// GET without a path: lists `?path=` (bare names).
pub(crate) async fn list(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    let req: ListQuery = match parse(&method, query.as_deref(), b"") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let rel = req.path.unwrap_or_default();
    match blocking(move || list_dir(&state, &rel)).await {
        Ok(files) => json(&ListArtifactsResponse {
            files,
            ..ListArtifactsResponse::default()
        }),
        Err(e) => e.into_response(),
    }
}

/// DELETE: removes the file or directory at the path.
pub(crate) async fn delete(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let result = blocking(move || {
        let target = state.artifacts.path(&path)?;
        if target == state.artifacts.dir() {
            return Err(ApiError::invalid("refusing to delete the artifact root"));
        }
        let rel = path.trim_matches('/');
        state.store.remove_artifacts_under(rel)?;
        state.store.remove_artifact(rel)?;
        let removed = if target.is_dir() {
            std::fs::remove_dir_all(&target)
        } else {
            std::fs::remove_file(&target)
        };
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ApiError::internal(format!("deleting {path}: {e}"))),
        }
    })
    .await;
    match result {
        Ok(()) => json(&Empty {}),
        Err(e) => e.into_response(),
    }
}

/// The tracking API's `artifacts/list`: a run's artifacts under `path`,
/// paths relative to the run's artifact root.
#[derive(Deserialize)]
pub(crate) struct ListRunArtifacts {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

pub(crate) fn list_run(
    state: &AppState,
    req: ListRunArtifacts,
) -> ApiResult<ListArtifactsResponse> {
    let id = match (&req.run_id, &req.run_uuid) {
        (Some(id), _) if !id.is_empty() => id.clone(),
        (_, Some(id)) if !id.is_empty() => id.clone(),
        _ => return Err(ApiError::missing("run_id")),
    };
    let run = state.store.get_run(run_id(&id)?)?;
    let root_uri = state.artifacts.present(&run.artifact_uri);
    let rel = req.path.unwrap_or_default();
    safe_relative(&rel)?;
    let files = match state.artifacts.proxy_path(&root_uri) {
        Some(base) => {
            let dir = join(&base, &rel);
            list_dir(state, &dir)?
                .into_iter()
                .map(|f| FileInfo {
                    path: join(&rel, &f.path),
                    ..f
                })
                .collect()
        }
        // A location outside the server's artifact root: the client reads
        // it itself (MLflow's server would need credentials for it).
        None => Vec::new(),
    };
    Ok(ListArtifactsResponse {
        root_uri: Some(root_uri),
        files,
        next_page_token: None,
    })
}

/// The UI's `get-artifact?run_id=&path=`: one file of a run.
pub(crate) async fn get_run_artifact(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let req: ListRunArtifacts = match parse(&Method::GET, query.as_deref(), b"") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let lookup = state.clone();
    let file = blocking(move || {
        let id = required(&req.run_id, "run_id").or_else(|_| required(&req.run_uuid, "run_id"))?;
        let run = lookup.store.get_run(run_id(id)?)?;
        let rel = req.path.unwrap_or_default();
        lookup.artifacts.file_under(&run.artifact_uri, &rel, "run")
    })
    .await;
    match file {
        Ok(path) => send_file(&path).await,
        Err(e) => e.into_response(),
    }
}

// ---- multipart uploads ----------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct CreateMpu {
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    num_parts: Option<i64>,
}

#[derive(Serialize)]
struct Credential {
    url: String,
    part_number: i64,
    headers: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct CreateMpuResponse {
    upload_id: String,
    credentials: Vec<Credential>,
}

#[derive(Serialize, Deserialize)]
struct MpuMeta {
    target: String,
    num_parts: i64,
}

/// Most parts one upload may have (S3's limit).
const MAX_PARTS: i64 = 10_000;

/// `mpu/create/<dir>`: starts an upload of `basename(path)` into `<dir>`;
/// each part's URL is a PUT to this server, authorised by the upload's
/// unguessable id (MLflow's client sends parts without credentials, as it
/// would to presigned object-store URLs).
pub(crate) async fn mpu_create(
    State(state): State<AppState>,
    UrlPath(dir): UrlPath<String>,
    headers: HeaderMap,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let req: CreateMpu = match parse(&method, query.as_deref(), &body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let base = base_url(&headers);
    let result = blocking(move || {
        let local = required(&req.path, "path")?;
        let name = local
            .rsplit(['/', '\\'])
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("Invalid path: {local}")))?;
        let target = join(&dir, name);
        safe_relative(&target)?;
        let num_parts = req.num_parts.unwrap_or(1);
        if !(1..=MAX_PARTS).contains(&num_parts) {
            return Err(ApiError::invalid(format!(
                "num_parts must be between 1 and {MAX_PARTS}, got {num_parts}"
            )));
        }
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| ApiError::internal(e.to_string()))?;
        let upload_id = super::files::hex(&id);
        let staging = mpu_dir(&state, &upload_id)?;
        std::fs::create_dir_all(&staging)
            .map_err(|e| ApiError::internal(format!("{}: {e}", staging.display())))?;
        let meta = serde_json::to_vec(&MpuMeta { target, num_parts })
            .map_err(|e| ApiError::internal(e.to_string()))?;
        std::fs::write(staging.join("meta.json"), meta)
            .map_err(|e| ApiError::internal(format!("{}: {e}", staging.display())))?;
        let credentials = (1..=num_parts)
            .map(|n| Credential {
                url: format!("{base}/api/2.0/mlflow-artifacts/mpu/part/{upload_id}/{n}"),
                part_number: n,
                headers: serde_json::Map::new(),
            })
            .collect();
        Ok(CreateMpuResponse {
            upload_id,
            credentials,
        })
    })
    .await;
    match result {
        Ok(r) => json(&r),
        Err(e) => e.into_response(),
    }
}

fn mpu_dir(state: &AppState, upload_id: &str) -> ApiResult<std::path::PathBuf> {
    if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found(format!(
            "no multipart upload {upload_id}"
        )));
    }
    Ok(state.artifacts.dir().join(MPU_DIR).join(upload_id))
}

fn read_meta(state: &AppState, upload_id: &str) -> ApiResult<(std::path::PathBuf, MpuMeta)> {
    let dir = mpu_dir(state, upload_id)?;
    let meta = std::fs::read(dir.join("meta.json"))
        .map_err(|_| ApiError::not_found(format!("no multipart upload {upload_id}")))?;
    let meta: MpuMeta = serde_json::from_slice(&meta)
        .map_err(|e| ApiError::internal(format!("multipart upload {upload_id}: {e}")))?;
    Ok((dir, meta))
}

/// `PUT mpu/part/<upload id>/<n>`: one part's bytes; answers its ETag.
pub(crate) async fn mpu_part(
    State(state): State<AppState>,
    UrlPath((upload_id, part)): UrlPath<(String, i64)>,
    body: Body,
) -> Response {
    let checked = {
        let state = state.clone();
        let upload_id = upload_id.clone();
        blocking(move || {
            let (dir, meta) = read_meta(&state, &upload_id)?;
            if !(1..=meta.num_parts).contains(&part) {
                return Err(ApiError::invalid(format!(
                    "part {part} is outside 1..={}",
                    meta.num_parts
                )));
            }
            Ok(dir)
        })
        .await
    };
    let dir = match checked {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let rel = match dir
        .join(format!("part-{part:05}"))
        .strip_prefix(state.artifacts.dir())
    {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => return ApiError::internal("multipart staging outside the root").into_response(),
    };
    match store_upload(state, rel, body).await {
        Ok(written) => {
            let mut r = StatusCode::OK.into_response();
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", written.digest)) {
                r.headers_mut().insert(header::ETAG, etag);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct FinishMpu {
    #[serde(default)]
    upload_id: Option<String>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default, deserialize_with = "de_opt_i64")]
    part_number: Option<i64>,
    #[serde(default)]
    etag: Option<String>,
}

/// `mpu/complete/<dir>`: joins the parts, in order, into the target file.
pub(crate) fn mpu_complete(state: &AppState, req: FinishMpu) -> ApiResult<Empty> {
    let upload_id = required(&req.upload_id, "upload_id")?;
    let (dir, meta) = read_meta(state, upload_id)?;
    if req.parts.is_empty() {
        return Err(ApiError::missing("parts"));
    }
    let mut numbers: Vec<(i64, Option<String>)> = req
        .parts
        .iter()
        .map(|p| (p.part_number.unwrap_or(0), p.etag.clone()))
        .collect();
    numbers.sort_by_key(|(n, _)| *n);
    let mut files = Vec::with_capacity(numbers.len());
    for (i, (n, etag)) in numbers.iter().enumerate() {
        if *n != i as i64 + 1 {
            return Err(ApiError::invalid(format!(
                "parts must be numbered 1 to {} without gaps; found part {n} at position {}",
                numbers.len(),
                i + 1
            )));
        }
        let file = dir.join(format!("part-{n:05}"));
        if !file.is_file() {
            return Err(ApiError::invalid(format!("part {n} was never uploaded")));
        }
        if let Some(etag) = etag.as_deref().filter(|e| !e.is_empty()) {
            let digest = super::files::hex(&sha256_file(&file)?);
            if etag.trim_matches('"') != digest {
                return Err(ApiError::invalid(format!(
                    "part {n}'s ETag {etag} does not match what was uploaded"
                )));
            }
        }
        files.push(file);
    }
    let mut chunks = FileChunks {
        files: files.into_iter(),
        current: None,
    };
    let written = state.artifacts.write(&meta.target, &mut chunks)?;
    state.store.record_artifact(ArtifactEntry {
        path: meta.target.trim_matches('/').to_owned(),
        size: written.size,
        digest: written.digest,
        modified_ms: now_ms(),
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Empty {})
}

/// `mpu/abort/<dir>`: drops the parts.
pub(crate) fn mpu_abort(state: &AppState, req: FinishMpu) -> ApiResult<Empty> {
    let upload_id = required(&req.upload_id, "upload_id")?;
    let (dir, _) = read_meta(state, upload_id)?;
    std::fs::remove_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("{}: {e}", dir.display())))?;
    Ok(Empty {})
}

/// The bytes of several files, in order, 1 MiB at a time.
struct FileChunks {
    files: std::vec::IntoIter<std::path::PathBuf>,
    current: Option<std::fs::File>,
}

impl Iterator for FileChunks {
    type Item = std::io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        loop {
            let file = match &mut self.current {
                Some(f) => f,
                None => match std::fs::File::open(self.files.next()?) {
                    Ok(f) => self.current.insert(f),
                    Err(e) => return Some(Err(e)),
                },
            };
            let mut buf = vec![0u8; 1 << 20];
            match file.read(&mut buf) {
                Ok(0) => self.current = None,
                Ok(n) => {
                    buf.truncate(n);
                    return Some(Ok(Bytes::from(buf)));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn sha256_file(path: &Path) -> ApiResult<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    Ok(hasher.finalize().to_vec())
}

/// The URL clients reached this server at (`Host`, and a proxy's
/// `X-Forwarded-Proto`/`-Host` when present).
fn base_url(headers: &HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let host = get("x-forwarded-host")
        .or_else(|| get("host"))
        .unwrap_or_else(|| "127.0.0.1".into());
    let scheme = get("x-forwarded-proto").unwrap_or_else(|| "http".into());
    format!("{scheme}://{host}")
}
