//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//! Hashing is CPU-bound: callers run it on the blocking pool.

use std::sync::LazyLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?
        .to_string())
}

/// A hash of nothing anyone knows, verified against when the email is unknown
/// so that an unknown email costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(&super::tokens::random_token()).expect("hashing a random password"));

/// Whether `password` matches `phc`; `None` for an unknown user still spends
/// the time of one verification.
pub fn verify(phc: Option<&str>, password: &str) -> bool {
    let stored = phc.unwrap_or(&DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = verify_with_pooled_memory(&parsed, password).unwrap_or_else(|| argon2().verify_password(password.as_bytes(), &parsed).is_ok());
    matches && phc.is_some()
}

/// Working memory of finished verifications, reused: a fresh 19 MiB block per
/// hash, freed on whichever blocking-pool thread ran it, leaves the system
/// allocator holding one such block per thread arena (hundreds of MiB under a
/// burst of sign-ins). At most [`POOLED`] are kept.
static MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());
const POOLED: usize = 8;

/// Verifies with pooled working memory; `None` when the hash is not one we
/// can recompute this way (then the library's own verifier decides).
fn verify_with_pooled_memory(parsed: &PasswordHash<'_>, password: &str) -> Option<bool> {
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = Version::try_from(parsed.version?).ok()?;
    let params = Params::try_from(parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..params.block_count()])
        .ok();
    let mut pool = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < POOLED {
        pool.push(memory);
    }
    drop(pool);
    computed?;
    // `Output`'s equality is constant-time.
    Some(argon2::password_hash::Output::new(&out).ok()? == expected)
}

/// Compute the dummy hash ahead of the first sign-in, so the first unknown
/// email is not faster than later ones.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_argon2id() {
        let phc = super::hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(super::verify(Some(&phc), "correct horse battery staple"));
        assert!(!super::verify(Some(&phc), "Correct horse battery staple"));
        assert!(!super::verify(None, "anything"));
    }
}
