//! Text → token ids for BERT-family classifiers.
//!
//! [`TextEncoder`] wraps a Hugging Face `tokenizers` tokenizer loaded from a model folder
//! (`tokenizer.json`, or a BERT WordPiece tokenizer rebuilt from `vocab.txt`). It never lets the
//! tokenizer pad or truncate by itself (the shared `tokenizer.json` files switch on both): it
//! tokenizes the content without special tokens, cuts the content to `max_len - 2` tokens with the
//! chosen [`Truncation`] strategy and wraps it as `[CLS] … [SEP]` (or `<s> … </s>`). With
//! [`Truncation::Head`] the ids are exactly what Python `tokenizer(text, truncation=True,
//! max_length=max_len)` returns. Padding is done per batch by [`crate::batch::collate`].

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Tokenizer};

/// Files that make up a tokenizer in a Hugging Face model folder; [`TextEncoder::save_files`]
/// copies those present.
pub const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "vocab.txt",
    "merges.txt",
    "vocab.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
];

/// Below this many texts, encoding runs on the calling thread (rayon overhead is not worth it).
const PARALLEL_MIN_TEXTS: usize = 64;

/// Errors of tokenizer loading and encoding.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error(
        "no tokenizer found in {dir}: looked for tokenizer.json, then vocab.txt (BERT WordPiece)"
    )]
    NoTokenizer { dir: PathBuf },
    #[error(
        "{dir} has only a SentencePiece model (spm.model, as DeBERTa-v3 checkpoints do), which textclf does not read. \
         Convert it once to tokenizer.json in Python (pip install transformers sentencepiece protobuf):\n  \
         from transformers import DebertaV2TokenizerFast\n  \
         DebertaV2TokenizerFast.from_pretrained(\"{dir}\").save_pretrained(\"{dir}\")"
    )]
    SentencePieceOnly { dir: PathBuf },
    #[error("cannot load tokenizer from {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("cannot read {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("max_len must be at least 3 ([CLS], one token, [SEP]); got {0}")]
    MaxLen(usize),
    #[error("cannot determine the special tokens of the tokenizer: {0}")]
    SpecialTokens(String),
    #[error("tokenization failed: {0}")]
    Encode(String),
    #[error("cannot copy {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown truncation strategy {0:?}; expected one of: head, tail, head+tail")]
    UnknownTruncation(String),
}

/// Characters of text kept per token of budget before tokenising. A token covers at most
/// about a word of up to 100 characters (longer words become one unknown token), so a
/// text cut to this many characters per token still yields every token the truncation
/// keeps, unless it holds runs of more than ~128 spaces between words. Without the cut
/// one 50 MB text took 7 GB to tokenise.
pub const CHARS_PER_TOKEN: usize = 128;

/// The part of `text` a truncation to `cap` characters can reach: the first `cap`
/// characters (head), the last (tail), or both ends joined by a space (head+tail).
pub fn precut(text: &str, cap: usize, truncation: Truncation) -> std::borrow::Cow<'_, str> {
    if text.len() <= cap {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars = text.chars().count();
    if chars <= cap {
        return std::borrow::Cow::Borrowed(text);
    }
    let at = |n: usize| text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
    let head = || &text[..at(cap)];
    let tail = || &text[at(chars - cap)..];
    match truncation {
        Truncation::Head => std::borrow::Cow::Borrowed(head()),
        Truncation::Tail => std::borrow::Cow::Borrowed(tail()),
        Truncation::HeadTail => std::borrow::Cow::Owned(format!("{} {}", head(), tail())),
    }
}

/// Which tokens to keep when a text is longer than `max_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Truncation {
    /// Keep the first `max_len - 2` content tokens (what Hugging Face does).
    Head,
    /// Keep the last `max_len - 2` content tokens.
    Tail,
    /// Keep the first quarter and the last three quarters of the content budget.
    ///
    /// Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?" (CCL 2019,
    /// arXiv:1905.05583) found that keeping the head 128 and the tail 382 tokens of a 510-token
    /// budget worked best on IMDB (long reviews tend to conclude at the end); the split here is
    /// ⌊n/4⌋ head + the rest tail for any budget n.
    HeadTail,
}

