//! Files only rekey's own user may read: the file transports' folders (0700) and messages
//! (0600), because a message holds a working reset link.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Creates `dir` and any missing parents, each with mode 0700 (on Unix). An existing folder
/// keeps its mode.
pub(crate) fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file with mode 0600 (on Unix).
pub(crate) fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Sets an open file's mode to 0600 (on Unix), whatever it was created with.
pub(crate) fn narrow(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private() {
        let root = std::env::temp_dir().join(format!("rekey-private-{}", std::process::id()));
        let dir = root.join("a").join("mail");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let path = dir.join("m.eml");
        options().write(true).create_new(true).open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        let old = dir.join("old.jsonl");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        narrow(&options().append(true).open(&old).unwrap()).unwrap();
        assert_eq!(mode(&old), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
