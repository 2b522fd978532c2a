//! CloudWatch metrics in the Embedded Metric Format: one JSON line per badge
//! job on standard output, which CloudWatch Logs turns into metrics without
//! any API call.
//!
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

pub const NAMESPACE: &str = "lanyard";

/// What one badge job came to, as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BadgeMetrics {
    pub rendered: u32,
    pub failed: u32,
    pub retried: u32,
    /// Time spent on the job (render and writes), milliseconds.
    pub render_ms: f64,
}

/// Builds the EMF line for one badge job of `service` (the dimension).
pub fn emf_line(service: &str, m: &BadgeMetrics, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [
                    {"Name": "BadgesRendered", "Unit": "Count"},
                    {"Name": "BadgeFailures", "Unit": "Count"},
                    {"Name": "BadgeRetries", "Unit": "Count"},
                    {"Name": "RenderTime", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Service": service,
        "BadgesRendered": m.rendered,
        "BadgeFailures": m.failed,
        "BadgeRetries": m.retried,
        "RenderTime": (m.render_ms * 1000.0).round() / 1000.0,
    })
    .to_string()
}

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Where metric lines go: standard output in production, a buffer in tests.
#[derive(Clone)]
pub struct MetricsSink {
    service: String,
    out: Sink,
}

impl std::fmt::Debug for MetricsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSink")
            .field("service", &self.service)
            .finish()
    }
}

impl MetricsSink {
    pub fn stdout(service: impl Into<String>) -> Self {
        MetricsSink {
            service: service.into(),
            out: Arc::new(Mutex::new(std::io::stdout())),
        }
    }

    /// Metrics that go nowhere.
    pub fn discard(service: impl Into<String>) -> Self {
        MetricsSink {
            service: service.into(),
            out: Arc::new(Mutex::new(std::io::sink())),
        }
    }

    pub fn to_writer(service: impl Into<String>, out: Arc<Mutex<dyn Write + Send>>) -> Self {
        MetricsSink {
            service: service.into(),
            out,
        }
    }

    pub fn emit(&self, m: &BadgeMetrics) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let line = emf_line(&self.service, m, now);
        if let Ok(mut out) = self.out.lock() {
            // One write per line so concurrent lines never interleave.
            let _ = out.write_all(format!("{line}\n").as_bytes());
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_follows_the_embedded_metric_format() {
        let line = emf_line(
            "badge",
            &BadgeMetrics {
                rendered: 1,
                render_ms: 3.25,
                ..Default::default()
            },
            1_700_000_000_000,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        // Every dimension and metric the directive names is a member of the root.
        for dim in directive["Dimensions"][0].as_array().unwrap() {
            assert!(v[dim.as_str().unwrap()].is_string());
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(v[metric["Name"].as_str().unwrap()].is_number(), "{metric}");
        }
        assert_eq!(v["BadgesRendered"], 1);
        assert_eq!(v["RenderTime"], 3.25);
        assert!(!line.contains('\n'));
    }
}
