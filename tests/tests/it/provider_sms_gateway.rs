//! Provider sms_gateway: tests arrive with the provider.
