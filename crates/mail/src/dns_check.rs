//! Checks the organisation's own published records — SPF, the DKIM key Palisade signs
//! with, DMARC — so an operator learns before a customer does that mail "from" the
//! support domain could be forged, or that Palisade's own mail will fail DMARC. The
//! judgements are pure functions of the records (unit-tested); the lookups use the
//! same configured nameservers as the sender verdict.

use std::net::IpAddr;

use mail_auth::SpfResult;
use mail_auth::spf::verify::SpfParameters;

use crate::SenderVerifier;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// `SPF`, `DKIM` or `DMARC`.
    pub record: &'static str,
    pub text: String,
}

fn finding(level: Level, record: &'static str, text: impl Into<String>) -> Finding {
    Finding {
        level,
        record,
        text: text.into(),
    }
}

/// What to check for one domain.
pub struct OwnDomainCheck {
    pub domain: String,
    /// With `dkim_public_key`, the key the record must publish (base64 SPKI, as in
    /// `p=`); without a selector DKIM is not checked.
    pub dkim_selector: Option<String>,
    pub dkim_public_key: Option<String>,
    /// A DKIM rotation under way: the selector and key (base64 SPKI) to sign with next,
    /// whose record must be published before the switch.
    pub dkim_next: Option<(String, String)>,
    /// Selectors signed with before the last switch, kept published for the overlap.
    pub dkim_retired: Vec<String>,
    /// Addresses Palisade's mail leaves from (the relay); SPF must authorise each.
    pub relay_ips: Vec<IpAddr>,
}

impl SenderVerifier {
    /// Looks the records up and judges them, worst first.
    pub async fn check_own_domain(&self, check: &OwnDomainCheck) -> Vec<Finding> {
        let domain = check.domain.trim_end_matches('.').to_ascii_lowercase();
        let mut findings = evaluate_spf(&self.txt(&domain).await);
        for ip in &check.relay_ips {
            let sender = format!("postmaster@{domain}");
            let spf = self
                .authenticator()
                .verify_spf(SpfParameters::verify_mail_from(*ip, &domain, &domain, &sender))
                .await;
            findings.push(if spf.result() == SpfResult::Pass {
                finding(Level::Ok, "SPF", format!("authorises the relay address {ip}"))
            } else {
                finding(
                    Level::Fail,
                    "SPF",
                    format!(
                        "does not authorise the relay address {ip} (result: {:?})",
                        spf.result()
                    ),
                )
            });
        }
        match &check.dkim_selector {
            Some(selector) => {
                let name = format!("{selector}._domainkey.{domain}");
                findings.extend(evaluate_dkim(
                    &name,
                    &self.txt(&name).await,
                    check.dkim_public_key.as_deref(),
                ));
            }
            None => findings.push(finding(
                Level::Warn,
                "DKIM",
                "no selector configured: Palisade's mail is not signed, so it passes DMARC only through SPF",
            )),
        }
        if let Some((selector, key)) = &check.dkim_next {
            let name = format!("{selector}._domainkey.{domain}");
            findings.extend(
                evaluate_dkim(&name, &self.txt(&name).await, Some(key))
                    .into_iter()
                    .map(|f| match f.level {
                        Level::Ok => finding(
                            Level::Ok,
                            "DKIM",
                            format!("{name} publishes the next signing key: ready to switch"),
                        ),
                        _ => Finding {
                            text: format!("next key: {} (publish it before switching)", f.text),
                            ..f
                        },
                    }),
            );
        }
        for selector in &check.dkim_retired {
            let name = format!("{selector}._domainkey.{domain}");
            // A record with an empty `p=` is a revocation, not a published key.
            let published = self.txt(&name).await.iter().any(|r| {
                r.split(';')
                    .filter_map(|t| t.split_once('='))
                    .any(|(k, v)| k.trim().eq_ignore_ascii_case("p") && !v.trim().is_empty())
            });
            findings.push(if published {
                finding(
                    Level::Ok,
                    "DKIM",
                    format!("{name} (retired) is still published: mail signed before the switch verifies"),
                )
            } else {
                finding(
                    Level::Warn,
                    "DKIM",
                    format!(
                        "{name} (retired) is gone: mail signed with it no longer verifies; \
                         remove it from dkim_retired_selectors once that is intended"
                    ),
                )
            });
        }
        findings.extend(evaluate_dmarc(&self.txt(&format!("_dmarc.{domain}")).await));
        findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        findings
    }

