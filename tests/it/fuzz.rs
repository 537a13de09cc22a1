//! A fuzzing harness on stable Rust: every reader gets a few thousand
//! structure-aware mutations of valid files (truncation, bit flips, huge
//! declared sizes, overflowing shapes, wrong dtypes, huge numbers in text)
//! with a fixed seed. Each case must end in a typed error or a valid result,
//! without a panic and without any single allocation past a bound
//! proportional to the input (`alloc_probe` in main.rs). A failing case is
//! written to `target/fuzz-failures/` and named by reader and case number;
//! keep it under `tests/fixtures/regressions/` with a test named after the bug.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use striate::data::series::{read_ts, read_ucr_text};
use striate::data::table::{LabelColumn, read as read_table};
use striate::io::array::Array;
use striate::io::hdf5::pandas::PandasTable;
use striate::io::{hdf5, idx, image, npy, npz, pth, safetensors};
use striate::model::ModelSpec;

use crate::alloc_probe;

/// Cases per reader.
const CASES: usize = 4000;
/// Cases for the readers of larger valid inputs (HDF5, Parquet).
const CASES_LARGE: usize = 2000;
const SEED: u64 = 0x5712_A7E5_0012;
/// Allocations every reader may make regardless of its input (buffers, tables).
const BASE_BOUND: usize = 16 << 20;

/// SplitMix64: small, seedable, the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Sizes that break careless arithmetic.
const HUGE: [u64; 16] = [
    0,
    1,
    3,
    255,
    65_535,
    1 << 31,
    (1 << 31) + 1,
    u32::MAX as u64,
    1 << 32,
    1 << 40,
    1 << 50,
    1 << 62,
    i64::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
    4_294_967_295,
];

/// Numbers that replace numbers in text formats.
const HUGE_TEXT: [&str; 14] = [
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "4611686018427387904",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "1000000000000",
    "2147483648",
    "9999999999999999999999999",
];

/// One byte-level mutation of `v`.
fn mutate_bytes(rng: &mut Rng, v: &mut Vec<u8>) {
    let len = v.len();
    match rng.below(8) {
        0 => v.truncate(rng.below(len + 1)),
        1 if len > 0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
        }
        2 if len > 0 => {
            let i = rng.below(len);
            v[i] = *rng.pick(&[0x00, 0xff, 0x7f, 0x80, b'9', b'(', b'\'', b',']);
        }
        3 if len >= 4 => {
            let i = rng.below(len - 3);
            let x = *rng.pick(&HUGE) as u32;
            let b = if rng.below(2) == 0 {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            };
            v[i..i + 4].copy_from_slice(&b);
        }
        4 if len >= 8 => {
            let i = rng.below(len - 7);
            let x = *rng.pick(&HUGE);
            let b = if rng.below(2) == 0 {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            };
            v[i..i + 8].copy_from_slice(&b);
        }
        5 => {
            let at = rng.below(len + 1);
            let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            v.splice(at..at, extra);
        }
        6 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            v.drain(a..b);
        }
        _ if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(256)).min(len);
            let chunk = v[a..b].to_vec();
            let at = rng.below(len + 1);
            v.splice(at..at, chunk);
        }
        _ => v.push(rng.next() as u8),
    }
}

/// Replaces a run of digits in text with a number from [`HUGE_TEXT`].
fn mutate_number(rng: &mut Rng, v: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..v.len())
        .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return mutate_bytes(rng, v);
    }
    let a = *rng.pick(&starts);
    let b = (a..v.len()).find(|&i| !v[i].is_ascii_digit()).unwrap_or(v.len());
    v.splice(a..b, rng.pick(&HUGE_TEXT).bytes());
}

/// A generator of crafted inputs (headers with breaking sizes and types).
type Craft<'a> = &'a dyn Fn(&mut Rng) -> Vec<u8>;

