//! `fuzz`: generated and mutated input thrown at every reader of outside bytes (issue 14, point
//! 8), on stable Rust with a seeded generator instead of cargo-fuzz. Each case runs under
//! `catch_unwind`; a panic is recorded with the case's seed, shrunk to a small reproducer saved
//! to a file, and makes the command fail. `fuzz --replay FILE --target T` runs one saved input.
//!
//! - [`mutate`]: the mutations and generators.
//! - [`targets`]: the targets, their valid samples, and the round-trip checks.

pub mod mutate;
pub mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use targets::Corpus;
pub use targets::Target;

#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Cases per target.
    pub cases: u64,
    pub seed: u64,
    pub targets: Vec<Target>,
    /// Where reproducers are saved.
    pub out: PathBuf,
    pub progress: bool,
}

/// One panic found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The case's own seed: `fuzz --seed` of the run and the case number give it again.
    pub case: u64,
    pub case_seed: u64,
    pub message: String,
    /// The shrunk input, saved here.
    pub reproducer: PathBuf,
    pub input_bytes: usize,
    pub reproducer_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub target: Target,
    pub cases: u64,
    pub panics: u64,
    pub seconds: f64,
    /// The first few panics (each shrunk and saved).
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    pub seed: u64,
    pub targets: Vec<TargetReport>,
    pub total_cases: u64,
    pub total_panics: u64,
}

/// How many panics per target are shrunk and saved (the rest are counted).
const SAVED_PER_TARGET: usize = 5;

/// The message of the panic caught last, recorded by the quiet hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// While above 0 (a [`QuietPanics`] lives), panics are recorded in [`LAST_PANIC`] instead of
/// printed.
static QUIET: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Panics are quiet (recorded, not printed) for as long as this lives.
struct QuietPanics;

impl QuietPanics {
    fn install() -> QuietPanics {
        HOOK.call_once(|| {
            let old = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if QUIET.load(Ordering::SeqCst) == 0 {
                    return old(info);
                }
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                // An assertion's message may print whole values: the start and the place suffice.
                let msg: String =
                    if msg.chars().count() > 400 { msg.chars().take(400).chain("…".chars()).collect() } else { msg };
                *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{msg}{at}"));
            }));
        });
        QUIET.fetch_add(1, Ordering::SeqCst);
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs one input; the panic's message if it panicked.
fn try_case(t: Target, corpus: &Corpus, input: &[u8]) -> Option<String> {
    match catch_unwind(AssertUnwindSafe(|| targets::run(t, corpus, input))) {
        Ok(()) => None,
        Err(_) => Some(LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_else(|| "panic".into())),
    }
}

/// The seed of case `i` of target `t` in a run seeded `seed`.
fn case_seed(seed: u64, t: Target, i: u64) -> u64 {
    // SplitMix64 of the three, so neighbouring cases are unrelated.
    let mut z = seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The input of one case: a mutated sample mostly, sometimes generated from nothing, and for
/// the workbook target sometimes a workbook written with hostile cells.
fn input_of(t: Target, corpus: &Corpus, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let samples = corpus.samples(t);
    if t == Target::Xlsx && rng.gen_ratio(1, 4) {
        let book = targets::hostile_workbook(&mut rng);
        return if rng.gen_bool(0.5) { book } else { mutate::mutate(&mut rng, &book, &book) };
    }
    if samples.is_empty() || rng.gen_ratio(1, 20) {
        return mutate::generate(&mut rng);
    }
    let a = &samples[rng.gen_range(0..samples.len())];
    let b = &samples[rng.gen_range(0..samples.len())];
    mutate::mutate(&mut rng, a, b)
}

/// Shrinks a panicking input: removes chunks (halves, quarters, … single bytes) while it still
/// panics, within a budget of attempts and time.
fn shrink(t: Target, corpus: &Corpus, input: &[u8]) -> Vec<u8> {
    let mut best = input.to_vec();
    let started = Instant::now();
    let mut tries = 0u32;
    let mut chunk = best.len().div_ceil(2).max(1);
    while chunk >= 1 && tries < 4_000 && started.elapsed() < Duration::from_secs(20) {
        let mut at = 0;
        let mut shrunk = false;
        while at < best.len() && tries < 4_000 {
            let mut candidate = best[..at].to_vec();
            candidate.extend_from_slice(&best[(at + chunk).min(best.len())..]);
            tries += 1;
            if try_case(t, corpus, &candidate).is_some() {
                best = candidate;
                shrunk = true;
            } else {
                at += chunk;
            }
        }
        if !shrunk {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2).max(1);
            if chunk == 1 && best.len() > 4096 {
                break;
            }
        }
    }
    best
}

