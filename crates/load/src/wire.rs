//! HTTP/1.1 as the hot path speaks it: requests are bytes rendered into a
//! reused buffer, and responses are framed by parsing the bytes as they
//! arrive (`httparse` for the head and chunk sizes), with no per-request
//! allocation. Whatever a server sends, the parser answers a [`Malformed`]
//! rather than panicking, and never waits for bytes that framing says are
//! not coming.

use std::io::Write as _;

/// The most a response head may take, status line and headers together.
pub(crate) const HEAD_LIMIT: usize = 64 * 1024;

/// The most headers a response head may have.
const MAX_HEADERS: usize = 64;

/// The longest chunk-size line (size, extensions and CRLF) accepted.
const CHUNK_LINE_LIMIT: usize = 1024;

/// How a response broke the protocol. Each is a `read` error of the request
/// it answered, and the connection is replaced; so are bytes beyond the
/// framed response (a body longer than its `Content-Length`, or a response
/// to no request), which the caller sees as bytes not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The status line or a header does not parse.
    Head,
    /// The head is longer than [`HEAD_LIMIT`] or has more than 64 headers.
    HeadTooLarge,
    /// `Content-Length` is not a number, or two of them disagree.
    BadLength,
    /// A chunk-size line does not parse, is too long, or a chunk does not
    /// end with CRLF.
    BadChunk,
    /// The connection closed before the response was complete.
    Truncated,
}

/// How the body of the response being read is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// This many bytes are still to come.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunk),
    /// Everything until the server closes the connection.
    UntilClose,
}

/// Where the chunked decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of chunk data are still to come.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: expecting trailer fields or the final CRLF.
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(Body),
    Done,
}

/// What the body check keeps of a body.
#[derive(Debug)]
pub(crate) enum Check {
    /// The body must start with these bytes.
    StartsWith(Vec<u8>),
    /// The body must contain these bytes.
    Contains(Vec<u8>),
}

impl Check {
    /// Whether `seen` (what [`Response::seen`] kept) passes.
    pub fn passes(&self, seen: &[u8]) -> bool {
        match self {
            Self::StartsWith(want) => seen.starts_with(want),
            Self::Contains(want) => {
                want.is_empty() || seen.windows(want.len()).any(|w| w == want.as_slice())
            }
        }
    }

    /// How much of the body beyond the `seen` bytes is worth keeping.
    fn room(&self, seen: usize) -> usize {
        match self {
            Self::StartsWith(want) => want.len().saturating_sub(seen),
            Self::Contains(_) => usize::MAX,
        }
    }
}

/// One response being read, reset for each request.
#[derive(Debug)]
pub(crate) struct Response {
    state: State,
    /// The request was a `HEAD`: the response has no body whatever its
    /// headers say.
    head_request: bool,
    pub status: u16,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
    /// Body bytes, after chunked decoding.
    pub body_bytes: u64,
    /// The body bytes the check needs (all of them for a substring check,
    /// a prefix for a prefix check), reused from response to response.
    pub seen: Vec<u8>,
    /// The last final head parsed, its bytes and what they say. A server
    /// sends the same head until its `Date` turns or a length changes, and
    /// the same bytes say the same: such a head is compared, not parsed
    /// again (a comparison costs tens of instructions, a parse about 900).
    last_head: Vec<u8>,
    last_framing: Option<Framing>,
}

/// What a final response head says that framing and counting need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Framing {
    status: u16,
    length: Option<u64>,
    transfer_coded: bool,
    chunked: bool,
    close: bool,
}

/// A head parsed.
enum Parsed {
    /// Not all there yet.
    Partial,
    /// An interim response (1xx) of this many bytes, before the final one.
    Interim(usize),
    /// A final response's head of this many bytes.
    Final(Framing, usize),
}

impl Response {
    pub fn new() -> Self {
        Self {
            state: State::Done,
            head_request: false,
            status: 0,
            keep_alive: false,
            body_bytes: 0,
            seen: Vec::new(),
            last_head: Vec::new(),
            last_framing: None,
        }
    }

    /// Starts reading the response to a new request.
    pub fn reset(&mut self, head_request: bool) {
        self.state = State::Head;
        self.head_request = head_request;
        self.status = 0;
        self.keep_alive = false;
        self.body_bytes = 0;
        self.seen.clear();
    }