impl Truncation {
    /// Cuts `content` (ids without special tokens) to at most `budget` tokens.
    pub fn apply(self, content: &[u32], budget: usize) -> Vec<u32> {
        let n = content.len();
        if n <= budget {
            return content.to_vec();
        }
        match self {
            Truncation::Head => content[..budget].to_vec(),
            Truncation::Tail => content[n - budget..].to_vec(),
            Truncation::HeadTail => {
                let head = budget / 4;
                let tail = budget - head;
                let mut out = Vec::with_capacity(budget);
                out.extend_from_slice(&content[..head]);
                out.extend_from_slice(&content[n - tail..]);
                out
            }
        }
    }

    /// The name accepted by [`FromStr`] (`head`, `tail`, `head+tail`).
    pub fn as_str(self) -> &'static str {
        match self {
            Truncation::Head => "head",
            Truncation::Tail => "tail",
            Truncation::HeadTail => "head+tail",
        }
    }
}

/// `--truncation`: the values, their help and the accepted alias `head-tail`.
impl textclf_core::Choices for Truncation {
    const VALUES: &'static [Truncation] =
        &[Truncation::Head, Truncation::Tail, Truncation::HeadTail];

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn help(self) -> &'static str {
        match self {
            Truncation::Head => "Keep the beginning",
            Truncation::Tail => "Keep the end",
            Truncation::HeadTail => {
                "Keep the first quarter and the last three quarters of the budget (Sun et al. 2019)"
            }
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Truncation::HeadTail => &["head-tail"],
            _ => &[],
        }
    }
}

impl fmt::Display for Truncation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Truncation {
    type Err = TokenizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "head" => Ok(Truncation::Head),
            "tail" => Ok(Truncation::Tail),
            "head+tail" | "head-tail" | "head_tail" | "headtail" => Ok(Truncation::HeadTail),
            _ => Err(TokenizeError::UnknownTruncation(s.to_string())),
        }
    }
}

/// How the two texts of a pair share `max_len` when together they are too long (the
/// `truncation` argument of a transformers tokenizer called on pairs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairTruncation {
    /// Cut the end of the longer text until both are equally long, then both to half the
    /// budget each (the longer one, the second when they are equally long, keeps the odd
    /// token): transformers' `longest_first`, its default, as its fast tokenizers cut.
    #[default]
    LongestFirst,
    /// Cut only the first text; a pair that fits only if the first text lost every token
    /// is an error.
    OnlyFirst,
    /// Cut only the second text; a pair that fits only if the second text lost every token
    /// is an error.
    OnlySecond,
}

impl PairTruncation {
    /// The name accepted by [`FromStr`]: `longest_first`, `only_first`, `only_second`.
    pub fn as_str(self) -> &'static str {
        match self {
            PairTruncation::LongestFirst => "longest_first",
            PairTruncation::OnlyFirst => "only_first",
            PairTruncation::OnlySecond => "only_second",
        }
    }

    /// Cuts `a` and `b` (content ids, no special tokens) so that together they hold at most
    /// `budget` tokens, as the tokenizers library does. `None` when the strategy cannot: the
    /// pair fits only if the text it cuts lost every token (transformers refuses such a pair
    /// too). A budget of 0 (a `max_len` that holds only the special tokens) keeps nothing of
    /// either text, whatever the strategy, as there.
    pub fn apply(self, a: &[u32], b: &[u32], budget: usize) -> Option<(Vec<u32>, Vec<u32>)> {
        let (na, nb) = self.lengths(a.len(), b.len(), budget)?;
        Some((a[..na].to_vec(), b[..nb].to_vec()))
    }

    /// How many tokens of texts of `na` and `nb` tokens [`Self::apply`] keeps.
    pub fn lengths(self, na: usize, nb: usize, budget: usize) -> Option<(usize, usize)> {
        let (mut na, mut nb) = (na, nb);
        if budget == 0 {
            return Some((0, 0));
        }
        if na + nb > budget {
            match self {
                PairTruncation::LongestFirst => {
                    // As the tokenizers library (transformers' fast tokenizers) cuts: the
                    // shorter text (the first on ties) stays whole when the longer alone can
                    // give up the excess; else it keeps ⌊budget/2⌋ and the longer the rest, so
                    // with an odd budget the longer text keeps the extra token.
                    let (short, long) = if na <= nb {
                        (&mut na, &mut nb)
                    } else {
                        (&mut nb, &mut na)
                    };
                    if 2 * *short > budget {
                        *short = budget / 2;
                    }
                    *long = budget - *short;
                }
                // Like tokenizers, refuse to cut the text away entirely: it keeps a token.
                PairTruncation::OnlyFirst => na = budget.checked_sub(nb).filter(|&n| n > 0)?,
                PairTruncation::OnlySecond => nb = budget.checked_sub(na).filter(|&n| n > 0)?,
            }
        }
        Some((na, nb))
    }
}

