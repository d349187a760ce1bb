//! What a test checks about the messages a [`TestApp`] accepted, stored
//! and shows.

use std::time::Duration;

use crate::TestApp;

impl TestApp {
    /// Signs and posts an SMS, which must be accepted (202).
    pub async fn accept_sms(&self, to: &str, from: &str, body: &str, id: &str) {
        let status = self.send_sms(to, from, body, id).await.status();
        assert_eq!(status, 202, "the webhook of {id}");
    }

    /// The bodies stored for `e164` 300 ms from now: time for a message that
    /// must not be stored to show up.
    pub async fn settled_bodies(&self, e164: &str) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.stored(e164)
            .await
            .into_iter()
            .map(|r| r.body)
            .collect()
    }

    /// Once `latest` is on the page of `e164`: `retried`, whose webhook came
    /// more than once, is shown once, and `count` messages are stored.
    pub async fn assert_shown_once(&self, e164: &str, latest: &str, retried: &str, count: usize) {
        let html = self.wait_for_page(e164, latest).await;
        assert_eq!(html.matches(retried).count(), 1, "{retried} on the page");
        assert_eq!(self.stored(e164).await.len(), count);
    }
}
