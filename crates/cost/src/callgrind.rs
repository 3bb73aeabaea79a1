//! callgrind from outside: which processes of a target run under it, their
//! counters zeroed and dumped through `callgrind_control` (vgdb), and the
//! dump files read back.
//!
//! A dump file (callgrind's format, "positions: line") gives its total in
//! its `summary:` line, counted since the last zero, and the cost of each
//! function under the object (`ob=`) it ran in. The split by object is read
//! from the cost lines; a line after `calls=` is the inclusive cost of a
//! call, already counted in its callee, and is skipped, except to count
//! CPython's type-cache misses (see `TYPE_CACHE_MISS`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bookbench_results::cost::TypeCacheMisses;

use crate::Error;

/// How long one `callgrind_control` call may take: it reaches a process
/// blocked in a system call too (vgdb wakes it through ptrace).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// The processes of group `pgid` that run under callgrind: valgrind's tool
/// binary (`callgrind-amd64-linux`) is what /proc shows as their program.
/// A shell of the target's command that is not counted is left out.
pub fn counted_processes(pgid: i32) -> Vec<i32> {
    bookbench_suite::process::group_processes(pgid)
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
                exe.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("callgrind-"))
            })
        })
        .collect()
}

/// What `callgrind_control` can ask of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Zero its counters.
    Zero,
    /// Write its counts since the last zero to a new part file.
    Dump,
    /// Switch its instrumentation on: it starts without (a target's start
    /// is not counted, and runs several times faster so).
    InstrumentOn,
}

impl Control {
    fn flag(self) -> &'static str {
        match self {
            Self::Zero => "-z",
            Self::Dump => "-d",
            Self::InstrumentOn => "--instr=on",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Dump => "dump",
            Self::InstrumentOn => "switch on",
        }
    }
}

/// Runs `callgrind_control` on `pid`; an error says what it answered.
pub fn control(pid: i32, what: Control) -> Result<(), Error> {
    let fail = |why: String| Error::Callgrind {
        pid,
        message: format!("cannot {} its counters: {why}", what.name()),
    };
    let mut command = Command::new("callgrind_control");
    // vgdb names the pipes it talks through after the user and host of
    // the environment (USER or LOGNAME, and HOST) on both sides: the
    // target's own (a target is given HOST, its address) must be used.
    for name in ["HOST", "USER", "LOGNAME"] {
        match environment_of(pid, name) {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let mut child = command
        .arg(what.flag())
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("callgrind_control does not start ({e})")))?;
    let deadline = Instant::now() + CONTROL_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "callgrind_control gave no answer within {} s",
                    CONTROL_TIMEOUT.as_secs()
                )));
            }
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("callgrind_control's answer cannot be read ({e})")))?;
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    // It answers "OK." for each process it reached, and exits 0 even when
    // it found none.
    if output.status.success() && said.contains("OK.") {
        Ok(())
    } else {
        let line = said
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("PID "))
            .unwrap_or("no answer");
        Err(fail(line.to_string()))
    }
}

/// The value of `name` in the environment `pid` was started with.
fn environment_of(pid: i32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let text = std::str::from_utf8(entry).ok()?;
        let (key, value) = text.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// The newest dump of `pid` in `dir` (`cg.PID.N` with the largest N).
pub fn latest_dump(dir: &Path, pid: i32) -> Option<PathBuf> {
    latest_dump_part(dir, pid).map(|(_, path)| path)
}

/// The newest dump of `pid` in `dir` and its part number N (`cg.PID.N`).
pub fn latest_dump_part(dir: &Path, pid: i32) -> Option<(u64, PathBuf)> {
    let prefix = format!("cg.{pid}.");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let part: u64 = name.strip_prefix(&prefix)?.parse().ok()?;
            Some((part, e.path()))
        })
        .max_by_key(|(part, _)| *part)
}

/// The part number of `pid`'s newest dump in `dir`, 0 before its first.
pub fn latest_part(dir: &Path, pid: i32) -> u64 {
    latest_dump_part(dir, pid).map_or(0, |(part, _)| part)
}

/// Reads a dump that its process may still be writing: `None` until its
/// last line, `totals:`, is there.
pub fn read_complete(path: &Path) -> Result<Option<Dump>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                context: format!("cannot read the dump {}", path.display()),
                source,
            });
        }
    };
    let complete = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.starts_with("totals:"));
    if !complete {
        return Ok(None);
    }
    parse(&text).map(Some).map_err(|why| Error::Dump {
        path: path.to_path_buf(),
        message: why,
    })
}

/// CPython looks an attribute up on a type through a cache of 4096 slots
/// indexed by the type's version and the *address* of the attribute's
/// name; a miss searches the class hierarchy (`find_name_in_mro`, its only
/// caller `_PyType_Lookup`). Which (type, name) pairs share a slot follows
/// from where the process laid out its strings, so the misses are the part
/// of a CPython count that moves with the layout (docs/method.md, "Where a
/// program is placed").
const TYPE_CACHE_MISS: &str = "find_name_in_mro";
/// The lookup itself, run by every CPython process that looks an attribute
/// up: where it runs and the search never shows, either nothing missed or
/// the interpreter was built with the search inlined, and a dump alone
/// cannot tell which (`Dump::type_lookups`).
const TYPE_LOOKUP: &str = "_PyType_Lookup";