/// A mutated copy of one of `seeds`, or a crafted input from `craft`.
fn mutant(rng: &mut Rng, seeds: &[Vec<u8>], craft: Option<Craft<'_>>, text: bool) -> Vec<u8> {
    if let Some(craft) = craft
        && rng.below(3) == 0
    {
        return craft(rng);
    }
    let mut v = rng.pick(seeds).clone();
    for _ in 0..1 + rng.below(3) {
        if text && rng.below(2) == 0 {
            mutate_number(rng, &mut v);
        } else {
            mutate_bytes(rng, &mut v);
        }
    }
    v
}

/// How a reader is driven: seeds, an optional crafted-input generator,
/// whether its input is text, and how many bytes of memory per input byte
/// it may take in one allocation (decompression and widening included).
struct Target<'a> {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    craft: Option<Craft<'a>>,
    text: bool,
    per_byte: usize,
    cases: usize,
}

/// Runs `read` on every case of `t`. `read` returns `Err` only for an
/// invalid result (a typed error from the reader is fine: `Ok`).
fn run(t: Target<'_>, read: &dyn Fn(&[u8]) -> Result<(), String>) {
    let mut rng = Rng::new(
        SEED ^ t
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64)),
    );
    for s in &t.seeds {
        assert_eq!(read(s), Ok(()), "{}: a seed input must read cleanly", t.name);
    }
    let mut failures = Vec::new();
    for case in 0..t.cases {
        let input = mutant(&mut rng, &t.seeds, t.craft, t.text);
        let bound = BASE_BOUND + t.per_byte * input.len();
        let (outcome, peak) =
            alloc_probe::measure(t.name, case, bound, || catch_unwind(AssertUnwindSafe(|| read(&input))));
        let problem = match outcome {
            Err(_) => Some("panicked".to_string()),
            Ok(Err(e)) => Some(format!("invalid result: {e}")),
            Ok(Ok(())) if peak > bound => Some(format!("allocated {peak} bytes at once (bound {bound})")),
            Ok(Ok(())) => None,
        };
        if let Some(p) = problem {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{}-{case}.bin", t.name));
            let _ = std::fs::write(&file, &input);
            failures.push(format!("{} case {case}: {p} (input in {})", t.name, file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A scratch file for readers that take a path.
struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        Scratch { _dir: dir, path }
    }
    fn put(&self, bytes: &[u8]) -> &Path {
        std::fs::write(&self.path, bytes).expect("write scratch file");
        &self.path
    }
}

fn valid(arr: &Array, path: &Path) -> Result<(), String> {
    arr.check(path).map_err(|e| e.to_string())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture")
}

/// An `.npy` header with a random dtype and shape from the breaking values.
fn crafted_npy(rng: &mut Rng) -> Vec<u8> {
    let descr = *rng.pick(&[
        "<f4",
        "",
        "é",
        "<",
        "f",
        "<U4",
        "|O",
        ">f8",
        "<c8",
        "|u1",
        "<i8",
        "\u{1F600}x",
        "<f2",
    ]);
    let dims: Vec<String> = (0..rng.below(4)).map(|_| rng.pick(&HUGE).to_string()).collect();
    let text = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({},), }}\n",
        if rng.below(4) == 0 { "True" } else { "False" },
        dims.join(", ")
    );
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend((0..rng.below(64)).map(|_| rng.next() as u8));
    out
}

/// An IDX header with a random type and sizes from the breaking values.
fn crafted_idx(rng: &mut Rng) -> Vec<u8> {
    let ndim = rng.below(5) as u8;
    let mut out = vec![0, 0, *rng.pick(&[0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F]), ndim];
    for _ in 0..ndim {
        out.extend_from_slice(&(*rng.pick(&HUGE) as u32).to_be_bytes());
    }
    out.extend((0..rng.below(64)).map(|_| rng.next() as u8));
    if rng.below(2) == 0 { gzip(&out) } else { out }
}

