//! The lab on this machine, for real: namespaces, veth pairs, a bridge.
//! One test, its steps in order: the lab is one per machine. Needs root
//! (CI runs as root), iproute2 and python3.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bookbench_lab::{Host, LabError, Layout, Role};

fn in_host(host: &Host, program: &str, args: &[&str]) -> Command {
    let prefix = host.prefix();
    let (first, rest) = prefix.split_first().expect("a prefix");
    let mut cmd = Command::new(first);
    cmd.args(rest).arg(program).args(args);
    cmd
}

/// An HTTP server on the app host, at its address.
fn serve_on(app: &Host) -> Child {
    in_host(
        app,
        "python3",
        &["-m", "http.server", "--bind", &app.addr.to_string(), "8000"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("python3 in the app host")
}

fn fetch_from(client: &Host, url: &str) -> bool {
    let script = format!("import urllib.request; urllib.request.urlopen('{url}', timeout=2)");
    in_host(client, "python3", &["-c", &script])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port number from the clock: another run's leftovers are unlikely on it.
fn fastrand_port() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u16::try_from(nanos % 20_000).unwrap_or(0)
}

fn host(hosts: &[Host], role: Role) -> &Host {
    hosts.iter().find(|h| h.role == role).expect("the host")
}

#[test]
fn the_lab_comes_up_carries_traffic_between_its_hosts_only_and_goes_down_leaving_nothing() {
    // Leftovers of a lab that did not finish (a crash midway) are cleaned
    // by the next up.
    let _ = bookbench_lab::down();
    assert!(
        Command::new("ip")
            .args(["netns", "add", "bookbench-db"])
            .status()
            .expect("ip")
            .success()
    );
    let hosts = bookbench_lab::up(Layout {
        clients: 2,
        proxy: false,
    })
    .expect("the lab comes up");
    let status = bookbench_lab::status().expect("status");
    assert_eq!(status.namespaces.len(), 4, "{status}");
    assert!(status.bridge, "{status}");

    // A second up is refused, saying what to do.
    match bookbench_lab::up(Layout::default()) {
        Err(e @ LabError::AlreadyUp(_)) => assert!(e.to_string().contains("lab down"), "{e}"),
        other => panic!("a second up: {other:?}"),
    }

    let app = host(&hosts, Role::App);
    let mut server = serve_on(app);
    let url = format!("http://{}:8000/", app.addr);
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&(app.addr, 8000).into(), Duration::from_millis(200)).is_err()
    {
        assert!(
            Instant::now() < until,
            "the app host's server never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Both client hosts reach the app host's address; neither has the
    // app on its own loopback.
    for n in [1, 2] {
        let client = host(&hosts, Role::Client(n));
        assert!(fetch_from(client, &url), "client{n} to {url}");
        assert!(
            !fetch_from(client, "http://127.0.0.1:8000/"),
            "client{n}'s loopback"
        );
    }

    // A thread that enters a client host has that host's loopback: a server
    // on client1's 127.0.0.1 answers it, and not this machine's threads.
    let client1 = host(&hosts, Role::Client(1));
    let port = 20_000 + fastrand_port();
    let mut private = in_host(
        client1,
        "python3",
        &[
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("python3 in client1");
    let namespace = client1.namespace.clone();
    let inside = std::thread::spawn(move || {
        bookbench_lab::enter(&namespace).expect("enter client1");
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .join()
    .expect("the thread");
    assert!(
        inside,
        "client1's own loopback server, from a thread that entered client1"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "this machine's loopback"
    );
    let _ = private.kill();
    let _ = private.wait();
    assert!(matches!(
        bookbench_lab::enter("bookbench-nowhere"),
        Err(LabError::Enter { .. })
    ));

    // Down stops what runs in the lab, and leaves no namespace or link.
    let removed = bookbench_lab::down().expect("down");
    assert_eq!(removed.namespaces.len(), 4, "{removed}");
    let until = Instant::now() + Duration::from_secs(5);
    while server.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < until,
            "the app host's server outlived the lab"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = bookbench_lab::status().expect("status");
    assert!(after.is_empty(), "{after}");
    let links = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip");
    assert!(!String::from_utf8_lossy(&links.stdout).contains("bb-"));
    // And down again finds nothing to do.
    assert!(bookbench_lab::down().expect("down").is_empty());
}
