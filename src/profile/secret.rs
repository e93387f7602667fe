//! Passwords: a [`Secret`] type that never prints its value, and [`PasswordSource`], resolved
//! at connect time from the profile file, an environment variable, a password file or a
//! prompt on the terminal.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A password. `Debug` and `Display` show `***`; only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The password itself, for the CONNECT packet.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a profile's password comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PasswordSource {
    /// No password.
    #[default]
    None,
    /// Stored in `profiles.toml`.
    Stored(Secret),
    /// An environment variable of this name.
    Env(String),
    /// The first line of this file.
    File(PathBuf),
    /// Asked for at connect time.
    Ask,
}

/// Why a password could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `password_env` names a variable that is not set (or not UTF-8).
    #[error("profile '{profile}': the environment variable {var} (password_env) is not set")]
    EnvMissing {
        /// The profile.
        profile: String,
        /// The variable.
        var: String,
    },
    /// `password_file` cannot be read.
    #[error("profile '{profile}': cannot read the password file '{}'", path.display())]
    File {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `password_file` is empty.
    #[error("profile '{profile}': the password file '{}' is empty", path.display())]
    FileEmpty {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
    },
    /// `ask_password` without a terminal to ask on.
    #[error(
        "profile '{profile}' asks for the password at connect time, but there is no terminal \
         to ask on; give -P, or set password_env or password_file in the profile"
    )]
    NoTerminal {
        /// The profile.
        profile: String,
    },
    /// The user pressed Esc or Ctrl-C at the prompt.
    #[error("profile '{profile}': no password entered")]
    Cancelled {
        /// The profile.
        profile: String,
    },
}

/// `~/x` becomes `$HOME/x`; other paths are unchanged.
#[must_use]
pub fn expand_home(path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
    {
        return home.join(rest);
    }
    path.to_path_buf()
}

/// Gets the password for `profile` (named in errors) without asking anyone: `Ok(None)` for
/// [`PasswordSource::Ask`], which the caller handles (terminal prompt or workbench dialog).
///
/// # Errors
/// A missing variable, an unreadable or empty file.
pub fn resolve_without_asking(
    profile: &str,
    source: &PasswordSource,
) -> Result<Option<String>, SecretError> {
    match source {
        PasswordSource::None | PasswordSource::Ask => Ok(None),
        PasswordSource::Stored(s) => Ok(Some(s.expose().to_owned())),
        PasswordSource::Env(var) => match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(SecretError::EnvMissing {
                profile: profile.to_owned(),
                var: var.clone(),
            }),
        },
        PasswordSource::File(path) => {
            let full = expand_home(path);
            let text = std::fs::read_to_string(&full).map_err(|source| SecretError::File {
                profile: profile.to_owned(),
                path: full.clone(),
                source,
            })?;
            let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if line.is_empty() {
                return Err(SecretError::FileEmpty {
                    profile: profile.to_owned(),
                    path: full,
                });
            }
            Ok(Some(line.to_owned()))
        }
    }
}

/// Gets the password, prompting on the terminal (without echo) for [`PasswordSource::Ask`].
///
/// # Errors
/// See [`resolve_without_asking`]; for `Ask`, no terminal or a cancelled prompt.
pub fn resolve(
    profile: &str,
    user: &str,
    source: &PasswordSource,
) -> Result<Option<String>, SecretError> {
    if *source != PasswordSource::Ask {
        return resolve_without_asking(profile, source);
    }
    prompt(&format!("Password for {user} (profile '{profile}'): "))
        .map_err(|e| match e {
            PromptError::NoTerminal => SecretError::NoTerminal {
                profile: profile.to_owned(),
            },
            PromptError::Cancelled => SecretError::Cancelled {
                profile: profile.to_owned(),
            },
        })
        .map(Some)
}

enum PromptError {
    NoTerminal,
    Cancelled,
}

/// Restores cooked mode however the prompt ends.
struct RawGuard;

impl Drop for RawGuard {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Reads a line from the terminal without echo. The prompt goes to stderr.
fn prompt(text: &str) -> Result<String, PromptError> {
    use std::io::{IsTerminal, Write};

    use crossterm::event::{Event, KeyCode, KeyModifiers, read};

    if !std::io::stdin().is_terminal() && std::fs::File::open("/dev/tty").is_err() {
        return Err(PromptError::NoTerminal);
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{text}");
    let _ = err.flush();
    crossterm::terminal::enable_raw_mode().map_err(|_| PromptError::NoTerminal)?;
    let guard = RawGuard;
    let mut pw = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.is_press() => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Esc => break Err(PromptError::Cancelled),
                KeyCode::Char('c' | 'd') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(PromptError::Cancelled);
                }
                KeyCode::Backspace => {
                    pw.pop();
                }
                KeyCode::Char(c) => pw.push(c),
                _ => {}
            },
            Ok(Event::Paste(s)) => pw.push_str(&s),
            Ok(_) => {}
            Err(_) => break Err(PromptError::NoTerminal),
        }
    };
    drop(guard);
    let _ = writeln!(err);
    result.map(|()| pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_and_env_sources() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\nignored\n").unwrap();
        let got = resolve_without_asking("p", &PasswordSource::File(f.clone())).unwrap();
        assert_eq!(got.as_deref(), Some("s3cret"));
        std::fs::write(&f, "").unwrap();
        let e = resolve_without_asking("p", &PasswordSource::File(f)).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let e = resolve_without_asking(
            "p",
            &PasswordSource::Env("MQTT_WORKBENCH_TEST_SURELY_UNSET".into()),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("MQTT_WORKBENCH_TEST_SURELY_UNSET (password_env) is not set"),
            "{e}"
        );
        let missing = dir.path().join("nope");
        let e = resolve_without_asking("p", &PasswordSource::File(missing)).unwrap_err();
        assert!(
            e.to_string().contains("cannot read the password file"),
            "{e}"
        );
    }
}
