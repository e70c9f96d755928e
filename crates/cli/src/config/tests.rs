//! How files, variables and flags resolve into settings, and what is refused.

use super::*;

fn global() -> GlobalArgs {
    GlobalArgs {
        config: None,
        data_dir: None,
        database_url: None,
        master_key_file: None,
        log_json: false,
    }
}

#[test]
fn defaults_need_no_configuration() {
    let s = Settings::resolve(&global(), None).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(s.public_origin, "https://localhost:8443");
    assert!(s.database_url.starts_with("sqlite://palisade-data/palisade.db"));
    assert_eq!(s.master_key_file, PathBuf::from("palisade-data/master.key"));
}

#[test]
fn insecure_or_half_settings_are_refused() {
    let serve = ServeArgs {
        listen: None,
        public_origin: Some("http://help.example.com".into()),
        tls_cert: None,
        tls_key: None,
    };
    assert!(Settings::resolve(&global(), Some(&serve)).is_err());
    let serve = ServeArgs {
        listen: None,
        public_origin: None,
        tls_cert: Some("c.pem".into()),
        tls_key: None,
    };
    assert!(Settings::resolve(&global(), Some(&serve)).is_err());
}

#[test]
fn unknown_toml_keys_are_refused() {
    assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"").is_err());
    assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"").is_ok());
}

#[test]
fn help_assistant_and_limits_sections() {
    let s = from_toml(
        "[help]\ndefault_locale = \"de\"\n[assistant]\nmin_coverage = 0.6\nprivacy_notice_url = \"https://example.com/privacy\"\n[limits]\nhelp_searches_per_minute = 30\n",
    )
    .unwrap();
    assert_eq!(s.default_locale, "de");
    assert!((s.assistant.min_coverage - 0.6).abs() < f32::EPSILON);
    assert_eq!(s.privacy_notice_url, "https://example.com/privacy");
    assert_eq!(s.public_limits.help_search_per_ip.max, 30);
    assert_eq!(
        s.public_limits.conversations_per_ip,
        palisade_web::PublicLimits::default().conversations_per_ip
    );
    assert_eq!(
        s.tls_handshakes_per_second,
        crate::handshakes::DEFAULT_HANDSHAKES_PER_SECOND
    );
    let s = from_toml("[limits]\ntls_handshakes_per_second = 50\n").unwrap();
    assert_eq!(s.tls_handshakes_per_second, 50);
    for bad in [
        "[help]\ndefault_locale = \"../x\"\n",
        "[assistant]\nmin_coverage = 2.0\n",
        "[limits]\nhelp_searches_per_minute = 0\n",
        "[limits]\ntls_handshakes_per_second = 5\n",
        "[limits]\ntls_handshakes_per_second = -1\n",
        "[limits]\nsearches = 5\n",
    ] {
        assert!(from_toml(bad).is_err(), "{bad}");
    }
}

#[test]
fn model_widget_and_site_token_sections() {
    let s = from_toml("[assistant.model]\nurl = \"https://llm.example/v1\"\nmodel = \"m\"\n").unwrap();
    assert!(s.model.is_none(), "a configured model stays off until enabled");
    let s = from_toml(
        "[assistant]\nwidget_origins = [\"https://www.example.com\", \"http://127.0.0.1:8080\"]\n\
         [assistant.model]\nenabled = true\nurl = \"https://llm.example/v1\"\nmodel = \"m\"\ndaily_budget = 5000\n\
         [assistant.site_tokens]\nissuer = \"https://www.example.com\"\naudience = \"palisade\"\n\
         [[assistant.site_tokens.keys]]\nkid = \"ed-1\"\nalgorithm = \"EdDSA\"\n\
         public_key = \"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"\n",
    )
    .unwrap();
    let model = s.model.unwrap();
    assert_eq!(model.daily_budget, 5000);
    assert_eq!(model.conversation_budget, 20_000);
    assert_eq!(s.widget_origins.len(), 2);
    assert!(s.site_tokens.is_some());
    for bad in [
        // Plain http to a model anywhere but loopback.
        "[assistant.model]\nenabled = true\nurl = \"http://llm.example\"\nmodel = \"m\"\n",
        "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\ndaily_budget = 0\n",
        "[assistant]\nwidget_origins = [\"http://www.example.com\"]\n",
        "[assistant]\nwidget_origins = [\"https://www.example.com/page\"]\n",
        "[assistant]\nwidget_origins = [\"*\"]\n",
        "[assistant]\nwidget_origins = [\"https://WWW.example.com\"]\n",
        "[assistant]\nwidget_origins = [\"https://www.example.com:443\"]\n",
        "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\nallowed_link_domains = [\"com\"]\n",
        "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\nallowed_link_domains = [\"https://x.example\"]\n",
        // The algorithm is pinned by configuration, with the matching key material.
        "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\n[[assistant.site_tokens.keys]]\nkid = \"k\"\nalgorithm = \"none\"\n",
        "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\n[[assistant.site_tokens.keys]]\nkid = \"k\"\nalgorithm = \"EdDSA\"\npublic_key = \"AAAA\"\n",
        "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\nkeys = []\n",
    ] {
        assert!(from_toml(bad).is_err(), "{bad}");
    }
}

