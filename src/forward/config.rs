//! Where to forward: the `[forward]` table of `runstore.toml` in the store
//! directory, overridden by the environment.
//!
//! ```toml
//! [forward]
//! mlflow_uri = "https://mlflow.example.com"   # RUNSTORE_FORWARD_MLFLOW_URI
//! experiment = "pipeline"                     # RUNSTORE_FORWARD_EXPERIMENT (optional)
//! token = "…"                                 # MLFLOW_TRACKING_TOKEN (optional)
//! username = "…"                              # MLFLOW_TRACKING_USERNAME (optional)
//! password = "…"                              # MLFLOW_TRACKING_PASSWORD (optional)
//! ```
//!
//! Without `experiment`, each run goes to the server's experiment of the
//! same name as its own (created when missing); with it, every run goes to
//! that one experiment. A token is sent as `Authorization: Bearer`, a user
//! name and password as HTTP basic authentication, as MLflow's client does.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The settings file in a store directory.
pub const CONFIG_FILE: &str = "runstore.toml";
/// The environment variable naming the MLflow tracking server to forward to.
pub const ENV_URI: &str = "RUNSTORE_FORWARD_MLFLOW_URI";
/// The environment variable naming the one experiment to forward every run to.
pub const ENV_EXPERIMENT: &str = "RUNSTORE_FORWARD_EXPERIMENT";
/// MLflow's bearer-token variable.
pub const ENV_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
/// MLflow's basic-auth user variable.
pub const ENV_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
/// MLflow's basic-auth password variable.
pub const ENV_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";

const SECTION: &str = "forward";

/// How to reach the server.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Token(String),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token(_) => f.write_str("Token(…)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, …)"),
        }
    }
}

/// Where and how to forward a store's writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardConfig {
    /// The MLflow tracking server, `http://` or `https://` (a path prefix is
    /// kept: `https://host/mlflow` calls `https://host/mlflow/api/2.0/mlflow/…`).
    pub uri: String,
    /// Every run goes to this experiment of the server when set; else each
    /// run goes to the experiment named like its own.
    pub experiment: Option<String>,
    /// Credentials.
    pub auth: Auth,
}

impl ForwardConfig {
    /// A configuration forwarding to `uri`, without credentials.
    pub fn new(uri: impl Into<String>) -> Result<Self> {
        let config = ForwardConfig {
            uri: uri.into(),
            experiment: None,
            auth: Auth::None,
        };
        config.check()?;
        Ok(config)
    }

