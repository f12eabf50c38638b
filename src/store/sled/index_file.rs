//! The index file: the in-memory indexes (`memindex::Image`) written at a clean stop and
//! read back at the next open instead of listing every record.
//!
//! Why: building the indexes from the records reads every session through sled, and sled
//! 0.34 keeps about 180 MB resident after such a listing of the 100,000-session store of
//! BENCHMARKS.md, which its cache capacity does not bound. Read from this file, the open
//! touches no record at all.
//!
//! When it is trusted: the file names the store's revision when it was written and the last
//! log entry then (its revision and a CRC-32 of its bytes). Every write of a session or person
//! logs an entry at a new revision before its record changes (the log is the commit point),
//! so a file whose revision and last entry are still the store's describes exactly the
//! records there: no write came after it, and no other store's file was put here. Anything
//! else (no file, a write after it, a crash before the next clean stop, a torn or damaged
//! file, a foreign one) and the open lists the records as before; the file is never trusted
//! in part. It is left in place when stale: the next clean stop replaces it.
//!
//! Layout: the magic line, the postcard [`Header`], the postcard `Image`, and a CRC-32 of all
//! that (4 bytes, little-endian). Written to a temporary file, synced, then renamed over the
//! old one, so a crash while writing leaves the old file (stale) or none, never a torn one
//! under the name; the checksum covers a disk that damages it later.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::Tree;

use super::revision_key;
use crate::store::StoreError;
use crate::store::memindex::{Image, ImageError, Indexes};

/// The file's name in the store directory (sled reads only its own names there: `conf`, `db`,
/// `blobs/`, `snap.*`).
const NAME: &str = "agenda-index";
const TEMPORARY: &str = "agenda-index.tmp";
/// The first bytes, with the layout's version: a file of another layout is not read.
const MAGIC: &[u8; 16] = b"agenda index v1\n";

/// What the file was written against: the store's revision and its last log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Header {
    pub revision: u64,
    /// The last log entry's revision and the CRC-32 of its bytes; `None` with an empty log.
    pub last_entry: Option<(u64, u32)>,
}

impl Header {
    /// The store's current header: `revision` and the last entry of its change log.
    pub(super) fn of(revision: u64, changes: &Tree) -> Result<Header, StoreError> {
        let last_entry = match changes.last()? {
            Some((k, v)) => Some((revision_key(&k)?, crc32fast::hash(&v))),
            None => None,
        };
        Ok(Header { revision, last_entry })
    }
}

/// Why the index file was not used (the open then lists the records).
#[derive(Debug, thiserror::Error)]
pub enum IndexFileError {
    #[error("there is no index file")]
    Missing,
    #[error("the index file could not be read or written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the index file is of another layout (or not one)")]
    Layout,
    /// Writes came after it: the store moved on (or a crash lost writes the file had seen).
    #[error("the index file is of revision {file}, the store is at revision {store}")]
    Stale { file: u64, store: u64 },
    /// Same revision, another last log entry: the file of another store.
    #[error("the index file was written for another change log (its last entry differs)")]
    OtherLog,
    #[error("the index file fails its checksum (torn or damaged)")]
    Checksum,
    #[error("the index file does not decode: {0}")]
    Decode(#[from] postcard::Error),
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Not written: reading the change log's last entry failed, or writes are stopped after a
    /// failed flush (the next open decides from the log what was written).
    #[error("the index file was not written: {0}")]
    Store(#[from] StoreError),
}

/// Where the indexes of an open store came from.
#[derive(Debug)]
pub enum IndexSource {
    /// Read from the index file the last clean stop wrote.
    File,
    /// Built by listing every record, because the file could not be used.
    Records(IndexFileError),
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes `ix`, as of `header`, to the index file of the store in `dir`. Returns its size.
pub(super) fn write(dir: &Path, header: Header, ix: &Indexes) -> Result<u64, IndexFileError> {
    let mut bytes = MAGIC.to_vec();
    bytes = postcard::to_extend(&header, bytes)?;
    bytes = postcard::to_extend(&ix.image(), bytes)?;
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let temporary = path(dir, TEMPORARY);
    let written = (|| {
        let mut f = File::create(&temporary)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&temporary, path(dir, NAME))?;
        // The rename itself is durable once the directory is.
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e.into());
    }
    Ok(bytes.len() as u64)
}

/// The indexes in the index file of the store in `dir`, if it was written against `store`
/// (the store's current header) and is whole.
pub(super) fn read(dir: &Path, store: Header) -> Result<Indexes, IndexFileError> {
    let bytes = match std::fs::read(path(dir, NAME)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(IndexFileError::Missing),
        r => r?,
    };
    // The magic, then at least the checksum after it.
    let checked = bytes.len().checked_sub(4).filter(|&n| n >= MAGIC.len()).ok_or(IndexFileError::Layout)?;
    let (content, crc) = bytes.split_at(checked);
    let body = content.strip_prefix(MAGIC.as_slice()).ok_or(IndexFileError::Layout)?;
    let (header, _) = postcard::take_from_bytes::<Header>(body)?;
    if header.revision != store.revision {
        return Err(IndexFileError::Stale { file: header.revision, store: store.revision });
    }
    if header.last_entry != store.last_entry {
        return Err(IndexFileError::OtherLog);
    }
    if crc32fast::hash(content) != u32::from_le_bytes(crc.try_into().expect("four bytes")) {
        return Err(IndexFileError::Checksum);
    }
    let (_, rest) = postcard::take_from_bytes::<Header>(body)?;
    let (image, rest) = postcard::take_from_bytes::<Image<'static>>(rest)?;
    if !rest.is_empty() {
        return Err(IndexFileError::Layout);
    }
    drop(bytes);
    Ok(Indexes::from_image(image)?)
}