#[test]
fn trusted_proxies_need_a_header_and_real_networks() {
    let ok =
        from_toml("[proxy]\ntrusted = [\"10.0.0.0/8\", \"192.0.2.1\"]\nheader = \"forwarded\"\n").unwrap();
    assert_eq!(ok.trusted_proxies.networks.len(), 2);
    assert!(
        from_toml("").unwrap().trusted_proxies.networks.is_empty(),
        "nobody by default"
    );
    for bad in [
        "[proxy]\ntrusted = [\"10.0.0.0/8\"]\nheader = \"x-real-ip\"\n",
        "[proxy]\ntrusted = [\"proxy.example\"]\nheader = \"forwarded\"\n",
        "[proxy]\ntrusted = []\nheader = \"forwarded\"\n",
    ] {
        assert!(matches!(from_toml(bad), Err(CliError::Config(_))), "{bad}");
    }
}

#[test]
fn redaction_patterns_are_checked_at_start() {
    let ok = from_toml("[[redaction]]\nname = \"member number\"\nregex = 'M-\\d{8}'\n").unwrap();
    assert_eq!(
        ok.redactor.redact("member M-12345678").text,
        "member [removed: member number]"
    );
    for bad in ["regex = '('", "regex = 'x*'"] {
        let text = format!("[[redaction]]\nname = \"bad\"\n{bad}\n");
        assert!(matches!(from_toml(&text), Err(CliError::Config(_))), "{bad}");
    }
}

fn from_toml(text: &str) -> Result<Settings, CliError> {
    let dir = std::env::temp_dir().join(format!("palisade-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{:x}.toml",
        text.len() * 7919 + text.bytes().map(usize::from).sum::<usize>()
    ));
    std::fs::write(&path, text).unwrap();
    let mut g = global();
    g.config = Some(path.clone());
    let result = Settings::resolve(&g, None);
    let _ = std::fs::remove_file(path);
    result
}

#[test]
fn oidc_providers_and_session_limits_come_from_the_file() {
    let s = from_toml(
        r#"
[api_tokens]
requests_per_minute = 120

[mail]
relay_host = "smtp.example.com"
from_address = "support@example.com"

[sessions]
staff_idle_minutes = 15
customer_max_sessions = 3
on_limit = "refuse_new"

[[oidc]]
name = "corp"
display_name = "Corporate login"
issuer = "https://login.example.com"
client_id = "palisade"
client_secret = "s3cret"
create_accounts = true
new_account_role = "agent"
allowed_domains = ["example.com"]
"#,
    )
    .unwrap();
    assert_eq!(s.sessions.staff_idle_secs, 15 * 60);
    assert_eq!(s.token_requests_per_minute, 120);
    let mail = s.mail.as_ref().unwrap();
    assert_eq!(
        (mail.port, mail.tls, mail.helo_name.as_str()),
        (587, RelayTls::StartTls, "localhost")
    );
    assert_eq!(s.sessions.customer_max_sessions, 3);
    assert_eq!(s.sessions.on_limit, OnSessionLimit::RefuseNew);
    assert_eq!(s.oidc.len(), 1);
    assert_eq!(s.oidc[0].new_account_role, Role::Agent);
    assert!(
        !s.oidc[0].trust_provider_mfa,
        "provider MFA is never trusted by default"
    );
    assert!(
        !format!("{:?}", s.oidc[0]).contains("s3cret"),
        "the client secret never prints"
    );

    // The register of outside parties follows the configuration.
    use palisade_service::{DataCategory, PartyKind};
    let parties = s.outside_parties();
    let relay = parties.iter().find(|p| p.kind == PartyKind::MailRelay).unwrap();
    assert_eq!(
        (relay.name.as_str(), relay.endpoint.as_str()),
        ("smtp.example.com", "smtp.example.com:587")
    );
    assert!(relay.receives.contains(&DataCategory::MessageContent));
    let provider = parties
        .iter()
        .find(|p| p.kind == PartyKind::IdentityProvider)
        .unwrap();
    assert_eq!(
        (provider.name.as_str(), provider.endpoint.as_str()),
        ("Corporate login", "https://login.example.com")
    );
    assert!(!format!("{parties:?}").contains("s3cret"));
    assert!(
        !parties
            .iter()
            .any(|p| p.kind == PartyKind::LanguageModel || p.kind == PartyKind::Siem)
    );
    let resolved = from_toml(
        "[scan]\nclamd = \"off\"\n[smtp]\nnameservers = [\"127.0.0.1:53\", \"192.0.2.53:53\"]\n[[mailbox]]\naddress = \"help@desk.example\"\nteam = \"Support\"\n",
    );
    let resolvers: Vec<_> = resolved
        .unwrap()
        .outside_parties()
        .into_iter()
        .filter(|p| p.kind == PartyKind::DnsResolver)
        .map(|p| p.endpoint)
        .collect();
    assert_eq!(
        resolvers,
        ["192.0.2.53:53"],
        "a resolver on loopback is the desk's own"
    );
    let bare = from_toml("[scan]\nclamd = \"off\"\n").unwrap();
    assert!(
        bare.outside_parties().is_empty(),
        "nothing configured, nobody outside"
    );
}