/// `--pair-truncation`: the values and their help.
impl textclf_core::Choices for PairTruncation {
    const VALUES: &'static [PairTruncation] = &[
        PairTruncation::LongestFirst,
        PairTruncation::OnlyFirst,
        PairTruncation::OnlySecond,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn help(self) -> &'static str {
        match self {
            PairTruncation::LongestFirst => {
                "Cut the longer text first, a token at a time (transformers' default)"
            }
            PairTruncation::OnlyFirst => "Cut only the first text",
            PairTruncation::OnlySecond => "Cut only the second text",
        }
    }
}

impl fmt::Display for PairTruncation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PairTruncation {
    type Err = TokenizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "longest_first" => Ok(PairTruncation::LongestFirst),
            "only_first" => Ok(PairTruncation::OnlyFirst),
            "only_second" => Ok(PairTruncation::OnlySecond),
            _ => Err(TokenizeError::UnknownTruncation(format!(
                "{s} (for pairs use longest_first, only_first or only_second)"
            ))),
        }
    }
}

/// One encoded pair: token ids with special tokens, and the segment (token type) of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairIds {
    pub ids: Vec<u32>,
    /// 0 for `[CLS] A [SEP]`, 1 for `B [SEP]` (BERT's layout); all 0 for RoBERTa's
    /// `<s> A </s></s> B </s>`, which has no segments.
    pub type_ids: Vec<u32>,
}

/// Tokenizer of one model with a fixed maximum length and truncation strategy.
pub struct TextEncoder {
    tokenizer: Tokenizer,
    max_len: usize,
    truncation: Truncation,
    /// How sentence pairs are cut (see [`Self::with_pair_truncation`]).
    pair_truncation: PairTruncation,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
    source_dir: PathBuf,
}

impl fmt::Debug for TextEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextEncoder")
            .field("source_dir", &self.source_dir)
            .field("max_len", &self.max_len)
            .field("truncation", &self.truncation)
            .field("pair_truncation", &self.pair_truncation)
            .field("cls_id", &self.cls_id)
            .field("sep_id", &self.sep_id)
            .field("pad_id", &self.pad_id)
            .finish_non_exhaustive()
    }
}

