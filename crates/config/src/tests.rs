#![allow(clippy::unwrap_used, clippy::result_large_err)] // figment::Jail's signature

use super::*;
use figment::Jail;

/// Asserts that the settings `toml` are refused with an error naming `key`.
#[track_caller]
fn assert_refused(toml: &str, key: &str) {
    let err = Settings::from_toml_overrides(toml).unwrap_err().to_string();
    assert!(err.contains(key), "{toml}: {err}");
}

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
    assert_eq!(s.retention.retention_days.get(), 183);
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
fn the_persister_runs_unless_a_process_is_told_webhooks_only() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        assert!(Settings::load(None).unwrap().ingest.persister);
        jail.set_env("CLOUDSMS_INGEST__PERSISTER", "false");
        let s = Settings::load(None).unwrap();
        assert!(!s.ingest.persister);
        // Its neighbour `persister_batch` keeps its own variable.
        assert_eq!(s.ingest.persister_batch, 256);
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
    assert_refused("[natz]\nurl='x'", "natz");
}

#[test]
fn bad_values_name_their_key() {
    assert_refused("[redis]\nurl = \"localhost\"", "redis.url");
    assert_refused("[gateway]\nlisten = \"nope\"", "listen");
    assert_refused("[bus]\nprefix = \"a.b\"", "bus.prefix");
}

#[test]
fn values_that_must_be_positive_refuse_zero_by_key() {
    for (section, key) in [
        ("http", "max_connections"),
        ("http", "header_read_timeout_secs"),
        ("http", "request_timeout_secs"),
        ("http", "max_concurrent_streams"),
        ("cache", "hot_list_len"),
        ("gateway.live", "max_streams"),
        ("gateway.live", "max_streams_per_network"),
        ("gateway.live", "max_stream_secs"),
        ("captcha", "default_max_number"),
        ("captcha", "challenge_ttl_secs"),
        ("captcha", "token_ttl_secs"),
        ("captcha", "window_secs"),
        ("retention", "retention_days"),
        ("messages", "keep_days"),
        ("messages", "sweep_interval_secs"),
        ("messages", "sweep_batch"),
    ] {
        assert_refused(
            &format!("[{section}]\n{key} = 0"),
            &format!("{section}.{key}"),
        );
    }
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("CLOUDSMS_GATEWAY__LIVE__MAX_STREAMS", "0");
        // Named as figment names environment keys: `GATEWAY.LIVE.MAX_STREAMS`.
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(
            err.to_lowercase().contains("gateway.live.max_streams"),
            "{err}"
        );
        Ok(())
    });
    for (toml, key) in [
        ("[bus]\nmax_deliver = 0", "bus.max_deliver"),
        ("[http]\nmax_header_bytes = 100", "http.max_header_bytes"),
        ("[gateway]\npage_size = 501", "gateway.page_size"),
        ("[gateway.gate]\npuzzles = 0", "gateway.gate.puzzles"),
        (
            "[gateway.gate]\nenabled = true\npass_ttl_secs = 0",
            "gateway.gate",
        ),
        (
            "[gateway.gate]\nenabled = true\nsite_key = \"a b\"",
            "gateway.gate.site_key",
        ),
    ] {
        assert_refused(toml, key);
    }
    // A gate that is off may keep zeros.
    Settings::from_toml_overrides("[gateway.gate]\nenabled = false\npass_ttl_secs = 0").unwrap();
}

#[test]
fn prometheus_listen_is_an_address_or_empty() {
    let s = Settings::defaults().unwrap();
    assert_eq!(s.telemetry.prometheus_listen, None);
    Jail::expect_with(|jail| {
        jail.clear_env();
        // What the chart sets with metrics off, and on.
        jail.set_env("CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN", "");
        assert_eq!(
            Settings::load(None).unwrap().telemetry.prometheus_listen,
            None
        );
        jail.set_env("CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN", "0.0.0.0:9464");
        let s = Settings::load(None).unwrap();
        assert_eq!(
            s.telemetry.prometheus_listen,
            Some("0.0.0.0:9464".parse().unwrap())
        );
        Ok(())
    });
    for bad in ["localhost:9464", "9464", " "] {
        assert_refused(
            &format!("[telemetry]\nprometheus_listen = {bad:?}"),
            "telemetry.prometheus_listen",
        );
    }
    let written = |s: &Settings| toml::to_string(&s.telemetry).unwrap();
    assert!(written(&s).contains("prometheus_listen = \"\""));
    let on =
        Settings::from_toml_overrides("[telemetry]\nprometheus_listen = \"[::1]:9464\"").unwrap();
    assert!(written(&on).contains("prometheus_listen = \"[::1]:9464\""));
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
        assert_refused(
            &format!("[gateway]\ntrusted_proxies = [{bad:?}]"),
            "gateway.trusted_proxies",
        );
    }
    assert_refused(
        "[gateway]\ntrust_forwarded_for = true",
        "trust_forwarded_for",
    );
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
    assert_eq!(s.captcha.default_max_number.get(), 100_000);
    assert_eq!(s.captcha.token_ttl_secs.get(), 300);
    let debug = format!("{s:?}");
    assert!(!debug.contains("site-secret-abcdef"), "{debug}");
    assert!(!debug.contains("hmac-key-value"), "{debug}");
    assert_refused(
        "[[captcha.sites]]\nsite_key = \"a b\"\nsecret = \"x\"\nhostnames = []\n",
        "captcha.sites",
    );
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
    assert_refused("[redis]\ncert_file = \"c.pem\"", "redis.cert_file");
    assert_refused("[nats]\npassword = \"p\"\nnkey_seed = \"SU\"", "nats");
    let s = Settings::from_toml_overrides("[nats]\nuser = \"u\"\npassword = \"hunter2\"").unwrap();
    assert!(
        !format!("{s:?}").contains("hunter2"),
        "secrets stay out of Debug"
    );
}

