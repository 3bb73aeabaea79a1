//! Whether a program is installed: what `bookbench targets` and the peers'
//! set-up ask before they try to run one.

/// Whether `program` is a file in a directory on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
