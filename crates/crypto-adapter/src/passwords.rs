//! Password hashes: argon2id PHC strings, computed on dedicated threads, never on the async
//! workers, reusing blocks of argon2 memory from hash to hash.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rekey_application::Failure;
use rekey_application::ports::PasswordHasher;
use rekey_domain::Password;

use crate::os_random;

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
    /// Hashes that may wait for a thread; one more is refused at once with
    /// `Failure::Unavailable` (the caller answers 503), so a burst cannot queue unbounded work.
    pub max_queued: usize,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
            max_concurrent: 0,
            max_queued: 32,
        }
    }
}

/// The hasher gives its argon2 memory back after this long without work.
const RELEASE_IDLE_MEMORY_AFTER: Duration = Duration::from_secs(5);

/// Work for the hashing threads.
type Job = Box<dyn FnOnce(&mut Hashing) + Send>;

/// Hashes passwords with argon2id on a few dedicated threads (one per CPU by default).
///
/// Each hash needs `memory_kib` of memory while it runs. A fixed set of threads bounds how many
/// run at once, and keeps the hashing off both the async workers and tokio's blocking pool.
/// The threads share the blocks they have filled, keep them from one hash to the next, and
/// free all of them once no job has come for a few seconds: argon2's own `hash_password`
/// allocates and frees the whole block per hash, and glibc's allocator kept those blocks
/// (measured: 390 MB resident after 20 hashes).
#[derive(Debug, Clone)]
pub struct Argon2Passwords {
    jobs: SyncSender<Job>,
    /// What the threads share, for the tests to look at.
    #[cfg(test)]
    shared: Arc<Shared>,
    /// The parameters new hashes get.
    params: Params,
}

/// What the hashing threads share.
struct Shared {
    queue: Mutex<Receiver<Job>>,
    /// Blocks of argon2 memory no job is using.
    spare: Mutex<Vec<Vec<Block>>>,
    /// How long the hasher may go without a job before the spare blocks are freed.
    release_after: Duration,
}

impl Shared {
    /// A spare block, or an empty one (the hash allocates it).
    fn take_memory(&self) -> Vec<Block> {
        self.spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default()
    }

    /// Keeps `memory` for the next job.
    fn keep_memory(&self, memory: Vec<Block>) {
        if memory.capacity() > 0
            && let Ok(mut spare) = self.spare.lock()
        {
            spare.push(memory);
        }
    }

    /// Frees every spare block.
    fn free_memory(&self) {
        let freed = self
            .spare
            .lock()
            .map(|mut spare| std::mem::take(&mut *spare));
        drop(freed);
    }

    #[cfg(test)]
    fn spare_blocks(&self) -> usize {
        self.spare.lock().map_or(0, |spare| spare.len())
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("release_after", &self.release_after)
            .finish_non_exhaustive()
    }
}

impl Argon2Passwords {
    /// A hasher with `settings`, starting its threads.
    ///
    /// # Errors
    /// A message naming the parameter argon2 refused, or a thread that could not start.
    pub fn new(settings: Argon2Settings) -> Result<Self, String> {
        Self::start(settings, RELEASE_IDLE_MEMORY_AFTER)
    }

    /// A hasher that frees its spare memory after `release_after` without a job.
    fn start(settings: Argon2Settings, release_after: Duration) -> Result<Self, String> {
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
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(settings.max_queued);
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            spare: Mutex::new(Vec::new()),
            release_after,
        });
        for i in 0..threads {
            let (shared, params) = (Arc::clone(&shared), params.clone());
            std::thread::Builder::new()
                .name(format!("rekey-argon2-{i}"))
                .spawn(move || serve(&shared, Hashing::new(params)))
                .map_err(|e| format!("starting argon2 threads: {e}"))?;
        }
        Ok(Self {
            jobs,
            #[cfg(test)]
            shared,
            params,
        })
    }

    /// Runs `work` on a hashing thread and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Hashing) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        self.submit(work)?
            .await
            .map_err(|_| Failure::Unexpected("a password hashing thread failed".into()))?
    }

    /// Queues `work` and hands back the receiver of its answer. When the receiver is dropped
    /// before a thread takes the job (the request was cancelled: its client went away), the
    /// job is skipped and costs no hash.
    ///
    /// # Errors
    /// `Failure::Unavailable` when `max_queued` jobs already wait.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Hashing) -> Result<T, Failure> + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, Failure>>, Failure> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hashing| {
            if answer.is_closed() {
                tracing::debug!("password hashing skipped: its caller is gone");
                return;
            }
            let _ = answer.send(work(hashing));
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answered),
            Err(TrySendError::Full(_)) => Err(Failure::Unavailable(
                "the password hashing queue is full".into(),
            )),
            Err(TrySendError::Disconnected(_)) => {
                Err(Failure::Unexpected("the password hasher stopped".into()))
            }
        }
    }
}