/// Dotted paths of the string values of a figment dictionary.
fn string_paths(dict: &figment::value::Dict, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in dict {
        let path = format!("{prefix}{key}");
        match value {
            figment::value::Value::String(..) => out.push(path),
            figment::value::Value::Dict(_, inner) => string_paths(inner, &format!("{path}."), out),
            _ => {}
        }
    }
}

#[test]
fn serialize_writes_no_secret_that_debug_hides() {
    // Every string setting in turn gets a value of its own: whatever Debug
    // does not show, the written configuration must not show either (so a
    // secret added later with a redacting Debug is covered too).
    let defaults: figment::value::Dict = Figment::from(Toml::string(DEFAULTS_TOML))
        .extract()
        .unwrap();
    let mut paths = Vec::new();
    string_paths(&defaults, "", &mut paths);
    let mut hidden = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        let marker = format!("marker-{n}-value");
        let figment = Figment::from(Toml::string(DEFAULTS_TOML))
            .merge(figment::providers::Serialized::default(path, &marker));
        // Addresses and enums do not take any string: not secrets.
        let Ok(settings) = figment.extract::<Settings>() else {
            continue;
        };
        if format!("{settings:?}").contains(&marker) {
            continue;
        }
        hidden.push(path.clone());
        let written = toml::to_string(&settings).unwrap();
        assert!(!written.contains(&marker), "{path} is written:\n{written}");
        assert!(written.contains("<redacted>"), "{path}");
    }
    for secret in [
        "gateway.admin_token",
        "gateway.gate.pass_key",
        "captcha.hmac_key",
        "ingest.grpc_token",
        "ingest.providers.twilio.auth_token",
        "ingest.providers.jasmin.password",
        "ingest.providers.smsforwarder.secret",
    ] {
        assert!(
            hidden.iter().any(|p| p == secret),
            "{secret} not hidden: {hidden:?}"
        );
    }
}

#[test]
fn the_written_configuration_hides_urls_passwords_and_loads_back() {
    let s = Settings::from_toml_overrides(
        "[database]\nurl = \"postgres://app:db-pass-1234@db:5432/sms\"\n\
         [redis]\nurl = \"redis://:redis-pass-1234@cache:6379\"\n\
         [[captcha.sites]]\nsite_key = \"site-a\"\nsecret = \"site-secret-1234\"\nhostnames = []\n",
    )
    .unwrap();
    let written = toml::to_string_pretty(&s).unwrap();
    for secret in ["db-pass-1234", "redis-pass-1234", "site-secret-1234"] {
        assert!(!written.contains(secret), "{secret}:\n{written}");
    }
    assert!(
        written.contains("postgres://app:***@db:5432/sms"),
        "{written}"
    );
    assert!(written.contains("site_key = \"site-a\""), "{written}");
    // Every key is written, in a form the loader takes again.
    let defaults = Settings::defaults().unwrap();
    assert_eq!(
        toml::to_string(
            &Settings::from_toml_overrides(&toml::to_string(&defaults).unwrap()).unwrap()
        )
        .unwrap(),
        toml::to_string(&defaults).unwrap(),
        "the defaults survive a round trip"
    );
}

#[test]
fn debug_hides_passwords_in_backend_urls() {
    let s = Settings::from_toml_overrides(
        "[database]\nurl = \"postgres://app:db-pass-9876@db/sms\"\n\
         [redis]\nurl = \"redis://:redis-pass-9876@cache:6379\"\n\
         [nats]\nurl = \"nats://u:nats-pass-9876@bus:4222\"\n",
    )
    .unwrap();
    let debug = format!("{s:?}");
    for secret in ["db-pass-9876", "redis-pass-9876", "nats-pass-9876"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("postgres://app:***@db/sms"), "{debug}");
}