#[test]
fn unsafe_oidc_settings_are_refused() {
    let base = "[[oidc]]\nname = \"corp\"\nclient_id = \"p\"\nclient_secret = \"s\"\n";
    // Plain HTTP to a remote issuer, a missing secret, staff creation for any domain.
    assert!(from_toml(&format!("{base}issuer = \"http://login.example.com\"")).is_err());
    assert!(
        from_toml("[[oidc]]\nname = \"corp\"\nclient_id = \"p\"\nissuer = \"https://a.example\"").is_err()
    );
    assert!(
        from_toml(&format!(
            "{base}issuer = \"https://a.example\"\ncreate_accounts = true\nnew_account_role = \"admin\""
        ))
        .is_err()
    );
    assert!(from_toml(&format!("{base}issuer = \"https://a.example\"\nname2 = 1")).is_err());
    assert!(from_toml(&format!("{base}issuer = \"https://a.example\"")).is_ok());
    // Mail in clear to a relay elsewhere is refused; to a local MTA it is allowed.
    let mail = |host: &str| {
        format!("[mail]\nrelay_host = \"{host}\"\nrelay_tls = \"none\"\nfrom_address = \"a@b.example\"")
    };
    assert!(from_toml(&mail("smtp.example.com")).is_err());
    assert!(from_toml(&mail("127.0.0.1")).is_ok());
}

#[test]
fn reply_token_keys_rotate_with_a_grace_period_from_the_file() {
    let defaults = from_toml("").unwrap();
    assert_eq!(defaults.reply_keys.current, 1);
    assert!(defaults.reply_keys.also_accept.is_empty());
    let grace = from_toml("[reply_tokens]\nkey_version = 2\nalso_accept = [1, 1, 2]\n").unwrap();
    assert_eq!(grace.reply_keys.current, 2);
    assert_eq!(
        grace.reply_keys.also_accept,
        vec![1],
        "deduplicated, the current one left out"
    );
    for refused in [
        "[reply_tokens]\nkey_version = 0\n",
        "[reply_tokens]\nkey_version = 2\nalso_accept = [0]\n",
        "[reply_tokens]\nkey_version = 2\nalso_accept = [3]\n",
        "[reply_tokens]\nkey_version = 256\n",
        "[reply_tokens]\nversion = 2\n",
    ] {
        assert!(from_toml(refused).is_err(), "{refused}");
    }
}

