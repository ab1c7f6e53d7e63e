//! Who is calling: access tokens (JWT), password hashing (argon2id) and opaque
//! refresh tokens. The authenticated caller is a [`crate::domain::policy::Actor`].

pub mod jwt;
pub mod password;
pub mod tokens;

pub use crate::domain::policy::Actor;
