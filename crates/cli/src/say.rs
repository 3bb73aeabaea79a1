//! The terminal, written without panicking: `println!` panics when the
//! reader of a pipe has gone (`bookbench run | head`), and would end a run
//! with its targets still started. A line that cannot be written is
//! dropped; what a verb produces is in its files, and its exit code stands.

use std::fmt::Arguments;
use std::io::Write;

/// Standard output, as `print!`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::say::stdout(format_args!($($arg)*)) };
}

/// Standard output, a line, as `println!`.
macro_rules! outln {
    () => { $crate::say::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::say::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Standard error, as `eprint!`.
macro_rules! errout {
    ($($arg:tt)*) => { $crate::say::stderr(format_args!($($arg)*)) };
}

/// Standard error, a line, as `eprintln!`.
macro_rules! erroutln {
    () => { $crate::say::stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::say::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) fn stdout(text: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(text);
}

pub(crate) fn stderr(text: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}
