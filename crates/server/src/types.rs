//! Values that are parsed once, at the edge, into types that cannot hold an
//! invalid value: a handler that has a `CountryCode` or an `Isbn13` need not
//! check it again. Each parses from its JSON string (`try_from`), so a bad
//! value is reported on its field like any other type error.

use std::fmt;

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

/// An ISO 3166-1 alpha-2 code in its canonical form: two uppercase ASCII
/// letters. Whether the country exists is checked against the reference
/// data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "GB")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s))
        } else {
            Err("must be a two-letter uppercase ISO 3166-1 code")
        }
    }
}

/// An ISBN-13 with a valid check digit, as given: 13 digits, or digits in
/// groups separated by single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "978-0-306-40615-7")]
pub struct Isbn13(String);

impl Isbn13 {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Isbn13 {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        const FORMAT: &str = "must be an ISBN-13: 13 digits, optionally in hyphenated groups";
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(FORMAT);
        }
        let mut digits = Vec::with_capacity(13);
        for b in s.bytes() {
            match b {
                b'0'..=b'9' => digits.push(u32::from(b - b'0')),
                b'-' => {}
                _ => return Err(FORMAT),
            }
        }
        if digits.len() != 13 {
            return Err(FORMAT);
        }
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
            .sum();
        if !sum.is_multiple_of(10) {
            return Err("is not a valid ISBN-13 (wrong check digit)");
        }
        Ok(Self(s))
    }
}

/// A phone number: 1 to 32 characters, each a digit, a space or one of
/// `+ - ( )`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "+44 20 7946 0000")]
pub struct Phone(String);

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')');
        if s.is_empty() || s.chars().count() > 32 || !s.chars().all(allowed) {
            return Err("must be 1 to 32 characters: digits, spaces and + - ( )");
        }
        Ok(Self(s))
    }
}

/// The earliest and latest years that a timestamp or date may have: what
/// RFC 3339 can write (four-digit years) and PostgreSQL can store.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A timestamp from a request: RFC 3339 with any offset, years 1 to 9999.
pub type InTimestamp = DateTime<FixedOffset>;

pub fn timestamp_in_range(t: &Option<InTimestamp>, _: &crate::refdata::RefData) -> garde::Result {
    match t {
        Some(t) if !YEARS.contains(&t.with_timezone(&Utc).year()) => {
            Err(garde::Error::new("must be between years 1 and 9999"))
        }
        _ => Ok(()),
    }
}

pub fn date_in_range(d: &Option<NaiveDate>, _: &crate::refdata::RefData) -> garde::Result {
    match d {
        Some(d) if !YEARS.contains(&d.year()) => {
            Err(garde::Error::new("must be between years 1 and 9999"))
        }
        _ => Ok(()),
    }
}

/// Text that PostgreSQL can store: no NUL characters.
pub fn no_nul(s: &Option<String>, _: &crate::refdata::RefData) -> garde::Result {
    match s {
        Some(s) if s.contains('\0') => Err(garde::Error::new("must not contain NUL characters")),
        _ => Ok(()),
    }
}

/// A timestamp in a response: RFC 3339, UTC, seconds precision
/// (`2019-05-01T09:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2019-05-01T09:30:00Z")]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ` written digit by digit: chrono's `format`
    /// parses its pattern on every call, which a list of twenty authors
    /// does forty times per request. `None` outside years 0 to 9999.
    fn rfc3339(&self) -> Option<[u8; 20]> {
        use chrono::Timelike as _;
        let t = self.0.naive_utc();
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        Some(out)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            Some(bytes) => f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?),
            None => write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => s.serialize_str(text),
                Err(_) => s.collect_str(self),
            },
            None => s.collect_str(self),
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn13_accepts_digits_and_hyphenated_groups_with_a_valid_check_digit() {
        assert!(Isbn13::try_from("9780306406157".to_string()).is_ok());
        assert!(Isbn13::try_from("978-0-306-40615-7".to_string()).is_ok());
        assert!(Isbn13::try_from("9780306406158".to_string()).is_err());
        assert!(Isbn13::try_from("978--0306406157".to_string()).is_err());
        assert!(Isbn13::try_from("-9780306406157".to_string()).is_err());
        assert!(Isbn13::try_from("978030640615".to_string()).is_err());
        assert!(Isbn13::try_from("97803064061５7".to_string()).is_err());
    }

    #[test]
    fn timestamps_are_written_in_utc_with_seconds_precision() {
        let t = DateTime::parse_from_rfc3339("2019-05-01T11:30:00.123+02:00")
            .map(|t| t.with_timezone(&Utc));
        assert_eq!(
            t.map(|t| Timestamp(t).to_string()),
            Ok("2019-05-01T09:30:00Z".to_string())
        );
    }
}
