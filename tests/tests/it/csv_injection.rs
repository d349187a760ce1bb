//! CSV formula injection: text a visitor controls (a crash report's message)
//! reaches two CSV files opened in spreadsheets, the visitor's own export
//! (`/my-data/export?format=csv`, written by log-retention) and the
//! operator's statistics (`/admin/stats.csv`, written by the gateway). Cells
//! starting with TAB or CR followed by a formula are defused in both.

use std::time::Duration;

use chrono::Utc;
use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};

use crate::held_up::spawn_with_retention;

const TOKEN: &str = "operator-token-for-tests-0123456789";
const VISITOR: &str = "0123456789abcdef0123456789abcdef";
/// A formula behind a TAB, one behind a CR (with a quote to escape).
const TAB_FORMULA: &str = "\t=1+1";
const CR_FORMULA: &str = "\r=HYPERLINK(\"http://evil.example\")";

async fn get(app: &TestApp, path: &str, auth: Option<&str>) -> String {
    let mut request = app
        .client
        .get(format!("{}{path}", app.gateway_url))
        .header("cookie", format!("{}={VISITOR}", gateway::VISITOR_COOKIE));
    if let Some(token) = auth {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn formula_cells_are_defused_in_every_csv_export(mode: Mode) {
    let (app, stop) = spawn_with_retention(mode, &format!("admin_token = \"{TOKEN}\"")).await;
    for message in [TAB_FORMULA, CR_FORMULA] {
        let r = app
            .client
            .post(format!("{}/api/v1/crash", app.gateway_url))
            .header("cookie", format!("{}={VISITOR}", gateway::VISITOR_COOKIE))
            .json(&serde_json::json!({ "message": message, "page": "/latest" }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    // The visitor's export, once log-retention stored both reports.
    let export = wait_until(
        "the crash reports to reach the export",
        Duration::from_secs(20),
        async || {
            let csv = get(&app, "/my-data/export?format=csv", None).await;
            if csv.contains("HYPERLINK") && csv.contains("1+1") {
                Ok(csv)
            } else {
                Err(format!("\n{csv}"))
            }
        },
    )
    .await;
    let today = Utc::now().date_naive();
    let stats = get(
        &app,
        &format!("/admin/stats.csv?from={today}&to={today}"),
        Some(TOKEN),
    )
    .await;
    for (name, csv) in [("visitor export", &export), ("admin stats", &stats)] {
        assert!(
            csv.contains(",'\t=1+1"),
            "{name}: the TAB formula is not defused:\n{csv:?}"
        );
        assert!(
            csv.contains(",\"'\r=HYPERLINK(\"\"http://evil.example\"\")\""),
            "{name}: the CR formula is not defused and quoted:\n{csv:?}"
        );
        assert!(!csv.contains(",\t="), "{name}: {csv:?}");
        assert!(!csv.contains("\"\r="), "{name}: {csv:?}");
    }
    stop.cancel();
    app.stop().await;
}
both_modes!(formula_cells_are_defused_in_every_csv_export);
