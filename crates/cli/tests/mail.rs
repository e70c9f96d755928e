//! The real binary's mail: the outbox worker, configured by a `[mail]` table, delivering
//! a password reset to an SMTP sink on loopback (the emailed link then sets the
//! password), and the inbound listener, configured by `[smtp]` and `[[mailbox]]`,
//! taking mail from `swaks` into a ticket or the quarantine, and `palisade ingest`
//! taking it from an MTA pipe.

mod common;

use std::time::Duration;

use common::{PASSWORD, TestDir, free_port, query_i64, random_hex};
use palisade_testkit::smtp::{SinkTls, SmtpSink};
use serde_json::json;

#[tokio::test]
async fn a_password_reset_is_emailed_through_the_configured_relay() {
    let sink = SmtpSink::start(SinkTls::None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = TestDir::new("mail");
    let config = dir.data_dir().with_extension("toml");
    std::fs::create_dir_all(dir.data_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &config,
        format!(
            "[mail]\nrelay_host = \"127.0.0.1\"\nrelay_port = {}\nrelay_tls = \"none\"\n\
             from_address = \"support@desk.example\"\nfrom_name = \"Desk\"\n",
            sink.port()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
    let setup = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let form = "application/x-www-form-urlencoded";
    let saved = server
        .post(&format!("/setup/{setup}"), form, &format!("password={PASSWORD}"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(saved.status, 200);

    let asked = server
        .post_json("/api/v1/password-resets", &json!({ "email": "ada@example.com" }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(asked.status, 202);
    let mails = sink
        .wait_for(1, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    assert_eq!(mails[0].rcpt_to, ["ada@example.com"]);
    // VERP: the envelope sender names this message, for bounces.
    assert!(
        mails[0].mail_from.starts_with("support+b") && mails[0].mail_from.ends_with("@desk.example"),
        "{}",
        mails[0].mail_from
    );
    let text = String::from_utf8_lossy(&mails[0].data).into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/setup/", server.origin)))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let path = link.trim_start_matches(server.origin.as_str());
    let reset = server
        .post(path, form, "password=an+entirely+new+passphrase")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(reset.status, 200, "{}", reset.text());
    let signed = server
        .post_json(
            "/api/v1/sessions",
            &json!({ "email": "ada@example.com", "password": "an entirely new passphrase" }),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(signed.status, 201);
    assert_eq!(signed.json()["stage"], "enrol", "staff still owe a second factor");
}

#[tokio::test]
async fn mail_to_a_support_mailbox_opens_a_ticket_and_forged_mail_is_held() {
    let dns = palisade_testkit::dns::DnsServer::start(&[("customer.test", "v=spf1 ip4:127.0.0.2 -all")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let smtp_port = free_port();
    let dir = TestDir::new("smtp");
    let config = dir.data_dir().with_extension("toml");
    std::fs::write(
        &config,
        format!(
            "[smtp]\nlisten = \"127.0.0.1:{smtp_port}\"\nnameservers = [\"{}\"]\n\n\
             [[mailbox]]\naddress = \"support@desk.test\"\nteam = \"Support\"\n",
            dns.addr
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
    dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let swaks = |ip: &'static str| {
        let port = smtp_port.to_string();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("swaks")
                .args([
                    "--server",
                    "127.0.0.1",
                    "--port",
                    &port,
                    "--local-interface",
                    ip,
                    "--tls",
                ])
                .args(["--ehlo", "client.customer.test", "--timeout", "20"])
                .args(["--from", "ann@customer.test", "--to", "support@desk.test"])
                .output()
                .unwrap_or_else(|e| panic!("swaks: {e}"))
        })
    };
    let genuine = swaks("127.0.0.2").await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        genuine.status.success(),
        "{}\n--- server log\n{}",
        String::from_utf8_lossy(&genuine.stdout),
        server.log()
    );
    let forged = swaks("127.0.0.9").await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        forged.status.success(),
        "{}",
        String::from_utf8_lossy(&forged.stdout)
    );
    assert_eq!(query_i64(&dir, "SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM quarantine WHERE status = 'held'").await,
        1
    );
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM users WHERE role = 'customer'").await,
        1,
        "Ann became a customer; the forger created nothing"
    );
}

/// `palisade ingest` behind an MTA: the same decisions as the listener, answered with
/// the exit statuses a Postfix `pipe` transport understands.
#[tokio::test]
async fn ingest_takes_one_message_from_an_mta_with_sysexits_answers() {
    let dns = palisade_testkit::dns::DnsServer::start(&[("customer.test", "v=spf1 ip4:127.0.0.2 -all")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = TestDir::new("ingest");
    let config = dir.data_dir().with_extension("toml");
    // No `listen`: mail arrives only through the pipe.
    std::fs::write(
        &config,
        format!(
            "[smtp]\nnameservers = [\"{}\"]\n\n[[mailbox]]\naddress = \"support@desk.test\"\nteam = \"Support\"\n",
            dns.addr
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
    dir.create_admin("ada@example.com", "Ada");
    let ingest = |ip: &str, mail_from: &str, rcpt: &str, message: &str| {
        let path = dir.data_dir().with_extension(format!("msg-{}", random_hex(4)));
        std::fs::write(&path, message).unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = dir.command(&[
            "ingest",
            "--client-ip",
            ip,
            "--helo",
            "mx.customer.test",
            "--mail-from",
            mail_from,
            "--rcpt",
            rcpt,
        ]);
        cmd.stdin(std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}")));
        let out = dir.run_command(cmd, "ingest");
        (out.status.code().unwrap_or(-1), out.stderr)
    };
    // The MTA hands over LF line endings.
    let genuine = "From: Ann <ann@customer.test>\nTo: support@desk.test\nSubject: Refund\nMessage-ID: <i1@customer.test>\n\nPlease refund order 7.\n";
    let (code, err) = ingest("127.0.0.2", "ann@customer.test", "support@desk.test", genuine);
    assert_eq!(code, 0, "{err}");
    // The same message again (the MTA retried after a lost answer): taken, stored once.
    let (code, err) = ingest("127.0.0.2", "ann@customer.test", "support@desk.test", genuine);
    assert_eq!(code, 0, "{err}");
    assert_eq!(query_i64(&dir, "SELECT COUNT(*) FROM tickets").await, 1);

    // Forged (not from Ann's authorised address): held, not refused, no backscatter.
    let forged = genuine.replace("i1@", "i2@");
    let (code, err) = ingest("127.0.0.9", "ann@customer.test", "support@desk.test", &forged);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM quarantine WHERE status = 'held'").await,
        1
    );
    // Unknown and guessed recipients: EX_NOUSER.
    for rcpt in [
        "sales@desk.test",
        "support+id1@desk.test",
        "support+raaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@desk.test",
    ] {
        let (code, err) = ingest("127.0.0.2", "ann@customer.test", rcpt, genuine);
        assert_eq!(code, 67, "{rcpt}: {err}");
        assert!(err.contains("550 5.1.1"), "{err}");
    }
    // Mixed line endings (the smuggling ambiguity) and several From: EX_DATAERR.
    let smuggled =
        "From: ann@customer.test\r\nTo: support@desk.test\r\n\r\nhi\n.\r\nMAIL FROM:<x@y.test>\r\n";
    let (code, err) = ingest("127.0.0.2", "ann@customer.test", "support@desk.test", smuggled);
    assert_eq!(code, 65, "{err}");
    let two_from = "From: ann@customer.test\nFrom: eve@evil.test\nTo: support@desk.test\n\nhi\n";
    let (code, err) = ingest("127.0.0.2", "ann@customer.test", "support@desk.test", two_from);
    assert_eq!(code, 65, "{err}");
    // An envelope sender with a comment: refused before anything is read.
    let (code, err) = ingest(
        "127.0.0.2",
        "ann@customer.test(.evil.test)",
        "support@desk.test",
        genuine,
    );
    assert_eq!(code, 65, "{err}");
    // The organisation's own domain from outside: EX_NOPERM.
    let own = "From: payroll@desk.test\nTo: support@desk.test\nSubject: x\n\nhi\n";
    let (code, err) = ingest("127.0.0.9", "payroll@desk.test", "support@desk.test", own);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("5.7.1"), "{err}");
    // DNS failing for the sender's domain: EX_TEMPFAIL, so the MTA keeps it and retries.
    let broken = "From: bob@x.broken.test\nTo: support@desk.test\nSubject: x\n\nhi\n";
    let (code, err) = ingest("127.0.0.2", "bob@x.broken.test", "support@desk.test", broken);
    assert_eq!(code, 75, "{err}");
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM tickets").await,
        1,
        "nothing else became a ticket"
    );
}

/// `palisade dns check` against dnsmasq: a well-configured domain passes, with the
/// published DKIM key compared to the one Palisade signs with; a weak one fails with
/// the reasons.
#[tokio::test]
async fn dns_check_verifies_the_organisations_own_records() {
    let dir = TestDir::new("dnscheck");
    let key = dir.data_dir().with_extension("dkim.pem");
    let out = dir.run(&[
        "dkim",
        "generate",
        "--domain",
        "desk.test",
        "--selector",
        "sel",
        "--out",
        &key.display().to_string(),
    ]);
    out.assert_success("dkim generate");
    let record = out
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("v=DKIM1"))
        .unwrap_or_else(|| panic!("no record in {}", out.stdout))
        .to_owned();
    let other_key = dir.data_dir().with_extension("other.pem");
    let other = dir.run(&[
        "dkim",
        "generate",
        "--domain",
        "desk.test",
        "--selector",
        "sel2",
        "--out",
        &other_key.display().to_string(),
    ]);
    other.assert_success("dkim generate");
    let other_record = other
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("v=DKIM1"))
        .unwrap_or_else(|| panic!("no record in {}", other.stdout))
        .to_owned();
    let dns = palisade_testkit::dns::DnsServer::start(&[
        ("desk.test", "v=spf1 ip4:127.0.0.10 -all"),
        ("sel._domainkey.desk.test", record.as_str()),
        ("sel2._domainkey.desk.test", other_record.as_str()),
        ("sel0._domainkey.desk.test", record.as_str()),
        ("_dmarc.desk.test", "v=DMARC1; p=reject"),
        ("weak.test", "v=spf1 +all"),
        ("_dmarc.weak.test", "v=DMARC1; p=none"),
    ])
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let ns = dns.addr.to_string();
    let check = |domain: &str, key: &std::path::Path, relay: &str| {
        dir.run(&[
            "dns",
            "check",
            "--domain",
            domain,
            "--selector",
            "sel",
            "--dkim-key",
            &key.display().to_string(),
            "--relay-ip",
            relay,
            "--nameserver",
            &ns,
        ])
    };
    let good = check("desk.test", &key, "127.0.0.10");
    good.assert_success("dns check of a good domain");
    assert!(
        good.stdout
            .contains("ok    DKIM   sel._domainkey.desk.test publishes the signing key"),
        "{}",
        good.stdout
    );
    assert!(
        good.stdout.contains("authorises the relay address 127.0.0.10"),
        "{}",
        good.stdout
    );
    assert!(!good.stdout.contains("FAIL"), "{}", good.stdout);

    // The same domain checked against another key and an unlisted relay.
    let mismatched = check("desk.test", &other_key, "127.0.0.99");
    assert_eq!(mismatched.status.code(), Some(1), "{}", mismatched.stdout);
    assert!(
        mismatched.stdout.contains("publishes a different key"),
        "{}",
        mismatched.stdout
    );
    assert!(
        mismatched
            .stdout
            .contains("does not authorise the relay address 127.0.0.99")
    );

    let weak = check("weak.test", &key, "127.0.0.10");
    assert_eq!(weak.status.code(), Some(1), "{}", weak.stdout);
    for reason in [
        "does not end in -all",
        "no key record at sel._domainkey.weak.test",
        "forgeries of the domain are delivered",
    ] {
        assert!(weak.stdout.contains(reason), "{reason}: {}", weak.stdout);
    }
    assert!(weak.stderr.contains("check(s) failed"), "{}", weak.stderr);

    // A DKIM rotation with overlap: the next key (other_key, published as sel2) must be
    // in DNS before the switch, and the retired selector stays published meanwhile.
    let rotation = |next_selector: &str, retired: &str| {
        dir.run(&[
            "dns",
            "check",
            "--domain",
            "desk.test",
            "--selector",
            "sel",
            "--dkim-key",
            &key.display().to_string(),
            "--next-selector",
            next_selector,
            "--next-dkim-key",
            &other_key.display().to_string(),
            "--retired-selector",
            retired,
            "--relay-ip",
            "127.0.0.10",
            "--nameserver",
            &ns,
        ])
    };
    let ready = rotation("sel2", "sel0");
    ready.assert_success("dns check during a DKIM rotation");
    for line in [
        "sel2._domainkey.desk.test publishes the next signing key: ready to switch",
        "sel0._domainkey.desk.test (retired) is still published",
    ] {
        assert!(ready.stdout.contains(line), "{line}: {}", ready.stdout);
    }
    // The next selector publishing another key (the current one) or nothing: not ready.
    let early = rotation("sel", "gone");
    assert_eq!(early.status.code(), Some(1), "{}", early.stdout);
    assert!(
        early.stdout.contains("publish it before switching"),
        "{}",
        early.stdout
    );
    assert!(
        early
            .stdout
            .contains("gone._domainkey.desk.test (retired) is gone"),
        "{}",
        early.stdout
    );
    let unpublished = rotation("sel3", "sel0");
    assert_eq!(unpublished.status.code(), Some(1), "{}", unpublished.stdout);
    assert!(
        unpublished.stdout.contains("next key: no key record at sel3"),
        "{}",
        unpublished.stdout
    );
}
