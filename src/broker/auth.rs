//! Password checking against a mosquitto `password_file` (made with `mosquitto_passwd`).
//!
//! Supported hashes: `$7$<iterations>$<salt>$<hash>` (PBKDF2-HMAC-SHA512, mosquitto 2.x) and
//! `$6$<salt>$<hash>` (salted SHA-512, mosquitto 1.x). Lines that cannot be read are skipped
//! with a warning, like mosquitto 2.0 does.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};

/// A stored password hash.
#[derive(Debug, Clone)]
enum Hash {
    Sha512 {
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

/// Users and their password hashes.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: HashMap<String, Hash>,
}

fn parse_hash(s: &str) -> Option<Hash> {
    let parts: Vec<&str> = s.split('$').collect();
    match parts.as_slice() {
        ["", "6", salt, hash] => Some(Hash::Sha512 {
            salt: STANDARD.decode(salt).ok()?,
            hash: STANDARD.decode(hash).ok()?,
        }),
        ["", "7", iterations, salt, hash] => Some(Hash::Pbkdf2 {
            iterations: iterations.parse().ok().filter(|&n| n > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            hash: STANDARD.decode(hash).ok()?,
        }),
        _ => None,
    }
}

/// Compares in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PasswordFile {
    /// Reads a password file. Returns it and a warning per line that was skipped.
    pub fn load(path: &Path) -> std::io::Result<(Self, Vec<String>)> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self::parse(&text, &path.display().to_string()))
    }

    /// Parses password file text; `name` is used in warnings.
    #[must_use]
    pub fn parse(text: &str, name: &str) -> (Self, Vec<String>) {
        let mut users = HashMap::new();
        let mut warnings = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            match line
                .split_once(':')
                .and_then(|(u, h)| Some((u, parse_hash(h)?)))
            {
                Some((user, hash)) => {
                    users.insert(user.to_owned(), hash);
                }
                None => warnings.push(format!(
                    "{name}:{}: invalid password line, user ignored",
                    i + 1
                )),
            }
        }
        (Self { users }, warnings)
    }

    /// True when `username` exists and `password` matches its hash.
    #[must_use]
    pub fn check(&self, username: &str, password: &[u8]) -> bool {
        match self.users.get(username) {
            Some(Hash::Sha512 { salt, hash }) => {
                let mut h = Sha512::new();
                h.update(password);
                h.update(salt);
                constant_time_eq(&h.finalize(), hash)
            }
            Some(Hash::Pbkdf2 {
                iterations,
                salt,
                hash,
            }) => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out);
                constant_time_eq(&out, hash)
            }
            None => false,
        }
    }

    /// Number of users.
    #[must_use]
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no user could be read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_pbkdf2_lines() {
        // Made here with the same algorithm: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt.
        let salt = b"0123456789ab";
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(b"secret", salt, 101, &mut out);
        let line = format!(
            "alice:$7$101${}${}",
            STANDARD.encode(salt),
            STANDARD.encode(out)
        );
        let (pf, warnings) = PasswordFile::parse(&format!("{line}\nbroken\n"), "pw");
        assert_eq!(warnings.len(), 1);
        assert!(pf.check("alice", b"secret"));
        assert!(!pf.check("alice", b"wrong"));
        assert!(!pf.check("bob", b"secret"));
    }
}
