//! A real MLflow tracking server for the forwarding tests: `python -m mlflow
//! server` (the Python of [`crate::pyenv`]) on 127.0.0.1 with a SQLite
//! backend, in a process group of its own that is killed when the server is
//! stopped or dropped (so a failing test leaves no server behind).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer `/health` (it imports MLflow, runs
/// its database migrations; on a busy 2-core machine that is tens of seconds).
const STARTUP: Duration = Duration::from_secs(240);

/// A running MLflow server.
pub struct MlflowServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl MlflowServer {
    /// Starts a server keeping its data in `dir` (created), on a free port.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// [`MlflowServer::start`] with extra environment for the server.
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = MlflowServer {
            child: None,
            port,
            dir: dir.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        server.restart();
        server
    }

    /// The server's URI (`http://127.0.0.1:PORT`).
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (same port, same database) after [`stop`](Self::stop).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let mut cmd = Command::new(crate::pyenv::python());
        cmd.args(["-m", "mlflow", "server", "--backend-store-uri"])
            .arg(format!(
                "sqlite:///{}",
                self.dir.join("mlflow.db").display()
            ))
            .arg("--default-artifact-root")
            .arg(self.dir.join("artifacts"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--workers", "1"])
            .env("MLFLOW_DISABLE_TELEMETRY", "1")
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("python -m mlflow server starts");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "mlflow server exited ({status}) before answering; its log:\n{}",
                    self.log_tail()
                );
            }
            if self.healthy() {
                break;
            }
            if started.elapsed() > STARTUP {
                kill_group(&mut child);
                panic!(
                    "mlflow server did not answer /health within {STARTUP:?}; its log:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        self.child = Some(child);
    }

    /// Kills the server (its whole process group) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }

    fn healthy(&self) -> bool {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        agent
            .get(format!("{}/health", self.uri()))
            .call()
            .is_ok_and(|r| r.status() == 200)
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `POST api/2.0/mlflow/ENDPOINT` with `body`; the answer's status and JSON.
    pub fn post(&self, endpoint: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut answer = agent
            .post(format!("{}/api/2.0/mlflow/{endpoint}", self.uri()))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("the server answers");
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Everything the server holds, read with the `mlflow` client
    /// (tests/python/mlflow_dump.py).
    pub fn dump(&self) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mlflow_dump.py");
        let out = Command::new(crate::pyenv::python())
            .arg(script)
            .arg(self.uri())
            .env("MLFLOW_DISABLE_TELEMETRY", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mlflow_dump.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kills `child`'s process group (it leads one) and reaps it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();
}