#[test]
fn an_hsm_needs_its_module_and_a_private_pin_file() {
    let dir = std::env::temp_dir().join(format!("palisade-hsm-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pin = dir.join("pin");
    std::fs::write(&pin, "1234\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let module = dir.join("module.so");
    std::fs::write(&module, b"").unwrap();
    let section = |module: &std::path::Path| {
        format!(
            "[hsm]\nmodule = \"{}\"\ntoken_label = \"t\"\npin_file = \"{}\"\n",
            module.display(),
            pin.display()
        )
    };
    let shared = from_toml(&section(&module)).unwrap_err().to_string();
    assert!(shared.contains("chmod 600"), "{shared}");
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let settings = from_toml(&section(&module)).unwrap();
    let hsm = settings.hsm.unwrap();
    assert_eq!(hsm.key_label, "palisade-wrapping");
    assert_eq!(hsm.pin.as_str(), "1234");
    assert!(!format!("{hsm:?}").contains("1234"), "the PIN never prints");
    assert!(from_toml(&section(&dir.join("missing.so"))).is_err());
    let moving = format!(
        "{}key_label = \"k2\"\nprevious_key_labels = [\"palisade-wrapping\"]\n",
        section(&module)
    );
    assert_eq!(
        from_toml(&moving).unwrap().hsm.unwrap().previous_key_labels,
        vec!["palisade-wrapping".to_owned()]
    );
    let in_use = format!(
        "{}previous_key_labels = [\"palisade-wrapping\"]\n",
        section(&module)
    );
    assert!(
        from_toml(&in_use).is_err(),
        "the key in use is never a previous one"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_dkim_rotation_needs_a_whole_next_key_and_never_retires_the_selector_in_use() {
    let mail = "[mail]\nrelay_host = \"relay.example\"\nfrom_address = \"support@example.com\"\n";
    for refused in [
        "dkim_next_selector = \"s2\"\n",
        "dkim_next_key_file = \"/nonexistent.pem\"\ndkim_next_selector = \"s2\"\n",
        "dkim_retired_selectors = [\"s1\"]\ndkim_selector = \"s1\"\ndkim_key_file = \"/nonexistent.pem\"\n",
    ] {
        assert!(from_toml(&format!("{mail}{refused}")).is_err(), "{refused}");
    }
    let settings = from_toml(&format!("{mail}dkim_retired_selectors = [\"s0\"]\n")).unwrap();
    assert_eq!(settings.dkim_rotation.retired, vec!["s0".to_owned()]);
    assert!(settings.dkim_rotation.next.is_none());
}

#[test]
fn an_audit_signing_key_is_private_and_never_listed_as_retired() {
    let dir = std::env::temp_dir().join(format!("palisade-audit-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("audit.key");
    let _ = std::fs::remove_file(&key_file);
    let public = hex::encode(
        palisade_crypto::create_audit_signing_key_file(&key_file)
            .unwrap()
            .to_bytes(),
    );
    let earlier = hex::encode(
        palisade_audit::SigningKey::from_bytes(&[3u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    let section = |retired: &str| {
        format!(
            "[audit]\nsigning_key_file = \"{}\"\nretired_public_keys = [{retired}]\n",
            key_file.display()
        )
    };
    let settings = from_toml(&section(&format!("\"{earlier}\""))).unwrap();
    let audit = settings.audit_signing.unwrap();
    assert_eq!(hex::encode(audit.key.verifying_key().to_bytes()), public);
    assert_eq!(audit.retired.len(), 1);
    assert!(!format!("{audit:?}").contains(&std::fs::read_to_string(&key_file).unwrap().trim().to_owned()));
    for refused in [
        section(&format!("\"{public}\"")),
        section("\"not hex\""),
        format!("[audit]\nretired_public_keys = [\"{earlier}\"]\n"),
        "[audit]\nsigning_key = \"x\"\n".to_owned(),
    ] {
        assert!(from_toml(&refused).is_err(), "{refused}");
    }
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let shared = from_toml(&section("")).unwrap_err().to_string();
    assert!(shared.contains("chmod 600"), "{shared}");
    assert!(from_toml("").unwrap().audit_signing.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn webhook_destinations_are_public_unless_a_host_is_named() {
    let none = from_toml("").unwrap();
    assert!(none.webhooks.allow_hosts.is_empty() && none.webhooks.nameservers.is_empty());
    assert!(!none.webhooks.hosts().acceptable("http://127.0.0.1:9000/hook"));
    let s = from_toml(
        "[webhooks]\nallow_hosts = [\"CRM.intranet\", \"127.0.0.1\", \"[::1]\"]\nnameservers = [\"127.0.0.1:5353\"]\n",
    )
    .unwrap();
    assert_eq!(s.webhooks.allow_hosts, ["crm.intranet", "127.0.0.1", "::1"]);
    assert!(s.webhooks.hosts().acceptable("https://crm.intranet/hook"));
    assert!(s.webhooks.hosts().acceptable("http://127.0.0.1:9000/hook"));
    assert!(s.webhooks.client().is_ok());
    for bad in [
        "\"https://crm.intranet\"",
        "\"crm.intranet/x\"",
        "\"\"",
        "\"user@crm\"",
    ] {
        let text = format!("[webhooks]\nallow_hosts = [{bad}]\n");
        assert!(matches!(from_toml(&text), Err(CliError::Config(_))), "{bad}");
    }
    assert!(matches!(
        from_toml("[webhooks]\nallow = []\n"),
        Err(CliError::Config(_))
    ));
}
