//! Numbers in payloads: a plain-number payload (`21.5`) or a number at a JSON path
//! (`$.sensors[0].temp`), the bounded series kept per topic for the tree's latest value and
//! sparkline, and the longer series of the topic shown in the plot.

use std::collections::VecDeque;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Values kept per topic for the tree's sparkline.
pub const SPARK_POINTS: usize = 32;
/// Points kept for the plotted topic.
pub const PLOT_POINTS: usize = 4096;
/// A plain-number payload longer than this is not read as a number (no number is that long,
/// and the check stays cheap under a flood).
const PLAIN_MAX: usize = 64;
/// At most this many numeric leaves are offered by the path picker.
const LEAVES_MAX: usize = 200;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A path to a value inside a JSON document, written `$.a.b[0]` (a key that is not a plain
/// word is written `$["a b"]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct JsonPath(pub Vec<Step>);

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for s in &self.0 {
            match s {
                Step::Key(k)
                    if !k.is_empty()
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    write!(f, ".{k}")?;
                }
                Step::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl JsonPath {
    /// The value at this path in `v`.
    #[must_use]
    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        let mut v = v;
        for s in &self.0 {
            v = match s {
                Step::Key(k) => v.get(k.as_str())?,
                Step::Index(i) => v.get(*i)?,
            };
        }
        Some(v)
    }
}

/// Where a topic's numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Source {
    /// The whole payload is a number.
    #[default]
    Plain,
    /// A number at a JSON path.
    Json(JsonPath),
}

impl Source {
    /// The number this source finds in `payload`.
    #[must_use]
    pub fn read(&self, payload: &[u8]) -> Option<f64> {
        match self {
            Self::Plain => plain_number(payload),
            Self::Json(path) => {
                let v: Value = serde_json::from_slice(payload).ok()?;
                path.get(&v)?.as_f64().filter(|x| x.is_finite())
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain => f.write_str("payload"),
            Self::Json(p) => p.fmt(f),
        }
    }
}

/// The payload as a number, when all of it (spaces aside) is one: `21.5`, `-3`, `1e3`.
#[must_use]
pub fn plain_number(payload: &[u8]) -> Option<f64> {
    if payload.is_empty() || payload.len() > PLAIN_MAX {
        return None;
    }
    let s = std::str::from_utf8(payload).ok()?.trim();
    // Only digits, sign, point and exponent: `inf`, `NaN` and `0x10` are not numbers here.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The numeric leaves of a JSON payload with their values, members in key order (at most 200).
#[must_use]
pub fn numeric_leaves(payload: &[u8]) -> Vec<(JsonPath, f64)> {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(&v, &mut path, &mut out);
    out
}

fn walk(v: &Value, path: &mut Vec<Step>, out: &mut Vec<(JsonPath, f64)>) {
    if out.len() >= LEAVES_MAX {
        return;
    }
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                out.push((JsonPath(path.clone()), x));
            }
        }
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                path.push(Step::Index(i));
                walk(e, path, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, e) in m {
                path.push(Step::Key(k.clone()));
                walk(e, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// A number short enough for the tree: at most 6 significant digits, no trailing zeros.
#[must_use]
pub fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e7 || v.abs() < 1e-3) {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.6}");
    let int_digits = s
        .split('.')
        .next()
        .map_or(0, |i| i.trim_start_matches('-').len());
    let keep = 6usize.saturating_sub(int_digits);
    let s = format!("{v:.keep$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Seconds since the Unix epoch, with fractions, for the time axis.
#[must_use]
pub fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The latest values of one topic: the newest and a short series for the sparkline.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// The newest value.
    pub latest: f64,
    /// The last [`SPARK_POINTS`] values, oldest first.
    pub recent: VecDeque<f64>,
}

impl Values {
    /// Adds a value, dropping the oldest past [`SPARK_POINTS`].
    pub fn push(&mut self, v: f64) {
        self.latest = v;
        if self.recent.len() == SPARK_POINTS {
            self.recent.pop_front();
        }
        self.recent.push_back(v);
    }
}

/// The plotted topic: where its numbers come from and the last [`PLOT_POINTS`] of them as
/// `(seconds since the epoch, value)`.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The topic.
    pub topic: String,
    /// Where the numbers come from.
    pub source: Source,
    /// The points, oldest first.
    pub points: VecDeque<(f64, f64)>,
}

impl Plot {
    /// An empty plot of `topic`.
    #[must_use]
    pub fn new(topic: String, source: Source) -> Self {
        Self {
            topic,
            source,
            points: VecDeque::new(),
        }
    }

    /// Adds a point, dropping the oldest past [`PLOT_POINTS`].
    pub fn push(&mut self, t: f64, v: f64) {
        if self.points.len() == PLOT_POINTS {
            self.points.pop_front();
        }
        self.points.push_back((t, v));
    }

    /// The smallest and largest value (`None` when empty).
    #[must_use]
    pub fn bounds(&self) -> Option<(f64, f64)> {
        let mut it = self.points.iter().map(|p| p.1);
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_what_is_not_one() {
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"21.5", Some(21.5)),
            (b" -3\n", Some(-3.0)),
            (b"1e3", Some(1000.0)),
            (b"inf", None),
            (b"NaN", None),
            (b"0x10", None),
            (b"21.5C", None),
            (b"", None),
            (b"1.2.3", None),
        ];
        for (p, want) in cases {
            assert_eq!(plain_number(p), *want, "{:?}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn leaves_are_listed_in_order_and_read_back_by_their_path() {
        let doc = br#"{"t": 21.5, "s": [{"v": 1}, {"v": 2, "x": "no"}], "odd key": 7, "b": true}"#;
        let leaves = numeric_leaves(doc);
        let names: Vec<String> = leaves.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(names, [r#"$["odd key"]"#, "$.s[0].v", "$.s[1].v", "$.t"]);
        for (path, v) in &leaves {
            assert_eq!(Source::Json(path.clone()).read(doc), Some(*v), "{path}");
        }
        assert_eq!(
            Source::Json(leaves[3].0.clone()).read(b"{\"t\":\"x\"}"),
            None
        );
        assert!(numeric_leaves(b"not json").is_empty());
    }

    #[test]
    fn series_stay_bounded() {
        let mut v = Values::default();
        let mut p = Plot::new("t".into(), Source::Plain);
        for i in 0..(PLOT_POINTS + 10) {
            #[allow(clippy::cast_precision_loss)]
            let x = i as f64;
            v.push(x);
            p.push(x, x);
        }
        assert_eq!(v.recent.len(), SPARK_POINTS);
        assert_eq!(p.points.len(), PLOT_POINTS);
        assert_eq!(p.bounds(), Some((10.0, (PLOT_POINTS + 9) as f64)));
        assert_eq!(short(21.5), "21.5");
        assert_eq!(short(123_456.789), "123457");
        assert_eq!(short(-0.25), "-0.25");
        assert_eq!(short(3.0), "3");
    }
}
