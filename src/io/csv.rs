//! Delimited text files opened as a `csv` record reader, decompressed on
//! the fly when they start with the gzip magic. Fields are trimmed and rows
//! may have different lengths; what a row means is the caller's business.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// Opens `path` for reading records separated by `delimiter`; with
/// `has_headers` the first row is the header (`csv::Reader::headers`).
pub fn open(path: &Path, delimiter: u8, has_headers: bool) -> Result<csv::Reader<Box<dyn Read>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = BufReader::new(file);
    let gzip = buf
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read> = if gzip {
        let len = buf.get_ref().metadata().map_err(|e| Error::io(path, e))?.len();
        Box::new(super::Bounded::new(
            flate2::read::MultiGzDecoder::new(buf),
            len.saturating_mul(super::MAX_INFLATE_RATIO),
        ))
    } else {
        Box::new(buf)
    };
    Ok(builder(delimiter, has_headers).from_reader(inner))
}

/// The reader settings striate uses for every delimited file: trimmed
/// fields, rows of any length (callers check widths with line numbers).
pub fn builder(delimiter: u8, has_headers: bool) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .trim(csv::Trim::All);
    b
}
