//! Provider telnyx: tests arrive with the provider.