    /// Takes what it can of `input` (the bytes received and not yet taken):
    /// returns how many bytes it took and whether the response is complete.
    /// Bytes not taken must be offered again, with more after them.
    pub fn advance(
        &mut self,
        input: &[u8],
        check: Option<&Check>,
    ) -> Result<(usize, bool), Malformed> {
        let mut taken = 0;
        loop {
            let rest = input.get(taken..).unwrap_or_default();
            match self.state {
                State::Done => return Ok((taken, true)),
                State::Head => match self.head(rest)? {
                    Some(n) => taken += n,
                    None => return Ok((taken, false)),
                },
                State::Body(body) => {
                    if rest.is_empty() {
                        return Ok((taken, false));
                    }
                    match self.body(body, rest, check)? {
                        Some(n) => taken += n,
                        None => return Ok((taken, false)),
                    }
                }
            }
        }
    }

    /// The server closed the connection: whether that completes the
    /// response (a body delimited by the close) or truncates it.
    pub fn closed(&mut self) -> Result<(), Malformed> {
        match self.state {
            State::Done => Ok(()),
            State::Body(Body::UntilClose) => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(Malformed::Truncated),
        }
    }

    /// Takes a whole head from `input`: the bytes it took, or `None` when
    /// the head is not all there yet.
    fn head(&mut self, input: &[u8]) -> Result<Option<usize>, Malformed> {
        let known = self.last_head.len();
        let (framing, n) = match self.last_framing {
            Some(f) if known > 0 && input.get(..known) == Some(self.last_head.as_slice()) => {
                (f, known)
            }
            _ => match parse_head(input)? {
                Parsed::Partial => return Ok(None),
                Parsed::Interim(n) => return Ok(Some(n)),
                Parsed::Final(f, n) => {
                    self.last_head.clear();
                    self.last_head
                        .extend_from_slice(input.get(..n).unwrap_or_default());
                    self.last_framing = Some(f);
                    (f, n)
                }
            },
        };
        let mut close = framing.close;
        self.status = framing.status;
        let no_body = self.head_request || framing.status == 204 || framing.status == 304;
        self.state = if no_body {
            State::Done
        } else if framing.transfer_coded {
            // Transfer-Encoding overrides Content-Length (RFC 9112, 6.3).
            if framing.chunked {
                State::Body(Body::Chunked(Chunk::Size))
            } else {
                close = true;
                State::Body(Body::UntilClose)
            }
        } else {
            match framing.length {
                Some(0) => State::Done,
                Some(l) => State::Body(Body::Length(l)),
                None => {
                    close = true;
                    State::Body(Body::UntilClose)
                }
            }
        };
        self.keep_alive = !close;
        Ok(Some(n))
    }

    /// Takes body bytes from `input` (not empty): the bytes taken, or
    /// `None` when more must arrive first.
    fn body(
        &mut self,
        body: Body,
        input: &[u8],
        check: Option<&Check>,
    ) -> Result<Option<usize>, Malformed> {
        match body {
            Body::Length(left) => {
                let n = take(left, input.len());
                self.data(input.get(..n).unwrap_or_default(), check);
                let left = left - n as u64;
                self.state = if left == 0 {
                    State::Done
                } else {
                    State::Body(Body::Length(left))
                };
                Ok(Some(n))
            }
            Body::UntilClose => {
                self.data(input, check);
                Ok(Some(input.len()))
            }
            Body::Chunked(chunk) => self.chunk(chunk, input, check),
        }
    }

