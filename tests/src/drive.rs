//! Helpers of the load drivers in `src/bin` (benchmarks, chaos).

/// A Twilio SMS webhook for `url`: the form body and the
/// `X-Twilio-Signature` Twilio would send with it.
pub fn twilio_sms(url: &str, token: &str, sid: &str, to: &str, body: &str) -> (String, String) {
    let params: Vec<(String, String)> = vec![
        ("MessageSid".into(), sid.to_owned()),
        (
            "AccountSid".into(),
            "ACdrive0000000000000000000000000000".into(),
        ),
        ("From".into(), "+15005550006".into()),
        ("To".into(), to.to_owned()),
        ("Body".into(), body.to_owned()),
        ("NumSegments".into(), "1".into()),
    ];
    let signature = message_ingest::providers::twilio::compute_signature(
        token,
        url,
        &params,
        message_ingest::providers::twilio::Algorithm::HmacSha1,
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    (form, signature)
}

/// The environment variable `name` parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The environment variable `name`, which must be set.
pub fn required(name: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    std::env::var(name).with_context(|| format!("{name} is required"))
}

/// A file-backed JetStream stream made for one benchmark run on the NATS
/// servers of `nats_url` (comma-separated): its context, name and subject
/// (delete it with `js.delete_stream(name)` at the end).
pub async fn bench_stream(
    nats_url: &str,
) -> anyhow::Result<(async_nats::jetstream::Context, String, String)> {
    let client =
        async_nats::connect(nats_url.split(',').map(str::trim).collect::<Vec<_>>()).await?;
    let js = async_nats::jetstream::new(client);
    let name = format!("BENCH_{}", uuid::Uuid::new_v4().simple());
    let subject = format!("bench.{name}");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: name.clone(),
        subjects: vec![subject.clone()],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    Ok((js, name, subject))
}