impl TextEncoder {
    /// Loads the tokenizer of a Hugging Face model folder: `tokenizer.json` when present; else
    /// `vocab.txt` as a BERT WordPiece tokenizer (BertNormalizer, lowercasing from
    /// `tokenizer_config.json`'s `do_lower_case`, default true; BertPreTokenizer; WordPiece with
    /// `[UNK]` and the `##` prefix; `[CLS] … [SEP]` post-processing); else an error naming the
    /// files looked for.
    pub fn from_dir(
        dir: &Path,
        max_len: usize,
        truncation: Truncation,
    ) -> Result<Self, TokenizeError> {
        if max_len < 3 {
            return Err(TokenizeError::MaxLen(max_len));
        }
        let json_path = dir.join("tokenizer.json");
        let vocab_path = dir.join("vocab.txt");
        let (mut tokenizer, configured_pad) = if json_path.is_file() {
            let tok = Tokenizer::from_file(&json_path).map_err(|e| TokenizeError::Load {
                path: json_path.clone(),
                message: e.to_string(),
            })?;
            let pad = tok.get_padding().map(|p| p.pad_id);
            (tok, pad)
        } else if vocab_path.is_file() {
            (wordpiece_from_vocab(dir, &vocab_path)?, None)
        } else if dir.join("spm.model").is_file() {
            return Err(TokenizeError::SentencePieceOnly {
                dir: dir.to_path_buf(),
            });
        } else {
            return Err(TokenizeError::NoTokenizer {
                dir: dir.to_path_buf(),
            });
        };
        tokenizer
            .with_truncation(None)
            .map_err(|e| TokenizeError::Load {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        tokenizer.with_padding(None);

        let (cls_id, sep_id) = special_ids(&tokenizer)?;
        let pad_id = configured_pad
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .or_else(|| tokenizer.token_to_id("<pad>"))
            .unwrap_or(0);

        Ok(Self {
            tokenizer,
            max_len,
            truncation,
            pair_truncation: PairTruncation::default(),
            cls_id,
            sep_id,
            pad_id,
            source_dir: dir.to_path_buf(),
        })
    }

    /// The same encoder cutting sentence pairs by `strategy` (`longest_first` unless set):
    /// what training and prediction pass to [`Self::encode_pair_batch`].
    pub fn with_pair_truncation(mut self, strategy: PairTruncation) -> Self {
        self.pair_truncation = strategy;
        self
    }

    /// How this encoder's users cut sentence pairs.
    pub fn pair_truncation(&self) -> PairTruncation {
        self.pair_truncation
    }

    /// Maximum sequence length, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The truncation strategy.
    pub fn truncation(&self) -> Truncation {
        self.truncation
    }

    /// Id of the padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Id of the leading special token (`[CLS]` or `<s>`).
    pub fn cls_id(&self) -> u32 {
        self.cls_id
    }

    /// Id of the trailing special token (`[SEP]` or `</s>`).
    pub fn sep_id(&self) -> u32 {
        self.sep_id
    }

    /// The underlying tokenizer (padding and truncation disabled).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Token ids with special tokens (`[CLS] … [SEP]` or `<s> … </s>`), the content truncated to
    /// `max_len - 2` tokens by the strategy, unpadded. Runs in parallel (rayon) over large inputs;
    /// the output order is the input order.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, TokenizeError> {
        let budget = self.max_len - 2;
        let cap = budget.saturating_mul(CHARS_PER_TOKEN);
        let cut: Vec<std::borrow::Cow<str>> = texts
            .iter()
            .map(|t| precut(t, cap, self.truncation))
            .collect();
        let texts: Vec<&str> = cut.iter().map(|c| c.as_ref()).collect();
        self.map_texts(&texts, |content| {
            let kept = self.truncation.apply(&content, budget);
            let mut ids = Vec::with_capacity(kept.len() + 2);
            ids.push(self.cls_id);
            ids.extend_from_slice(&kept);
            ids.push(self.sep_id);
            ids
        })
    }

    /// True when pairs use RoBERTa's layout `<s> A </s></s> B </s>` (the leading special
    /// token is `<s>`), else BERT's `[CLS] A [SEP] B [SEP]` with segments.
    pub fn double_separator(&self) -> bool {
        self.tokenizer.id_to_token(self.cls_id).as_deref() == Some("<s>")
    }

    /// Encodes text pairs as transformers' tokenizers do for this model family:
    /// `[CLS] A [SEP] B [SEP]` with token types 0…0 1…1, or RoBERTa's
    /// `<s> A </s></s> B </s>` with token types all 0, cut to `max_len` by `strategy`.
    /// A pair the strategy cannot fit is an error naming its row.
    pub fn encode_pair_batch(
        &self,
        a: &[&str],
        b: &[&str],
        strategy: PairTruncation,
    ) -> Result<Vec<PairIds>, TokenizeError> {
        if a.len() != b.len() {
            return Err(TokenizeError::Encode(format!(
                "{} first texts but {} second texts",
                a.len(),
                b.len()
            )));
        }
        let double = self.double_separator();
        let specials = if double { 4 } else { 3 };
        let budget = self.max_len.saturating_sub(specials);
        let cap = budget.saturating_mul(CHARS_PER_TOKEN);
        let first = self.map_texts(
            &a.iter()
                .map(|t| precut(t, cap, Truncation::Head))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_ref())
                .collect::<Vec<_>>(),
            |ids| ids,
        )?;
        let second = self.map_texts(
            &b.iter()
                .map(|t| precut(t, cap, Truncation::Head))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_ref())
                .collect::<Vec<_>>(),
            |ids| ids,
        )?;
        first
            .iter()
            .zip(&second)
            .enumerate()
            .map(|(row, (x, y))| {
                let (x, y) = strategy.apply(x, y, budget).ok_or_else(|| {
                    TokenizeError::Encode(format!(
                        "pair {}: with --pair-truncation {strategy} the text that may not be \
                         cut leaves no room in --max-len {} for the other; use longest_first or \
                         a larger --max-len",
                        row + 1,
                        self.max_len
                    ))
                })?;
                let mut ids = Vec::with_capacity(x.len() + y.len() + specials);
                ids.push(self.cls_id);
                ids.extend_from_slice(&x);
                ids.push(self.sep_id);
                if double {
                    ids.push(self.sep_id);
                }
                let first_len = ids.len();
                ids.extend_from_slice(&y);
                ids.push(self.sep_id);
                let type_ids = (0..ids.len())
                    .map(|i| u32::from(!double && i >= first_len))
                    .collect();
                Ok(PairIds { ids, type_ids })
            })
            .collect()
    }

    /// Number of tokens each text would have without truncation, special tokens included.
    /// Texts far past `max_len` are counted up to a bound (16× what encoding keeps), so
    /// one huge text cannot exhaust memory; they still count as longer than `max_len`.
    pub fn full_lengths(&self, texts: &[&str]) -> Result<Vec<usize>, TokenizeError> {
        Ok(self
            .content_lengths(texts)?
            .into_iter()
            .map(|n| n + 2)
            .collect())
    }

    /// Untruncated lengths of text pairs as [`Self::encode_pair_batch`] lays them out:
    /// both texts' tokens plus the special tokens (3, or 4 with RoBERTa's double
    /// separator), each text precut as [`Self::full_lengths`] precuts.
    pub fn full_pair_lengths(&self, a: &[&str], b: &[&str]) -> Result<Vec<usize>, TokenizeError> {
        if a.len() != b.len() {
            return Err(TokenizeError::Encode(format!(
                "{} first texts but {} second texts",
                a.len(),
                b.len()
            )));
        }
        let specials = if self.double_separator() { 4 } else { 3 };
        let (la, lb) = (self.content_lengths(a)?, self.content_lengths(b)?);
        Ok(la.iter().zip(&lb).map(|(x, y)| x + y + specials).collect())
    }

    /// Tokens of each text without special tokens (texts far beyond `max_len` are cut
    /// first, at 16 × what `max_len` could hold).
    fn content_lengths(&self, texts: &[&str]) -> Result<Vec<usize>, TokenizeError> {
        let cap = (self.max_len - 2)
            .saturating_mul(CHARS_PER_TOKEN)
            .saturating_mul(16);
        let cut: Vec<std::borrow::Cow<str>> = texts
            .iter()
            .map(|t| precut(t, cap, Truncation::Head))
            .collect();
        let texts: Vec<&str> = cut.iter().map(|c| c.as_ref()).collect();
        self.map_texts(&texts, |content| content.len())
    }

    /// Copies the tokenizer files found in the source folder ([`TOKENIZER_FILES`]) into `out_dir`
    /// (created if missing) so that the saved model loads with Python `AutoTokenizer`.
    pub fn save_files(&self, out_dir: &Path) -> Result<(), TokenizeError> {
        fs::create_dir_all(out_dir).map_err(|source| TokenizeError::CreateDir {
            path: out_dir.to_path_buf(),
            source,
        })?;
        for name in TOKENIZER_FILES {
            let from = self.source_dir.join(name);
            if !from.is_file() {
                continue;
            }
            let to = out_dir.join(name);
            // Copying a file onto itself would truncate it.
            if let (Ok(a), Ok(b)) = (from.canonicalize(), to.canonicalize()) {
                if a == b {
                    continue;
                }
            }
            fs::copy(&from, &to).map_err(|source| TokenizeError::Copy {
                from: from.clone(),
                to: to.clone(),
                source,
            })?;
        }
        self.record_trained_length(out_dir)
    }

    /// Writes the length the model was trained at into the saved `tokenizer_config.json`
    /// (`model_max_length`, and `truncation_side` "left" for tail truncation), so a
    /// transformers pipeline truncates as textclf does instead of at the checkpoint's 512.
    fn record_trained_length(&self, out_dir: &Path) -> Result<(), TokenizeError> {
        let path = out_dir.join("tokenizer_config.json");
        let Ok(text) = fs::read_to_string(&path) else {
            return Ok(());
        };
        let bad = |message: String| TokenizeError::Config {
            path: path.clone(),
            message,
        };
        let mut v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let Some(m) = v.as_object_mut() else {
            return Err(bad("not a JSON object".into()));
        };
        m.insert("model_max_length".into(), serde_json::json!(self.max_len));
        if self.truncation == Truncation::Tail {
            m.insert("truncation_side".into(), serde_json::json!("left"));
        }
        let mut bytes = serde_json::to_vec_pretty(&v).map_err(|e| bad(e.to_string()))?;
        bytes.push(b'\n');
        // The copy may be read-only (copied from a read-only source): replace, not write.
        let _ = fs::remove_file(&path);
        fs::write(&path, bytes).map_err(|e| bad(e.to_string()))
    }

    /// Content ids of one text (no special tokens, no truncation).
    fn content_ids(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        let enc = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    fn map_texts<T, F>(&self, texts: &[&str], f: F) -> Result<Vec<T>, TokenizeError>
    where
        T: Send,
        F: Fn(Vec<u32>) -> T + Sync,
    {
        if texts.len() < PARALLEL_MIN_TEXTS {
            texts.iter().map(|t| self.content_ids(t).map(&f)).collect()
        } else {
            texts
                .par_iter()
                .map(|t| self.content_ids(t).map(&f))
                .collect()
        }
    }
}

