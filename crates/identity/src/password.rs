use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use palisade_core::SecretString;
use tokio::sync::Semaphore;

use crate::IdentityError;

/// OWASP's argon2id minimum: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long passphrases are welcome; the cap only bounds hashing work per request.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Length rules only: no composition rules, no truncation.
pub fn validate_new_password(password: &str) -> Result<(), IdentityError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(IdentityError::WeakPassword("use at least 12 characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(IdentityError::WeakPassword("use at most 1024 bytes"));
    }
    Ok(())
}

/// Runs argon2 on the blocking pool with at most `permits` hashes at once, so a flood
/// of sign-ins queues here instead of starving every other request of CPU.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    params: Params,
    /// A real hash of a random password, verified against when the account does not
    /// exist so that unknown and known accounts cost the same time.
    decoy: Arc<String>,
}

impl PasswordHasherPool {
    pub fn new(concurrency: usize) -> Result<Self, IdentityError> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(|_| IdentityError::Hashing)?;
        let decoy = hash_blocking(&params, "decoy password that never matches anything")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
            decoy: Arc::new(decoy),
        })
    }

    pub async fn hash(&self, password: &SecretString) -> Result<SecretString, IdentityError> {
        let _permit = self.permits.acquire().await.map_err(|_| IdentityError::Hashing)?;
        let params = self.params.clone();
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || hash_blocking(&params, password.expose()))
            .await
            .map_err(|_| IdentityError::Hashing)??;
        Ok(SecretString::new(phc))
    }

    /// Verifies against `stored`, or against the decoy when there is no stored hash;
    /// the decoy never matches.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&SecretString>,
    ) -> Result<bool, IdentityError> {
        let _permit = self.permits.acquire().await.map_err(|_| IdentityError::Hashing)?;
        let (phc, real) = match stored {
            Some(s) => (s.expose().to_owned(), true),
            None => (self.decoy.as_ref().clone(), false),
        };
        let password = password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return false;
            };
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .await
        .map_err(|_| IdentityError::Hashing)?;
        Ok(real && matched)
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, IdentityError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| IdentityError::Hashing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_uses_owasp_parameters() {
        let pool = PasswordHasherPool::new(1).unwrap();
        let pw = SecretString::new("correct horse battery staple".into());
        let hash = pool.hash(&pw).await.unwrap();
        assert!(
            hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.expose()
        );
        assert!(pool.verify(&pw, Some(&hash)).await.unwrap());
        let wrong = SecretString::new("correct horse battery stapler".into());
        assert!(!pool.verify(&wrong, Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn missing_hash_never_verifies() {
        let pool = PasswordHasherPool::new(1).unwrap();
        let pw = SecretString::new("decoy password that never matches anything".into());
        assert!(
            !pool.verify(&pw, None).await.unwrap(),
            "the decoy's own password must not sign in"
        );
    }

    #[test]
    fn length_rules_without_truncation() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password("twelve chars").is_ok());
        assert!(validate_new_password(&"x".repeat(1024)).is_ok());
        assert!(validate_new_password(&"x".repeat(1025)).is_err());
    }
}
