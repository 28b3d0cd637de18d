//! SQLite is the single-process embedded default: its relay has no claims, so a second API
//! process on the same database file would deliver the same events beside the first. The API
//! holds an exclusive lock on `<database file>.api.lock` while it runs (the kernel drops it when
//! the process dies, even by kill -9), and a second one refuses to start, saying why.

use anyhow::Context;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct ApiLock {
    _file: File,
}

/// Takes the lock for the SQLite database at `db_path`.
pub fn lock(db_path: &Path) -> anyhow::Result<ApiLock> {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".api.lock");
    let path = Path::new(&name);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            anyhow::bail!(
                "another callsaga API process (pid {}) is already running on the SQLite database {}: \
                 SQLite supports one API process per database; run several API processes on \
                 PostgreSQL (see temporal/PRODUCTION.md)",
                holder.trim(),
                db_path.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("failed to lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(ApiLock { _file: file })
}
