use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::DataError;

/// The on-disk layouts textclf reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row, RFC 4180 quoting (`.csv`).
    Csv,
    /// Tab-separated values with a header row and no quoting, GLUE style (`.tsv`, `.tab`).
    Tsv,
    /// One JSON object per line (`.jsonl`, `.ndjson`, `.json`).
    Jsonl,
    /// Apache Parquet (`.parquet`).
    Parquet,
    /// A directory with one subdirectory of `.txt` files per class (`aclImdb/train/pos/*.txt`).
    Folder,
}

/// The extensions [`Format::detect`] understands, for error messages.
pub(crate) const SUPPORTED: &str = ".csv, .tsv, .tab, .jsonl, .ndjson, .json (JSON lines), \
.parquet (the text formats optionally compressed, e.g. .csv.gz), or a directory with one \
subdirectory of .txt files per class";

impl Format {
    /// All formats, in the order they are listed in help texts.
    pub const ALL: [Format; 5] = [
        Format::Csv,
        Format::Tsv,
        Format::Jsonl,
        Format::Parquet,
        Format::Folder,
    ];

    /// Infers the format from the path: a directory is [`Format::Folder`], otherwise the
    /// extension decides (a trailing `.gz` is looked through).
    ///
    /// Fails with [`DataError::NotFound`] when the path does not exist and with
    /// [`DataError::Format`] when the extension is unknown.
    pub fn detect(path: &Path) -> Result<Format, DataError> {
        let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
        if meta.is_dir() {
            return Ok(Format::Folder);
        }
        Self::from_file_name(path).ok_or_else(|| DataError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "cannot tell the format from the file name; supported are {SUPPORTED}; \
                 pass --format {} to choose one",
                Self::names()
            ),
        })
    }

    /// The format implied by the file name alone, if any.
    pub fn from_file_name(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The name used on the command line (`csv`, `tsv`, `jsonl`, `parquet`, `folder`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
            Format::Folder => "folder",
        }
    }

    fn names() -> String {
        Self::ALL.map(Format::name).join("|")
    }
}

/// `--format`: the formats by their names (the file-name spellings `tab`, `json`, … are
/// for [`FromStr`], not the flag).
impl textclf_core::Choices for Format {
    const VALUES: &'static [Format] = &Format::ALL;

    fn name(self) -> &'static str {
        Format::name(self)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "parquet" => Ok(Format::Parquet),
            "folder" | "dir" | "directory" => Ok(Format::Folder),
            other => Err(DataError::InvalidOption(format!(
                "unknown format '{other}'; expected one of {}",
                Self::names()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_extension() {
        let cases = [
            ("a.csv", Format::Csv),
            ("a.CSV.gz", Format::Csv),
            ("x/b.tsv", Format::Tsv),
            ("b.tab.gz", Format::Tsv),
            ("c.jsonl", Format::Jsonl),
            ("c.ndjson.gz", Format::Jsonl),
            ("c.json", Format::Jsonl),
            ("d.parquet", Format::Parquet),
        ];
        for (name, f) in cases {
            assert_eq!(Format::from_file_name(Path::new(name)), Some(f), "{name}");
        }
        assert_eq!(Format::from_file_name(Path::new("e.txt")), None);
        assert_eq!(Format::from_file_name(Path::new("noext")), None);
        assert_eq!(Format::from_file_name(Path::new("x.gz")), None);
    }

    #[test]
    fn unknown_extension_names_supported_ones_and_flag() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.xlsx");
        std::fs::write(&p, "x").unwrap();
        let msg = Format::detect(&p).unwrap_err().to_string();
        assert!(msg.contains("data.xlsx"), "{msg}");
        assert!(msg.contains(".csv") && msg.contains(".parquet"), "{msg}");
        assert!(msg.contains("--format"), "{msg}");
    }

    #[test]
    fn directory_is_folder_and_missing_path_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Format::detect(dir.path()).unwrap(), Format::Folder);
        let missing = dir.path().join("nope.csv");
        let err = Format::detect(&missing).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("nope.csv") && msg.contains("no such file"),
            "{msg}"
        );
    }

    #[test]
    fn parses_flag_values() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