    /// The TXT records at `name`, each with its strings joined; none on any error.
    async fn txt(&self, name: &str) -> Vec<String> {
        let Ok(lookup) = self
            .authenticator()
            .resolver()
            .txt_lookup(format!("{name}."))
            .await
        else {
            return Vec::new();
        };
        lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                mail_auth::hickory_resolver::proto::rr::RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()
    }
}

/// One `v=spf1` record that ends by refusing everyone else.
pub fn evaluate_spf(records: &[String]) -> Vec<Finding> {
    let spf: Vec<&String> = records
        .iter()
        .filter(|r| r.to_ascii_lowercase().starts_with("v=spf1"))
        .collect();
    match spf.as_slice() {
        [] => vec![finding(
            Level::Fail,
            "SPF",
            "no SPF record: receivers cannot tell your relay from anyone else's",
        )],
        [record] => {
            let last = record
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_ascii_lowercase();
            vec![match last.as_str() {
                "-all" => finding(Level::Ok, "SPF", record.to_string()),
                "~all" => finding(
                    Level::Warn,
                    "SPF",
                    format!("{record} — softfail (~all); prefer -all once every sender is listed"),
                ),
                _ if last.starts_with("redirect=") => finding(Level::Ok, "SPF", record.to_string()),
                _ => finding(
                    Level::Fail,
                    "SPF",
                    format!("{record} — does not end in -all, so any host may send as the domain"),
                ),
            }]
        }
        _ => vec![finding(
            Level::Fail,
            "SPF",
            format!("{} SPF records: RFC 7208 makes that a permanent error", spf.len()),
        )],
    }
}

/// The DKIM key record exists, is usable, and publishes the key Palisade signs with.
pub fn evaluate_dkim(name: &str, records: &[String], expected_key: Option<&str>) -> Vec<Finding> {
    let Some(record) = records.iter().find(|r| r.contains("p=")) else {
        return vec![finding(Level::Fail, "DKIM", format!("no key record at {name}"))];
    };
    let tags: Vec<(String, String)> = record
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.chars().filter(|c| !c.is_whitespace()).collect(),
            )
        })
        .collect();
    let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let published = tag("p").unwrap_or_default();
    if published.is_empty() {
        return vec![finding(
            Level::Fail,
            "DKIM",
            format!("the key at {name} is revoked (empty p=)"),
        )];
    }
    if tag("t").is_some_and(|t| t.split(':').any(|f| f == "y")) {
        return vec![finding(
            Level::Warn,
            "DKIM",
            format!("{name} is in test mode (t=y): receivers may ignore its signatures"),
        )];
    }
    match expected_key {
        Some(expected) if expected != published => vec![finding(
            Level::Fail,
            "DKIM",
            format!("{name} publishes a different key from the one in dkim_key_file: signatures will fail"),
        )],
        Some(_) => vec![finding(
            Level::Ok,
            "DKIM",
            format!("{name} publishes the signing key"),
        )],
        None => vec![finding(
            Level::Ok,
            "DKIM",
            format!("{name} publishes a key (not compared: no key file given)"),
        )],
    }
}

