//! Redis URLs in messages: every place that shows one (errors, the pipeline's status, the
//! `Debug` of settings, the CLI) shows it through [`redact_url`].

/// `url` with its secrets replaced by `***`, for messages and logs: the password of
/// `user:password@`, and the values of `pass` and `password` query parameters (the way a
/// `redis+unix://` URL carries credentials). Everything else is shown as given, so the
/// message still says which server was meant.
///
/// ```
/// use tracing_redis::redact_url;
///
/// assert_eq!(redact_url("redis://app:s3cret@db:6379/0"), "redis://app:***@db:6379/0");
/// assert_eq!(
///     redact_url("redis+unix:///run/redis.sock?db=2&user=app&pass=s3cret"),
///     "redis+unix:///run/redis.sock?db=2&user=app&pass=***"
/// );
/// assert_eq!(redact_url("redis://db:6379/"), "redis://db:6379/");
/// ```
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(head);
    if let Some(query) = query {
        out.push('?');
        for (i, param) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match param.split_once('=') {
                Some((name, _))
                    if name.eq_ignore_ascii_case("pass")
                        || name.eq_ignore_ascii_case("password") =>
                {
                    out.push_str(name);
                    out.push_str("=***");
                }
                _ => out.push_str(param),
            }
        }
    }
    out
}

/// `scheme://user:***@rest` when the URL before its query has a password.
fn redact_userinfo(head: &str) -> String {
    let Some((scheme, rest)) = head.split_once("://") else {
        return head.to_owned();
    };
    // A unix socket URL has no authority: its path starts at once.
    if rest.starts_with('/') {
        return head.to_owned();
    }
    // The last `@`, so a password holding an unescaped `@` or `/` is still hidden whole.
    let Some(at) = rest.rfind('@') else {
        return head.to_owned();
    };
    let Some((user, _password)) = rest[..at].split_once(':') else {
        return head.to_owned();
    };
    format!("{scheme}://{user}:***{}", &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_the_authority_are_hidden() {
        assert_eq!(redact_url("redis://:s3cret@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact_url("redis://u:s3cret@h/"), "redis://u:***@h/");
        assert_eq!(redact_url("rediss://u:s3cret@h/"), "rediss://u:***@h/");
        assert_eq!(redact_url("redis://u:a@b/c@h/1"), "redis://u:***@h/1");
        assert_eq!(redact_url("redis://user@h/"), "redis://user@h/");
        assert_eq!(redact_url("redis://h:6379/"), "redis://h:6379/");
    }

    #[test]
    fn password_query_parameters_are_hidden() {
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?user=app&pass=s3cret"),
            "redis+unix:///tmp/r.sock?user=app&pass=***"
        );
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?pass=s3cret&db=1"),
            "redis+unix:///tmp/r.sock?pass=***&db=1"
        );
        assert_eq!(
            redact_url("redis://h/?Password=s3cret&protocol=resp3"),
            "redis://h/?Password=***&protocol=resp3"
        );
        assert_eq!(
            redact_url("redis://u:s3cret@h/0?pass=other"),
            "redis://u:***@h/0?pass=***"
        );
        assert_eq!(
            redact_url("redis+unix:///tmp/r@x.sock?db=1&passive=1"),
            "redis+unix:///tmp/r@x.sock?db=1&passive=1"
        );
        assert_eq!(redact_url("nope"), "nope");
    }
}
