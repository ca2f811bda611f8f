//! Password hashes: argon2id PHC strings, computed on tokio's blocking pool behind a semaphore,
//! never on the async workers.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use rekey_application::Failure;
use rekey_application::ports::PasswordHasher;
use rekey_domain::Password;
use tokio::sync::Semaphore;

/// Argon2id cost parameters. Default: OWASP's m = 19 456 KiB, t = 2, p = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes computed at once (each holds `memory_kib`); 0 = number of CPUs.
    pub max_concurrent: usize,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
            max_concurrent: 0,
        }
    }
}

/// Hashes passwords with argon2id.
#[derive(Debug, Clone)]
pub struct Argon2Passwords {
    params: Params,
    permits: Arc<Semaphore>,
}

impl Argon2Passwords {
    /// A hasher with `settings`.
    ///
    /// # Errors
    /// A message naming the parameter argon2 refused.
    pub fn new(settings: Argon2Settings) -> Result<Self, String> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| format!("invalid argon2 parameters: {e}"))?;
        let permits = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits)),
        })
    }

    fn hasher(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Passwords {
    async fn hash(&self, password: Password) -> Result<String, Failure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Failure::Unexpected("password hasher closed".into()))?;
        let hasher = self.hasher();
        tokio::task::spawn_blocking(move || {
            hasher
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| Failure::Unexpected(format!("argon2 failed: {e}")))
        })
        .await
        .map_err(|e| Failure::Unexpected(format!("argon2 task failed: {e}")))?
    }

    async fn verify(&self, password: Password, hash: String) -> Result<bool, Failure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Failure::Unexpected("password hasher closed".into()))?;
        // The parameters come from the PHC string, so hashes made under older settings verify.
        let hasher = self.hasher();
        tokio::task::spawn_blocking(move || {
            match hasher.verify_password(password.expose().as_bytes(), hash.as_str()) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(e) => Err(Failure::Unexpected(format!("stored password hash: {e}"))),
            }
        })
        .await
        .map_err(|e| Failure::Unexpected(format!("argon2 task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier as _;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_are_argon2id_phc_and_verify() {
        let hasher = Argon2Passwords::new(Argon2Settings::default()).expect("params");
        let hash = hasher
            .hash(Password::new("Secr3tP4ssw0rd!"))
            .await
            .expect("hashed");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("Secr3t"));
        let argon = hasher.hasher();
        assert!(
            argon
                .verify_password(b"Secr3tP4ssw0rd!", hash.as_str())
                .is_ok()
        );
        assert!(argon.verify_password(b"wrong", hash.as_str()).is_err());
        let again = hasher
            .hash(Password::new("Secr3tP4ssw0rd!"))
            .await
            .expect("hashed");
        assert_ne!(hash, again, "salted");
    }

    #[test]
    fn bad_parameters_are_refused() {
        let settings = Argon2Settings {
            memory_kib: 1,
            ..Argon2Settings::default()
        };
        assert!(Argon2Passwords::new(settings).is_err());
    }
}
