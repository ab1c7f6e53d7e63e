//! Opaque random tokens (refresh tokens) and their stored digests.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores instead of the token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Seals `successor` (a [`random_token`]) so that only a holder of `key` (the
/// token it replaced, 256 random bits) can read it back: XOR with a one-time
/// pad derived from the key. Each key seals exactly one successor.
pub fn seal(successor: &str, key: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(successor).unwrap_or_default();
    hex::encode(xor_pad(&bytes, key))
}

/// The token [`seal`]ed with `key`; `None` when it is not one.
pub fn unseal(sealed: &str, key: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    (bytes.len() == 32).then(|| URL_SAFE_NO_PAD.encode(xor_pad(&bytes, key)))
}

fn xor_pad(bytes: &[u8], key: &str) -> Vec<u8> {
    let pad = Sha256::new().chain_update(b"casework refresh retry\0").chain_update(key.as_bytes()).finalize();
    bytes.iter().zip(pad.iter()).map(|(b, p)| b ^ p).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_old_token_unseals_its_successor() {
        let (old, new) = (super::random_token(), super::random_token());
        let sealed = super::seal(&new, &old);
        assert_eq!(super::unseal(&sealed, &old).as_deref(), Some(new.as_str()));
        assert_ne!(super::unseal(&sealed, &super::random_token()).as_deref(), Some(new.as_str()));
    }

    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let (a, b) = (super::random_token(), super::random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(super::digest(&a), super::digest(&a));
        assert_eq!(super::digest(&a).len(), 64);
    }
}
