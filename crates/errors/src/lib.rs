//! An error with its sources on one line: `connecting: db error: refused`.
//!
//! Many errors say only what failed and keep the reason in their sources
//! (tokio-postgres says "db error" on top); a message or a log line that
//! shows only the top says too little.
//!
//! ```
//! use std::{error::Error, fmt};
//!
//! #[derive(Debug)]
//! struct Connecting(std::io::Error);
//!
//! impl fmt::Display for Connecting {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         f.write_str("connecting")
//!     }
//! }
//!
//! impl Error for Connecting {
//!     fn source(&self) -> Option<&(dyn Error + 'static)> {
//!         Some(&self.0)
//!     }
//! }
//!
//! let e = Connecting(std::io::Error::other("refused"));
//! assert_eq!(bookbench_errors::chain(&e), "connecting: refused");
//! assert_eq!(format!("{}", bookbench_errors::Chain(&e)), "connecting: refused");
//! ```

use std::error::Error;
use std::fmt;

/// Displays the error, then each of its sources after `": "`. Formats in
/// place, for `format!` and logging macros, with no `String` in between.
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// The error and its sources as one string: `a: b: c`.
pub fn chain(e: &dyn Error) -> String {
    Chain(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<dyn Error>>);

    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn every_source_follows_the_error() {
        let inner = std::io::Error::other("connection refused");
        let middle = Wrap("db error", Some(Box::new(inner)));
        let outer = Wrap("creating the database", Some(Box::new(middle)));
        assert_eq!(
            chain(&outer),
            "creating the database: db error: connection refused"
        );
        assert_eq!(format!("{}", Chain(&outer)), chain(&outer));
    }

    #[test]
    fn an_error_without_a_source_is_its_message() {
        assert_eq!(chain(&Wrap("timed out", None)), "timed out");
    }
}
