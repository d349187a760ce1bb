//! Provider vonage: tests arrive with the provider.
