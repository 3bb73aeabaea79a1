use std::fmt::Write as _;

/// Server settings written into `postgresql.conf` at `initdb`.
#[derive(Debug, Clone)]
pub struct Settings {
    entries: Vec<(&'static str, String)>,
    sync_at_init: bool,
}

const MIB: u64 = 1024 * 1024;

impl Settings {
    /// For benchmarking a laptop-sized database (the full data set is about
    /// 5 GiB with indexes): enough memory to keep the hot part cached,
    /// connections for every peer's pool, no JIT (it only slows short OLTP
    /// queries), and durability as shipped.
    ///
    /// `wal_level = minimal` is the one departure: no replica needs the WAL,
    /// and it lets the bulk load skip writing 5 GiB of it (COPY into a table
    /// truncated in the same transaction). Commits are still flushed.
    pub fn benchmark(has_pg_stat_statements: bool) -> Self {
        let ram = total_memory().unwrap_or(8 * 1024 * MIB);
        let shared_buffers = (ram / 4).clamp(128 * MIB, 4096 * MIB);
        let mut s = Self::common();
        s.set("max_connections", "300");
        s.set("shared_buffers", format!("{}MB", shared_buffers / MIB));
        s.set("effective_cache_size", format!("{}MB", ram / 2 / MIB));
        s.set("work_mem", "16MB");
        s.set("maintenance_work_mem", "1GB");
        s.set("max_wal_size", "8GB");
        s.set("checkpoint_timeout", "30min");
        s.set("random_page_cost", "1.1");
        if has_pg_stat_statements {
            s.count_statements();
        }
        s
    }

    /// Loads pg_stat_statements with planning tracked: the suite counts the
    /// statements each target sends, and `bookbench cost` their rows and
    /// buffers, planning's included.
    pub fn count_statements(&mut self) -> &mut Self {
        self.set("shared_preload_libraries", "'pg_stat_statements'");
        self.set("pg_stat_statements.track_planning", "on");
        self
    }

    /// For tests: small and fast, durability off (the cluster is deleted
    /// when the tests end).
    pub fn throwaway() -> Self {
        let mut s = Self::common();
        s.sync_at_init = false;
        s.set("max_connections", "200");
        s.set("shared_buffers", "128MB");
        s.set("fsync", "off");
        s.set("synchronous_commit", "off");
        s.set("full_page_writes", "off");
        s
    }

    fn common() -> Self {
        let mut s = Self {
            entries: Vec::new(),
            sync_at_init: true,
        };
        s.set("listen_addresses", "'127.0.0.1'");
        s.set("unix_socket_directories", "''");
        s.set("wal_level", "minimal");
        s.set("max_wal_senders", "0");
        s.set("jit", "off");
        s.set("log_min_messages", "warning");
        s.set("logging_collector", "off");
        s
    }

    /// Sets (or replaces) one setting; the value is written as given, so
    /// strings carry their own quotes.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn initdb_args(&self) -> Vec<&'static str> {
        if self.sync_at_init {
            Vec::new()
        } else {
            vec!["--no-sync"]
        }
    }

    pub(crate) fn to_conf(&self) -> String {
        let mut out = String::from("\n# Written by bookbench.\n");
        for (name, value) in &self.entries {
            let _ = writeln!(out, "{name} = {value}");
        }
        out
    }
}

fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
