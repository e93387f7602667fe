//! `profiles.toml`: where it lives, how it is read (errors name file, line and column) and
//! how it is written (atomically, mode 0600, previous version kept as `profiles.toml.bak`,
//! comments and layout of untouched profiles preserved, a malformed file never replaced).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Invalid, Profile};

/// The file name inside the config directory.
pub const FILE_NAME: &str = "profiles.toml";
/// The backup of the previous version, next to the file.
pub const BACKUP_NAME: &str = "profiles.toml.bak";
/// Environment variable that overrides the config directory.
pub const DIR_ENV: &str = "MQTT_WORKBENCH_CONFIG_DIR";

const HEADER: &str = "\
# mqtt-workbench connection profiles: one [[profile]] table each.
# Edit by hand or with `mqtt-workbench profile add/edit/rm`; see `profile --help`.
# Prefer password_env, password_file or ask_password to a stored password.

";

/// Why profiles could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Neither `--config-dir`, `MQTT_WORKBENCH_CONFIG_DIR` nor a home directory.
    #[error(
        "no configuration directory: set HOME, XDG_CONFIG_HOME or {DIR_ENV}, or give --config-dir"
    )]
    NoConfigDir,
    /// The file exists but cannot be read.
    #[error("cannot read '{}'", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has wrong keys or types.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A profile's settings are inconsistent.
    #[error("{}:{line}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line of the profile's `[[profile]]` header.
        line: usize,
        /// What is wrong.
        #[source]
        source: Invalid,
    },
    /// Two profiles share a name.
    #[error("{}:{line}: a second profile named '{name}'", path.display())]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// Line of the second one.
        line: usize,
        /// The name.
        name: String,
    },
    /// No profile of that name.
    #[error("no profile named '{name}' in '{}'{}", path.display(), hint(known))]
    NotFound {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The names there are.
        known: Vec<String>,
    },
    /// A profile of that name exists already.
    #[error("a profile named '{0}' exists already (use `profile edit`, or `profile rm` first)")]
    Exists(String),
    /// The file on disk is malformed now; it is not replaced.
    #[error("refusing to overwrite '{}', which is not a valid profiles file: {detail}", path.display())]
    WontOverwrite {
        /// The file.
        path: PathBuf,
        /// The parse error.
        detail: String,
    },
    /// The file changed on disk since it was read.
    #[error("'{}' changed on disk since it was read; nothing was written, try again", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write '{}'", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn hint(known: &[String]) -> String {
    if known.is_empty() {
        " (there are no profiles yet: `mqtt-workbench profile add NAME ...`)".into()
    } else {
        format!(" (profiles: {})", known.join(", "))
    }
}

/// The config directory: `flag` (`--config-dir`), else `$MQTT_WORKBENCH_CONFIG_DIR`, else the
/// platform's (`$XDG_CONFIG_HOME/mqtt-workbench` or `~/.config/mqtt-workbench` on Linux,
/// `~/Library/Application Support/mqtt-workbench` on macOS).
///
/// # Errors
/// [`ProfileError::NoConfigDir`] when none can be found.
pub fn config_dir(flag: Option<&Path>) -> Result<PathBuf, ProfileError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "mqtt-workbench")
        .map(|d| d.config_dir().to_path_buf())
        .ok_or(ProfileError::NoConfigDir)
}

/// The whole file as serde sees it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    profile: Vec<Profile>,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Parses `text` (from `path`) into profiles and the editable document, checking every
/// profile.
fn parse(path: &Path, text: &str) -> Result<(Vec<Profile>, toml_edit::DocumentMut), ProfileError> {
    let file: ProfileFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ProfileError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    let spanned = toml_edit::Document::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ProfileError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    // The line of the i-th `[[profile]]` header, for errors about one profile.
    let header_line = |i: usize| {
        spanned
            .get("profile")
            .and_then(toml_edit::Item::as_array_of_tables)
            .and_then(|a| a.get(i))
            .and_then(toml_edit::Table::span)
            .map_or(1, |s| line_col(text, s.start).0)
    };
    // The line of the j-th decoder entry of the i-th profile (its header's line otherwise).
    let decoder_line = |i: usize, j: usize| {
        let item = spanned
            .get("profile")
            .and_then(toml_edit::Item::as_array_of_tables)
            .and_then(|a| a.get(i))
            .and_then(|t| t.get("decoders"));
        let span = match item {
            Some(toml_edit::Item::ArrayOfTables(a)) => a.get(j).and_then(toml_edit::Table::span),
            Some(toml_edit::Item::Value(toml_edit::Value::Array(a))) => {
                a.get(j).and_then(toml_edit::Value::span)
            }
            _ => None,
        };
        span.map_or_else(|| header_line(i), |s| line_col(text, s.start).0)
    };
    let mut seen = std::collections::HashSet::new();
    for (i, p) in file.profile.iter().enumerate() {
        for (j, d) in p.decoders.iter().enumerate() {
            d.validate().map_err(|problem| ProfileError::Invalid {
                path: path.to_path_buf(),
                line: decoder_line(i, j),
                source: super::Invalid {
                    name: p.name.clone(),
                    problem,
                },
            })?;
        }
        p.validate().map_err(|source| ProfileError::Invalid {
            path: path.to_path_buf(),
            line: header_line(i),
            source,
        })?;
        if !seen.insert(p.name.clone()) {
            return Err(ProfileError::Duplicate {
                path: path.to_path_buf(),
                line: header_line(i),
                name: p.name.clone(),
            });
        }
    }
    Ok((file.profile, spanned.into_mut()))
}

