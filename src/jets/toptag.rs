//! Files in the layout of the Top Quark Tagging Reference Dataset, made by
//! the built-in generator ([`super::generator`]): top jets (signal) against
//! QCD jets (light quarks and gluons, alternately), balanced and shuffled,
//! written a chunk of jets at a time as a pandas HDF5 table
//! ([`crate::io::hdf5::pandas::PandasWriter`]) and/or as Parquet shards
//! laid out as the Hugging Face Hub does (`data/train-00000-of-00012.parquet`,
//! [`crate::io::parquet::TableWriter`]). Memory stays at one chunk.
//!
//! Columns: `E_i, PX_i, PY_i, PZ_i` for `i < constituents` (float32,
//! hardest `pT` first, zero-padded; softer particles past the last column
//! are dropped), `truthE, truthPX, truthPY, truthPZ` (the sum of the jet's
//! constituents for top jets, standing in for the top quark's four-vector;
//! zero for QCD), `ttv` (0) and `is_signal_new` (1 top, 0 QCD).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::generator::{JetGenConfig, generate_jet};
use crate::error::{Error, Result};
use crate::io::hdf5::pandas::PandasWriter;
use crate::io::parquet::{ColumnValues, TableWriter, WriteType};
use crate::rng::SeededRng;

/// What to write.
#[derive(Clone, Debug, PartialEq)]
pub struct TopTagSpec {
    /// Number of jets, half top (rounded down) and half QCD.
    pub jets: usize,
    /// Seed of the generator and of the shuffle.
    pub seed: u64,
    /// Constituent columns per jet (the reference dataset has 200).
    pub constituents: usize,
    /// Jets per Parquet shard.
    pub shard_jets: usize,
    /// Jets per chunk: generated together, one Parquet row group, one HDF5 append.
    pub chunk_jets: usize,
}

impl Default for TopTagSpec {
    /// 1.2 million jets of 200 constituents, seed 0, shards of 100,000 jets in row groups of 10,000.
    fn default() -> Self {
        TopTagSpec {
            jets: 1_200_000,
            seed: 0,
            constituents: 200,
            shard_jets: 100_000,
            chunk_jets: 10_000,
        }
    }
}

/// The float32 columns and the int64 columns, in file order.
pub fn column_names(constituents: usize) -> (Vec<String>, Vec<String>) {
    let mut floats: Vec<String> = (0..constituents)
        .flat_map(|i| ["E", "PX", "PY", "PZ"].map(|c| format!("{c}_{i}")))
        .collect();
    floats.extend(["truthE", "truthPX", "truthPY", "truthPZ"].map(String::from));
    (floats, vec!["ttv".into(), "is_signal_new".into()])
}

/// One chunk of rows: float columns row-major, int columns row-major.
fn chunk_rows(spec: &TopTagSpec, labels: &[u8], first: usize) -> (Vec<f32>, Vec<i64>) {
    let cfg = JetGenConfig::default();
    let width = 4 * spec.constituents + 4;
    let rows: Vec<Vec<f32>> = labels
        .par_iter()
        .enumerate()
        .map(|(k, &top)| {
            let i = first + k;
            let class = if top == 1 { 2 } else { (i % 2) as u32 };
            let jet = generate_jet(&cfg, class, spec.seed, i as u64);
            let mut p4 = jet.p4;
            let pt = |p: &[f64; 4]| p[1].hypot(p[2]);
            p4.sort_by(|a, b| pt(b).total_cmp(&pt(a)));
            let mut row = vec![0f32; width];
            for (slot, p) in row.chunks_exact_mut(4).zip(p4.iter().take(spec.constituents)) {
                for (v, &x) in slot.iter_mut().zip(p) {
                    *v = x as f32;
                }
            }
            if top == 1 {
                let sum = p4
                    .iter()
                    .fold([0.0; 4], |a, p| [a[0] + p[0], a[1] + p[1], a[2] + p[2], a[3] + p[3]]);
                for (v, x) in row[width - 4..].iter_mut().zip(sum) {
                    *v = x as f32;
                }
            }
            row
        })
        .collect();
    let ints = labels.iter().flat_map(|&l| [0, i64::from(l)]).collect();
    (rows.concat(), ints)
}

/// Writes `spec.jets` jets as a pandas HDF5 file (`h5`) and/or Parquet
/// shards under `parquet_dir/data/`; `progress` is told the jets written
/// after every chunk. Returns the files written.
pub fn write(
    spec: &TopTagSpec,
    h5: Option<&Path>,
    parquet_dir: Option<&Path>,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<PathBuf>> {
    if spec.jets == 0 || spec.constituents == 0 || spec.shard_jets == 0 || spec.chunk_jets == 0 {
        return Err(Error::invalid(
            "toptag",
            "jets, constituents, shard and chunk sizes must be positive",
        ));
    }
    if h5.is_none() && parquet_dir.is_none() {
        return Err(Error::invalid("toptag", "name an HDF5 file, a Parquet folder or both"));
    }
    let mut labels = vec![0u8; spec.jets];
    labels[..spec.jets / 2].fill(1);
    SeededRng::new(spec.seed ^ 0x7070_7467).shuffle(&mut labels);
    let (floats, ints) = column_names(spec.constituents);
    let mut table = h5.map(|p| PandasWriter::create(p, &floats, &ints, 1024)).transpose()?;
    let shards = spec.jets.div_ceil(spec.shard_jets);
    let data = parquet_dir.map(|d| d.join("data"));
    if let Some(d) = &data {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let columns: Vec<(String, WriteType)> = floats
        .iter()
        .map(|n| (n.clone(), WriteType::F32))
        .chain(ints.iter().map(|n| (n.clone(), WriteType::I64)))
        .collect();
    let mut written = Vec::new();
    let mut shard: Option<TableWriter> = None;
    let mut first = 0;
    while first < spec.jets {
        let in_shard = first % spec.shard_jets;
        let n = spec.chunk_jets.min(spec.shard_jets - in_shard).min(spec.jets - first);
        let (f, i) = chunk_rows(spec, &labels[first..first + n], first);
        if let Some(t) = table.as_mut() {
            t.append(&f, &i)?;
        }
        if let Some(d) = &data {
            let writer = match &mut shard {
                Some(w) => w,
                None => {
                    let name = format!("train-{:05}-of-{shards:05}.parquet", first / spec.shard_jets);
                    shard.insert(TableWriter::create(&d.join(name), &columns)?)
                }
            };
            let (fc, ic) = columns_of(&f, &i, floats.len(), ints.len());
            let views: Vec<ColumnValues<'_>> = fc
                .iter()
                .map(|v| ColumnValues::F32(v))
                .chain(ic.iter().map(|v| ColumnValues::I64(v)))
                .collect();
            writer.write_group(&views)?;
        }
        first += n;
        if (first % spec.shard_jets == 0 || first == spec.jets)
            && let Some(w) = shard.take()
        {
            written.push(w.finish()?);
        }
        progress(first);
    }
    if let Some(t) = table {
        written.insert(0, t.finish()?);
    }
    Ok(written)
}

/// Row-major chunks split into column vectors for a Parquet row group.
fn columns_of(f: &[f32], i: &[i64], nf: usize, ni: usize) -> (Vec<Vec<f32>>, Vec<Vec<i64>>) {
    let rows = f.len() / nf.max(1);
    let fc = (0..nf).map(|c| (0..rows).map(|r| f[r * nf + c]).collect()).collect();
    let ic = (0..ni).map(|c| (0..rows).map(|r| i[r * ni + c]).collect()).collect();
    (fc, ic)
}
