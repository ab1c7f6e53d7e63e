//! Values parsed once at the edge. Each parser names the input field it checks,
//! so a refusal becomes `VALIDATION` with `extensions.field`.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ValidationError { field, message: message.into() }
    }
}

pub type Valid<T> = Result<T, ValidationError>;

/// Sane upper bounds for free text, in characters.
pub mod limits {
    pub const NAME: usize = 200;
    pub const TITLE: usize = 200;
    pub const TEXT: usize = 20_000;
    pub const SHORT: usize = 500;
    pub const REFERENCE: usize = 100;
    pub const PASSWORD_MIN: usize = 12;
    pub const PASSWORD_MAX: usize = 1024;
}

/// Trimmed, non-empty text of at most `max` characters.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Valid<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    bounded(field, value, max)?;
    Ok(value.to_owned())
}

/// Like [`required_text`], but absent or blank text is `None`.
pub fn optional_text(field: &'static str, value: Option<&str>, max: usize) -> Valid<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => {
            bounded(field, value, max)?;
            Ok(Some(value.to_owned()))
        }
    }
}

fn bounded(field: &'static str, value: &str, max: usize) -> Valid<()> {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dotted domain,
/// no spaces; deliverability is not our business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, value: &str) -> Valid<Email> {
        let value = value.trim().to_lowercase();
        let invalid = || ValidationError::new(field, "is not a valid email address");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let labels_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A phone number as people write it: digits with optional `+`, spaces, dashes,
/// dots and parentheses; 5 to 20 digits.
pub fn phone(field: &'static str, value: &str) -> Valid<String> {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -.()".contains(c) || (c == '+' && i == 0));
    if !allowed || !(5..=20).contains(&digits) {
        return Err(ValidationError::new(field, "is not a valid phone number"));
    }
    Ok(value.to_owned())
}

/// ISO 4217 currencies we accept, with their number of minor units.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2), ("AUD", 2), ("BRL", 2), ("CAD", 2), ("CHF", 2), ("CNY", 2), ("CZK", 2),
    ("DKK", 2), ("EUR", 2), ("GBP", 2), ("HKD", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("JPY", 0), ("KRW", 0), ("MXN", 2), ("MYR", 2), ("NOK", 2), ("NZD", 2),
    ("PHP", 2), ("PLN", 2), ("RUB", 2), ("SAR", 2), ("SEK", 2), ("SGD", 2), ("THB", 2),
    ("TRY", 2), ("TWD", 2), ("UAH", 2), ("USD", 2), ("VND", 0), ("ZAR", 2),
];

/// An ISO 4217 currency code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currency(&'static str, u32);

impl Currency {
    pub fn parse(field: &'static str, code: &str) -> Valid<Currency> {
        let code = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(known, minor)| Currency(known, *minor))
            .ok_or_else(|| ValidationError::new(field, format!("unknown currency {code:?} (ISO 4217 expected)")))
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    pub fn minor_units(self) -> u32 {
        self.1
    }
}

/// An exact, non-negative amount in a currency, with no more decimals than the
/// currency has minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

/// The largest amount we accept: a complaint is not a treasury operation.
const MAX_AMOUNT: i64 = 1_000_000_000;

impl Money {
    pub fn parse(field: &'static str, amount: Decimal, currency: Currency) -> Valid<Money> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(ValidationError::new(field, "must not be negative"));
        }
        if amount.normalize().scale() > currency.minor_units() {
            return Err(ValidationError::new(
                field,
                format!("{} allows at most {} decimal places", currency.code(), currency.minor_units()),
            ));
        }
        if amount > Decimal::from(MAX_AMOUNT) {
            return Err(ValidationError::new(field, "is unreasonably large"));
        }
        let mut amount = amount.abs();
        amount.rescale(currency.minor_units());
        Ok(Money { amount, currency })
    }

    /// `"2000.00"`: the stored and transmitted form.
    pub fn amount_text(&self) -> String {
        self.amount.to_string()
    }
}

