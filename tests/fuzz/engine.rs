//! A small coverage-free mutation fuzzer that runs on the stable toolchain (cargo-fuzz and
//! libFuzzer need nightly): start from a seed corpus, stack byte- and token-level
//! mutations chosen by a seeded RNG, run the target, and call a panic, an input that runs
//! past its time budget, or an allocation past its memory budget a crash.
//!
//! Without coverage the only feedback is the target's outcome: an input whose outcome
//! (the error message with its numbers blanked) was never seen before joins the pool, so
//! the fuzzer walks from one error path to the next instead of circling the seeds.
//!
//! Every saved crash under `tests/fuzz/regressions/<target>/` and every seed runs first,
//! every time, so a fixed crash stays fixed.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// One fuzz target: what it reads and how to run it.
pub struct Target {
    /// Names `tests/fuzz/corpus/<name>/` and `tests/fuzz/regressions/<name>/`.
    pub name: &'static str,
    /// Words of the format that token-level mutations insert (keywords, punctuation).
    pub dict: &'static [&'static str],
    /// Inputs are cut to this many bytes.
    pub max_len: usize,
    /// Runs the code under test and describes the outcome (the error, or what was read).
    pub run: fn(&[u8]) -> String,
}

/// What went wrong with one input.
#[derive(Debug)]
struct Crash {
    kind: String,
    input: Vec<u8>,
}

// ---- budgets: time and memory per execution ----

/// Seconds each target fuzzes for (`FLOWCFD_FUZZ_SECS`, default 30).
fn budget_secs() -> u64 {
    std::env::var("FLOWCFD_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30)
}

/// An execution slower than this is a crash (a loop that does not end, or a quadratic
/// path). Generous: CI runs the debug build on two shared cores.
const SLOW: Duration = Duration::from_secs(5);
/// An execution still running after this long is taken for an infinite loop: the
/// watchdog saves the input and aborts the process, since a thread cannot be stopped.
const HANG: Duration = Duration::from_secs(60);
/// Peak heap growth allowed while one input runs. The inputs are at most tens of KB, so
/// more than this means a declared count was trusted before the data was read.
const MAX_PEAK: usize = 256 << 20;
/// A single allocation above this is not served: the allocator saves the input and the
/// process aborts (`handle_alloc_error`), since an allocator must not unwind.
const MAX_ONE: usize = 1 << 30;

thread_local! {
    /// Whether this thread is running a fuzz input (other tests' threads are not limited).
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The running input and where to save it if the allocator must abort.
    static CURRENT: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
    static DUMP_PATH: Cell<*const libc::c_char> = const { Cell::new(std::ptr::null()) };
    /// Whether panics on this thread are expected (caught and reported by the fuzzer).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The test binary's allocator: the system one, counting the armed thread's live bytes.
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ARMED.try_with(|a| a.get()).unwrap_or(false) {
            if l.size() > MAX_ONE {
                refuse(l.size());
                return std::ptr::null_mut();
            }
            grow(l.size() as isize);
        }
        System.alloc(l)
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if ARMED.try_with(|a| a.get()).unwrap_or(false) {
            grow(-(l.size() as isize));
        }
        System.dealloc(p, l)
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if ARMED.try_with(|a| a.get()).unwrap_or(false) {
            if new > MAX_ONE {
                refuse(new);
                return std::ptr::null_mut();
            }
            grow(new as isize - l.size() as isize);
        }
        System.realloc(p, l, new)
    }
}

fn grow(d: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + d;
        live.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

/// Saves the running input with raw system calls (no allocation is possible here) and
/// says where it is, before the process aborts on the failed allocation.
fn refuse(size: usize) {
    let (ptr, len) = CURRENT.try_with(|c| c.get()).unwrap_or((std::ptr::null(), 0));
    let path = DUMP_PATH.try_with(|c| c.get()).unwrap_or(std::ptr::null());
    let msg = b"\nfuzz: an input asked for one allocation over 1 GiB; it is saved in the crash directory as alloc-abort.bin\n";
    // SAFETY: plain POSIX calls on a NUL-terminated path and a live input slice.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        if !path.is_null() && !ptr.is_null() {
            let fd = libc::open(path, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC, 0o644);
            if fd >= 0 {
                libc::write(fd, ptr.cast(), len);
                libc::close(fd);
            }
        }
    }
    let _ = size;
}

