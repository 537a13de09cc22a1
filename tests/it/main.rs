//! striate's integration tests, one binary with a module per concern.

mod architecture;
mod atomic;
mod augment;
mod cli;
mod common;
mod crash_resume;
mod fcn_recipe;
mod filters;
mod fuzz;
mod fuzz_regressions;
mod gradcheck;
mod hostile;
mod jets;
mod kernel_paths;
mod limits;
mod metrics;
mod model_build;
mod parquet;
mod pixelate_out;
mod real_data;
mod recipes;
mod regression;
mod reports;
mod series;
mod stream;
mod torch_ref;
mod train_smoke;
mod transfer;
mod weights_io;

/// A global allocator that measures, on threads that ask, the largest single
/// allocation: the fuzzing harness asserts that a reader never asks for more
/// memory than its input could justify. An allocation past the bound is
/// reported on stderr at once, so a case that aborts the process is named.
#[allow(unsafe_code)]
pub mod alloc_probe {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::io::Write;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
        static BOUND: Cell<usize> = const { Cell::new(usize::MAX) };
        static CASE: Cell<(&'static str, usize)> = const { Cell::new(("", 0)) };
    }

    struct Probe;

    fn digits(mut v: usize, buf: &mut [u8; 20]) -> &[u8] {
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return &buf[i..];
            }
        }
    }

    fn record(size: usize) {
        if !ON.try_with(Cell::get).unwrap_or(false) {
            return;
        }
        let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
        if size > BOUND.try_with(Cell::get).unwrap_or(usize::MAX) {
            // Off while reporting: stderr must not re-enter the probe.
            let _ = ON.try_with(|o| o.set(false));
            let (name, case) = CASE.try_with(Cell::get).unwrap_or(("?", 0));
            let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"fuzz: ");
            let _ = err.write_all(name.as_bytes());
            let _ = err.write_all(b" case ");
            let _ = err.write_all(digits(case, &mut a));
            let _ = err.write_all(b" allocates ");
            let _ = err.write_all(digits(size, &mut b));
            let _ = err.write_all(b" bytes, past its bound\n");
            let _ = ON.try_with(|o| o.set(true));
        }
    }

    // SAFETY: every call is forwarded unchanged to the system allocator; the
    // probe only reads and writes thread-local cells, which do not allocate.
    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            record(new_size);
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Probe = Probe;

    /// Runs `f` on this thread, returning its result and the largest single
    /// allocation it made; allocations past `bound` are reported as they happen.
    pub fn measure<R>(name: &'static str, case: usize, bound: usize, f: impl FnOnce() -> R) -> (R, usize) {
        CASE.with(|c| c.set((name, case)));
        BOUND.with(|b| b.set(bound));
        PEAK.with(|p| p.set(0));
        ON.with(|o| o.set(true));
        let r = f();
        ON.with(|o| o.set(false));
        (r, PEAK.with(Cell::get))
    }
}