/// A time that must not lie in the future (a little clock skew is tolerated).
pub fn not_in_future(field: &'static str, at: DateTime<Utc>, now: DateTime<Utc>) -> Valid<DateTime<Utc>> {
    if at > now + Duration::minutes(5) {
        return Err(ValidationError::new(field, "must not be in the future"));
    }
    Ok(at)
}

/// A satisfaction score from 1 to 5.
pub fn satisfaction_score(field: &'static str, score: i32) -> Valid<i32> {
    if !(1..=5).contains(&score) {
        return Err(ValidationError::new(field, "must be between 1 and 5"));
    }
    Ok(score)
}

/// A new password: long enough to resist guessing, short enough to hash cheaply.
pub fn password(field: &'static str, value: &str) -> Valid<()> {
    let length = value.chars().count();
    if length < limits::PASSWORD_MIN {
        return Err(ValidationError::new(field, format!("must be at least {} characters", limits::PASSWORD_MIN)));
    }
    if length > limits::PASSWORD_MAX {
        return Err(ValidationError::new(field, "is too long"));
    }
    Ok(())
}

/// The human reference of a complaint: `CMP-2026-000042`.
pub fn complaint_reference(year: i32, number: i64) -> String {
    format!("CMP-{year}-{number:06}")
}

/// A group complaint's human reference: `GRP-2026-000001`.
pub fn group_reference(year: i32, number: i64) -> String {
    format!("GRP-{year}-{number:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn text_is_trimmed_bounded_and_required() {
        assert_eq!(required_text("title", "  Broken fridge ", 200).unwrap(), "Broken fridge");
        assert_eq!(required_text("title", "   ", 200).unwrap_err().field, "title");
        assert!(required_text("title", &"x".repeat(201), 200).is_err());
        assert!(required_text("title", "bell\u{7}", 200).is_err());
        assert_eq!(optional_text("note", Some("  "), 10).unwrap(), None);
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse("email", " Li.Wei@Example.COM ").unwrap().as_str(), "li.wei@example.com");
        for bad in ["", "no-at", "a@b", "@example.com", "a b@example.com", "a@@example.com", "a@-x.com"] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phones() {
        assert!(phone("phone", "+86 138-0013-8000").is_ok());
        assert!(phone("phone", "(020) 1234 5678").is_ok());
        for bad in ["12", "call me", "+1+2345678", "1234567890123456789012"] {
            assert!(phone("phone", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn money_is_exact_and_bounded() {
        let cny = Currency::parse("currency", "cny").unwrap();
        let money = Money::parse("amount", Decimal::from_str("2000").unwrap(), cny).unwrap();
        assert_eq!(money.amount_text(), "2000.00");
        assert!(Money::parse("amount", Decimal::from_str("-1").unwrap(), cny).is_err());
        assert!(Money::parse("amount", Decimal::from_str("1.005").unwrap(), cny).is_err());
        assert!(Money::parse("amount", Decimal::from_str("1.50").unwrap(), cny).is_ok());
        let jpy = Currency::parse("currency", "JPY").unwrap();
        assert!(Money::parse("amount", Decimal::from_str("1.5").unwrap(), jpy).is_err());
        assert!(Currency::parse("currency", "XYZ").is_err());
    }

    #[test]
    fn scores_and_times() {
        assert!(satisfaction_score("score", 0).is_err());
        assert!(satisfaction_score("score", 6).is_err());
        assert!(satisfaction_score("score", 5).is_ok());
        let now = Utc::now();
        assert!(not_in_future("occurredAt", now + Duration::hours(1), now).is_err());
        assert!(not_in_future("occurredAt", now - Duration::days(3), now).is_ok());
    }

    #[test]
    fn references_are_zero_padded() {
        assert_eq!(complaint_reference(2026, 42), "CMP-2026-000042");
        assert_eq!(complaint_reference(2026, 1_234_567), "CMP-2026-1234567");
        assert_eq!(group_reference(2026, 1), "GRP-2026-000001");
    }
}