#[test]
fn messages_are_kept_30_days_by_default_and_the_period_is_bounded() {
    let s = Settings::defaults().unwrap();
    assert_eq!(s.messages.keep_days.get(), 30);
    let s = Settings::from_toml_overrides("[messages]\nkeep_days = 7").unwrap();
    assert_eq!(s.messages.keep_days.get(), 7);
    assert_refused("[messages]\nkeep_days = 36501", "messages.keep_days");
    assert_refused("[messages]\nkeep_days = -1", "messages.keep_days");
    assert_refused("[messages]\nsweep_batch = 10001", "messages.sweep_batch");
}

#[test]
fn operator_tokens_come_from_a_file_or_the_environment_and_can_be_read_again() {
    let hash = "a".repeat(64);
    Jail::expect_with(|jail| {
        jail.clear_env();
        // What the chart sets: a TOML inline array.
        jail.set_env(
            "CLOUDSMS_GATEWAY__ADMIN_TOKENS",
            format!("[{{name=\"alice\",token_sha256=\"{hash}\"}}]"),
        );
        let s = Settings::load(None).unwrap();
        assert_eq!(s.gateway.admin_tokens[0].name, "alice");
        assert_eq!(s.source, crate::Source::Loaded(None));
        jail.clear_env();
        jail.create_file(
            "ops.toml",
            &format!(
                "[gateway]\nadmin_tokens = [{{ name = \"bob\", token_sha256 = \"{hash}\" }}]\n"
            ),
        )?;
        let s = Settings::load(Some(Path::new("ops.toml"))).unwrap();
        assert_eq!(s.gateway.admin_tokens[0].name, "bob");
        jail.create_file("ops.toml", "[gateway]\nadmin_tokens = []\n")?;
        let again = s.reload().unwrap().unwrap();
        assert!(again.gateway.admin_tokens.is_empty());
        jail.create_file(
            "ops.toml",
            "[gateway]\nadmin_tokens = [{ name = \"Bob!\", token_sha256 = \"x\" }]\n",
        )?;
        let err = s.reload().unwrap().unwrap_err().to_string();
        assert!(err.contains("gateway.admin_tokens"), "{err}");
        assert!(Settings::defaults().unwrap().reload().is_none());
        Ok(())
    });
}

#[test]
fn sentinels_come_as_a_toml_array_or_a_comma_separated_variable() {
    let s = Settings::from_toml_overrides(
        "[redis]\nsentinels = [\"10.0.0.1:26379\", \"s2:26379\"]\nmaster_name = \"cloudsms\"\n",
    )
    .unwrap();
    assert_eq!(s.redis.sentinels, ["10.0.0.1:26379", "s2:26379"]);
    assert!(s.redis.is_set(), "Sentinels select Redis");
    assert!(!Settings::defaults().unwrap().redis.is_set());
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("CLOUDSMS_REDIS__SENTINELS", "s1:26379, s2:26379,s3:26379");
        jail.set_env("CLOUDSMS_REDIS__MASTER_NAME", "cloudsms");
        let s = Settings::load(None).unwrap();
        assert_eq!(s.redis.sentinels, ["s1:26379", "s2:26379", "s3:26379"]);
        assert_eq!(s.redis.master_name, "cloudsms");
        jail.set_env("CLOUDSMS_REDIS__SENTINELS", "[s1:26379, s2:26379]");
        let s = Settings::load(None).unwrap();
        assert_eq!(s.redis.sentinels, ["s1:26379", "s2:26379"]);
        Ok(())
    });
}

#[test]
fn sentinels_need_a_master_name_and_no_server_url() {
    assert_refused("[redis]\nsentinels = [\"s1:26379\"]\n", "redis.master_name");
    assert_refused("[redis]\nmaster_name = \"cloudsms\"\n", "redis.sentinels");
    assert_refused(
        "[redis]\nsentinels = [\"redis://s1:26379\"]\nmaster_name = \"m\"\n",
        "redis.sentinels",
    );
    assert_refused(
        "[redis]\nsentinels = [\"s1\"]\nmaster_name = \"m\"\n",
        "redis.sentinels",
    );
    assert_refused(
        "[redis]\nsentinels = [\"s1:26379\"]\nmaster_name = \"m\"\nurl = \"redis://10.0.0.9:6379\"\n",
        "redis.url",
    );
    assert_refused(
        "[redis]\nsentinel_password = \"x\"\n",
        "redis.sentinel_password",
    );
    // The URL may give the scheme (TLS), credentials and database.
    let s = Settings::from_toml_overrides(
        "[redis]\nsentinels = \"s1:26379\"\nmaster_name = \"m\"\nurl = \"rediss://u:p@m/2\"\n",
    )
    .unwrap();
    assert_eq!(s.redis.sentinels, ["s1:26379"]);
}