/// Reads profiles from any TOML file in the `profiles.toml` format (for `profile import`).
///
/// # Errors
/// An unreadable, malformed or invalid file.
pub fn read_file(path: &Path) -> Result<Vec<Profile>, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text).map(|(p, _)| p)
}

/// Serializes profiles in the file format (`[[profile]]` tables).
#[must_use]
pub fn to_toml(profiles: &[Profile]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        profile: &'a [Profile],
    }
    toml::to_string_pretty(&Out { profile: profiles })
        .unwrap_or_else(|e| format!("# cannot write the profiles: {e}\n"))
}

/// Makes a profile into a table for the document; positions cleared so that it prints where
/// it is put.
fn profile_table(p: &Profile) -> toml_edit::Table {
    fn clear_positions(t: &mut toml_edit::Table) {
        t.set_position(None);
        for (_, item) in t.iter_mut() {
            match item {
                toml_edit::Item::Table(sub) => clear_positions(sub),
                toml_edit::Item::ArrayOfTables(a) => a.iter_mut().for_each(clear_positions),
                _ => {}
            }
        }
    }
    let text = to_toml(std::slice::from_ref(p));
    let mut table = text
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| {
            d.get("profile")
                .and_then(toml_edit::Item::as_array_of_tables)
                .and_then(|a| a.get(0))
                .cloned()
        })
        .unwrap_or_default();
    clear_positions(&mut table);
    table
}

/// The profiles of one `profiles.toml`, loaded, changed in memory and saved.
#[derive(Debug)]
pub struct ProfileStore {
    path: PathBuf,
    profiles: Vec<Profile>,
    doc: toml_edit::DocumentMut,
    /// The file's bytes when read (`None`: there was no file).
    loaded: Option<Vec<u8>>,
}

