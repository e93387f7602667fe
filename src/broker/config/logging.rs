//! `log_dest` and `log_type`: where log lines go and which are kept.

use std::path::PathBuf;

/// Where log lines go (`log_dest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDest {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Appended to a file (reopened on SIGHUP, for logrotate).
    File(PathBuf),
    /// The local syslog daemon (`/dev/log`), facility daemon.
    Syslog,
    /// Published to `$SYS/broker/log/<class>` (never the packet-level lines).
    Topic,
}

/// mosquitto's `log_type` classes, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTypes(u16);

impl LogTypes {
    /// `debug`: packet traffic.
    pub const DEBUG: Self = Self(1);
    /// `error`.
    pub const ERROR: Self = Self(2);
    /// `warning`.
    pub const WARNING: Self = Self(4);
    /// `notice`.
    pub const NOTICE: Self = Self(8);
    /// `information`.
    pub const INFORMATION: Self = Self(16);
    /// `subscribe`: the `CLIENT QOS FILTER` lines.
    pub const SUBSCRIBE: Self = Self(32);
    /// `unsubscribe`: the `CLIENT FILTER` lines.
    pub const UNSUBSCRIBE: Self = Self(64);
    /// `websockets`.
    pub const WEBSOCKETS: Self = Self(128);
    /// None.
    pub const NONE: Self = Self(0);
    /// `all`.
    pub const ALL: Self = Self(255);
    /// mosquitto's default: error, warning, notice and information.
    pub const DEFAULT: Self = Self(2 | 4 | 8 | 16);

    /// True when every class of `other` is in `self`.
    #[must_use]
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// True when any class of `other` is in `self`.
    #[must_use]
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Adds the classes of `other`.
    #[must_use]
    pub fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The class a `log_type` word names.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "debug" => Self::DEBUG,
            "error" => Self::ERROR,
            "warning" => Self::WARNING,
            "notice" => Self::NOTICE,
            "information" => Self::INFORMATION,
            "subscribe" => Self::SUBSCRIBE,
            "unsubscribe" => Self::UNSUBSCRIBE,
            "websockets" => Self::WEBSOCKETS,
            "none" => Self::NONE,
            "all" => Self::ALL,
            _ => return None,
        })
    }
}
