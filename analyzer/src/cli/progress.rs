//! The scan's progress bar on stderr: files done out of the total, the rate
//! and the time left.
//!
//! Drawn only when it helps a person watching: stderr is a terminal (not a
//! pipe or a CI log), `CI` is not set, `TERM` is not `dumb`, and
//! `--no-progress` was not given. Even then it starts hidden and appears only
//! once the scan has run for [`DELAY`], so quick scans never flash a bar. It
//! is cleared before the report is written.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::ProgressHook;

/// How long a scan runs before the bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

const TEMPLATE: &str =
    "{spinner} scanning [{bar:30}] {human_pos}/{human_len} files ({per_sec:0}, {eta} left)";

/// Whether a progress bar may be drawn, from `--no-progress`, whether stderr
/// is a terminal, and the environment variables `CI` and `TERM`.
pub fn wanted(
    no_progress: bool,
    stderr_is_terminal: bool,
    ci: Option<&str>,
    term: Option<&str>,
) -> bool {
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    !no_progress && stderr_is_terminal && !in_ci && term != Some("dumb")
}

/// The scan's progress bar; a no-op when not [`wanted`].
pub struct Progress {
    bar: Option<Shown>,
}

struct Shown {
    bar: ProgressBar,
    started: Instant,
    visible: AtomicBool,
}

impl Progress {
    /// A bar for this process: decides from `--no-progress`, stderr and the
    /// environment whether to draw at all.
    pub fn new(no_progress: bool) -> Progress {
        let env = |name| std::env::var(name).ok();
        let enabled = wanted(
            no_progress,
            io::stderr().is_terminal(),
            env("CI").as_deref(),
            env("TERM").as_deref(),
        );
        Progress::with(enabled)
    }

    /// A bar that draws (after [`DELAY`]) when `enabled`.
    pub fn with(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
                bar.set_style(style.progress_chars("=> "));
            }
            Shown {
                bar,
                started: Instant::now(),
                visible: AtomicBool::new(false),
            }
        });
        Progress { bar }
    }

    /// The hook for [`ScanOptions::progress`](crate::engine::ScanOptions::progress);
    /// `None` when nothing is drawn.
    pub fn hook(self: &Arc<Self>) -> Option<ProgressHook> {
        self.bar.as_ref()?;
        let this = Arc::clone(self);
        Some(Arc::new(move |done, total| this.update(done, total)))
    }

    fn update(&self, done: usize, total: usize) {
        let Some(shown) = &self.bar else {
            return;
        };
        let to_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        shown.bar.set_length(to_u64(total));
        shown.bar.set_position(to_u64(done));
        if !shown.visible.load(Ordering::Relaxed)
            && shown.started.elapsed() >= DELAY
            && !shown.visible.swap(true, Ordering::Relaxed)
        {
            shown.bar.set_draw_target(ProgressDrawTarget::stderr());
            shown.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    /// Whether the bar has been drawn.
    pub fn is_visible(&self) -> bool {
        self.bar
            .as_ref()
            .is_some_and(|s| s.visible.load(Ordering::Relaxed))
    }

    /// Removes the bar from the terminal (before the report is written).
    pub fn clear(&self) {
        if let Some(shown) = &self.bar {
            shown.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_only_on_a_terminal_outside_ci_without_the_flag() {
        assert!(wanted(false, true, None, Some("xterm-256color")));
        assert!(wanted(false, true, Some(""), None));
        assert!(wanted(false, true, Some("false"), None));
        assert!(!wanted(true, true, None, None), "--no-progress");
        assert!(
            !wanted(false, false, None, None),
            "stderr is not a terminal"
        );
        assert!(!wanted(false, true, Some("true"), None), "CI");
        assert!(!wanted(false, true, Some("1"), None), "CI");
        assert!(!wanted(false, true, None, Some("dumb")));
    }

    #[test]
    fn a_quick_scan_never_shows_the_bar() {
        let progress = Arc::new(Progress::with(true));
        let hook = progress.hook().unwrap();
        for done in 0..=100 {
            hook(done, 100);
        }
        assert!(!progress.is_visible());
        progress.clear();
    }

    #[test]
    fn disabled_progress_has_no_hook() {
        let progress = Arc::new(Progress::with(false));
        assert!(progress.hook().is_none());
        assert!(!progress.is_visible());
    }
}