/// Finds the leading and trailing special ids: the post-processor's encoding of the empty string
/// when it is exactly two tokens, else the vocabulary's `[CLS]`/`[SEP]` or `<s>`/`</s>`.
fn special_ids(tokenizer: &Tokenizer) -> Result<(u32, u32), TokenizeError> {
    let empty = tokenizer
        .encode_fast("", true)
        .map_err(|e| TokenizeError::Encode(e.to_string()))?;
    if let [cls, sep] = empty.get_ids() {
        return Ok((*cls, *sep));
    }
    for (cls, sep) in [("[CLS]", "[SEP]"), ("<s>", "</s>")] {
        if let (Some(c), Some(s)) = (tokenizer.token_to_id(cls), tokenizer.token_to_id(sep)) {
            return Ok((c, s));
        }
    }
    Err(TokenizeError::SpecialTokens(format!(
        "the empty text encodes to {:?} (expected [cls, sep]) and the vocabulary has neither \
         [CLS]/[SEP] nor <s>/</s>",
        empty.get_ids()
    )))
}

/// Settings read from `tokenizer_config.json` for the `vocab.txt` fallback.
struct BertSettings {
    lowercase: bool,
    strip_accents: Option<bool>,
    chinese_chars: bool,
    unk: String,
    cls: String,
    sep: String,
    pad: String,
    mask: String,
}

