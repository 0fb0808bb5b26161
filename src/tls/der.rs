//! The certificate validity dates, read from DER without a parser dependency.

#[allow(unused_imports)]
use super::*;

/// `notBefore` and `notAfter` of a DER certificate, in seconds since the UNIX epoch.
pub(super) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (certificate, _) = der_element(der, 0x30)?;
    let (tbs, _) = der_element(certificate, 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xA0) {
        rest = der_any(rest)?.2; // version
    }
    rest = der_any(rest)?.2; // serial number
    rest = der_any(rest)?.2; // signature algorithm
    rest = der_any(rest)?.2; // issuer
    let (validity, _) = der_element(rest, 0x30)?;
    let (not_before, rest) = der_time(validity)?;
    let (not_after, _) = der_time(rest)?;
    Some((not_before, not_after))
}

/// One DER element: (tag, content, what follows).
pub(super) fn der_any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = input.get(2..2 + n)?;
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

pub(super) fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = der_any(input)?;
    (t == tag).then_some((content, rest))
}

/// A UTCTime or GeneralizedTime (`...Z`) as seconds since the UNIX epoch.
pub(super) fn der_time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, text, rest) = der_any(input)?;
    let digits = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |a, b| {
            b.is_ascii_digit().then(|| a * 10 + i64::from(b - b'0'))
        })
    };
    let (year, tail) = match (tag, text.len()) {
        (0x17, 13) => {
            let yy = digits(text.get(0..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        (0x18, 15) => (digits(text.get(0..4)?)?, text.get(4..)?),
        _ => return None,
    };
    if tail.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| digits(tail.get(i..i + 2)?);
    let (month, day) = (field(0)?, field(2)?);
    let (h, m, s) = (field(4)?, field(6)?, field(8)?);
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + h * 3600 + m * 60 + s, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the UNIX epoch as `YYYY-MM-DD hh:mm:ss UTC`.
pub(super) fn utc(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let tod = secs.rem_euclid(86_400);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
        assert_eq!(utc(4_102_444_800), "2100-01-01 00:00:00 UTC");
    }

    #[test]
    fn der_times_of_both_encodings_are_read() {
        let utc_time = b"\x17\x0d491231235959Z";
        assert_eq!(der_time(utc_time).map(|t| t.0), Some(2_524_607_999));
        let generalized = b"\x18\x0f20500101000000Z";
        assert_eq!(der_time(generalized).map(|t| t.0), Some(2_524_608_000));
        assert_eq!(der_time(b"\x17\x0d49123123595xZ"), None);
        assert_eq!(der_time(b"\x17\x05"), None);
    }

    #[test]
    fn truncated_or_hostile_der_yields_no_validity() {
        assert_eq!(validity(&[]), None);
        assert_eq!(validity(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(validity(&[0x30, 0x02, 0x30, 0x00]), None);
        assert_eq!(validity(&[0x30, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    /// A self-signed P-256 certificate made by `openssl req -x509 -days 1`.
    const OPENSSL_CERT: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBbTCCAROgAwIBAgIUZMAKJE65CSvSAMhtCwJ/grBfW3owCgYIKoZIzj0EAwIw\n\
DDEKMAgGA1UEAwwBeDAeFw0yNjExMjQxNzM0NTBaFw0yNjExMjUxNzM0NTBaMAwx\n\
CjAIBgNVBAMMAXgwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATWkeebj+P596zE\n\
z9KyXMBv4hfEBjwtJwsGoMQJwtAZSLPGg06m06+serkE7EuDFOpY0Z22TGT5kc++\n\
CvXtyAFmo1MwUTAdBgNVHQ4EFgQUqwN9BWwYdaB/9YC+vumDQC/7dTswHwYDVR0j\n\
BBgwFoAUqwN9BWwYdaB/9YC+vumDQC/7dTswDwYDVR0TAQH/BAUwAwEB/zAKBggq\n\
hkjOPQQDAgNIADBFAiBsy5ipFXrlLP9C1rfxVJaz5qf2Gz03MQ20byyk5kpE2AIh\n\
AJzSOg9uRSx4iUxaVGwChBzlWB3+zX+T99bybbhhJrKo\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn the_validity_of_a_real_certificate_is_read() {
        let cert = CertificateDer::from_pem_slice(OPENSSL_CERT.as_bytes()).unwrap();
        assert_eq!(validity(&cert), Some((1_795_541_690, 1_795_628_090)));
        assert_eq!(utc(1_795_541_690), "2026-11-24 17:34:50 UTC");
    }
}