/// A dump's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// Instructions executed since the last zero (all threads).
    pub instructions: u64,
    /// System calls (with `--collect-systime`).
    pub system_calls: u64,
    /// Instructions by the object they ran in, from the cost lines; the
    /// name is the object's file name, `???` for code outside any file.
    pub objects: BTreeMap<String, u64>,
    /// CPython's type-cache misses: none for another program.
    pub type_cache: TypeCacheMisses,
    /// CPython's type lookup ran.
    pub type_lookups: bool,
    /// Its search after a miss ran, or was named: the interpreter has it as
    /// a function of its own, so its misses are told apart.
    pub type_searches: bool,
}

impl Dump {
    /// Adds `other`'s counts (another process of the same target).
    pub fn add(&mut self, other: &Self) {
        self.instructions += other.instructions;
        self.system_calls += other.system_calls;
        self.type_cache.misses += other.type_cache.misses;
        self.type_cache.instructions += other.type_cache.instructions;
        self.type_lookups |= other.type_lookups;
        self.type_searches |= other.type_searches;
        for (name, n) in &other.objects {
            *self.objects.entry(name.clone()).or_default() += n;
        }
    }
}

/// Reads a dump file.
pub fn read(path: &Path) -> Result<Dump, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        context: format!("cannot read the dump {}", path.display()),
        source,
    })?;
    parse(&text).map_err(|why| Error::Dump {
        path: path.to_path_buf(),
        message: why,
    })
}

/// Parses a dump in callgrind's format; an error says what is missing.
pub fn parse(text: &str) -> Result<Dump, String> {
    let mut events: Vec<&str> = Vec::new();
    let mut summary: Option<Vec<u64>> = None;
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut object = "???";
    let mut objects: BTreeMap<String, u64> = BTreeMap::new();
    let mut functions: BTreeMap<&str, &str> = BTreeMap::new();
    let mut callee = "";
    let mut after_calls = false;
    let mut misses = TypeCacheMisses::default();
    let (mut searched, mut looked_up) = (false, false);
    for line in text.lines() {
        if after_calls {
            after_calls = false;
            if callee == TYPE_CACHE_MISS {
                misses.instructions += first_cost(line)?;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("events:") {
            events = rest.split_whitespace().collect();
        } else if let Some(rest) = line.strip_prefix("summary:") {
            summary = Some(numbers(rest)?);
        } else if let Some(rest) = line.strip_prefix("ob=") {
            object = named(rest, &mut names);
        } else if let Some(rest) = line.strip_prefix("cob=") {
            // Names the object of a call; the current object stays.
            named(rest, &mut names);
        } else if let Some(rest) = line.strip_prefix("fn=") {
            let name = named(rest, &mut functions);
            searched |= name == TYPE_CACHE_MISS;
            looked_up |= name == TYPE_LOOKUP;
        } else if let Some(rest) = line.strip_prefix("cfn=") {
            callee = named(rest, &mut functions);
            searched |= callee == TYPE_CACHE_MISS;
        } else if let Some(rest) = line.strip_prefix("calls=") {
            after_calls = true;
            if callee == TYPE_CACHE_MISS {
                misses.misses += rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| format!("a calls line without a count: {line:?}"))?;
            }
        } else if starts_cost_line(line) {
            *objects.entry(file_name(object)).or_default() += first_cost(line)?;
        }
    }
    let summary = summary.ok_or("no `summary:` line (not a callgrind dump?)")?;
    let at = |event: &str| {
        events
            .iter()
            .position(|e| *e == event)
            .and_then(|i| summary.get(i).copied())
    };
    Ok(Dump {
        instructions: at("Ir").ok_or("no Ir event in the summary")?,
        system_calls: at("sysCount").unwrap_or(0),
        objects,
        type_cache: misses,
        type_lookups: looked_up,
        type_searches: searched,
    })
}

/// The first event's count (Ir) on a cost line, after its position; 0
/// for a position without costs.
fn first_cost(line: &str) -> Result<u64, String> {
    match line.split_whitespace().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("a cost line that is not numbers: {line:?}")),
        None => Ok(0),
    }
}

fn numbers(text: &str) -> Result<Vec<u64>, String> {
    text.split_whitespace()
        .map(|n| {
            n.parse()
                .map_err(|_| format!("'{n}' in a summary is not a count"))
        })
        .collect()
}

/// `(12) /lib/libc.so.6` names id 12; `(12)` refers to it again.
fn named<'a>(rest: &'a str, names: &mut BTreeMap<&'a str, &'a str>) -> &'a str {
    let rest = rest.trim();
    match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((id, name)) if !name.trim().is_empty() => {
            names.insert(id, name.trim());
            name.trim()
        }
        Some((id, _)) => names.get(id).copied().unwrap_or("???"),
        None => rest,
    }
}