    fn chunk(
        &mut self,
        chunk: Chunk,
        input: &[u8],
        check: Option<&Check>,
    ) -> Result<Option<usize>, Malformed> {
        match chunk {
            Chunk::Size => match httparse::parse_chunk_size(input) {
                Ok(httparse::Status::Complete((n, 0))) => {
                    self.state = State::Body(Body::Chunked(Chunk::Trailers));
                    Ok(Some(n))
                }
                Ok(httparse::Status::Complete((n, size))) => {
                    self.state = State::Body(Body::Chunked(Chunk::Data(size)));
                    Ok(Some(n))
                }
                Ok(httparse::Status::Partial) if input.len() >= CHUNK_LINE_LIMIT => {
                    Err(Malformed::BadChunk)
                }
                Ok(httparse::Status::Partial) => Ok(None),
                Err(_) => Err(Malformed::BadChunk),
            },
            Chunk::Data(left) => {
                let n = take(left, input.len());
                self.data(input.get(..n).unwrap_or_default(), check);
                let left = left - n as u64;
                self.state = State::Body(Body::Chunked(if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                }));
                Ok(Some(n))
            }
            Chunk::DataEnd => match crlf(input)? {
                Some(n) => {
                    self.state = State::Body(Body::Chunked(Chunk::Size));
                    Ok(Some(n))
                }
                None => Ok(None),
            },
            Chunk::Trailers => {
                // Trailer fields are ignored: skip lines up to an empty one.
                match input {
                    [b'\r', b'\n', ..] => {
                        self.state = State::Done;
                        return Ok(Some(2));
                    }
                    [b'\r'] => return Ok(None),
                    _ => {}
                }
                match find(input, b"\r\n") {
                    Some(end) => Ok(Some(end + 2)),
                    None if input.len() >= HEAD_LIMIT => Err(Malformed::HeadTooLarge),
                    None => Ok(None),
                }
            }
        }
    }

    fn data(&mut self, bytes: &[u8], check: Option<&Check>) {
        self.body_bytes += bytes.len() as u64;
        if let Some(check) = check {
            let keep = check.room(self.seen.len()).min(bytes.len());
            self.seen
                .extend_from_slice(bytes.get(..keep).unwrap_or_default());
        }
    }
}

/// `min(left, available)` as a `usize`.
/// Parses a response head at the start of `input`.
fn parse_head(input: &[u8]) -> Result<Parsed, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    let n = match parsed.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if input.len() >= HEAD_LIMIT => {
            return Err(Malformed::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(Malformed::HeadTooLarge),
        Err(_) => return Err(Malformed::Head),
    };
    if n > HEAD_LIMIT {
        return Err(Malformed::HeadTooLarge);
    }
    let status = parsed.code.ok_or(Malformed::Head)?;
    let http11 = parsed.version == Some(1);
    // Interim responses (100 Continue and the like) precede the real
    // one; 101 would switch protocols, which no request here asks for.
    if (100..200).contains(&status) {
        if status == 101 {
            return Err(Malformed::Head);
        }
        return Ok(Parsed::Interim(n));
    }
    let mut f = Framing {
        status,
        length: None,
        transfer_coded: false,
        chunked: false,
        close: !http11,
    };
    for h in parsed.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or(Malformed::BadLength)?;
            if f.length.is_some_and(|l| l != v) {
                return Err(Malformed::BadLength);
            }
            f.length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            f.transfer_coded = true;
            // Chunked must be the last coding for the length to be
            // known (RFC 9112, 6.3).
            f.chunked = last_token(h.value).eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    f.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                    f.close = false;
                }
            }
        }
    }
    Ok(Parsed::Final(f, n))
}

fn take(left: u64, available: usize) -> usize {
    usize::try_from(left).map_or(available, |l| l.min(available))
}

/// Whether `input` starts with CRLF (`Some(2)`), might (`None`: one byte
/// so far), or cannot: a chunk's data must end with CRLF.
fn crlf(input: &[u8]) -> Result<Option<usize>, Malformed> {
    match input {
        [b'\r', b'\n', ..] => Ok(Some(2)),
        [b'\r'] | [] => Ok(None),
        _ => Err(Malformed::BadChunk),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|&b| b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// One request kind's bytes: what never changes, rendered once.
#[derive(Debug, Clone)]
pub(crate) struct RequestHead {
    /// `METHOD ` and the URL's base path.
    pub start: Vec<u8>,
    /// ` HTTP/1.1`, the Host header and the kind's own headers, each line
    /// ending with CRLF, without the blank line.
    pub headers: Vec<u8>,
    /// Whether a `Content-Length` goes out even for an empty body.
    pub sends_length: bool,
}

impl RequestHead {
    /// Renders one request: `path` (already expanded) and `body` into
    /// `out`, which is cleared first.
    pub fn render(&self, path: &[u8], body: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.start);
        out.extend_from_slice(path);
        out.extend_from_slice(&self.headers);
        if self.sends_length || !body.is_empty() {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "content-length: {}\r\n", body.len());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }
}

#[cfg(test)]
mod tests;
