//! Provider jasmin: tests arrive with the provider.
