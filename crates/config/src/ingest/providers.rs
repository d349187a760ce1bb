//! `[ingest.providers.*]`: each webhook provider's secrets; a provider
//! without one is disabled.

use serde::{Deserialize, Serialize};

use crate::secret::redacted;
use crate::show;

/// Secrets per provider; a provider without a secret is disabled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// Our own signed JSON webhook.
    pub generic: GenericProviderSettings,
    /// Twilio Programmable Messaging.
    pub twilio: TwilioSettings,
    /// Vonage SMS API.
    pub vonage: VonageSettings,
    /// Telnyx Messaging.
    pub telnyx: TelnyxSettings,
    /// Plivo.
    pub plivo: PlivoSettings,
    /// The Android SMS Gateway app (capcom6/android-sms-gateway).
    pub sms_gateway: SmsGatewaySettings,
    /// httpSMS.
    pub httpsms: HttpsmsSettings,
    /// Jasmin SMS gateway.
    pub jasmin: JasminSettings,
    /// The SmsForwarder Android app (pppscn/SmsForwarder), webhook channel.
    pub smsforwarder: SmsForwarderSettings,
}

/// A provider's settings made of secrets only, each kept as a plain string
/// (empty: the route is off) and redacted by `Debug` and `Serialize`.
macro_rules! secret_settings {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* #[serde(serialize_with = "show::secret")] pub $field: String,)+
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &redacted(&self.$field)))+
                    .finish()
            }
        }
    };
}

secret_settings!(
    /// The generic provider.
    GenericProviderSettings {
        /// HMAC-SHA256 key; empty disables the route.
        secret
    }
);
secret_settings!(
    /// Twilio: requests are signed with the account's auth token.
    TwilioSettings {
        /// Auth token; empty disables the route.
        auth_token
    }
);
secret_settings!(
    /// Telnyx: requests are signed with Ed25519.
    TelnyxSettings {
        /// The account's public key (base64), from the Telnyx portal; empty disables the route.
        public_key
    }
);
secret_settings!(
    /// Plivo: requests are signed with the account's auth token (V3 signature).
    PlivoSettings {
        /// Auth token; empty disables the route.
        auth_token
    }
);
secret_settings!(
    /// Android SMS Gateway: webhooks signed with the app's signing key.
    SmsGatewaySettings {
        /// Signing key set in the app; empty disables the route.
        signing_key
    }
);
secret_settings!(
    /// httpSMS: webhooks carry an HS256 JWT signed with this key.
    HttpsmsSettings {
        /// Webhook signing key; empty disables the route.
        signing_key
    }
);
secret_settings!(
    /// SmsForwarder: the webhook channel's `sign` is an HMAC-SHA256 of the
    /// timestamp under this secret.
    SmsForwarderSettings {
        /// The secret set in the app's webhook channel; empty disables the route.
        secret
    }
);

/// Vonage SMS API: signed webhooks.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VonageSettings {
    /// Signature secret from the Vonage dashboard; empty disables the route.
    #[serde(serialize_with = "show::secret")]
    pub signature_secret: String,
    /// How `sig` is computed, as set in the dashboard.
    pub signature_method: VonageSignatureMethod,
}

impl std::fmt::Debug for VonageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VonageSettings")
            .field("signature_secret", &redacted(&self.signature_secret))
            .field("signature_method", &self.signature_method)
            .finish()
    }
}

/// Vonage's signature methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VonageSignatureMethod {
    /// Legacy: MD5 of the parameters followed by the secret.
    Md5hash,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// Jasmin: no signature; authenticated by a shared secret and/or basic auth.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JasminSettings {
    /// Shared secret expected in the `secret` query parameter; empty: not used.
    #[serde(serialize_with = "show::secret")]
    pub shared_secret: String,
    /// Basic-auth user; empty: not used.
    pub username: String,
    /// Basic-auth password.
    #[serde(serialize_with = "show::secret")]
    pub password: String,
    /// Client addresses allowed to call (IPs or CIDRs); empty: any.
    pub allowed_ips: Vec<String>,
}

impl JasminSettings {
    /// True when some credential is configured (otherwise the route is off).
    pub fn enabled(&self) -> bool {
        !self.shared_secret.is_empty() || !self.username.is_empty()
    }
}

impl std::fmt::Debug for JasminSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JasminSettings")
            .field("shared_secret", &redacted(&self.shared_secret))
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("allowed_ips", &self.allowed_ips)
            .finish()
    }
}
