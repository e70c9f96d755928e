use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use palisade_core::SecretString;

use crate::IdentityError;

/// OWASP's argon2id minimum: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long passphrases are welcome; the cap only bounds hashing work per request.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Every password of 12+ characters from the SecLists common-password list (see
/// `data/README.md`), compared case-insensitively.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords-12plus.txt");

fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::to_lowercase).collect())
}

/// Checks a new password as typed (never truncated): length, the common-password list,
/// and zxcvbn's guessability estimate with the account's own details as context. No
/// composition rules: a long passphrase passes, `Password123!` does not.
pub fn validate_new_password(password: &str, user_inputs: &[&str]) -> Result<(), IdentityError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(IdentityError::WeakPassword("refusal-password-short"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(IdentityError::WeakPassword("refusal-password-long"));
    }
    if common_passwords().contains(&password.to_lowercase()) {
        return Err(IdentityError::WeakPassword("refusal-password-common"));
    }
    // zxcvbn matches each context string as a whole word, so split names and addresses
    // into their parts ("Grace Hopper" → "grace", "hopper").
    let words: Vec<String> = user_inputs
        .iter()
        .flat_map(|s| s.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    if only_personal_words_and_digits(password, &words) {
        return Err(IdentityError::WeakPassword("refusal-password-personal"));
    }
    let context: Vec<&str> = words.iter().map(String::as_str).collect();
    if zxcvbn::zxcvbn(password, &context).score() < zxcvbn::Score::Three {
        return Err(IdentityError::WeakPassword("refusal-password-guessable"));
    }
    Ok(())
}

/// True for passwords like `gracehopper1906`: the account's own words plus digits.
/// (zxcvbn's estimate rates such passwords well when the suffix looks random.)
fn only_personal_words_and_digits(password: &str, words: &[String]) -> bool {
    let mut rest: String = password
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let before = rest.len();
    let mut by_length: Vec<&String> = words.iter().filter(|w| w.len() >= 3).collect();
    by_length.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for w in by_length {
        rest = rest.replace(w.as_str(), "");
    }
    rest.len() < before && rest.chars().all(|c| c.is_ascii_digit())
}

/// Whether a stored hash was made with weaker or different parameters than today's, so
/// it should be replaced at the next successful sign-in.
pub fn needs_rehash(phc: &str) -> bool {
    !phc.starts_with(&format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={LANES}$"
    ))
}

/// Runs argon2 on `concurrency` threads of its own, at a lower scheduling priority
/// than everything else in the process ([`HASHING_NICENESS`]): a flood of sign-ins
/// queues here and gets the CPU the desk leaves, instead of taking it from agents'
/// requests (`bench/flood.sh`). Each hash still costs what the parameters say; it only
/// waits longer while the machine is busy.
#[derive(Clone)]
pub struct PasswordHasherPool {
    jobs: Arc<mpsc::Sender<Job>>,
    params: Params,
    /// A real hash of a random password, verified against when the account does not
    /// exist so that unknown and known accounts cost the same time.
    decoy: Arc<String>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads (Linux: per thread; 0 is the default, 19 the
/// lowest). At 10 a busy request thread gets about nine times the CPU of a hashing one.
/// 19 was tried (`bench/flood.sh`, bench/RESULTS.md): no clear gain under the flood,
/// and on a machine kept fully busy one hash took over a second, so sign-ins starved.
pub const HASHING_NICENESS: i32 = 10;

impl PasswordHasherPool {
    pub fn new(concurrency: usize) -> Result<Self, IdentityError> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(|_| IdentityError::Hashing)?;
        let decoy = hash_blocking(&params, "decoy password that never matches anything")?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(|_| IdentityError::Hashing)?;
        }
        Ok(Self {
            jobs: Arc::new(jobs),
            params,
            decoy: Arc::new(decoy),
        })
    }

    /// Runs `work` on a hashing thread; the threads end when the last pool clone goes.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, IdentityError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // The caller may have gone (its request ended); nothing waits then.
                let _ = done.send(work());
            }))
            .map_err(|_| IdentityError::Hashing)?;
        result.await.map_err(|_| IdentityError::Hashing)
    }

    pub async fn hash(&self, password: &SecretString) -> Result<SecretString, IdentityError> {
        let params = self.params.clone();
        let password = password.clone();
        let phc = self
            .run(move || hash_blocking(&params, password.expose()))
            .await??;
        Ok(SecretString::new(phc))
    }

    /// Verifies against `stored`, or against the decoy when there is no stored hash;
    /// the decoy never matches.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&SecretString>,
    ) -> Result<bool, IdentityError> {
        let (phc, real) = match stored {
            Some(s) => (s.expose().to_owned(), true),
            None => (self.decoy.as_ref().clone(), false),
        };
        let password = password.clone();
        let matched = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return false;
                };
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .await?;
        Ok(real && matched)
    }
}

fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else {
            return;
        };
        // A panicking job fails its own caller (its answer channel drops), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Lowers the calling thread's priority to [`HASHING_NICENESS`], never raising it.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let me = Some(rustix::thread::gettid());
        let now = rustix::process::getpriority_process(me).unwrap_or(0);
        if now < HASHING_NICENESS
            && let Err(e) = rustix::process::setpriority_process(me, HASHING_NICENESS)
        {
            tracing::warn!(error = %e, "could not lower the priority of a password-hashing thread");
        }
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

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_below_the_priority_of_everything_else() {
        let pool = PasswordHasherPool::new(1).unwrap();
        let niceness = pool
            .run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap())
            .await
            .unwrap();
        assert!(niceness >= HASHING_NICENESS, "{niceness}");
        let here = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert!(here < niceness, "the caller's thread keeps its own priority");
    }

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
        assert!(validate_new_password("short", &[]).is_err());
        let long = "correct horse battery staple ".repeat(40);
        assert!(long.len() > 1000 && validate_new_password(&long[..1020], &[]).is_ok());
        assert!(
            validate_new_password(&"harp ".repeat(205), &[]).is_err(),
            "over 1024 bytes"
        );
    }

    #[test]
    fn common_and_guessable_passwords_are_refused() {
        for weak in [
            "qwertyuiopasdfgh",
            "1q2w3e4r5t6y",
            "QWERTYQWERTY",
            "password1234",
            "aaaaaaaaaaaaaaaa",
        ] {
            assert!(validate_new_password(weak, &[]).is_err(), "{weak} accepted");
        }
        assert!(validate_new_password("adalovelace1815", &["Ada Lovelace", "ada@example.com"]).is_err());
    }

    #[test]
    fn passphrases_pass_without_composition_rules() {
        for good in [
            "velvet tractor lagoon origami",
            "correct horse battery staple",
            "Sardine-Opera-Gravel-91",
        ] {
            assert!(validate_new_password(good, &[]).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn old_parameters_are_upgraded() {
        assert!(needs_rehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA"));
        assert!(needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        assert!(!needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    }
}