impl ProfileStore {
    /// Loads `profiles.toml` from `dir`. A missing file is an empty store.
    ///
    /// # Errors
    /// An unreadable file, or one that is malformed or holds an invalid profile; the error
    /// names the file, line and (for syntax and type errors) column.
    pub fn load(dir: &Path) -> Result<Self, ProfileError> {
        let path = dir.join(FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes.clone()).map_err(|e| {
                    let (line, column) = line_col(
                        &String::from_utf8_lossy(&bytes),
                        e.utf8_error().valid_up_to(),
                    );
                    ProfileError::Parse {
                        path: path.clone(),
                        line,
                        column,
                        message: "the file is not UTF-8".into(),
                    }
                })?;
                let (profiles, doc) = parse(&path, &text)?;
                Ok(Self {
                    path,
                    profiles,
                    doc,
                    loaded: Some(bytes),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path,
                profiles: Vec::new(),
                doc: {
                    let mut d = toml_edit::DocumentMut::new();
                    d.decor_mut().set_prefix(HEADER);
                    d
                },
                loaded: None,
            }),
            Err(source) => Err(ProfileError::Read { path, source }),
        }
    }

    /// Loads from the directory [`config_dir`] picks for `flag`.
    ///
    /// # Errors
    /// See [`config_dir`] and [`ProfileStore::load`].
    pub fn open(flag: Option<&Path>) -> Result<Self, ProfileError> {
        Self::load(&config_dir(flag)?)
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All profiles in file order.
    #[must_use]
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile called `name`, or an error listing the names there are.
    ///
    /// # Errors
    /// [`ProfileError::NotFound`].
    pub fn require(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.get(name).ok_or_else(|| ProfileError::NotFound {
            name: name.to_owned(),
            path: self.path.clone(),
            known: self.profiles.iter().map(|p| p.name.clone()).collect(),
        })
    }

    /// Adds `profile`, or replaces the one with the same name in place (keeping the comments
    /// above it). Returns true when it replaced one. Call [`ProfileStore::save`] to write.
    ///
    /// # Errors
    /// An invalid profile.
    pub fn upsert(&mut self, profile: Profile) -> Result<bool, Invalid> {
        self.replace(&profile.name.clone(), profile)
    }

    /// Replaces the profile called `old` with `profile` (which may have another name), or
    /// adds it when there is no `old`. Returns true when it replaced one.
    ///
    /// # Errors
    /// An invalid profile, or a new name that another profile has.
    pub fn replace(&mut self, old: &str, profile: Profile) -> Result<bool, Invalid> {
        profile.validate()?;
        if profile.name != old && self.get(&profile.name).is_some() {
            return Err(Invalid {
                name: profile.name.clone(),
                problem: "another profile has this name".into(),
            });
        }
        let table = profile_table(&profile);
        let index = self.profiles.iter().position(|p| p.name == old);
        if let Some(aot) = self.profile_tables() {
            match index.and_then(|i| aot.get_mut(i)) {
                Some(t) => {
                    let decor = t.decor().clone();
                    *t = table;
                    *t.decor_mut() = decor;
                }
                None => {
                    let mut table = table;
                    if !aot.is_empty() {
                        table.decor_mut().set_prefix("\n");
                    }
                    aot.push(table);
                }
            }
        }
        let replaced = index.is_some();
        match index {
            Some(i) => self.profiles[i] = profile,
            None => self.profiles.push(profile),
        }
        Ok(replaced)
    }

    /// Removes the profile called `name`, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Profile> {
        let i = self.profiles.iter().position(|p| p.name == name)?;
        if let Some(aot) = self.profile_tables()
            && i < aot.len()
        {
            aot.remove(i);
        }
        Some(self.profiles.remove(i))
    }

    /// The document's `[[profile]]` array, rebuilt from the profiles if the file wrote
    /// them another way (an inline array, say).
    fn profile_tables(&mut self) -> Option<&mut toml_edit::ArrayOfTables> {
        let consistent = self
            .doc
            .get("profile")
            .and_then(toml_edit::Item::as_array_of_tables)
            .is_some_and(|a| a.len() == self.profiles.len());
        if !consistent {
            let mut aot = toml_edit::ArrayOfTables::new();
            for p in &self.profiles {
                aot.push(profile_table(p));
            }
            self.doc
                .insert("profile", toml_edit::Item::ArrayOfTables(aot));
        }
        self.doc
            .get_mut("profile")
            .and_then(toml_edit::Item::as_array_of_tables_mut)
    }

    /// The text [`ProfileStore::save`] would write.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the file: the previous version goes to `profiles.toml.bak`, the new one to a
    /// temporary file in the same directory (mode 0600, fsynced) that is renamed over it.
    ///
    /// # Errors
    /// The file on disk is malformed now (it is left alone) or changed since it was read,
    /// or a write failed.
    pub fn save(&mut self) -> Result<(), ProfileError> {
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ProfileError::Write { path, source }
        };
        let dir = self
            .path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        create_private_dir(&dir).map_err(write_err(&dir))?;
        let current = match std::fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ProfileError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        if let Some(bytes) = &current {
            let text = String::from_utf8_lossy(bytes);
            if let Err(e) = parse(&self.path, &text) {
                return Err(ProfileError::WontOverwrite {
                    path: self.path.clone(),
                    detail: e.to_string(),
                });
            }
        }
        if current != self.loaded {
            return Err(ProfileError::Changed {
                path: self.path.clone(),
            });
        }
        let text = self.to_text();
        if let Some(old) = &current {
            let bak = dir.join(BACKUP_NAME);
            atomic_write(&bak, old).map_err(write_err(&bak))?;
        }
        atomic_write(&self.path, text.as_bytes()).map_err(write_err(&self.path))?;
        self.loaded = Some(text.into_bytes());
        Ok(())
    }
}

