//! Short-lived access tokens: HS256 only (the algorithm is pinned on both
//! sides), with `sub`, `role`, `ver` (the user's token version), `sid` (the
//! sign-in session: its refresh-token family), `iat`, `exp` and our issuer and
//! audience. We never issue key ids or key URLs, so a token
//! carrying `kid`, `jku`, `jwk`, `x5u` or `x5c` is refused outright, as is one
//! issued in the future.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;

const ISSUER: &str = "casework";
const AUDIENCE: &str = "casework-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    /// The user's `token_version` when the token was issued; a token whose
    /// version is not the user's current one is refused.
    pub ver: i32,
    /// The sign-in session (refresh-token family) the token belongs to; a
    /// token whose session was ended (logout, reuse) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A signed access token for `user`, and when it expires.
    pub fn issue(
        &self,
        user: Uuid,
        role: Role,
        version: i32,
        session: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let expires_at = now + chrono::Duration::from_std(self.ttl)?;
        let claims = Claims {
            sub: user,
            role: role.as_str().to_owned(),
            ver: version,
            sid: session,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, expires_at))
    }

    /// The claims of a valid, unexpired token signed by us; `None` otherwise.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256
            || header.kid.is_some()
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return None;
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        // `iat` in the future (beyond the clock leeway) is a forgery or a broken clock.
        (claims.iat <= Utc::now().timestamp() + self.validation.leeway as i64).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"an-example-secret-of-at-least-32-bytes!", Duration::from_secs(900))
    }

    #[test]
    fn a_token_verifies_with_its_own_key_only() {
        let user = Uuid::now_v7();
        let (token, _) = keys().issue(user, Role::Agent, 0, None, Utc::now()).unwrap();
        assert_eq!(keys().verify(&token).unwrap().sub, user);
        let other = JwtKeys::new(b"another-secret-of-at-least-32-bytes!!!", Duration::from_secs(900));
        assert!(other.verify(&token).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (token, _) = keys().issue(Uuid::now_v7(), Role::Agent, 0, None, Utc::now() - chrono::Duration::hours(1)).unwrap();
        assert!(keys().verify(&token).is_none());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        // {"alg":"none"} with valid-looking claims.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDAiLCJyb2xlIjoiQURNSU4iLCJpYXQiOjAsImV4cCI6OTk5OTk5OTk5OSwiaXNzIjoiY2FzZXdvcmsiLCJhdWQiOiJjYXNld29yay1hcGkifQ.";
        assert!(keys().verify(token).is_none());
    }
}