/// Panics on fuzz threads are caught and reported once per crash; print nothing for them.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| q.get()) {
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("panic at {at}: {msg}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs one input under the time and memory budgets.
fn exec(t: &Target, input: &[u8], watch: &Watch) -> Result<String, String> {
    *watch.0.lock().unwrap() = Some((Instant::now(), input.to_vec()));
    CURRENT.with(|c| c.set((input.as_ptr(), input.len())));
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    let start = Instant::now();
    ARMED.with(|a| a.set(true));
    let r = catch_unwind(AssertUnwindSafe(|| (t.run)(input)));
    ARMED.with(|a| a.set(false));
    let took = start.elapsed();
    *watch.0.lock().unwrap() = None;
    let peak = PEAK.with(|p| p.get()).max(0) as usize;
    match r {
        Err(_) => Err(LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".into())),
        Ok(_) if took > SLOW => Err(format!("slow: {took:?} for {} bytes", input.len())),
        Ok(_) if peak > MAX_PEAK => Err(format!("excessive allocation: {} MiB live at the peak", peak >> 20)),
        Ok(out) => Ok(out),
    }
}

/// The input running now, watched by a thread that aborts on a hang.
struct Watch(Arc<Mutex<Running>>);

/// When the running input started, and the input.
type Running = Option<(Instant, Vec<u8>)>;

impl Watch {
    fn start(dump: PathBuf) -> Watch {
        let cell: Arc<Mutex<Running>> = Arc::default();
        let weak = Arc::downgrade(&cell);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let Some(cell) = weak.upgrade() else { return };
            let hung = cell.lock().unwrap().as_ref().filter(|(at, _)| at.elapsed() > HANG).map(|(_, i)| i.clone());
            if let Some(input) = hung {
                let path = dump.join("hang.bin");
                let _ = std::fs::write(&path, &input);
                eprintln!("fuzz: an input ran for more than {HANG:?}; saved as {}", path.display());
                std::process::abort();
            }
        });
        Watch(cell)
    }
}

// ---- mutations ----