/// A hashing thread: takes jobs until every sender is gone.
///
/// One thread at a time holds the queue and waits for the next job; the others wait for the
/// queue. So the holder's timeout means the whole hasher has had no job for `release_after`,
/// and it frees every spare block, not only the one it used. (When each thread freed only its
/// own block, the threads waiting for the queue never timed out, and kept theirs.)
fn serve(shared: &Shared, mut hashing: Hashing) {
    loop {
        let job = match shared.queue.lock() {
            Ok(queue) => queue.recv_timeout(shared.release_after),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                hashing.memory = shared.take_memory();
                job(&mut hashing);
                shared.keep_memory(std::mem::take(&mut hashing.memory));
            }
            Err(RecvTimeoutError::Timeout) => shared.free_memory(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// One hashing thread's argon2id instance and the memory of the job it runs.
struct Hashing {
    hasher: Argon2<'static>,
    params: Params,
    memory: Vec<Block>,
}

impl Hashing {
    fn new(params: Params) -> Self {
        Self {
            hasher: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            params,
            memory: Vec::new(),
        }
    }

    /// Frees the memory instead of keeping it for the next job.
    fn release(&mut self) {
        self.memory = Vec::new();
    }

    /// A PHC string for `password` with a fresh 16-byte salt.
    fn hash(&mut self, password: &[u8]) -> Result<String, Failure> {
        let failed = |e: &dyn std::fmt::Display| Failure::Unexpected(format!("argon2 failed: {e}"));
        let mut salt = [0_u8; Salt::RECOMMENDED_LENGTH];
        os_random(&mut salt)?;
        let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
        let memory = at_least(&mut self.memory, self.params.block_count());
        self.hasher
            .hash_password_into_with_memory(password, &salt, &mut out, memory)
            .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `stored`, under the parameters the string
    /// names (so hashes made under older settings verify).
    fn verify(&mut self, password: &[u8], stored: &str) -> Result<bool, Failure> {
        let unusable =
            |e: &dyn std::fmt::Display| Failure::Unexpected(format!("stored password hash: {e}"));
        let phc = PasswordHash::new(stored).map_err(|e| unusable(&e))?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Err(unusable(&"no salt or no hash"));
        };
        let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(|e| unusable(&e))?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| unusable(&e))?
            .unwrap_or_default();
        let params = Params::try_from(&phc).map_err(|e| unusable(&e))?;
        let blocks = params.block_count();
        let hasher = Argon2::new(algorithm, version, params);
        let mut out = vec![0_u8; expected.len()];
        hasher
            .hash_password_into_with_memory(
                password,
                salt.as_ref(),
                &mut out,
                at_least(&mut self.memory, blocks),
            )
            .map_err(|e| unusable(&e))?;
        // A hash made with more memory than this hasher's own (an import) does not leave its
        // larger block behind with the spare ones.
        if blocks > self.params.block_count() {
            self.release();
        }
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out).map_err(|e| unusable(&e))? == *expected)
    }
}

/// Memory for a hash is reserved at no less than this many blocks (34 MiB).
///
/// glibc serves allocations of up to 32 MiB from its arenas once a freed block has raised its
/// mmap threshold, and its arenas did not give a freed 19 MiB block back (measured: 64 MB
/// resident after an idle release, 84 MB after the next). A larger reservation is always its
/// own mapping, returned to the system when freed. Only the blocks a hash touches become
/// resident; the rest of the reservation stays virtual.
const MIN_RESERVATION_BLOCKS: usize = 34 * 1024;

