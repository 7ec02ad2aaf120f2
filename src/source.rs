//! Reading the manifest: path, bytes, UTF-8. Turns anything that is not a text file into a
//! one-line error; knows nothing of KDL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::NamedSource;

use crate::error::{Error, Result};

/// Manifests are small; anything past this is not a manifest (and would only waste memory).
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// A manifest's text and the name diagnostics show for it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it.
    pub path: PathBuf,
    /// The name shown in diagnostics and generated-file headers (the path as given).
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn read(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|source| Error::ReadManifest {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Err(Error::ManifestIsDirectory {
                path: path.to_path_buf(),
            });
        }
        if meta.len() > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                size: meta.len(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let bytes = std::fs::read(path).map_err(|source| Error::ReadManifest {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, bytes)
    }

    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        if let Some(pos) = bytes.iter().position(|&b| b == 0) {
            let (line, column) = byte_line_col(&bytes, pos);
            return Err(Error::NotText {
                path: path.to_path_buf(),
                reason: format!(
                    "it contains a NUL byte at line {line}, column {column} (byte offset {pos})"
                ),
                at: Some((line, column)),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let pos = e.utf8_error().valid_up_to();
            let (line, column) = byte_line_col(e.as_bytes(), pos);
            Error::NotText {
                path: path.to_path_buf(),
                reason: format!(
                    "it is not UTF-8 (invalid byte at line {line}, column {column}, byte offset {pos})"
                ),
                at: Some((line, column)),
            }
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            name: path.display().to_string(),
            text,
        })
    }

    pub fn named(&self) -> Arc<NamedSource<String>> {
        Arc::new(NamedSource::new(self.name.clone(), self.text.clone()))
    }

    /// 1-based line and column of a byte offset, for JSON output and `explain`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.text, offset)
    }
}

/// The manifest a command reads when none is named: `apps.kdl` in `cwd` or the nearest directory
/// above it, as git and cargo find theirs. The search stops at the root of the git repository
/// (the first directory holding `.git`): a manifest above the repository belongs to something
/// else. Outside a git repository it goes up to the filesystem root.
///
/// The path is relative to `cwd` (`apps.kdl`, `../apps.kdl`, `../../apps.kdl`), so the output
/// directory (the manifest's own) and every path jcx prints stay relative to where the user is.
pub fn find_manifest(cwd: &Path) -> Result<PathBuf> {
    let mut dir = cwd.to_path_buf();
    let mut up = PathBuf::new();
    loop {
        if dir.join(MANIFEST_NAME).is_file() {
            return Ok(up.join(MANIFEST_NAME));
        }
        if dir.join(".git").exists() {
            return Err(Error::NoManifest {
                searched: format!(
                    "this directory and every directory above it up to the root of the git repository, `{}`",
                    dir.display()
                ),
            });
        }
        if !dir.pop() {
            return Err(Error::NoManifest {
                searched: "this directory and every directory above it".into(),
            });
        }
        up.push("..");
    }
}

/// The manifest's usual name, at the root of the images repository.
pub const MANIFEST_NAME: &str = "apps.kdl";

/// 1-based line and column (in characters) of a byte offset into `text`. Lines end at LF,
/// CRLF or a lone CR, as in the snippets of the graphical diagnostics.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    byte_line_col(text.as_bytes(), floor_char_boundary(text, offset))
}

/// [`line_col`] for bytes that may not be UTF-8 (the column counts the characters of the valid
/// text before the offset, an invalid byte as one).
pub fn byte_line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let mut line = 1;
    let mut line_start = 0;
    for (i, b) in before.iter().enumerate() {
        let ends = *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends {
            line += 1;
            line_start = i + 1;
        }
    }
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("a\r\nb", 3), (2, 1));
        assert_eq!(line_col("a\rb", 2), (2, 1));
        assert_eq!(line_col("é\nxé!", 6), (2, 3));
        assert_eq!(byte_line_col(b"ab\n\xffc", 3), (2, 1));
        assert_eq!(byte_line_col(b"ab\nc\xff", 4), (2, 2));
    }
}
