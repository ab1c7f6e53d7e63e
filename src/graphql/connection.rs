//! Relay cursors for keyset pagination: an opaque encoding of (sort key, id).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{error::AppError, service::complaints::Cursor};

/// Largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;
/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;

pub fn encode(cursor: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", cursor.key.timestamp_micros(), cursor.id))
}

pub fn decode(field: &'static str, text: &str) -> Result<Cursor, AppError> {
    let invalid = || AppError::validation(field, "is not a cursor of this list");
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (micros, id) = raw.split_once('|').ok_or_else(invalid)?;
    let key: DateTime<Utc> = DateTime::from_timestamp_micros(micros.parse().map_err(|_| invalid())?).ok_or_else(invalid)?;
    Ok(Cursor { key, id: Uuid::parse_str(id).map_err(|_| invalid())? })
}

/// Checks `first`/`last` and returns (limit, walk from the end).
pub fn page_size(first: Option<i32>, last: Option<i32>) -> Result<(u64, bool), AppError> {
    let check = |field: &'static str, n: i32| {
        if !(0..=MAX_PAGE).contains(&n) {
            return Err(AppError::validation(field, format!("must be between 0 and {MAX_PAGE}")));
        }
        Ok(n as u64)
    };
    match (first, last) {
        (Some(_), Some(_)) => Err(AppError::validation("last", "give either first or last, not both")),
        (Some(n), None) => Ok((check("first", n)?, false)),
        (None, Some(n)) => Ok((check("last", n)?, true)),
        (None, None) => Ok((DEFAULT_PAGE as u64, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { key: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(), id: Uuid::now_v7() };
        assert_eq!(decode("after", &encode(cursor)).unwrap(), cursor);
        assert!(decode("after", "bm9wZQ").is_err());
        assert!(decode("after", "!!").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None, None).unwrap(), (20, false));
        assert_eq!(page_size(Some(50), None).unwrap(), (50, false));
        assert_eq!(page_size(None, Some(5)).unwrap(), (5, true));
        assert!(page_size(Some(101), None).is_err());
        assert!(page_size(Some(-1), None).is_err());
        assert!(page_size(Some(1), Some(1)).is_err());
    }
}
