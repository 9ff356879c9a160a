//! Where requests go: parsing a configured URL, refusing plain `http://` to a host that is not
//! loopback (credentials would cross the network unencrypted) unless the store allows it, and
//! showing a URL without its query string or user info.

use std::net::IpAddr;

use url::{Host, Url};

/// Why a URL cannot be used for credentialed requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("not a URL ({0}); use the address the channel gave, such as https://store.example/shipstation")]
    Malformed(String),
    /// Not http or https, or no host.
    #[error("must be an http or https URL with a host, such as https://store.example/shipstation")]
    NotHttp,
    /// Plain http to a host that is not loopback, not allowed.
    #[error("plain http:// would send the credentials unencrypted to {host}; use https://, or set allow_insecure_http = true for this store if the network is trusted")]
    Insecure {
        /// The host.
        host: String,
    },
}

/// Parses a configured URL and checks it with [`check`].
pub fn parse(text: &str, allow_insecure_http: bool) -> Result<Url, EndpointError> {
    let url = Url::parse(text.trim()).map_err(|e| EndpointError::Malformed(e.to_string()))?;
    check(&url, allow_insecure_http)?;
    Ok(url)
}

/// Checks that `url` may carry credentials: `https`; or `http` to a loopback host (`localhost`,
/// `127.0.0.0/8`, `::1`), where nothing crosses the network; or `http` anywhere when
/// `allow_insecure_http` is set.
pub fn check(url: &Url, allow_insecure_http: bool) -> Result<(), EndpointError> {
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(EndpointError::NotHttp);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(EndpointError::Insecure {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        _ => Err(EndpointError::NotHttp),
    }
}

/// Whether the URL's host is this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `scheme://host[:port]/path`: a URL as it may be shown, without user info, query or fragment,
/// any of which can hold a credential.
pub fn display(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    )
}

/// `base` with `segment` appended to its path (keeping the base's path); `None` for a URL that
/// cannot hold a path.
pub fn join(base: &Url, segment: &str) -> Option<Url> {
    let mut url = base.clone();
    url.path_segments_mut().ok()?.pop_if_empty().push(segment);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_fine_remote_http_is_refused() {
        for ok in [
            "https://store.example/ss",
            "http://127.0.0.1:8080/ss",
            "http://127.3.2.1/ss",
            "http://localhost/ss",
            "http://[::1]:9/ss",
        ] {
            assert_eq!(parse(ok, false).map(|_| ()), Ok(()), "{ok}");
        }
        let err = parse("http://store.example/ss", false).unwrap_err();
        assert_eq!(
            err,
            EndpointError::Insecure {
                host: "store.example".into()
            }
        );
        assert!(err.to_string().contains("allow_insecure_http = true"));
        assert!(parse("http://store.example/ss", true).is_ok());
        assert!(parse("http://10.0.0.5/ss", false).is_err());
        assert_eq!(parse("ftp://x/y", true), Err(EndpointError::NotHttp));
        assert!(matches!(
            parse("not a url", true),
            Err(EndpointError::Malformed(_))
        ));
    }

    #[test]
    fn display_drops_credentials_and_join_keeps_the_path() {
        let url = Url::parse("https://u:p@h.example:8443/api/?SS-Password=x#frag").unwrap();
        assert_eq!(display(&url), "https://h.example:8443/api/");
        let base = Url::parse("https://h.example/api").unwrap();
        assert_eq!(
            join(&base, "list").unwrap().as_str(),
            "https://h.example/api/list"
        );
        let slash = Url::parse("https://h.example/api/").unwrap();
        assert_eq!(
            join(&slash, "list").unwrap().as_str(),
            "https://h.example/api/list"
        );
    }
}
