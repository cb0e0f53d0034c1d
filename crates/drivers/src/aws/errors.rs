//! How AWS answers become [`DriverError`]s: error codes (EC2 and S3 share
//! one scheme), HTTP status codes when there is no code, and transport
//! failures (time-outs, refused connections) when there is no answer.

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::DriverError;

/// Credentials or the signature were rejected, or the credentials may not
/// do this.
const UNAUTHORIZED: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
];

/// The provider says no: limits, capacity, account state, names taken.
const REFUSED: &[&str] = &[
    "InstanceLimitExceeded",
    "VcpuLimitExceeded",
    "InsufficientInstanceCapacity",
    "InsufficientHostCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientFreeAddressesInSubnet",
    "MaxSpotInstanceCountExceeded",
    "ResourceLimitExceeded",
    "OptInRequired",
    "PendingVerification",
    "Blocked",
    "OperationNotPermitted",
    "IncorrectInstanceState",
    "IncorrectState",
    "TooManyBuckets",
    "BucketAlreadyExists",
    "BucketNotEmpty",
    "OperationAborted",
];

/// Gone (for reads the driver turns these into `Ok(None)` itself).
const NOT_FOUND: &[&str] = &[
    "InvalidInstanceID.NotFound",
    "InvalidInstanceID.Malformed",
    "NoSuchBucket",
    "NotFound",
];

/// Worth asking again later.
const UNAVAILABLE: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "Unavailable",
    "InternalError",
    "InternalFailure",
    "ServerInternal",
];

/// Something in the request was wrong (besides the lists above, every
/// code starting with `Invalid` or `Malformed`).
const INVALID: &[&str] = &[
    "MissingParameter",
    "UnknownParameter",
    "Unsupported",
    "UnsupportedOperation",
    "ValidationError",
    "VPCIdNotSpecified",
    "IllegalLocationConstraintException",
];

/// The [`DriverError`] for an AWS error `code` (with its `message` and the
/// HTTP `status`) met while doing `what` ("run 2 × t3.micro for key …").
/// Every message names `what` and carries the provider's own words.
pub fn classify(
    what: &str,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
) -> DriverError {
    let code = code.filter(|c| !c.is_empty());
    let said = match (code, message.filter(|m| !m.is_empty())) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => match status {
            Some(s) => format!("HTTP {s}"),
            None => "no details".to_owned(),
        },
    };
    let text = format!("{what}: {said}");
    if let Some(c) = code {
        if UNAUTHORIZED.contains(&c) {
            return DriverError::Unauthorized(text);
        }
        if NOT_FOUND.contains(&c) {
            return DriverError::NotFound(text);
        }
        if REFUSED.contains(&c) {
            return DriverError::Refused(text);
        }
        if UNAVAILABLE.contains(&c) {
            return DriverError::Unavailable(text);
        }
        if INVALID.contains(&c) || c.starts_with("Invalid") || c.starts_with("Malformed") {
            return DriverError::Invalid(text);
        }
    }
    match status {
        Some(401 | 403) => DriverError::Unauthorized(text),
        Some(404) => DriverError::NotFound(text),
        Some(408) => DriverError::Timeout,
        Some(429) => DriverError::Unavailable(text),
        Some(s) if s >= 500 => DriverError::Unavailable(text),
        Some(400) => DriverError::Invalid(text),
        _ => DriverError::Refused(text),
    }
}

/// The causes of an error, outermost first, without repeats.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let m = err.to_string();
        if !m.is_empty() && !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        cur = err.source();
    }
    let joined = parts.join(": ");
    joined.chars().take(400).collect()
}

/// Maps an SDK error (EC2 or S3: both use this type) met while doing
/// `what`.
pub fn sdk_error<E>(what: &str, e: SdkError<E, HttpResponse>) -> DriverError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::TimeoutError(_) => DriverError::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => DriverError::Timeout,
        SdkError::DispatchFailure(_) => {
            DriverError::Unavailable(format!("{what}: cannot reach the provider: {}", causes(&e)))
        }
        SdkError::ResponseError(r) => DriverError::Unavailable(format!(
            "{what}: unreadable answer (HTTP {}): {}",
            r.raw().status().as_u16(),
            causes(&e)
        )),
        SdkError::ServiceError(s) => {
            classify(what, e.code(), e.message(), Some(s.raw().status().as_u16()))
        }
        SdkError::ConstructionFailure(_) => DriverError::Invalid(format!(
            "{what}: the request could not be built: {}",
            causes(&e)
        )),
        _ => DriverError::Unavailable(format!("{what}: {}", causes(&e))),
    }
}

/// The HTTP status of an SDK error, if there was an answer.
pub fn status_of<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str, status: u16) -> DriverError {
        classify(
            "run 2 × t3.micro for key k",
            Some(code),
            Some("the words"),
            Some(status),
        )
    }

    #[test]
    fn credentials_problems_are_unauthorized() {
        for code in [
            "AuthFailure",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
        ] {
            assert_eq!(
                c(code, 401),
                DriverError::Unauthorized(format!("run 2 × t3.micro for key k: {code}: the words"))
            );
        }
        assert!(matches!(
            c("UnauthorizedOperation", 403),
            DriverError::Unauthorized(_)
        ));
    }

    #[test]
    fn limits_and_capacity_are_refusals_with_the_providers_message() {
        for code in [
            "InstanceLimitExceeded",
            "VcpuLimitExceeded",
            "InsufficientInstanceCapacity",
        ] {
            match c(code, 400) {
                DriverError::Refused(m) => {
                    assert!(
                        m.contains(code) && m.contains("the words") && m.contains("t3.micro"),
                        "{m}"
                    )
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn missing_things_bad_requests_and_outages() {
        assert!(matches!(
            c("InvalidInstanceID.NotFound", 400),
            DriverError::NotFound(_)
        ));
        assert!(matches!(c("NoSuchBucket", 404), DriverError::NotFound(_)));
        assert!(matches!(
            c("InvalidParameterValue", 400),
            DriverError::Invalid(_)
        ));
        assert!(matches!(
            c("InvalidInstanceType", 400),
            DriverError::Invalid(_)
        ));
        assert!(matches!(
            c("InvalidAMIID.NotFound", 400),
            DriverError::Invalid(_)
        ));
        assert!(matches!(
            c("RequestLimitExceeded", 503),
            DriverError::Unavailable(_)
        ));
        assert!(matches!(
            c("SomethingNew", 502),
            DriverError::Unavailable(_)
        ));
        assert!(matches!(c("SomethingNew", 409), DriverError::Refused(_)));
        assert_eq!(
            classify("head bucket b", None, None, Some(404)),
            DriverError::NotFound("head bucket b: HTTP 404".into())
        );
        assert!(matches!(
            classify("x", None, None, Some(403)),
            DriverError::Unauthorized(_)
        ));
        assert!(matches!(
            classify("x", None, None, Some(500)),
            DriverError::Unavailable(_)
        ));
        assert_eq!(classify("x", None, None, Some(408)), DriverError::Timeout);
    }
}