    /// The configuration of the store in `dir`: its `runstore.toml`, each
    /// setting overridden by its environment variable when that is set and
    /// not empty. `None` when neither names a server.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let file = read_table(dir)?;
        let section = file.get(SECTION).and_then(toml::Value::as_table);
        let from_file = |key: &str| -> Result<Option<String>> {
            match section.and_then(|s| s.get(key)) {
                None => Ok(None),
                Some(toml::Value::String(s)) if s.is_empty() => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::Usage(format!(
                    "{}: [{SECTION}] {key} must be a string, not {}",
                    config_path(dir).display(),
                    other.type_str()
                ))),
            }
        };
        let pick = |env: &str, key: &str| -> Result<Option<String>> {
            match std::env::var(env) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                _ => from_file(key),
            }
        };
        let Some(uri) = pick(ENV_URI, "mlflow_uri")? else {
            return Ok(None);
        };
        let experiment = pick(ENV_EXPERIMENT, "experiment")?;
        let auth = match (
            pick(ENV_TOKEN, "token")?,
            pick(ENV_USERNAME, "username")?,
            pick(ENV_PASSWORD, "password")?,
        ) {
            (Some(token), _, _) => Auth::Token(token),
            (None, Some(username), password) => Auth::Basic {
                username,
                password: password.unwrap_or_default(),
            },
            (None, None, Some(_)) => {
                return Err(Error::Usage(format!(
                    "forwarding: a password is set ({ENV_PASSWORD} or [{SECTION}] password) but no user name"
                )));
            }
            (None, None, None) => Auth::None,
        };
        let config = ForwardConfig {
            uri,
            experiment,
            auth,
        };
        config.check()?;
        Ok(Some(config))
    }

    /// Writes this configuration into the `[forward]` table of the store's
    /// `runstore.toml` (other tables are kept), readable by its owner only
    /// when it holds a secret.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.check()?;
        let mut file = read_table(dir)?;
        let mut section = toml::Table::new();
        section.insert("mlflow_uri".into(), self.uri.clone().into());
        if let Some(e) = &self.experiment {
            section.insert("experiment".into(), e.clone().into());
        }
        match &self.auth {
            Auth::None => {}
            Auth::Token(t) => {
                section.insert("token".into(), t.clone().into());
            }
            Auth::Basic { username, password } => {
                section.insert("username".into(), username.clone().into());
                section.insert("password".into(), password.clone().into());
            }
        }
        file.insert(SECTION.into(), toml::Value::Table(section));
        write_table(dir, &file, self.auth != Auth::None)
    }

    /// Removes the `[forward]` table from the store's `runstore.toml`.
    pub fn remove(dir: &Path) -> Result<()> {
        let mut file = read_table(dir)?;
        if file.remove(SECTION).is_some() {
            write_table(dir, &file, false)?;
        }
        Ok(())
    }

    /// What remote ids learnt under this configuration refer to: the server
    /// and the target experiment (credentials are not part of it).
    pub fn target(&self) -> String {
        match &self.experiment {
            Some(e) => format!("{} experiment={e}", self.base()),
            None => self.base().to_owned(),
        }
    }

    /// The server's address without a trailing slash.
    pub fn base(&self) -> &str {
        self.uri.trim_end_matches('/')
    }

    fn check(&self) -> Result<()> {
        let ok = ["http://", "https://"]
            .iter()
            .any(|s| self.uri.len() > s.len() && self.uri.to_ascii_lowercase().starts_with(s));
        if !ok {
            return Err(Error::Usage(format!(
                "forwarding: the MLflow tracking URI must start with http:// or https://, got {:?}",
                self.uri
            )));
        }
        if self.experiment.as_deref() == Some("") {
            return Err(Error::Usage(
                "forwarding: the target experiment name must not be empty".into(),
            ));
        }
        Ok(())
    }
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join(CONFIG_FILE)
}

fn read_table(dir: &Path) -> Result<toml::Table> {
    let path = config_path(dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(e) => Err(Error::Io { path, source: e }),
    }
}

/// Writes `table` to the store's `runstore.toml` through a temporary file
/// and a rename, so a crash leaves the old file or the new one.
fn write_table(dir: &Path, table: &toml::Table, secret: bool) -> Result<()> {
    let path = config_path(dir);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let text =
        toml::to_string(table).map_err(|e| Error::Output(format!("{}: {e}", path.display())))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(".{CONFIG_FILE}.tmp"));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = secret;
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_keeps_other_tables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[other]\nx = 1\n").unwrap();
        let config = ForwardConfig {
            uri: "http://127.0.0.1:5000/".into(),
            experiment: Some("pipeline".into()),
            auth: Auth::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        };
        config.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(text.contains("[other]"), "{text}");
        // The environment of the test process names no server (the keys are read from the file).
        if std::env::var(ENV_URI).is_err() {
            assert_eq!(
                ForwardConfig::load(dir.path()).unwrap(),
                Some(config.clone())
            );
        }
        assert_eq!(config.target(), "http://127.0.0.1:5000 experiment=pipeline");
        assert!(!format!("{:?}", config.auth).contains('p'));
        ForwardConfig::remove(dir.path()).unwrap();
        if std::env::var(ENV_URI).is_err() {
            assert_eq!(ForwardConfig::load(dir.path()).unwrap(), None);
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(ForwardConfig::new("localhost:5000").is_err());
        assert!(ForwardConfig::new("http://").is_err());
        assert!(ForwardConfig::new("HTTPS://mlflow.example.com").is_ok());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[forward]\nmlflow_uri = 5\n").unwrap();
        if std::env::var(ENV_URI).is_err() {
            assert!(ForwardConfig::load(dir.path()).is_err());
        }
    }
}
