#![allow(clippy::unwrap_used, clippy::result_large_err)] // figment::Jail's signature

use super::*;
use figment::Jail;

#[test]
fn defaults_are_embedded_mode() {
    let s = Settings::defaults().unwrap();
    assert!(s.nats.url.is_empty());
    assert_eq!(s.gateway.listen.port(), 8080);
    assert_eq!(s.ingest.listen.port(), 8081);
    assert_eq!(s.ingest.grpc_listen.port(), 50051);
    assert_eq!(s.captcha.grpc_listen.port(), 50052);
    assert_eq!(s.captcha.listen.port(), 8082);
    assert_eq!(s.retention.grpc_listen.port(), 50053);
    assert_eq!(s.retention.retention_days, 183);
    assert!(s.database_url().starts_with("sqlite://"));
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file(
            "cloudsms.toml",
            "[gateway]\nlisten = \"0.0.0.0:9000\"\n[nats]\nurl = \"nats://file:4222\"\n",
        )?;
        jail.set_env("CLOUDSMS_NATS__URL", "nats://env:4222");
        jail.set_env("CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET", "s3cret");
        let s = Settings::load(None).unwrap();
        assert_eq!(s.gateway.listen.port(), 9000);
        assert_eq!(s.nats.url, "nats://env:4222");
        assert_eq!(s.ingest.providers.generic.secret, "s3cret");
        assert!(
            !format!("{s:?}").contains("s3cret"),
            "secrets stay out of Debug"
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("CLOUDSMS_GATEWAY__LISTN", "0.0.0.0:1");
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
        Ok(())
    });
    let err = Settings::from_toml_overrides("[natz]\nurl='x'")
        .unwrap_err()
        .to_string();
    assert!(err.contains("natz"), "{err}");
}

#[test]
fn bad_values_name_their_key() {
    let err = Settings::from_toml_overrides("[redis]\nurl = \"localhost\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("redis.url"), "{err}");
    let err = Settings::from_toml_overrides("[gateway]\nlisten = \"nope\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("listen"), "{err}");
    let err = Settings::from_toml_overrides("[bus]\nprefix = \"a.b\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bus.prefix"), "{err}");
}

#[test]
fn trusted_proxies_come_as_a_list_of_addresses_or_blocks() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        // What the chart's ConfigMap sets (a JSON list is a TOML array).
        jail.set_env(
            "CLOUDSMS_GATEWAY__TRUSTED_PROXIES",
            "[\"10.0.0.0/8\", \"fd00::1\"]",
        );
        let s = Settings::load(None).unwrap();
        assert_eq!(s.gateway.trusted_proxies, ["10.0.0.0/8", "fd00::1"]);
        Ok(())
    });
    assert!(
        Settings::defaults()
            .unwrap()
            .gateway
            .trusted_proxies
            .is_empty()
    );
    let net = parse_net("10.1.2.3/8").unwrap();
    assert_eq!(net.to_string(), "10.0.0.0/8");
    assert!(net.contains(&"10.200.0.1".parse::<std::net::IpAddr>().unwrap()));
    assert_eq!(parse_net(" ::1 ").unwrap().to_string(), "::1/128");
    for bad in ["ingress.local", "10.0.0.0/33", ""] {
        let err = Settings::from_toml_overrides(&format!("[gateway]\ntrusted_proxies = [{bad:?}]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("gateway.trusted_proxies"), "{bad}: {err}");
    }
    let err = Settings::from_toml_overrides("[gateway]\ntrust_forwarded_for = true")
        .unwrap_err()
        .to_string();
    assert!(err.contains("trust_forwarded_for"), "{err}");
}

#[test]
fn captcha_sites_parse_and_hide_their_secrets() {
    let s = Settings::from_toml_overrides(
        "[captcha]\nhmac_key = \"hmac-key-value-1234\"\n\
         [[captcha.sites]]\nsite_key = \"site-a\"\nsecret = \"site-secret-abcdef-1234\"\n\
         hostnames = [\"example.org\"]\n",
    )
    .unwrap();
    assert_eq!(s.captcha.sites[0].hostnames, vec!["example.org".to_owned()]);
    assert_eq!(s.captcha.default_max_number, 100_000);
    assert_eq!(s.captcha.token_ttl_secs, 300);
    let debug = format!("{s:?}");
    assert!(!debug.contains("site-secret-abcdef"), "{debug}");
    assert!(!debug.contains("hmac-key-value"), "{debug}");
    let err = Settings::from_toml_overrides(
        "[[captcha.sites]]\nsite_key = \"a b\"\nsecret = \"x\"\nhostnames = []\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("captcha.sites"), "{err}");
}

#[test]
fn missing_explicit_config_file_is_an_error() {
    let err = Settings::load(Some(Path::new("/nonexistent/cloudsms.toml")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact_url("postgres://app:hunter2@db:5432/cloudsms"),
        "postgres://app:***@db:5432/cloudsms"
    );
    assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
}

#[test]
fn backend_credentials_and_tls_files_are_checked() {
    let err = Settings::from_toml_overrides("[redis]\ncert_file = \"c.pem\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("redis.cert_file"), "{err}");
    let err = Settings::from_toml_overrides("[nats]\npassword = \"p\"\nnkey_seed = \"SU\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("nats"), "{err}");
    let s = Settings::from_toml_overrides("[nats]\nuser = \"u\"\npassword = \"hunter2\"").unwrap();
    assert!(
        !format!("{s:?}").contains("hunter2"),
        "secrets stay out of Debug"
    );
}
