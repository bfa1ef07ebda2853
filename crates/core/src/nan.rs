//! JSON has no NaN or infinity: serde_json writes them as `null`. Records whose numbers can
//! be undefined (a correlation of constant scores, the log loss of a certain miss) read
//! `null` back as NaN with [`null_as_nan`].

use serde::{Deserialize, Deserializer};

/// Reads a number, or `null` as NaN (`#[serde(deserialize_with = "null_as_nan")]`).
pub fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Score {
        #[serde(deserialize_with = "super::null_as_nan")]
        r: f64,
    }

    fn read(json: &str) -> serde_json::Result<Score> {
        serde_json::from_str(json)
    }

    #[test]
    fn null_reads_as_nan_and_numbers_as_themselves() {
        assert!(read(r#"{"r": null}"#).unwrap().r.is_nan());
        assert_eq!(read(r#"{"r": 0.25}"#).unwrap().r, 0.25);
        assert!(read(r#"{"r": "x"}"#).is_err());
    }
}
