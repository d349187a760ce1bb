//! JSON log lines that carry the current span's `trace_id` and `span_id`,
//! so a log line leads to its trace (and a trace to its log lines).

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Wraps the JSON event format: each line is the same object with
/// `trace_id` and `span_id` added when the event happens inside a span
/// that has them.
pub(crate) struct WithTraceIds<F>(pub(crate) F);

/// The current span's ids (32 and 16 hex digits), when valid.
fn current_ids() -> Option<(String, String)> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| {
        (
            context.trace_id().to_string(),
            context.span_id().to_string(),
        )
    })
}

/// `line` (one JSON object) with the ids added; unchanged when it is not
/// an object.
fn with_ids(line: &str, trace_id: String, span_id: String) -> String {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert("trace_id".into(), trace_id.into());
            object.insert("span_id".into(), span_id.into());
            serde_json::Value::Object(object).to_string()
        }
        _ => line.to_owned(),
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match current_ids() {
            Some((trace_id, span_id)) => {
                writeln!(writer, "{}", with_ids(line.trim_end(), trace_id, span_id))
            }
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_join_the_json_object() {
        let line = with_ids(
            r#"{"level":"WARN","fields":{"message":"x"}}"#,
            "0af7651916cd43dd8448eb211c80319c".into(),
            "b7ad6b7169203331".into(),
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(value["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(value["span_id"], "b7ad6b7169203331");
        assert_eq!(value["level"], "WARN");
        assert_eq!(
            with_ids("not json", String::new(), String::new()),
            "not json"
        );
    }
}