/// `p=reject` on the organisation's domain is what stops others sending as it.
pub fn evaluate_dmarc(records: &[String]) -> Vec<Finding> {
    let dmarc: Vec<&String> = records
        .iter()
        .filter(|r| r.to_ascii_lowercase().starts_with("v=dmarc1"))
        .collect();
    let [record] = dmarc.as_slice() else {
        return vec![finding(
            Level::Fail,
            "DMARC",
            if dmarc.is_empty() {
                "no DMARC record: receivers apply no policy to forgeries of the domain".to_owned()
            } else {
                "several DMARC records: receivers ignore them all".to_owned()
            },
        )];
    };
    let tags: Vec<(String, String)> = record
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let mut out = vec![match tag("p") {
        Some("reject") => finding(Level::Ok, "DMARC", record.to_string()),
        Some("quarantine") => finding(
            Level::Warn,
            "DMARC",
            format!("{record} — p=quarantine: forgeries land in spam folders rather than being refused"),
        ),
        _ => finding(
            Level::Fail,
            "DMARC",
            format!("{record} — p=none (or missing): forgeries of the domain are delivered"),
        ),
    }];
    if let Some(pct) = tag("pct").and_then(|p| p.parse::<u8>().ok()).filter(|p| *p < 100) {
        out.push(finding(
            Level::Warn,
            "DMARC",
            format!("pct={pct}: the policy applies to only part of the forged mail"),
        ));
    }
    if tag("sp") == Some("none") {
        out.push(finding(
            Level::Warn,
            "DMARC",
            "sp=none: forgeries of subdomains are delivered",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(findings: &[Finding]) -> Vec<Level> {
        findings.iter().map(|f| f.level).collect()
    }

    fn strings(records: &[&str]) -> Vec<String> {
        records.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn spf_must_be_one_record_refusing_everyone_else() {
        assert_eq!(
            levels(&evaluate_spf(&strings(&["v=spf1 ip4:192.0.2.1 -all"]))),
            [Level::Ok]
        );
        assert_eq!(
            levels(&evaluate_spf(&strings(&["v=spf1 mx ~all"]))),
            [Level::Warn]
        );
        assert_eq!(levels(&evaluate_spf(&strings(&["v=spf1 +all"]))), [Level::Fail]);
        assert_eq!(
            levels(&evaluate_spf(&strings(&["v=spf1 mx ?all"]))),
            [Level::Fail]
        );
        assert_eq!(
            levels(&evaluate_spf(&strings(&["v=spf1 redirect=_spf.example.com"]))),
            [Level::Ok]
        );
        assert_eq!(
            levels(&evaluate_spf(&strings(&["google-site-verification=x"]))),
            [Level::Fail]
        );
        assert_eq!(
            levels(&evaluate_spf(&strings(&["v=spf1 -all", "v=spf1 mx -all"]))),
            [Level::Fail]
        );
    }

    #[test]
    fn dkim_must_publish_the_signing_key() {
        let name = "palisade._domainkey.example.com";
        let record = strings(&["v=DKIM1; k=rsa; p=MIIBIjAN Bgkq"]);
        assert_eq!(
            levels(&evaluate_dkim(name, &record, Some("MIIBIjANBgkq"))),
            [Level::Ok]
        );
        assert_eq!(
            levels(&evaluate_dkim(name, &record, Some("OTHER"))),
            [Level::Fail]
        );
        assert_eq!(levels(&evaluate_dkim(name, &record, None)), [Level::Ok]);
        assert_eq!(levels(&evaluate_dkim(name, &[], Some("x"))), [Level::Fail]);
        assert_eq!(
            levels(&evaluate_dkim(name, &strings(&["v=DKIM1; p="]), None)),
            [Level::Fail]
        );
        assert_eq!(
            levels(&evaluate_dkim(
                name,
                &strings(&["v=DKIM1; t=y; p=abc"]),
                Some("abc")
            )),
            [Level::Warn]
        );
    }

    #[test]
    fn dmarc_must_reject_forgeries() {
        assert_eq!(
            levels(&evaluate_dmarc(&strings(&["v=DMARC1; p=reject"]))),
            [Level::Ok]
        );
        assert_eq!(
            levels(&evaluate_dmarc(&strings(&["v=DMARC1; p=quarantine; pct=50"]))),
            [Level::Warn, Level::Warn]
        );
        assert_eq!(
            levels(&evaluate_dmarc(&strings(&["v=DMARC1; p=none"]))),
            [Level::Fail]
        );
        assert_eq!(
            levels(&evaluate_dmarc(&strings(&["v=DMARC1; p=reject; sp=none"]))),
            [Level::Ok, Level::Warn]
        );
        assert_eq!(levels(&evaluate_dmarc(&[])), [Level::Fail]);
    }
}
