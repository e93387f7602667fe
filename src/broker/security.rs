//! Who may connect and what they may do: `allow_anonymous`, `password_file` and `acl_file`,
//! either broker-wide or, with `per_listener_settings true`, per listener (mosquitto's
//! semantics: a client is judged only by the settings of the listener it came in on).
//!
//! A [`SecurityPolicy`] is built from a [`BrokerConfig`] by reading its files; [`Security`]
//! holds the current one and swaps it on SIGHUP, so a reload never drops a client: connected
//! clients keep their session, new CONNECTs use the new password files, and the ACL applies to
//! everyone from its next check on.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::acl::{Access, Acl, AclError};
use super::auth::PasswordFile;
use super::config::{BrokerConfig, SecuritySettings};
use crate::protocol::ReasonCode;

/// The listener index of the broker's own in-process sessions (the local side of a bridge):
/// no ACL applies to them, as mosquitto does not check its bridges' local side.
pub const INTERNAL: usize = usize::MAX;

/// Why a policy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The ACL file could not be used.
    #[error(transparent)]
    Acl(#[from] AclError),
    /// The password file could not be read.
    #[error("cannot read password file '{path}'")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The security settings of one listener (or of the whole broker).
#[derive(Debug, Default)]
pub struct ListenerSecurity {
    /// Whether clients without a user name may connect.
    pub anonymous: bool,
    /// Users, when a password file is configured.
    pub passwords: Option<PasswordFile>,
    /// Topic access control, when an ACL file is configured.
    pub acl: Option<Acl>,
}

/// Everything the broker checks for authentication and topic access, as read from the files.
#[derive(Debug, Default)]
pub struct SecurityPolicy {
    /// `per_listener_settings true`: `scopes[i]` belongs to listener `i`; else one scope.
    per_listener: bool,
    scopes: Vec<ListenerSecurity>,
    /// Any scope has an ACL (read once per delivery, so kept rather than computed).
    any_acl: bool,
}

/// Why a CONNECT with credentials was refused. Both answers are "not authorised" on the wire
/// (see [`SecurityPolicy::check_credentials`]); the distinction is kept for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No user name, and anonymous clients are not allowed on this listener.
    Anonymous,
    /// Unknown user, or a wrong password.
    BadCredentials,
}

impl Refusal {
    /// The CONNACK reason: mosquitto answers "not authorised" for both (3.1.1 return code 5,
    /// 5.0 reason 0x87), which MQTT311 §3.2.2.3 and MQTT5 §3.2.2.2 both allow; a client cannot
    /// tell an unknown user from a wrong password. See docs/broker.md.
    #[must_use]
    pub fn reason_code(self) -> ReasonCode {
        ReasonCode::NotAuthorized
    }
}

fn load_scope(
    s: &SecuritySettings,
    anonymous: bool,
) -> Result<(ListenerSecurity, Vec<String>), SecurityError> {
    let mut warnings = Vec::new();
    let passwords = match &s.password_file {
        Some(path) => {
            let (pw, w) =
                PasswordFile::load(path).map_err(|source| SecurityError::PasswordFile {
                    path: path.clone(),
                    source,
                })?;
            warnings.extend(w);
            Some(pw)
        }
        None => None,
    };
    let acl = match &s.acl_file {
        Some(path) => Some(Acl::load(path)?),
        None => None,
    };
    Ok((
        ListenerSecurity {
            anonymous,
            passwords,
            acl,
        },
        warnings,
    ))
}

impl SecurityPolicy {
    /// Reads the password and ACL files the config names. Returns the policy and warnings
    /// (password lines that were skipped).
    pub fn load(cfg: &BrokerConfig) -> Result<(Self, Vec<String>), SecurityError> {
        let mut warnings = Vec::new();
        let mut scopes = Vec::new();
        if cfg.per_listener_settings && !cfg.listeners.is_empty() {
            for l in &cfg.listeners {
                let anonymous = l.security.allow_anonymous.unwrap_or(false);
                let (scope, w) = load_scope(&l.security, anonymous)?;
                warnings.extend(w);
                scopes.push(scope);
            }
        } else {
            let (scope, w) = load_scope(&cfg.security, cfg.anonymous_allowed())?;
            warnings.extend(w);
            scopes.push(scope);
        }
        let any_acl = scopes.iter().any(|s| s.acl.is_some());
        Ok((
            Self {
                per_listener: cfg.per_listener_settings && !cfg.listeners.is_empty(),
                scopes,
                any_acl,
            },
            warnings,
        ))
    }

