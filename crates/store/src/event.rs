//! The event a stored message becomes on the bus and in the hot lists.

use proto::events::v1::MessageStored;

use crate::MessageRow;

impl MessageRow {
    /// The `MessageStored` the persister announces and the hot lists keep.
    pub fn to_event(&self) -> MessageStored {
        let country = domain::E164::parse(&self.number)
            .map(|n| n.country().iso2.to_owned())
            .unwrap_or_default();
        MessageStored {
            id: self.id,
            provider: self.provider.clone(),
            provider_message_id: self.provider_message_id.clone(),
            number: self.number.clone(),
            country,
            from: self.sender.clone(),
            body: self.body.clone(),
            received_at: Some(proto::timestamp_from_unix_millis(
                self.received_at.timestamp_millis(),
            )),
            stored_at: Some(proto::timestamp_from_unix_millis(
                self.stored_at.timestamp_millis(),
            )),
            code: self.code.clone().unwrap_or_default(),
            service: self.service.clone().unwrap_or_default(),
            code_valid_secs: self
                .code_valid_secs
                .and_then(|secs| u32::try_from(secs).ok())
                .unwrap_or(0),
        }
    }
}
