//! Password hashes: argon2id PHC strings, computed on dedicated threads, never on the async
//! workers.

use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use rekey_application::Failure;
use rekey_application::ports::PasswordHasher;
use rekey_domain::Password;

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

/// Work for the hashing threads.
type Job = Box<dyn FnOnce(&Argon2<'static>) + Send>;

/// Hashes passwords with argon2id on a few dedicated threads (one per CPU by default).
///
/// Each hash holds `memory_kib` of memory while it runs. A fixed set of threads bounds how many
/// run at once, and keeps the hashing off both the async workers and tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct Argon2Passwords {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Argon2Passwords {
    /// A hasher with `settings`, starting its threads.
    ///
    /// # Errors
    /// A message naming the parameter argon2 refused, or a thread that could not start.
    pub fn new(settings: Argon2Settings) -> Result<Self, String> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| format!("invalid argon2 parameters: {e}"))?;
        let threads = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let (queue, params) = (Arc::clone(&queue), params.clone());
            std::thread::Builder::new()
                .name(format!("rekey-argon2-{i}"))
                .spawn(move || {
                    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&hasher),
                            Err(_) => return, // every sender is gone
                        }
                    }
                })
                .map_err(|e| format!("starting argon2 threads: {e}"))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on a hashing thread and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |hasher| {
                let _ = answer.send(work(hasher));
            }))
            .map_err(|_| Failure::Unexpected("the password hasher stopped".into()))?;
        answered
            .await
            .map_err(|_| Failure::Unexpected("a password hashing thread failed".into()))?
    }
}

impl PasswordHasher for Argon2Passwords {
    async fn hash(&self, password: Password) -> Result<String, Failure> {
        self.run(move |hasher| {
            hasher
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| Failure::Unexpected(format!("argon2 failed: {e}")))
        })
        .await
    }

    async fn verify(&self, password: Password, hash: String) -> Result<bool, Failure> {
        // The parameters come from the PHC string, so hashes made under older settings verify.
        self.run(move |hasher| {
            match hasher.verify_password(password.expose().as_bytes(), hash.as_str()) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(e) => Err(Failure::Unexpected(format!("stored password hash: {e}"))),
            }
        })
        .await
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
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
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