/// xorshift64*: seeded, reproducible, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Numbers that break parsers: zero, signs, type edges, huge counts, float specials.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "255",
    "256",
    "65535",
    "2147483647",
    "2147483648",
    "-2147483648",
    "4294967295",
    "4294967296",
    "1000000000000",
    "9223372036854775807",
    "18446744073709551615",
    "99999999999999999999999",
    "1e308",
    "1e309",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "-0",
    "1e-320",
    "0.5",
    "1e",
    ".",
    "-",
];
const BYTES: &[u8] = b"\0\x01\x7f\x80\xff()[]{};\"/*<>\n\r\t =#,";
const WORDS: &[u64] = &[0, 1, 2, 0x7f, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32, u64::MAX, i64::MAX as u64];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&str]) {
    let ops = 1 + rng.below(3) + if rng.chance(8) { rng.below(8) } else { 0 };
    for _ in 0..ops {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(13) {
            0 if len > 0 => input[at.min(len - 1)] ^= 1 << rng.below(8),
            1 if len > 0 => input[at.min(len - 1)] = rng.next() as u8,
            2 if len > 0 => input[at.min(len - 1)] = BYTES[rng.below(BYTES.len())],
            3 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let span = if rng.chance(4) { 256 } else { 16 };
                let end = (at + 1 + rng.below(span)).min(len);
                input.drain(at.min(len - 1)..end);
            }
            5 if len > 0 => {
                // Duplicate a chunk somewhere else (repeated records, nested blocks).
                let from = rng.below(len);
                let n = (1 + rng.below(64)).min(len - from);
                let chunk = input[from..from + n].to_vec();
                input.splice(at..at, chunk);
            }
            6 if !pool.is_empty() => {
                // Splice: our head, another input's tail.
                let other = &pool[rng.below(pool.len())];
                let from = rng.below(other.len() + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            7 | 8 => replace_number(rng, input),
            9 if !dict.is_empty() => {
                let w = format!(" {} ", dict[rng.below(dict.len())]);
                let at = token_boundary(input, at);
                input.splice(at..at, w.bytes());
            }
            10 => replace_token(rng, input, dict),
            11 if len >= 4 => {
                // A binary integer: counts in binary STL headers and binary list bodies.
                let w = WORDS[rng.below(WORDS.len())];
                let wide = rng.chance(2) && len >= 8;
                let n = if wide { 8 } else { 4 };
                let pos = if rng.chance(2) { (at.min(len - n) / n) * n } else { at.min(len - n) };
                input[pos..pos + n].copy_from_slice(&w.to_le_bytes()[..n]);
            }
            12 if len > 0 => {
                // Truncate: files cut short in transfer.
                input.truncate(at);
            }
            _ => input.push(BYTES[rng.below(BYTES.len())]),
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    !(c.is_ascii_whitespace() || b"(){}[];\"".contains(&c))
}

fn token_boundary(input: &[u8], mut at: usize) -> usize {
    while at < input.len() && is_word_byte(input[at]) {
        at += 1;
    }
    at
}

/// The span of the token around `at`, if any.
fn token_at(input: &[u8], at: usize) -> Option<(usize, usize)> {
    let len = input.len();
    let mut i = at.min(len);
    while i < len && !is_word_byte(input[i]) {
        i += 1;
    }
    if i == len {
        return None;
    }
    let mut s = i;
    while s > 0 && is_word_byte(input[s - 1]) {
        s -= 1;
    }
    let mut e = i;
    while e < len && is_word_byte(input[e]) {
        e += 1;
    }
    Some((s, e))
}

/// Replaces a number in the text with an interesting one.
fn replace_number(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    let start = rng.below(len + 1);
    let Some(pos) = (start..len).chain(0..start).find(|&i| input[i].is_ascii_digit()) else { return };
    let num = |c: u8| c.is_ascii_digit() || b".eE+-".contains(&c);
    let mut s = pos;
    while s > 0 && num(input[s - 1]) {
        s -= 1;
    }
    let mut e = pos;
    while e < len && num(input[e]) {
        e += 1;
    }
    let n = NUMBERS[rng.below(NUMBERS.len())];
    input.splice(s..e, n.bytes());
}

/// Deletes, duplicates or replaces a whole token.
fn replace_token(rng: &mut Rng, input: &mut Vec<u8>, dict: &[&str]) {
    let at = rng.below(input.len() + 1);
    let Some((s, e)) = token_at(input, at) else { return };
    match rng.below(3) {
        0 => {
            input.drain(s..e);
        }
        1 => {
            let tok = input[s..e].to_vec();
            input.splice(e..e, std::iter::once(b' ').chain(tok));
        }
        _ if !dict.is_empty() => {
            let w = dict[rng.below(dict.len())];
            input.splice(s..e, w.bytes());
        }
        _ => {}
    }
}

// ---- the loop ----

fn read_dir_sorted(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    out.sort();
    out
}

/// An outcome reduced to the words of the message itself: numbers blanked, and any word
/// with a quote, a digit or a byte that is not a lowercase letter dropped, since those
/// come from the input ("line 3: 'x' is not a number" and "line 4: 'y' is not a number"
/// are the same path).
fn shape(outcome: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for w in outcome.split(|c: char| c.is_whitespace() || c == ':' || c == ',').take(40) {
        if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() {
            '#'.hash(&mut h);
        } else if w.len() >= 2 && w.len() <= 16 && w.chars().all(|c| c.is_ascii_lowercase()) {
            w.hash(&mut h);
        }
    }
    h.finish()
}

fn hex(b: &[u8]) -> String {
    b.iter().take(512).map(|x| format!("{x:02x}")).collect()
}

/// Runs every regression and seed of `t`, then fuzzes it for the time budget; panics with
/// every crash found (each saved for `tests/fuzz/regressions/<target>/`).
pub fn fuzz(t: &Target) {
    quiet_panics();
    QUIET.with(|q| q.set(true));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let out = std::env::var_os("FLOWCFD_FUZZ_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes"))
        .join(t.name);
    std::fs::create_dir_all(&out).unwrap();
    let dump = std::ffi::CString::new(out.join("alloc-abort.bin").to_string_lossy().as_bytes()).unwrap();
    DUMP_PATH.with(|d| d.set(dump.as_ptr()));
    let watch = Watch::start(out.clone());

    // Regressions and seeds first: each must run clean.
    let mut failures: Vec<String> = Vec::new();
    // FLOWCFD_FUZZ_ONLY=part runs only the regressions whose file name contains it.
    let only = std::env::var("FLOWCFD_FUZZ_ONLY").unwrap_or_default();
    let mut regressions = read_dir_sorted(&root.join("regressions").join(t.name));
    regressions.retain(|(p, _)| p.file_name().is_some_and(|n| n.to_string_lossy().contains(&only)));
    let seeds = read_dir_sorted(&root.join("corpus").join(t.name));
    assert!(!seeds.is_empty(), "no seeds in tests/fuzz/corpus/{}", t.name);
    let mut seen = HashSet::new();
    let show_all = std::env::var_os("FLOWCFD_FUZZ_SHOW").is_some();
    for (path, input) in regressions.iter().chain(&seeds) {
        match exec(t, input, &watch) {
            Ok(o) => {
                if show_all {
                    eprintln!("fuzz {} {}: {o}", t.name, path.display());
                }
                seen.insert(shape(&o));
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    let mut pool: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
    let n_seeds = pool.len();

    let seed = std::env::var("FLOWCFD_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    let mut rng = Rng::new(seed ^ shape(t.name));
    let deadline = Instant::now() + Duration::from_secs(budget_secs());
    let (mut execs, mut oks, mut crashes): (u64, u64, Vec<Crash>) = (0, 0, Vec::new());
    let mut crash_kinds = HashSet::new();
    // FLOWCFD_FUZZ_SHOW=N prints the first N new outcomes: what the fuzzer reaches.
    let mut show: usize = std::env::var("FLOWCFD_FUZZ_SHOW").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    while Instant::now() < deadline && crashes.len() < 20 {
        // Half the time a seed: most bugs sit one or two mutations away from a valid file,
        // and inputs that only ever descend from mutants drift into noise.
        let parent = if rng.chance(2) { rng.below(n_seeds) } else { rng.below(pool.len()) };
        let mut input = pool[parent].clone();
        mutate(&mut rng, &mut input, &pool, t.dict);
        input.truncate(t.max_len);
        execs += 1;
        match exec(t, &input, &watch) {
            Ok(o) => {
                oks += u64::from(o.starts_with("ok"));
                if seen.insert(shape(&o)) {
                    if show > 0 {
                        show -= 1;
                        eprintln!("fuzz {} new outcome: {}", t.name, o.chars().take(200).collect::<String>());
                    }
                    // A new outcome: keep the input to mutate further (bounded pool).
                    if pool.len() < 2000 {
                        pool.push(input);
                    } else {
                        let i = n_seeds + rng.below(pool.len() - n_seeds);
                        pool[i] = input;
                    }
                }
            }
            Err(kind) => {
                // One report per place: the same panic from many inputs is one bug.
                let key = kind.split(": ").next().unwrap_or("").to_string();
                if crash_kinds.insert(key) {
                    crashes.push(Crash { kind, input });
                }
            }
        }
    }
    eprintln!(
        "fuzz {}: {execs} executions in {} s ({oks} read whole; seed {seed}), {} regressions, {} seeds, {} outcomes, pool {}",
        t.name,
        budget_secs(),
        regressions.len(),
        seeds.len(),
        seen.len(),
        pool.len()
    );
    for c in &crashes {
        let name = format!("crash-{:016x}.bin", shape(&hex(&c.input)));
        let path = out.join(&name);
        std::fs::write(&path, &c.input).unwrap();
        failures.push(format!(
            "{}\n  input saved as {} (copy it into tests/fuzz/regressions/{}/ and fix the reader)\n  hex: {}",
            c.kind,
            path.display(),
            t.name,
            hex(&c.input)
        ));
    }
    QUIET.with(|q| q.set(false));
    assert!(failures.is_empty(), "fuzz target {} crashed:\n{}", t.name, failures.join("\n"));
}