/// At least `blocks` blocks of `memory`, allocated on first use and kept.
fn at_least(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        // Free the old block before allocating the larger one.
        *memory = Vec::new();
        memory.reserve_exact(blocks.max(MIN_RESERVATION_BLOCKS));
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

impl PasswordHasher for Argon2Passwords {
    async fn hash(&self, password: Password) -> Result<String, Failure> {
        self.run(move |hashing| hashing.hash(password.expose().as_bytes()))
            .await
    }

    /// An argon2 PHC string is checked with the thread's reused memory; any other hash (an
    /// import, see [`crate::imported`]) by its own algorithm, on the same bounded threads.
    async fn verify(&self, password: Password, hash: String) -> Result<bool, Failure> {
        self.run(move |hashing| {
            if hash.starts_with("$argon2") {
                hashing.verify(password.expose().as_bytes(), &hash)
            } else {
                crate::imported::verify(password.expose().as_bytes(), &hash)
                    .map_err(|e| Failure::Unexpected(format!("stored password hash: {e}")))
            }
        })
        .await
    }

    fn check_imported(&self, hash: &str) -> Result<(), String> {
        crate::imported::recognise(hash).map(drop)
    }

    fn is_current(&self, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|phc| {
            phc.algorithm == Algorithm::Argon2id.ident()
                && phc.version == Some(Version::V0x13.into())
                && Params::try_from(&phc).is_ok_and(|params| {
                    (params.m_cost(), params.t_cost(), params.p_cost())
                        == (
                            self.params.m_cost(),
                            self.params.t_cost(),
                            self.params.p_cost(),
                        )
                })
        })
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn imported_hashes_verify_and_only_its_own_are_current() {
        let settings = Argon2Settings {
            memory_kib: 1024,
            max_concurrent: 1,
            ..Argon2Settings::default()
        };
        let hasher = Argon2Passwords::new(settings).expect("params");
        let own = hasher.hash(Password::new("Secr3t")).await.expect("hashed");
        assert!(hasher.is_current(&own));
        let other = Argon2Passwords::new(Argon2Settings {
            memory_kib: 2048,
            ..settings
        })
        .expect("params");
        assert!(!other.is_current(&own), "older parameters are not current");
        // passlib's bcrypt of "Imp0rted-Passw0rd!" (cost 4).
        let bcrypt = "$2b$04$PbButVTm32Jf8yPfRA6PV.0XVJa1ezbDq7FVAGmbJD0h7r9zLcRUq";
        assert!(!hasher.is_current(bcrypt));
        assert_eq!(hasher.check_imported(bcrypt), Ok(()));
        assert!(hasher.check_imported("$9$nothing").is_err());
        assert!(
            hasher
                .verify(Password::new("Imp0rted-Passw0rd!"), bcrypt.into())
                .await
                .expect("checked")
        );
        assert!(
            !hasher
                .verify(Password::new("wrong"), bcrypt.into())
                .await
                .expect("checked")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reused_memory_gives_the_same_hashes_as_fresh_memory() {
        use argon2::PasswordHasher as _;
        // One thread, so every hash after the first runs on memory the previous one filled.
        let settings = Argon2Settings {
            memory_kib: 1024,
            max_concurrent: 1,
            ..Argon2Settings::default()
        };
        let hasher = Argon2Passwords::new(settings).expect("params");
        let fresh = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 2, 1, None).expect("params"),
        );
        for password in ["first Passw0rd!", "second Passw0rd!", "first Passw0rd!"] {
            let hash = hasher.hash(Password::new(password)).await.expect("hashed");
            assert!(hash.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"), "{hash}");
            let parsed = PasswordHash::new(&hash).expect("phc");
            let salt = parsed.salt.expect("salt");
            let again = fresh
                .hash_password_with_salt(password.as_bytes(), salt.as_ref())
                .expect("hashed");
            assert_eq!(again.to_string(), hash);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verify_uses_the_stored_parameters() {
        use argon2::PasswordHasher as _;
        let hasher = Argon2Passwords::new(Argon2Settings {
            memory_kib: 1024,
            max_concurrent: 1,
            ..Argon2Settings::default()
        })
        .expect("params");
        // Made elsewhere: more memory than the hasher's own (its memory grows), then less,
        // and another variant and version.
        for (algorithm, version, m) in [
            (Algorithm::Argon2id, Version::V0x13, 4096),
            (Algorithm::Argon2id, Version::V0x13, 512),
            (Algorithm::Argon2i, Version::V0x10, 1024),
        ] {
            let other = Argon2::new(
                algorithm,
                version,
                Params::new(m, 1, 2, None).expect("params"),
            );
            let stored = other
                .hash_password_with_salt(b"Secr3tP4ssw0rd!", b"0123456789abcdef")
                .expect("hashed")
                .to_string();
            let verify = |pw: &'static str| hasher.verify(Password::new(pw), stored.clone());
            assert!(
                verify("Secr3tP4ssw0rd!").await.expect("verified"),
                "{stored}"
            );
            assert!(
                !verify("Secr3tP4ssw0rd?").await.expect("verified"),
                "{stored}"
            );
        }
        let garbage = hasher
            .verify(Password::new("x"), "$argon2id$v=19$nonsense".into())
            .await;
        assert!(
            matches!(garbage, Err(Failure::Unexpected(_))),
            "{garbage:?}"
        );
    }

    /// One thread, held by a job that runs until the returned sender is dropped or sent to;
    /// returns once the thread has taken it.
    fn occupy(hasher: &Argon2Passwords) -> std::sync::mpsc::Sender<()> {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let _held = hasher
            .submit(move |_| {
                let _ = started.send(());
                let _ = released.recv();
                Ok(())
            })
            .expect("queued");
        running.recv().expect("the thread took the job");
        release
    }

    fn small(max_queued: usize) -> Argon2Passwords {
        Argon2Passwords::new(Argon2Settings {
            memory_kib: 1024,
            max_concurrent: 1,
            max_queued,
            ..Argon2Settings::default()
        })
        .expect("params")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once() {
        let hasher = small(2);
        let release = occupy(&hasher);
        let waiting: Vec<_> = (0..2)
            .map(|_| hasher.submit(|_| Ok(7)).expect("room in the queue"))
            .collect();
        let refused = hasher.submit(|_| Ok(7));
        assert!(
            matches!(refused, Err(Failure::Unavailable(_))),
            "{refused:?}"
        );
        drop(release);
        for answer in waiting {
            assert_eq!(answer.await.expect("answered").expect("ran"), 7);
        }
        // With the queue drained there is room again.
        assert!(hasher.hash(Password::new("Secr3tP4ssw0rd!")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_whose_caller_is_gone_are_not_run() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = small(8);
        let release = occupy(&hasher);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            let answer = hasher
                .submit(move |_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .expect("queued");
            drop(answer); // the request was cancelled
        }
        let kept = {
            let ran = Arc::clone(&ran);
            hasher
                .submit(move |_| Ok(ran.fetch_add(1, Ordering::SeqCst)))
                .expect("queued")
        };
        drop(release);
        assert_eq!(kept.await.expect("answered").expect("ran"), 0, "ran first");
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "only the job still awaited ran"
        );
    }

    /// Waits up to `limit` for the hasher to hold `blocks` spare blocks; false if it never did.
    async fn spare_blocks_become(hasher: &Argon2Passwords, blocks: usize, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while hasher.shared.spare_blocks() != blocks {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_thread_frees_its_memory_once_the_hasher_is_idle() {
        const THREADS: usize = 4;
        let idle = Duration::from_millis(400);
        let hasher = Argon2Passwords::start(
            Argon2Settings {
                memory_kib: 1024,
                max_concurrent: THREADS,
                ..Argon2Settings::default()
            },
            idle,
        )
        .expect("params");
        // Every thread hashes, then waits until released: all the blocks are in use at once.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let (started, running) = std::sync::mpsc::channel::<()>();
        let answers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (released, started) = (Arc::clone(&released), started.clone());
                hasher
                    .submit(move |hashing| {
                        hashing.hash(b"Secr3tP4ssw0rd!")?;
                        let _ = started.send(());
                        let _ = released.lock().map(|released| released.recv());
                        Ok(())
                    })
                    .expect("queued")
            })
            .collect();
        for _ in 0..THREADS {
            running.recv().expect("a thread hashed");
        }
        drop(release);
        for answer in answers {
            answer.await.expect("answered").expect("ran");
        }
        assert!(
            spare_blocks_become(&hasher, THREADS, Duration::from_secs(5)).await,
            "every block is kept for the next jobs"
        );
        // The next hash takes one of them instead of allocating its own.
        let shared = Arc::clone(&hasher.shared);
        let spare_while_hashing = hasher
            .submit(move |hashing| {
                hashing.hash(b"Secr3tP4ssw0rd!")?;
                Ok(shared.spare_blocks())
            })
            .expect("queued")
            .await
            .expect("answered")
            .expect("hashed");
        assert_eq!(spare_while_hashing, THREADS - 1);
        assert!(spare_blocks_become(&hasher, THREADS, Duration::from_secs(5)).await);
        // Idle: every block goes after about one idle period, not one thread's block per
        // period (what happened when each thread freed only its own).
        let limit = idle * 5 / 2;
        assert!(
            spare_blocks_become(&hasher, 0, limit).await,
            "{} blocks kept after {limit:?} idle",
            hasher.shared.spare_blocks(),
        );
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