    /// A policy that lets everyone in and checks no topic (for tests and embedding).
    #[must_use]
    pub fn open() -> Self {
        Self {
            per_listener: false,
            scopes: vec![ListenerSecurity {
                anonymous: true,
                passwords: None,
                acl: None,
            }],
            any_acl: false,
        }
    }

    /// The settings that apply to clients of listener `listener` (its index in the config).
    #[must_use]
    pub fn scope(&self, listener: usize) -> Option<&ListenerSecurity> {
        if self.per_listener {
            self.scopes.get(listener)
        } else {
            self.scopes.first()
        }
    }

    /// Judges a CONNECT's user name and password on listener `listener`. `None` admits it.
    ///
    /// As in mosquitto: without a user name, the listener's `allow_anonymous` decides; with one
    /// and a password file, the password must match; with a user name but no password file,
    /// the client is let in only where anonymous clients are.
    #[must_use]
    pub fn check_credentials(
        &self,
        listener: usize,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Option<Refusal> {
        let Some(scope) = self.scope(listener) else {
            return Some(Refusal::Anonymous);
        };
        match (username, &scope.passwords) {
            (None, _) if scope.anonymous => None,
            (None, _) => Some(Refusal::Anonymous),
            (Some(user), Some(pw)) => {
                if pw.check(user, password.unwrap_or_default()) {
                    None
                } else {
                    Some(Refusal::BadCredentials)
                }
            }
            (Some(_), None) if scope.anonymous => None,
            (Some(_), None) => Some(Refusal::Anonymous),
        }
    }

    /// True when any listener has an ACL file (so delivery must check `read`).
    #[must_use]
    pub fn has_acl(&self) -> bool {
        self.any_acl
    }

    /// True when the ACL of listener `listener` (if any) lets the client `access` the topic.
    /// A listener without an ACL file allows everything.
    #[must_use]
    pub fn acl_allows(
        &self,
        listener: usize,
        username: Option<&str>,
        client_id: &str,
        topic_name: &str,
        access: Access,
    ) -> bool {
        if listener == INTERNAL {
            return true;
        }
        match self.scope(listener) {
            Some(scope) => scope
                .acl
                .as_ref()
                .is_none_or(|acl| acl.allows(username, client_id, topic_name, access)),
            None => false,
        }
    }
}

/// The current [`SecurityPolicy`], shared by connection tasks and replaced on reload.
#[derive(Debug)]
pub struct Security {
    current: RwLock<Arc<SecurityPolicy>>,
}

impl Security {
    /// Holds `policy` as the current one.
    #[must_use]
    pub fn new(policy: Arc<SecurityPolicy>) -> Self {
        Self {
            current: RwLock::new(policy),
        }
    }

    /// The policy in force now (a cheap clone of an `Arc`).
    #[must_use]
    pub fn current(&self) -> Arc<SecurityPolicy> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `policy` in force for every check from now on.
    pub fn replace(&self, policy: Arc<SecurityPolicy>) {
        match self.current.write() {
            Ok(mut g) => *g = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_listener_settings_judge_each_listener_by_its_own_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let acl = dir.path().join("acl");
        std::fs::write(&acl, "topic read open/#\n").expect("write");
        let text = format!(
            "per_listener_settings true\nlistener 0 127.0.0.1\nallow_anonymous false\n\
             listener 0 127.0.0.1\nallow_anonymous true\nacl_file {}\n",
            acl.display()
        );
        let (cfg, _) = BrokerConfig::parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
        let (p, _) = SecurityPolicy::load(&cfg).expect("policy");
        assert_eq!(p.check_credentials(0, None, None), Some(Refusal::Anonymous));
        assert_eq!(p.check_credentials(1, None, None), None);
        // The ACL of listener 1 does not apply to listener 0.
        assert!(p.acl_allows(0, None, "c", "secret/x", Access::Write));
        assert!(!p.acl_allows(1, None, "c", "secret/x", Access::Write));
        assert!(p.acl_allows(1, None, "c", "open/x", Access::Read));
        // A listener that does not exist admits nobody.
        assert_eq!(p.check_credentials(7, None, None), Some(Refusal::Anonymous));
    }

    #[test]
    fn without_per_listener_settings_the_last_allow_anonymous_applies_everywhere() {
        let text = "listener 0 127.0.0.1\nallow_anonymous false\nlistener 0 127.0.0.1\nallow_anonymous true\n";
        let (cfg, _) = BrokerConfig::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        let (p, _) = SecurityPolicy::load(&cfg).expect("policy");
        assert_eq!(p.check_credentials(0, None, None), None);
        assert_eq!(p.check_credentials(1, None, None), None);
    }
}
