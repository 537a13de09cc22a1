//! Sizes that come from users, checked: products and sums that cannot wrap,
//! and a memory budget that a model or a flag must fit in.
//!
//! The budget is process-wide: [`set_limit`] sets it (the binary does, from
//! `--max-memory`), [`check`] compares an allocation's size with it. The
//! default is three quarters of the machine's physical memory (from
//! `/proc/meminfo`), or 16 GiB where that cannot be read.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// 0 = not set: use [`default_limit`].
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets the memory budget in bytes (0 restores the default).
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The memory budget in bytes.
pub fn limit() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => default_limit(),
        n => n,
    }
}

/// Three quarters of physical memory, or 16 GiB when it cannot be read.
pub fn default_limit() -> u64 {
    physical_memory().map_or(16 << 30, |m| m / 4 * 3)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// An error unless `bytes` fit in the budget; `what` names the thing that
/// needs them (`"dense layer 3 (10^12 units)"`).
pub fn check(what: &str, bytes: u128) -> Result<()> {
    let limit = limit();
    if bytes > u128::from(limit) {
        return Err(Error::invalid(
            what,
            format!(
                "needs {} of memory, more than the limit of {} (--max-memory)",
                human_bytes(bytes),
                human_bytes(u128::from(limit))
            ),
        ));
    }
    Ok(())
}

/// Bytes a parameter of `n` values of `elem` bytes holds in training: its
/// value, its gradient and two optimizer moments.
pub fn param_bytes(n: usize, elem: usize) -> u128 {
    4 * n as u128 * elem as u128
}

/// `n` values of `elem` bytes each, checked against the budget.
pub fn check_elements(what: &str, n: usize, elem: usize) -> Result<()> {
    check(what, n as u128 * elem as u128)
}

/// The product of `dims`, or an error naming `what` when it does not fit in
/// a `usize`.
pub fn product(what: &str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::invalid(what, format!("the size {dims:?} overflows")))
}

/// `a + b`, or an error naming `what` when it overflows.
pub fn add(what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_add(b)
        .ok_or_else(|| Error::invalid(what, format!("{a} + {b} overflows")))
}

/// `a * b`, or an error naming `what` when it overflows.
pub fn mul(what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b)
        .ok_or_else(|| Error::invalid(what, format!("{a} × {b} overflows")))
}

/// `1.5 GiB`, `320 MiB`, `12 KiB`, `100 B`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Parses `4G`, `512M`, `100000K`, `1.5GiB` or a plain number of bytes.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.trim().parse().ok()?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = value * scale;
    (bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_bytes("4G"), Some(4 << 30));
        assert_eq!(parse_bytes("512 MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("-1G"), None);
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert!(product("x", &[4, 1 << 62]).is_err());
        assert_eq!(product("x", &[4, 5]).unwrap(), 20);
    }
}
