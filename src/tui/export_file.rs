//! Writes what the workbench exports (`x`): the exact bytes, to a new file unless the user
//! agreed to replace an existing one.

use std::io::Write as _;

use super::app::fleet::{ExportFile, ExportResult};

/// Writes `file`: creates it (refusing an existing file unless `overwrite` is set, which the
/// model then asks about), writes every byte and syncs it to disk.
#[must_use]
pub fn write(file: ExportFile) -> ExportResult {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if file.overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let written = opts.open(&file.path).and_then(|mut f| {
        f.write_all(&file.data)?;
        f.sync_all()
    });
    match written {
        Ok(()) => ExportResult::Written(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ExportResult::Exists(file),
        Err(e) => ExportResult::Failed {
            path: file.path,
            why: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn never_overwrites_without_being_told() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("p.bin").to_string_lossy().into_owned();
        let file = |data: &'static [u8], overwrite| ExportFile {
            path: path.clone(),
            data: Bytes::from_static(data),
            overwrite,
            what: "test".into(),
        };
        assert!(matches!(
            write(file(b"\x00one", false)),
            ExportResult::Written(_)
        ));
        assert!(matches!(
            write(file(b"two", false)),
            ExportResult::Exists(_)
        ));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"\x00one"[..]));
        assert!(matches!(
            write(file(b"two", true)),
            ExportResult::Written(_)
        ));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"two"[..]));
        let bad = ExportFile {
            path: dir
                .path()
                .join("no/such/dir/x")
                .to_string_lossy()
                .into_owned(),
            ..file(b"x", false)
        };
        assert!(matches!(write(bad), ExportResult::Failed { .. }));
    }
}
