//! Reads counters out of a Prometheus text exposition (`/metrics`).

use std::collections::BTreeMap;

/// Sums of the samples of metric `name` whose labels contain every `filter` pair, by the value of
/// label `by` (empty when the sample has no such label).
pub(crate) fn sum_by(
    text: &str,
    name: &str,
    filter: &[(&str, &str)],
    by: &str,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((l, v)) => (l, v),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        let labels = parse_labels(labels);
        if !filter
            .iter()
            .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        {
            continue;
        }
        let Some(v) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        *out.entry(labels.get(by).cloned().unwrap_or_default())
            .or_insert(0.0) += v;
    }
    out
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    out
}

/// `after − before` per key (counters that restarted count from zero: a restarted process).
pub(crate) fn delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, a)| {
            let b = before.get(k).copied().unwrap_or(0.0);
            (k.clone(), if *a >= b { a - b } else { *a })
        })
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// The increase of counters across `samples` (in time order) of a process that may have
/// restarted between them: a sample taken just before each restart ends a segment, the next
/// starts from zero.
pub(crate) fn delta_across_restarts(
    first: &BTreeMap<String, f64>,
    before_restarts: &[BTreeMap<String, f64>],
    last: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    let mut total = BTreeMap::new();
    let mut base = first.clone();
    for sample in before_restarts.iter().chain([last]) {
        for (k, v) in delta(&base, sample) {
            *total.entry(k).or_insert(0.0) += v;
        }
        base = BTreeMap::new();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_samples_by_a_label_with_a_filter() {
        let text = "# HELP service_requests x\n\
            service_requests{operation=\"StartWorkflowExecution\",service_name=\"frontend\"} 3\n\
            service_requests{operation=\"StartWorkflowExecution\",service_name=\"history\"} 5\n\
            service_requests{operation=\"PollWorkflowTaskQueue\",service_name=\"frontend\",x=\"a,b\"} 2\n\
            service_requests{operation=\"PollWorkflowTaskQueue\",service_name=\"frontend\",x=\"c\\\"d\"} 1.5\n\
            service_requests_total 9\n";
        let m = sum_by(
            text,
            "service_requests",
            &[("service_name", "frontend")],
            "operation",
        );
        assert_eq!(m.get("StartWorkflowExecution"), Some(&3.0));
        assert_eq!(m.get("PollWorkflowTaskQueue"), Some(&3.5));
        assert_eq!(m.len(), 2);
        let before = BTreeMap::from([("a".to_owned(), 5.0), ("b".to_owned(), 9.0)]);
        let after = BTreeMap::from([("a".to_owned(), 7.0), ("b".to_owned(), 2.0)]);
        let d = delta(&before, &after);
        assert_eq!(d.get("a"), Some(&2.0));
        assert_eq!(
            d.get("b"),
            Some(&2.0),
            "a restarted counter counts from zero"
        );
    }

    #[test]
    fn counts_before_a_restart_are_kept() {
        let m = |v: f64| BTreeMap::from([("Signal".to_owned(), v)]);
        assert_eq!(delta_across_restarts(&m(10.0), &[], &m(15.0)), m(5.0));
        // 10 → 40 before the restart, then 0 → 7 after it: 37.
        assert_eq!(
            delta_across_restarts(&m(10.0), &[m(40.0)], &m(7.0)),
            m(37.0)
        );
    }
}
