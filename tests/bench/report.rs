//! What bench-tools prints: table rows of latency percentiles beside the floor's, and the
//! activity times the service recorded in `/metrics`.

use std::time::Duration;

pub(crate) fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// One table row: p50/p99 of our samples and of the floor's, of the rounds `keep` selects.
pub(crate) fn print_row(
    label: &str,
    concurrency: usize,
    ours: &[(usize, Duration)],
    floor: &[(usize, Duration)],
    keep: impl Fn(usize) -> bool,
) {
    let select = |v: &[(usize, Duration)]| -> Vec<Duration> {
        v.iter()
            .filter(|(r, _)| keep(*r))
            .map(|(_, d)| *d)
            .collect()
    };
    let (mut ours, mut floor) = (select(ours), select(floor));
    let (o50, o99) = (pct(&mut ours, 0.5), pct(&mut ours, 0.99));
    let (f50, f99) = (pct(&mut floor, 0.5), pct(&mut floor, 0.99));
    let (low, high) = p99_ratio_range(&ours, &floor);
    println!(
        "{:<30} {:>5} {:>5} {:>8} {:>8} {:>10} {:>10} {:>8.2} {:>13}",
        label,
        concurrency,
        ours.len(),
        ms(o50),
        ms(o99),
        ms(f50),
        ms(f99),
        o99.as_secs_f64() / f99.as_secs_f64().max(1e-9),
        format!("{low:.2}–{high:.2}")
    );
}

/// The 5th and 95th percentile of the p99 ratio over 1000 bootstrap draws (both sample sets
/// resampled with replacement): how far the ratio moves by chance alone with this many
/// samples. The draws treat samples as independent, so a stall that hits several requests
/// at once is more likely than they assume: read it as a lower bound of the noise.
fn p99_ratio_range(ours: &[Duration], floor: &[Duration]) -> (f64, f64) {
    if ours.is_empty() || floor.is_empty() {
        return (0.0, 0.0);
    }
    // splitmix64: a fixed seed, so the same samples give the same range.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    };
    let mut draw = |from: &[Duration]| -> Duration {
        let mut sample: Vec<Duration> = (0..from.len()).map(|_| from[next(from.len())]).collect();
        pct(&mut sample, 0.99)
    };
    let mut ratios: Vec<f64> = (0..1000)
        .map(|_| draw(ours).as_secs_f64() / draw(floor).as_secs_f64().max(1e-9))
        .collect();
    ratios.sort_by(f64::total_cmp);
    (ratios[50], ratios[949])
}

/// Where the time of the runs above went: mean, p99 and max duration per activity, from
/// `/metrics`.
pub(crate) async fn print_activity_means(http: &reqwest::Client, base: &str) {
    let Ok(text) = async {
        http.get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await
    }
    .await
    else {
        return;
    };
    #[derive(Default)]
    struct Times {
        sum: f64,
        count: f64,
        /// (bucket upper bound in seconds, cumulative count), from the histogram.
        buckets: Vec<(f64, f64)>,
    }
    let mut times = std::collections::BTreeMap::<String, Times>::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("callsaga_activity_seconds_") else {
            continue;
        };
        let (Some((kind, labels)), Some(value)) = (
            rest.split_once('{'),
            line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let mut name = labels.split('"').nth(1).unwrap_or("?").to_owned();
        if labels.contains("outcome=\"error\"") {
            name.push_str(" (failed)");
        }
        let entry = times.entry(name).or_default();
        match kind {
            "sum" => entry.sum += value,
            "count" => entry.count += value,
            "bucket" => {
                let le = labels
                    .split("le=\"")
                    .nth(1)
                    .and_then(|l| l.split('"').next())
                    .and_then(|l| l.parse::<f64>().ok())
                    .unwrap_or(f64::INFINITY);
                entry.buckets.push((le, value));
            }
            _ => {}
        }
    }
    // The histogram bucket a quantile falls in: its upper bound (coarse, but it tells a
    // stall inside an activity from one in Temporal).
    let bound = |t: &Times, q: f64| -> String {
        let mut buckets = t.buckets.clone();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
            .iter()
            .find(|(_, cum)| *cum >= (t.count * q).ceil())
            .map_or("?".into(), |(le, _)| format!("≤{}", le * 1000.0))
    };
    println!(
        "\nactivity time inside the tool calls above (ms, all runs; p99 and max as histogram buckets)"
    );
    println!(
        "{:<32} {:>6} {:>8} {:>8} {:>8}",
        "activity", "n", "mean", "p99", "max"
    );
    for (name, t) in &times {
        if t.count > 0.0 {
            println!(
                "{name:<32} {:>6} {:>8.2} {:>8} {:>8}",
                t.count,
                t.sum / t.count * 1000.0,
                bound(t, 0.99),
                bound(t, 1.0)
            );
        }
    }
}