#[test]
fn npy() {
    let p = Path::new("fuzz.npy");
    let seeds = vec![
        npy::to_bytes_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        npy::to_bytes_u8(&[4], &[0, 1, 2, 3]),
        npy::to_bytes_i64(&[2, 1, 2], &[1, 2, 3, 4]),
    ];
    let read = |b: &[u8]| match npy::parse(b, p) {
        Ok(a) => valid(&a, p),
        Err(_) => Ok(()),
    };
    run(
        Target {
            name: "npy",
            seeds,
            craft: Some(&crafted_npy),
            text: false,
            per_byte: 64,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn idx_raw_and_gzip() {
    let scratch = Scratch::new("fuzz-idx");
    let raw = idx::to_bytes_u8(&[3, 2, 2], &[0; 12]);
    let seeds = vec![raw.clone(), gzip(&raw), idx::to_bytes_u8(&[5], &[1, 2, 3, 4, 5])];
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        match idx::read(p) {
            Ok(a) => valid(&a, p),
            Err(_) => Ok(()),
        }
    };
    // Gzip is allowed its maximal deflate ratio.
    run(
        Target {
            name: "idx",
            seeds,
            craft: Some(&crafted_idx),
            text: false,
            per_byte: 1100,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn npz() {
    let scratch = Scratch::new("fuzz.npz");
    let stored = npz::to_bytes(&[
        ("x", npy::to_bytes_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0])),
        ("y", npy::to_bytes_i64(&[2], &[0, 1])),
    ])
    .expect("npz");
    let deflated = {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("x.npy", opts).expect("zip");
        zip.write_all(&npy::to_bytes_f32(&[64], &[0.5; 64])).expect("zip");
        zip.finish().expect("zip");
        cursor.into_inner()
    };
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        match npz::read(p) {
            Ok(members) => members.iter().try_for_each(|(_, a)| valid(a, p)),
            Err(_) => Ok(()),
        }
    };
    run(
        Target {
            name: "npz",
            seeds: vec![stored, deflated],
            craft: None,
            text: false,
            per_byte: 1100,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn csv_tables() {
    let scratch = Scratch::new("fuzz.csv");
    let text = b"a,b,label\n1,2,0\n3,4,1\n5.5,6,2\n".to_vec();
    let named = b"1,2,cat\n3,4,dog\n".to_vec();
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        match read_table(p, &LabelColumn::default()) {
            Ok(t) if t.labels.len() != t.features.shape[0] => Err("labels and rows differ".into()),
            Ok(t) => valid(&t.features, p),
            Err(_) => Ok(()),
        }
    };
    let seeds = vec![text.clone(), named, gzip(&text)];
    run(
        Target {
            name: "csv",
            seeds,
            craft: None,
            text: true,
            per_byte: 1100,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn ucr_series() {
    let ts_file = Scratch::new("fuzz.ts");
    let txt_file = Scratch::new("fuzz.txt");
    let ts = b"@problemName x\n@timeStamps false\n@univariate true\n@classLabel true 1 2\n@data\n1.0,2.0,3.0:1\n4.0,5.0,6.0:2\n"
        .to_vec();
    let txt = b"1 1.0 2.0 3.0\n2 4.0 5.0 6.0\n".to_vec();
    let read = |b: &[u8]| {
        let as_ts = read_ts(ts_file.put(b), b.len().is_multiple_of(2));
        let as_txt = read_ucr_text(txt_file.put(b), !b.len().is_multiple_of(2));
        let _ = (as_ts, as_txt);
        Ok(())
    };
    run(
        Target {
            name: "ucr",
            seeds: vec![ts, txt],
            craft: None,
            text: true,
            per_byte: 64,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn hdf5_generic() {
    let scratch = Scratch::new("fuzz.h5");
    let small = {
        let s = Scratch::new("seed.h5");
        let x = Array::from_f32(&[2, 3], vec![1.0; 6]);
        let y = Array::new(vec![2], "int64", striate::io::array::Elements::Int(vec![0, 1]));
        hdf5::write(&s.path, &[("x", &x), ("y", &y)], Some(1)).expect("h5");
        std::fs::read(&s.path).expect("h5")
    };
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        let Ok(list) = hdf5::list(p) else { return Ok(()) };
        for d in list {
            if let Ok(a) = hdf5::read(p, &d.name) {
                valid(&a, p)?;
            }
        }
        Ok(())
    };
    let seeds = vec![small, fixture("toptag_fixed.h5")];
    run(
        Target {
            name: "hdf5",
            seeds,
            craft: None,
            text: false,
            per_byte: 1100,
            cases: CASES_LARGE,
        },
        &read,
    );
}

#[test]
fn hdf5_pandas_tables() {
    let scratch = Scratch::new("fuzz.h5");
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        let Ok(mut t) = PandasTable::open(p) else { return Ok(()) };
        let width = t.column_names().len();
        let mut sum = 0.0;
        loop {
            let more = t.read_rows(64, &mut |_, get| {
                for c in 0..width {
                    sum += get(c);
                }
                Ok(())
            });
            match more {
                Ok(true) => {}
                Ok(false) | Err(_) => return Ok(()),
            }
        }
    };
    let seeds = vec![fixture("toptag_table.h5"), fixture("toptag_fixed.h5")];
    run(
        Target {
            name: "pandas",
            seeds,
            craft: None,
            text: false,
            per_byte: 1100,
            cases: CASES_LARGE,
        },
        &read,
    );
}

#[test]
fn images() {
    let scratch = Scratch::new("fuzz.img");
    let png = image::encode_png(8, 8, image::PngColor::Rgb, &[128; 192]).expect("png");
    let gray = image::encode_png(16, 4, image::PngColor::Gray, &[7; 64]).expect("png");
    let read = |b: &[u8]| {
        let _ = image::decode(scratch.put(b));
        Ok(())
    };
    run(
        Target {
            name: "image",
            seeds: vec![png, gray],
            craft: None,
            text: false,
            per_byte: 1100,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn safetensors_files() {
    let p = Path::new("fuzz.safetensors");
    let t = striate::Tensor::<f32>::from_vec(&[2, 3], vec![1.0; 6]).expect("tensor");
    let stored = vec![
        ("w".to_string(), safetensors::Stored::from_tensor(&t)),
        (
            "b".to_string(),
            safetensors::Stored::from_tensor(&striate::Tensor::<f64>::zeros(&[3])),
        ),
    ];
    let seeds = vec![safetensors::to_safetensors_bytes(&stored, None).expect("st")];
    let read = |b: &[u8]| {
        if let Ok(f) = safetensors::parse_safetensors(b, p) {
            for (name, s) in &f.tensors {
                if striate::tensor::checked_numel(&s.shape) != Some(s.values.len()) {
                    return Err(format!(
                        "tensor {name}: shape {:?} for {} values",
                        s.shape,
                        s.values.len()
                    ));
                }
            }
        }
        Ok(())
    };
    run(
        Target {
            name: "safetensors",
            seeds,
            craft: None,
            text: false,
            per_byte: 64,
            cases: CASES,
        },
        &read,
    );
}

/// `torch.save` checkpoints (zip + pickle), seeded with a real one: every
/// tensor that comes back must have as many values as its shape says.
#[test]
fn pth_checkpoints() {
    let p = Path::new("fuzz.pth");
    let read = |b: &[u8]| {
        if let Ok(tensors) = pth::parse_pth(b, p) {
            for (name, s) in &tensors {
                if striate::tensor::checked_numel(&s.shape) != Some(s.values.len()) {
                    return Err(format!(
                        "tensor {name}: shape {:?} for {} values",
                        s.shape,
                        s.values.len()
                    ));
                }
            }
        }
        Ok(())
    };
    run(
        Target {
            name: "pth",
            seeds: vec![fixture("fastai_head.pth")],
            craft: None,
            text: false,
            per_byte: 1100,
            cases: 1000,
        },
        &read,
    );
}

fn model_seed() -> ModelSpec {
    ModelSpec::from_toml(
        "name = \"tiny\"\ninput = [1, 8, 8]\n\n[[layers]]\ntype = \"conv2d\"\nfilters = 4\nkernel = 3\npadding = \"same\"\n\n\
         [[layers]]\ntype = \"relu\"\n\n[[layers]]\ntype = \"flatten\"\n\n[[layers]]\ntype = \"dense\"\nunits = 2\n",
    )
    .expect("seed model")
}

#[test]
fn model_files() {
    let spec = model_seed();
    let toml_text = spec.to_toml().into_bytes();
    let json_text = serde_json::to_vec(&spec).expect("json");
    // The harness's "seeds read cleanly" check cannot see through `let _`.
    ModelSpec::from_toml(&spec.to_toml()).expect("the TOML seed parses");
    ModelSpec::from_json(&String::from_utf8_lossy(&json_text)).expect("the JSON seed parses");
    let read = |b: &[u8]| {
        let text = String::from_utf8_lossy(b);
        let _ = ModelSpec::from_toml(&text);
        let _ = ModelSpec::from_json(&text);
        Ok(())
    };
    run(
        Target {
            name: "model",
            seeds: vec![toml_text, json_text],
            craft: None,
            text: true,
            per_byte: 64,
            cases: CASES,
        },
        &read,
    );
}

#[test]
fn run_manifests() {
    let dir = tempfile::tempdir().expect("dir");
    let seed = fixture("fuzz/manifest.toml");
    std::fs::write(dir.path().join("model.toml"), &seed).expect("write");
    striate::run::Manifest::load(dir.path()).expect("the seed manifest loads");
    let read = |b: &[u8]| {
        std::fs::write(dir.path().join("model.toml"), b).expect("write");
        let _ = striate::run::Manifest::load(dir.path());
        Ok(())
    };
    run(
        Target {
            name: "manifest",
            seeds: vec![seed],
            craft: None,
            text: true,
            per_byte: 64,
            cases: CASES,
        },
        &read,
    );
}

/// The harness itself: a reader that panics on some inputs fails the run.
#[test]
#[should_panic(expected = "failing cases")]
fn harness_reports_a_panicking_reader() {
    let read = |b: &[u8]| {
        assert!(b.len() <= 2, "a panic the harness must catch");
        Ok(())
    };
    let seeds = vec![b"ok".to_vec()];
    run(
        Target {
            name: "selftest-panic",
            seeds,
            craft: None,
            text: false,
            per_byte: 1,
            cases: 50,
        },
        &read,
    );
}

/// The harness itself: a reader that allocates past the bound fails the run.
#[test]
#[should_panic(expected = "failing cases")]
fn harness_reports_an_allocation_past_the_bound() {
    let read = |b: &[u8]| {
        let big = if b == b"ok" {
            Vec::new()
        } else {
            vec![1u8; 2 * BASE_BOUND]
        };
        std::hint::black_box(big);
        Ok(())
    };
    let seeds = vec![b"ok".to_vec()];
    run(
        Target {
            name: "selftest-alloc",
            seeds,
            craft: None,
            text: false,
            per_byte: 1,
            cases: 20,
        },
        &read,
    );
}

#[test]
fn parquet_files() {
    use striate::data::source::{ReadOptions, Role};
    use striate::io::parquet::{ColumnKind, ParquetFile};
    let scratch = Scratch::new("fuzz.parquet");
    let read = |b: &[u8]| {
        let p = scratch.put(b);
        if let Ok(f) = ParquetFile::open(p) {
            for g in 0..f.group_rows().len() {
                for (c, col) in f.columns().iter().enumerate() {
                    let _ = match col.kind {
                        ColumnKind::Numeric => f.read_f32(g, c).map(|_| ()),
                        _ => f.read_bytes(g, c).map(|_| ()),
                    };
                }
            }
        }
        let _ = striate::jets::reader::read_all(p);
        if let Ok(raw) = striate::data::source::parquet::load(p, Role::Train, &ReadOptions::default()) {
            valid(&raw.x, p)?;
        }
        Ok(())
    };
    let seeds = vec![
        fixture("arrays.parquet"),
        fixture("toptag_images/data/test-00000-of-00001.parquet"),
        fixture("toptag.parquet"),
    ];
    run(
        Target {
            name: "parquet",
            seeds,
            craft: None,
            text: false,
            per_byte: 1100,
            cases: CASES_LARGE,
        },
        &read,
    );
}
