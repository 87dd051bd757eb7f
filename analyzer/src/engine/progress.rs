//! Counting analyzed files for [`ScanOptions::progress`](super::ScanOptions::progress).
//! The engine only calls the hook; drawing is the caller's business.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::ProgressHook;

/// Counts files done across the worker threads and tells the hook.
pub(super) struct Counter<'a> {
    hook: Option<&'a ProgressHook>,
    done: AtomicUsize,
    total: usize,
}

impl<'a> Counter<'a> {
    /// Tells the hook `(0, total)` and starts counting.
    pub(super) fn start(hook: Option<&'a ProgressHook>, total: usize) -> Self {
        if let Some(hook) = hook {
            hook(0, total);
        }
        Counter {
            hook,
            done: AtomicUsize::new(0),
            total,
        }
    }

    /// Counts one more file done, tells the hook, and passes `value` through.
    pub(super) fn after<T>(&self, value: T) -> T {
        if let Some(hook) = self.hook {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            hook(done.min(self.total), self.total);
        }
        value
    }
}
