//! Provider twilio: tests arrive with the provider.