impl BertSettings {
    fn read(dir: &Path) -> Result<Self, TokenizeError> {
        let path = dir.join("tokenizer_config.json");
        let cfg: serde_json::Value = if path.is_file() {
            let text = fs::read_to_string(&path).map_err(|e| TokenizeError::Config {
                path: path.clone(),
                message: e.to_string(),
            })?;
            serde_json::from_str(&text).map_err(|e| TokenizeError::Config {
                path: path.clone(),
                message: e.to_string(),
            })?
        } else {
            serde_json::Value::Null
        };
        let flag = |key: &str| cfg.get(key).and_then(serde_json::Value::as_bool);
        // Special tokens are either plain strings or AddedToken objects with a "content" field.
        let token = |key: &str, default: &str| {
            cfg.get(key)
                .and_then(|v| {
                    v.as_str()
                        .or_else(|| v.get("content").and_then(serde_json::Value::as_str))
                })
                .unwrap_or(default)
                .to_string()
        };
        Ok(Self {
            lowercase: flag("do_lower_case").unwrap_or(true),
            strip_accents: flag("strip_accents"),
            chinese_chars: flag("tokenize_chinese_chars").unwrap_or(true),
            unk: token("unk_token", "[UNK]"),
            cls: token("cls_token", "[CLS]"),
            sep: token("sep_token", "[SEP]"),
            pad: token("pad_token", "[PAD]"),
            mask: token("mask_token", "[MASK]"),
        })
    }
}