/// Runs the fuzzer.
pub fn run(opts: &FuzzOptions, progress: impl Fn(&str)) -> std::io::Result<FuzzReport> {
    let tmp = std::env::temp_dir().join(format!("baoxue-fuzz-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&tmp)?;
    let corpus = Corpus::new(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let _quiet = QuietPanics::install();
    let mut reports = Vec::new();
    for &t in &opts.targets {
        let started = Instant::now();
        let mut rep = TargetReport { target: t, cases: 0, panics: 0, seconds: 0.0, findings: vec![] };
        let mut last_note = Instant::now();
        for i in 0..opts.cases {
            let seed = case_seed(opts.seed, t, i);
            let input = input_of(t, &corpus, seed);
            rep.cases += 1;
            if let Some(message) = try_case(t, &corpus, &input) {
                rep.panics += 1;
                if rep.findings.len() < SAVED_PER_TARGET {
                    let small = shrink(t, &corpus, &input);
                    let path = save(&opts.out, t, seed, &small)?;
                    progress(&format!(
                        "{}：第 {i} 例（种子 {seed}）panic：{message}；复现输入 {}",
                        t.name(),
                        path.display()
                    ));
                    rep.findings.push(Finding {
                        case: i,
                        case_seed: seed,
                        message,
                        reproducer: path,
                        input_bytes: input.len(),
                        reproducer_bytes: small.len(),
                    });
                }
            }
            if opts.progress && last_note.elapsed() > Duration::from_secs(10) {
                progress(&format!("{}：{} / {} 例", t.name(), i + 1, opts.cases));
                last_note = Instant::now();
            }
        }
        rep.seconds = started.elapsed().as_secs_f64();
        reports.push(rep);
    }
    let total_cases = reports.iter().map(|r| r.cases).sum();
    let total_panics = reports.iter().map(|r| r.panics).sum();
    Ok(FuzzReport { seed: opts.seed, targets: reports, total_cases, total_panics })
}

fn save(dir: &Path, t: Target, seed: u64, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("fuzz-{}-{seed:016x}.bin", t.name()));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

/// Runs one saved input through a target: the panic's message, if it panics.
pub fn replay(t: Target, input: &[u8]) -> Option<String> {
    let tmp = std::env::temp_dir().join(format!("baoxue-fuzz-{}-{}", std::process::id(), rand::random::<u32>()));
    let _ = std::fs::create_dir_all(&tmp);
    let corpus = Corpus::new(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let _quiet = QuietPanics::install();
    try_case(t, &corpus, input)
}

/// The Chinese summary.
pub fn describe(r: &FuzzReport) -> String {
    let mut s = format!("模糊测试（种子 {}）：\n", r.seed);
    for t in &r.targets {
        s.push_str(&format!(
            "  {:<7} {:>9} 例  panic {:>3}  {:.1} 秒\n",
            t.target.name(),
            t.cases,
            t.panics,
            t.seconds
        ));
        for f in &t.findings {
            s.push_str(&format!(
                "    第 {} 例（种子 {}）：{}；复现输入 {}（{} 字节）\n",
                f.case,
                f.case_seed,
                f.message,
                f.reproducer.display(),
                f.reproducer_bytes
            ));
        }
    }
    s.push_str(&format!("  合计 {} 例，panic {}", r.total_cases, r.total_panics));
    s
}
