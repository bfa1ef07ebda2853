//! `timing` of `metrics.json`: wall-clock seconds of a run's phases, in order.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Wall-clock seconds of the phases of a run, in the order they happened.
///
/// Serialized as one JSON object in phase order with a final `"total"` key, e.g.
/// `{"read": 0.4, "vectorize": 1.2, "total": 1.6}`. `total` is the sum of the phases
/// unless a phase named `"total"` was added explicitly (e.g. a wall-clock total that
/// also covers untimed work); then that value is used and not written twice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    pub phases: Vec<(String, f64)>,
}

impl Timing {
    /// No phases yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a phase of `secs` seconds.
    pub fn add(&mut self, name: impl Into<String>, secs: f64) {
        self.phases.push((name.into(), secs));
    }

    /// The explicit `"total"` phase if there is one, else the sum of all phases.
    pub fn total(&self) -> f64 {
        self.explicit_total()
            .unwrap_or_else(|| self.phases.iter().map(|(_, s)| s).sum())
    }

    /// The seconds of phase `name`, if it was timed.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.phases.iter().find(|(n, _)| n == name).map(|&(_, s)| s)
    }

    fn explicit_total(&self) -> Option<f64> {
        self.phases
            .iter()
            .find(|(n, _)| n == "total")
            .map(|&(_, s)| s)
    }
}

impl Serialize for Timing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let explicit = self.explicit_total().is_some();
        let mut map = s.serialize_map(Some(self.phases.len() + usize::from(!explicit)))?;
        for (name, secs) in &self.phases {
            map.serialize_entry(name, secs)?;
        }
        if !explicit {
            map.serialize_entry("total", &self.total())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Timing {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PhasesVisitor;
        impl<'de> Visitor<'de> for PhasesVisitor {
            type Value = Timing;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of phase names to seconds")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Timing, A::Error> {
                let mut phases = Vec::new();
                while let Some((name, secs)) = access.next_entry::<String, f64>()? {
                    phases.push((name, secs));
                }
                // A trailing "total" that is just the sum was added by `serialize`: drop
                // it so the round trip gives back the same phases.
                if let Some(pos) = phases.iter().position(|(n, _)| n == "total") {
                    let total = phases[pos].1;
                    let rest: f64 = phases
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != pos)
                        .map(|(_, (_, s))| s)
                        .sum();
                    if pos + 1 == phases.len() && (total - rest).abs() <= 1e-9 * rest.abs().max(1.0)
                    {
                        phases.remove(pos);
                    }
                }
                Ok(Timing { phases })
            }
        }
        d.deserialize_map(PhasesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_serializes_as_ordered_object_with_total() {
        let mut t = Timing::new();
        t.add("read", 0.5);
        t.add("vectorize", 1.25);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"read":0.5,"vectorize":1.25,"total":1.75}"#);
        let back: Timing = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
        // An explicit wall-clock total is kept, not doubled.
        t.add("total", 2.0);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"read":0.5,"vectorize":1.25,"total":2.0}"#);
        let back: Timing = serde_json::from_str(&s).unwrap();
        assert_eq!(back.total(), 2.0);
        assert_eq!(back, t);
    }
}