/// A cost line starts with a position: a number, `+N`, `-N` or `*`.
fn starts_cost_line(line: &str) -> bool {
    line.split_whitespace().next().is_some_and(|first| {
        first == "*"
            || first.trim_start_matches(['+', '-']).parse::<u64>().is_ok() && !first.is_empty()
    })
}

/// `libc.so.6` of `/usr/lib/x86_64-linux-gnu/libc.so.6`.
fn file_name(object: &str) -> String {
    object.rsplit('/').next().unwrap_or(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head and a few records of a real dump of CPython's http.server.
    const DUMP: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 10496
part: 1

positions: line
events: Ir sysCount sysTime sysCpuTime
summary: 12846438 1280 705394420 17420499

ob=(2) ???
fl=(52) ???
fn=(3082) 0x0000000004936718
0 40
cob=(6) /root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0
cfi=(267) Python/ceval.c
cfn=(3084) _PyEval_EvalFrameDefault
calls=40 1630
0 12653969 1035 443128755 15087906

ob=(6)
fl=(267)
fn=(3084)
1630 1000 2
+2 500
* 25
ob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
fn=(9) memcpy
0 300 1 10 10

totals: 1865 3 10 10
";

    #[test]
    fn a_dump_still_being_written_is_not_read_until_its_totals_line() {
        let dir = std::env::temp_dir().join(format!("bookbench-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("cg.7.3");
        let cut = DUMP.find("totals:").expect("a totals line");
        std::fs::write(&path, &DUMP[..cut]).expect("write");
        assert_eq!(read_complete(&path).expect("readable"), None);
        std::fs::write(&path, DUMP).expect("write");
        let dump = read_complete(&path).expect("readable").expect("complete");
        assert_eq!(dump.instructions, 12_846_438);
        assert_eq!(latest_part(&dir, 7), 3);
        assert_eq!(latest_part(&dir, 8), 0);
        assert_eq!(
            read_complete(&dir.join("cg.7.4")).expect("absent is fine"),
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_dump_gives_its_summary_and_the_instructions_of_each_object() {
        let d = parse(DUMP).expect("parses");
        assert_eq!(d.instructions, 12_846_438);
        assert_eq!(d.system_calls, 1280);
        // The call's inclusive cost (12,653,969) is its callee's, not the
        // caller's.
        assert_eq!(d.objects.get("???"), Some(&40));
        assert_eq!(d.objects.get("libpython3.11.so.1.0"), Some(&1525));
        assert_eq!(d.objects.get("libc.so.6"), Some(&300));
    }

    /// CPython's attribute lookup on a type, with its cache missed twice.
    const LOOKUPS: &str = "events: Ir sysCount
summary: 5000 3

ob=(1) /lib/libpython3.11.so.1.0
fl=(2) Objects/typeobject.c
fn=(10) _PyType_Lookup
100 400
cfn=(11) find_name_in_mro
calls=2 200
+1 900 1
fn=(11)
200 900 1
fn=(12) PyObject_GetAttr
300 50
cfn=(10)
calls=7 100
+1 1300 1

totals: 1350 1
";

    #[test]
    fn cpython_type_cache_misses_are_the_inclusive_calls_of_its_search() {
        let d = parse(LOOKUPS).expect("parses");
        assert_eq!(
            d.type_cache,
            TypeCacheMisses {
                misses: 2,
                instructions: 900
            }
        );
        assert!(d.type_lookups && d.type_searches);
        // Inclusive costs are still not an object's own.
        assert_eq!(d.objects.get("libpython3.11.so.1.0"), Some(&1350));
        // No search: nothing missed, or the search was inlined.
        let unsearched = LOOKUPS.replace(
            "cfn=(11) find_name_in_mro\ncalls=2 200\n+1 900 1\nfn=(11)\n200 900 1\n",
            "",
        );
        assert_ne!(unsearched, LOOKUPS);
        let u = parse(&unsearched).expect("parses");
        assert_eq!(u.type_cache, TypeCacheMisses::default());
        assert!(u.type_lookups && !u.type_searches);
        // Not CPython: neither.
        let other = parse(DUMP).expect("parses");
        assert!(!other.type_lookups && !other.type_searches);
        // A master that missed nothing beside a worker that did.
        let mut both = u.clone();
        both.add(&d);
        assert_eq!(both.type_cache.misses, 2);
        assert!(both.type_searches);
    }

    #[test]
    fn a_file_that_is_not_a_dump_is_refused_saying_why() {
        let err = parse("hello\n").expect_err("refused");
        assert!(err.contains("summary"), "{err}");
        let err = parse("events: Ir\nsummary: x\n").expect_err("refused");
        assert!(err.contains("'x'"), "{err}");
    }

    #[test]
    fn the_newest_dump_of_a_process_is_the_one_with_the_largest_part() {
        let dir = std::env::temp_dir().join(format!("bookbench-cg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for name in ["cg.77.1", "cg.77.10", "cg.77.2", "cg.77", "cg.778.30"] {
            std::fs::write(dir.join(name), "").expect("file");
        }
        assert_eq!(latest_dump(&dir, 77), Some(dir.join("cg.77.10")));
        assert_eq!(latest_dump(&dir, 78), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
