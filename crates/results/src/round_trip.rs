//! A round-trip time as users write it: `0`, `500us`, `0.5ms`, `2ms`, `1s`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest round trip a relay adds: far beyond any network a database
/// is used across, short enough that a typo (`5s` for `5ms`) is refused.
pub const MAX_ROUND_TRIP: Duration = Duration::from_secs(1);

/// A round-trip time from 0 to [`MAX_ROUND_TRIP`], to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RoundTrip(Duration);

impl RoundTrip {
    pub const ZERO: Self = Self(Duration::ZERO);

    /// `None` beyond [`MAX_ROUND_TRIP`]; rounded to the microsecond.
    pub fn new(d: Duration) -> Option<Self> {
        (d <= MAX_ROUND_TRIP).then(|| Self(Duration::from_micros(micros(d))))
    }

    pub fn duration(self) -> Duration {
        self.0
    }

    /// `None` beyond [`MAX_ROUND_TRIP`].
    pub fn from_micros(us: u64) -> Option<Self> {
        Self::new(Duration::from_micros(us))
    }

    /// In microseconds, as results record it.
    pub fn as_micros(self) -> u64 {
        micros(self.0)
    }

    /// In milliseconds, as results record it.
    pub fn as_ms(self) -> f64 {
        self.0.as_secs_f64() * 1e3
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Why a text is not a round trip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a round-trip time: {why}")]
pub struct ParseRoundTripError {
    text: String,
    why: &'static str,
}

impl FromStr for RoundTrip {
    type Err = ParseRoundTripError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why| ParseRoundTripError {
            text: text.to_string(),
            why,
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: f64 = number
            .parse()
            .map_err(|_| bad("expected a number and a unit, as in 0, 500us, 0.5ms or 2ms"))?;
        let per_second = match unit {
            "" if n == 0.0 => 1.0,
            "" => return Err(bad("a unit is needed (us, ms or s), except for 0")),
            "us" => 1e6,
            "ms" => 1e3,
            "s" => 1.0,
            _ => return Err(bad("unknown unit (use us, ms or s)")),
        };
        Duration::try_from_secs_f64(n / per_second)
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| bad("it must be from 0 to 1s"))
    }
}

impl fmt::Display for RoundTrip {
    /// In the unit that shows it without a fraction where it can:
    /// `0`, `250us`, `0.5ms`, `2ms`, `1s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = micros(self.0);
        if us == 0 {
            write!(f, "0")
        } else if us.is_multiple_of(1_000_000) {
            write!(f, "{}s", us / 1_000_000)
        } else if us.is_multiple_of(100) {
            write!(f, "{}ms", us as f64 / 1e3)
        } else {
            write!(f, "{us}us")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_parse_as_written_and_print_back_the_same() {
        for text in ["0", "250us", "0.5ms", "2ms", "5ms", "1s", "1.2ms"] {
            let rt: RoundTrip = text.parse().unwrap();
            assert_eq!(rt.to_string(), text);
        }
        let rt: RoundTrip = "500us".parse().unwrap();
        assert_eq!(rt.to_string(), "0.5ms");
        assert_eq!(rt.duration(), Duration::from_micros(500));
        assert_eq!("0ms".parse::<RoundTrip>().unwrap(), RoundTrip::ZERO);
    }

    #[test]
    fn nonsense_and_too_long_round_trips_are_refused_with_the_reason() {
        for (text, why) in [
            ("2", "a unit is needed"),
            ("fast", "expected a number"),
            ("-1ms", "expected a number"),
            ("2 ms", "unknown unit"),
            ("5m", "unknown unit"),
            ("2s", "from 0 to 1s"),
        ] {
            let e = text.parse::<RoundTrip>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(text), "{text}: {e}");
        }
    }
}
