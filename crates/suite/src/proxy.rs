//! nginx in front of a target, as gunicorn's deployment documentation
//! recommends and as production runs it: a buffering reverse proxy that
//! keeps its upstream connections open (`keepalive` in the upstream block,
//! `proxy_http_version 1.1` and an empty `Connection` header, without which
//! nginx closes each one), one worker process pinned with the target, its
//! configuration under `$BOOKBENCH_HOME/nginx/<target>/` and its error log
//! on standard error, which lands beside the target's under the results. With
//! several instances of the target, nginx balances them round-robin.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// A proxy a target can run behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proxy {
    Nginx,
}

impl Proxy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
        }
    }
}

impl std::str::FromStr for Proxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "nginx" => Ok(Self::Nginx),
            other => Err(format!("unknown proxy '{other}' (the one there is: nginx)")),
        }
    }
}

/// Upstream connections nginx keeps open per worker: one per connection of
/// the heaviest load a run puts on it would be the most it could use; past
/// this, extra ones are opened and closed per request.
const KEEPALIVE: u32 = 256;

/// Where nginx's files for `target` go.
pub fn dir(home: &Path, target: &str) -> PathBuf {
    home.join("nginx").join(target)
}

/// nginx's configuration: listening on `listen`, in front of `upstreams`,
/// its pid file, logs and temporary files in `dir`.
pub fn nginx_conf(listen: SocketAddr, upstreams: &[SocketAddr], dir: &Path) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|u| format!("        server {u};\n"))
        .collect();
    format!(
        "# Written by bookbench for one run; rewritten at the next.
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
# To standard error: its log under the results, from any host.
error_log stderr warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    upstream target {{
{servers}        keepalive {KEEPALIVE};
    }}
    server {{
        listen {listen} backlog=4096;
        location / {{
            proxy_pass http://target;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            # Buffered, as gunicorn's docs require in front of sync workers:
            # a slow client then holds nginx, not the worker.
            proxy_buffering on;
        }}
    }}
}}
"
    )
}

/// Writes the configuration for a run, creating its directory.
pub fn write_conf(dir: &Path, conf: &str) -> Result<PathBuf, Error> {
    write_conf_on(None, dir, conf)
}

/// As [`write_conf`], on `host` when it is a remote one (through its
/// prefix: a configuration is a few hundred bytes, an argument).
pub fn write_conf_on(
    host: Option<&crate::hosts::Host>,
    dir: &Path,
    conf: &str,
) -> Result<PathBuf, Error> {
    let path = dir.join("nginx.conf");
    if let Some(h) = host.filter(|h| h.reach() == crate::hosts::Reach::Remote) {
        let script = r#"mkdir -p "$1/tmp" && printf '%s' "$2" > "$1/nginx.conf""#;
        h.run(
            &[
                "sh".to_string(),
                "-c".to_string(),
                script.to_string(),
                "sh".to_string(),
                dir.to_string_lossy().into_owned(),
                conf.to_string(),
            ],
            crate::hosts::CHECK_TIMEOUT,
        )?;
        return Ok(path);
    }
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)
        .map_err(|e| Error::io(format!("cannot create {}", tmp.display()), e))?;
    std::fs::write(&path, conf)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// nginx's command line for the configuration at `conf`, pinned to `cpus`.
///
/// Started as root, nginx's master hands its workers to `nobody`, who may
/// not reach `dir` at all: a home under `/root`, or any directory only its
/// owner enters, and nginx answers every request with a body 500 (its
/// worker cannot open its body buffer file). Its workers run as the user
/// who starts it instead, as every other target does, wherever bookbench
/// runs it (here, in a namespace, through ssh): the shell asks who that is
/// there, and only root has a user to keep (others cannot switch anyway).
pub fn nginx_command(conf: &Path, dir: &Path, cpus: &[usize]) -> Vec<String> {
    let cpus: Vec<String> = cpus.iter().map(ToString::to_string).collect();
    let script =
        r#"if [ "$(id -u)" -eq 0 ]; then set -- "$@" -g "user root;"; fi; exec nginx "$@""#;
    vec![
        "taskset".to_string(),
        "-c".to_string(),
        cpus.join(","),
        "sh".to_string(),
        "-c".to_string(),
        script.to_string(),
        "nginx".to_string(),
        "-p".to_string(),
        dir.display().to_string(),
        "-c".to_string(),
        conf.display().to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_keeps_upstream_connections_open_and_lists_every_instance() {
        let conf = nginx_conf(
            "127.0.0.1:8080".parse().expect("addr"),
            &[
                "127.0.0.1:9001".parse().expect("addr"),
                "127.0.0.1:9002".parse().expect("addr"),
            ],
            Path::new("/home/x/nginx/rust+nginx"),
        );
        for line in [
            "listen 127.0.0.1:8080 backlog=4096;",
            "server 127.0.0.1:9001;",
            "server 127.0.0.1:9002;",
            "keepalive 256;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "daemon off;",
            "pid /home/x/nginx/rust+nginx/nginx.pid;",
        ] {
            assert!(conf.contains(line), "{line}:\n{conf}");
        }
        assert_eq!("nginx".parse(), Ok(Proxy::Nginx));
        assert!("haproxy".parse::<Proxy>().is_err());
    }
}
