//! Counts the Temporal RPCs this process makes: the SDK's client reports each request (and
//! long poll) to a metrics meter by operation; this meter turns those two counters into
//! `callsaga_temporal_rpcs_total{operation, kind}` on `/metrics` and drops everything else
//! (the SDK's latency histograms and worker gauges are not exported).

use std::collections::HashMap;
use std::sync::Arc;
use temporalio_common::telemetry::TaskQueueLabelStrategy;
use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, CounterBase, Gauge, GaugeF64, Histogram, HistogramDuration, HistogramF64,
    MetricAttributable, MetricAttributes, MetricParameters, NewAttributes, NoOpCoreMeter,
    TemporalMeter, UpDownCounter,
};

/// The meter to give the client's connection options.
pub fn meter() -> TemporalMeter {
    TemporalMeter::new(
        Arc::new(RpcMeter),
        NewAttributes { attributes: vec![] },
        TaskQueueLabelStrategy::UseNormal,
    )
}

#[derive(Debug)]
struct RpcMeter;

/// One of the SDK's request counters: `request` (a unary RPC) or `long_request` (a long poll).
struct RpcCounter {
    kind: &'static str,
}

/// The counter bound to one operation.
struct BoundRpcCounter {
    counter: metrics::Counter,
}

impl CounterBase for BoundRpcCounter {
    fn adds(&self, value: u64) {
        self.counter.increment(value);
    }
}

impl MetricAttributable<Box<dyn CounterBase>> for RpcCounter {
    fn with_attributes(
        &self,
        attributes: &MetricAttributes,
    ) -> Result<Box<dyn CounterBase>, Box<dyn std::error::Error>> {
        let operation = match attributes {
            MetricAttributes::NoOp(labels) => labels.get("operation").cloned(),
            _ => None,
        }
        .unwrap_or_else(|| "unknown".to_owned());
        Ok(Box::new(BoundRpcCounter {
            counter: metrics::counter!("callsaga_temporal_rpcs_total", "operation" => operation, "kind" => self.kind),
        }))
    }
}

impl CoreMeter for RpcMeter {
    fn new_attributes(&self, attribs: NewAttributes) -> MetricAttributes {
        NoOpCoreMeter.new_attributes(attribs)
    }

    fn extend_attributes(
        &self,
        existing: MetricAttributes,
        attribs: NewAttributes,
    ) -> MetricAttributes {
        if let MetricAttributes::NoOp(labels) = existing {
            let mut labels: HashMap<String, String> = (*labels).clone();
            labels.extend::<HashMap<String, String>>(attribs.into());
            MetricAttributes::NoOp(Arc::new(labels))
        } else {
            existing
        }
    }

    fn counter(&self, params: MetricParameters) -> Counter {
        match params.name.as_ref() {
            "request" => Counter::new(Arc::new(RpcCounter { kind: "unary" })),
            "long_request" => Counter::new(Arc::new(RpcCounter { kind: "long_poll" })),
            _ => NoOpCoreMeter.counter(params),
        }
    }

    fn histogram(&self, params: MetricParameters) -> Histogram {
        NoOpCoreMeter.histogram(params)
    }

    fn histogram_f64(&self, params: MetricParameters) -> HistogramF64 {
        NoOpCoreMeter.histogram_f64(params)
    }

    fn histogram_duration(&self, params: MetricParameters) -> HistogramDuration {
        NoOpCoreMeter.histogram_duration(params)
    }

    fn gauge(&self, params: MetricParameters) -> Gauge {
        NoOpCoreMeter.gauge(params)
    }

    fn gauge_f64(&self, params: MetricParameters) -> GaugeF64 {
        NoOpCoreMeter.gauge_f64(params)
    }

    fn up_down_counter(&self, params: MetricParameters) -> UpDownCounter {
        NoOpCoreMeter.up_down_counter(params)
    }
}
