//! NumPy's `.npz` archives: a zip file of `.npy` members (see [`super::npy`]),
//! read with the `zip` crate.

use std::io::Read;
use std::path::Path;

use super::array::Array;
use super::npy::parse;
use crate::error::{Error, Result};

/// Reads every member of a `.npz` archive, in archive order.
pub fn read(path: &Path) -> Result<Vec<(String, Array)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let archive_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| Error::format(path, format!("not a .npz (zip) archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {i}: {e}")))?;
        let name = member
            .name()
            .map_err(|e| Error::format(path, format!("bad .npz member name: {e}")))?
            .trim_end_matches(".npy")
            .to_string();
        // The declared size is believed only as far as the compressed member
        // and the archive could hold it; inflating stops one byte past it.
        let declared = member.size();
        let bound = super::zip_member_bound(member.compressed_size(), archive_len);
        if declared > bound {
            return Err(Error::format(
                path,
                format!("member {name:?} declares {declared} bytes, more than the {archive_len}-byte archive can hold"),
            ));
        }
        let mut bytes = Vec::with_capacity(declared as usize);
        (&mut member)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {name:?}: {e}")))?;
        if bytes.len() as u64 != declared {
            return Err(Error::format(
                path,
                format!(
                    "member {name:?} holds {} bytes, its header says {declared}",
                    bytes.len()
                ),
            ));
        }
        let arr = parse(&bytes, &path.join(&name))?;
        out.push((name, arr));
    }
    Ok(out)
}

/// A `.npz` archive (stored, not compressed) of named `.npy` byte strings.
pub fn to_bytes(members: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in members {
            zip.start_file(format!("{name}.npy"), opts)
                .map_err(|e| Error::internal(format!("writing npz member {name}"), e))?;
            std::io::Write::write_all(&mut zip, bytes).map_err(|e| Error::internal("writing an npz archive", e))?;
        }
        zip.finish().map_err(|e| Error::internal("writing an npz archive", e))?;
    }
    Ok(cursor.into_inner())
}
