//! Testing crash safety, hidden from users: `STRIATE_CRASH_AT=write:N`
//! aborts the process in the middle of its Nth file write (half of the
//! temporary file written), `STRIATE_CRASH_AT=batch:N` right after its Nth
//! training batch. `tests/it/crash_resume.rs` kills runs this way at many
//! moments and checks that `--resume` ends in the same weights.

use striate::train::{BatchLog, Callback, Control};

/// The variable's name.
const VAR: &str = "STRIATE_CRASH_AT";

/// Arms the write crash point and returns the batch one, when the variable
/// asks for either.
pub fn arm() -> Option<AfterBatches> {
    let value = std::env::var(VAR).ok()?;
    let (kind, n) = value.split_once(':')?;
    let n: usize = n.parse().ok().filter(|&n| n > 0)?;
    match kind {
        "write" => {
            striate::atomic::crash_during_write(n);
            None
        }
        "batch" => Some(AfterBatches { left: n }),
        _ => None,
    }
}

/// Aborts the process after `left` more training batches.
pub struct AfterBatches {
    left: usize,
}

impl Callback<f32> for AfterBatches {
    fn on_batch_end(&mut self, _: &BatchLog) -> Control {
        self.left -= 1;
        if self.left == 0 {
            std::process::abort();
        }
        Control::Continue
    }
}
