//! Writes generated jets as a constituent file for `striate pixelate`:
//! `float32 [n, particles, 4]` (`E, px, py, pz`, hardest first, zero-padded),
//! half top jets and half quark jets from the built-in generator
//! (`striate::jets::generator`), written a chunk at a time.
//!
//! ```text
//! cargo run --release --example jets_npy -- /tmp/jets.npy 150000 [particles=120] [seed=1]
//! ```
//! `scripts/pixelate-bench.sh` uses it to time `striate pixelate` against EnergyFlow.

use std::path::PathBuf;

use rayon::prelude::*;
use striate::io::npy::StreamWriter;
use striate::jets::generator::{JetGenConfig, generate_jet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        return Err("usage: jets_npy OUT.npy N [particles] [seed]".into());
    };
    let n: usize = args.get(1).map_or(Ok(150_000), |s| s.parse())?;
    let particles: usize = args.get(2).map_or(Ok(120), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let cfg = JetGenConfig::default();
    let mut file = StreamWriter::create(&out, "<f4", vec![particles, 4])?;
    for start in (0..n).step_by(8192) {
        let rows: Vec<Vec<f32>> = (start..(start + 8192).min(n))
            .into_par_iter()
            .map(|i| {
                // Even rows top (class 2), odd rows quark (class 1).
                let jet = generate_jet(&cfg, if i % 2 == 0 { 2 } else { 1 }, seed, (i / 2) as u64);
                let mut p4 = jet.p4;
                p4.sort_by(|a, b| (b[1].hypot(b[2])).total_cmp(&a[1].hypot(a[2])));
                let mut row = vec![0f32; particles * 4];
                for (dst, p) in row.chunks_exact_mut(4).zip(&p4) {
                    for (d, v) in dst.iter_mut().zip(p) {
                        *d = *v as f32;
                    }
                }
                row
            })
            .collect();
        file.write_f32(&rows.concat())?;
    }
    println!("{}: {n} jets of {particles} particles", file.finish()?.display());
    Ok(())
}
