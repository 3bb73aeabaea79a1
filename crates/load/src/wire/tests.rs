//! The response reader against whole, split, cut and malformed answers.

use super::*;

/// Feeds `input` in pieces of `step` bytes, as reads would deliver
/// it, keeping what the parser did not take: the outcome and the bytes
/// left over after the response.
fn read(
    input: &[u8],
    step: usize,
    check: Option<&Check>,
    head_request: bool,
) -> (Result<Response, Malformed>, usize) {
    let mut r = Response::new();
    r.reset(head_request);
    let mut pending: Vec<u8> = Vec::new();
    let mut fed = 0;
    for piece in input.chunks(step.max(1)) {
        pending.extend_from_slice(piece);
        fed += piece.len();
        match r.advance(&pending, check) {
            Err(e) => return (Err(e), 0),
            Ok((n, done)) => {
                pending.drain(..n);
                if done {
                    return (Ok(r), pending.len() + input.len() - fed);
                }
            }
        }
    }
    match r.closed() {
        Ok(()) => (Ok(r), pending.len()),
        Err(e) => (Err(e), 0),
    }
}

fn every_step(input: &[u8]) -> Vec<(Result<Response, Malformed>, usize)> {
    (1..=input.len().max(1))
        .map(|step| {
            read(
                input,
                step,
                Some(&Check::Contains(b"World".to_vec())),
                false,
            )
        })
        .collect()
}

#[test]
fn a_response_with_a_length_is_complete_at_its_last_byte_however_it_arrives() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
    for (r, left) in every_step(input) {
        let r = r.expect("complete");
        assert_eq!(
            (r.status, r.body_bytes, r.keep_alive, left),
            (200, 13, true, 0)
        );
        assert_eq!(r.seen, b"Hello, World!");
    }
}

#[test]
fn a_chunked_body_is_decoded_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  7;ext=1\r\nHello, \r\n6\r\nWorld!\r\n0\r\nX-Trailer: yes\r\n\r\n";
    for (r, left) in every_step(input) {
        let r = r.expect("complete");
        assert_eq!((r.status, r.body_bytes, left), (200, 13, 0));
        assert_eq!(r.seen, b"Hello, World!");
    }
}

#[test]
fn a_body_without_length_ends_with_the_connection() {
    let input = b"HTTP/1.1 200 OK\r\n\r\nHello, World!";
    let (r, _) = read(input, 5, None, false);
    let r = r.expect("complete at the close");
    assert_eq!((r.body_bytes, r.keep_alive), (13, false));
}

#[test]
fn connection_close_and_http_1_0_end_keep_alive() {
    let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert!(!read(close, 100, None, false).0.expect("ok").keep_alive);
    let old = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert!(!read(old, 100, None, false).0.expect("ok").keep_alive);
    let old_kept = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
    assert!(read(old_kept, 100, None, false).0.expect("ok").keep_alive);
}

#[test]
fn responses_without_a_body_end_at_their_head() {
    for input in [
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    ] {
        let (r, left) = read(input, 100, None, false);
        assert_eq!((r.expect("ok").body_bytes, left), (0, 0));
    }
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    let (r, left) = read(head, 100, None, true);
    assert_eq!((r.expect("ok").body_bytes, left), (0, 0));
}

#[test]
fn an_interim_response_is_skipped() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
    for (r, left) in every_step(input) {
        assert_eq!((r.expect("ok").status, left), (201, 0));
    }
}

#[test]
fn bytes_beyond_the_response_are_left_over() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    let (r, left) = read(input, 100, None, false);
    assert_eq!((r.expect("ok").body_bytes, left), (2, 5));
}

#[test]
fn malformed_responses_are_refused_with_their_kind() {
    let cases: &[(&[u8], Malformed)] = &[
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", Malformed::Head),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", Malformed::Head),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", Malformed::Head),
        (b"HTTP/1.1 101 Switching\r\n\r\n", Malformed::Head),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
            Malformed::BadLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            Malformed::BadLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            Malformed::BadChunk,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX",
            Malformed::BadChunk,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHello",
            Malformed::Truncated,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Le", Malformed::Truncated),
        (b"", Malformed::Truncated),
    ];
    for (input, want) in cases {
        for step in [1, 3, 1000] {
            let (r, _) = read(input, step, None, false);
            assert_eq!(
                r.err(),
                Some(*want),
                "{} in steps of {step}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn a_head_over_the_limit_is_refused_before_it_is_all_read() {
    let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
    while input.len() <= HEAD_LIMIT {
        input.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    // Too many headers is refused as soon as the 65th arrives.
    let (r, _) = read(&input, 4096, None, false);
    assert_eq!(r.err(), Some(Malformed::HeadTooLarge));
    let mut long = b"HTTP/1.1 200 OK\r\nX-Long: ".to_vec();
    long.resize(HEAD_LIMIT + 10, b'a');
    let (r, _) = read(&long, 4096, None, false);
    assert_eq!(r.err(), Some(Malformed::HeadTooLarge));
}

#[test]
fn a_chunk_size_line_over_the_limit_is_refused() {
    let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    input.resize(input.len() + CHUNK_LINE_LIMIT, b'a');
    let (r, _) = read(&input, 512, None, false);
    assert_eq!(r.err(), Some(Malformed::BadChunk));
}

#[test]
fn a_prefix_check_keeps_only_the_prefix() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
    let check = Check::StartsWith(b"Hello".to_vec());
    let (r, _) = read(input, 3, Some(&check), false);
    let r = r.expect("ok");
    assert_eq!(r.seen, b"Hello");
    assert!(check.passes(&r.seen));
    assert!(!Check::StartsWith(b"World".to_vec()).passes(&r.seen));
}

#[test]
fn a_request_is_rendered_with_its_length() {
    let head = RequestHead {
        start: b"POST /api".to_vec(),
        headers: b" HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\n".to_vec(),
        sends_length: true,
    };
    let mut out = Vec::new();
    head.render(b"/author", b"{}", &mut out);
    assert_eq!(
        out,
        b"POST /api/author HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\n\
          content-length: 2\r\n\r\n{}"
    );
    let get = RequestHead {
        start: b"GET ".to_vec(),
        headers: b" HTTP/1.1\r\nhost: h\r\n".to_vec(),
        sends_length: false,
    };
    get.render(b"/", b"", &mut out);
    assert_eq!(out, b"GET / HTTP/1.1\r\nhost: h\r\n\r\n");
}

#[test]
fn a_head_seen_before_is_read_alike_and_a_changed_one_is_parsed_again() {
    let first = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    let longer = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nhello!";
    let closing = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
    let mut r = Response::new();
    let mut take = |input: &[u8], head_request: bool| {
        r.reset(head_request);
        let (n, done) = r.advance(input, None).expect("a response");
        (n, done, r.status, r.keep_alive, r.body_bytes)
    };
    assert_eq!(take(first, false), (first.len(), true, 200, true, 5));
    // The same head again: the same framing, from the cache.
    assert_eq!(take(first, false), (first.len(), true, 200, true, 5));
    // The same head answering HEAD: no body, whatever its length says.
    assert_eq!(
        take(&first[..first.len() - 5], true),
        (first.len() - 5, true, 200, true, 0)
    );
    assert_eq!(take(longer, false), (longer.len(), true, 200, true, 6));
    assert_eq!(take(closing, false), (closing.len(), true, 200, false, 5));
    // A head cut short of the one seen before is not taken for it.
    r.reset(false);
    assert_eq!(r.advance(&closing[..20], None), Ok((0, false)));
}
