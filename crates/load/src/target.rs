//! The URL of a run, checked and resolved once before the workers start.

use std::net::ToSocketAddrs as _;

use http::HeaderValue;

use crate::{LoadError, kind};

/// Parses the URL and resolves its host once.
pub(crate) fn target(url: &str) -> Result<kind::Target, LoadError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        LoadError::Url(format!(
            "'{url}' is not a valid URL ({e}); expected http://HOST[:PORT][/PATH]"
        ))
    })?;
    match parsed.scheme() {
        "http" => {}
        "https" => {
            return Err(LoadError::Url(
                "https is not supported: the load generator speaks plain HTTP/1.1".to_string(),
            ));
        }
        s => {
            return Err(LoadError::Url(format!(
                "'{url}': the scheme must be http, not '{s}'"
            )));
        }
    }
    if parsed.query().is_some() {
        return Err(LoadError::Url(format!(
            "'{url}': put the query in the request path, not in the URL"
        )));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| LoadError::Url(format!("'{url}' names no host")))?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let lookup = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (lookup, port)
        .to_socket_addrs()
        .map_err(|cause| LoadError::Resolve {
            host: host.clone(),
            cause,
        })?
        .next()
        .ok_or_else(|| LoadError::Resolve {
            host: host.clone(),
            cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        })?;
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let host_header = HeaderValue::from_str(&authority)
        .map_err(|_| LoadError::Url(format!("'{url}': the host is not a valid header value")))?;
    Ok(kind::Target {
        addr,
        host: host_header,
        base_path: parsed.path().trim_end_matches('/').to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let t = target("http://127.0.0.1:8080/api/").unwrap();
        assert_eq!(t.base_path, "/api");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(target("http://127.0.0.1").unwrap().addr.port(), 80);
        assert!(
            target("https://127.0.0.1")
                .unwrap_err()
                .to_string()
                .contains("https")
        );
        assert!(target("127.0.0.1:80").is_err());
        assert!(target("http://127.0.0.1/?a=1").is_err());
    }
}
