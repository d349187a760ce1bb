//! Provider httpsms: tests arrive with the provider.