/// Creates `dir` (and parents) if needed; a new directory is private (0700) on Unix.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Writes `bytes` to a new temporary file next to `path` (mode 0600), fsyncs it, renames it
/// over `path` and fsyncs the directory.
fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path
        .file_name()
        .map_or_else(|| "profiles".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        {
            // A leftover temp file keeps its old mode; make sure.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Secret, Subscription};

    fn lab() -> Profile {
        let mut p = Profile::named("lab");
        p.host = Some("127.0.0.1".into());
        p.port = Some(1884);
        p.username = Some("alice".into());
        p.password = Some(Secret::new("secret"));
        p.subscriptions = vec![Subscription {
            filter: "sensors/#".into(),
            qos: crate::client::QoS::AtLeastOnce,
        }];
        p
    }

    #[test]
    fn save_load_round_trip_with_mode_and_backup() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProfileStore::load(dir.path()).unwrap();
        assert!(s.profiles().is_empty());
        assert!(!s.upsert(lab()).unwrap());
        s.save().unwrap();
        let path = dir.path().join(FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            !dir.path().join(BACKUP_NAME).exists(),
            "nothing to back up yet"
        );
        let first = std::fs::read_to_string(&path).unwrap();

        let mut s = ProfileStore::load(dir.path()).unwrap();
        assert_eq!(s.profiles(), &[lab()]);
        let mut p2 = Profile::named("prod");
        p2.url = Some("mqtts://broker.example:8883".into());
        s.upsert(p2.clone()).unwrap();
        s.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(BACKUP_NAME)).unwrap(),
            first
        );
        let s = ProfileStore::load(dir.path()).unwrap();
        assert_eq!(s.profiles(), &[lab(), p2]);
    }

    #[test]
    fn edits_keep_comments_and_other_profiles_verbatim() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# my brokers\n\n# the lab one\n[[profile]]\nname = \"lab\"   # rack 3\nhost = \"h\"\n\n[profile.tls]\nca_file = \"ca.pem\"\n\n# production\n[[profile]]\nname = \"prod\"\nurl = \"mqtts://p:8883\"\n";
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
        let mut s = ProfileStore::load(dir.path()).unwrap();
        let mut lab = s.get("lab").unwrap().clone();
        lab.port = Some(1999);
        s.upsert(lab).unwrap();
        let mut extra = Profile::named("new");
        extra.host = Some("n".into());
        s.upsert(extra).unwrap();
        s.save().unwrap();
        let out = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            out.starts_with("# my brokers\n\n# the lab one\n[[profile]]\n"),
            "{out}"
        );
        assert!(
            out.contains("# production\n[[profile]]\nname = \"prod\"\nurl = \"mqtts://p:8883\"\n"),
            "{out}"
        );
        let lab_at = out.find("name = \"lab\"").unwrap();
        let port_at = out.find("port = 1999").unwrap();
        let prod_at = out.find("name = \"prod\"").unwrap();
        let new_at = out.find("name = \"new\"").unwrap();
        assert!(
            lab_at < port_at && port_at < prod_at && prod_at < new_at,
            "{out}"
        );
        let s = ProfileStore::load(dir.path()).unwrap();
        let names: Vec<_> = s.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lab", "prod", "new"]);
        assert_eq!(s.get("lab").unwrap().tls.ca_file.as_deref(), Some("ca.pem"));

        let mut s = s;
        assert!(s.remove("prod").is_some());
        s.save().unwrap();
        let s = ProfileStore::load(dir.path()).unwrap();
        let names: Vec<_> = s.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lab", "new"]);
    }

    #[test]
    fn malformed_file_names_line_and_column_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = "[[profile]]\nname = \"lab\"\nport = \"high\"\n";
        std::fs::write(&path, text).unwrap();
        let e = ProfileStore::load(dir.path()).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3:8: ", path.display())), "{e}");

        let text = "[[profile]]\nname = \"lab\"\nhots = \"x\"\n";
        std::fs::write(&path, text).unwrap();
        let e = ProfileStore::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(":3:1: unknown field `hots`"), "{e}");

        let text = "[[profile]]\nname = \"a\"\n\n[[profile]]\nname = \"b\"\nkeep_alive = 1\n";
        std::fs::write(&path, text).unwrap();
        let e = ProfileStore::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(":4: profile 'b': keep_alive 1"), "{e}");

        // A store loaded while the file was good refuses to replace it once it went bad.
        std::fs::write(&path, "[[profile]]\nname = \"a\"\n").unwrap();
        let mut s = ProfileStore::load(dir.path()).unwrap();
        let bad = "[[profile]]\nname = \"a\"\nport = \n";
        std::fs::write(&path, bad).unwrap();
        s.upsert(Profile::named("b")).unwrap();
        let e = s.save().unwrap_err().to_string();
        assert!(e.contains("refusing to overwrite"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
    }

    #[test]
    fn bad_decoder_entries_name_file_and_line_and_good_ones_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let head = "[[profile]]\nname = \"plant\"\n\n[[profile.decoders]]\nfilter = \"spBv1.0/#\"\ntype = \"sparkplug\"\n\n";
        // (entry, line of the error, what it says)
        let cases = [
            (
                "[[profile.decoders]]\nfilter = \"pb/#\"\ntype = \"protobuf\"\n",
                ":8: ",
                "needs proto",
            ),
            (
                "[[profile.decoders]]\nfilter = \"a/#/b\"\ntype = \"json\"\n",
                ":8: ",
                "'a/#/b' is invalid",
            ),
            (
                "[[profile.decoders]]\nfilter = \"x\"\ntype = \"avro\"\n",
                ":10:8: ",
                "unknown variant `avro`",
            ),
            (
                "[[profile.decoders]]\nfilter = \"x\"\ntype = \"hex\"\nschema = 1\n",
                ":11:1: ",
                "unknown field `schema`",
            ),
        ];
        for (entry, line, what) in cases {
            let text = format!("{head}{entry}");
            std::fs::write(&path, &text).unwrap();
            let e = ProfileStore::load(dir.path()).unwrap_err().to_string();
            let want = format!("{}{line}", path.display());
            assert!(
                e.starts_with(&want) && e.contains(what),
                "{e} (wanted {want} … {what})"
            );
            // Never overwritten.
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        let good = format!(
            "{head}[[profile.decoders]]\nfilter = \"plant/+/reading\"\ntype = \"protobuf\"\n\
             proto = \"schemas/r.proto\"\nmessage = \"plant.Reading\"\n"
        );
        std::fs::write(&path, &good).unwrap();
        let mut s = ProfileStore::load(dir.path()).unwrap();
        let kinds: Vec<_> = s.profiles()[0]
            .decoders
            .iter()
            .map(|d| d.kind.name())
            .collect();
        assert_eq!(kinds, ["sparkplug", "protobuf"]);
        // Saving another change keeps them.
        let mut p = s.profiles()[0].clone();
        p.note = Some("line 1".into());
        s.replace("plant", p).unwrap();
        s.save().unwrap();
        let again = ProfileStore::load(dir.path()).unwrap();
        assert_eq!(again.profiles()[0].decoders, s.profiles()[0].decoders);
        assert_eq!(again.profiles()[0].decoders.len(), 2);
    }

    #[test]
    fn concurrent_change_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = ProfileStore::load(dir.path()).unwrap();
        let mut b = ProfileStore::load(dir.path()).unwrap();
        a.upsert(Profile::named("a")).unwrap();
        a.save().unwrap();
        b.upsert(Profile::named("b")).unwrap();
        assert!(matches!(b.save(), Err(ProfileError::Changed { .. })));
    }

    #[test]
    fn rename_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProfileStore::load(dir.path()).unwrap();
        s.upsert(Profile::named("a")).unwrap();
        s.upsert(Profile::named("b")).unwrap();
        assert!(s.replace("a", Profile::named("b")).is_err());
        assert!(s.replace("a", Profile::named("c")).unwrap());
        s.save().unwrap();
        let s = ProfileStore::load(dir.path()).unwrap();
        let names: Vec<_> = s.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["c", "b"]);
        let e = s.require("zz").unwrap_err().to_string();
        assert!(e.contains("(profiles: c, b)"), "{e}");
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[[profile]]\nname = \"x\"\n[[profile]]\nname = \"x\"\n",
        )
        .unwrap();
        let e = ProfileStore::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(":3: a second profile named 'x'"), "{e}");
    }

    #[test]
    fn config_dir_precedence() {
        let flag = Path::new("/tmp/flagdir");
        assert_eq!(config_dir(Some(flag)).unwrap(), flag);
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_col("x", 0), (1, 1));
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_example_file_loads() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles.example.toml");
        let profiles = super::read_file(&path).unwrap();
        let names: Vec<_> = profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lab",
                "plant",
                "cloud-ws",
                "plant-sparkplug",
                "mosquitto-test"
            ]
        );
        for p in &profiles {
            p.base_options().unwrap();
        }
    }
}
