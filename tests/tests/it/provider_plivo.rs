//! Provider plivo: tests arrive with the provider.