/// Builds the equivalent of `BertTokenizerFast` from a WordPiece `vocab.txt`.
fn wordpiece_from_vocab(dir: &Path, vocab_path: &Path) -> Result<Tokenizer, TokenizeError> {
    let settings = BertSettings::read(dir)?;
    let load_err = |message: String| TokenizeError::Load {
        path: vocab_path.to_path_buf(),
        message,
    };
    let model = WordPiece::from_file(&vocab_path.to_string_lossy())
        .unk_token(settings.unk.clone())
        .continuing_subword_prefix("##".to_string())
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    let mut tok = Tokenizer::new(model);
    let id = |tok: &Tokenizer, t: &str| {
        tok.token_to_id(t)
            .ok_or_else(|| load_err(format!("special token {t} is not in the vocabulary")))
    };
    let cls_id = id(&tok, &settings.cls)?;
    let sep_id = id(&tok, &settings.sep)?;
    id(&tok, &settings.unk)?;
    tok.with_normalizer(Some(BertNormalizer::new(
        true,
        settings.chinese_chars,
        settings.strip_accents,
        settings.lowercase,
    )))
    .map_err(|e| load_err(e.to_string()))?;
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(BertProcessing::new(
        (settings.sep.clone(), sep_id),
        (settings.cls.clone(), cls_id),
    )));
    tok.with_decoder(Some(WordPieceDecoder::default()));
    // Like the fast tokenizer converted by transformers, special tokens written in the text are
    // matched as whole tokens (not split, not lowercased).
    let specials: Vec<AddedToken> = [
        &settings.pad,
        &settings.unk,
        &settings.cls,
        &settings.sep,
        &settings.mask,
    ]
    .into_iter()
    .filter(|t| tok.token_to_id(t).is_some())
    .map(|t| AddedToken::from(t.clone(), true))
    .collect();
    tok.add_special_tokens(specials)
        .map_err(|e| load_err(e.to_string()))?;
    Ok(tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_strategies() {
        let content: Vec<u32> = (0..10).collect();
        assert_eq!(Truncation::Head.apply(&content, 4), vec![0, 1, 2, 3]);
        assert_eq!(Truncation::Tail.apply(&content, 4), vec![6, 7, 8, 9]);
        assert_eq!(Truncation::HeadTail.apply(&content, 4), vec![0, 7, 8, 9]);
        assert_eq!(
            Truncation::HeadTail.apply(&content, 8),
            vec![0, 1, 4, 5, 6, 7, 8, 9]
        );
        assert_eq!(Truncation::HeadTail.apply(&content, 3), vec![7, 8, 9]);
        for t in [Truncation::Head, Truncation::Tail, Truncation::HeadTail] {
            assert_eq!(t.apply(&content, 10), content);
            assert_eq!(t.apply(&content, 20), content);
            assert!(t.apply(&content, 0).is_empty());
        }
    }

    #[test]
    fn truncation_parse_and_serde() {
        assert_eq!("head".parse::<Truncation>().unwrap(), Truncation::Head);
        assert_eq!("Tail".parse::<Truncation>().unwrap(), Truncation::Tail);
        assert_eq!(
            "head+tail".parse::<Truncation>().unwrap(),
            Truncation::HeadTail
        );
        assert_eq!(
            "head-tail".parse::<Truncation>().unwrap(),
            Truncation::HeadTail
        );
        let err = "middle".parse::<Truncation>().unwrap_err().to_string();
        assert!(err.contains("head, tail, head+tail"), "{err}");
        for t in [Truncation::Head, Truncation::Tail, Truncation::HeadTail] {
            assert_eq!(t.to_string().parse::<Truncation>().unwrap(), t);
        }
        assert_eq!(
            serde_json::to_string(&Truncation::HeadTail).unwrap(),
            "\"head-tail\""
        );
        let back: Truncation = serde_json::from_str("\"head-tail\"").unwrap();
        assert_eq!(back, Truncation::HeadTail);
    }
}
